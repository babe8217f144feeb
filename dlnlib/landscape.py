r"""The loss landscape of linear networks: fixed points built from mode subsets, gradients and Hessians there."""
from __future__ import annotations

import numpy as np
import torch

from . import _validation as v
from .init import random_orthogonal
from .train import _linear_quantities

__all__ = ["fixed_point", "loss_gradient_norm", "loss_hessian", "worst_perturbation", "convex_minimum", "minimize_factors",
           "fixed_point_min_eigenvalue"]


def fixed_point(task, active_modes, widths, seed=None) -> list[np.ndarray]:
    r"""Balanced weights at the fixed point where exactly the modes ``active_modes`` are learned.

    With whitened inputs every fixed point has :math:`u_\alpha^T W_{\rm tot} v_\beta = s_\alpha\delta_{\alpha\beta}` on a
    set of at most (narrowest width) modes and zero elsewhere (Saxe et al. 2014, §1.2; Baldi & Hornik 1989). Each
    active mode gets :math:`s_\alpha^{1/D}` in every layer, in hidden directions drawn as Haar-random rotations.
    Only the set made of the strongest modes is a minimum; every other set is a saddle.

    Parameters
    ----------
    task : dlnlib.tasks.Task
        A task with :math:`\Sigma^{11} = I`.
    active_modes : sequence of int
        Distinct 0-based mode indices, at most ``min(widths)`` of them.
    widths : sequence of int
        Layer sizes ``[task.n_in, ..., task.n_out]``.
    seed : int, numpy.random.Generator or None
        Source of randomness for the hidden rotations.

    Returns
    -------
    list of numpy.ndarray
    """
    if not np.allclose(task.sigma11, np.eye(task.n_in)):
        raise ValueError("fixed_point needs a whitened task (sigma11 = I)")
    widths = [v.count(w, "widths") for w in widths]
    if widths[0] != task.n_in or widths[-1] != task.n_out:
        raise ValueError(f"widths must start with {task.n_in} and end with {task.n_out}, got {widths}")
    u, s, vv = task.svd
    active = np.asarray(active_modes, dtype=int)
    if active.ndim != 1 or active.size != np.unique(active).size or active.size > min(widths) \
            or np.any(active < 0) or np.any(active >= s.size):
        raise ValueError(f"active_modes must be distinct indices in [0, {s.size}) and at most min(widths) = "
                         f"{min(widths)} of them, got {list(active_modes)}")
    depth = len(widths) - 1
    rng = v.generator(seed)
    k = active.size
    frames = [vv[:, active]] + [random_orthogonal(n, seed=rng)[:, :k] for n in widths[1:-1]] + [u[:, active]]
    diag = s[active] ** (1.0 / depth)
    return [(frames[l + 1] * diag) @ frames[l].T for l in range(depth)]


def loss_gradient_norm(weights, task) -> float:
    r"""Euclidean norm of :math:`(\partial L/\partial W_1, \dots, \partial L/\partial W_D)`: zero at fixed points."""
    ws = [v.as_float_array(w, "weights") for w in weights]
    whitened = bool(np.array_equal(task.sigma11, np.eye(task.n_in)))
    _, _, grads = _linear_quantities(ws, task.sigma11, task.sigma31, task.sigma33_trace, whitened)
    return float(np.sqrt(sum(np.sum(g * g) for g in grads)))


def loss_hessian(weights, task) -> np.ndarray:
    r"""Hessian of :math:`L = \tfrac12\sum_\mu\lVert y^\mu - W_D\cdots W_1x^\mu\rVert^2` in all weights (autograd, float64).

    The parameters are the weight matrices flattened in order (row-major); the result is square with side
    :math:`\sum_l n_{l+1} n_l`. Negative eigenvalues mark saddles (Saxe et al. 2014, §1.2).
    """
    ws = [torch.as_tensor(v.as_float_array(w, "weights")) for w in weights]
    shapes = [w.shape for w in ws]
    sizes = np.cumsum([0] + [w.numel() for w in ws])
    s11, s31 = torch.as_tensor(task.sigma11), torch.as_tensor(task.sigma31)

    def loss(flat):
        mats = [flat[sizes[l]:sizes[l + 1]].reshape(shapes[l]) for l in range(len(shapes))]
        return _linear_quantities(mats, s11, s31, task.sigma33_trace, False)[0]

    flat = torch.cat([w.reshape(-1) for w in ws])
    return torch.autograd.functional.hessian(loss, flat).numpy()


