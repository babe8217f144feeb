r"""Closed forms and ODEs of learning in deep linear networks (Saxe, McClelland & Ganguli 2014).

Conventions used by the whole library
-------------------------------------
**Depth.** ``depth`` is the number of weight matrices :math:`D`. The paper counts *layers of units*,
:math:`N_l = D + 1`; the three-layer network of the paper has ``depth=2``.

**Statistics.** :math:`\Sigma^{11} = \sum_\mu x^\mu x^{\mu T}` and :math:`\Sigma^{31} = \sum_\mu y^\mu x^{\mu T}` are
*sums* over the :math:`P` samples, as in the paper, and the loss is

.. math:: L(W) = \tfrac12 \sum_\mu \lVert y^\mu - W_D \cdots W_1 x^\mu \rVert^2 .

**Time.** Full-batch gradient descent with learning rate :math:`\lambda` is
:math:`W_l \leftarrow W_l - \lambda\,\partial L / \partial W_l`, which is the paper's batch rule (its factor 2 is
absorbed by the ½ above). The paper's time :math:`t` counts these steps and :math:`\tau = 1/\lambda`, so in every
function here one step of gradient descent advances :math:`t` by 1 when ``tau = 1 / lr``. Gradient flow is
:math:`\tau\,\dot W_l = -\partial L/\partial W_l`. With *mean* statistics (:math:`\Sigma/P`) the same trajectory needs
:math:`\lambda_{\rm mean} = P\,\lambda_{\rm sum}`.

**Modes.** :math:`\Sigma^{31} = USV^T = \sum_\alpha s_\alpha U_{:\alpha} V_{:\alpha}^T`; the strength of mode
:math:`\alpha` of a network is :math:`u_\alpha = U_{:\alpha}^T W_D\cdots W_1 V_{:\alpha}`, the diagonal of
:math:`U^T W_{\rm tot} V` (see :func:`dlnlib.networks.mode_strengths`).

All functions return float64 NumPy arrays broadcast over their array arguments.
"""
from __future__ import annotations

import numpy as np
from scipy import integrate, optimize
from scipy.special import expit, log_expit

from . import _validation as v

__all__ = [
    "mode_trajectory",
    "learning_time",
    "deep_mode_trajectory",
    "imbalanced_mode_trajectory",
    "mode_vector_field",
    "balanced_chain_hessian",
    "hessian_top_eigenvalue",
    "two_cycle",
    "two_cycle_band_edge",
    "learning_time_at_optimal_rate",
    "effective_initial_strength",
    "imbalanced_learning_time",
]


def _times(t) -> np.ndarray:
    t = v.as_float_array(t, "t")
    if np.any(t < 0):
        raise ValueError(f"t must be >= 0 (time since the start of learning), got min {t.min():g}")
    return t


def mode_trajectory(t, s, u0, tau=1.0):
    r"""Strength of one mode of a three-layer network from a balanced start (Eq. 12).

    On the decoupled, balanced manifold (:math:`a = b`, :math:`u = ab`) the mode obeys the logistic equation
    :math:`\tau\,\dot u = 2u(s - u)` (Eq. 10), whose solution is the sigmoid

    .. math:: u(t) = \frac{s\,e^{2st/\tau}}{e^{2st/\tau} - 1 + s/u_0}.

    Parameters
    ----------
    t : array_like
        Times (>= 0) in the paper's units: steps of gradient descent when ``tau = 1/lr``.
    s : array_like
        Singular value(s) of :math:`\Sigma^{31}` (> 0).
    u0 : array_like
        Initial mode strength(s) (> 0); from ``u0 > s`` the mode decays to ``s``.
    tau : float
        Time constant :math:`\tau = 1/\lambda`.

    Returns
    -------
    numpy.ndarray
        :math:`u(t)`, broadcast over ``t``, ``s`` and ``u0``.

    References
    ----------
    Saxe, McClelland & Ganguli (2014), Eqs. 10-12.
    """
    t = _times(t)
    s = v.positive(s, "s")
    u0 = v.positive(u0, "u0")
    tau = v.positive_scalar(tau, "tau")
    v.broadcastable(t=t, s=s, u0=u0)
    # s / (1 + (s/u0 - 1) e^{-2st/tau}) is Eq. 12 divided through by e^{2st/tau}: it cannot overflow, but s/u0 can
    # (u0 < 1e-308 s), and from u0 > s the sum cancels near t = 0. Those cases use forms without either problem.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        rate = 2.0 * s * t / tau
        ratio = s / u0
        rising = s / (1.0 + (ratio - 1.0) * np.exp(-rate))
        tiny_start = np.exp(np.log(s) + log_expit(rate + np.log(u0) - np.log(s - u0)))   # s expit(2st/tau + logit)
        falling = s / (ratio * np.exp(-rate) - np.expm1(-rate))
    return np.where(u0 > s, falling, np.where(np.isfinite(ratio), rising, tiny_start))


