r"""Initial weights for deep linear networks.

Every function returns a list of ``depth`` float64 NumPy arrays, ``weights[l]`` of shape
``(widths[l+1], widths[l])`` (or ``(n_runs, widths[l+1], widths[l])`` for a batch of independent runs), where
``widths = [n_in, n_1, ..., n_out]`` lists the layer sizes and ``depth = len(widths) - 1`` is the number of weight
matrices (the paper's :math:`N_l - 1`).
"""
from __future__ import annotations

import numpy as np

from . import _validation as v

__all__ = ["random_orthogonal", "gaussian", "scaled_gaussian", "orthogonal", "decoupled", "greedy_pretraining",
           "least_squares_top", "principal_component_consistency",
           "delta_orthogonal", "block_orthogonal", "gaussian_kernel", "conv_kernel", "cnn", "stack_runs", "balanced"]


def random_orthogonal(n_rows: int, n_cols: int | None = None, seed=None) -> np.ndarray:
    r"""Haar-random matrix with orthonormal columns (or rows, when ``n_rows < n_cols``).

    QR decomposition of a standard Gaussian matrix, with the signs of :math:`R`'s diagonal moved into :math:`Q`
    so that the result is exactly Haar distributed (Mezzadri 2007).

    Parameters
    ----------
    n_rows, n_cols : int
        Shape; ``n_cols`` defaults to ``n_rows`` (a square orthogonal matrix).
    seed : int, numpy.random.Generator or None
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        ``(n_rows, n_cols)`` float64 with :math:`Q^TQ = I` if ``n_rows >= n_cols``, else :math:`QQ^T = I`.
    """
    n_rows = v.count(n_rows, "n_rows")
    n_cols = n_rows if n_cols is None else v.count(n_cols, "n_cols")
    rng = v.generator(seed)
    tall = n_rows >= n_cols
    big, small = (n_rows, n_cols) if tall else (n_cols, n_rows)
    q, r = np.linalg.qr(rng.standard_normal((big, small)))
    q = q * np.sign(np.diag(r))
    return q if tall else q.T


def _widths(widths) -> list[int]:
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__") or len(widths) < 2:
        raise ValueError(f"widths must list at least two layer sizes [n_in, ..., n_out], got {widths!r}")
    return [v.count(w, f"widths[{i}]") for i, w in enumerate(widths)]


def _runs(n_runs):
    return None if n_runs is None else v.count(n_runs, "n_runs")


def stack_runs(runs) -> list[np.ndarray]:
    """Stack per-run lists of matrices (or kernels) into one list with a leading run axis.

    ``stack_runs([orthogonal(widths, 1.1, seed=0), scaled_gaussian(widths, seed=1)])`` gives the weights of two
    independent networks trained side by side (:func:`dlnlib.train.gradient_descent`, :class:`dlnlib.deepnets.MLP`).
    """
    if isinstance(runs, (list, tuple)) and not runs:
        raise ValueError("stack_runs needs at least one run (runs is empty)")
    runs = [v.sequence(run, f"runs[{r}]", "matrices") for r, run in enumerate(v.sequence(runs, "runs", "runs"))]
    if any(len(run) != len(runs[0]) for run in runs):
        raise ValueError(f"runs must all hold the same number of matrices, got {[len(run) for run in runs]}")
    parts = [[v.as_float_array(m, f"runs[{r}][{l}]") for r, m in enumerate(layer)] for l, layer in enumerate(zip(*runs))]
    for l, layer in enumerate(parts):
        if any(m.shape != layer[0].shape for m in layer):
            raise ValueError(f"runs must have matrices of one shape per layer; layer {l} has {[m.shape for m in layer]}")
    return [np.stack(layer) for layer in parts]


def _gain(gain, name: str = "gain") -> float:
    return v.nonnegative_scalar(gain, name)


def _layer_gains(depth: int, gain, readout_gain) -> list[float]:
    """Gain of each of the ``depth`` matrices: ``gain``, and ``readout_gain`` (if given) for the last one."""
    gain = _gain(gain)
    last = gain if readout_gain is None else _gain(readout_gain, "readout_gain")
    return [gain] * (depth - 1) + [last]


