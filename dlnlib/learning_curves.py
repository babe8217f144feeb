r"""Learning curves of gradient descent for a linear classifier on a Gaussian mixture, exactly and in the
large-dimensional limit (Liao & Couillet 2018).

Data: :math:`x_i = y_i\mu + z_i`, :math:`z_i \sim \mathcal N(0, I_p)`, balanced labels :math:`y_i = \pm1`,
:math:`X \in \mathbb R^{p\times n}`, :math:`c = p/n`. Gradient descent on :math:`L(w) = \frac1{2n}\lVert y - X^Tw\rVert^2
+ \frac\gamma2\lVert w\rVert^2` from :math:`w_0 = \sigma\,\mathcal N(0, I_p)/\sqrt p`, classifying by
:math:`\operatorname{sign}(w^Tx)`. As :math:`p, n \to \infty` at fixed :math:`c`, the test score :math:`w(t)^Tx` of a
fresh sample is Gaussian with mean :math:`E(t)` and second moment :math:`V(t)` given by
integrals against the Marchenko–Pastur law, so the error is :math:`Q(E/\sqrt V)`. The formulas follow the first
author's companion code (RMT4ML, §5.2), with :math:`f_t(x) = e^{-\alpha t x}` (gradient flow at rate :math:`\alpha`).
"""
from __future__ import annotations

import numpy as np
from scipy import integrate
from scipy.special import erfc

from . import _validation as v

__all__ = ["gd_trajectory", "error_rate", "mean_scores", "deterministic_errors", "gaussian_mixture", "simulate"]


def gd_trajectory(X, y, w0, lr: float, steps, gamma: float = 0.0) -> np.ndarray:
    r"""Exact gradient-descent iterates :math:`w_t` at the requested step counts, without iterating.

    :math:`w_{t+1} = w_t - \alpha[(\hat C + \gamma I)w_t - \frac1nXy]` with :math:`\hat C = \frac1nXX^T`. In the
    eigenbasis of :math:`\hat C` every coordinate relaxes geometrically, so any :math:`t` costs one eigendecomposition.

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


def deterministic_errors(t, c: float, mu_norm2: float, sigma2: float, lr: float, gamma: float = 0.0) -> dict:
    r"""Large-dimensional train and test misclassification rates at times ``t`` (Liao & Couillet 2018).

    With :math:`\lambda_\pm = (1 \pm \sqrt c)^2`, the Marchenko–Pastur density
    :math:`\nu(x) = \sqrt{(x - \lambda_-)(\lambda_+ - x)}/(2\pi c x)`, the spike
    :math:`\lambda_s = c + 1 + \lVert\mu\rVert^2 + c/\lVert\mu\rVert^2` (weight
    :math:`\kappa = (\lVert\mu\rVert^4 - c)^+/\lVert\mu\rVert^2`) and
    :math:`\omega(x) = \sqrt{(x-\lambda_-)(\lambda_+-x)}/(2\pi(\lambda_s - x))`,

    .. math:: E(t) = \int\frac{1 - f_t(x)}{x}\,\omega(x)\,dx + \kappa\frac{1 - f_t(\lambda_s)}{\lambda_s},

    .. math:: V(t) = \frac{\lVert\mu\rVert^2 + c}{\lVert\mu\rVert^2}\Big[\int\frac{(1-f_t)^2}{x^2}\omega\,dx
              + \kappa\frac{(1 - f_t(\lambda_s))^2}{\lambda_s^2}\Big] + \sigma^2\Big[\int f_t^2\,\nu\,dx
              + (1 - c^{-1})^+\Big],

    and :math:`P_{\rm test} = Q(E/\sqrt V)`; the training error uses :math:`E_{\rm tr} = \frac{\lVert\mu\rVert^2 + c}
    {\lVert\mu\rVert^2}E` and the corresponding :math:`V_{\rm tr}`. Here :math:`f_t(x) = e^{-\alpha t(x + \gamma)}`
    and denominators :math:`x` become :math:`x + \gamma`.

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

    Returns
    -------
    dict
        ``test``, ``train`` (error rates), ``E``, ``V``, ``E_train`` (arrays shaped like ``t``).
    """
    t = np.atleast_1d(v.nonnegative(t, "t"))
    c, m2 = v.positive_scalar(c, "c"), v.positive_scalar(mu_norm2, "mu_norm2")
    sigma2 = v.nonnegative_scalar(sigma2, "sigma2")
    lr = v.positive_scalar(lr, "lr")
    gamma = v.nonnegative_scalar(gamma, "gamma")
    lo, hi = (1 - np.sqrt(c)) ** 2, (1 + np.sqrt(c)) ** 2
    lam_s = c + 1 + m2 + c / m2
    kappa = max(m2 ** 2 - c, 0.0) / m2
    root = lambda x: np.sqrt(np.maximum((x - lo) * (hi - x), 0.0))  # noqa: E731
    nu = lambda x: root(x) / (2 * np.pi * c * x)  # noqa: E731
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


def simulate(mean, n: int, sigma2: float, lr: float, steps, n_draws: int = 20, gamma: float = 0.0, seed=None) -> dict:
    r"""Train-set and fresh test-set error rates of :func:`gd_trajectory`, averaged over ``n_draws`` data sets.

    One initialisation :math:`w_0 = \sigma\,\mathcal N(0, I_p)/\sqrt p` is shared by every draw (as in the
    companion code); each draw has its own ``n`` training and ``n`` test samples.

    Returns
    -------
    dict
        ``train``, ``test`` (mean error rates), ``test_se`` (standard error over draws), ``score`` (mean training
        score :math:`\frac1n\sum_i y_iw^Tx_i`), each ``(len(steps),)``.
    """
    mean = v.array(mean, "mean", ndim=1, nonempty=True)
    n = v.count(n, "n")
    n_draws = v.count(n_draws, "n_draws", minimum=2)
    sigma2 = v.nonnegative_scalar(sigma2, "sigma2")
    lr, gamma = v.positive_scalar(lr, "lr"), v.nonnegative_scalar(gamma, "gamma")
    steps = np.atleast_1d(v.integer_array(steps, "steps", minimum=0))
    rng = v.generator(seed)
    w0 = np.sqrt(sigma2) * rng.standard_normal(mean.size) / np.sqrt(mean.size)
    train, test, score = [], [], []
    for _ in range(n_draws):
        X, y = gaussian_mixture(mean, n, rng)
        X_test, y_test = gaussian_mixture(mean, n, rng)
        W = gd_trajectory(X, y, w0, lr, steps, gamma)
        train.append(error_rate(W, X, y))
        test.append(error_rate(W, X_test, y_test))
        score.append(mean_scores(W, X, y))
    test = np.array(test)
    return {"train": np.mean(train, axis=0), "test": test.mean(axis=0),
            "test_se": test.std(axis=0, ddof=1) / np.sqrt(n_draws), "score": np.mean(score, axis=0)}
