"""Implicit acceleration: balanced factors, the end-to-end rule, its preconditioner, circulation, product GD."""
import numpy as np
import pytest
import torch

from dlnlib import acceleration as acc, init, networks, train


def test_balanced_factors_multiply_to_the_product_and_are_balanced():
    rng = np.random.default_rng(0)
    product = rng.standard_normal((4, 6))
    ws = init.balanced(product, [6, 5, 7, 4], seed=1)
    np.testing.assert_allclose(networks.end_to_end(ws), product, atol=1e-12)
    for j in range(2):
        np.testing.assert_allclose(ws[j + 1].T @ ws[j + 1], ws[j] @ ws[j].T, atol=1e-12)
    with pytest.raises(ValueError, match="hidden width"):
        init.balanced(product, [6, 3, 4])
    with pytest.raises(ValueError, match="shape"):
        init.balanced(product, [5, 8, 4])


def test_preconditioner_eigenvalues_match_closed_form():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 4))
    s = np.linalg.svd(w, compute_uv=False)
    for depth in (1, 2, 3, 5):
        explicit = np.sort(np.linalg.eigvalsh(acc.preconditioner(w, depth)))
        closed = np.sort(acc.preconditioner_eigenvalues((s, np.append(s, 0.0)), depth).ravel())
        np.testing.assert_allclose(explicit, closed, atol=1e-10)
    g = rng.standard_normal((3, 4))
    np.testing.assert_allclose(acc.preconditioner(w, 3) @ g.ravel(order="F"),
                               acc.end_to_end_update(w, g, 3).ravel(order="F"), atol=1e-12)
    np.testing.assert_allclose(acc.end_to_end_update(w, g, 1), g)


def test_single_output_rule_has_the_closed_form():
    rng = np.random.default_rng(2)
    w, g, depth = rng.standard_normal((1, 5)), rng.standard_normal((1, 5)), 4
    norm = np.linalg.norm(w)
    unit = w / norm
    expected = norm ** (2 - 2 / depth) * (g + (depth - 1) * (g @ unit.T) * unit)
    np.testing.assert_allclose(acc.end_to_end_update(w, g, depth), expected, atol=1e-12)


def test_circulation_vanishes_for_gradients_and_not_for_deep_fields():
    a = np.array([[2.0, 0.5], [0.5, 1.0]])
    b = np.array([1.0, -0.5])
    grad = lambda w: a @ w - b  # noqa: E731
    assert abs(acc.circulation(grad, [0.6, 0.2], 0.35)) < 1e-12
    deep = lambda w: acc.end_to_end_update(w[None], grad(w)[None], 3)[0]  # noqa: E731
    assert abs(acc.circulation(deep, [0.6, 0.2], 0.35)) > 0.05


def test_product_gradient_descent_follows_the_end_to_end_rule_and_marks_divergence():
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((4, 50)), rng.standard_normal((3, 50))
    loss = lambda p: 0.5 * ((p @ torch.tensor(X) - torch.tensor(Y)) ** 2).sum((-2, -1)) / 50  # noqa: E731
    w0 = 0.1 * rng.standard_normal((3, 4))
    result = train.product_gradient_descent(init.balanced(w0, [4, 6, 3], seed=0), loss, 1e-3, 2000,
                                            record_every=2000, record_products=True)
    rule = acc.end_to_end_descent(w0, lambda w: (w @ X - Y) @ X.T / 50, 2, 1e-3, 2000)
    final = result.weight_history[0][-1]
    assert np.linalg.norm(final - rule[-1]) / np.linalg.norm(rule[-1]) < 1e-3
    assert result.loss[-1] < result.loss[0]
    batched = train.product_gradient_descent([np.stack([w0, w0])], loss, np.array([1e-2, 1e3]), 50)
    assert batched.diverged_at[0] == -1 and batched.diverged_at[1] > 0
    with pytest.raises(ValueError, match="one value per run"):
        train.product_gradient_descent([w0], lambda p: p.sum((-2, -1))[None], 0.1, 1)