def _check_interval(s, u0, uf):
    s = v.positive(s, "s")
    u0 = v.positive(u0, "u0")
    uf = v.positive(uf, "uf")
    v.broadcastable(s=s, u0=u0, uf=uf)
    s, u0, uf = np.broadcast_arrays(s, u0, uf)
    if np.any(uf >= s):
        raise ValueError("uf must be < s: the mode only approaches s asymptotically")
    if np.any(u0 >= uf):
        raise ValueError("u0 must be < uf: learning_time is the time for the mode to grow from u0 to uf")
    return s, u0, uf


def _deep_time_integral(s: float, u0: float, uf: float, depth: int) -> float:
    r"""Return :math:`\int_{u_0}^{u_f} du / (u^{p}(s-u))` with :math:`p = 2 - 2/D`, for ``depth`` D > 2.

    Splitting :math:`\frac{1}{u^p(s-u)} = \frac{u^{-p}}{s} + \frac{u^{1-p}}{s^2} + \frac{s^{q}}{s^2(s-u)}
    + \frac{u^{q}-s^{q}}{s^2(s-u)}` with :math:`q = 2/D` leaves one bounded, smooth remainder for quadrature;
    the other three terms integrate in closed form.
    """
    q = 2.0 / depth
    p = 2.0 - q
    closed = ((uf ** (1 - p) - u0 ** (1 - p)) / ((1 - p) * s)
              + (uf ** q - u0 ** q) / (q * s ** 2)
              + s ** q / s ** 2 * np.log((s - u0) / (s - uf)))
    remainder, _ = integrate.quad(lambda u: (u ** q - s ** q) / (s - u), u0, uf,
                                  epsabs=0.0, epsrel=1e-13, limit=200)
    return closed + remainder / s ** 2


def learning_time(s, u0, uf, depth=2, tau=1.0):
    r"""Time for a mode to grow from ``u0`` to ``uf`` on the balanced manifold of a depth-``depth`` network.

    The balanced mode of a network with :math:`D` weight matrices obeys (Eq. 15, with :math:`N_l - 1 = D`)

    .. math:: \tau\,\frac{du}{dt} = D\,u^{2 - 2/D}\,(s - u),
              \qquad t = \frac{\tau}{D}\int_{u_0}^{u_f} \frac{du}{u^{2-2/D}(s-u)} .

    ``depth=1`` is a shallow network, :math:`t = \tau \ln\frac{s-u_0}{s-u_f}`; ``depth=2`` is Eq. 11,
    :math:`t = \frac{\tau}{2s}\ln\frac{u_f(s-u_0)}{u_0(s-u_f)}`; deeper networks use the integral above, computed
    with closed-form terms plus a bounded quadrature remainder (relative accuracy about 1e-12).

    Parameters
    ----------
    s, u0, uf : array_like
        Singular value and start and end strengths, broadcast together, with ``0 < u0 < uf < s``.
    depth : int
        Number of weight matrices D >= 1 (the paper's :math:`N_l - 1`).
    tau : float
        Time constant :math:`\tau = 1/\lambda` (so the result counts gradient-descent steps when ``tau = 1/lr``).

    Returns
    -------
    numpy.ndarray
        Learning times, broadcast over ``s``, ``u0``, ``uf``.

    References
    ----------
    Saxe, McClelland & Ganguli (2014), Eqs. 11 and 15.
    """
    depth = v.depth(depth)
    tau = v.positive_scalar(tau, "tau")
    s, u0, uf = _check_interval(s, u0, uf)
    if depth == 1:
        return tau * np.log((s - u0) / (s - uf))
    if depth == 2:
        with np.errstate(over="ignore", divide="ignore"):
            ratio = uf * (s - u0) / (u0 * (s - uf))
            logs = np.log(uf) - np.log(u0) + np.log(s - u0) - np.log(s - uf)   # where the ratio overflows (tiny u0)
        return tau / (2 * s) * np.where(np.isfinite(ratio), np.log(ratio), logs)
    out = np.empty(s.shape)
    for idx in np.ndindex(s.shape):
        out[idx] = _deep_time_integral(s[idx], u0[idx], uf[idx], depth)
    return tau / depth * out


