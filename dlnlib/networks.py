r"""Deep linear networks as stacks of weight matrices.

``weights`` is a sequence of ``depth`` matrices, ``weights[l]`` of shape ``(..., n_{l+1}, n_l)`` (leading axes index
independent runs), NumPy arrays or torch tensors; ``depth`` is the number of weight matrices (the paper's
:math:`N_l - 1`). The functions here return the same array type they are given.
"""
from __future__ import annotations

import numpy as np

__all__ = ["check_chain", "end_to_end", "mode_strengths", "imbalance"]


def check_chain(weights, n_in: int | None = None, n_out: int | None = None) -> list[int]:
    """Check that ``weights`` compose, and return the layer widths ``[n_in, n_1, ..., n_out]``.

    Raises
    ------
    ValueError
        If the list is empty, a matrix is not at least 2-D, consecutive shapes do not match, leading (run) axes
        differ, or the end widths differ from ``n_in``/``n_out`` when given.
    """
    if isinstance(weights, np.ndarray) or not hasattr(weights, "__len__") or len(weights) == 0:
        raise ValueError("weights must be a non-empty list of matrices [W_1, ..., W_D]")
    shapes = [tuple(w.shape) for w in weights]
    for l, shape in enumerate(shapes):
        if len(shape) < 2:
            raise ValueError(f"weights[{l}] must be at least 2-D, got shape {shape}")
        if shape[:-2] != shapes[0][:-2]:
            raise ValueError(f"weights[{l}] has run axes {shape[:-2]}, weights[0] has {shapes[0][:-2]}")
        if l > 0 and shape[-1] != shapes[l - 1][-2]:
            raise ValueError(f"weights[{l}] expects {shape[-1]} inputs but weights[{l - 1}] has {shapes[l - 1][-2]} outputs")
    widths = [shapes[0][-1]] + [shape[-2] for shape in shapes]
    if n_in is not None and widths[0] != n_in:
        raise ValueError(f"weights[0] must take {n_in} inputs, takes {widths[0]}")
    if n_out is not None and widths[-1] != n_out:
        raise ValueError(f"weights[-1] must give {n_out} outputs, gives {widths[-1]}")
    return widths


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
    u, s, vv = task.svd
    r = s.size if n_modes is None else int(n_modes)
    if not 1 <= r <= s.size:
        raise ValueError(f"n_modes must be between 1 and {s.size}, got {n_modes}")
    if tuple(product.shape[-2:]) != task.sigma31.shape:
        raise ValueError(f"product must have trailing shape {task.sigma31.shape}, got {tuple(product.shape)}")
    ut, vt = u[:, :r].T, vv[:, :r].T
    if not isinstance(product, np.ndarray):  # torch tensor: move the frames to its dtype and device
        import torch
        ut, vt = (torch.as_tensor(x, dtype=product.dtype, device=product.device) for x in (ut, vt))
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