def gaussian(widths, std, n_runs: int | None = None, seed=None) -> list[np.ndarray]:
    r"""I.i.d. Gaussian weights, :math:`(W_l)_{ij} \sim \mathcal N(0, \sigma_l^2)`.

    Parameters
    ----------
    widths : sequence of int
        Layer sizes ``[n_in, n_1, ..., n_out]``; ``len(widths) - 1`` is the depth (number of weight matrices).
    std : float or sequence of float
        Standard deviation :math:`\sigma`, one for all layers or one per weight matrix (>= 0).
    n_runs : int or None
        Number of independent runs; adds a leading axis to every matrix.
    seed : int, numpy.random.Generator or None
        Source of randomness.

    Returns
    -------
    list of numpy.ndarray
    """
    widths = _widths(widths)
    depth = len(widths) - 1
    std = v.as_float_array(std, "std")
    if std.ndim == 0:
        std = np.full(depth, float(std))
    if std.shape != (depth,):
        raise ValueError(f"std must be a scalar or have one entry per weight matrix ({depth}), got shape {std.shape}")
    if np.any(std < 0):
        raise ValueError("std must be >= 0")
    rng = v.generator(seed)
    lead = () if _runs(n_runs) is None else (n_runs,)
    return [std[l] * rng.standard_normal(lead + (widths[l + 1], widths[l])) for l in range(depth)]


def scaled_gaussian(widths, gain: float = 1.0, n_runs: int | None = None, seed=None,
                    readout_gain: float | None = None) -> list[np.ndarray]:
    r"""Scaled Gaussian weights, :math:`(W_l)_{ij} \sim \mathcal N(0, g^2/n_l)` with :math:`n_l` the layer's fan-in.

    With :math:`g = 1` each layer preserves the norm of a vector on average, :math:`\mathbb E\lVert Wx\rVert^2 =
    \lVert x\rVert^2` (Glorot & Bengio 2010), yet a product of many such layers is far from an isometry (see
    :mod:`dlnlib.spectra`; Saxe et al. 2014, §3 and Fig. 6).

    Parameters
    ----------
    widths : sequence of int
        Layer sizes ``[n_in, n_1, ..., n_out]``.
    gain : float
        Gain :math:`g \ge 0`.
    n_runs : int or None
        Number of independent runs (leading axis).
    seed : int, numpy.random.Generator or None
        Source of randomness.
    readout_gain : float or None
        Gain of the last matrix (the read-out); ``None``: ``gain``, like every other layer.

    Returns
    -------
    list of numpy.ndarray
    """
    widths = _widths(widths)
    gains = _layer_gains(len(widths) - 1, gain, readout_gain)
    return gaussian(widths, [g / np.sqrt(n) for g, n in zip(gains, widths[:-1])], n_runs=n_runs, seed=seed)


def orthogonal(widths, gain: float = 1.0, n_runs: int | None = None, seed=None,
               readout_gain: float | None = None) -> list[np.ndarray]:
    r"""Random orthogonal weights with a gain: :math:`W_l = g\,Q_l`, :math:`Q_l` Haar-random of any shape.

    A square :math:`Q_l` is orthogonal; a tall one has orthonormal columns (:math:`Q^TQ = I`) and a wide one
    orthonormal rows (:math:`QQ^T = I`), the reading of "orthogonal" that the paper's 784-1000-...-10 networks
    need. With :math:`g = 1` and square layers the end-to-end map is exactly orthogonal at any depth: dynamical
    isometry (Saxe et al. 2014, §3).

    Parameters
    ----------
    widths : sequence of int
        Layer sizes ``[n_in, n_1, ..., n_out]``.
    gain : float
        Gain :math:`g \ge 0` (chapter 6 uses :math:`g` slightly above 1 for tanh networks).
    n_runs : int or None
        Number of independent runs (leading axis).
    seed : int, numpy.random.Generator or None
        Source of randomness.
    readout_gain : float or None
        Gain of the last matrix (the read-out); ``None``: ``gain``. A nonlinear network with its hidden layers at
        gain :math:`g` and its read-out at 1 starts with logits of order 1 whatever :math:`g` (chapter 6).

    Returns
    -------
    list of numpy.ndarray
    """
    widths = _widths(widths)
    gains = _layer_gains(len(widths) - 1, gain, readout_gain)
    rng = v.generator(seed)

    def one_run():
        return [gains[l] * random_orthogonal(widths[l + 1], widths[l], seed=rng) for l in range(len(widths) - 1)]

    if _runs(n_runs) is None:
        return one_run()
    return stack_runs(one_run() for _ in range(n_runs))