def deep_mode_trajectory(t, s, u0, depth, tau=1.0):
    r"""Strength of a balanced mode of a depth-``depth`` network: the solution of Eq. 15.

    .. math:: \tau\,\frac{du}{dt} = D\,u^{2 - 2/D}\,(s - u), \qquad u(0) = u_0 .

    ``depth=1`` gives :math:`u = s - (s-u_0)e^{-t/\tau}`, ``depth=2`` the sigmoid of :func:`mode_trajectory`. For
    D > 2 the ODE is integrated in the log-odds variable :math:`z = \ln\frac{u}{s-u}`, in which it is smooth and
    non-stiff, :math:`\tau\dot z = D s\,u^{1-2/D}` (DOP853, rtol 1e-12).

    Parameters
    ----------
    t : array_like
        Times >= 0 (steps of gradient descent when ``tau = 1/lr``).
    s, u0 : array_like
        Singular value(s) and initial strength(s), ``0 < u0 < s``, broadcast with ``t``.
    depth : int
        Number of weight matrices D >= 1 (the paper's :math:`N_l - 1`).
    tau : float
        Time constant.

    Returns
    -------
    numpy.ndarray
        :math:`u(t)` broadcast over ``t``, ``s``, ``u0``.

    References
    ----------
    Saxe, McClelland & Ganguli (2014), Eq. 15.
    """
    depth = v.depth(depth)
    tau = v.positive_scalar(tau, "tau")
    t = _times(t)
    s = v.positive(s, "s")
    u0 = v.positive(u0, "u0")
    v.broadcastable(t=t, s=s, u0=u0)
    if np.any(u0 >= s):
        raise ValueError("u0 must be < s")
    if depth == 1:
        return s - (s - u0) * np.exp(-t / tau)
    if depth == 2:
        return mode_trajectory(t, s, u0, tau)
    t, s, u0 = np.broadcast_arrays(t, s, u0)
    out = np.empty(t.shape)
    pairs = np.stack([s.ravel(), u0.ravel()], axis=1)
    unique_pairs, inverse = np.unique(pairs, axis=0, return_inverse=True)
    flat_t, flat_out = t.ravel(), out.reshape(-1)
    for k, (s_k, u0_k) in enumerate(unique_pairs):
        mask = inverse.ravel() == k
        times = flat_t[mask]
        rate = depth * s_k / tau
        sol = integrate.solve_ivp(
            lambda _, z: rate * (s_k * expit(z)) ** (1.0 - 2.0 / depth),
            (0.0, max(float(times.max()), 1e-300)), [np.log(u0_k / (s_k - u0_k))],
            method="DOP853", rtol=1e-12, atol=1e-12, dense_output=True, events=_learned)
        end = sol.t[-1]         # from z = 50 on, u = s to double precision: stop there (z would overflow by t = 1e300)
        flat_out[mask] = np.where(times <= end, s_k * expit(sol.sol(np.minimum(times, end))[0]), s_k)
    return out


def _learned(_, z):
    """Event of :func:`deep_mode_trajectory`'s ODE: the log-odds reach 50, beyond which ``s * expit(z) == s``."""
    return z[0] - 50.0


