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
from .train import TrainResult

__all__ = ["end_to_end_update", "preconditioner", "preconditioner_eigenvalues", "end_to_end_descent", "circulation",
           "two_factor_circulation", "OPTIMIZERS", "lp_regression_descent"]

OPTIMIZERS = ("gd", "adagrad", "adam")


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



def two_factor_circulation(hessian, center, radius: float) -> float:
    r"""Circulation of the depth-2 end-to-end field of one output, :math:`F = P_w\nabla L`, around a circle, from
    Green's theorem.

    For :math:`N = 2` and :math:`w \in \mathbb R^2`, :math:`F = \lVert w\rVert\nabla L + (\hat w^T\nabla L)\,w`, and
    since :math:`\nabla L` is a gradient its curl reduces to

    .. math:: \partial_1F_2 - \partial_2F_1 = -\frac{w \times \nabla^2L(w)\,w}{\lVert w\rVert},
              \qquad a \times b = a_1b_2 - a_2b_1,

    so :math:`\oint F\cdot d\ell` is the integral of this curl over the disc (Arora, Cohen & Hazan 2018 study the
    field; the formula is ours). It depends on the Hessian only, not on :math:`\nabla L(0)`: it vanishes for every
    loop when :math:`w` is an eigenvector of :math:`\nabla^2L(w)` everywhere (an isotropic loss), and it is non-zero
    otherwise for a generic loop. Integrated in polar coordinates with SciPy's ``dblquad`` (tolerance 1e-12).

    Parameters
    ----------
    hessian : callable or array_like
        :math:`w \mapsto \nabla^2L(w)` (``(2, 2)``), or one constant ``(2, 2)`` matrix for a quadratic loss.
    center : array_like
        ``(2,)``; the disc must not contain the origin, where the curl is singular.
    radius : float

    Returns
    -------
    float
        The counter-clockwise circulation, to be compared with :func:`circulation` of the same field.
    """
    from scipy import integrate

    center = v.as_float_array(center, "center")
    radius = v.positive_scalar(radius, "radius")
    if center.shape != (2,):
        raise ValueError(f"center must be a point of the plane, got shape {center.shape}")
    if np.linalg.norm(center) <= radius:
        raise ValueError("the disc must not contain the origin, where the curl is singular")
    if callable(hessian):
        hessian_at = hessian
    else:
        constant = v.as_float_array(hessian, "hessian")
        if constant.shape != (2, 2):
            raise ValueError(f"hessian must be a (2, 2) matrix or a function returning one, got shape {constant.shape}")
        hessian_at = lambda w: constant  # noqa: E731

    def curl_times_jacobian(rho, angle):
        w = center + rho * np.array([np.cos(angle), np.sin(angle)])
        hw = np.asarray(hessian_at(w), dtype=float) @ w
        return -(w[0] * hw[1] - w[1] * hw[0]) / np.linalg.norm(w) * rho

    return float(integrate.dblquad(curl_times_jacobian, 0, 2 * np.pi, 0, radius, epsabs=1e-12, epsrel=1e-12)[0])


def _others_product(omega: np.ndarray) -> np.ndarray:
    """For scalars ``omega`` ``(R, K)``: entry ``[r, j]`` is the product of ``omega[r, k]`` over ``k != j``."""
    ones = np.ones_like(omega[:, :1])
    before = np.cumprod(np.concatenate([ones, omega[:, :-1]], axis=1), axis=1)
    after = np.cumprod(np.concatenate([ones, omega[:, :0:-1]], axis=1), axis=1)[:, ::-1]
    return before * after


