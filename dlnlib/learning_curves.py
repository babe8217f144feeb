r"""Learning curves of gradient descent for a linear classifier on a Gaussian mixture, exactly and in the
large-dimensional limit (Liao & Couillet 2018).

Data: :math:`x_i = y_i\mu + z_i`, :math:`z_i \sim \mathcal N(0, I_p)`, balanced labels :math:`y_i = \pm1`,
:math:`X \in \mathbb R^{p\times n}`, :math:`c = p/n`. Gradient descent on :math:`L(w) = \frac1{2n}\lVert y - X^Tw\rVert^2
+ \frac\gamma2\lVert w\rVert^2` from :math:`w_0 = \sigma\,\mathcal N(0, I_p)/\sqrt p`, classifying by
:math:`\operatorname{sign}(w^Tx)`. For a fixed :math:`w`, the score :math:`w^Tx` of a fresh sample of class :math:`y`
is Gaussian with mean :math:`y\,\mu^Tw` and variance :math:`\lVert w\rVert^2`, so the test error is exactly
:math:`Q(\mu^Tw/\lVert w\rVert)`. As :math:`p, n \to \infty` at fixed :math:`c`, :math:`\mu^Tw(t) \to E(t)` and
:math:`\lVert w(t)\rVert^2 \to V(t)`, deterministic integrals against the Marchenko–Pastur law and an isolated
eigenvalue, and the error tends to :math:`Q(E/\sqrt V)`. The formulas follow the first author's companion code
(RMT4ML, §5.2), with :math:`f_t(x) = e^{-\alpha t x}` (gradient flow at rate :math:`\alpha`).
"""
from __future__ import annotations

import numpy as np
from scipy import integrate
from scipy.special import erfc

from . import _validation as v

__all__ = ["gd_trajectory", "error_rate", "mixture_error", "mean_scores", "marchenko_pastur_density",
           "isolated_eigenvalue", "deterministic_errors", "gaussian_mixture", "simulate"]


def gd_trajectory(X, y, w0, lr: float, steps, gamma: float = 0.0) -> np.ndarray:
    r"""Exact gradient-descent iterates :math:`w_t` at the requested step counts, without iterating.

    :math:`w_{t+1} = w_t - \alpha[(\hat C + \gamma I)w_t - \frac1nXy]` with :math:`\hat C = \frac1nXX^T`, so

    .. math:: w_t = (I - \alpha\hat C_\gamma)^t w_0 + \big(I - (I - \alpha\hat C_\gamma)^t\big)\hat C_\gamma^+\tfrac1nXy,
              \qquad \hat C_\gamma = \hat C + \gamma I .

    In the eigenbasis of :math:`\hat C` every coordinate relaxes geometrically, so any :math:`t` costs one
    eigendecomposition. For :math:`p > n` (and :math:`\gamma = 0`) :math:`\hat C` has a null space of dimension
    :math:`p - n`: there the pseudo-inverse :math:`\hat C^+` is zero, the factor is 1, and :math:`w_t` keeps the
    component of :math:`w_0` for ever (Liao & Couillet 2018).

    Parameters
    ----------
    X : array_like
        ``(p, n)`` inputs (columns are samples).
    y : array_like
        ``(n,)`` labels.
    w0 : array_like
        ``(p,)`` initial weights.
    lr : float
        Step size :math:`\alpha`.
    steps : array_like of int
        Step counts :math:`t \ge 0`.
    gamma : float
        Ridge parameter :math:`\gamma \ge 0`.

    Returns
    -------
    numpy.ndarray
        ``(len(steps), p)``.
    """
    X, y = _samples(X, y)
    w0 = v.array(w0, "w0", shape=(X.shape[0],))
    lr = v.positive_scalar(lr, "lr")
    steps = np.atleast_1d(v.integer_array(steps, "steps", minimum=0))
    gamma = v.nonnegative_scalar(gamma, "gamma")
    if steps.ndim != 1:
        raise ValueError(f"steps must be a 1-D array of step counts, got shape {steps.shape}")
    n = X.shape[1]
    lam, vecs = np.linalg.eigh(X @ X.T / n + gamma * np.eye(X.shape[0]))
    b = vecs.T @ (X @ y / n)
    a0 = vecs.T @ w0
    factor = 1.0 - lr * lam
    if np.any(np.abs(factor) >= 1.0 + 1e-12):
        raise ValueError(f"lr = {lr:g} is unstable: it must be below 2 / lambda_max = {2 / lam.max():g}")
    safe = np.where(lam > 1e-12, lam, 1.0)
    fixed = np.where(lam > 1e-12, b / safe, 0.0)
    coords = factor[None, :] ** steps[:, None] * (a0 - fixed) + fixed
    return coords @ vecs.T