_learned.terminal = True


def imbalanced_mode_trajectory(t, s, u0, imbalance, tau=1.0):
    r"""Mode strength of a three-layer network started off balance, :math:`b^2 - a^2 = m` (closed form).

    The conserved imbalance :math:`m = b^2 - a^2` of Eqs. 8-9 (``imbalance``; Dominé et al. 2024 call it :math:`\lambda`,
    the book keeps :math:`\lambda` for the learning rate) gives :math:`a^2 + b^2 = \sqrt{m^2 + 4u^2}`, so the mode
    strength :math:`u = ab` obeys

    .. math:: \tau\,\frac{du}{dt} = \sqrt{m^2 + 4u^2}\,(s - u).

    With :math:`u = |m| w / (1 - w^2)` (:math:`w = \tanh(\theta/2)` in the hyperbolic coordinates of the paper's
    App. A) this becomes the Riccati equation :math:`\tau\dot w = s(1-w^2) - |m| w`, solved in closed form.
    :math:`m = 0` recovers Eq. 12 (the sigmoid, "rich" regime); for :math:`|m| \gg s` the rise is nearly
    exponential with rate :math:`|m|/\tau` (the "lazy" regime of Dominé et al. 2024). The time to reach a given
    strength is :func:`imbalanced_learning_time`.

    Parameters
    ----------
    t : array_like
        Times >= 0.
    s, u0 : array_like
        Singular value (> 0) and initial strength :math:`u_0 = a_0 b_0` (> 0).
    imbalance : array_like
        Imbalance :math:`m = b_0^2 - a_0^2`; only :math:`|m|` matters.
    tau : float
        Time constant.

    Returns
    -------
    numpy.ndarray
        :math:`u(t)` broadcast over all arguments.

    References
    ----------
    Saxe, McClelland & Ganguli (2014), Eqs. 8-9 and App. A; Dominé et al. (2024), lambda-balanced initialisation.
    """
    t = _times(t)
    s = v.positive(s, "s")
    u0 = v.positive(u0, "u0")
    m = np.abs(v.as_float_array(imbalance, "imbalance"))
    tau = v.positive_scalar(tau, "tau")
    v.broadcastable(t=t, s=s, u0=u0, imbalance=m)
    # The Riccati solution is a Moebius map of w0 = w(0); written with |w_-|, 1 - E and A(x) = (1 - w_x)/m (finite as
    # m -> 0), every sum below has terms of one sign, so no regime (m -> 0, m -> inf, tiny u0) loses digits.
    def one_minus_w_over_m(x):
        r = np.hypot(m, 2 * x)
        return (1 + m / (r + 2 * x)) / (m + r)

    root = np.hypot(m, 2 * s)
    w_plus = 2 * s / (m + root)                           # the fixed point u = s
    w_minus = (m + root) / (2 * s)                        # minus the Riccati equation's other root
    w0 = 2 * u0 / (m + np.hypot(m, 2 * u0))
    a_plus, a_zero = one_minus_w_over_m(s), one_minus_w_over_m(u0)
    decay, rise = np.exp(-root * t / tau), -np.expm1(-root * t / tau)
    numerator = w0 * w_plus + w0 * w_minus * decay + rise                   # w = numerator / denominator
    denominator = w0 * rise + w_minus + w_plus * decay
    gap = a_plus * (w_minus * rise + w0) + decay * (a_zero - a_plus + a_zero * w_minus)   # (1 - w) denominator / m
    return numerator / (gap * (1 + numerator / denominator))              # u = m w / (1 - w^2)


