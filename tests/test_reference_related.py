"""Reference tests of the related results (implicit acceleration, learning curves, parsimony) at non-trivial
parameters: exact small cases, closed forms and simulations with stated tolerances.

Statistical tests use fixed seeds; each states its false-alarm rate, the probability that a correct implementation
fails it over a fresh seed.
"""
import numpy as np
import pytest

from dlnlib import acceleration as acc, learning_curves as lc, parsimony


# --- acceleration ------------------------------------------------------------------------------------------------------

def test_circulation_of_a_rotation_is_twice_the_enclosed_area():
    """F(w) = (-w2, w1) has curl 2, so by Stokes its circulation around a circle of radius r is 2 pi r^2, anywhere."""
    rotation = lambda w: np.array([-w[1], w[0]])  # noqa: E731
    assert acc.circulation(rotation, [0.3, -1.0], 0.7) == pytest.approx(2 * np.pi * 0.49, rel=1e-12)
    shear = lambda w: np.array([w[1] ** 2, 0.0])  # noqa: E731   curl -2 w2, so -2 pi r^2 w2 at the centre
    assert acc.circulation(shear, [0.0, 0.5], 0.4) == pytest.approx(-2 * np.pi * 0.16 * 0.5, rel=1e-12)


def test_end_to_end_update_of_a_diagonal_product():
    """W = diag(s) (square): the component G_rr' is scaled by sum_j s_r^(2(j-1)/N) s_r'^(2(N-j)/N)."""
    s, depth = np.array([2.0, 0.5, 1.5]), 3
    g = np.arange(9.0).reshape(3, 3) - 4
    scale = sum(np.outer(s ** (2 * (j - 1) / depth), s ** (2 * (depth - j) / depth)) for j in range(1, depth + 1))
    np.testing.assert_allclose(acc.end_to_end_update(np.diag(s), g, depth), scale * g, rtol=1e-12)
    np.testing.assert_allclose(acc.preconditioner_eigenvalues((s, s), depth), scale, rtol=1e-12)


# --- learning curves ---------------------------------------------------------------------------------------------------

def _simulated_moments(p, n, m2, gamma, lr, steps, n_draws, seed):
    """Mean over data sets of E = w(t)^T mu (the mean test score) and V = ||w(t)||^2 (its variance over test samples)."""
    rng = np.random.default_rng(seed)
    mean = np.r_[-np.ones(p // 2), np.ones(p // 2)] * np.sqrt(m2 / p)
    w0 = np.sqrt(0.1) * rng.standard_normal(p) / np.sqrt(p)
    E, V = [], []
    for _ in range(n_draws):
        X, y = lc.gaussian_mixture(mean, n, rng)
        w = lc.gd_trajectory(X, y, w0, lr, steps, gamma)
        E.append(w @ mean)
        V.append(np.sum(w ** 2, axis=1))
    return np.mean(E, axis=0), np.std(E, axis=0, ddof=1) / np.sqrt(n_draws), np.mean(V, axis=0)


@pytest.mark.parametrize("p, n, tol", [(256, 512, 0.05), (256, 128, 0.10)])
def test_deterministic_mean_score_with_ridge_matches_simulation(p, n, tol):
    """Ridge gamma = 1, ||mu||^2 = 2, late enough (t = 400, lr = 0.05) that the initialisation is forgotten. Over 8
    data sets the simulated E has a standard error of 0.7 % (c = 1/2) and 2 % (c = 2), with finite-size offsets near
    1 %; the tolerances, 5 % and 10 %, are 5 standard errors past the offset (false-alarm rate below 1e-5)."""
    m2, gamma, lr, steps = 2.0, 1.0, 0.05, np.array([400])
    theory = lc.deterministic_errors(steps, p / n, m2, 0.1, lr, gamma)
    E, _, V = _simulated_moments(p, n, m2, gamma, lr, steps, 8, seed=0)
    np.testing.assert_allclose(E, theory["E"], rtol=tol)
    np.testing.assert_allclose(V, theory["V"], rtol=tol)


def test_simulate_standard_error_matches_the_spread_between_runs():
    """test_se estimates the standard deviation of the mean test error of one call. With the initialisation forgotten
    (ridge, late time), 40 independent calls spread by test_se within 11 % (standard deviation of a 40-sample spread
    estimate), so their ratio lies in [0.6, 1.7] (false-alarm rate about 2e-4)."""
    mean = np.full(32, 0.15)
    calls = [lc.simulate(mean, 64, 0.1, 0.05, [400], n_draws=10, gamma=0.5, seed=k) for k in range(40)]
    spread = np.std([c["test"][0] for c in calls], ddof=1)
    assert 0.6 < spread / np.mean([c["test_se"][0] for c in calls]) < 1.7


# --- parsimony ---------------------------------------------------------------------------------------------------------

def test_class_separation_with_unequal_classes():
    """Class 0 = {0, 2} (mean 1), class 1 = {10} (mean 10), grand mean 4: within 2, between 2 (1 - 4)^2 + (10 - 4)^2."""
    assert parsimony.class_separation(np.array([[0.0, 10.0, 2.0]]), [0, 1, 0]) == pytest.approx(2 / 54, rel=1e-14)
    rng = np.random.default_rng(0)
    h, labels = rng.standard_normal((3, 40)), rng.integers(0, 3, 40)
    h[:, labels == 2] += 5.0
    d = parsimony.class_separation(h, labels)
    total = np.sum((h - h.mean(axis=1, keepdims=True)) ** 2)          # = within + between (Huygens)
    within = sum(np.sum((h[:, labels == k] - h[:, labels == k].mean(axis=1, keepdims=True)) ** 2) for k in range(3))
    assert d == pytest.approx(within / (total - within), rel=1e-12)


def test_invariant_bulk_of_a_built_layer():
    """W = rho/eps W0 + a rank-2 change inside the top block: bulk exactly rho, deviation of rank 2."""
    rng = np.random.default_rng(1)
    q = np.linalg.qr(rng.standard_normal((8, 8)))[0]
    w0 = 0.1 * q
    core = np.diag([3.0, 2.0, 0.7, 0.7, 0.7, 0.7, 0.05, 0.02])
    w = q @ core
    stats = parsimony.invariant_bulk(w, w0, rank=2)
    np.testing.assert_allclose(stats["singular_values"], np.diag(core), rtol=1e-12)
    assert stats["rho"] == pytest.approx(0.7, rel=1e-12) and stats["spread"] < 1e-12
    assert stats["rank"] == 4                    # the two top and the two bottom directions moved
