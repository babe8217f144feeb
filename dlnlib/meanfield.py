r"""Mean-field signal propagation in wide random networks: variance and correlation maps, criticality, depth scales.

A wide network :math:`h^{l} = W_l\,\phi(h^{l-1}) + b_l` with :math:`W_l` of variance :math:`\sigma_w^2/N` (Gaussian)
or :math:`\sigma_w` times a random orthogonal matrix, and :math:`b_l \sim \mathcal N(0, \sigma_b^2)`, carries the
variance :math:`q^l = \frac1N\sum_i (h^l_i)^2` of its pre-activations through the **length map**

.. math:: q^{l+1} = \sigma_w^2\int\mathcal Dz\,\phi\big(\sqrt{q^l}\,z\big)^2 + \sigma_b^2,
          \qquad \mathcal Dz = \frac{e^{-z^2/2}}{\sqrt{2\pi}}\,dz

(Saxe et al. 2014, App. G, Eqs. 47–49, with gain :math:`g = \sigma_w` and no bias; Poole et al. 2016;
Pennington et al. 2017). Two inputs with correlation :math:`c^l` follow the correlation map, and small
perturbations are multiplied per layer by

.. math:: \chi_1 = \sigma_w^2\int\mathcal Dz\,\phi'\big(\sqrt{q^*}z\big)^2, \qquad
          \chi_{c^*} = \sigma_w^2\,\mathbb E\big[\phi'(u_1)\phi'(u_2)\big]_{u\sim\mathcal N(0,\,q^*[[1,c^*],[c^*,1]])}.

:math:`\chi_1 = 1` is the **critical line** (edge of chaos) between the ordered phase (:math:`\chi_1 < 1`,
correlations go to 1, gradients vanish) and the chaotic phase (:math:`\chi_1 > 1`). Off it, correlations relax over
:math:`\xi_c = -1/\log\chi_{c^*}` layers. In a convolutional network with kernel variance profile :math:`v_\beta`
each spatial Fourier mode :math:`j` has its own scale :math:`\xi_j = -1/\log|\chi_{c^*}\lambda_j|`, with
:math:`\lambda_j` the eigenvalues of the diagonal-averaging operator (Xiao et al. 2018).

Gaussian averages use the trapezoidal rule on a fine uniform grid of :math:`z \in [-10, 10]`, which converges
geometrically for smooth integrands and, unlike Gauss–Hermite quadrature, stays accurate when
:math:`\phi(\sqrt q z)` is nearly a step (large :math:`q`): :math:`q^*` at gain 10 is 91.71, where 201 Hermite
nodes give 90.16. Slopes that are 0 or 1 (ReLU, hard-tanh) are averaged in closed form.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import _validation as v
from .activations import get as get_activation

__all__ = ["gaussian_average", "slope_moment", "variance_map", "fixed_point_variance", "fixed_point_gain", "correlation_map",
           "fixed_point_correlation", "chi_1", "DepthScales", "depth_scales", "critical_line",
           "cnn_mode_eigenvalues", "cnn_mode_depth_scales", "orthogonal_mean_log_singular_value"]


def _trapezoid(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    z = np.linspace(-10.0, 10.0, n_nodes)
    w = np.exp(-0.5 * z * z)
    return z, w / w.sum()      # normalised: averages of constants are exact


_Z, _WZ = _trapezoid(4001)        # 1-D averages, spacing 0.005
_Z2, _WZ2 = _trapezoid(601)       # 2-D averages (pairs of correlated inputs), spacing 0.033
_Q_MAX = 1e12


def gaussian_average(f, q) -> np.ndarray:
    r""":math:`\int\mathcal Dz\,f(\sqrt q\,z)` for every variance in ``q`` (trapezoidal rule, see the module notes).

    Parameters
    ----------
    f : callable
        Vectorised function of a NumPy array.
    q : float or array_like
        Variance(s) :math:`\ge 0`.

    Returns
    -------
    numpy.ndarray
        Same shape as ``q``.
    """
    f = v.function(f, "f")
    q = v.nonnegative(q, "q")
    return np.sum(_WZ * f(np.sqrt(q)[..., None] * _Z), axis=-1)


def slope_moment(q, k: int, activation="tanh") -> float:
    r""":math:`\mu_k = \int\mathcal Dz\,\phi'(\sqrt q z)^{2k}`: moments of the squared slope at variance ``q``.

    For 0/1 slopes (ReLU, hard-tanh) :math:`\mu_k = p(q)` for every :math:`k`, in closed form
    (Pennington et al. 2017); otherwise by quadrature.
    """
    act = get_activation(activation)
    k = v.count(k, "k")
    q = v.nonnegative_scalar(q, "q")
    if act.gate_probability is not None:
        return float(act.gate_probability(q))
    return float(gaussian_average(lambda h: act.dphi(h) ** (2 * k), q))


def variance_map(q, sigma_w2, sigma_b2=0.0, activation="tanh") -> np.ndarray:
    r"""One layer of the length map, :math:`q \mapsto \sigma_w^2\int\mathcal Dz\,\phi(\sqrt q z)^2 + \sigma_b^2`.

    Saxe et al. (2014), Eq. 48, with gain :math:`g^2 = \sigma_w^2` and :math:`\sigma_b = 0`; Poole et al. (2016).

    Parameters
    ----------
    q : float or array_like
        Input variance(s) :math:`\ge 0`.
    sigma_w2, sigma_b2 : float
        Weight variance :math:`\sigma_w^2 > 0` (:math:`g^2` for orthogonal weights with gain :math:`g`) and bias
        variance :math:`\sigma_b^2 \ge 0`.
    activation : str
        A name in :data:`dlnlib.activations.ACTIVATIONS`.

    Returns
    -------
    numpy.ndarray
        :math:`q^{l+1}`, the shape of ``q``.
    """
    sigma_w2 = v.positive_scalar(sigma_w2, "sigma_w2")
    sigma_b2 = v.nonnegative_scalar(sigma_b2, "sigma_b2")
    phi = get_activation(activation).phi
    return sigma_w2 * gaussian_average(lambda h: phi(h) ** 2, q) + sigma_b2


def fixed_point_variance(sigma_w2, sigma_b2=0.0, activation="tanh") -> float:
    r"""The stable fixed point :math:`q^*` of :func:`variance_map` (Saxe et al. 2014, Eq. 49).

    For tanh without bias, :math:`q^* = 0` when :math:`\sigma_w \le 1` (activity dies out) and a positive
    :math:`q^*(g)` appears for :math:`g = \sigma_w > 1` (the edge of chaos at :math:`g = 1`).

    Returns
    -------
    float
        :math:`q^* \ge 0`.

    Raises
    ------
    ValueError
        If the variance grows without bound (e.g. ReLU with :math:`\sigma_w^2 > 2`).
    """
    sigma_w2 = v.positive_scalar(sigma_w2, "sigma_w2")
    sigma_b2 = v.nonnegative_scalar(sigma_b2, "sigma_b2")
    excess = lambda q: variance_map(q, sigma_w2, sigma_b2, activation) - q  # noqa: E731
    grid = np.logspace(-12, 12, 97)
    values = excess(grid)
    if sigma_b2 == 0.0 and values[0] <= 0.0:
        return 0.0
    crossing = np.nonzero((values[:-1] > 0) & (values[1:] <= 0))[0]
    if crossing.size == 0:
        raise ValueError(f"no finite fixed point of the variance map for sigma_w2={sigma_w2:g}, "
                         f"sigma_b2={sigma_b2:g}, activation={activation!r}: the variance grows without bound")
    i = crossing[0]
    return float(optimize.brentq(excess, grid[i], grid[i + 1], xtol=1e-15, rtol=1e-14))


def fixed_point_gain(q_star, activation="tanh") -> float:
    r"""The gain :math:`g` whose bias-free fixed point is ``q_star``: :math:`g^2 = q^*/\int\mathcal Dz\,\phi(\sqrt{q^*}z)^2`.

    The inverse of :func:`fixed_point_variance` along :math:`\sigma_b = 0` (Saxe et al. 2014, Fig. 8 right).
    """
    q_star = v.positive_scalar(q_star, "q_star")
    phi = get_activation(activation).phi
    return float(np.sqrt(q_star / gaussian_average(lambda h: phi(h) ** 2, q_star)))


def _pair_average(f, q: float, c: float) -> float:
    r""":math:`\mathbb E[f(u_1)\,f(u_2)]` for :math:`u \sim \mathcal N(0, q[[1, c], [c, 1]])` (2-D quadrature)."""
    u1 = np.sqrt(q) * _Z2[:, None]
    u2 = np.sqrt(q) * (c * _Z2[:, None] + np.sqrt(max(1.0 - c * c, 0.0)) * _Z2[None, :])
    return float(np.sum(_WZ2[:, None] * _WZ2[None, :] * f(u1) * f(u2)))


def correlation_map(c, q, sigma_w2, sigma_b2=0.0, activation="tanh") -> float:
    r"""One layer of the correlation map of two inputs with equal variance ``q``:

    .. math:: c \mapsto \frac{\sigma_w^2\,\mathbb E[\phi(u_1)\phi(u_2)] + \sigma_b^2}{q'}, \qquad
              q' = \text{variance\_map}(q).

    At the fixed point :math:`q = q^*` the map has :math:`c = 1` as a fixed point with slope :math:`\chi_1`.
    """
    c = v.in_interval(c, "c", -1.0, 1.0)
    q = v.positive_scalar(q, "q")
    sigma_b2 = v.nonnegative_scalar(sigma_b2, "sigma_b2")
    phi = get_activation(activation).phi
    q_next = float(variance_map(q, sigma_w2, sigma_b2, activation))
    return (sigma_w2 * _pair_average(phi, q, c) + sigma_b2) / q_next


def chi_1(sigma_w2, sigma_b2=0.0, activation="tanh", q=None) -> float:
    r""":math:`\chi_1 = \sigma_w^2\int\mathcal Dz\,\phi'(\sqrt q z)^2`, at ``q`` (default: the fixed point :math:`q^*`).

    The factor by which the mean squared singular value of the Jacobian grows per layer; :math:`\chi_1 = 1` is
    criticality (Poole et al. 2016; Pennington et al. 2017).
    """
    sigma_w2 = v.positive_scalar(sigma_w2, "sigma_w2")
    q = fixed_point_variance(sigma_w2, sigma_b2, activation) if q is None else v.nonnegative_scalar(q, "q")
    return sigma_w2 * slope_moment(q, 1, activation)


def fixed_point_correlation(sigma_w2, sigma_b2=0.0, activation="tanh") -> float:
    r"""The stable fixed point :math:`c^*` of :func:`correlation_map` at :math:`q^*`.

    :math:`c^* = 1` in the ordered phase (:math:`\chi_1 \le 1`); :math:`c^* < 1` in the chaotic phase.
    """
    q_star = fixed_point_variance(sigma_w2, sigma_b2, activation)
    if q_star == 0.0 or chi_1(sigma_w2, sigma_b2, activation, q_star) <= 1.0:
        return 1.0
    excess = lambda c: correlation_map(c, q_star, sigma_w2, sigma_b2, activation) - c  # noqa: E731
    if excess(0.0) <= 0.0:
        return 0.0
    low, high = 0.0, 1.0 - 1e-6
    if excess(high) >= 0.0:     # quadrature error near c = 1 (kinked phi, e.g. hard-tanh): bracket the root on a grid
        grid = np.linspace(0.0, high, 101)
        high = next((c for c in grid[1:] if excess(c) < 0.0), None)
        if high is None:        # chi_1 = 1 up to round-off (a point computed on the critical line): c* = 1
            return 1.0
        low = grid[np.searchsorted(grid, high) - 1]
    return float(optimize.brentq(excess, low, high, xtol=1e-14))


@dataclass(frozen=True)
class DepthScales:
    r"""Fixed points, multipliers and depth scales at one :math:`(\sigma_w^2, \sigma_b^2)`.

    Attributes
    ----------
    q_star, c_star : float
        Fixed points of the length and correlation maps.
    chi_1, chi_c, chi_q : float
        Slopes of the correlation map at :math:`c = 1` and at :math:`c^*`, and of the length map at :math:`q^*`.
    xi_c, xi_q : float
        Depth scales :math:`-1/\log\chi_{c^*}` and :math:`-1/\log\chi_q` (``inf`` at criticality).
    """

    q_star: float
    c_star: float
    chi_1: float
    chi_c: float
    chi_q: float
    xi_c: float
    xi_q: float


def _depth_scale(chi: float) -> float:
    return float("inf") if abs(np.log(abs(chi))) < 1e-12 else float(-1.0 / np.log(abs(chi)))   # round-off: critical


def depth_scales(sigma_w2, sigma_b2=0.0, activation="tanh") -> DepthScales:
    r"""Everything mean-field theory says about one initialisation :math:`(\sigma_w^2, \sigma_b^2)`.

    .. math:: \chi_{c^*} = \sigma_w^2\,\mathbb E[\phi'(u_1)\phi'(u_2)], \quad
              \chi_q = \sigma_w^2\int\mathcal Dz\,\big[\phi'^2 + \phi\phi''\big](\sqrt{q^*}z), \quad
              \xi = -1/\log\chi

    (Schoenholz et al. 2017; Xiao et al. 2018).

    Returns
    -------
    DepthScales
    """
    act = get_activation(activation)
    q_star = fixed_point_variance(sigma_w2, sigma_b2, activation)
    c_star = fixed_point_correlation(sigma_w2, sigma_b2, activation)
    chi1 = chi_1(sigma_w2, sigma_b2, activation, q_star)
    chi_c = sigma_w2 * _pair_average(act.dphi, q_star, c_star) if c_star < 1.0 else chi1
    if act.gate_probability is None:
        chi_q = float(sigma_w2 * gaussian_average(lambda h: act.dphi(h) ** 2 + act.phi(h) * act.d2phi(h), q_star))
    else:                       # 0/1 slopes: phi phi'' = 0 almost everywhere, and the mean slope^2 is p(q) in closed form
        chi_q = float(sigma_w2 * act.gate_probability(q_star))
    return DepthScales(q_star=q_star, c_star=c_star, chi_1=chi1, chi_c=float(chi_c), chi_q=chi_q,
                       xi_c=_depth_scale(chi_c), xi_q=_depth_scale(chi_q))


def critical_line(sigma_b2, activation="tanh") -> np.ndarray:
    r"""The weight variance :math:`\sigma_w^2` with :math:`\chi_1 = 1` at each bias variance (the edge of chaos).

    For tanh the line starts at :math:`(\sigma_w^2, \sigma_b^2) = (1, 0)` and rises monotonically
    (Xiao et al. 2018; Pennington et al. 2017).

    Parameters
    ----------
    sigma_b2 : float or array_like
        Bias variance(s) :math:`\ge 0`.

    Returns
    -------
    numpy.ndarray
        :math:`\sigma_w^2` on the critical line, the shape of ``sigma_b2``.
    """
    sigma_b2 = v.nonnegative(sigma_b2, "sigma_b2")
    dphi0 = float(get_activation(activation).dphi(np.array(0.0)))
    if dphi0 == 0.0:
        raise ValueError(f"{activation!r} has phi'(0) = 0; its critical line is not defined this way")

    def one(sb2: float) -> float:
        if sb2 == 0.0:
            return 1.0 / dphi0 ** 2
        excess = lambda sw2: chi_1(sw2, sb2, activation) - 1.0  # noqa: E731
        low = 1.0 / dphi0 ** 2
        high = 2.0 * low
        while excess(high) < 0.0:
            high *= 2.0
            if high > 1e6:
                raise ValueError(f"no critical point for sigma_b2={sb2:g} with {activation!r}")
        return float(optimize.brentq(excess, low, high, xtol=1e-13, rtol=1e-13))

    return np.vectorize(one, otypes=[float])(sigma_b2)


def cnn_mode_eigenvalues(profile, n: int) -> np.ndarray:
    r"""Eigenvalues :math:`\lambda_j = \sum_\beta v_\beta\,e^{2\pi i\beta j/n}` of the diagonal-averaging operator
    :math:`\mathcal A_v` of a 1-D circular CNN with ``n`` positions (Xiao et al. 2018).

    Parameters
    ----------
    profile : array_like
        Variance profile :math:`v_\beta \ge 0` over the :math:`2k+1` kernel offsets :math:`\beta = -k..k`, summing
        to 1. Uniform: ``np.full(2k+1, 1/(2k+1))``; delta: 1 at the centre, 0 elsewhere.
    n : int
        Number of spatial positions (circular).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` real eigenvalues (the profile is symmetric) for Fourier modes :math:`j = 0..n-1`.
    """
    profile = v.variance_profile(profile, ndims=(1,))
    n = v.count(n, "n")
    k = profile.size // 2
    beta = np.arange(-k, k + 1)
    phases = np.exp(2j * np.pi * np.outer(np.arange(n), beta) / n)
    return np.real(phases @ profile)


def cnn_mode_depth_scales(profile, n: int, chi_c) -> np.ndarray:
    r"""Depth scale of every spatial Fourier mode, :math:`\xi_j = -1/\log|\chi_{c^*}\lambda_j|` (``inf`` if critical).

    With the delta profile every mode shares the fully-connected scale :math:`\xi_c`; with the uniform profile only
    :math:`j = 0` does and the others die faster (Xiao et al. 2018).
    """
    chi_c = v.positive_scalar(chi_c, "chi_c")
    lam = np.abs(chi_c * cnn_mode_eigenvalues(profile, n))
    with np.errstate(divide="ignore"):
        logs = np.log(lam)
    return np.where(np.abs(logs) < 1e-14, np.inf, -1.0 / np.where(logs == 0, 1.0, logs))


_LOG_SLOPES = {"tanh": lambda h: 2.0 * np.log(2.0) - 2.0 * np.logaddexp(h, -h),     # ln sech^2, no underflow
               "linear": lambda h: np.zeros_like(h)}


def orthogonal_mean_log_singular_value(depth: int, sigma_w2, sigma_b2=0.0, q_in=None, activation="tanh",
                                       n: int | None = None):
    r"""Mean of :math:`\ln\sigma` over the singular values of the input-output Jacobian of a deep network with
    orthogonal weights, in mean field.

    With :math:`W_l = \sigma_w O_l` and :math:`J = \prod_l W_l\operatorname{diag}\phi'(h^{l-1})`,
    :math:`|\det J| = \sigma_w^{ND}\prod_{l,i}\phi'(h^{l-1}_i)`, so the mean of :math:`\ln\sigma` is exactly
    :math:`\frac1N\ln|\det J| = D\ln\sigma_w + \sum_l\frac1N\sum_i\ln\phi'(h^{l-1}_i)`. Mean-field theory replaces each
    layer's average by a Gaussian one along the length map :func:`variance_map` from :math:`q^0 = q_{\rm in}`:

    .. math:: \langle\ln\sigma\rangle = D\ln\sigma_w + \sum_{l=0}^{D-1}\int\mathcal Dz\,\ln\phi'\big(\sqrt{q^l}\,z\big).

    It sets the geometric centre of the spectrum (Saxe et al. 2014, Fig. 7), whatever its spread.

    Parameters
    ----------
    depth : int
        Number of weight matrices :math:`D`.
    sigma_w2, sigma_b2 : float
        Weight variance (:math:`g^2`) and bias variance.
    q_in : float or None
        Variance of the input pre-activations; default the fixed point :math:`q^*`.
    activation : {"tanh", "linear"}
        A nonlinearity whose slope never vanishes.
    n : int or None
        Width :math:`N`. If given, also return the standard deviation of the sampled mean at that width, from two
        sources: :math:`N` independent units per layer, :math:`\sum_l\operatorname{Var}[\ln\phi'(\sqrt{q^l}z)]/N`
        (an upper estimate for orthogonal weights, whose exact norm preservation ties the layers together), and the
        input's sample variance, :math:`q^0\chi^2_N/N`, which moves the whole trajectory of the variance map.

    Returns
    -------
    float, or (float, float) with ``n``
    """
    depth = v.depth(depth)
    sigma_w2 = v.positive_scalar(sigma_w2, "sigma_w2")
    if not isinstance(activation, str) or activation not in _LOG_SLOPES:
        raise ValueError(f"activation must be one of {sorted(_LOG_SLOPES)} (a slope that never vanishes), got "
                         f"{activation!r}")
    q0 = fixed_point_variance(sigma_w2, sigma_b2, activation) if q_in is None else v.nonnegative_scalar(q_in, "q_in")
    log_slope = _LOG_SLOPES[activation]

    def along_the_map(q):
        total, variance = 0.5 * depth * np.log(sigma_w2), 0.0
        for _ in range(depth):
            mean = float(gaussian_average(log_slope, q))
            total += mean
            variance += float(gaussian_average(lambda h: log_slope(h) ** 2, q)) - mean ** 2
            q = float(variance_map(q, sigma_w2, sigma_b2, activation))
        return total, variance

    total, variance = along_the_map(q0)
    if n is None:
        return total
    n = v.count(n, "n")
    # the input's own sample variance, q0 chi^2_N / N (relative sd sqrt(2/N)), moves the whole trajectory
    step = 1e-4 * q0
    slope = (along_the_map(q0 + step)[0] - along_the_map(q0 - step)[0]) / (2 * step) if q0 > 0 else 0.0
    return total, float(np.sqrt(max(variance, 0.0) / n + (slope * q0) ** 2 * 2.0 / n))