def mode_vector_field(a, b, s, tau=1.0):
    r"""Gradient-flow vector field of one decoupled mode of a three-layer network (Eqs. 8-9).

    .. math:: \tau\,\dot a = b\,(s - ab), \qquad \tau\,\dot b = a\,(s - ab),

    gradient descent on :math:`E = \frac{1}{2\tau}(s - ab)^2`. Trajectories conserve the imbalance :math:`b^2 - a^2`
    (hyperbolas) and end on the hyperbola of fixed points :math:`ab = s`; the origin is a saddle.

    Parameters
    ----------
    a, b : array_like
        Mode coordinates: the input-to-hidden and hidden-to-output weights of the mode.
    s : float
        Singular value (> 0).
    tau : float
        Time constant.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        :math:`(\dot a, \dot b)`, broadcast over ``a`` and ``b``.
    """
    a = v.as_float_array(a, "a")
    b = v.as_float_array(b, "b")
    v.broadcastable(a=a, b=b)
    s = v.positive_scalar(s, "s")
    tau = v.positive_scalar(tau, "tau")
    err = s - a * b
    return b * err / tau, a * err / tau


def balanced_chain_hessian(s, u, depth, tau=1.0):
    r"""Eigenvalues of one mode's Hessian on the balanced manifold, at mode strength ``u`` (App. B).

    For :math:`E(a_1,\dots,a_D) = \frac{1}{2\tau}\big(s - \prod_i a_i\big)^2` at :math:`a_i = a = u^{1/D}` the
    Hessian has diagonal :math:`p = a^{2D-2}/\tau` and off-diagonal :math:`q = (2a^{2D-2} - s\,a^{D-2})/\tau`, so its
    eigenvalues are

    .. math:: \kappa_\parallel = p + (D-1)q = \frac{(2D-1)\,u^{2-2/D} - (D-1)\,s\,u^{1-2/D}}{\tau}
              \quad\text{along } (1,\dots,1), \qquad
              \kappa_\perp = p - q = \frac{u^{1-2/D}\,(s-u)}{\tau}
              \quad\text{on the } D-1 \text{ directions that unbalance the chain.}

    :math:`\kappa_\parallel > \kappa_\perp` only for :math:`u > s/2`: on the first half of the path the top
    eigenvector is *not* :math:`(1,\dots,1)` (and :math:`\kappa_\parallel < 0` for :math:`u < \frac{D-1}{2D-1}s`).
    For every :math:`0 \le u < s` both are below :math:`\kappa_1` (:func:`hessian_top_eigenvalue`), the value of
    :math:`\kappa_\parallel` at the optimum :math:`u = s`, where :math:`\kappa_\perp = 0`.

    Parameters
    ----------
    s : array_like
        Singular value(s) (> 0).
    u : array_like
        Mode strength(s) :math:`u = a^D \ge 0` on the balanced manifold.
    depth : int
        Number of weight matrices D >= 2 (the paper's :math:`N_l - 1`; a chain of one has no :math:`\kappa_\perp`).
    tau : float
        Time constant of the loss's prefactor.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        :math:`(\kappa_\parallel, \kappa_\perp)`, broadcast over ``s`` and ``u``.

    References
    ----------
    Saxe, McClelland & Ganguli (2014), App. B, Eqs. 27-42 (with the square of the energy, see
    :func:`hessian_top_eigenvalue`).
    """
    depth = v.depth(depth)
    if depth < 2:
        raise ValueError(f"depth must be >= 2 for a chain with directions across the balanced manifold, got {depth}")
    s = v.positive(s, "s")
    u = v.as_float_array(u, "u")
    if np.any(u < 0):
        raise ValueError(f"u must be >= 0 (a balanced chain of positive scalars), got min {u.min():g}")
    tau = v.positive_scalar(tau, "tau")
    u_power = u ** (1.0 - 2.0 / depth)
    along = ((2 * depth - 1) * u - (depth - 1) * s) * u_power / tau
    across = u_power * (s - u) / tau
    return along, across


