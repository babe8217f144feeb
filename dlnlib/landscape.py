r"""The loss landscape of linear networks: fixed points built from mode subsets, gradients and Hessians there."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from . import _validation as v
from . import networks
from .init import balanced, random_orthogonal
from .train import _linear_quantities

__all__ = ["fixed_point", "loss_gradient_norm", "loss_hessian", "worst_perturbation", "convex_minimum",
           "minimize_factors", "factor_gradient", "factor_hessian", "autograd_factor_hessian", "factor_descent",
           "matrix_loss", "MinimaSearch", "search_local_minima", "fixed_point_min_eigenvalue"]


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
    if not np.allclose(v.task(task).sigma11, np.eye(task.n_in)):
        raise ValueError("fixed_point needs a whitened task (sigma11 = I)")
    widths = [v.count(w, f"widths[{l}]") for l, w in enumerate(v.sequence(widths, "widths", "layer sizes"))]
    if len(widths) < 2 or widths[0] != task.n_in or widths[-1] != task.n_out:
        raise ValueError(f"widths must start with {task.n_in} and end with {task.n_out}, got {widths}")
    u, s, vv = task.svd
    active = v.integer_array(active_modes, "active_modes")
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
    ws = v.chain(weights, "weights", v.task(task).n_in, task.n_out)
    whitened = bool(np.array_equal(task.sigma11, np.eye(task.n_in)))
    _, _, grads = _linear_quantities(ws, task.sigma11, task.sigma31, task.sigma33_trace, whitened)
    return float(np.sqrt(sum(np.sum(g * g) for g in grads)))


def loss_hessian(weights, task) -> np.ndarray:
    r"""Hessian of :math:`L = \tfrac12\sum_\mu\lVert y^\mu - W_D\cdots W_1x^\mu\rVert^2` in all weights (autograd, float64).

    The parameters are the weight matrices flattened in order (row-major); the result is square with side
    :math:`\sum_l n_{l+1} n_l`. Negative eigenvalues mark saddles (Saxe et al. 2014, §1.2).
    """
    ws = [torch.as_tensor(w) for w in v.chain(weights, "weights", v.task(task).n_in, task.n_out, runs=False)]
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
    loss = v.function(loss, "loss")
    point = v.array(point, "point", ndim=1, nonempty=True)
    radius = v.positive_scalar(radius, "radius")
    n_samples = v.count(n_samples, "n_samples")
    rng = v.generator(seed)
    direction = rng.standard_normal((n_samples, point.size))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    lengths = radius * rng.random(n_samples) ** (1.0 / point.size)
    values = np.asarray(loss(point + lengths[:, None] * direction), dtype=float)
    if values.shape != (n_samples,) or not np.all(np.isfinite(values)):
        raise ValueError(f"loss must return one finite value per row of its (m, p) argument, got shape "
                         f"{values.shape} for m = {n_samples}")
    return float(values.min() - float(np.asarray(loss(point[None]), dtype=float)[0]))


def _check_objective(f, grad, w: np.ndarray) -> None:
    """Evaluate ``f`` and ``grad`` once at ``w``: a finite number, and a finite array of ``w``'s shape."""
    value = np.asarray(f(w), dtype=float)
    if value.size != 1 or not np.isfinite(value).all():
        raise ValueError(f"f must return one finite number, got {value!r} at the start")
    g = np.asarray(grad(w), dtype=float)
    if g.shape != w.shape or not np.isfinite(g).all():
        raise ValueError(f"grad must return a finite array of shape {w.shape}, got shape {g.shape} at the start")


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

    f, grad = v.function(f, "f"), v.function(grad, "grad")
    shape = tuple(v.count(n, "shape") for n in v.sequence(shape, "shape", "sizes"))
    _check_objective(f, grad, np.zeros(shape))
    result = optimize.minimize(lambda x: f(x.reshape(shape)), np.zeros(int(np.prod(shape))),
                               jac=lambda x: grad(x.reshape(shape)).ravel(), method="L-BFGS-B",
                               options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000})
    return result.x.reshape(shape), float(result.fun)


def _check_factors(weights) -> list[np.ndarray]:
    """One network's chain of matrices ``[W_1, ..., W_D]`` (no run axis), checked."""
    return v.chain(weights, runs=False)


