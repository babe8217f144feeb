"""Random-matrix learning curves (Liao & Couillet 2018): exact GD iterates, the spectrum of the sample covariance,
the deterministic equivalents and the simulations they are compared with."""
import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from dlnlib import learning_curves as lc


def test_gd_trajectory_equals_iterated_gradient_descent():
    rng = np.random.default_rng(0)
    X, y = lc.gaussian_mixture(np.full(8, 0.5), 30, seed=1)
    w0 = rng.standard_normal(8)
    w, path = w0.copy(), [w0.copy()]
    for _ in range(25):
        w = w - 0.05 * ((X @ X.T / 30 + 0.1 * np.eye(8)) @ w - X @ y / 30)
        path.append(w.copy())
    np.testing.assert_allclose(lc.gd_trajectory(X, y, w0, 0.05, np.arange(26), gamma=0.1), np.array(path), atol=1e-12)
    with pytest.raises(ValueError, match="unstable"):
        lc.gd_trajectory(X, y, w0, 100.0, [1])


def test_gd_trajectory_for_p_above_n_keeps_the_null_space_of_w0():
    X, y = lc.gaussian_mixture(np.full(12, 0.3), 5, seed=2)           # p = 12 > n = 5
    w0 = np.random.default_rng(3).standard_normal(12)
    late = lc.gd_trajectory(X, y, w0, 0.05, [20_000])[0]
    null = np.eye(12) - X @ np.linalg.pinv(X)                          # projector on the null space of X X^T
    np.testing.assert_allclose(null @ late, null @ w0, atol=1e-10)
    np.testing.assert_allclose(X.T @ late, y, atol=1e-8)                # and it interpolates the labels
    np.testing.assert_allclose(late - null @ w0, np.linalg.pinv(X @ X.T / 5) @ X @ y / 5, atol=1e-8)


def test_mixture_error_is_the_gaussian_tail_of_the_score():
    mean = np.array([1.0, -0.5, 0.0])
    assert lc.mixture_error(mean, mean)[0] == pytest.approx(norm.sf(np.linalg.norm(mean)))
    assert lc.mixture_error([0.0, 0.0, 1.0], mean)[0] == pytest.approx(0.5)
    w = np.array([[0.3, 0.2, -1.0], [3.0, 2.0, -10.0]])                 # scale does not matter
    err = lc.mixture_error(w, mean)
    assert err[0] == pytest.approx(err[1])
    X, y = lc.gaussian_mixture(mean, 400_000, seed=4)
    assert lc.error_rate(w[0], X, y)[0] == pytest.approx(err[0], abs=4 * np.sqrt(err[0] / 400_000))
    with pytest.raises(ValueError, match="mean"):
        lc.mixture_error(np.ones(4), mean)


@pytest.mark.parametrize("c", [0.25, 0.5, 2.0])
def test_marchenko_pastur_density_mass_and_moments(c):
    lo, hi = (1 - np.sqrt(c)) ** 2, (1 + np.sqrt(c)) ** 2
    moment = lambda k: integrate.quad(lambda x: x ** k * lc.marchenko_pastur_density(x, c), lo, hi, limit=200)[0]  # noqa: E731
    assert moment(0) == pytest.approx(min(1.0, 1.0 / c), rel=1e-6)    # the rest sits at 0 when c > 1
    assert moment(1) == pytest.approx(1.0, rel=1e-6)                   # E tr(ZZ^T/n)/p = 1
    assert moment(2) == pytest.approx(1.0 + c, rel=1e-6)               # E tr((ZZ^T/n)^2)/p = 1 + c
    assert lc.marchenko_pastur_density([lo - 0.01, hi + 0.01], c).tolist() == [0.0, 0.0]


def test_isolated_eigenvalue_threshold_and_sample_spectrum():
    assert np.isnan(lc.isolated_eigenvalue(0.5, 0.7))                  # |mu|^4 = 0.49 < c
    assert lc.isolated_eigenvalue(0.5, 2.0) == pytest.approx(3.75)
    X, _ = lc.gaussian_mixture(np.full(800, np.sqrt(3.0 / 800)), 1600, seed=5)
    lam = np.linalg.eigvalsh(X @ X.T / 1600)
    assert lam[-1] == pytest.approx(lc.isolated_eigenvalue(0.5, 3.0), abs=0.15)   # fluctuation about 0.05
    assert lam[-2] < (1 + np.sqrt(0.5)) ** 2 + 0.05