def hessian_top_eigenvalue(s, depth, tau=1.0):
    r"""Largest Hessian eigenvalue of one mode's loss along its learning path: its value at the optimum (App. B).

    For :math:`E(a_1,\dots,a_D) = \frac{1}{2\tau}\big(s - \prod_i a_i\big)^2` on the balanced manifold, the
    Hessian's eigenvalues at every strength :math:`0 \le u \le s` are those of :func:`balanced_chain_hessian`. Their
    maximum over the path is reached at the optimum :math:`u = s` (:math:`a = s^{1/D}`), along :math:`(1,\dots,1)`:

    .. math:: \kappa_1 = \frac{D}{\tau}\, s^{2 - 2/D}
              \qquad\big(= (N_l - 1)\,\tfrac{1}{\tau}\, s^{(2N_l - 4)/(N_l - 1)}\ \text{in the paper's}\ N_l\big);

    all other eigenvalues vanish there. (Along most of the path the top eigenvector is not :math:`(1,\dots,1)`:
    that direction has the largest eigenvalue only once :math:`u > s/2`.) Gradient descent converges to the optimum
    only for a learning rate below :math:`2/\kappa_1`, so the best rate scales as :math:`1/\kappa_1 =
    1/(D\,s_{\max}^{2-2/D})`, not as :math:`1/(D s_{\max}^2)`: the two differ by :math:`s_{\max}^{2/D}`, which
    matters for shallow networks.

    Parameters
    ----------
    s : array_like
        Singular value(s) (> 0).
    depth : int
        Number of weight matrices D >= 1 (the paper's :math:`N_l - 1`).
    tau : float
        Time constant of the loss's prefactor.

    Returns
    -------
    numpy.ndarray

    References
    ----------
    Saxe, McClelland & Ganguli (2014), App. B, Eqs. 27-42 (Eqs. 27 and 32 drop the square of the energy: a typo).
    """
    depth = v.depth(depth)
    s = v.positive(s, "s")
    tau = v.positive_scalar(tau, "tau")
    return depth * s ** (2.0 - 2.0 / depth) / tau


def two_cycle(rate, depth):
    r"""Period-2 orbit of a balanced mode under gradient descent just past the stability limit :math:`2/\kappa_1`.

    With :math:`a = s^{1/D}\,b` the balanced update :math:`a \leftarrow a + \lambda(s - a^D)a^{D-1}` becomes, for any
    :math:`s`,

    .. math:: b \leftarrow f(b) = b + \frac{\lambda\kappa_1}{D}\,(1 - b^D)\,b^{D-1}, \qquad u/s = b^D,

    with :math:`\kappa_1 = D s^{2-2/D}` (:func:`hessian_top_eigenvalue`). At the optimum :math:`f'(1) = 1 -
    \lambda\kappa_1`, so the fixed point loses stability at :math:`\lambda\kappa_1 = 2` in a period-doubling: just
    above, the mode settles on two strengths on either side of :math:`s`, alternately, instead of converging.

    Parameters
    ----------
    rate : float
        :math:`\lambda\kappa_1`, in (2, 2.4] (near 2.4 and beyond, further period-doublings follow).
    depth : int
        Number of weight matrices D >= 2 (for D = 1 the update is linear and has no 2-cycle).

    Returns
    -------
    (float, float)
        The orbit's two strengths :math:`u/s`, below and above 1.
    """
    depth = v.depth(depth)
    if depth < 2:
        raise ValueError(f"depth must be >= 2 (a linear update has no 2-cycle), got {depth}")
    rate = v.positive_scalar(rate, "rate")
    if not 2.0 < rate <= 2.4:
        raise ValueError(f"rate (lr * kappa_1) must be in (2, 2.4], got {rate}")
    step = rate / depth

    def f(b):
        return b + step * (1.0 - b ** depth) * b ** (depth - 1)

    def g(b):
        return f(f(b)) - b

    # f(f(b)) - b ~ rate (rate - 2) (b - 1) < 0 just below b = 1; the orbit's lower point is the first sign change.
    below = 1.0 - np.geomspace(1e-12, 0.6, 600)
    values = g(below)
    first = int(np.argmax(values >= 0))
    if values[first] < 0:
        raise RuntimeError(f"no 2-cycle found at rate {rate} and depth {depth}")
    low = optimize.brentq(g, below[first], below[first - 1], xtol=1e-15, rtol=4 * np.finfo(float).eps)
    return float(low ** depth), float(f(low) ** depth)