def decoupled(task, widths, u0, n_runs: int | None = None, seed=None, return_frames: bool = False):
    r"""Decoupled, balanced initial weights aligned with the task's singular vectors.

    :math:`W_l = R_{l+1} \Lambda_l R_l^T` with :math:`R_1 = V` and :math:`R_{D+1} = U` the input and output singular
    vectors of :math:`\Sigma^{31}`, Haar-random orthogonal :math:`R_l` for the hidden layers, and every :math:`\Lambda_l`
    diagonal with entries :math:`u_{0,\alpha}^{1/D}`. The end-to-end map is then
    :math:`\sum_\alpha u_{0,\alpha} u_\alpha v_\alpha^T`: each mode starts at strength :math:`u_{0,\alpha}` with all
    its layers equal. With :math:`\Sigma^{11} = I` the modes evolve independently forever (Saxe et al. 2014, §1.3
    and Eqs. 13-14). Only the first ``min(widths)`` modes (and at most the rank's worth) are initialised.

    Parameters
    ----------
    task : dlnlib.tasks.Task
        Supplies :math:`U` and :math:`V`.
    widths : sequence of int
        Layer sizes ``[task.n_in, n_1, ..., task.n_out]``.
    u0 : float or array_like
        Initial mode strength (> 0), one for all modes or one per initialised mode.
    n_runs : int or None
        Number of runs (each with its own hidden rotations); adds a leading axis.
    seed : int, numpy.random.Generator or None
        Source of randomness for the hidden rotations.
    return_frames : bool
        Also return the frames :math:`[R_1 = V, R_2, \dots, R_{D+1} = U]` (square orthogonal matrices, with a
        leading run axis when ``n_runs`` is given), so that :math:`R_{l+1}^T W_l R_l` can be inspected later.

    Returns
    -------
    list of numpy.ndarray, or (weights, frames) with ``return_frames=True``
    """
    widths = _widths(widths)
    if widths[0] != v.task(task).n_in or widths[-1] != task.n_out:
        raise ValueError(f"widths must start with task.n_in={task.n_in} and end with task.n_out={task.n_out}, got {widths}")
    depth = len(widths) - 1
    return_frames = v.flag(return_frames, "return_frames")
    u, s, vv = task.svd
    k = min(min(widths), s.size)
    u0 = v.positive(u0, "u0")
    if u0.ndim > 1 or (u0.ndim == 1 and u0.size != k):
        raise ValueError(f"u0 must be a scalar or have one entry per initialised mode ({k}), got shape {u0.shape}")
    diag = np.broadcast_to(u0, (k,)) ** (1.0 / depth)
    rng = v.generator(seed)

    def one_run():
        frames = [vv] + [random_orthogonal(n, seed=rng) for n in widths[1:-1]] + [u]
        return [(frames[l + 1][:, :k] * diag) @ frames[l][:, :k].T for l in range(depth)], frames

    if _runs(n_runs) is None:
        weights, frames = one_run()
    else:
        runs = [one_run() for _ in range(n_runs)]
        weights, frames = stack_runs(r[0] for r in runs), stack_runs(r[1] for r in runs)
    return (weights, frames) if return_frames else weights


