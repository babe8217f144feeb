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


def test_lp_regression_descent_batch_runs_are_independent_of_diverged_neighbours():
    X, y = _lp_data()
    rates = np.array([1e-3, 50.0, 0.02, 80.0])
    for depth, optimizer in ((1, "gd"), (3, "gd"), (1, "adam")):
        batch = acc.lp_regression_descent(X, y, 4, rates, 300, depth=depth, optimizer=optimizer, record_every=7)
        for i, rate in enumerate(rates):
            alone = acc.lp_regression_descent(X, y, 4, rate, 300, depth=depth, optimizer=optimizer, record_every=7)
            assert batch.diverged_at[i] == alone.diverged_at
            np.testing.assert_allclose(batch.loss[i], alone.loss, rtol=1e-12)
            np.testing.assert_allclose(batch.weights[0][i], alone.weights[0][0], rtol=1e-12, atol=0)
        if optimizer == "gd":
            assert batch.diverged_at[1] > 0 and batch.diverged_at[3] > 0 and batch.diverged_at[0] == -1


def _quartic_loss():
    """A non-quadratic loss of the plane: gradient and Hessian."""
    a, b = np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -0.5])
    return (lambda w: a @ w - b + w ** 3 / 3), (lambda w: a + np.diag(w ** 2))


def test_end_to_end_curl_matches_finite_differences_of_the_field():
    grad, hess = _quartic_loss()
    rng = np.random.default_rng(0)
    for depth in (1, 2, 3, 4, 6):
        field = lambda w: acc.end_to_end_update(w[None], grad(w)[None], depth)[0]  # noqa: E731
        for w in rng.standard_normal((4, 2)):
            h = 1e-5
            d1 = (field(w + [h, 0]) - field(w - [h, 0])) / (2 * h)
            d2 = (field(w + [0, h]) - field(w - [0, h])) / (2 * h)
            curl = acc.end_to_end_curl(w, grad(w), hess(w), depth)
            assert curl == pytest.approx(d1[1] - d2[0], abs=1e-8 * max(1.0, abs(curl)))
            if depth == 1:
                assert curl == 0.0


def test_isotropic_curl_is_the_closed_form_and_vanishes_without_a_gradient_at_zero():
    b = np.array([1.0, -0.5])
    w = np.array([[0.6, 0.2], [-0.5, 0.4], [0.1, -0.9]])
    for depth in (1, 2, 3, 5):
        curl = acc.end_to_end_curl(w, w - b, np.broadcast_to(np.eye(2), (3, 2, 2)), depth)
        closed = (depth - 1) * (depth - 2) / depth * np.linalg.norm(w, axis=1) ** (-2 / depth) * (
            w[:, 0] * b[1] - w[:, 1] * b[0])
        np.testing.assert_allclose(curl, closed, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(acc.end_to_end_curl(w, w, np.broadcast_to(np.eye(2), (3, 2, 2)), depth), 0.0)


def test_green_circulation_is_the_contour_integral_for_every_depth():
    grad, hess = _quartic_loss()
    a, b = np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -0.5])
    losses = ((grad, hess), (lambda w: a @ w - b, a), (lambda w: w - b, np.eye(2)))
    for depth in (1, 2, 3, 4):
        for g, h in losses:
            field = lambda w, g=g: acc.end_to_end_update(w[None], g(w)[None], depth)[0]  # noqa: E731
            for center, radius in (((0.6, 0.2), 0.35), ((-0.5, 0.4), 0.3)):
                contour = acc.circulation(field, center, radius)
                assert acc.green_circulation(g, h, center, radius, depth) == pytest.approx(contour, abs=1e-10)
    assert abs(acc.green_circulation(lambda w: a @ w - b, a, (0.6, 0.2), 0.35, 2)) > 0.01   # anisotropic: no gradient
    assert abs(acc.green_circulation(lambda w: w - b, np.eye(2), (0.6, 0.2), 0.35, 2)) < 1e-12  # isotropic, N = 2
    assert abs(acc.green_circulation(lambda w: w - b, np.eye(2), (0.6, 0.2), 0.35, 3)) > 0.01   # isotropic, N = 3
    with pytest.raises(ValueError, match="origin"):
        acc.green_circulation(lambda w: w, np.eye(2), (0.1, 0.0), 0.35, 2)
    with pytest.raises(ValueError, match="hessian"):
        acc.green_circulation(lambda w: w, np.eye(3), (0.6, 0.2), 0.35, 2)
    with pytest.raises(ValueError, match="origin"):
        acc.end_to_end_curl(np.zeros(2), np.ones(2), np.eye(2), 3)


def _balanced_factor_hessian(X, y, w, depth, h=1e-5):
    """Finite-difference Hessian of the l2 loss of w = omega_N ... omega_2 w_1 at balanced factors of w."""
    scale = np.linalg.norm(w) ** (1 / depth)
    theta = np.concatenate([w / np.linalg.norm(w) * scale, np.full(depth - 1, scale)])
    d = len(w)

    def grad(t):
        prod = np.prod(t[d:])
        g = X.T @ (X @ (prod * t[:d]) - y) / len(y)
        others = [np.prod(np.delete(t[d:], j)) for j in range(depth - 1)]
        return np.concatenate([prod * g, [o * (t[:d] @ g) for o in others]])

    columns = [(grad(theta + h * e) - grad(theta - h * e)) / (2 * h) for e in np.eye(theta.size)]
    return (np.array(columns) + np.array(columns).T) / 2


