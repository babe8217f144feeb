r"""Circular convolutions and signal propagation through very deep vanilla CNNs (Xiao et al. 2018).

A layer of a circular CNN computes :math:`h^{l+1}_{i,\alpha} = \sum_{j,\beta} K^{l+1}_{ij}(\beta)\,
\phi(h^l_{j,\alpha+\beta}) + b^{l+1}_i` over positions :math:`\alpha` taken modulo the image size (torch's
cross-correlation convention, kernel offsets :math:`\beta = -k..k`). Everything here is float64, so that the measured
quantities can be set against the mean-field predictions of :mod:`dlnlib.meanfield`; the deep propagation and the
Jacobians of deep CNNs run in torch on any device, the small kernel algebra in NumPy.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import _validation as v
from . import init
from .activations import get as get_activation, torch_slope

__all__ = ["circular_conv", "kernel_symbol", "Propagation", "signal_propagation", "conv_operator", "cnn_jacobian_factors",
           "mean_variance_profile"]


def circular_conv(x, kernel) -> np.ndarray:
    r"""Circular convolution :math:`y_{o,\alpha} = \sum_{i,\beta} K_{oi}(\beta)\,x_{i,\alpha+\beta}` (1-D or 2-D).

    Parameters
    ----------
    x : array_like
        ``(..., c_in, n)`` or ``(..., c_in, n, n)``.
    kernel : array_like
        ``(c_out, c_in, k)`` or ``(c_out, c_in, k, k)`` with odd :math:`k` (torch layout; tap :math:`k//2` is
        the centre, :math:`\beta = 0`).

    Returns
    -------
    numpy.ndarray
        ``(..., c_out, n)`` or ``(..., c_out, n, n)``.
    """
    x = v.as_float_array(x, "x")
    kernel = v.as_float_array(kernel, "kernel")
    ndim = kernel.ndim - 2
    if ndim not in (1, 2) or any(k % 2 == 0 for k in kernel.shape[2:]) or kernel.size == 0:
        raise ValueError(f"kernel must be (c_out, c_in, k) or (c_out, c_in, k, k) with odd k, got {kernel.shape}")
    if x.ndim < ndim + 1 or x.shape[-ndim - 1] != kernel.shape[1]:
        raise ValueError(f"x must be (..., {kernel.shape[1]}, n{', n' if ndim == 2 else ''}), got shape {x.shape}")
    return _circular_conv(x, kernel)


def _circular_conv(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """:func:`circular_conv` without the checks, for the layer loops that check their arguments once."""
    ndim = kernel.ndim - 2
    axes = tuple(range(-ndim, 0))
    out = np.zeros(x.shape[:-ndim - 1] + (kernel.shape[0],) + x.shape[-ndim:])
    for tap in np.ndindex(*kernel.shape[2:]):
        if not kernel[(slice(None), slice(None)) + tap].any():   # e.g. the off-centre taps of a delta kernel
            continue
        shift = tuple(kernel.shape[2 + d] // 2 - t for d, t in enumerate(tap))
        out = out + np.einsum("oi,...i" + "xy"[:ndim] + "->...o" + "xy"[:ndim],
                              kernel[(slice(None), slice(None)) + tap], np.roll(x, shift, axis=axes))
    return out


def kernel_symbol(kernel, n: int) -> np.ndarray:
    r"""Fourier symbol of a circular convolution on ``n`` (or ``n`` × ``n``) positions:
    :math:`\hat K(\theta) = \sum_\beta K(\beta)\,e^{i\theta\beta}` at every frequency :math:`\theta = 2\pi j/n`.

    The convolution is block-diagonal in the Fourier basis, so its singular values are those of the
    :math:`c_{\rm out}\times c_{\rm in}` matrices :math:`\hat K(\theta)` taken together; it is orthogonal (norm-preserving)
    iff every :math:`\hat K(\theta)` has orthonormal columns (Xiao et al. 2018).

    Parameters
    ----------
    kernel : array_like
        ``(c_out, c_in, k)`` or ``(c_out, c_in, k, k)`` with odd :math:`k \le n`.
    n : int
        Spatial size.

    Returns
    -------
    numpy.ndarray
        Complex, ``(n, c_out, c_in)`` or ``(n, n, c_out, c_in)``.
    """
    kernel = v.as_float_array(kernel, "kernel")
    n = v.count(n, "n")
    ndim = kernel.ndim - 2
    if ndim not in (1, 2) or any(k % 2 == 0 or k > n for k in kernel.shape[2:]):
        raise ValueError(f"kernel must be (c_out, c_in, k[, k]) with odd k <= n = {n}, got {kernel.shape}")
    taps = np.zeros(kernel.shape[:2] + (n,) * ndim)
    for tap in np.ndindex(*kernel.shape[2:]):
        offset = tuple((t - kernel.shape[2 + d] // 2) % n for d, t in enumerate(tap))
        taps[(slice(None), slice(None)) + offset] += kernel[(slice(None), slice(None)) + tap]
    symbol = np.fft.ifftn(taps, axes=tuple(range(2, 2 + ndim))) * n ** ndim
    return np.moveaxis(symbol, (0, 1), (-2, -1))


@dataclass
class Propagation:
    r"""Statistics of a signal travelling through a deep random CNN, recorded at ``layers``.

    Attributes
    ----------
    layers : numpy.ndarray
        ``(T,)`` layer indices (0 = the input).
    q : numpy.ndarray
        ``(T, B)`` mean squared pre-activation of each input, :math:`q^l`.
    c : numpy.ndarray
        ``(T,)`` correlation :math:`c^l = \langle h^l_1, h^l_2\rangle / \sqrt{q^l_1 q^l_2}` of the first two inputs.
    log_gain : numpy.ndarray
        ``(T,)`` :math:`\log\lVert Jv\rVert / \lVert v\rVert` for a random tangent vector :math:`v` at the first
        input: the growth of a small perturbation, i.e. of back-propagated gradients (accumulated in log space, so
        10,000 layers neither overflow nor underflow).
    """

    layers: np.ndarray
    q: np.ndarray
    c: np.ndarray
    log_gain: np.ndarray


def _torch_circular_conv(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """:func:`circular_conv` in torch: ``x`` ``(B, c_in, n[, n])``, ``kernel`` ``(c_out, c_in, k[, k])``."""
    pad = [kernel.shape[-1] // 2] * (2 * (kernel.ndim - 2))
    conv = F.conv1d if kernel.ndim == 3 else F.conv2d
    return conv(F.pad(x, pad, mode="circular"), kernel)


def _layers(c: int, ndim: int, sigma_w2: float, sigma_b2: float, kernel: str, kernel_size: int, rng, device):
    """Endless random layers ``(kernel, bias)`` of a CNN, drawn with NumPy (the same on every device), as tensors."""
    sigma_b = float(np.sqrt(sigma_b2))
    while True:
        k = init.conv_kernel(kernel, c, c, sigma_w2, kernel_size, ndim, seed=rng)
        b = sigma_b * rng.standard_normal(c).reshape((c,) + (1,) * ndim)
        yield (torch.as_tensor(k, dtype=torch.float64, device=device),
               torch.as_tensor(b, dtype=torch.float64, device=device))


def signal_propagation(inputs, depth: int, sigma_w2: float, sigma_b2: float = 0.0, kernel: str = "delta_orthogonal",
                       activation: str = "tanh", kernel_size: int = 3, record_every: int = 1, seed=None,
                       progress: bool = False, device="cpu") -> Propagation:
    r"""Send inputs through a fresh random circular CNN of ``depth`` layers, drawing each layer's kernel on the fly.

    Every layer maps ``c`` channels to ``c`` with a ``kernel_size`` × ``kernel_size`` kernel (``kernel_size`` taps in
    1-D) from :func:`dlnlib.init.conv_kernel`: ``kernel="delta_orthogonal"``, ``"gaussian"`` (uniform variance profile) or
    ``"gaussian_delta"`` (Gaussian, all variance at the centre). Biases are :math:`\mathcal N(0, \sigma_b^2)`. Memory does not grow
    with depth. Kernels are drawn with NumPy from ``seed`` and the layers run in torch (float64) on ``device``.

    Parameters
    ----------
    inputs : array_like
        ``(B, c, n)`` or ``(B, c, n, n)`` with ``B >= 2`` (pre-activations :math:`h^0`).
    depth : int
        Number of layers.
    sigma_w2, sigma_b2 : float
    kernel : {"delta_orthogonal", "gaussian", "gaussian_delta"}
    activation : str
    kernel_size : int
        Odd kernel size; 1 on a single position is a fully-connected network of width ``c``.
    record_every : int
    seed : int, numpy.random.Generator or None
    progress : bool
        Print a line every 1000 layers (to stderr).
    device : str or torch.device

    Returns
    -------
    Propagation
    """
    h = v.as_float_array(inputs, "inputs")
    if h.ndim not in (3, 4) or h.shape[0] < 2 or h.size == 0 or (h.ndim == 4 and h.shape[2] != h.shape[3]):
        raise ValueError(f"inputs must be (B >= 2, c, n) or (B >= 2, c, n, n), got shape {h.shape}")
    depth = v.depth(depth)
    sigma_w2 = v.positive_scalar(sigma_w2, "sigma_w2")
    sigma_b2 = v.nonnegative_scalar(sigma_b2, "sigma_b2")
    kernel = v.choice(kernel, "kernel", init.KERNEL_KINDS)
    kernel_size = v.odd_count(kernel_size, "kernel_size")
    record_every = v.count(record_every, "record_every")
    progress = v.flag(progress, "progress")
    act = get_activation(activation)
    rng = v.generator(seed)
    c, ndim = h.shape[1], h.ndim - 2
    tangent = rng.standard_normal(h.shape[1:])
    tangent /= np.linalg.norm(tangent)
    dev = torch.device(device)
    h, tangent = (torch.as_tensor(a, dtype=torch.float64, device=dev) for a in (h, tangent))
    log_gain = torch.zeros((), dtype=torch.float64, device=dev)
    rec = {"layers": [], "q": [], "c": [], "log_gain": []}

    def record(layer):
        flat = h.reshape(h.shape[0], -1)
        q = torch.mean(flat ** 2, dim=1)
        if not bool(torch.all(torch.isfinite(q))):
            raise FloatingPointError(f"the signal overflowed float64 by layer {layer}: with sigma_w2 = "
                                     f"{sigma_w2:g} and {act.name}, q grows without bound at this depth")
        dot, scale = flat[0] @ flat[1], torch.sqrt(q[0] * q[1])
        if bool(torch.isfinite(dot)) and bool(torch.isfinite(scale)):
            c = dot / flat.shape[1] / scale
        else:                   # q beyond 1e154: the product overflows, so normalise each input first
            c = (flat[0] / torch.sqrt(q[0])) @ (flat[1] / torch.sqrt(q[1])) / flat.shape[1]
        rec["layers"].append(layer)
        rec["q"].append(q)
        rec["c"].append(c)          # NaN when an input is 0
        rec["log_gain"].append(log_gain.clone())

    record(0)
    layers = _layers(c, ndim, sigma_w2, sigma_b2, kernel, kernel_size, rng, dev)
    for layer in range(1, depth + 1):
        k, bias = next(layers)
        out = _torch_circular_conv(torch.cat([act.torch_phi(h), (torch_slope(act, h[0]) * tangent)[None]]), k)  # one pass
        h, tangent = out[:-1] + bias, out[-1]
        norm = torch.linalg.vector_norm(tangent)
        if bool(norm > 0):
            log_gain = log_gain + torch.log(norm)
            tangent = tangent / norm
        else:                    # every slope on the way was 0 (e.g. ReLU on negative input): no gradient gets back
            log_gain = torch.full_like(log_gain, -np.inf)
        if layer % record_every == 0 or layer == depth:
            record(layer)
        if progress and layer % 1000 == 0:
            print(f"layer {layer}/{depth}: q = {float(torch.mean(h ** 2)):.4g}, log gain = {float(log_gain):.4g}",
                  file=sys.stderr)
    as_array = lambda key: torch.stack(rec[key]).cpu().numpy()  # noqa: E731
    return Propagation(layers=np.array(rec["layers"]), q=as_array("q"), c=as_array("c"), log_gain=as_array("log_gain"))


def conv_operator(kernel, n: int) -> torch.Tensor:
    r"""The matrix of a circular convolution on ``n`` (or ``n`` × ``n``) positions, ``(c_out n^d, c_in n^d)``.

    Entry :math:`((o, \alpha), (i, \alpha'))` is :math:`K_{oi}(\alpha' - \alpha)` (torch's cross-correlation
    convention, as :func:`circular_conv`), rows and columns ordered channel-major like ``x.reshape(-1)``; its singular
    values are those of the symbols :func:`kernel_symbol`.

    Parameters
    ----------
    kernel : array_like or torch.Tensor
        ``(c_out, c_in, k[, k])`` with odd :math:`k \le n`; a tensor keeps its device (float64).
    n : int

    Returns
    -------
    torch.Tensor
        float64, on the kernel's device.
    """
    n = v.count(n, "n")
    k = kernel if torch.is_tensor(kernel) else torch.as_tensor(v.as_float_array(kernel, "kernel"))
    k = k.to(torch.float64)
    ndim = k.ndim - 2
    if ndim not in (1, 2) or any(s % 2 == 0 or s > n for s in k.shape[2:]):
        raise ValueError(f"kernel must be (c_out, c_in, k[, k]) with odd k <= n = {n}, got {tuple(k.shape)}")
    size = k.shape[1] * n ** ndim
    basis = torch.eye(size, dtype=torch.float64, device=k.device).reshape((size, k.shape[1]) + (n,) * ndim)
    return _torch_circular_conv(basis, k).reshape(size, -1).T


def cnn_jacobian_factors(inputs, depth: int, sigma_w2: float, sigma_b2: float = 0.0, kernel: str = "delta_orthogonal",
                         activation: str = "tanh", kernel_size: int = 3, seed=None, device="cpu"):
    r"""Yield the factors :math:`K_l\,\operatorname{diag}\phi'(h^{l-1})` of the input-output Jacobian of a random
    circular CNN at one input, as dense matrices (torch, float64, on ``device``), one layer at a time.

    The network and its random layers are those of :func:`signal_propagation` with the same ``seed``;
    :math:`K_l` is the layer's :func:`conv_operator`. Accumulate them with
    :func:`dlnlib.spectra.product_log_singular_values` for the singular values of
    :math:`J = \partial h^D/\partial h^0 = \prod_l K_l\,\operatorname{diag}\phi'(h^{l-1})` (Xiao et al. 2018).

    Parameters
    ----------
    inputs : array_like
        ``(c, n)`` or ``(c, n, n)``: one input :math:`h^0`.
    depth, sigma_w2, sigma_b2, kernel, activation, kernel_size, seed, device
        As in :func:`signal_propagation`.

    Yields
    ------
    torch.Tensor
        ``(c n^d, c n^d)``.
    """
    h = v.as_float_array(inputs, "inputs")
    if h.ndim not in (2, 3):
        raise ValueError(f"inputs must be one input (c, n) or (c, n, n), got shape {h.shape}")
    depth = v.depth(depth)
    sigma_w2 = v.positive_scalar(sigma_w2, "sigma_w2")
    sigma_b2 = v.nonnegative_scalar(sigma_b2, "sigma_b2")
    kernel = v.choice(kernel, "kernel", init.KERNEL_KINDS)
    act = get_activation(activation)
    rng = v.generator(seed)
    c, ndim = h.shape[0], h.ndim - 1
    dev = v.device(device)
    h = torch.as_tensor(h, dtype=torch.float64, device=dev)
    layers = _layers(c, ndim, sigma_w2, sigma_b2, kernel, kernel_size, rng, dev)
    for _ in range(depth):
        k, bias = next(layers)
        yield conv_operator(k, h.shape[-1]) * torch_slope(act, h).reshape(-1)
        h = _torch_circular_conv(act.torch_phi(h)[None], k)[0] + bias


def mean_variance_profile(inputs, depth: int, profile, sigma_w2: float = 1.0, activation: str = "linear",
                          n_draws: int = 100, seed=None) -> np.ndarray:
    r"""Spatial profile of the variance, :math:`q^l_\alpha = \mathbb E\,\frac1c\sum_i (h^l_{i\alpha})^2`, averaged over
    random Gaussian kernels with variance profile :math:`v_\beta` (1-D, no bias).

    Mean-field theory predicts :math:`q^{l+1}_\alpha = \sigma_w^2\sum_\beta v_\beta\,\mathbb E\phi(h^l_{\alpha+\beta})^2`,
    so for a linear network each spatial Fourier mode :math:`j` of :math:`q^l` is multiplied by
    :math:`\sigma_w^2\lambda_j` per layer (:func:`dlnlib.meanfield.cnn_mode_eigenvalues`; Xiao et al. 2018).

    Parameters
    ----------
    inputs : array_like
        ``(c, n)`` input :math:`h^0`.
    depth : int
        Number of layers.
    profile : array_like
        ``(k,)`` variance profile, odd :math:`k`, summing to 1.
    sigma_w2 : float
    activation : str
    n_draws : int
        Number of independent networks averaged.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    numpy.ndarray
        ``(depth + 1, n)``: row :math:`l` is :math:`q^l_\alpha`.
    """
    x = v.as_float_array(inputs, "inputs")
    if x.ndim != 2 or x.size == 0:
        raise ValueError(f"inputs must be (c, n), got shape {x.shape}")
    depth = v.depth(depth)
    n_draws = v.count(n_draws, "n_draws")
    profile = v.variance_profile(profile, ndims=(1,))
    sigma_w2 = v.positive_scalar(sigma_w2, "sigma_w2")
    act = get_activation(activation)
    rng = v.generator(seed)
    c = x.shape[0]
    h = np.broadcast_to(x, (n_draws,) + x.shape)
    profiles = [np.mean(h ** 2, axis=(0, 1))]
    for _ in range(depth):
        kernels = [init.gaussian_kernel(c, c, profile, sigma_w2, seed=rng) for _ in range(n_draws)]
        h = np.stack([_circular_conv(act.phi(h[d]), kernels[d]) for d in range(n_draws)])
        profiles.append(np.mean(h ** 2, axis=(0, 1)))
        if not np.all(np.isfinite(profiles[-1])):
            raise FloatingPointError(f"the variance overflowed float64 by layer {len(profiles) - 1}: with sigma_w2 = "
                                     f"{sigma_w2:g} it grows without bound at this depth")
    return np.array(profiles)
