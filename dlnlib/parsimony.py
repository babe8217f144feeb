r"""The law of parsimony (Yaras et al. 2023): from a scaled orthogonal start with a rank-:math:`r` target, gradient
descent changes every weight matrix of a deep linear network only inside a :math:`2r`-dimensional subspace.

With :math:`W_l(0) = \varepsilon O_l` and a whitened input, every :math:`W_l(t)` keeps :math:`d - 2r` equal singular
values whose singular vectors never move, so the whole trajectory lives in a :math:`2r \times 2r` core. A network of
width :math:`2r`, wrapped in two fixed orthonormal frames computed from the first gradient, reproduces the wide
network's end-to-end trajectory (up to the frozen bulk) at a fraction of the cost.
"""
from __future__ import annotations

import numpy as np

from . import _validation as v

__all__ = ["compression_frames", "compressed_start", "invariant_bulk", "bulk_recursion", "core_subspace", "class_separation",
           "layer_separation"]


def compression_frames(weights0, first_gradient, rank: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The fixed frames of the compressed network: :math:`V \in \mathbb R^{d\times 2r}` and :math:`U`.

    :math:`V` is an orthonormal basis of :math:`\operatorname{span}(v_1..v_r) + W_1(0)^T\operatorname{span}(u_1..u_r)`,
    with :math:`G_0 = \nabla_{W_1}\mathcal L = \sum_i s_iu_iv_i^T` at initialisation, and
    :math:`U = W_L(0)\cdots W_1(0)\,V/\varepsilon^L`. For a target :math:`Y` these are the rows of :math:`Y` and the
    directions that the initial product maps onto the columns of :math:`Y`: the input and output sides of everything
    the network must learn. With a full-rank gradient (matrix completion: the masked residual) each side keeps its
    top :math:`r` singular directions, so neither side crowds out the other. The
    compressed model is :math:`U\,\widetilde W_L\cdots\widetilde W_1V^T` with :math:`\widetilde W_l(0) = \varepsilon
    I_{2r}` (Yaras et al. 2023, following their code's ``compress_network``).

    Parameters
    ----------
    weights0 : list of array_like
        Initial factors :math:`\varepsilon O_l`, square ``(d, d)``.
    first_gradient : array_like
        :math:`G_0`, ``(d, d)``.
    rank : int
        Rank :math:`r` of the target.

    Returns
    -------
    U, V : numpy.ndarray
        ``(d, 2r)`` each, with orthonormal columns.
    """
    ws = v.chain(weights0, "weights0", runs=False)
    d = ws[0].shape[1]
    if any(w.shape != (d, d) for w in ws):
        raise ValueError(f"weights0 must be square (d, d) factors, got shapes {[w.shape for w in ws]}")
    g = v.array(first_gradient, "first_gradient", shape=(d, d))
    rank = v.count(rank, "rank", maximum=d // 2)
    eps = float(np.linalg.norm(ws[0], 2))
    if eps == 0:
        raise ValueError("weights0[0] must be non-zero: the frames are scaled by eps = |W_1(0)|")
    grad_left, _, grad_right_t = np.linalg.svd(g)
    sides = np.hstack([grad_right_t[:rank].T, ws[0].T @ grad_left[:, :rank] / eps])
    V, _, _ = np.linalg.svd(sides, full_matrices=False)
    product = ws[0]
    for w in ws[1:]:
        product = w @ product
    return product @ V / eps ** len(ws), V


def compressed_start(weights0, first_gradient, rank: int) -> list[np.ndarray]:
    r"""Initial factors of the compressed network, :math:`[V^T, \varepsilon I_{2r}, \dots, \varepsilon I_{2r}, U]`.

    Their product is :math:`U\,\widetilde W_L\cdots\widetilde W_1V^T` with :math:`\widetilde W_l(0) =
    \varepsilon I_{2r}` and the frames of :func:`compression_frames`: :math:`L + 2` factors, the outer two of shape
    ``(2r, d)`` and ``(d, 2r)``. Train them with :func:`dlnlib.train.product_gradient_descent` and ``factor_lr =
    [γ, 1, ..., 1, γ]``: γ = 0 freezes the frames (exact under the theorem's assumptions), γ > 0 is the
    discriminative rate Yaras et al. (2023) use for matrix completion, where the first gradient does not see the
    whole task.

    Parameters
    ----------
    weights0, first_gradient, rank
        As for :func:`compression_frames`.

    Returns
    -------
    list of numpy.ndarray
        ``[V.T, eps I, ..., eps I, U]``, with :math:`\varepsilon = \lVert W_1(0)\rVert_2`.
    """
    U, V = compression_frames(weights0, first_gradient, rank)
    eps = float(np.linalg.norm(np.asarray(weights0[0], dtype=float), 2))
    return [V.T.copy()] + [eps * np.eye(2 * rank) for _ in weights0] + [U]


def invariant_bulk(weight, weight0, rank: int, tol: float = 1e-9) -> dict:
    r"""How well one layer obeys the law: the spread of its :math:`d - 2r` bulk singular values, the rank of
    :math:`W(t) - \frac{\rho}{\varepsilon}W(0)`, and the bulk value :math:`\rho`.

    Returns
    -------
    dict
        ``singular_values`` (descending), ``rho`` (bulk mean), ``spread`` (relative max - min of the bulk),
        ``rank`` (numerical rank of the deviation: its singular values above ``tol`` times :math:`\lVert W\rVert_2`, so
        that round-off never counts).
    """
    w = v.array(weight, "weight", ndim=2)
    w0 = v.array(weight0, "weight0", shape=w.shape)
    rank = v.count(rank, "rank", maximum=(min(w.shape) - 1) // 2)     # leaves a bulk of d - 2r >= 1 values
    tol = v.in_interval(tol, "tol", 0.0, 1.0, closed="neither")
    eps = float(np.linalg.norm(w0, 2))
    if eps == 0:
        raise ValueError("weight0 must be non-zero (the start eps O, eps = |W(0)| > 0)")
    s = np.linalg.svd(w, compute_uv=False)
    bulk = s[rank: len(s) - rank]
    rho = float(np.mean(bulk))
    dev = np.linalg.svd(w - rho / eps * w0, compute_uv=False)
    return {"singular_values": s, "rho": rho, "spread": float(np.ptp(bulk) / rho) if rho > 0 else float("inf"),
            "rank": int(np.sum(dev > tol * s[0]))}


def bulk_recursion(eps: float, lr: float, steps: int, depth: int, n_entries: int = 1) -> float:
    r"""The common bulk value :math:`\rho(t)` after ``steps`` steps of gradient descent from :math:`W_l(0) = \varepsilon O_l`.

    On the bulk the target vanishes and every layer is :math:`\rho` times an orthogonal map, so the residual there is
    :math:`\rho^L` times an orthogonal matrix and the gradient of each layer is :math:`\rho^{2L-1}` times one. With the
    loss :math:`\frac{1}{2N}\lVert W_L\cdots W_1 - Y\rVert_F^2` (``n_entries`` :math:`N = 1` for the sum,
    :math:`d^2` for the mean over the entries of a square output) each step is

    .. math:: \rho_{t+1} = \rho_t - \frac{\eta}{N}\,\rho_t^{2L-1}, \qquad \rho_0 = \varepsilon .

    Parameters
    ----------
    eps, lr : float
        Initial scale :math:`\varepsilon` and learning rate :math:`\eta`.
    steps, depth : int
        Number of steps and number of layers :math:`L`.
    n_entries : int
        Normalisation :math:`N` of the squared loss.
    """
    eps = v.positive_scalar(eps, "eps")
    lr = v.positive_scalar(lr, "lr")
    steps = v.count(steps, "steps", minimum=0)
    depth = v.count(depth, "depth")
    n_entries = v.count(n_entries, "n_entries")
    rho = eps
    for _ in range(steps):
        rho -= lr / n_entries * rho ** (2 * depth - 1)
    return float(rho)


def core_subspace(weight, rank: int) -> np.ndarray:
    r"""Orthonormal basis ``(d, 2r)`` of the right singular vectors of the :math:`2r` singular values outside the bulk.

    As in :func:`invariant_bulk`, the core is the :math:`r` largest and the :math:`r` smallest singular values, and the
    bulk the :math:`d - 2r` between them. Under the invariant structure (Yaras et al. 2023) this subspace is spanned
    by the first :math:`2r` columns of :math:`V_l` and does not move during training; compare two of them with
    ``scipy.linalg.subspace_angles``. It is well defined only while the core values stay apart from the bulk.
    """
    w = v.as_float_array(weight, "weight")
    rank = v.count(rank, "rank")
    if w.ndim != 2 or 2 * rank > min(w.shape):
        raise ValueError(f"weight must be a matrix with 2 rank <= min(shape), got shape {w.shape} and rank {rank}")
    _, _, vt = np.linalg.svd(w)
    n = min(w.shape)
    return np.vstack([vt[:rank], vt[n - rank: n]]).T


def class_separation(features, labels) -> float:
    r"""Within-class over between-class variability, :math:`D = \operatorname{tr}\Sigma_W/\operatorname{tr}\Sigma_B`,
    of ``features`` ``(dim, n)`` with integer ``labels`` ``(n,)`` (neural-collapse measure; Yaras et al. 2023, Fig. 5)."""
    h = v.array(features, "features", ndim=2)
    labels = v.integer_array(labels, "labels")
    if labels.shape != (h.shape[1],):
        raise ValueError(f"labels must hold one label per column of features ({h.shape[1]},), got {labels.shape}")
    if np.unique(labels).size < 2:
        raise ValueError("labels must name at least two classes: with one, there is no between-class variability")
    mean = h.mean(axis=1, keepdims=True)
    within = between = 0.0
    for k in np.unique(labels):
        hk = h[:, labels == k]
        mk = hk.mean(axis=1, keepdims=True)
        within += np.sum((hk - mk) ** 2)
        between += hk.shape[1] * np.sum((mk - mean) ** 2)
    if between == 0:
        raise ValueError("features have the same mean in every class: the ratio is undefined")
    return float(within / between)


def layer_separation(weights, inputs, labels) -> np.ndarray:
    r""":func:`class_separation` of the inputs and of the features :math:`h_l = W_l\cdots W_1X` after every hidden layer.

    Parameters
    ----------
    weights : list of array_like
        ``[W_1, ..., W_L]``, each ``(..., n_{l+1}, n_l)`` with optional leading run axes; the output layer
        :math:`W_L` is not used.
    inputs : array_like
        :math:`X`, ``(n_0, n)``, one column per sample.
    labels : array_like
        ``(n,)`` integer class labels.

    Returns
    -------
    numpy.ndarray
        ``(..., L)``: :math:`D_0` (inputs) to :math:`D_{L-1}` (last hidden layer).
    """
    ws = v.chain(weights)
    x = v.array(inputs, "inputs", ndim=2)
    if x.shape[0] != ws[0].shape[-1]:
        raise ValueError(f"inputs must have {ws[0].shape[-1]} rows (the inputs of weights[0]), got shape {x.shape}")
    runs = ws[0].shape[:-2]
    n_runs = int(np.prod(runs))
    features = np.broadcast_to(x, (n_runs,) + x.shape)
    out = []
    for w in [None] + ws[:-1]:
        if w is not None:
            features = w.reshape((n_runs,) + w.shape[-2:]) @ features
        out.append([class_separation(f, labels) for f in features])
    return np.array(out).T.reshape(runs + (len(ws),))