def _chain_gradient(grad, factors) -> tuple[np.ndarray, list[np.ndarray]]:
    r"""End-to-end matrix and the chain rule :math:`(W_D\cdots W_{l+1})^T\nabla f(W)(W_{l-1}\cdots W_1)^T`."""
    prefix = [np.eye(factors[0].shape[1])]
    for w in factors:
        prefix.append(w @ prefix[-1])
    g = np.asarray(grad(prefix[-1]), dtype=float)
    grads, suffix = [], np.eye(factors[-1].shape[0])
    for l in range(len(factors) - 1, -1, -1):
        grads.append(suffix.T @ g @ prefix[l].T)
        suffix = suffix @ factors[l]
    return prefix[-1], grads[::-1]


def factor_gradient(grad, weights) -> list[np.ndarray]:
    r"""Gradient of :math:`\mathcal L(W_1, \dots, W_D) = f(W_D\cdots W_1)` in every factor, by the chain rule
    :math:`\partial\mathcal L/\partial W_l = (W_D\cdots W_{l+1})^T\,\nabla f(W)\,(W_{l-1}\cdots W_1)^T`.

    Parameters
    ----------
    grad : callable
        :math:`W \mapsto \nabla f(W)` for the end-to-end matrix (NumPy).
    weights : list of array_like
        ``[W_1, ..., W_D]`` (no run axis).

    Returns
    -------
    list of numpy.ndarray
        One gradient per factor, shaped like it.
    """
    grad = v.function(grad, "grad")
    return _chain_gradient(grad, _check_factors(weights))[1]


def factor_hessian(grad, weights, step: float = 1e-5) -> np.ndarray:
    r"""Hessian of :math:`\mathcal L(W_1, \dots, W_D) = f(W_D\cdots W_1)` in all factor entries, by central differences
    of the exact gradient (:func:`factor_gradient`), symmetrised.

    The parameters are the factors flattened in order (row-major). The error is :math:`O(h^2)` in the step
    :math:`h` (about :math:`10^{-10}` relative for smooth losses at the default). At a product of full rank the
    symmetry :math:`W_{l+1} \to W_{l+1}A^{-1}`, :math:`W_l \to AW_l` of each hidden layer of width :math:`n_l` gives
    :math:`\sum_l n_l^2` exactly zero eigenvalues; a local minimum has every other eigenvalue :math:`\ge 0`.

    Parameters
    ----------
    grad : callable
        :math:`W \mapsto \nabla f(W)` (NumPy).
    weights : list of array_like
        ``[W_1, ..., W_D]``.
    step : float
        Finite-difference step :math:`h > 0`.

    Returns
    -------
    numpy.ndarray
        Square, side :math:`\sum_l n_l n_{l-1}`.
    """
    grad = v.function(grad, "grad")
    ws = _check_factors(weights)
    step = v.positive_scalar(step, "step")
    cuts = np.cumsum([0] + [w.size for w in ws])
    theta = np.concatenate([w.ravel() for w in ws])

    def flat_grad(x):
        factors = [x[cuts[l]:cuts[l + 1]].reshape(w.shape) for l, w in enumerate(ws)]
        return np.concatenate([g.ravel() for g in _chain_gradient(grad, factors)[1]])

    columns = []
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = step
        columns.append((flat_grad(theta + e) - flat_grad(theta - e)) / (2 * step))
    hessian = np.array(columns)
    return (hessian + hessian.T) / 2


def autograd_factor_hessian(f, weights) -> np.ndarray:
    r"""Exact Hessian of :math:`\mathcal L(W_1, \dots, W_D) = f(W_D\cdots W_1)` in all factor entries, by torch
    autograd in float64: the reference against which the finite differences of :func:`factor_hessian` are judged.

    Parameters
    ----------
    f : callable
        :math:`W \mapsto f(W)` that accepts a float64 torch tensor and returns a scalar tensor (the losses of
        :func:`matrix_loss` do).
    weights : list of array_like
        ``[W_1, ..., W_D]`` (no run axis).

    Returns
    -------
    numpy.ndarray
        Square, side :math:`\sum_l n_l n_{l-1}`, the factors flattened in order (row-major).
    """
    f = v.function(f, "f")
    ws = _check_factors(weights)
    cuts = np.cumsum([0] + [w.size for w in ws])

    def loss(flat):
        product = flat[cuts[0]:cuts[1]].reshape(ws[0].shape)
        for l in range(1, len(ws)):
            product = flat[cuts[l]:cuts[l + 1]].reshape(ws[l].shape) @ product
        value = f(product)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise TypeError("f must accept a torch tensor and return a scalar tensor")
        return value.reshape(())

    flat = torch.tensor(np.concatenate([w.ravel() for w in ws]), dtype=torch.float64)
    return torch.autograd.functional.hessian(loss, flat).numpy()