def _samples(X, y) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``X`` ``(p, n)`` with at least one sample and labels ``y`` ``(n,)``, checked."""
    X, y = v.array(X, "X", ndim=2, nonempty=True), v.as_float_array(y, "y")
    if y.shape != (X.shape[1],):
        raise ValueError(f"y must hold one label per column of X (p, n) = {X.shape}, got shape {y.shape}")
    return X, y


def _weight_path(w, p: int) -> np.ndarray:
    """Weights ``(p,)`` or ``(T, p)``, checked and returned as ``(T, p)``."""
    w = v.as_float_array(w, "w")
    if w.ndim not in (1, 2) or w.shape[-1] != p:
        raise ValueError(f"w must be ({p},) or (T, {p}) to match X (p, n), got shape {w.shape}")
    return np.atleast_2d(w)


def error_rate(w, X, y) -> np.ndarray:
    r"""Fraction of samples misclassified by :math:`\operatorname{sign}(w^Tx)`; ``w`` may be ``(T, p)``."""
    X, y = _samples(X, y)
    return np.mean(np.sign(_weight_path(w, X.shape[0]) @ X) != y, axis=-1)


def mean_scores(w, X, y) -> np.ndarray:
    r"""Mean signed score :math:`\frac1n\sum_i y_i\,w^Tx_i` (the simulated counterpart of :math:`E`)."""
    X, y = _samples(X, y)
    return (_weight_path(w, X.shape[0]) @ X @ y) / len(y)


def _q(x):
    return 0.5 * erfc(np.asarray(x) / np.sqrt(2.0))


def _error(E, V):
    r""":math:`Q(E/\sqrt V)`, also where :math:`V = 0` (a deterministic score): 1/2 for a zero score (a coin flip),
    else 0 or 1 by its sign."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(V > 0, E / np.sqrt(np.maximum(V, 0.0)), np.sign(E) * np.inf)
    return _q(np.where((V <= 0) & (E == 0), 0.0, ratio))


def mixture_error(w, mean) -> np.ndarray:
    r"""Exact test error of :math:`\operatorname{sign}(w^Tx)` on the mixture :math:`x = y\mu + z`,
    :math:`z\sim\mathcal N(0, I_p)`: :math:`Q(\mu^Tw/\lVert w\rVert)`, with :math:`Q` the Gaussian tail.

    Given :math:`w`, the score :math:`w^Tx` of class :math:`y` is :math:`\mathcal N(y\,\mu^Tw, \lVert w\rVert^2)`, so no
    test set is needed (:math:`w = 0` scores every sample 0: a coin flip, 1/2). ``w`` may be ``(p,)`` or ``(T, p)``;
    returns one error per row.
    """
    w = np.atleast_2d(v.as_float_array(w, "w"))
    mean = v.as_float_array(mean, "mean")
    if mean.ndim != 1 or w.shape[-1] != mean.size:
        raise ValueError(f"w must be (p,) or (T, p) and mean (p,), got {w.shape} and {mean.shape}")
    return _error(w @ mean, np.sum(w ** 2, axis=-1))


def marchenko_pastur_density(x, c: float) -> np.ndarray:
    r"""Density of the continuous part of the Marchenko–Pastur law of :math:`\frac1nZZ^T`, :math:`Z` ``(p, n)`` white:

    .. math:: \nu(x) = \frac{\sqrt{(x - \lambda_-)(\lambda_+ - x)}}{2\pi c\,x}, \qquad \lambda_\pm = (1 \pm \sqrt c)^2,

    on :math:`[\lambda_-, \lambda_+]` and 0 elsewhere, with :math:`c = p/n`. It integrates to :math:`\min(1, 1/c)`; for
    :math:`c > 1` the remaining fraction :math:`1 - 1/c` of the eigenvalues sits at 0.
    """
    x = v.as_float_array(x, "x")
    c = v.positive_scalar(c, "c")
    lo, hi = (1 - np.sqrt(c)) ** 2, (1 + np.sqrt(c)) ** 2
    inside = (x > lo) & (x < hi)
    safe = np.where(inside, x, 1.0)
    return np.where(inside, np.sqrt(np.abs((safe - lo) * (hi - safe))) / (2 * np.pi * c * safe), 0.0)