def test_deterministic_errors_limits_and_train_test_relation():
    out = lc.deterministic_errors([0.0, 1e6], c=0.5, mu_norm2=1.0, sigma2=0.1, lr=0.01)
    assert out["test"][0] == pytest.approx(0.5) and out["train"][0] == pytest.approx(0.5)
    assert out["V"][0] == pytest.approx(0.1)                           # V(0) = E|w0|^2 = sigma^2
    # the least-squares limit at c < 1 does not depend on the initialisation
    late = [lc.deterministic_errors([1e6], 0.5, 1.0, s2, 0.01)["test"][0] for s2 in (0.01, 1.0)]
    assert late[0] == pytest.approx(late[1], abs=1e-9)
    # for p > n the untrained null space keeps the initialisation: V grows by sigma^2 (1 - 1/c)
    wide = [lc.deterministic_errors([1e6], 2.0, 1.0, s2, 0.01)["V"][0] for s2 in (0.0, 1.0)]
    assert wide[1] - wide[0] == pytest.approx(0.5, rel=1e-6)


def test_deterministic_equivalents_match_the_mean_and_variance_of_the_score():
    p, steps = 256, np.array([10, 100, 1000])
    sim = lc.simulate(np.full(p, 1 / np.sqrt(p)), 2 * p, 0.1, 0.01, steps, n_draws=12, seed=6)
    theory = lc.deterministic_errors(steps, 0.5, 1.0, 0.1, 0.01)
    # V is the variance |w|^2 of the score, not its second moment |w|^2 + E^2 (which is 30-60 % larger here)
    np.testing.assert_allclose(sim["V"], theory["V"], rtol=4 * np.max(sim["V_se"] / sim["V"]) + 1 / p)
    np.testing.assert_allclose(sim["E"], theory["E"], rtol=4 * np.max(sim["E_se"] / sim["E"]) + 1 / p)
    np.testing.assert_allclose(sim["test"], theory["test"], atol=4 * np.max(sim["test_se"]) + 1 / p)
    np.testing.assert_allclose(sim["train"], theory["train"], atol=4 * np.max(sim["train_se"]) + 1 / p)
    assert sim["draws"]["test"].shape == (12, 3)


def test_simulate_draws_a_new_initialisation_per_data_set_and_samples_a_population():
    mean = np.full(16, 0.25)
    sim = lc.simulate(mean, 32, 1.0, 0.01, [0], n_draws=5, seed=7)
    assert np.ptp(sim["draws"]["V"][:, 0]) > 0                         # |w0|^2 differs between draws
    X_pop, y_pop = lc.gaussian_mixture(mean, 20_000, seed=8)
    pop = lc.simulate(mean, 32, 0.1, 0.01, [50], n_draws=5, seed=9, population=(X_pop, y_pop))
    exact = lc.simulate(mean, 32, 0.1, 0.01, [50], n_draws=5, seed=9)
    assert pop["test"][0] == pytest.approx(np.mean(norm.sf(pop["draws"]["E"] / np.sqrt(pop["draws"]["V"]))), abs=0.01)
    # in a large population the held-out samples have the population's score moments, mu.w and |w|^2
    np.testing.assert_allclose(pop["E_held"], pop["E"], rtol=0.05)
    np.testing.assert_allclose(pop["V_held"], pop["V"], rtol=0.05)
    assert exact["test"][0] == pytest.approx(np.mean(norm.sf(exact["draws"]["E"] / np.sqrt(exact["draws"]["V"]))))
    with pytest.raises(ValueError, match="population"):
        lc.simulate(mean, 32, 0.1, 0.01, [1], population=(X_pop[:, :20], y_pop[:20]))


def test_simulate_tests_on_a_fixed_held_out_set():
    mean = np.full(16, 0.25)
    X_pop, y_pop = lc.gaussian_mixture(mean, 2000, seed=8)
    X_test, y_test = lc.gaussian_mixture(mean, 20_000, seed=10)
    run = lc.simulate(mean, 32, 0.1, 0.01, [50], n_draws=4, seed=9, population=(X_pop, y_pop), test=(X_test, y_test))
    # a large fresh test set: its error is the exact Gaussian error, and its moments are mu.w and |w|^2
    assert run["test"][0] == pytest.approx(np.mean(norm.sf(run["draws"]["E"] / np.sqrt(run["draws"]["V"]))), abs=0.01)
    np.testing.assert_allclose(run["E_held"], run["E"], rtol=0.05)
    np.testing.assert_allclose(run["V_held"], run["V"], rtol=0.05)
    # the test set is fixed: with one test sample the error of every draw is 0 or 1
    one = lc.simulate(mean, 32, 0.1, 0.01, [50], n_draws=4, seed=9, population=(X_pop, y_pop), test=(X_test[:, :1], y_test[:1]))
    assert set(one["draws"]["test"].ravel().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="test needs population"):
        lc.simulate(mean, 32, 0.1, 0.01, [1], test=(X_test, y_test))
    with pytest.raises(ValueError, match="test must be"):
        lc.simulate(mean, 32, 0.1, 0.01, [1], population=(X_pop, y_pop), test=(X_test[:3], y_test))