def factor_descent(grad, weights, lr: float, steps: int, record_every: int = 1) -> np.ndarray:
    r"""Fixed-step gradient descent on the factors of :math:`\mathcal L(W_1, \dots, W_D) = f(W_D\cdots W_1)`,
    :math:`W_l \leftarrow W_l - \eta\,(W_D\cdots W_{l+1})^T\,G\,(W_{l-1}\cdots W_1)^T` with :math:`G` =
    ``grad(W)``.

    ``grad`` may also return a subgradient of a convex, non-differentiable :math:`f` (for instance
    :math:`\operatorname{sign}` for :math:`\lvert\cdot\rvert`): the iteration is then fixed-step subgradient
    descent, which need not settle at a local minimum of :math:`\mathcal L` nor leave a saddle the way gradient
    descent does (Laurent & von Brecht 2018 study the landscape, not the algorithm).

    Parameters
    ----------
    grad : callable
        :math:`W \mapsto \nabla f(W)` (or a subgradient), NumPy.
    weights : list of array_like
        Initial ``[W_1, ..., W_D]`` (no run axis).
    lr : float
        Step :math:`\eta > 0`.
    steps : int
    record_every : int
        Keep the parameters every this many steps (step 0 and the last step always).

    Returns
    -------
    numpy.ndarray
        ``(T, P)``: the factors flattened in order (row-major) at each recorded step.
    """
    grad = v.function(grad, "grad")
    ws = _check_factors(weights)
    lr = v.positive_scalar(lr, "lr")
    steps = v.count(steps, "steps", minimum=0)
    record_every = v.count(record_every, "record_every")
    path = []
    for k in range(steps + 1):
        if k % record_every == 0 or k == steps:
            path.append(np.concatenate([w.ravel() for w in ws]))
        if k == steps:
            break
        with np.errstate(over="ignore", invalid="ignore"):
            ws = [w - lr * g for w, g in zip(ws, _chain_gradient(grad, ws)[1])]
        if not all(np.all(np.isfinite(w)) for w in ws):
            raise FloatingPointError(f"factor descent diverged at step {k + 1} with lr={lr:g}")
    return np.array(path)


def minimize_factors(f, grad, weights, polish: bool = False) -> tuple[list[np.ndarray], float, float]:
    r"""Run L-BFGS on the factors of :math:`\mathcal L(W_1, \dots, W_D) = f(W_D\cdots W_1)` from ``weights`` until it
    is stationary, with the chain rule of :func:`factor_gradient`. A local method: where it stops is a local minimum
    (or, rarely, a saddle) of :math:`\mathcal L`, which is what Laurent & von Brecht's theorem is about.

    L-BFGS alone often stops early, at a gradient norm of :math:`10^{-8}` to :math:`10^{-5}`: it compares loss values,
    which round-off limits, and the symmetry :math:`W_{l+1} \to W_{l+1}A^{-1}`, :math:`W_l \to AW_l` lets the factors
    drift far from balanced (norms 1000 and 0.001 with the same product), where the problem is badly conditioned.
    With ``polish=True`` the factors are then replaced by balanced ones with the same product
    (:func:`dlnlib.init.balanced`, the same loss), L-BFGS runs again, and up to 20 Newton steps
    :math:`\theta \leftarrow \theta - H^+\nabla\mathcal L` follow, with the :func:`factor_hessian` :math:`H` and its
    pseudo-inverse (which ignores the zero modes of the symmetry), each kept only if it lowers the gradient norm. Near
    a non-degenerate critical point they converge quadratically, to a gradient norm near :math:`10^{-14}`.

    Parameters
    ----------
    f, grad : callable
        :math:`W \mapsto f(W)` and :math:`\nabla f(W)` for the end-to-end matrix (NumPy).
    weights : list of array_like
        Initial factors ``[W_1, ..., W_D]`` (no run axis).
    polish : bool
        Rebalance, restart and finish with Newton steps (see above).

    Returns
    -------
    weights, value, gradient_norm
        Final factors, :math:`\mathcal L` there, and the norm of its gradient.
    """
    from scipy import optimize

    f, grad = v.function(f, "f"), v.function(grad, "grad")
    ws = _check_factors(weights)
    _check_objective(f, grad, networks.end_to_end(ws))
    shapes = [w.shape for w in ws]
    widths = [shapes[0][1]] + [s[0] for s in shapes]
    cuts = np.cumsum([0] + [w.size for w in ws])

    def unpack(x):
        return [x[cuts[l]:cuts[l + 1]].reshape(s) for l, s in enumerate(shapes)]

    def pack(factors):
        return np.concatenate([w.ravel() for w in factors])

    def value_and_grad(x):
        product, grads = _chain_gradient(grad, unpack(x))
        return f(product), pack(grads)

    def lbfgs(x):
        return optimize.minimize(value_and_grad, x, jac=True, method="L-BFGS-B",
                                 options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 20_000, "maxcor": 30}).x

    x = lbfgs(pack(ws))
    if polish:
        u, s, vt = np.linalg.svd(_chain_gradient(grad, unpack(x))[0], full_matrices=False)
        rank = min(widths)                        # the product's rank, up to the round-off of unbalanced factors
        if s[0] > 0:
            x = lbfgs(pack(balanced((u[:, :rank] * s[:rank]) @ vt[:rank], widths, seed=0)))
        norm = float(np.linalg.norm(value_and_grad(x)[1]))
        for _ in range(20):
            step = np.linalg.lstsq(factor_hessian(grad, unpack(x)), value_and_grad(x)[1], rcond=1e-10)[0]
            candidate_norm = float(np.linalg.norm(value_and_grad(x - step)[1]))
            if not candidate_norm < norm:
                break
            x, norm = x - step, candidate_norm
    value, gradient = value_and_grad(x)
    return unpack(x), float(value), float(np.linalg.norm(gradient))


