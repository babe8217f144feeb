r"""Deep linear networks as stacks of weight matrices.

``weights`` is a sequence of ``depth`` matrices, ``weights[l]`` of shape ``(..., n_{l+1}, n_l)`` (leading axes index
independent runs), NumPy arrays or torch tensors; ``depth`` is the number of weight matrices (the paper's
:math:`N_l - 1`). The functions here return the same array type they are given.
"""
from __future__ import annotations

import numpy as np

from . import _validation as v

__all__ = ["check_chain", "end_to_end", "mode_strengths", "imbalance", "mode_vectors", "effective_initial_strengths"]


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
    r"""Mode strengths :math:`u_\alpha = U_{:\alpha}^T W V_{:\alpha}` of an end-to-end map (or input-output correlation).

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
    :math:`W^{32T}W^{32} - W^{21}W^{21T}`; on the decoupled manifold its diagonal holds the imbalances
    :math:`m = b^2 - a^2` of the modes, Saxe et al. 2014, §1.3). Gradient descent changes them by :math:`O(\lambda^2)`
    per step (exactly: :func:`dlnlib.train.imbalance_step_change`).

    Returns
    -------
    list of arrays or tensors
        ``depth - 1`` matrices of shape ``(..., n_l, n_l)`` for the hidden widths ``n_1 ... n_{D-1}``.
    """
    check_chain(weights)
    return [w_next.mT @ w_next - w @ w.mT for w, w_next in zip(weights[:-1], weights[1:])]


def mode_vectors(weights, task, n_modes: int | None = None):
    r"""The connectivity modes :math:`a^\alpha, b^\alpha \in \mathbb R^{N_2}` of a three-layer network (Saxe et al. 2014).

    :math:`a^\alpha` is column :math:`\alpha` of :math:`\overline W^{21} = W^{21}V` and :math:`b^\alpha` row :math:`\alpha` of
    :math:`\overline W^{32} = U^TW^{32}`, with :math:`\Sigma^{31} = USV^T`: how the hidden layer carries mode
    :math:`\alpha` in and out. :math:`a^\alpha\cdot b^\beta` is entry :math:`(\beta, \alpha)` of :math:`U^TW^{32}W^{21}V`, so
    :math:`a^\alpha\cdot b^\alpha` is the mode strength and :math:`a^\alpha\cdot b^\beta` (:math:`\alpha\ne\beta`) couples
    two modes (Eqs. 4-6).

    Parameters
    ----------
    weights : sequence of two NumPy arrays
        ``[W21, W32]``, shapes ``(..., N2, N1)`` and ``(..., N3, N2)``.
    task : dlnlib.tasks.Task
        Supplies the singular vectors.
    n_modes : int or None
        Number of leading modes; default all ``min(N1, N3)``.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``a`` and ``b``, each ``(..., n_modes, N2)``: row :math:`\alpha` is :math:`a^\alpha` (resp. :math:`b^\alpha`).
    """
    widths = check_chain(weights, v.task(task).n_in, task.n_out)
    if len(widths) != 3:
        raise ValueError(f"weights must be the two matrices [W21, W32] of a three-layer network, got {len(widths) - 1}")
    u, s, vv = task.svd
    r = s.size if n_modes is None else v.count(n_modes, "n_modes")
    if r > s.size:
        raise ValueError(f"n_modes must be between 1 and {s.size}, got {n_modes}")
    w21, w32 = (v.as_float_array(w, f"weights[{l}]") for l, w in enumerate(weights))
    return (w21 @ vv[:, :r]).swapaxes(-1, -2), u[:, :r].T @ w32


def effective_initial_strengths(weights, task, competition: bool = True):
    r"""Strengths that the modes of a three-layer network effectively start from, read off its initial weights.

    Near the origin each mode grows along :math:`p^\alpha = a^\alpha + b^\alpha` (:func:`mode_vectors`) while
    :math:`a^\alpha - b^\alpha` decays, so on its own mode :math:`\alpha` follows the sigmoid (Eq. 12) from
    :math:`u_0 = \lVert p^\alpha\rVert^2/4` (:func:`dlnlib.theory.effective_initial_strength` gives its mean,
    :math:`N_2\sigma_0^2/2`). With ``competition=True`` each mode keeps only the part of :math:`p^\alpha` orthogonal
    to the vectors of the stronger modes, which have taken those hidden directions by the time it rises (the
    competition terms of Eq. 5 make a learned mode :math:`\gamma` suppress the components of a weaker mode along
    its own direction):

    .. math:: u_0^{(\alpha)} = \tfrac14\,\big\lVert (I - P_{<\alpha})\,p^\alpha \big\rVert^2
              = \tfrac14 R_{\alpha\alpha}^2,

    with :math:`P_{<\alpha}` the projector on :math:`\mathrm{span}(p^1,\dots,p^{\alpha-1})` and :math:`R` the triangular
    factor of the QR decomposition of :math:`[p^1, p^2, \dots]` (Gram-Schmidt in order of decreasing singular value).
    Modes beyond the hidden width :math:`N_2` find no direction left and get 0 (they are never learned, chapter 2).
    This is a model: it assumes each stronger mode is learned well before the weaker one rises.

    Parameters
    ----------
    weights : sequence of two NumPy arrays
        Initial ``[W21, W32]``; leading axes index runs.
    task : dlnlib.tasks.Task
        Supplies the singular vectors (modes in order of decreasing singular value).
    competition : bool
        Project out the stronger modes' directions (default) or return :math:`\lVert p^\alpha\rVert^2/4`.

    Returns
    -------
    numpy.ndarray
        ``(..., n_modes)`` effective initial strengths, ``n_modes = min(N1, N3)``.
    """
    competition = v.flag(competition, "competition")
    a, b = mode_vectors(weights, task)
    p = a + b                                        # (..., n_modes, N2)
    if not competition:
        return 0.25 * np.sum(p * p, axis=-1)
    n_modes, n_hidden = p.shape[-2:]
    diag = np.abs(np.diagonal(np.linalg.qr(p.swapaxes(-1, -2), mode="r"), axis1=-2, axis2=-1))
    out = np.zeros(p.shape[:-1])
    out[..., :min(n_modes, n_hidden)] = 0.25 * diag ** 2
    return out