def test_lp_regression_optimum_is_stationary_and_least_squares_for_p2():
    from dlnlib import tasks
    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 5)) * np.logspace(0, -1, 5)
    y = X @ rng.standard_normal(5) + 0.1 * rng.standard_normal(300)
    w4, l4 = tasks.lp_regression_optimum(X, y, 4)
    assert np.linalg.norm(X.T @ (X @ w4 - y) ** 3 / 300) < 1e-12
    assert l4 == pytest.approx(np.mean((X @ w4 - y) ** 4) / 4)
    w2, _ = tasks.lp_regression_optimum(X, y, 2)
    np.testing.assert_allclose(w2, np.linalg.lstsq(X, y, rcond=None)[0], atol=1e-12)
    with pytest.raises(ValueError, match="even"):
        tasks.lp_regression_optimum(X, y, 3)


def _lp_data(seed=5, n=60, d=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.logspace(0, -1, d)
    return X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)


def test_lp_regression_descent_depth_one_is_gradient_descent_on_the_lp_loss():
    X, y = _lp_data()
    run = acc.lp_regression_descent(X, y, 4, 0.05, 3, init_scale=0.5, record_every=1)
    w = 0.5 * np.eye(1, 4)[0]
    for k in range(4):
        assert run.loss[k] == pytest.approx(np.mean((X @ w - y) ** 4) / 4, rel=1e-13)
        if k < 3:
            w = w - 0.05 * X.T @ (X @ w - y) ** 3 / len(y)
    np.testing.assert_allclose(run.weights[0][0], w, rtol=1e-13)


def test_lp_regression_descent_product_follows_the_end_to_end_rule():
    X, y = _lp_data()
    grad = lambda w: (((w @ X.T) - y) ** 3 @ X / len(y))[None]  # noqa: E731
    for depth in (2, 3):
        run = acc.lp_regression_descent(X, y, 4, 1e-3, 2000, depth=depth, init_scale=0.3,
                                        init_direction=[1.0, 1.0, 0.0, 0.0], record_every=2000)
        product = run.weights[1].prod() * run.weights[0][0]
        start = 0.3 * np.array([[1.0, 1.0, 0.0, 0.0]]) / np.sqrt(2)
        rule = acc.end_to_end_descent(start, lambda w: grad(w[0]), depth, 1e-3, 2000)[-1, 0]
        assert np.linalg.norm(product - rule) / np.linalg.norm(rule) < 1e-3
        assert np.linalg.norm(rule - start[0]) > 0.1                      # it moved: the comparison is not trivial


def test_lp_regression_descent_adaptive_first_steps():
    X, y = _lp_data()
    g = X.T @ (X @ (1e-6 * np.eye(1, 4)[0]) - y) ** 3 / len(y)
    for optimizer in ("adagrad", "adam"):         # the first step of both is lr * g / (|g| + eps) per coordinate
        run = acc.lp_regression_descent(X, y, 4, 0.01, 1, optimizer=optimizer, init_scale=1e-6)
        np.testing.assert_allclose(run.weights[0][0], 1e-6 * np.eye(1, 4)[0] - 0.01 * g / (np.abs(g) + 1e-8),
                                   rtol=1e-12)
    two = acc.lp_regression_descent(X, y, 4, 0.01, 2, optimizer="adagrad", init_scale=1e-6)
    w1 = 1e-6 * np.eye(1, 4)[0] - 0.01 * g / (np.abs(g) + 1e-8)
    g1 = X.T @ (X @ w1 - y) ** 3 / len(y)
    np.testing.assert_allclose(two.weights[0][0], w1 - 0.01 * g1 / (np.sqrt(g ** 2 + g1 ** 2) + 1e-8), rtol=1e-12)


