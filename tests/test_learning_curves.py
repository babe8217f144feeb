"""Random-matrix learning curves (Liao & Couillet 2018): exact GD iterates and the deterministic equivalents."""
import numpy as np
import pytest

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


def test_deterministic_errors_limits_and_train_test_relation():
    out = lc.deterministic_errors([0.0, 1e6], c=0.5, mu_norm2=1.0, sigma2=0.1, lr=0.01)
    assert out["test"][0] == pytest.approx(0.5) and out["train"][0] == pytest.approx(0.5)
    # the least-squares limit at c < 1 does not depend on the initialisation
    late = [lc.deterministic_errors([1e6], 0.5, 1.0, s2, 0.01)["test"][0] for s2 in (0.01, 1.0)]
    assert late[0] == pytest.approx(late[1], abs=1e-9)
    # for p > n the untrained null space keeps the initialisation
    late_wide = [lc.deterministic_errors([1e6], 2.0, 1.0, s2, 0.01)["test"][0] for s2 in (0.01, 1.0)]
    assert late_wide[1] > late_wide[0] + 0.01


def test_theory_matches_simulation_at_moderate_size():
    p, n = 128, 256
    mean = np.r_[-np.ones(p // 2), np.ones(p // 2)] / np.sqrt(p)
    steps = np.array([10, 100, 1000])
    sim = lc.simulate(mean, n, 0.1, 0.01, steps, n_draws=10, seed=0)
    theory = lc.deterministic_errors(steps, p / n, 1.0, 0.1, 0.01)
    np.testing.assert_allclose(sim["test"], theory["test"], atol=0.04)
    np.testing.assert_allclose(sim["train"], theory["train"], atol=0.04)
    # the mean training score (1/n) sum y_i w^T x_i against E_train; 10 draws of 256 samples give a standard error
    # near 1 % at these times, and the finite-size offset is of the same order: tolerance 6 %
    np.testing.assert_allclose(sim["score"], theory["E_train"], rtol=0.06)
