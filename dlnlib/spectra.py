r"""Spectra of products of random matrices, and the free-probability laws they follow.

The end-to-end map of a deep linear network at initialisation is a product of :math:`L` random matrices,
:math:`W_{\rm tot} = W_L\cdots W_1` (Saxe et al. 2014, Eq. 19). With random orthogonal factors it is orthogonal:
every singular value is exactly 1. With i.i.d. Gaussian factors of variance :math:`1/N`, as :math:`N\to\infty` its
squared singular values follow the **Fuss–Catalan** law with parameter :math:`L` (Penson & Życzkowski 2011): mean 1,
but most singular values vanish and a few grow large, and the eigenvalues crowd the origin with
:math:`P(|\lambda| < r) = r^{2/L}` (Burda, Janik & Waclaw 2010).

Those singular values span hundreds of decades, far more than a float64 SVD of the product resolves:
:func:`product_log_singular_values` computes their logarithms without forming the product (graded QR, in torch, on
any device, batched over realisations), and :func:`gaussian_product_lyapunov_exponents` gives the exact law of the
log-spectrum's growth for Gaussian factors (the mean of :math:`\ln\sigma^2` in closed form at any :math:`N, L`).

A nonlinear network's input-output Jacobian is such a product with a diagonal factor of slopes between the weights,
:math:`J = \prod_l W_l D_{l-1}`, :math:`D = \operatorname{diag}\phi'(h)`. Free probability predicts its moments
(Pennington, Schoenholz & Ganguli 2017): :func:`jacobian_spectrum_moments` against the sampled
:func:`jacobian_singular_values`.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import integrate
from scipy.special import comb, digamma, polygamma

from . import _validation as v
from .activations import get as get_activation, torch_slope
from . import init
from .init import random_orthogonal
from .meanfield import fixed_point_variance, slope_moment

__all__ = ["random_product", "random_factors", "product_log_singular_values", "fuss_catalan_moment",
           "fuss_catalan_edge", "fuss_catalan_density", "fuss_catalan_log_sigma_density", "fuss_catalan_fraction_below",
           "gaussian_product_moments", "gaussian_product_lyapunov_exponents", "gaussian_product_mean_log_sigma2",
           "gaussian_product_log_sigma_density", "product_eigenvalue_fraction_within",
           "product_eigenvalue_fraction_in_box", "network_jacobian", "jacobian_factors", "layer_variances", "jacobian_singular_values",
           "jacobian_log_singular_values",
           "jacobian_spectrum_moments", "normalized_variance", "summarize"]

KINDS = ("gaussian", "orthogonal")


def random_product(n: int, n_factors: int, kind: str = "gaussian", seed=None) -> np.ndarray:
    r"""Product :math:`W_L\cdots W_1` of ``n_factors`` independent ``n`` × ``n`` random matrices.

    Parameters
    ----------
    n : int
        Matrix size :math:`N`.
    n_factors : int
        Number of factors :math:`L` (a network with :math:`L` weight matrices, the paper's :math:`N_l = L + 1`).
    kind : {"gaussian", "orthogonal"}
        ``"gaussian"``: entries :math:`\mathcal N(0, 1/N)` (the scaled Gaussian initialisation);
        ``"orthogonal"``: Haar-random orthogonal factors.
    seed : int, numpy.random.Generator or None
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` float64.
    """
    n = v.count(n, "n")
    n_factors = v.count(n_factors, "n_factors")
    kind = v.choice(kind, "kind", KINDS)
    rng = v.generator(seed)
    product = np.eye(n)
    for _ in range(n_factors):
        factor = (rng.standard_normal((n, n)) / np.sqrt(n) if kind == "gaussian"
                  else random_orthogonal(n, seed=rng))
        product = factor @ product
    return product


def _torch_generator(device, seed) -> torch.Generator:
    """A torch generator on ``device``, seeded with the integer ``seed`` (fresh entropy if None)."""
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return gen


def _torch_device(device):
    """``torch.device`` for ``device``, with a clear error where CUDA is asked for but absent."""
    return v.device(device)


def random_factors(n: int, n_factors: int, n_realisations: int | None = None, kind: str = "gaussian", seed=None,
                   device="cpu"):
    r"""Yield ``n_factors`` independent random ``n`` × ``n`` matrices :math:`W_1, W_2, \dots` as torch tensors.

    The factors of :func:`random_product`, made one at a time on ``device`` (so that a product of 99 factors of size
    1,000 for 500 realisations never has to be held in memory), for :func:`product_log_singular_values`.

    Parameters
    ----------
    n, n_factors : int
        Matrix size :math:`N` and number of factors :math:`L`.
    n_realisations : int or None
        Number of independent products, a leading axis of every factor (``None``: none).
    kind : {"gaussian", "orthogonal"}
        Entries :math:`\mathcal N(0, 1/N)`, or Haar-random orthogonal factors (QR of a Gaussian matrix with the signs
        of :math:`R`'s diagonal moved into :math:`Q`).
    seed : int or None
        Seed of a ``torch.Generator`` on ``device`` (the stream differs between a CPU and a GPU).
    device : str or torch.device

    Yields
    ------
    torch.Tensor
        ``(n_realisations, n, n)`` or ``(n, n)``, float64.
    """
    n = v.count(n, "n")
    n_factors = v.count(n_factors, "n_factors")
    lead = () if n_realisations is None else (v.count(n_realisations, "n_realisations"),)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    seed = v.seed(seed)
    dev = _torch_device(device)
    gen = _torch_generator(dev, seed)
    for _ in range(n_factors):
        g = torch.randn(lead + (n, n), generator=gen, dtype=torch.float64, device=dev)
        if kind == "gaussian":
            yield g / np.sqrt(n)
        else:
            q, r = torch.linalg.qr(g)
            yield q * torch.sgn(torch.diagonal(r, dim1=-2, dim2=-1))[..., None, :]


def _graded(r: torch.Tensor, log_d: torch.Tensor):
    r"""Write :math:`R\,\mathrm{diag}(e^{\ell})` as :math:`\mathrm{diag}(e^{\ell'})\,G` with :math:`|G_{ii}| = 1`.

    ``log_d`` must be sorted in decreasing order, so that every entry :math:`G_{ij} = R_{ij}\,e^{\ell_j - \ell_i} /
    |R_{ii}|` above the diagonal is scaled down: the scales stay in :math:`\ell`, never in a floating-point product.
    """
    diag = torch.diagonal(r, dim1=-2, dim2=-1).abs()
    scale = torch.exp(torch.clamp(log_d[..., None, :] - log_d[..., :, None], max=0.0))
    return log_d + torch.log(diag), torch.triu(r / diag[..., :, None]) * scale


def _pivoted(log_d: torch.Tensor):
    """Order that sorts ``log_d`` in decreasing order (the column pivoting of the graded QR)."""
    order = torch.argsort(log_d, dim=-1, descending=True, stable=True)
    return order, torch.gather(log_d, -1, order)


def _window_log_singular_values(log_d: torch.Tensor, g: torch.Tensor, margin: float, core: float) -> torch.Tensor:
    r"""Log singular values of :math:`\mathrm{diag}(e^{\ell})\,G` (``log_d`` nearly sorted, ``G`` upper triangular with
    off-diagonal entries that fall off with the gap in :math:`\ell`), from the SVD of overlapping diagonal blocks.

    The indices are cut into cores spanning at most ``core`` in :math:`\ell`; each core is taken with the indices within
    ``margin`` above and below it, scaled by the window's largest :math:`e^{\ell}` and passed to a standard SVD, whose
    absolute error :math:`\epsilon` is then a relative error of at most :math:`\epsilon\,e^{\text{margin} + \text{core}}`
    for the core's values. Windows are the same for every realisation (the widest any of them needs), so each is one
    batched SVD.
    """
    n = log_d.shape[-1]
    ell = log_d.reshape(-1, n)
    mat = g.reshape(-1, n, n)
    out = torch.empty_like(ell)
    a = 0
    while a < n:
        inside = (ell[:, a:a + 1] - ell[:, a:] <= core).all(0)
        b = a + 1 + int(torch.argmin(inside[1:].int()).item()) if not bool(inside[1:].all()) else n
        below = (ell[:, b - 1:b] - ell[:, b:] <= margin).any(0)
        hi = b + (int(below.nonzero().max().item()) + 1 if bool(below.any()) else 0)
        above = (ell[:, :a] - ell[:, a:a + 1] <= margin).any(0)
        lo = int(above.nonzero().min().item()) if bool(above.any()) else a
        if hi - lo == 1:
            out[:, a] = ell[:, a]
        else:
            top = ell[:, lo:lo + 1]
            block = torch.exp(ell[:, lo:hi] - top)[:, :, None] * mat[:, lo:hi, lo:hi]
            out[:, a:b] = torch.log(torch.linalg.svdvals(block)[:, a - lo:b - lo]) + top
        a = b
    return out.reshape(log_d.shape)


_WINDOW_MARGIN, _WINDOW_CORE = np.log(1e3), np.log(10.0)


def _graded_qr_step(block, q, log_d, y):
    """One step of the graded QR accumulation: absorb ``block`` (the next factor or product of factors)."""
    if q is None:
        a = block
        log_d = torch.zeros(block.shape[:-1], dtype=block.dtype, device=block.device)
    else:
        order, log_d = _pivoted(log_d)
        a = torch.gather(block @ q, -1, order[..., None, :].expand(block.shape))
        y = torch.gather(y, -2, order[..., :, None].expand(y.shape))
    q, r = torch.linalg.qr(a)
    log_d, g = _graded(r, log_d)
    return q, log_d, g if y is None else g @ y


def product_log_singular_values(factors, qr_every: int = 1, refinements: int = 3, device=None,
                                return_diagonal: bool = False, return_product: bool = False):
    r"""Logarithms of the singular values of a long product :math:`W_L\cdots W_1`, far below float64's precision.

    A product of :math:`L` random matrices has singular values that span hundreds of decades (for 99 Gaussian
    factors of size 400, from :math:`10^{1}` down to about :math:`10^{-170}`). A float64 SVD of the product resolves only
    those within about :math:`10^{-16}` of the largest; everything below piles up at round-off. This function never
    forms the product. It accumulates a graded QR decomposition (Stewart 1995)

    .. math:: W_k\cdots W_1 = Q_k\,\mathrm{diag}(e^{\ell^{(k)}})\,Y_k, \qquad
              W_{k+1}Q_k\Pi = Q_{k+1}R, \qquad \ell^{(k+1)} = \Pi^T\ell^{(k)} + \ln|\mathrm{diag}\,R|,

    keeping the scales :math:`\ell` (the logs of the graded diagonal) apart from the well-conditioned :math:`Y_k`
    (the permutation :math:`\Pi` sorts :math:`\ell`: column pivoting). The diagonal :math:`\ell` alone is the classic
    estimate of the finite-time Lyapunov spectrum (Benettin et al. 1980); it tends to :math:`L` times the Lyapunov
    exponents, but at finite :math:`L` it differs from the :math:`\ln\sigma_i` by :math:`O(1)`. The singular values
    themselves come from :math:`\mathrm{diag}(e^{\ell})Y`: ``refinements`` steps of graded QR on its transpose (each
    multiplies every off-diagonal coupling by the ratio :math:`e^{\ell_j - \ell_i}` of the scales it links, as in
    the unshifted QR algorithm), then standard SVDs of overlapping diagonal blocks that each span a modest range of
    scales (``_window_log_singular_values``).

    Accuracy (``tests/test_spectra.py``): against 200-digit arithmetic for 80 Gaussian factors of size 16, products
    with known singular values down to :math:`10^{-200}`, and direct SVDs of short well-conditioned products, the
    error in :math:`\ln\sigma` is below :math:`10^{-9}` with ``qr_every=1``. Multiplying ``qr_every`` factors between
    QR steps is faster but loses a relative :math:`\epsilon\,\kappa` per block, :math:`\kappa` the block's condition
    number (about :math:`10^{-9}` in :math:`\ln\sigma` for ``qr_every=2`` with Gaussian factors of size 400). The sum
    :math:`\sum_i\ln\sigma_i = \ln|\det W_L\cdots W_1|` holds to round-off whatever the settings.

    Parameters
    ----------
    factors : iterable of array_like or torch.Tensor
        :math:`W_1, W_2, \dots, W_L` in the order they act (``W_1`` first), square and nonsingular, all of shape
        ``(..., n, n)``; a leading axis batches independent products. A generator (:func:`random_factors`) is consumed
        one factor at a time.
    qr_every : int
        Multiply this many factors together between QR steps (1: a QR step after every factor).
    refinements : int
        Graded QR steps on the accumulated triangle before the block SVDs (>= 2; 3 reaches round-off in the tests).
    device : str, torch.device or None
        Where to compute; ``None``: the device of the first factor if it is a tensor, else the CPU.
    return_diagonal : bool
        Also return the accumulated diagonal :math:`\ell` (sorted), the finite-time Lyapunov estimate.
    return_product : bool
        Also return the product itself in float64, :math:`Q\,\mathrm{diag}(e^{\ell})\,Y` (as accurate as a direct
        multiplication, and as blind to the small singular values: for its eigenvalues, say).

    Returns
    -------
    log_sv : numpy.ndarray
        ``(..., n)`` :math:`\ln\sigma_1 \ge \dots \ge \ln\sigma_n` (natural logarithms), float64; followed by
        the diagonal ``(..., n)`` and the product ``(..., n, n)`` when asked for, in that order.

    References
    ----------
    G. W. Stewart, "On graded QR decompositions of products of matrices", Electron. Trans. Numer. Anal. 3, 39–49 (1995).
    """
    qr_every = v.count(qr_every, "qr_every")
    refinements = v.count(refinements, "refinements", minimum=2)
    return_diagonal, return_product = v.flag(return_diagonal, "return_diagonal"), v.flag(return_product, "return_product")
    try:
        iterator = iter(factors)
    except TypeError:
        raise TypeError(f"factors must be an iterable of square matrices, got {type(factors).__name__}") from None
    q = log_d = y = block = None
    shape, count, n_seen = None, 0, 0
    for w in iterator:
        if device is None:
            device = w.device if torch.is_tensor(w) else "cpu"
        w = torch.as_tensor(w if torch.is_tensor(w) else v.as_float_array(w, f"factors[{n_seen}]"), dtype=torch.float64,
                            device=_torch_device(device))
        if shape is None:
            shape = tuple(w.shape)
            if w.ndim < 2 or shape[-1] != shape[-2]:
                raise ValueError(f"factors must be square matrices (..., n, n), got shape {shape}")
        elif tuple(w.shape) != shape:
            raise ValueError(f"every factor must have shape {shape}, got {tuple(w.shape)} for factors[{n_seen}]")
        n_seen += 1
        block = w if block is None else w @ block
        count += 1
        if count < qr_every:
            continue
        q, log_d, y = _graded_qr_step(block, q, log_d, y)
        block, count = None, 0
    if n_seen == 0:
        raise ValueError("factors must hold at least one matrix")
    if block is not None:
        q, log_d, y = _graded_qr_step(block, q, log_d, y)
    extras = [torch.sort(log_d, dim=-1, descending=True).values] if return_diagonal else []
    if return_product:
        extras.append(q @ (torch.exp(log_d)[..., :, None] * y))
    for _ in range(refinements):
        order, log_d = _pivoted(log_d)
        rows = torch.gather(y, -2, order[..., :, None].expand(y.shape))
        log_d, y = _graded(torch.linalg.qr(rows.mT, mode="r")[1], log_d)
    if not bool(torch.isfinite(log_d).all()):     # checked once, here: tensor factors are not read back one by one
        raise ValueError("factors must be finite and nonsingular: their product is singular or not finite (a factor "
                         "has a zero singular value or non-finite entries)")
    log_sv = torch.sort(_window_log_singular_values(log_d, y, _WINDOW_MARGIN, _WINDOW_CORE), dim=-1,
                        descending=True).values.cpu().numpy()
    return tuple([log_sv] + [x.cpu().numpy() for x in extras]) if extras else log_sv


def fuss_catalan_moment(k, n_factors: int) -> np.ndarray:
    r"""Moments of the Fuss–Catalan law: :math:`\mathbb E[\sigma^{2k}] = \frac{1}{Lk+1}\binom{(L+1)k}{k}`.

    The limit, as :math:`N\to\infty`, of :math:`\frac1N\operatorname{tr}(W_{\rm tot}^TW_{\rm tot})^k` for a product
    of :math:`L` Gaussian matrices with variance :math:`1/N`. :math:`k = 1` gives 1 (norms are preserved on
    average) and :math:`k = 2` gives :math:`L + 1` (the spread grows with depth).

    Parameters
    ----------
    k : int or array_like of int
        Moment order(s) >= 0.
    n_factors : int
        Number of factors :math:`L \ge 1`.
    """
    n_factors = v.count(n_factors, "n_factors")
    k = v.integer_array(k, "k", minimum=0)
    return comb((n_factors + 1) * k, k, exact=False) / (n_factors * k + 1)


def fuss_catalan_edge(n_factors: int) -> float:
    r"""Upper edge of the Fuss–Catalan support, :math:`\sigma^2_{\max} = (L+1)^{L+1}/L^L` (4 for :math:`L = 1`)."""
    n_factors = v.count(n_factors, "n_factors")
    return float(np.exp((n_factors + 1) * np.log(n_factors + 1) - n_factors * np.log(n_factors)))


def fuss_catalan_density(n_factors: int, n_points: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    r"""Density of the Fuss–Catalan law of :math:`x = \sigma^2`, on a grid, through its exact parametrisation.

    For :math:`\varphi \in (0, \pi/(L+1))`,

    .. math:: x(\varphi) = \frac{\sin^{L+1}((L+1)\varphi)}{\sin\varphi\,\sin^L(L\varphi)}, \qquad
              p(x(\varphi)) = \frac{1}{\pi}\,\frac{\sin^2\varphi\,\sin^{L-1}(L\varphi)}{\sin^L((L+1)\varphi)}

    (Haagerup & Möller 2012; Neuschel 2014). :math:`L = 1` is the Marchenko–Pastur law
    :math:`\frac{1}{2\pi}\sqrt{(4-x)/x}`.

    Parameters
    ----------
    n_factors : int
        Number of factors :math:`L \ge 1`.
    n_points : int
        Number of grid points (for very large :math:`L` the few at the lower end where :math:`x < 10^{-308}`, beyond
        double precision, are left out).

    Returns
    -------
    x, density : numpy.ndarray
        Increasing :math:`x` in :math:`(0, (L+1)^{L+1}/L^L)` and :math:`p(x)` there (it integrates to 1).
    """
    n_factors = v.count(n_factors, "n_factors")
    n_points = v.count(n_points, "n_points", minimum=3)
    L = n_factors
    phi = np.linspace(0.0, np.pi / (L + 1), n_points + 2)[1:-1]
    log_s1, log_sl, log_sl1 = (np.log(np.sin(a * phi)) for a in (1, L, L + 1))   # logs: sin^L over/underflows
    log_x = (L + 1) * log_sl1 - log_s1 - L * log_sl
    log_density = 2 * log_s1 + (L - 1) * log_sl - L * log_sl1 - np.log(np.pi)
    # For large L the grid's last points reach x below 1e-308, where p exceeds 1e308: leave those out.
    keep = (log_x > np.log(np.finfo(float).tiny)) & (log_density < np.log(np.finfo(float).max))
    return np.exp(log_x[keep])[::-1], np.exp(log_density[keep])[::-1]


def fuss_catalan_log_sigma_density(n_factors: int, n_points: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    r"""Density of :math:`\ln\sigma` when :math:`x = \sigma^2` follows the Fuss–Catalan law, at any scale.

    With the parametrisation of :func:`fuss_catalan_density`, :math:`p(\ln\sigma) = 2x\,p(x)` simplifies to

    .. math:: p(\ln\sigma) = \frac{2}{\pi}\,\frac{\sin((L+1)\varphi)\,\sin\varphi}{\sin(L\varphi)}, \qquad
              \ln\sigma = \tfrac12\big[(L+1)\ln\sin((L+1)\varphi) - \ln\sin\varphi - L\ln\sin(L\varphi)\big],

    evaluated in logarithms, so that the lower tail (:math:`\ln\sigma \to -\infty` as :math:`\varphi \to \pi/(L+1)`,
    far below float64's smallest number for large :math:`L`) is resolved: the grid in :math:`\varphi` is refined
    geometrically towards that end. Its mean is :math:`\mathbb E\ln\sigma = -L/2`.

    Returns
    -------
    log_sigma, density : numpy.ndarray
        Increasing :math:`\ln\sigma` (from about :math:`-13(L+1)` to :math:`\tfrac12\ln x_{\max}`) and the density
        there (it integrates to 1).
    """
    n_factors = v.count(n_factors, "n_factors")
    n_points = v.count(n_points, "n_points", minimum=3)
    L = n_factors
    u = np.unique(np.concatenate([np.linspace(0.0, 1.0, n_points + 2)[1:-1], 1.0 - np.geomspace(1e-12, 0.5, n_points)]))
    phi = np.pi / (L + 1) * u
    ls1, lsl, lsl1 = np.log(np.sin(phi)), np.log(np.sin(L * phi)), np.log(np.sin((L + 1) * phi))
    log_sigma = 0.5 * ((L + 1) * lsl1 - ls1 - L * lsl)
    density = 2.0 / np.pi * np.exp(lsl1 + ls1 - lsl)
    return log_sigma[::-1], density[::-1]


def fuss_catalan_fraction_below(sigma, n_factors: int) -> float:
    r"""Fraction of singular values below ``sigma`` under the Fuss–Catalan law (:math:`P(\sigma_i < \sigma)`).

    One minus the integral of :func:`fuss_catalan_log_sigma_density` above :math:`\ln\sigma` (the upper part is the
    well-resolved one), to about :math:`10^{-5}`.
    """
    sigma = v.positive_scalar(sigma, "sigma")
    log_sigma, density = fuss_catalan_log_sigma_density(n_factors, n_points=20000)
    above = log_sigma >= np.log(sigma)
    return float(np.clip(1.0 - integrate.trapezoid(density[above], log_sigma[above]), 0.0, 1.0))


def gaussian_product_moments(n: int, n_factors: int) -> tuple[float, float]:
    r"""Exact finite-:math:`N` mean of :math:`\langle\sigma^4\rangle`, and standard deviation of :math:`\langle\sigma^2\rangle`.

    Here :math:`\langle\sigma^{2k}\rangle = \frac1N\operatorname{tr}(W_{\rm tot}^TW_{\rm tot})^k` for one product of
    :math:`L` real Gaussian factors with variance :math:`1/N` (:math:`\mathbb E\langle\sigma^2\rangle = 1` exactly).
    Multiplying :math:`B = W W^T` by one more factor, :math:`B' = GBG^T`, Wick's theorem gives, with
    :math:`x = \frac1N\operatorname{tr}B^2` and :math:`y = \frac{1}{N^2}(\operatorname{tr}B)^2 = \langle\sigma^2\rangle^2`,

    .. math:: \mathbb E\,x' = (1 + 1/N)\,x + y, \qquad \mathbb E\,y' = y + 2x/N^2,

    starting from :math:`x = y = 1`; then :math:`\mathbb E\langle\sigma^4\rangle = \mathbb E x` and
    :math:`\operatorname{Var}\langle\sigma^2\rangle = \mathbb E y - 1`. As :math:`N\to\infty` the first tends to the
    Fuss–Catalan value :math:`L + 1`; at :math:`N = 400`, :math:`L = 99` it is 115.7, a 16 % finite-size excess.

    Returns
    -------
    mean_sigma4, sd_sigma2 : float
    """
    n = v.count(n, "n")
    n_factors = v.count(n_factors, "n_factors")
    x = y = 1.0
    for _ in range(n_factors):
        x, y = (1 + 1 / n) * x + y, y + 2 * x / n ** 2
    return x, float(np.sqrt(y - 1.0))


def gaussian_product_lyapunov_exponents(n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Lyapunov exponents of products of ``n`` × ``n`` Gaussian matrices (entries :math:`\mathcal N(0, 1/N)`).

    By rotation invariance :math:`W_{k+1}Q_k` is again a Gaussian matrix, independent of the past, so the
    :math:`R` factors of the QR accumulation are independent Bartlett matrices: :math:`R_{ii}^2 \sim
    \chi^2_{N-i+1}/N`. The :math:`i`-th log-diagonal thus grows by independent increments
    :math:`\tfrac12\ln(\chi^2_{N-i+1}/N)`, with mean and variance

    .. math:: \mu_i = \tfrac12\Big[\psi\big(\tfrac{N-i+1}{2}\big) + \ln\tfrac{2}{N}\Big], \qquad
              v_i = \tfrac14\,\psi'\big(\tfrac{N-i+1}{2}\big)

    (:math:`\psi` the digamma function; Newman 1986, Forrester 2013). After :math:`L` factors
    :math:`\ln\sigma_i \approx L\mu_i` with spread :math:`\sqrt{Lv_i}`, exactly so as :math:`L\to\infty`.
    :math:`\mu_1` is also the growth rate of one vector, :math:`\lVert Wx\rVert^2/\lVert x\rVert^2 \sim \chi^2_N/N`.

    Returns
    -------
    mu, var : numpy.ndarray
        ``(n,)`` exponents :math:`\mu_1 > \dots > \mu_N` and variances per factor :math:`v_i`.
    """
    n = v.count(n, "n")
    k = (n - np.arange(n)) / 2.0
    return 0.5 * (digamma(k) + np.log(2.0 / n)), 0.25 * polygamma(1, k)


def gaussian_product_mean_log_sigma2(n: int, n_factors: int) -> tuple[float, float]:
    r"""Exact mean and standard deviation of :math:`\langle\ln\sigma^2\rangle = \frac1N\sum_i\ln\sigma_i^2`, one product.

    For :math:`L` Gaussian factors of size :math:`N` with variance :math:`1/N`,
    :math:`\sum_i\ln\sigma_i^2 = 2\sum_k\ln|\det W_k|` and each :math:`\ln|\det W_k|` is a sum of independent
    :math:`\tfrac12\ln(\chi^2_{j}/N)`, :math:`j = 1..N` (:func:`gaussian_product_lyapunov_exponents`), so at any
    finite :math:`N` and :math:`L`

    .. math:: \mathbb E\,\langle\ln\sigma^2\rangle = \frac{L}{N}\sum_{j=1}^{N}\Big[\psi\big(\tfrac j2\big)
              + \ln\tfrac2N\Big], \qquad \operatorname{Var}\langle\ln\sigma^2\rangle = \frac{L}{N^2}
              \sum_{j=1}^{N}\psi'\big(\tfrac j2\big).

    As :math:`N\to\infty` the mean tends to :math:`-L` (the mean of :math:`\ln x` under the Fuss–Catalan law): the
    arithmetic mean of :math:`\sigma^2` is 1, its geometric mean :math:`e^{-L}`.
    """
    n = v.count(n, "n")
    n_factors = v.count(n_factors, "n_factors")
    mu, var = gaussian_product_lyapunov_exponents(n)
    return float(2 * n_factors * mu.mean()), float(2 * np.sqrt(n_factors * var.sum()) / n)


def gaussian_product_log_sigma_density(log_sigma, n: int, n_factors: int) -> np.ndarray:
    r"""Density of :math:`\ln\sigma` for a product of :math:`L` Gaussian matrices, from its Lyapunov spectrum.

    The mixture :math:`\frac1N\sum_i\mathcal N(\ln\sigma;\,L\mu_i,\,Lv_i)` of
    :func:`gaussian_product_lyapunov_exponents`: the law of the accumulated QR diagonal (a sum of :math:`L`
    independent log-:math:`\chi` terms, here taken Gaussian), and the law of the singular values themselves as
    :math:`L\to\infty`. At finite :math:`L` each :math:`\ln\sigma_i` differs from its diagonal by :math:`O(1)`, small
    against the :math:`O(L)` range of the spectrum when :math:`L` is large.

    Parameters
    ----------
    log_sigma : array_like
        Points (natural logarithm of :math:`\sigma`).
    n, n_factors : int
    """
    log_sigma = v.as_float_array(log_sigma, "log_sigma")
    mu, var = gaussian_product_lyapunov_exponents(n)
    n_factors = v.count(n_factors, "n_factors")
    z = (log_sigma[..., None] - n_factors * mu) / np.sqrt(n_factors * var)
    return np.mean(np.exp(-0.5 * z ** 2) / np.sqrt(2 * np.pi * n_factors * var), axis=-1)


def product_eigenvalue_fraction_within(r, n_factors: int) -> np.ndarray:
    r"""Fraction of the eigenvalues of a product of :math:`L` Ginibre matrices within radius ``r``: :math:`r^{2/L}`.

    The large-:math:`N` law for entries of variance :math:`1/N` (Burda, Janik & Waclaw 2010); the fraction is 1 for
    :math:`r \ge 1`. For :math:`L = 99` a disk of radius 0.0564 (the area of a 0.1 × 0.1 box) already holds 94 %.
    """
    n_factors = v.count(n_factors, "n_factors")
    r = v.as_float_array(r, "r")
    if np.any(r < 0):
        raise ValueError("r must be >= 0")
    return np.minimum(r, 1.0) ** (2.0 / n_factors)


def product_eigenvalue_fraction_in_box(half_width: float, n_factors: int) -> float:
    r"""Fraction of the eigenvalues of a product of :math:`L` Ginibre matrices in the square
    :math:`|\mathrm{Re}\,\lambda|, |\mathrm{Im}\,\lambda| < h` (the paper's Fig. 6C counts the box with :math:`h = 0.05`).

    The large-:math:`N` law is rotation invariant with :math:`P(|\lambda| < r) = \min(r, 1)^{2/L}`
    (:func:`product_eigenvalue_fraction_within`), so, the box's edge lying at :math:`r = h/\cos\theta`,

    .. math:: P(\text{box}) = \frac{4}{\pi}\int_0^{\pi/4} \min\!\Big(\frac{h}{\cos\theta}, 1\Big)^{2/L} d\theta .

    For :math:`h = 0.05` it gives 31.6 % for :math:`L = 5` and 94.3 % for :math:`L = 99`, within 0.1 point of a disk
    of the same area.
    """
    half_width = v.positive_scalar(half_width, "half_width")
    n_factors = v.count(n_factors, "n_factors")
    value, _ = integrate.quad(lambda th: min(half_width / np.cos(th), 1.0) ** (2.0 / n_factors), 0.0, np.pi / 4)
    return float(4.0 / np.pi * value)


def network_jacobian(weights, biases, h0, activation: str = "tanh") -> tuple[np.ndarray, np.ndarray]:
    r"""Input-output Jacobian of a deep network at one input, and the variance of every layer.

    The network is :math:`h^l = W_l\,\phi(h^{l-1}) + b_l`, :math:`l = 1..D`, and its Jacobian is

    .. math:: J = \frac{\partial h^D}{\partial h^0} = \prod_{l=D}^{1} W_l\,\operatorname{diag}\phi'(h^{l-1}),

    Saxe et al. (2014), Eq. 22 (:math:`x^1 = h^0`, gain :math:`g = \sigma_w`, :math:`N_l = D + 1`), and Pennington et
    al. (2017) up to where the last diagonal factor sits (the same spectrum as :math:`N\to\infty`).

    Parameters
    ----------
    weights : list of array_like
        ``D`` matrices ``(n_l, n_{l-1})``.
    biases : list of array_like or None
        ``D`` vectors, or ``None`` for none.
    h0 : array_like
        ``(n_0,)`` input pre-activation.
    activation : str
        Name in :data:`dlnlib.activations.ACTIVATIONS`.

    Returns
    -------
    jacobian : numpy.ndarray
        ``(n_D, n_0)`` float64.
    q : numpy.ndarray
        ``(D + 1,)`` empirical variance :math:`\frac1{n_l}\sum_i (h_i^l)^2` of layers 0..D.
    """
    act = get_activation(activation)
    weights = v.chain(weights, "weights", runs=False)
    h = v.array(h0, "h0", shape=(weights[0].shape[1],))
    if biases is not None:
        biases = [v.array(b, f"biases[{l}]", shape=(w.shape[0],))
                  for l, (b, w) in enumerate(zip(v.sequence(biases, "biases", "bias vectors", arrays=True), weights))]
        if len(biases) != len(weights):
            raise ValueError(f"biases must hold {len(weights)} vectors, got {len(biases)}")
    jac = np.eye(h.size)
    q = [float(h @ h) / h.size]
    for l, w in enumerate(weights):
        jac = w @ (act.dphi(h)[:, None] * jac)
        h = w @ act.phi(h) + (0.0 if biases is None else biases[l])
        q.append(float(h @ h) / h.size)
    return jac, np.array(q)


def _derived_seed(seed):
    """A second, independent seed from ``seed`` (``None`` stays ``None``), for a second torch generator."""
    return None if seed is None else int(np.random.SeedSequence(int(seed)).generate_state(1)[0])


def _random_network(n, depth, sigma_w2, sigma_b2, q_in, activation, weights, n_draws, seed, device):
    """Yield ``(W_l, h^{l-1})`` for l = 1..D, then ``(None, h^D)``: a random network run forward on a random input.

    The network of :func:`jacobian_factors` (whose docstring describes the arguments).
    """
    n = v.count(n, "n")
    depth = v.depth(depth)
    sigma_w = float(np.sqrt(v.positive_scalar(sigma_w2, "sigma_w2")))
    sigma_b2 = v.nonnegative_scalar(sigma_b2, "sigma_b2")
    weights = v.choice(weights, "weights", KINDS)
    q_in = fixed_point_variance(sigma_w ** 2, sigma_b2, activation) if q_in is None else v.positive_scalar(q_in, "q_in")
    act = get_activation(activation)
    seed = v.seed(seed)
    factors = random_factors(n, depth, n_draws, weights, seed, device)
    dev = _torch_device(device)
    gen = _torch_generator(dev, _derived_seed(seed))
    lead = () if n_draws is None else (v.count(n_draws, "n_draws"),)
    h = np.sqrt(q_in) * torch.randn(lead + (n,), generator=gen, dtype=torch.float64, device=dev)
    for w in factors:
        w = sigma_w * w
        yield w, h
        h = (w @ act.torch_phi(h)[..., None])[..., 0]
        h = h + np.sqrt(sigma_b2) * torch.randn(lead + (n,), generator=gen, dtype=torch.float64, device=dev)
    yield None, h


def jacobian_factors(n: int, depth: int, sigma_w2: float, sigma_b2: float = 0.0, q_in: float | None = None,
                     activation: str = "tanh", weights: str = "orthogonal", n_draws: int | None = None, seed=None,
                     device="cpu"):
    r"""Yield the factors :math:`W_l\,\operatorname{diag}\phi'(h^{l-1})`, :math:`l = 1..D`, of the input-output
    Jacobian of a random network at a random input, in torch on ``device``, one layer at a time.

    The network is that of :func:`network_jacobian`, :math:`h^l = W_l\,\phi(h^{l-1}) + b_l`, so that
    :math:`J = \prod_{l=D}^{1} W_l\,\operatorname{diag}\phi'(h^{l-1})` (Saxe et al. 2014, Eq. 22; Pennington et al.
    2017). Weights are :math:`\sigma_w` times the factors of :func:`random_factors` (Haar orthogonal, or Gaussian of
    variance :math:`1/N`), biases :math:`\mathcal N(0, \sigma_b^2)`, and the input :math:`h^0` has i.i.d.
    :math:`\mathcal N(0, q_{\rm in})` entries, by default at the fixed point :math:`q^*`. Feed the factors to
    :func:`product_log_singular_values`, or multiply them.

    Parameters
    ----------
    n : int
        Width :math:`N` of every layer.
    depth : int
        Number of weight matrices D >= 1 (the paper's :math:`N_l - 1`).
    sigma_w2, sigma_b2 : float
        Weight and bias variances (:math:`\sigma_w = g`, the gain).
    q_in : float or None
        Input variance :math:`q^1`; default :math:`q^*` of :func:`dlnlib.meanfield.variance_map`.
    activation : str
    weights : {"orthogonal", "gaussian"}
    n_draws : int or None
        Number of independent networks (each with its own input), a leading axis of every factor.
    seed : int or None
        Seeds the torch generators on ``device`` (the streams differ between a CPU and a GPU).
    device : str or torch.device

    Yields
    ------
    torch.Tensor
        ``([n_draws,] n, n)`` float64.
    """
    act = get_activation(activation)
    for w, h in _random_network(n, depth, sigma_w2, sigma_b2, q_in, activation, weights, n_draws, seed, device):
        if w is not None:
            yield w * torch_slope(act, h)[..., None, :]


def layer_variances(n: int, depth: int, sigma_w2: float, sigma_b2: float = 0.0, q_in: float = 1.0,
                    activation: str = "tanh", weights: str = "orthogonal", n_draws: int | None = None, seed=None,
                    device="cpu") -> np.ndarray:
    r"""The variance map by simulation: :math:`q^l = \frac1N\sum_i (h^l_i)^2` of a random network, layers 0..D.

    The network of :func:`jacobian_factors` (same arguments; the input variance defaults to 1), run forward. For
    orthogonal weights and no bias, :math:`q^{l+1} = \sigma_w^2\frac1N\sum_i\phi(h^l_i)^2` exactly, the finite-:math:`N`
    version of the length map :func:`dlnlib.meanfield.variance_map` (Saxe et al. 2014, Eqs. 47–49, Fig. 8).

    Returns
    -------
    numpy.ndarray
        ``([n_draws,] depth + 1)``.
    """
    q = [torch.mean(h ** 2, dim=-1) for _, h in _random_network(n, depth, sigma_w2, sigma_b2, q_in, activation, weights,
                                                                n_draws, seed, device)]
    return torch.stack(q, dim=-1).cpu().numpy()


def jacobian_singular_values(n: int, depth: int, sigma_w2: float, sigma_b2: float = 0.0, q_in: float | None = None,
                             activation: str = "tanh", weights: str = "orthogonal", n_draws: int | None = None,
                             seed=None, device="cpu") -> np.ndarray:
    r"""Singular values, in decreasing order, of the Jacobian of a random network at a random input.

    The product of :func:`jacobian_factors` (same arguments), formed in float64 and passed to an SVD: exact for
    spectra that span fewer than about 12 decades, and blind below :math:`10^{-16}` times the largest singular value
    (round-off). It handles singular factors (ReLU, hard-tanh). For spectra that span more, use
    :func:`jacobian_log_singular_values`.

    Returns
    -------
    numpy.ndarray
        ``([n_draws,] n)`` singular values.
    """
    product = None
    for f in jacobian_factors(n, depth, sigma_w2, sigma_b2, q_in, activation, weights, n_draws, seed, device):
        product = f if product is None else f @ product
    return torch.linalg.svdvals(product).cpu().numpy()


def jacobian_log_singular_values(n: int, depth: int, sigma_w2: float, sigma_b2: float = 0.0, q_in: float | None = None,
                                 activation: str = "tanh", weights: str = "orthogonal", n_draws: int | None = None,
                                 seed=None, device="cpu", qr_every: int = 1) -> np.ndarray:
    r"""Natural logarithms of the singular values of the Jacobian of a random network, at any spread.

    The factors of :func:`jacobian_factors` (same arguments), accumulated by graded QR
    (:func:`product_log_singular_values`), so that the smallest singular values are resolved however far they lie
    below the largest (:math:`10^{-60}` for a 100-layer tanh network at gain 1.5). The nonlinearity's slope must not
    vanish (tanh: yes; ReLU and hard-tanh: no, their Jacobians are singular).

    Returns
    -------
    numpy.ndarray
        ``([n_draws,] n)``, :math:`\ln\sigma_1 \ge \dots \ge \ln\sigma_N`.
    """
    return product_log_singular_values(jacobian_factors(n, depth, sigma_w2, sigma_b2, q_in, activation, weights,
                                                        n_draws, seed, device), qr_every=qr_every)


def _singular_values(values) -> np.ndarray:
    sv = v.array(values, "singular_values", ndim=1, nonempty=True)
    if np.any(sv < 0):
        raise ValueError(f"singular_values must be >= 0, got min {sv.min():g}")
    return sv


def summarize(singular_values, band=(0.1, 10.0)) -> dict:
    """Median, 10 % and 90 % quantiles, maximum, and the fraction of singular values inside ``band``.

    The statistics the book uses to compare spectra that span many decades (Saxe et al. 2014, Fig. 7).
    """
    sv = _singular_values(singular_values)
    if not isinstance(band, (tuple, list)) or len(band) != 2:
        raise TypeError(f"band must be a pair (low, high), got {band!r}")
    low, high = v.real_scalar(band[0], "band[0]"), v.real_scalar(band[1], "band[1]")
    if low > high:
        raise ValueError(f"band must be (low, high) with low <= high, got {band!r}")
    q10, median, q90 = np.quantile(sv, [0.1, 0.5, 0.9])
    return {"median": float(median), "q10": float(q10), "q90": float(q90), "max": float(sv.max()),
            "in_band": float(np.mean((sv >= low) & (sv <= high)))}


def normalized_variance(singular_values) -> float:
    r"""Spread of the spectrum of :math:`JJ^T`: :math:`\operatorname{var}(\lambda)/\langle\lambda\rangle^2` with
    :math:`\lambda = \sigma^2`. It is 0 for an isometry and scale-free, so it does not depend on :math:`m_1`."""
    sv = _singular_values(singular_values)
    if sv.max() == 0:
        raise ValueError("singular_values must not all be 0: the normalised variance is then undefined")
    if not 1e-100 < sv.max() < 1e100:    # scale-free: rescale where squaring would over- or underflow
        sv = sv / sv.max()
    lam = sv ** 2
    return float(lam.var() / lam.mean() ** 2)


def jacobian_spectrum_moments(depth: int, sigma_w2: float, sigma_b2: float = 0.0, activation: str = "tanh",
                              weights: str = "orthogonal", q_star: float | None = None) -> tuple[float, float]:
    r"""Free-probability prediction for the first two moments of the spectrum of :math:`JJ^T` at the fixed point.

    With :math:`\mu_k = \int\mathcal Dz\,\phi'(\sqrt{q^*}z)^{2k}`, the normalised second moments of freely
    independent factors add, so for :math:`L` layers

    .. math:: m_1 = (\sigma_w^2\mu_1)^L = \chi_1^L, \qquad
              \frac{\sigma^2_{JJ^T}}{m_1^2} = L\Big(\frac{\mu_2}{\mu_1^2} - 1 + s\Big),

    with :math:`s = 1` for Gaussian and :math:`s = 0` for orthogonal weights (Pennington, Schoenholz & Ganguli 2017).
    Linear orthogonal networks give 0 (exact isometry), linear Gaussian :math:`L`, ReLU :math:`L` or :math:`2L`:
    only orthogonal tanh with small :math:`q^*` keeps the spread :math:`O(1)` as depth grows (dynamical isometry).

    Parameters
    ----------
    depth : int
        Number of layers :math:`L \ge 1`.
    sigma_w2, sigma_b2 : float
        The initialisation; the pre-activations are taken at the fixed point :math:`q^*` unless ``q_star`` is given.
    activation : str
    weights : {"orthogonal", "gaussian"}

    Returns
    -------
    m1, normalized_variance : float
        :math:`m_1` and :math:`\sigma^2_{JJ^T}/m_1^2` (compare with :func:`normalized_variance`).
    """
    depth = v.depth(depth)
    sigma_w2 = v.positive_scalar(sigma_w2, "sigma_w2")
    sigma_b2 = v.nonnegative_scalar(sigma_b2, "sigma_b2")
    weights = v.choice(weights, "weights", KINDS)
    get_activation(activation)
    q_star = fixed_point_variance(sigma_w2, sigma_b2, activation) if q_star is None else v.nonnegative_scalar(
        q_star, "q_star")
    mu1, mu2 = slope_moment(q_star, 1, activation), slope_moment(q_star, 2, activation)
    s = 1.0 if weights == "gaussian" else 0.0
    return (sigma_w2 * mu1) ** depth, depth * (mu2 / mu1 ** 2 - 1.0 + s)