def lp_regression_descent(X, y, p: int, lr, steps: int, depth: int = 1, optimizer: str = "gd",
                          init_scale: float = 1e-6, init_direction=None, record_every: int = 100,
                          betas=(0.9, 0.999), eps: float = 1e-8) -> TrainResult:
    r"""Train :math:`\ell_p` regression, :math:`L(w) = \frac{1}{p\,n}\sum_\mu (x^{\mu T}w - y^\mu)^p`, with the weight
    vector overparameterised as :math:`w = \omega_N\cdots\omega_2\,w_1` (Arora, Cohen & Hazan 2018, §7).

    Depth :math:`N = 1` is the plain linear model; :math:`N = 2` is the paper's "single extra scalar"; larger
    :math:`N` multiplies more scalars (a deep linear network of hidden width 1, which by the end-to-end rule moves
    its product exactly as any wider balanced network). The factors start balanced,
    :math:`\lVert w_1\rVert = \omega_2 = \cdots = \omega_N = c^{1/N}`, so that :math:`w = c\,\hat e` for
    ``init_scale`` :math:`c` at every depth. Gradients are exact (float64, NumPy, batched over the rates):
    :math:`\partial L/\partial w_1 = (\prod_k\omega_k)\,g` and
    :math:`\partial L/\partial\omega_j = (\prod_{k\ne j}\omega_k)\,w_1^Tg`, with
    :math:`g = \frac1n\sum_\mu (x^{\mu T}w - y^\mu)^{p-1}x^\mu`. Each factor is updated by ``optimizer``:

    - ``"gd"``: :math:`\theta \leftarrow \theta - \eta\,G`;
    - ``"adagrad"``: :math:`\theta \leftarrow \theta - \eta\,G/(\sqrt{\textstyle\sum_{s\le t}G_s^2} + \epsilon)`
      (Duchi, Hazan & Singer 2011), elementwise;
    - ``"adam"``: :math:`m \leftarrow \beta_1m + (1-\beta_1)G`, :math:`v \leftarrow \beta_2v + (1-\beta_2)G^2`,
      :math:`\theta \leftarrow \theta - \eta\,\hat m/(\sqrt{\hat v} + \epsilon)` with the bias corrections
      :math:`\hat m = m/(1-\beta_1^t)`, :math:`\hat v = v/(1-\beta_2^t)` (Kingma & Ba 2015).

    Parameters
    ----------
    X : array_like
        ``(n, d)`` features, one sample per row.
    y : array_like
        ``(n,)`` targets.
    p : int
        Even exponent >= 2.
    lr : float or array_like
        Learning rate(s) :math:`\eta > 0`; a 1-D array trains one independent run per rate.
    steps : int
        Number of updates.
    depth : int
        Number of factors :math:`N \ge 1` (the paper's depth; the number of weight matrices).
    optimizer : {"gd", "adagrad", "adam"}
    init_scale : float
        Norm :math:`c > 0` of the initial end-to-end vector.
    init_direction : array_like, optional
        ``(d,)`` direction of :math:`w_1` at the start (normalised; default :math:`e_1`).
    record_every : int
        Record the loss every this many steps (step 0 and the last step always).
    betas : tuple of float
        Adam's :math:`(\beta_1, \beta_2)`, each in [0, 1).
    eps : float
        :math:`\epsilon > 0` of AdaGrad and Adam.

    Returns
    -------
    TrainResult
        ``loss`` ``(R, T)`` (``(T,)`` for a scalar rate); ``weights`` ``[w_1, \omega]`` final, ``(R, d)`` and
        ``(R, N - 1)``; ``diverged_at`` per run: the step whose loss was first non-finite, or -1. A diverged run is
        frozen and its recorded loss is ``inf``. ``modes`` is empty.
    """
    X, y = v.as_float_array(X, "X"), v.as_float_array(y, "y")
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, d) and y (n,), got {X.shape} and {y.shape}")
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 2 or p % 2:
        raise ValueError(f"p must be an even integer >= 2, got {p!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    lr_arr = v.positive(lr, "lr")
    if lr_arr.ndim > 1:
        raise ValueError(f"lr must be a number or a 1-D array of rates, got shape {lr_arr.shape}")
    steps = v.count(steps, "steps", minimum=0)
    depth = v.depth(depth)
    record_every = v.count(record_every, "record_every")
    init_scale, eps = v.positive_scalar(init_scale, "init_scale"), v.positive_scalar(eps, "eps")
    beta1, beta2 = (float(b) for b in betas)
    if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
        raise ValueError(f"betas must lie in [0, 1), got {betas}")
    n, d = X.shape
    direction = np.eye(1, d)[0] if init_direction is None else v.as_float_array(init_direction, "init_direction")
    if direction.shape != (d,) or not np.linalg.norm(direction) > 0:
        raise ValueError(f"init_direction must be a non-zero vector of length {d}, got shape {direction.shape}")
    rates = np.atleast_1d(lr_arr)
    runs = rates.size
    scale = init_scale ** (1.0 / depth)
    w1 = np.tile(scale * direction / np.linalg.norm(direction), (runs, 1))
    omega = np.full((runs, depth - 1), scale)
    moments = [np.zeros_like(w1), np.zeros_like(omega), np.zeros_like(w1), np.zeros_like(omega)]
    diverged_at = np.full(runs, -1)
    schedule = np.unique(np.append(np.arange(0, steps + 1, record_every), steps))
    losses = np.empty((runs, schedule.size))
    row = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps + 1):
            prod = omega.prod(axis=1)
            residual = (prod[:, None] * w1) @ X.T - y
            power = residual ** (p - 2)
            loss = np.mean(power * residual * residual, axis=1) / p
            newly = ~np.isfinite(loss) & (diverged_at < 0)
            diverged_at[newly] = k
            frozen = diverged_at >= 0
            if k == schedule[row]:
                losses[:, row] = np.where(frozen, np.inf, loss)
                row += 1
            if k == steps:
                break
            g = np.where(frozen[:, None], 0.0, (power * residual) @ X / n)
            grads = [prod[:, None] * g, _others_product(omega) * np.sum(w1 * g, axis=1)[:, None]]
            steps_taken = _optimizer_steps(optimizer, grads, moments, k + 1, beta1, beta2, eps)
            w1 = np.where(frozen[:, None], 0.0, w1 - rates[:, None] * steps_taken[0])
            omega = np.where(frozen[:, None], 0.0, omega - rates[:, None] * steps_taken[1])
    scalar = lr_arr.ndim == 0
    return TrainResult(t=schedule.astype(float), loss=losses[0] if scalar else losses, modes=np.empty(0),
                       weights=[w1, omega], lr=float(lr_arr) if scalar else lr_arr,
                       diverged_at=diverged_at[0] if scalar else diverged_at)


def _optimizer_steps(optimizer: str, grads, moments, t: int, beta1: float, beta2: float, eps: float):
    """The update directions (to be multiplied by the rate) of ``grads`` = [G_w1, G_omega]; updates ``moments``."""
    if optimizer == "gd":
        return grads
    first, second = moments[:2], moments[2:]
    out = []
    for i, g in enumerate(grads):
        if optimizer == "adagrad":
            second[i] += g * g
            out.append(g / (np.sqrt(second[i]) + eps))
        else:
            first[i] *= beta1
            first[i] += (1 - beta1) * g
            second[i] *= beta2
            second[i] += (1 - beta2) * g * g
            out.append(first[i] / (1 - beta1 ** t) / (np.sqrt(second[i] / (1 - beta2 ** t)) + eps))
    return out
