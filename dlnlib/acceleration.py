r"""Implicit acceleration by overparameterization (Arora, Cohen & Hazan 2018): the end-to-end dynamics of depth.

Replace a matrix :math:`W` by a product :math:`W = W_N\cdots W_1` of :math:`N` factors and run gradient descent on
the factors for a loss :math:`L(W)`. If the factors start **balanced**, :math:`W_{j+1}^TW_{j+1} = W_jW_j^T`, gradient
flow keeps them balanced and the product itself follows

.. math:: \dot W = -\sum_{j=1}^{N}\big(WW^T\big)^{\frac{j-1}{N}}\,\nabla L(W)\,\big(W^TW\big)^{\frac{N-j}{N}}
          \;=\; -P_W\,\nabla L(W),

a preconditioned gradient flow whose preconditioner depends on depth only, not on the hidden widths. In the SVD basis
of :math:`W` it scales the gradient component along :math:`u_r v_{r'}^T` by
:math:`\lambda_{r,r'} = \sum_{j=1}^N\sigma_r^{2(j-1)/N}\sigma_{r'}^{2(N-j)/N}` — an adaptive rate that grows as
:math:`W` grows, stretched by a factor :math:`N` along directions already taken. The field is not the gradient of any
function, so no regulariser reproduces it.
"""
from __future__ import annotations

import numpy as np

from . import _validation as v

__all__ = ["end_to_end_update", "preconditioner", "preconditioner_eigenvalues", "end_to_end_descent", "circulation"]


def _psd_power(m: np.ndarray, power: float) -> np.ndarray:
    """:math:`M^p` of a symmetric positive semi-definite matrix (:math:`0^0 = 1`).

    Eigenvalues below round-off (relative to the largest) are set to exactly 0: a fractional power would otherwise
    turn a 1e-16 rounding error into a 1e-4 one.
    """
    eigenvalues, vectors = np.linalg.eigh(m)
    floor = 10 * m.shape[0] * np.finfo(float).eps * max(float(eigenvalues.max(initial=0.0)), 0.0)
    eigenvalues = np.where((eigenvalues > floor) | np.isnan(eigenvalues), eigenvalues, 0.0)   # NaN (overflow) stays
    scaled = np.ones_like(eigenvalues) if power == 0 else eigenvalues ** power
    return (vectors * scaled) @ vectors.T


def end_to_end_update(product, gradient, depth: int) -> np.ndarray:
    r""":math:`P_W\,\nabla L = \sum_{j=1}^{N}(WW^T)^{(j-1)/N}\,\nabla L\,(W^TW)^{(N-j)/N}` (Arora et al. 2018, Thm. 1).

    Parameters
    ----------
    product : array_like
        End-to-end matrix :math:`W`, ``(d_out, d_in)``.
    gradient : array_like
        :math:`\nabla L(W)`, same shape.
    depth : int
        Number of factors :math:`N \ge 1`; :math:`N = 1` returns the gradient itself.

    Returns
    -------
    numpy.ndarray
        The preconditioned gradient, ``(d_out, d_in)``.
    """
    w = v.array(product, "product", ndim=2)
    g = v.as_float_array(gradient, "gradient")
    if g.shape != w.shape:
        raise ValueError(f"gradient must have the product's shape {w.shape}, got {g.shape}")
    return _end_to_end_update(w, g, v.depth(depth))


def _scale(w: np.ndarray) -> float:
    """``max |W|`` when :math:`WW^T` would over- or underflow (then :math:`P_W = |W|^{2(N-1)/N}P_{W/|W|}`), else 1."""
    scale = float(np.abs(w).max(initial=0.0))
    return scale if scale > 0 and not 1e-100 < scale < 1e100 else 1.0


def _end_to_end_update(w: np.ndarray, g: np.ndarray, depth: int) -> np.ndarray:
    """:func:`end_to_end_update` without the checks (the descent loop checks once)."""
    scale = _scale(w)
    if scale != 1.0:
        return scale ** (2 * (depth - 1) / depth) * _end_to_end_update(w / scale, g, depth)
    left, right = w @ w.T, w.T @ w
    return sum(_psd_power(left, (j - 1) / depth) @ g @ _psd_power(right, (depth - j) / depth)
               for j in range(1, depth + 1))


def preconditioner(product, depth: int) -> np.ndarray:
    r"""The explicit preconditioner :math:`P_W = \sum_{j=1}^N (W^TW)^{\frac{N-j}{N}}\otimes(WW^T)^{\frac{j-1}{N}}`, acting on
    :math:`\operatorname{vec}(\nabla L)` (column-major vectorisation), a ``(d_out d_in)`` × ``(d_out d_in)`` matrix."""
    w = v.as_float_array(product, "product")
    depth = v.depth(depth)
    if w.ndim != 2:
        raise ValueError(f"product must be a matrix, got shape {w.shape}")
    scale = _scale(w)
    if scale != 1.0:
        return scale ** (2 * (depth - 1) / depth) * preconditioner(w / scale, depth)
    return sum(np.kron(_psd_power(w.T @ w, (depth - j) / depth), _psd_power(w @ w.T, (j - 1) / depth))
               for j in range(1, depth + 1))