def isolated_eigenvalue(c: float, mu_norm2: float) -> float:
    r"""The eigenvalue of :math:`\hat C = \frac1nXX^T` carried by the class mean, outside the Marchenko–Pastur bulk.

    :math:`y_ix_i = \mu + y_iz_i` has second moment :math:`I + \mu\mu^T`, a covariance with one spike
    :math:`1 + \lVert\mu\rVert^2`. The sample covariance then has an isolated eigenvalue (Baik, Ben Arous & Péché 2005)

    .. math:: \lambda_s = (1 + \lVert\mu\rVert^2)\Big(1 + \frac{c}{\lVert\mu\rVert^2}\Big)
              = c + 1 + \lVert\mu\rVert^2 + \frac{c}{\lVert\mu\rVert^2}

    if and only if :math:`\lVert\mu\rVert^4 > c`; below that threshold the spike is swallowed by the bulk and this
    returns ``nan``.
    """
    c, m2 = v.positive_scalar(c, "c"), v.positive_scalar(mu_norm2, "mu_norm2")
    return c + 1 + m2 + c / m2 if m2 ** 2 > c else float("nan")


def deterministic_errors(t, c: float, mu_norm2: float, sigma2: float, lr: float, gamma: float = 0.0) -> dict:
    r"""Large-dimensional train and test misclassification rates at times ``t`` (Liao & Couillet 2018).

    With the Marchenko–Pastur density :math:`\nu` (:func:`marchenko_pastur_density`), the isolated eigenvalue
    :math:`\lambda_s` (:func:`isolated_eigenvalue`) of weight :math:`\kappa = (\lVert\mu\rVert^4 - c)^+/\lVert\mu\rVert^2`
    and :math:`\omega(x) = \sqrt{(x-\lambda_-)(\lambda_+-x)}/(2\pi(\lambda_s - x))`, the mean and the variance of the
    test score, :math:`E = \lim\mu^Tw(t)` and :math:`V = \lim\lVert w(t)\rVert^2`, are

    .. math:: E(t) = \int\frac{1 - f_t(x)}{x}\,\omega(x)\,dx + \kappa\frac{1 - f_t(\lambda_s)}{\lambda_s},

    .. math:: V(t) = \frac{\lVert\mu\rVert^2 + c}{\lVert\mu\rVert^2}\Big[\int\frac{(1-f_t)^2}{x^2}\omega\,dx
              + \kappa\frac{(1 - f_t(\lambda_s))^2}{\lambda_s^2}\Big] + \sigma^2\Big[\int f_t^2\,\nu\,dx
              + (1 - c^{-1})^+\Big],

    and :math:`P_{\rm test} = Q(E/\sqrt V)`. The training score has mean :math:`E_{\rm tr} = \frac{\lVert\mu\rVert^2 + c}
    {\lVert\mu\rVert^2}E` and variance :math:`V_{\rm tr}` (second moment :math:`\lim w^T\hat Cw` minus
    :math:`E_{\rm tr}^2`), and :math:`P_{\rm train} = Q(E_{\rm tr}/\sqrt{V_{\rm tr}})`. Here
    :math:`f_t(x) = e^{-\alpha t(x + \gamma)}` and denominators :math:`x` become :math:`x + \gamma`.

    Parameters
    ----------
    t : array_like
        Times (in steps of rate ``lr``).
    c : float
        :math:`p/n`.
    mu_norm2 : float
        :math:`\lVert\mu\rVert^2`.
    sigma2 : float
        Initialisation scale :math:`\sigma^2 = \mathbb E\lVert w_0\rVert^2`.
    lr : float
        :math:`\alpha`.
    gamma : float
        Ridge parameter :math:`\gamma \ge 0`.

    Returns
    -------
    dict
        ``test``, ``train`` (error rates), ``E``, ``V`` (mean and variance of the test score), ``E_train``,
        ``V_train`` (the same for the training score); arrays shaped like ``t``.
    """
    t = np.atleast_1d(v.nonnegative(t, "t"))
    c, m2 = v.positive_scalar(c, "c"), v.positive_scalar(mu_norm2, "mu_norm2")
    sigma2 = v.nonnegative_scalar(sigma2, "sigma2")
    lr = v.positive_scalar(lr, "lr")
    gamma = v.nonnegative_scalar(gamma, "gamma")
    lo, hi = (1 - np.sqrt(c)) ** 2, (1 + np.sqrt(c)) ** 2
    lam_s = c + 1 + m2 + c / m2          # the spike's position; it only counts (kappa > 0) above the threshold
    kappa = max(m2 ** 2 - c, 0.0) / m2
    root = lambda x: np.sqrt(np.maximum((x - lo) * (hi - x), 0.0))  # noqa: E731  (quad calls these on scalars)
    nu = lambda x: root(x) / (2 * np.pi * c * x)  # noqa: E731  (marchenko_pastur_density)
    omega = lambda x: root(x) / (2 * np.pi * (lam_s - x))  # noqa: E731
    scale = (m2 + c) / m2

    def integral(fn):
        # substitution x = lo + (hi - lo)(1 - cos u)/2 removes the square-root endpoints
        return integrate.quad(lambda u: fn(lo + (hi - lo) * (1 - np.cos(u)) / 2) * (hi - lo) * np.sin(u) / 2,
                              0.0, np.pi, limit=200, epsabs=1e-12)[0]

    out = {k: np.empty_like(t) for k in ("E", "V", "E_train", "V_train")}
    for i, ti in np.ndenumerate(t):
        f = lambda x: np.exp(-lr * ti * (x + gamma))  # noqa: E731
        fs = float(f(lam_s))
        E = integral(lambda x: (1 - f(x)) / (x + gamma) * omega(x)) + kappa * (1 - fs) / (lam_s + gamma)
        bulk = integral(lambda x: (1 - f(x)) ** 2 / (x + gamma) ** 2 * omega(x)) + kappa * (1 - fs) ** 2 / (lam_s + gamma) ** 2
        init = integral(lambda x: f(x) ** 2 * nu(x)) + max(1 - 1 / c, 0.0) * np.exp(-2 * lr * ti * gamma)
        bulk_tr = integral(lambda x: x * (1 - f(x)) ** 2 / (x + gamma) ** 2 * omega(x)) + \
            kappa * lam_s * (1 - fs) ** 2 / (lam_s + gamma) ** 2
        init_tr = integral(lambda x: x * f(x) ** 2 * nu(x))
        out["E"][i], out["V"][i] = E, scale * bulk + sigma2 * init
        out["E_train"][i] = scale * E
        out["V_train"][i] = scale * bulk_tr + sigma2 * init_tr - out["E_train"][i] ** 2
    out["test"] = _error(out["E"], out["V"])
    out["train"] = _error(out["E_train"], out["V_train"])
    return out


