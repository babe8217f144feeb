"""Fixed points of the three-layer network: gradients vanish; Hessian spectra separate the minimum from saddles."""
import numpy as np
import pytest
import torch

from dlnlib import landscape, networks, tasks
from dlnlib.train import _linear_quantities

S = np.array([5.0, 4.0, 3.0, 2.5, 2.0, 1.5, 1.0, 0.8, 0.5, 0.3])


def _predicted_min_eigenvalue(active, width):
    """Most negative curvature: swap an inactive mode for a weaker active one, or fill a free hidden unit."""
    inactive = [b for b in range(S.size) if b not in active]
    swaps = [S[b] - S[a] for b in inactive for a in active if S[b] > S[a]]
    fills = [S[b] for b in inactive] if len(active) < width else []
    return -max(swaps + fills, default=0.0)


@pytest.mark.parametrize("active", [[0, 1, 2, 3], [0, 1, 2, 4], [1, 2, 3, 4], [0, 1, 2], [0, 5, 6, 9]])
def test_fixed_points_have_zero_gradient_and_predicted_curvature(active):
    task = tasks.svd_task(S, 10, 10, seed=0)
    weights = landscape.fixed_point(task, active, [10, 4, 10], seed=1)
    assert landscape.loss_gradient_norm(weights, task) < 1e-12
    np.testing.assert_allclose(networks.mode_strengths(networks.end_to_end(weights), task)[active], S[active],
                               rtol=1e-13)
    eigenvalues = np.linalg.eigvalsh(landscape.loss_hessian(weights, task))
    assert eigenvalues.min() == pytest.approx(_predicted_min_eigenvalue(active, 4), abs=1e-10)


def test_hessian_matches_finite_differences():
    task = tasks.svd_task([2.0, 1.0], 3, 2, seed=0)
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((2, 3)), rng.standard_normal((2, 2))]
    hessian = landscape.loss_hessian(weights, task)
    flat = np.concatenate([w.ravel() for w in weights])

    def grad(x):
        ws = [x[:6].reshape(2, 3), x[6:].reshape(2, 2)]
        return np.concatenate([g.ravel() for g in _linear_quantities(ws, task.sigma11, task.sigma31,
                                                                     task.sigma33_trace, True)[2]])
    h = 1e-6
    numeric = np.array([(grad(flat + h * e) - grad(flat - h * e)) / (2 * h) for e in np.eye(flat.size)])
    np.testing.assert_allclose(hessian, numeric, atol=1e-7)


def test_fixed_point_bad_input():
    task = tasks.svd_task(S, 10, 10, seed=0)
    with pytest.raises(ValueError, match="at most min"):
        landscape.fixed_point(task, [0, 1, 2, 3, 4], [10, 4, 10])
    with pytest.raises(ValueError, match="distinct"):
        landscape.fixed_point(task, [0, 0], [10, 4, 10])
    with pytest.raises(ValueError, match="whitened"):
        landscape.fixed_point(tasks.Task.from_samples(2 * np.eye(3), np.ones((2, 3))), [0], [3, 2, 2])


def test_worst_perturbation_detects_minima_and_saddles():
    from dlnlib import landscape as ls
    bowl = lambda th: np.sum(th ** 2, axis=1)  # noqa: E731
    assert ls.worst_perturbation(bowl, [0.0, 0.0], 0.1, 2000, seed=0) >= 0.0
    saddle = lambda th: th[:, 0] ** 2 - th[:, 1] ** 2  # noqa: E731
    assert ls.worst_perturbation(saddle, [0.0, 0.0], 0.1, 2000, seed=0) < -1e-3


def test_minimize_factors_reaches_the_convex_minimum_when_wide_enough():
    from dlnlib import landscape as ls
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((4, 100)), rng.standard_normal((2, 100))
    f = lambda W: np.mean((W @ X - Y) ** 4) / 4  # noqa: E731
    g = lambda W: ((W @ X - Y) ** 3) @ X.T / 200  # noqa: E731
    _, best = ls.convex_minimum(f, g, (2, 4))
    ws, value, grad_norm = ls.minimize_factors(f, g, [rng.standard_normal((3, 4)), rng.standard_normal((2, 3))])
    assert value == pytest.approx(best, rel=1e-9) and grad_norm < 1e-6
    assert np.allclose(g(ws[1] @ ws[0]), 0.0, atol=1e-6)


