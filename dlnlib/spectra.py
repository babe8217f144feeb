r"""Spectra of products of random matrices, and the free-probability laws they follow.

The end-to-end map of a deep linear network at initialisation is a product of :math:`L` random matrices,
:math:`W_{\rm tot} = W_L\cdots W_1` (Saxe et al. 2014, Eq. 19). With random orthogonal factors it is orthogonal:
every singular value is exactly 1. With i.i.d. Gaussian factors of variance :math:`1/N`, as :math:`N\to\infty` its
squared singular values follow the **Fuss–Catalan** law with parameter :math:`L` (Penson & Życzkowski 2011): mean 1,
but most singular values vanish and a few grow large, and the eigenvalues crowd the origin with
:math:`P(|\lambda| < r) = r^{2/L}` (Burda, Janik & Waclaw 2010).

A nonlinear network's input-output Jacobian is such a product with a diagonal factor of slopes between the weights,
:math:`J = \prod_l W_l D_{l-1}`, :math:`D = \operatorname{diag}\phi'(h)`. Free probability predicts its moments
(Pennington, Schoenholz & Ganguli 2017): :func:`jacobian_spectrum_moments` against the sampled
:func:`jacobian_singular_values`.
"""
from __future__ import annotations

import numpy as np
from scipy.special import comb

from . import _validation as v
from .activations import get as get_activation
from . import init
from .init import random_orthogonal
from .meanfield import fixed_point_variance, slope_moment

__all__ = ["random_product", "fuss_catalan_moment", "fuss_catalan_edge", "fuss_catalan_density",
           "gaussian_product_fourth_moment", "product_eigenvalue_fraction_within", "network_jacobian",
           "jacobian_singular_values", "jacobian_spectrum_moments", "normalized_variance", "summarize"]

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


def gaussian_product_fourth_moment(n: int, n_factors: int) -> float:
    r"""Exact finite-:math:`N` mean of :math:`\frac1N\operatorname{tr}(W_{\rm tot}^TW_{\rm tot})^2 = \langle\sigma^4\rangle`.

    For :math:`L` real Gaussian factors with variance :math:`1/N`. Multiplying :math:`B = W W^T` by one more factor,
    :math:`B' = GBG^T`, Wick's theorem gives, with :math:`x = \frac1N\operatorname{tr}B^2` and
    :math:`y = \frac{1}{N^2}(\operatorname{tr}B)^2`,

    .. math:: \mathbb E\,x' = (1 + 1/N)\,x + y, \qquad \mathbb E\,y' = y + 2x/N^2,

    starting from :math:`x = y = 1`. As :math:`N\to\infty` this tends to the Fuss–Catalan value :math:`L + 1`; at
    :math:`N = 400`, :math:`L = 99` it is 115.7, a 16 % finite-size excess.
    """
    n = v.count(n, "n")
    n_factors = v.count(n_factors, "n_factors")
    x = y = 1.0
    for _ in range(n_factors):
        x, y = (1 + 1 / n) * x + y, y + 2 * x / n ** 2
    return x


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


def jacobian_singular_values(n: int, depth: int, sigma_w2: float, sigma_b2: float = 0.0, q_in: float | None = None,
                             activation: str = "tanh", weights: str = "orthogonal", seed=None) -> np.ndarray:
    r"""Singular values, in decreasing order, of the Jacobian of one random network at one random input.

    Weights are :math:`\sigma_w` times Haar orthogonal matrices (``weights="orthogonal"``,
    :func:`dlnlib.init.orthogonal`) or i.i.d. :math:`\mathcal N(0, \sigma_w^2/N)` (``"gaussian"``,
    :func:`dlnlib.init.scaled_gaussian`); biases :math:`\mathcal N(0, \sigma_b^2)`; the input has i.i.d.
    :math:`\mathcal N(0, q_{\rm in})` entries, by default at the fixed point :math:`q^*`. See :func:`network_jacobian`.

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
    seed : int, numpy.random.Generator or None

    Returns
    -------
    numpy.ndarray
        ``(n,)`` singular values.
    """
    n = v.count(n, "n")
    depth = v.depth(depth)
    sigma_w = float(np.sqrt(v.positive_scalar(sigma_w2, "sigma_w2")))
    sigma_b2 = v.nonnegative_scalar(sigma_b2, "sigma_b2")
    weights = v.choice(weights, "weights", KINDS)
    get_activation(activation)
    q_in = fixed_point_variance(sigma_w ** 2, sigma_b2, activation) if q_in is None else v.positive_scalar(q_in, "q_in")
    rng = v.generator(seed)
    draw = init.orthogonal if weights == "orthogonal" else init.scaled_gaussian
    ws = draw([n] * (depth + 1), gain=sigma_w, seed=rng)
    bs = np.sqrt(sigma_b2) * rng.standard_normal((depth, n))
    jac, _ = network_jacobian(ws, bs, np.sqrt(q_in) * rng.standard_normal(n), activation)
    return np.linalg.svd(jac, compute_uv=False)

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