def worst_perturbation(loss, point, radius: float, n_samples: int = 10_000, seed=None) -> float:
    r""":math:`\min_\delta\,[\mathcal L(\theta + \delta) - \mathcal L(\theta)]` over random :math:`\delta` drawn uniformly in
    the ball of ``radius``: a numerical test of local minimality (non-negative at a local minimum).

    Parameters
    ----------
    loss : callable
        Vectorised: ``loss(thetas)`` with ``thetas`` of shape ``(m, p)`` returns ``(m,)`` values.
    point : array_like
        ``(p,)`` the candidate :math:`\theta`.
    radius : float
    n_samples : int
    seed : int, numpy.random.Generator or None

    Returns
    -------
    float
    """
    point = v.as_float_array(point, "point")
    radius = v.positive_scalar(radius, "radius")
    n_samples = v.count(n_samples, "n_samples")
    rng = v.generator(seed)
    direction = rng.standard_normal((n_samples, point.size))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    lengths = radius * rng.random(n_samples) ** (1.0 / point.size)
    values = np.asarray(loss(point + lengths[:, None] * direction), dtype=float)
    return float(values.min() - float(np.asarray(loss(point[None]), dtype=float)[0]))


def convex_minimum(f, grad, shape) -> tuple[np.ndarray, float]:
    r"""Minimise a convex, differentiable :math:`f(W)` over matrices directly (L-BFGS to round-off), the reference
    value that every local minimum of :math:`f(W_D\cdots W_1)` must reach when the widths allow it (Laurent & von
    Brecht 2018).

    Parameters
    ----------
    f, grad : callable
        :math:`W \mapsto f(W)` and :math:`W \mapsto \nabla f(W)` on NumPy arrays of ``shape``.
    shape : tuple of int

    Returns
    -------
    W, value : numpy.ndarray, float
    """
    from scipy import optimize

    result = optimize.minimize(lambda x: f(x.reshape(shape)), np.zeros(int(np.prod(shape))),
                               jac=lambda x: grad(x.reshape(shape)).ravel(), method="L-BFGS-B",
                               options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000})
    return result.x.reshape(shape), float(result.fun)


def minimize_factors(f, grad, weights) -> tuple[list[np.ndarray], float, float]:
    r"""Run L-BFGS on the factors of :math:`\mathcal L(W_1, \dots, W_D) = f(W_D\cdots W_1)` from ``weights`` until it
    is stationary, with the chain rule :math:`\partial\mathcal L/\partial W_l = (W_D\cdots W_{l+1})^T\,\nabla f\,
    (W_{l-1}\cdots W_1)^T`. A local method: where it stops is a local minimum (or, rarely, a saddle) of
    :math:`\mathcal L`, which is what Laurent & von Brecht's theorem is about.

    Parameters
    ----------
    f, grad : callable
        :math:`W \mapsto f(W)` and :math:`\nabla f(W)` for the end-to-end matrix (NumPy).
    weights : list of array_like
        Initial factors ``[W_1, ..., W_D]`` (no run axis).

    Returns
    -------
    weights, value, gradient_norm
        Final factors, :math:`\mathcal L` there, and the norm of its gradient.
    """
    from scipy import optimize

    ws = [v.as_float_array(w, f"weights[{l}]") for l, w in enumerate(weights)]
    shapes = [w.shape for w in ws]
    cuts = np.cumsum([0] + [w.size for w in ws])

    def unpack(x):
        return [x[cuts[l]:cuts[l + 1]].reshape(s) for l, s in enumerate(shapes)]

    def value_and_grad(x):
        factors = unpack(x)
        prefix = [np.eye(shapes[0][1])]
        for w in factors:
            prefix.append(w @ prefix[-1])
        g = grad(prefix[-1])
        grads, suffix = [], np.eye(shapes[-1][0])
        for l in range(len(factors) - 1, -1, -1):
            grads.append(suffix.T @ g @ prefix[l].T)
            suffix = suffix @ factors[l]
        return f(prefix[-1]), np.concatenate([gr.ravel() for gr in grads[::-1]])

    result = optimize.minimize(value_and_grad, np.concatenate([w.ravel() for w in ws]), jac=True, method="L-BFGS-B",
                               options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 20_000, "maxcor": 30})
    return unpack(result.x), float(result.fun), float(np.linalg.norm(value_and_grad(result.x)[1]))