def matrix_loss(kind: str, X, Y):
    r"""A convex, differentiable loss of the end-to-end matrix :math:`W` on samples, and its gradient (NumPy).

    With one sample per column, :math:`f(W) = \frac1n\sum_\mu\sum_i\ell\big((WX)_{i\mu}, Y_{i\mu}\big)` for

    - ``"l2"``: :math:`\ell(z, y) = \frac12(z - y)^2`;
    - ``"l4"``: :math:`\ell(z, y) = \frac14(z - y)^4`;
    - ``"logistic"``: :math:`\ell(z, y) = \log(1 + e^{-yz})` with labels :math:`y = \pm1`.

    These are the losses of Laurent & von Brecht's (2018) theorem: convex in :math:`W` and differentiable. ``f``
    also accepts a float64 torch tensor (and then returns one), for :func:`autograd_factor_hessian`.

    Parameters
    ----------
    kind : {"l2", "l4", "logistic"}
    X : array_like
        ``(d_in, n)`` inputs.
    Y : array_like
        ``(d_out, n)`` targets (labels :math:`\pm1` for ``"logistic"``).

    Returns
    -------
    f, grad : callable
        :math:`W \mapsto f(W)` and :math:`W \mapsto \nabla f(W)`, for ``W`` of shape ``(d_out, d_in)``.
    """
    X, Y = v.as_float_array(X, "X"), v.as_float_array(Y, "Y")
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must be (d_in, n) and (d_out, n), got {X.shape} and {Y.shape}")
    n = X.shape[1]
    if kind not in ("l2", "l4", "logistic"):
        raise ValueError(f"kind must be 'l2', 'l4' or 'logistic', got {kind!r}")
    if kind == "logistic" and not np.all(np.abs(Y) == 1):
        raise ValueError("logistic loss needs labels Y = +-1")
    tensors = torch.as_tensor(X), torch.as_tensor(Y)

    def data(W):
        """NumPy data for a NumPy W; torch data (float64) for a torch W, so that autograd can differentiate f."""
        return (tensors, torch) if isinstance(W, torch.Tensor) else ((X, Y), np)

    def f(W):
        (x, y), xp = data(W)
        z = W @ x
        if kind == "logistic":
            return xp.sum(xp.logaddexp(xp.zeros_like(z), -y * z)) / n
        if kind == "l2":
            return 0.5 * xp.sum((z - y) ** 2) / n
        return 0.25 * xp.sum((z - y) ** 4) / n

    if kind == "l2":
        return f, lambda W: (W @ X - Y) @ X.T / n
    if kind == "l4":
        return f, lambda W: ((W @ X - Y) ** 3) @ X.T / n
    return f, lambda W: (-Y * np.exp(-np.logaddexp(0.0, Y * (W @ X)))) @ X.T / n