def greedy_pretraining(task, widths, lr: float, steps: int, std: float = 0.01, seed=None):
    r"""Greedy layer-wise pretraining: each hidden layer is the encoder of a linear autoencoder (Saxe et al. 2014, §3).

    Layer :math:`l` (for :math:`l = 1, \dots, D-1`) is trained as the first layer of a two-layer linear autoencoder
    that reconstructs the previous layer's activity :math:`h_{l-1} = W_{l-1}\cdots W_1x` from itself. Only the
    statistics are needed: the autoencoder's task has :math:`\Sigma^{11} = \Sigma^{31} = C_{l-1} =
    W_{<l}\,\Sigma^{11}W_{<l}^T`, so its "SVD" is the PCA of :math:`h_{l-1}`, and its encoder converges to
    :math:`R\,M^{1/2}Q^T` with :math:`Q` the principal components. The top layer, which the paper leaves
    unspecified, gets i.i.d. :math:`\mathcal N(0, \text{std}^2)` weights and learns during fine-tuning.

    Parameters
    ----------
    task : dlnlib.tasks.Task
        Supplies :math:`\Sigma^{11}` (the targets are not used).
    widths : sequence of int
        Layer sizes ``[task.n_in, n_1, ..., task.n_out]``; at least two weight matrices.
    lr : float
        Learning rate of every autoencoder (:func:`dlnlib.train.gradient_descent`).
    steps : int
        Steps per autoencoder; the pretraining costs ``steps * (depth - 1)`` steps in all.
    std : float
        Standard deviation of the autoencoders' initial weights and of the top layer.
    seed : int, numpy.random.Generator or None
        Source of randomness.

    Returns
    -------
    weights : list of numpy.ndarray
        ``[W_1, ..., W_D]``, ready for fine-tuning.
    autoencoders : list of dlnlib.train.TrainResult
        One per pretrained layer, with its reconstruction loss history.
    """
    from .tasks import Task
    from .train import gradient_descent

    widths = _widths(widths)
    if widths[0] != v.task(task).n_in or widths[-1] != task.n_out:
        raise ValueError(f"widths must start with task.n_in={task.n_in} and end with task.n_out={task.n_out}, got {widths}")
    if len(widths) < 3:
        raise ValueError("greedy pretraining needs at least one hidden layer (two weight matrices) in widths")
    lr, steps = v.positive_scalar(lr, "lr"), v.count(steps, "steps", minimum=0)
    std = v.nonnegative_scalar(std, "std")
    rng = v.generator(seed)
    weights, autoencoders = [], []
    covariance = task.sigma11
    for l in range(len(widths) - 2):
        ae_task = Task(sigma11=covariance, sigma31=covariance, sigma33_trace=float(np.trace(covariance)),
                       name=f"autoencoder of layer {l}")
        ae = gradient_descent(gaussian([widths[l], widths[l + 1], widths[l]], std, seed=rng), ae_task, lr=lr,
                              steps=steps, record_every=max(1, steps // 100), n_modes=1)
        encoder = ae.weights[0]
        weights.append(encoder)
        autoencoders.append(ae)
        covariance = encoder @ covariance @ encoder.T
    weights.append(gaussian(widths[-2:], std, seed=rng)[0])
    return weights, autoencoders


def _ndim(ndim) -> int:
    if not v.is_integer(ndim) or ndim not in (1, 2):
        raise ValueError(f"ndim must be 1 or 2, got {ndim!r}")
    return int(ndim)


def least_squares_top(weights, task, balance: bool = False) -> list[np.ndarray]:
    r"""Replace the top layer by the best one for the layers below: linear regression of the targets on the last
    hidden layer.

    With :math:`H = W_{D-1}\cdots W_1` the map to the last hidden layer, the loss is quadratic in :math:`W_D` and is
    minimised by

    .. math:: W_D = \Sigma^{31}H^T\,\big(H\,\Sigma^{11}H^T\big)^{-1},

    the least-squares read-out of the hidden representation. A network whose lower layers come from greedy
    pretraining (:func:`greedy_pretraining`) then starts fine-tuning with the best output its features allow (Saxe et
    al. 2014, §3, leave the top layer unspecified).

    Such a top layer can be far larger than the layers below it, which makes the network stiff: its stable learning
    rates are set by one outsized layer. With ``balance`` every layer is then rescaled to the same spectral norm,
    :math:`W_l \to (\bar n/n_l)\,W_l` with :math:`n_l = \lVert W_l\rVert_2` and :math:`\bar n` their geometric
    mean; the factors multiply to 1, so the end-to-end map, and hence the loss, is unchanged.

    Parameters
    ----------
    weights : list of array_like
        ``[W_1, ..., W_D]``, ``D >= 2``, no run axis; the top layer's values are ignored.
    task : dlnlib.tasks.Task
    balance : bool
        Rescale the layers to equal spectral norms, keeping their product.

    Returns
    -------
    list of numpy.ndarray
        Copies of ``W_1 .. W_{D-1}`` and the new ``W_D``.

    Raises
    ------
    ValueError
        If :math:`H\Sigma^{11}H^T` is singular (a hidden direction that carries no input variance).
    """
    from .networks import check_chain, end_to_end

    task = v.task(task)
    ws = v.chain(weights)
    balance = v.flag(balance, "balance")
    check_chain(ws, task.n_in, task.n_out)
    if len(ws) < 2 or ws[0].ndim != 2:
        raise ValueError("least_squares_top needs at least two weight matrices and no run axis")
    hidden = end_to_end(ws[:-1])
    covariance = hidden @ task.sigma11 @ hidden.T
    if np.linalg.cond(covariance) > 1e12:
        raise ValueError("the hidden layer's covariance H Sigma11 H^T is singular: some hidden direction carries no "
                         "input variance, so the least-squares top layer is not unique")
    fitted = [w.copy() for w in ws[:-1]] + [np.linalg.solve(covariance, hidden @ task.sigma31.T).T]
    if not balance:
        return fitted
    norms = np.array([np.linalg.norm(w, 2) for w in fitted])
    return [w * (np.exp(np.log(norms).mean()) / n) for w, n in zip(fitted, norms)]


def principal_component_consistency(sigma11, frame) -> tuple[float, float]:
    r"""How far the orthonormal columns of ``frame`` are from principal components of :math:`\Sigma^{11}`.

    Greedy pretraining gives a decoupled start only if the task's input singular vectors are principal components
    (Saxe et al. 2014, Eq. 18, :math:`Q = V`). For the determined columns :math:`V_r` this splits into two parts,
    both zero if and only if the columns are eigenvectors of :math:`\Sigma^{11}`:

    .. math:: \text{off-diagonal ratio} = \frac{\lVert\operatorname{offdiag}(V_r^T\Sigma^{11}V_r)\rVert_F}
              {\lVert V_r^T\Sigma^{11}V_r\rVert_F}, \qquad
              \text{leakage} = \frac{\lVert\Sigma^{11}V_r - V_rV_r^T\Sigma^{11}V_r\rVert_F}{\lVert\Sigma^{11}V_r\rVert_F}.

    The first asks whether the columns are principal axes *within* their span, the second whether the span is
    invariant (how much of :math:`\Sigma^{11}V_r` leaves it); a small first ratio alone is necessary, not sufficient.

    Parameters
    ----------
    sigma11 : array_like
        ``(n, n)`` symmetric input correlation.
    frame : array_like
        ``(n, r)`` orthonormal columns.

    Returns
    -------
    off_diagonal_ratio, leakage : float
    """
    sigma11 = v.as_float_array(sigma11, "sigma11")
    frame = v.as_float_array(frame, "frame")
    if sigma11.ndim != 2 or sigma11.shape[0] != sigma11.shape[1] or frame.ndim != 2 or frame.shape[0] != sigma11.shape[0]:
        raise ValueError(f"sigma11 must be (n, n) and frame (n, r), got {sigma11.shape} and {frame.shape}")
    if not np.allclose(frame.T @ frame, np.eye(frame.shape[1]), atol=1e-8):
        raise ValueError("frame must have orthonormal columns")
    image = sigma11 @ frame
    core = frame.T @ image
    off = np.linalg.norm(core - np.diag(np.diag(core))) / np.linalg.norm(core)
    return float(off), float(np.linalg.norm(image - frame @ core) / np.linalg.norm(image))


def _kernel_args(c_out, c_in, kernel_size, ndim):
    c_out, c_in, kernel_size = v.count(c_out, "c_out"), v.count(c_in, "c_in"), v.odd_count(kernel_size, "kernel_size")
    if c_in > c_out:
        raise ValueError(f"an orthogonal kernel needs c_in <= c_out, got c_in={c_in}, c_out={c_out}")
    _ndim(ndim)
    return c_out, c_in, kernel_size


def delta_orthogonal(c_out: int, c_in: int, kernel_size: int = 3, ndim: int = 2, gain: float = 1.0,
                     seed=None) -> np.ndarray:
    r"""Delta-orthogonal convolution kernel (Xiao et al. 2018, Algorithm 2): an orthogonal matrix at the centre tap.

    :math:`K(\beta) = g\,H\,\delta_{\beta,0}` with :math:`H` a Haar-random ``c_out`` × ``c_in`` matrix with
    orthonormal columns. With circular padding the convolution is then exactly norm-preserving (times :math:`g`) at
    every spatial position, so a deep CNN behaves like a deep orthogonal fully-connected network at every pixel:
    all spatial Fourier modes share one depth scale and none decays at criticality.

    Parameters
    ----------
    c_out, c_in : int
        Output and input channels, ``c_in <= c_out``.
    kernel_size : int
        Odd spatial size :math:`k`.
    ndim : {1, 2}
        Spatial dimensions.
    gain : float
        :math:`g = \sigma_w` (the kernel's operator norm).
    seed : int, numpy.random.Generator or None

    Returns
    -------
    numpy.ndarray
        ``(c_out, c_in, k)`` or ``(c_out, c_in, k, k)``, torch's layout.
    """
    c_out, c_in, kernel_size = _kernel_args(c_out, c_in, kernel_size, ndim)
    kernel = np.zeros((c_out, c_in) + (kernel_size,) * ndim)
    kernel[(slice(None), slice(None)) + (kernel_size // 2,) * ndim] = _gain(gain) * random_orthogonal(c_out, c_in,
                                                                                                        seed=seed)
    return kernel


def _projection(c: int, rng) -> np.ndarray:
    """Random symmetric projection of rank ``c // 2``: :math:`QQ^T` with :math:`Q` half the columns of a Haar matrix."""
    q = random_orthogonal(c, seed=rng)[:, : max(c // 2, 1)]
    return q @ q.T


def block_orthogonal(c_out: int, c_in: int, kernel_size: int = 3, ndim: int = 1, gain: float = 1.0,
                     seed=None) -> np.ndarray:
    r"""Random orthogonal convolution kernel with every tap non-zero (Xiao et al. 2018, Algorithm 1).

    With circular padding a convolution is orthogonal iff its Fourier symbol :math:`\hat K(\theta) = \sum_\beta
    K(\beta)e^{-i\theta\beta}` is unitary at every frequency. A symmetric projection :math:`P` gives the two-tap
    kernel :math:`[P,\ I - P]` with symbol :math:`P + (I - P)e^{-i\theta}`, which is unitary; a product of
    :math:`k - 1` of them (a matrix polynomial, i.e. convolving their taps) has :math:`k` taps and a unitary symbol,
    and left-multiplying by a Haar ``c_out`` × ``c_in`` matrix :math:`H` with orthonormal columns keeps the columns
    orthonormal. In 2-D the symbol is a product of such factors in each direction.

    Parameters
    ----------
    c_out, c_in : int
        Channels, ``c_in <= c_out``.
    kernel_size : int
        Odd number of taps :math:`k` per dimension.
    ndim : {1, 2}
    gain : float
    seed : int, numpy.random.Generator or None

    Returns
    -------
    numpy.ndarray
        ``(c_out, c_in, k)`` or ``(c_out, c_in, k, k)``.
    """
    c_out, c_in, kernel_size = _kernel_args(c_out, c_in, kernel_size, ndim)
    rng = v.generator(seed)
    kernel = np.eye(c_in).reshape((c_in, c_in) + (1,) * ndim)
    for axis in range(ndim):
        for _ in range(kernel_size - 1):
            p = _projection(c_in, rng)
            factor = np.stack([p, np.eye(c_in) - p], axis=-1).reshape((c_in, c_in) + (1,) * axis + (2,)
                                                                         + (1,) * (ndim - axis - 1))
            kernel = _matrix_polynomial_product(kernel, factor)
    h = random_orthogonal(c_out, c_in, seed=rng)
    return _gain(gain) * np.einsum("oi,ij...->oj...", h, kernel)


def _matrix_polynomial_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Taps of the product of two matrix polynomials (full convolution of tap arrays, matrix product per pair)."""
    spatial = tuple(sa + sb - 1 for sa, sb in zip(a.shape[2:], b.shape[2:]))
    out = np.zeros(a.shape[:1] + b.shape[1:2] + spatial)
    for ia in np.ndindex(*a.shape[2:]):
        for ib in np.ndindex(*b.shape[2:]):
            out[(slice(None), slice(None)) + tuple(i + j for i, j in zip(ia, ib))] += a[(...,) + ia] @ b[(...,) + ib]
    return out


def gaussian_kernel(c_out: int, c_in: int, profile, sigma_w2: float = 1.0, seed=None) -> np.ndarray:
    r"""Gaussian convolution kernel with a variance profile: :math:`K_{ij}(\beta) \sim \mathcal N(0,
    \sigma_w^2 v_\beta / c_{\rm in})` (Xiao et al. 2018).

    Parameters
    ----------
    c_out, c_in : int
    profile : array_like
        :math:`v_\beta \ge 0` summing to 1, shape ``(k,)`` or ``(k, k)`` with odd :math:`k`. Uniform,
        ``np.full((3, 3), 1/9)``, is the usual fan-in scaling; delta puts all variance on the centre tap.
    sigma_w2 : float
        Weight variance :math:`\sigma_w^2 > 0`.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    numpy.ndarray
        ``(c_out, c_in) + profile.shape``.
    """
    c_out, c_in = v.count(c_out, "c_out"), v.count(c_in, "c_in")
    profile = v.variance_profile(profile)
    sigma_w2 = v.positive_scalar(sigma_w2, "sigma_w2")
    rng = v.generator(seed)
    return np.sqrt(sigma_w2 * profile / c_in) * rng.standard_normal((c_out, c_in) + profile.shape)


KERNEL_KINDS = ("delta_orthogonal", "gaussian", "gaussian_delta")


def conv_kernel(kind: str, c_out: int, c_in: int, sigma_w2: float, kernel_size: int = 3, ndim: int = 2,
                seed=None) -> np.ndarray:
    r"""One convolution kernel of weight variance :math:`\sigma_w^2` from one of the ensembles of Xiao et al. (2018).

    ``"delta_orthogonal"``: :func:`delta_orthogonal` with gain :math:`\sigma_w`; ``"gaussian"``:
    :func:`gaussian_kernel` with the uniform profile :math:`v_\beta = 1/k^{d}` (the usual fan-in scaling);
    ``"gaussian_delta"``: Gaussian with all variance on the centre tap.
    """
    kind = v.choice(kind, "kind", KERNEL_KINDS)
    sigma_w2 = v.positive_scalar(sigma_w2, "sigma_w2")
    kernel_size, ndim = v.odd_count(kernel_size, "kernel_size"), _ndim(ndim)
    if kind == "delta_orthogonal":
        return delta_orthogonal(c_out, c_in, kernel_size, ndim, gain=np.sqrt(sigma_w2), seed=seed)
    profile = np.full((kernel_size,) * ndim, 1.0 / kernel_size ** ndim)
    if kind == "gaussian_delta":
        profile = np.zeros((kernel_size,) * ndim)
        profile[(kernel_size // 2,) * ndim] = 1.0
    return gaussian_kernel(c_out, c_in, profile, sigma_w2, seed=seed)


def cnn(channels: int, depth: int, sigma_w2: float, sigma_b2: float, kind: str = "delta_orthogonal",
        in_channels: int = 1, kernel_size: int = 3, seed=None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""Kernels and biases of a vanilla CNN of ``depth`` 2-D convolution layers (Xiao et al. 2018).

    The first layer maps ``in_channels`` to ``channels``, the others ``channels`` to ``channels``; kernels come from
    :func:`conv_kernel` and biases from :math:`\mathcal N(0, \sigma_b^2)`. At a point of the critical line
    (:func:`dlnlib.meanfield.critical_line`) with ``kind="delta_orthogonal"`` this is the initialisation that trains
    10,000-layer networks.

    Returns
    -------
    kernels : list of numpy.ndarray
        ``(channels, c_in, k, k)`` per layer.
    biases : list of numpy.ndarray
        ``(channels,)`` per layer.
    """
    channels, depth = v.count(channels, "channels"), v.depth(depth)
    in_channels = v.count(in_channels, "in_channels")
    sigma_b = float(np.sqrt(v.nonnegative_scalar(sigma_b2, "sigma_b2")))
    kind, sigma_w2 = v.choice(kind, "kind", KERNEL_KINDS), v.positive_scalar(sigma_w2, "sigma_w2")
    kernel_size = v.odd_count(kernel_size, "kernel_size")
    if kind == "delta_orthogonal" and in_channels > channels:
        raise ValueError(f"in_channels must be <= channels for orthogonal kernels, got {in_channels} > {channels}")
    rng = v.generator(seed)
    kernels = [conv_kernel(kind, channels, in_channels if l == 0 else channels, sigma_w2, kernel_size, 2, seed=rng)
               for l in range(depth)]
    return kernels, [sigma_b * rng.standard_normal(channels) for _ in range(depth)]


def balanced(product, widths, seed=None) -> list[np.ndarray]:
    r"""Exactly balanced factors of a given end-to-end matrix: :math:`W_D\cdots W_1 = W` and
    :math:`W_{j+1}^TW_{j+1} = W_jW_j^T` for every :math:`j` (Arora, Cohen & Hazan 2018).

    With :math:`W = U\Sigma V^T` (rank :math:`r`), :math:`W_j = R_{j+1}\,\Sigma^{1/D}R_j^T` with :math:`R_1 = V`,
    :math:`R_{D+1} = U` and Haar-random :math:`n_j\times r` frames with orthonormal columns in between. Gradient flow
    keeps such factors balanced, and then the product follows :mod:`dlnlib.acceleration`'s end-to-end rule whatever
    the hidden widths.

    Parameters
    ----------
    product : array_like
        ``(n_out, n_in)`` end-to-end matrix :math:`W`.
    widths : sequence of int
        ``[n_in, n_1, ..., n_out]``; every hidden width must be at least :math:`\operatorname{rank} W`.
    seed : int, numpy.random.Generator or None
        Source of randomness for the hidden frames.

    Returns
    -------
    list of numpy.ndarray
    """
    w = v.as_float_array(product, "product")
    widths = _widths(widths)
    if w.shape != (widths[-1], widths[0]):
        raise ValueError(f"product must have shape ({widths[-1]}, {widths[0]}) to match widths, got {w.shape}")
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    rank = int(np.sum(s > s.max() * 1e-12)) if s.size and s.max() > 0 else 0
    if rank == 0:
        raise ValueError("product must be non-zero")
    if min(widths[1:-1], default=rank) < rank:
        raise ValueError(f"every hidden width must be >= rank(product) = {rank}, got widths {widths}")
    rng = v.generator(seed)
    depth = len(widths) - 1
    frames = [vt[:rank].T] + [random_orthogonal(n, rank, seed=rng) for n in widths[1:-1]] + [u[:, :rank]]
    root = s[:rank] ** (1.0 / depth)
    return [(frames[l + 1] * root) @ frames[l].T for l in range(depth)]