def test_lp_regression_descent_marks_divergence_and_rejects_bad_input():
    X, y = _lp_data()
    run = acc.lp_regression_descent(X, y, 4, np.array([1e-3, 50.0]), 200, depth=2)
    assert run.diverged_at[0] == -1 and run.diverged_at[1] > 0 and np.isinf(run.loss[1, -1])
    assert np.all(np.isfinite(run.loss[0])) and run.loss[0, -1] < run.loss[0, 0]
    with pytest.raises(ValueError, match="p must be an even"):
        acc.lp_regression_descent(X, y, 3, 0.1, 1)
    with pytest.raises(ValueError, match="optimizer"):
        acc.lp_regression_descent(X, y, 4, 0.1, 1, optimizer="sgd")
    with pytest.raises(ValueError, match="lr must be"):
        acc.lp_regression_descent(X, y, 4, np.ones((2, 2)), 1)
    with pytest.raises(ValueError, match="y"):
        acc.lp_regression_descent(X, y[:-1], 4, 0.1, 1)
    with pytest.raises(ValueError, match="init_direction"):
        acc.lp_regression_descent(X, y, 4, 0.1, 1, init_direction=np.zeros(4))
    with pytest.raises(ValueError, match="betas"):
        acc.lp_regression_descent(X, y, 4, 0.1, 1, optimizer="adam", betas=(0.9, 1.0))


def test_two_factor_circulation_is_greens_theorem_for_the_depth_two_field():
    a = np.array([[2.0, 0.5], [0.5, 1.0]])
    b = np.array([1.0, -0.5])
    for hessian in (a, np.eye(2), lambda w: a + np.diag(w ** 2)):     # quadratic, isotropic, and a quartic term
        grad = (lambda w: a @ w - b + w ** 3 / 3) if callable(hessian) else (lambda w, h=hessian: h @ w - b)
        field = lambda w: acc.end_to_end_update(w[None], grad(w)[None], 2)[0]  # noqa: E731
        for center, radius in (((0.6, 0.2), 0.35), ((-0.5, 0.4), 0.3)):
            contour = acc.circulation(field, center, radius)
            assert acc.two_factor_circulation(hessian, center, radius) == pytest.approx(contour, abs=1e-10)
    assert abs(acc.two_factor_circulation(a, (0.6, 0.2), 0.35)) > 0.01          # anisotropic: not a gradient
    assert abs(acc.two_factor_circulation(np.eye(2), (0.6, 0.2), 0.35)) < 1e-12  # isotropic: a gradient
    with pytest.raises(ValueError, match="origin"):
        acc.two_factor_circulation(a, (0.1, 0.0), 0.35)
    with pytest.raises(ValueError, match="hessian"):
        acc.two_factor_circulation(np.eye(3), (0.6, 0.2), 0.35)


def test_scaling_the_targets_rescales_the_learning_rate_by_c_squared_and_c_cubed():
    from dlnlib import tasks
    X, y = tasks.scaled_regression(80, 5, 1.0, 0.01, seed=3)
    rates = np.logspace(-2, 1, 12)
    for depth, power in ((1, 2), (2, 3)):           # y -> 2y is gradient descent at rate lr * 2^2 (depth 1), 2^3 (2)
        base = acc.lp_regression_descent(X, y, 4, rates, 300, depth=depth, record_every=300)
        scaled = acc.lp_regression_descent(X, 2 * y, 4, rates / 2 ** power, 300, depth=depth, init_scale=2e-6,
                                           record_every=300)
        np.testing.assert_array_equal(scaled.diverged_at < 0, base.diverged_at < 0)
        stable = base.diverged_at < 0
        assert 0 < stable.sum() < rates.size                                    # some diverge, some do not
        np.testing.assert_allclose(scaled.loss[stable], 16 * base.loss[stable], rtol=1e-9)


def test_scaled_regression_rotation_keeps_the_samples():
    from dlnlib import tasks
    X, y = tasks.scaled_regression(50, 6, 2.0, 0.1, seed=1)
    Xr, yr = tasks.scaled_regression(50, 6, 2.0, 0.1, seed=1, rotate=True)
    np.testing.assert_array_equal(y, yr)
    np.testing.assert_allclose(Xr @ Xr.T, X @ X.T, atol=1e-12)       # the same Gram matrix: a rotation of the features
    assert np.std(X[:, -1]) < 0.05 < np.std(Xr[:, -1])
    with pytest.raises(ValueError, match="decades"):
        tasks.scaled_regression(50, 6, -1.0, 0.1)