def preconditioner_eigenvalues(singular_values, depth: int) -> np.ndarray:
    r"""Closed-form eigenvalues :math:`\lambda_{r,r'} = \sum_{j=1}^N\sigma_r^{2(j-1)/N}\sigma_{r'}^{2(N-j)/N}` of
    :math:`P_W`, for singular values padded with zeros to full bases (``sigma_left`` of length ``d_out``,
    ``sigma_right`` of length ``d_in``).

    Parameters
    ----------
    singular_values : tuple of array_like
        ``(sigma_left, sigma_right)``.
    depth : int

    Returns
    -------
    numpy.ndarray
        ``(d_out, d_in)``: entry ``[r, r']`` is the eigenvalue of :math:`\operatorname{vec}(u_r v_{r'}^T)`.
    """
    if not isinstance(singular_values, (tuple, list)) or len(singular_values) != 2:
        raise TypeError("singular_values must be a pair (sigma_left, sigma_right) of 1-D arrays")
    left, right = (v.array(s, f"singular_values[{i}]", ndim=1) for i, s in enumerate(singular_values))
    depth = v.depth(depth)
    if np.any(left < 0) or np.any(right < 0):
        raise ValueError("singular_values must be >= 0")

    def power(s, p):
        return np.ones_like(s) if p == 0 else s ** p

    return sum(np.outer(power(left, 2 * (j - 1) / depth), power(right, 2 * (depth - j) / depth))
               for j in range(1, depth + 1))


def end_to_end_descent(product, gradient_fn, depth: int, lr: float, steps: int) -> np.ndarray:
    r"""Iterate the end-to-end rule :math:`W \leftarrow W - \eta\,P_W\nabla L(W)` for ``steps`` steps (float64).

    For small :math:`\eta` and balanced factors this is what gradient descent on the factors does to their product.

    Parameters
    ----------
    product : array_like
        Initial :math:`W`.
    gradient_fn : callable
        :math:`W \mapsto \nabla L(W)` (NumPy in, NumPy out).
    depth : int
    lr : float
    steps : int

    Returns
    -------
    numpy.ndarray
        ``(steps + 1, d_out, d_in)`` trajectory.
    """
    w = v.array(product, "product", ndim=2).copy()
    gradient_fn = v.function(gradient_fn, "gradient_fn")
    depth, lr = v.depth(depth), v.positive_scalar(lr, "lr")
    steps = v.count(steps, "steps", minimum=0)
    path = [w.copy()]
    for k in range(steps):
        g = gradient_fn(w)       # checked once, at the first step
        g = v.array(g, "gradient_fn(product)", shape=w.shape) if k == 0 else np.asarray(g, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            w = w - lr * _end_to_end_update(w, g, depth)
        if not np.all(np.isfinite(w)):
            raise FloatingPointError(f"end-to-end rule diverged at step {len(path)} with lr={lr:g}")
        path.append(w.copy())
    return np.array(path)


def circulation(field, center, radius: float, n_points: int = 256) -> float:
    r"""Circulation :math:`\oint F\cdot d\ell` of a planar vector field around a circle (trapezoidal rule, which is
    spectrally accurate for smooth periodic integrands). Zero for any gradient field.

    Parameters
    ----------
    field : callable
        :math:`w \mapsto F(w)` for :math:`w \in \mathbb R^2`.
    center : array_like
        ``(2,)`` centre of the circle.
    radius : float
    n_points : int

    Returns
    -------
    float
    """
    field = v.function(field, "field")
    center = v.as_float_array(center, "center")
    if center.shape != (2,):
        raise ValueError(f"center must be a point of the plane, got shape {center.shape}")
    radius = v.positive_scalar(radius, "radius")
    n_points = v.count(n_points, "n_points", minimum=8)
    theta = 2 * np.pi * np.arange(n_points) / n_points
    total = 0.0
    for t in theta:
        point = center + radius * np.array([np.cos(t), np.sin(t)])
        tangent = radius * np.array([-np.sin(t), np.cos(t)])
        value = np.asarray(field(point), dtype=float)
        if value.shape != (2,) or not np.all(np.isfinite(value)):
            raise ValueError(f"field must return a finite vector of the plane, shape (2,), got {value!r} at {point}")
        total += float(value @ tangent)
    return total * 2 * np.pi / n_points