def _l4_problem(seed=0, n=50, shape=(3, 4)):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((shape[1], n)), rng.standard_normal((shape[0], n))
    f = lambda W: np.mean(np.sum((W @ X - Y) ** 4, 0)) / 4  # noqa: E731
    g = lambda W: ((W @ X - Y) ** 3) @ X.T / n  # noqa: E731
    return rng, X, Y, f, g


def test_factor_gradient_and_hessian_match_autograd():
    from dlnlib import landscape as ls
    rng, X, Y, f, g = _l4_problem()
    ws = [rng.standard_normal((2, 4)), rng.standard_normal((2, 2)), rng.standard_normal((3, 2))]
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    sizes = np.cumsum([0, 8, 4, 6])

    def loss(flat):
        a, b, c = (flat[sizes[l]:sizes[l + 1]].reshape(w.shape) for l, w in enumerate(ws))
        return (((c @ b @ a) @ Xt - Yt) ** 4).sum(0).mean() / 4

    flat = torch.tensor(np.concatenate([w.ravel() for w in ws]), requires_grad=True)
    exact_grad = torch.autograd.grad(loss(flat), flat)[0].numpy()
    np.testing.assert_allclose(np.concatenate([x.ravel() for x in ls.factor_gradient(g, ws)]), exact_grad, rtol=1e-12)
    exact_hessian = torch.autograd.functional.hessian(loss, flat.detach()).numpy()
    np.testing.assert_allclose(ls.factor_hessian(g, ws), exact_hessian, atol=1e-7 * np.abs(exact_hessian).max())
    with pytest.raises(ValueError, match="expects 4 inputs"):
        ls.factor_hessian(g, [ws[0], ws[0]])


def test_polished_minimisation_reaches_a_critical_point_with_only_symmetry_zero_modes():
    from dlnlib import landscape as ls
    rng, X, Y, f, g = _l4_problem()
    ws, value, grad_norm = ls.minimize_factors(f, g, [rng.standard_normal((2, 4)), rng.standard_normal((3, 2))],
                                               polish=True)
    assert grad_norm < 1e-12
    assert value == pytest.approx(f(ws[1] @ ws[0]), rel=1e-14)
    eigenvalues = np.linalg.eigvalsh(ls.factor_hessian(g, ws))
    assert np.sum(np.abs(eigenvalues) < 1e-6) == 4                 # GL(2) acting on the hidden layer of width 2
    assert eigenvalues.min() > -1e-6


def test_matrix_losses_have_the_gradients_of_their_values():
    from dlnlib import landscape as ls
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((4, 30)), rng.standard_normal((3, 30))
    W, E = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for kind, targets in (("l2", Y), ("l4", Y), ("logistic", np.sign(Y))):
        f, g = ls.matrix_loss(kind, X, targets)
        numeric = (f(W + 1e-6 * E) - f(W - 1e-6 * E)) / 2e-6
        assert numeric == pytest.approx(np.sum(g(W) * E), rel=1e-7)
    f, _ = ls.matrix_loss("l2", X, Y)
    assert f(W) == pytest.approx(0.5 * np.mean(np.sum((W @ X - Y) ** 2, axis=0)))
    _, g = ls.matrix_loss("logistic", X, np.sign(Y))
    assert np.all(np.isfinite(g(1e4 * W)))                                  # no overflow for large margins
    with pytest.raises(ValueError, match="labels"):
        ls.matrix_loss("logistic", X, Y)
    with pytest.raises(ValueError, match="kind"):
        ls.matrix_loss("hinge", X, Y)


def test_search_finds_the_reduced_rank_regression_optimum_and_only_it_for_the_squared_loss():
    from dlnlib import landscape as ls
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((4, 50)), rng.standard_normal((3, 50))
    f, g = ls.matrix_loss("l2", X, Y)
    search = ls.search_local_minima(f, g, [4, 2, 3], 6, seed=1)
    least_squares = Y @ X.T @ np.linalg.inv(X @ X.T)
    top = np.linalg.svd(least_squares @ X)[0][:, :2]
    rank2 = f(top @ top.T @ least_squares)                      # Eckart-Young on the fitted values (Baldi-Hornik)
    np.testing.assert_allclose(search.values, rank2, rtol=1e-12)
    assert search.symmetry_dim == 4 and np.all(search.is_local_minimum())
    with pytest.raises(ValueError, match="widths"):
        ls.search_local_minima(f, g, [4], 2)
