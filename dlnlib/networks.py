r"""Deep linear networks as stacks of weight matrices.

``weights`` is a sequence of ``depth`` matrices, ``weights[l]`` of shape ``(..., n_{l+1}, n_l)`` (leading axes index
independent runs), NumPy arrays or torch tensors; ``depth`` is the number of weight matrices (the paper's
:math:`N_l - 1`). The functions here return the same array type they are given.
"""
from __future__ import annotations

import numpy as np

from . import _validation as v

__all__ = ["check_chain", "end_to_end", "mode_strengths", "imbalance"]


def check_chain(weights, n_in: int | None = None, n_out: int | None = None) -> list[int]:
    """Check that ``weights`` are finite real matrices that compose, and return the widths ``[n_in, n_1, ..., n_out]``.

    Raises
    ------
    ValueError
        If the list is empty, a matrix is not at least 2-D or not finite, consecutive shapes do not match, leading
        (run) axes differ, or the end widths differ from ``n_in``/``n_out`` when given.
    TypeError
        If a matrix is not a real NumPy array or torch tensor.
    """
    if isinstance(weights, np.ndarray) or not hasattr(weights, "__len__") or len(weights) == 0:
        raise ValueError("weights must be a non-empty list of matrices [W_1, ..., W_D]")
    for l, w in enumerate(weights):
        if not hasattr(w, "shape") or not hasattr(w, "dtype"):
            raise TypeError(f"weights[{l}] must be a NumPy array or a torch tensor, got {type(w).__name__}")
        torch_tensor = hasattr(w, "is_floating_point")
        if not (w.dtype.is_floating_point if torch_tensor else w.dtype.kind in "fiu"):
            raise TypeError(f"weights[{l}] must hold real numbers, got dtype {w.dtype}")
        if not bool((w.isfinite() if torch_tensor else np.isfinite(w)).all()):
            raise ValueError(f"weights[{l}] must be finite, got non-finite values")
    n_in, n_out = v.optional_count(n_in, "n_in"), v.optional_count(n_out, "n_out")
    return v.chain_widths([tuple(w.shape) for w in weights], "weights", n_in, n_out)


def end_to_end(weights):
    r"""End-to-end map :math:`W_{\rm tot} = W_D W_{D-1} \cdots W_1` (the paper's :math:`\prod_{i=1}^{N_l-1} W^i`).

    Parameters
    ----------
    weights : sequence of arrays or tensors
        ``[W_1, ..., W_D]``, ``W_l`` of shape ``(..., n_{l+1}, n_l)``.

    Returns
    -------
    array or tensor
        ``(..., n_out, n_in)``.
    """
    check_chain(weights)
    product = weights[0]
    for w in weights[1:]:
        product = w @ product
    return product


def mode_strengths(product, task, n_modes: int | None = None):
    r"""Mode strengths :math:`u_\alpha = u_\alpha^T W v_\alpha` of an end-to-end map (or input-output correlation).

    For a linear network pass :math:`W_{\rm tot}`: its strengths are the diagonal of :math:`U^T W_{\rm tot} V`, the
    projection on the task's singular vectors (:math:`\Sigma^{31} = USV^T`). For a nonlinear network pass its
    input-output correlation :math:`\hat\Sigma^{31} = \hat Y X^T` (Saxe et al. 2014, Fig. 3); the two agree for a linear
    network with :math:`\Sigma^{11} = I`.

    Parameters
    ----------
    product : array or tensor
        ``(..., n_out, n_in)``.
    task : dlnlib.tasks.Task
        Supplies the singular vectors.
    n_modes : int or None
        Number of leading modes; default all ``min(n_out, n_in)``.

    Returns
    -------
    array or tensor
        ``(..., n_modes)``, same type (and device) as ``product``.
    """
    v.task(task)
    if hasattr(product, "detach"):  # a torch tensor, checked where it lives
        import torch
        if not product.dtype.is_floating_point or not bool(torch.isfinite(product).all()):
            raise ValueError(f"product must be a tensor of finite real numbers, got dtype {product.dtype}")
    else:
        product = v.as_float_array(product, "product")
    if product.ndim < 2 or tuple(product.shape[-2:]) != task.sigma31.shape:
        raise ValueError(f"product must have trailing shape {task.sigma31.shape}, got {tuple(product.shape)}")
    n_modes = v.optional_count(n_modes, "n_modes", maximum=task.svd[1].size)
    return _mode_strengths(product, task, n_modes)


def _mode_frames(task, n_modes, like=None):
    """The task's leading ``n_modes`` singular vectors, transposed: ``(U^T, V^T)``, as arrays, or as tensors of the
    dtype and on the device of the tensor ``like``."""
    u, s, vv = task.svd
    r = s.size if n_modes is None else n_modes
    ut, vt = u[:, :r].T, vv[:, :r].T
    if like is not None:
        import torch
        ut, vt = (torch.as_tensor(x, dtype=like.dtype, device=like.device) for x in (ut, vt))
    return ut, vt


def _mode_strengths(product, task, n_modes, frames=None):
    """:func:`mode_strengths` without the checks, for training loops that have checked their arguments once; they pass
    the ``frames`` of :func:`_mode_frames`, made once, so that no step copies them to the device."""
    if frames is None:
        frames = _mode_frames(task, n_modes, None if isinstance(product, np.ndarray) else product)
    ut, vt = frames
    return ((ut @ product) * vt).sum(-1)


def imbalance(weights):
    r"""The conserved imbalances :math:`W_{l+1}^T W_{l+1} - W_l W_l^T`, one per hidden layer.

    Under gradient flow on any loss of the end-to-end map these matrices are constant (for the three-layer network,
    :math:`W^{32T}W^{32} - W^{21}W^{21T}`; on the decoupled manifold, with :math:`a` the input-to-hidden and :math:`b`
    the hidden-to-output weight of a mode, its diagonal is :math:`b^2 - a^2`, minus the conserved :math:`a^2 - b^2` of
    Saxe et al. 2014, §1.3, and of :func:`dlnlib.theory.lambda_balanced_mode_trajectory`). Gradient descent changes
    them by :math:`O(\lambda^2)` per step.

    Returns
    -------
    list of arrays or tensors
        ``depth - 1`` matrices of shape ``(..., n_l, n_l)`` for the hidden widths ``n_1 ... n_{D-1}``.
    """
    check_chain(weights)
    return [w_next.mT @ w_next - w @ w.mT for w, w_next in zip(weights[:-1], weights[1:])]