@dataclass
class MinimaSearch:
    r"""Result of :func:`search_local_minima`: where every start ended, and the Hessian there.

    Attributes
    ----------
    values : numpy.ndarray
        ``(K,)`` loss at the end of each local minimisation.
    gradient_norms : numpy.ndarray
        ``(K,)`` gradient norm there.
    eigenvalues : numpy.ndarray
        ``(K, P)`` ascending eigenvalues of the :func:`factor_hessian` there.
    weights : list
        The final factors of each start.
    symmetry_dim : int
        :math:`\sum_l n_l^2` over the hidden widths: the number of zero eigenvalues that the symmetry
        :math:`W_{l+1} \to W_{l+1}A^{-1}`, :math:`W_l \to AW_l` forces at a product of full rank.
    """

    values: np.ndarray
    gradient_norms: np.ndarray
    eigenvalues: np.ndarray
    weights: list
    symmetry_dim: int

    def __post_init__(self):
        v.count(self.symmetry_dim, "symmetry_dim", minimum=0)

    def is_local_minimum(self, gradient_tol: float = 1e-10, eigenvalue_tol: float = 1e-6) -> np.ndarray:
        r"""Per start: stationary (gradient below ``gradient_tol``), no eigenvalue below :math:`-\epsilon`, and exactly
        ``symmetry_dim`` eigenvalues within :math:`\epsilon` of 0 (:math:`\epsilon` = ``eigenvalue_tol``). The zero
        modes are then exactly the symmetry's, and every other direction curves up: a strict local minimum up to the
        symmetry."""
        zero = np.sum(np.abs(self.eigenvalues) <= eigenvalue_tol, axis=1)
        return ((self.gradient_norms < gradient_tol) & (self.eigenvalues[:, 0] > -eigenvalue_tol)
                & (zero == self.symmetry_dim))


def search_local_minima(f, grad, widths, n_starts: int, seed=None) -> MinimaSearch:
    r"""Local minimisation of :math:`\mathcal L(W_1, \dots, W_D) = f(W_D\cdots W_1)` from ``n_starts`` random
    starts (standard Gaussian entries), each polished to a gradient norm near round-off
    (:func:`minimize_factors` with ``polish=True``), with the Hessian at every end point.

    An honest search for bad local minima (Laurent & von Brecht 2018): a start that ends above the lowest value found,
    at a stationary point whose Hessian has only the symmetry's zero modes and no negative eigenvalue
    (:meth:`MinimaSearch.is_local_minimum`), is a spurious local minimum.

    Parameters
    ----------
    f, grad : callable
        :math:`W \mapsto f(W)` and :math:`\nabla f(W)` (NumPy), e.g. from :func:`matrix_loss`.
    widths : sequence of int
        ``[d_0, d_1, ..., d_L]``.
    n_starts : int
    seed : int, numpy.random.Generator or None

    Returns
    -------
    MinimaSearch
    """
    f, grad = v.function(f, "f"), v.function(grad, "grad")
    widths = [v.count(w, "widths") for w in v.sequence(widths, "widths", "layer widths")]
    if len(widths) < 2:
        raise ValueError(f"widths must list at least the input and output sizes, got {widths}")
    n_starts = v.count(n_starts, "n_starts")
    rng = v.generator(seed)
    # Thousands of tiny BLAS/LAPACK calls: extra BLAS threads only add synchronisation (and spin for seconds on a
    # loaded machine), and single-threaded results are the same.
    with threadpool_limits(limits=1, user_api="blas"):
        ends = [minimize_factors(f, grad, [rng.standard_normal((widths[l + 1], widths[l]))
                                           for l in range(len(widths) - 1)], polish=True) for _ in range(n_starts)]
        eigenvalues = np.array([np.linalg.eigvalsh(factor_hessian(grad, e[0])) for e in ends])
    return MinimaSearch(values=np.array([e[1] for e in ends]), gradient_norms=np.array([e[2] for e in ends]),
                        eigenvalues=eigenvalues, weights=[e[0] for e in ends],
                        symmetry_dim=sum(w * w for w in widths[1:-1]))


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
    s = v.array(v.nonnegative(s, "s"), "s", ndim=1, nonempty=True)
    n_hidden = v.count(n_hidden, "n_hidden")
    c2 = v.positive_scalar(scale, "scale") ** 2
    active_list = v.sequence(active_modes, "active_modes", "mode indices", empty=True)
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