def gaussian_mixture(mean, n: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
    r"""``n`` samples :math:`x_i = y_i\mu + z_i` of the balanced two-class mixture; returns ``X`` ``(p, n)`` and ``y``."""
    mean = v.array(mean, "mean", ndim=1, nonempty=True)
    n = v.count(n, "n")
    rng = v.generator(seed)
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    return np.outer(mean, y) + rng.standard_normal((mean.size, n)), y


def _labelled_set(pair, name: str, p: int, min_size: int, size_rule: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` with ``X`` ``(p, N)``, labels ``y`` ``(N,)`` in {-1, +1} and ``N >= min_size``, or a ValueError."""
    X, y = v.as_float_array(pair[0], f"{name}[0]"), v.as_float_array(pair[1], f"{name}[1]")
    if X.shape != (p, y.size) or y.size < min_size or not np.all(np.abs(y) == 1):
        raise ValueError(f"{name} must be (X (p, N), y (N,)) with p = {p}, labels +-1 and {size_rule}, "
                         f"got {X.shape} and {y.shape}")
    return X, y


def simulate(mean, n: int, sigma2: float, lr: float, steps, n_draws: int = 20, gamma: float = 0.0, seed=None,
             population=None, test=None) -> dict:
    r"""Train and test error rates of :func:`gd_trajectory` over ``n_draws`` independent data sets and initialisations.

    Every draw has its own ``n`` training samples and its own :math:`w_0 = \sigma\,\mathcal N(0, I_p)/\sqrt p`, so
    the mean over draws estimates the expectation that the deterministic equivalents describe. By default the data
    are the Gaussian mixture of :func:`gaussian_mixture` and the test error is exact, :func:`mixture_error`. With
    ``population = (X, y)``, a finite population (e.g. :func:`dlnlib.tasks.whitened_digit_pair`), each draw takes
    ``n`` of its samples without replacement for training and tests on the rest. The held-out samples are the
    population *minus* the training set, so when ``n`` is a sizeable fraction of it their statistics differ from the
    population's in the direction the weights were trained on; ``E_held`` and ``V_held`` (mean and variance of
    :math:`y\,w^Tx` over them) measure this. With ``test = (X_test, y_test)`` as well (e.g. from
    :func:`dlnlib.tasks.whitened_digit_split`), every draw is tested on that fixed set instead, disjoint from the
    population, so the held-out set is a fresh sample; ``E_held`` and ``V_held`` are then its score moments.

    Parameters
    ----------
    mean : array_like
        :math:`\mu`, ``(p,)``; also used for the score mean :math:`\mu^Tw` when ``population`` is given.
    n : int
        Training samples per draw.
    sigma2 : float
        :math:`\sigma^2`, the expected :math:`\lVert w_0\rVert^2`.
    lr, steps, gamma
        As for :func:`gd_trajectory`.
    n_draws : int
    seed : int, numpy.random.Generator or None
    population : tuple of array_like, optional
        ``(X, y)`` with ``X`` ``(p, N)`` and labels ``y`` ``(N,)`` in :math:`\{-1, +1\}`, ``N > n``.
    test : tuple of array_like, optional
        ``(X_test, y_test)``, ``(p, N_test)`` and ``(N_test,)`` with labels :math:`\pm1`; only with ``population``.

    Returns
    -------
    dict
        Means over draws, each ``(len(steps),)``: ``train``, ``test`` (error rates), ``E`` (:math:`\mu^Tw_t`), ``V``
        (:math:`\lVert w_t\rVert^2`) and ``score`` (mean training score :math:`\frac1n\sum_iy_iw_t^Tx_i`); their
        standard errors over draws as ``train_se``, ``test_se``, ``E_se``, ``V_se``, ``score_se``; and ``draws``, a dict
        of the per-draw values, ``(n_draws, len(steps))`` each. With ``population``, also ``E_held`` and ``V_held``.
    """
    mean = v.array(mean, "mean", ndim=1, nonempty=True)
    n = v.count(n, "n")
    n_draws = v.count(n_draws, "n_draws", minimum=2)
    sigma = np.sqrt(v.nonnegative_scalar(sigma2, "sigma2"))
    lr, gamma = v.positive_scalar(lr, "lr"), v.nonnegative_scalar(gamma, "gamma")
    steps = np.atleast_1d(v.integer_array(steps, "steps", minimum=0))
    rng = v.generator(seed)
    if population is not None:
        X_pop, y_pop = _labelled_set(population, "population", mean.size, n + 1, f"N > n = {n}")
    if test is not None:
        if population is None:
            raise ValueError("test needs population: the Gaussian mixture's test error is exact")
        X_test, y_test = _labelled_set(test, "test", mean.size, 1, "N > 0")
    keys = ("train", "test", "E", "V", "score") + (("E_held", "V_held") if population is not None else ())
    draws = {k: [] for k in keys}
    for _ in range(n_draws):
        if population is None:
            X, y = gaussian_mixture(mean, n, rng)
        else:
            order = rng.permutation(y_pop.size)
            X, y = X_pop[:, order[:n]], y_pop[order[:n]]
        W = gd_trajectory(X, y, sigma * rng.standard_normal(mean.size) / np.sqrt(mean.size), lr, steps, gamma)
        draws["train"].append(error_rate(W, X, y))
        if population is None:
            draws["test"].append(mixture_error(W, mean))
        else:
            held = (W @ X_test) * y_test if test is not None else (W @ X_pop[:, order[n:]]) * y_pop[order[n:]]
            draws["test"].append(np.mean(held <= 0, axis=1))    # the error rate on the held-out samples
            draws["E_held"].append(held.mean(axis=1))
            draws["V_held"].append(held.var(axis=1))
        draws["E"].append(W @ mean)
        draws["V"].append(np.sum(W ** 2, axis=1))
        draws["score"].append(mean_scores(W, X, y))
    draws = {k: np.array(x) for k, x in draws.items()}
    out = {k: x.mean(axis=0) for k, x in draws.items()}
    out.update({f"{k}_se": x.std(axis=0, ddof=1) / np.sqrt(n_draws) for k, x in draws.items()})
    out["draws"] = draws
    return out