def two_cycle_band_edge(depth, rel_tol=0.1):
    r"""Largest :math:`\lambda\kappa_1` at which the 2-cycle of :func:`two_cycle` stays within ``rel_tol`` of :math:`s`.

    Between :math:`\lambda\kappa_1 = 2` and this edge a mode is "learned" to within ``rel_tol`` although it never
    converges; a criterion :math:`|u - s| \le \epsilon s` (e.g. :meth:`dlnlib.train.RateScan.from_modes`) accepts
    such rates, and its best rate lies just below the edge of the strongest mode.

    Parameters
    ----------
    depth : int
        Number of weight matrices D >= 2.
    rel_tol : float
        :math:`\epsilon`, such that the edge lies between :math:`\lambda\kappa_1 = 2.0001` and 2.4 (about 0.01 to 0.2).

    Returns
    -------
    float
    """
    rel_tol = v.positive_scalar(rel_tol, "rel_tol")

    def excess(rate):
        low, high = two_cycle(rate, depth)
        return max(1.0 - low, high - 1.0) - rel_tol

    if excess(2.4) < 0 or excess(2.0001) > 0:
        raise ValueError(f"rel_tol must lie between the 2-cycle's deviations at lr * kappa_1 = 2.0001 and 2.4, got {rel_tol}")
    return float(optimize.brentq(excess, 2.0001, 2.4, xtol=1e-12))


def learning_time_at_optimal_rate(s, u0, uf, depth, c=1.0):
    r"""Learning time of a balanced mode when the rate is scaled with depth as the optimum requires (App. B.1).

    Setting :math:`\tau = c\,\kappa_1(a_{\rm opt})` (:func:`hessian_top_eigenvalue` with unit time constant) in the
    integral of Eq. 15 gives a time that grows with depth but stays bounded: as :math:`D \to \infty` it tends to

    .. math:: t_\infty = c\left[\ln\frac{u_f(s - u_0)}{u_0(s - u_f)} + \frac{s}{u_0} - \frac{s}{u_f}\right],

    so the extra delay of an infinitely deep network over a shallow one is finite but scales as :math:`s/u_0`
    (Eqs. 43-45). ``depth=numpy.inf`` returns this limit.

    Parameters
    ----------
    s, u0, uf : array_like
        Singular value and start and end strengths, ``0 < u0 < uf < s``.
    depth : int or numpy.inf
        Number of weight matrices D >= 1, or ``numpy.inf``.
    c : float
        Proportionality constant of the learning rate, :math:`\lambda = 1/(c\,\kappa_1)`.

    Returns
    -------
    numpy.ndarray
        Times in steps of gradient descent at that rate.

    References
    ----------
    Saxe, McClelland & Ganguli (2014), App. B.1, Eqs. 43-45; Eq. 17 for the limit.
    """
    c = v.positive_scalar(c, "c")
    if isinstance(depth, float) and np.isinf(depth) and depth > 0:
        s, u0, uf = _check_interval(s, u0, uf)
        return c * (np.log(uf * (s - u0) / (u0 * (s - uf))) + s / u0 - s / uf)
    # learning_time is proportional to tau, so tau = c * kappa_1(s) can be applied afterwards, per element.
    return c * hessian_top_eigenvalue(s, depth) * learning_time(s, u0, uf, depth)