def fixed_point_min_eigenvalue(s, active_modes, n_hidden: int, scale: float = 1.0) -> float:
    r"""Smallest Hessian eigenvalue of the three-layer loss at a fixed point, predicted from the singular values.

    At the fixed point that carries the modes :math:`\mathcal A` (:func:`fixed_point`, with :math:`W^{21}` scaled by
    :math:`c` = ``scale`` and :math:`W^{32}` by :math:`1/c`, which leaves the map and the loss unchanged), the unit
    carrying mode :math:`\alpha` has :math:`\lVert a^\alpha\rVert^2 = c^2 s_\alpha` and
    :math:`\lVert b^\alpha\rVert^2 = s_\alpha/c^2`. Moving an inactive mode :math:`\beta` onto that unit, by
    :math:`x = a^\beta\cdot e` and :math:`y = b^\beta\cdot e`, changes the loss at second order by
    :math:`\tfrac12(s_\alpha c^{-2}x^2 + s_\alpha c^2y^2) - s_\beta xy` (Eq. 6), a :math:`2\times2` block with eigenvalues

    .. math:: \kappa_\pm = \tfrac12\Big[s_\alpha(c^2 + c^{-2}) \pm
              \sqrt{s_\alpha^2(c^2 + c^{-2})^2 - 4(s_\alpha^2 - s_\beta^2)}\Big],

    so :math:`\kappa_- < 0` exactly when :math:`s_\beta > s_\alpha`; at the balanced point (:math:`c = 1`)
    :math:`\kappa_- = s_\alpha - s_\beta`. A free hidden unit adds :math:`-s_\beta` for every inactive mode, whatever
    :math:`c`. The smallest eigenvalue is the least of these and 0 (the symmetries of the network give zero modes).

    Parameters
    ----------
    s : array_like
        Singular values of :math:`\Sigma^{31}` (modes indexed as in ``active_modes``).
    active_modes : sequence of int
        0-based indices of the learned modes, at most ``n_hidden`` of them.
    n_hidden : int
        Hidden width :math:`N_2`.
    scale : float
        The rescaling :math:`c > 0` of the fixed point.

    Returns
    -------
    float
        The predicted smallest eigenvalue of the Hessian of :math:`L` in all weights (compare :func:`loss_hessian`).

    References
    ----------
    Baldi & Hornik (1989); Saxe, McClelland & Ganguli (2014), §1.2.
    """
    s = v.as_float_array(s, "s")
    n_hidden = v.count(n_hidden, "n_hidden")
    c2 = v.positive_scalar(scale, "scale") ** 2
    active_list = list(active_modes)
    if any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in active_list):
        raise TypeError(f"active_modes must be integer mode indices, got {active_modes}")
    active = sorted(set(int(a) for a in active_list))
    if len(active) != len(active_list) or len(active) > n_hidden or any(a < 0 or a >= s.size for a in active):
        raise ValueError(f"active_modes must be at most {n_hidden} distinct indices in [0, {s.size}), got {active_modes}")
    inactive = [b for b in range(s.size) if b not in active]
    candidates = [0.0]
    for alpha in active:
        trace = s[alpha] * (c2 + 1 / c2)
        for beta in inactive:
            candidates.append(0.5 * (trace - np.sqrt(trace ** 2 - 4 * (s[alpha] ** 2 - s[beta] ** 2))))
    if len(active) < n_hidden:
        candidates += [-s[beta] for beta in inactive]
    return float(min(candidates))