def test_end_to_end_sharpness_is_the_top_curvature_of_the_factors_at_a_minimum():
    from dlnlib import tasks
    X, y = tasks.scaled_regression(40, 3, 1.0, 0.1, seed=2)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    hessian = X.T @ X / len(y)
    assert acc.end_to_end_sharpness(hessian, w_star, 1) == pytest.approx(np.linalg.eigvalsh(hessian)[-1], rel=1e-12)
    for depth in (2, 3):
        factor_top = np.linalg.eigvalsh(_balanced_factor_hessian(X, y, w_star, depth))[-1]
        assert acc.end_to_end_sharpness(hessian, w_star, depth) == pytest.approx(factor_top, rel=1e-6)
    batch = acc.end_to_end_sharpness(np.stack([hessian] * 2), np.stack([w_star, 2 * w_star]), 2)
    assert batch.shape == (2,) and batch[1] == pytest.approx(2 * batch[0], rel=1e-12)   # P_w grows as |w| for N = 2
    with pytest.raises(ValueError, match="hessian"):
        acc.end_to_end_sharpness(np.eye(2), w_star, 2)


def test_lp_regression_hessian_is_the_derivative_of_the_gradient():
    from dlnlib import tasks
    X, y = _lp_data()
    w = np.array([0.3, -0.2, 0.5, 0.1])
    grad = lambda u: X.T @ (X @ u - y) ** 3 / len(y)  # noqa: E731
    numeric = np.array([(grad(w + 1e-6 * e) - grad(w - 1e-6 * e)) / 2e-6 for e in np.eye(4)])
    np.testing.assert_allclose(tasks.lp_regression_hessian(X, y, 4, w), numeric, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(tasks.lp_regression_hessian(X, y, 2, w), X.T @ X / len(y), rtol=1e-13)
    assert tasks.lp_regression_hessian(X, y, 4, np.stack([w, w, w])).shape == (3, 4, 4)
    with pytest.raises(ValueError, match="w must"):
        tasks.lp_regression_hessian(X, y, 4, np.ones(3))


def test_warmup_and_recorded_weights():
    X, y = _lp_data()
    g0 = X.T @ (X @ (0.5 * np.eye(1, 4)[0]) - y) ** 3 / len(y)
    run = acc.lp_regression_descent(X, y, 4, 0.05, 1, init_scale=0.5, warmup=10)
    np.testing.assert_allclose(run.weights[0][0], 0.5 * np.eye(1, 4)[0] - 0.005 * g0, rtol=1e-13)   # rate / 10
    deep = acc.lp_regression_descent(X, y, 4, np.array([1e-3, 2e-3]), 50, depth=3, record_every=10,
                                     record_weights=True)
    w1, omega = deep.weight_history
    assert w1.shape == (6, 2, 4) and omega.shape == (6, 2, 2)
    np.testing.assert_array_equal(w1[-1], deep.weights[0])
    product = omega.prod(-1)[..., None] * w1
    np.testing.assert_allclose(np.mean((product @ X.T - y) ** 4, -1) / 4, deep.loss.T, rtol=1e-12)
    single = acc.lp_regression_descent(X, y, 4, 1e-3, 50, depth=3, record_every=10, record_weights=True)
    assert single.weight_history[0].shape == (6, 4)


def test_adadelta_first_steps():
    X, y = _lp_data()
    w0 = 1e-6 * np.eye(1, 4)[0]
    g = X.T @ (X @ w0 - y) ** 3 / len(y)
    run = acc.lp_regression_descent(X, y, 4, 0.5, 1, optimizer="adadelta", init_scale=1e-6)
    first = g * np.sqrt(1e-6) / np.sqrt(0.1 * g ** 2 + 1e-6)
    np.testing.assert_allclose(run.weights[0][0], w0 - 0.5 * first, rtol=1e-12)
    two = acc.lp_regression_descent(X, y, 4, 0.5, 2, optimizer="adadelta", init_scale=1e-6)
    w1 = w0 - 0.5 * first
    g1 = X.T @ (X @ w1 - y) ** 3 / len(y)
    a1, b1 = 0.9 * 0.1 * g ** 2 + 0.1 * g1 ** 2, 0.1 * first ** 2
    np.testing.assert_allclose(two.weights[0][0], w1 - 0.5 * g1 * np.sqrt(b1 + 1e-6) / np.sqrt(a1 + 1e-6), rtol=1e-12)
    with pytest.raises(ValueError, match="rho"):
        acc.lp_regression_descent(X, y, 4, 0.1, 1, optimizer="adadelta", rho=1.0)
    with pytest.raises(ValueError, match="warmup"):
        acc.lp_regression_descent(X, y, 4, 0.1, 1, warmup=-1)


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


def test_rule_deviation_vanishes_for_balanced_factors_and_has_the_two_scalar_closed_form():
    from dlnlib import init
    rng = np.random.default_rng(6)
    W, G = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for widths in ([4, 5, 3], [4, 6, 6, 3], [4, 3, 7, 5, 3]):
        assert acc.rule_deviation(init.balanced(W, widths, seed=1), G) < 1e-12
    for a, b in ((2.0, 0.5), (-1.0, 3.0), (0.7, 0.7)):
        expected = (abs(a) - abs(b)) ** 2 / (2 * abs(a * b))
        assert acc.rule_deviation([np.array([[a]]), np.array([[b]])], np.array([[0.3]])) == pytest.approx(
            expected, rel=1e-12, abs=1e-15)
    random = init.gaussian([4, 5, 3], 1.0, seed=2)
    assert acc.rule_deviation(random, G) > 0.05
    with pytest.raises(ValueError, match="gradient"):
        acc.rule_deviation(random, G[:, :2])