def effective_initial_strength(std, n_hidden):
    r"""Initial strength that a mode of a three-layer network effectively starts from, from small random weights.

    Project i.i.d. Gaussian weights of standard deviation :math:`\sigma_0` on the task's singular vectors: mode
    :math:`\alpha` is a pair of vectors :math:`a, b \in \mathbb R^{N_2}` (column :math:`\alpha` of :math:`W^{21}V`, row
    :math:`\alpha` of :math:`U^TW^{32}`) with i.i.d. :math:`\mathcal N(0, \sigma_0^2)` entries. Near the origin the
    dynamics are linear, :math:`\tau\dot a = s\,b`, :math:`\tau\dot b = s\,a`: the sum :math:`a + b` grows as
    :math:`e^{st/\tau}` and the difference decays as :math:`e^{-st/\tau}`, so

    .. math:: u(t) = a\cdot b = \tfrac14\lVert a_0 + b_0\rVert^2 e^{2st/\tau} - \tfrac14\lVert a_0 - b_0\rVert^2
              e^{-2st/\tau},

    which after a time of order :math:`\tau/s` is the early part of the sigmoid (Eq. 12) started from
    :math:`u_0 = \tfrac14\lVert a_0 + b_0\rVert^2`. Its expectation is

    .. math:: u_0^{\rm eff} = \tfrac14\,\mathbb E\lVert a_0 + b_0\rVert^2 = \tfrac12 N_2\sigma_0^2,

    larger by :math:`\sqrt{N_2}/2` than the typical initial :math:`|a_0\cdot b_0| = \sigma_0^2\sqrt{N_2}`. Inverting,
    :math:`\sigma_0 = \sqrt{2u_0/N_2}` starts the modes at :math:`u_0` on average. This is the strength of a mode on its
    own; a mode that rises after others have been learned starts lower (see
    :func:`dlnlib.networks.effective_initial_strengths`).

    Parameters
    ----------
    std : array_like
        Standard deviation :math:`\sigma_0` (> 0) of the entries of :math:`W^{21}` and :math:`W^{32}`.
    n_hidden : int
        Hidden width :math:`N_2`.

    Returns
    -------
    numpy.ndarray
        :math:`N_2\sigma_0^2/2`, broadcast over ``std``.

    References
    ----------
    Saxe, McClelland & Ganguli (2014), Eqs. 8-12 and Fig. 3 (random initial conditions; the paper does not give their
    scale).
    """
    std = v.positive(std, "std")
    n_hidden = v.count(n_hidden, "n_hidden")
    return 0.5 * n_hidden * std ** 2


def imbalanced_learning_time(s, u0, uf, imbalance, tau=1.0):
    r"""Time for a three-layer mode with imbalance :math:`m = b^2 - a^2` to grow from ``u0`` to ``uf`` (App. A).

    Integrating :math:`\tau\,\dot u = \sqrt{m^2 + 4u^2}\,(s - u)` (see :func:`imbalanced_mode_trajectory`)
    with :math:`\omega(u) = \sqrt{m^2 + 4u^2}` and :math:`\omega_s = \omega(s)` gives

    .. math:: t = \frac{\tau}{\omega_s}\left[\ln\frac{4su + m^2 + \omega_s\,\omega(u)}{s - u}\right]_{u_0}^{u_f},

    which for :math:`m = 0` is Eq. 11. In the paper's hyperbolic coordinates, :math:`a = \sqrt{|m|}\cosh\frac\theta2`,
    :math:`b = \sqrt{|m|}\sinh\frac\theta2`, one has :math:`ab = \frac{|m|}{2}\sinh\theta` and
    :math:`\tau\dot\theta = 2s - |m|\sinh\theta`. The paper's App. A (its :math:`c_0` is our :math:`|m|`) writes
    :math:`ab = c_0\sinh\theta`, and its
    Eqs. 24-26 are this result for a mode of singular value :math:`s/2` growing from :math:`u_0/2` to :math:`u_f/2`;
    in the balanced limit that is exactly twice Eq. 11.

    Parameters
    ----------
    s, u0, uf : array_like
        Singular value and start and end strengths, ``0 < u0 < uf < s``.
    imbalance : array_like
        :math:`m = b^2 - a^2`, conserved by the flow; only :math:`|m|` matters.
    tau : float
        Time constant.

    Returns
    -------
    numpy.ndarray
        Times, broadcast over the arguments.

    References
    ----------
    Saxe, McClelland & Ganguli (2014), App. A, Eqs. 23-26 (with the factor 2 corrected).
    """
    tau = v.positive_scalar(tau, "tau")
    s, u0, uf = _check_interval(s, u0, uf)
    m2 = v.as_float_array(imbalance, "imbalance") ** 2
    omega_s = np.sqrt(m2 + 4 * s ** 2)

    def antiderivative(u):
        return np.log((4 * s * u + m2 + omega_s * np.sqrt(m2 + 4 * u ** 2)) / (s - u))

    return tau / omega_s * (antiderivative(uf) - antiderivative(u0))
