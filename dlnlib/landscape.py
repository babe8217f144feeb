r"""The loss landscape of linear networks: fixed points built from mode subsets, gradients and Hessians there."""
from __future__ import annotations

import numpy as np
import torch

from . import _validation as v
from .init import random_orthogonal
from .train import _linear_quantities

__all__ = ["fixed_point", "loss_gradient_norm", "loss_hessian"]


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
