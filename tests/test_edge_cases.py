"""Valid edge cases of every module of dlnlib and their right results: closed forms, invariants and reference ODE
solutions at the limits (t = 0, zero variances, all-zero slopes, extreme imbalance, one sample), including every
input that used to give a silent wrong answer (issue 18)."""
import random

import numpy as np
import pytest
import torch
from scipy import integrate

from dlnlib import (acceleration, checks, convolution, deepnets, init, landscape, learning_curves, meanfield, measure,
                    networks, parsimony, plotting, reproducibility, spectra, tasks, theory, train)

TASK = tasks.svd_task([3.0, 2.0, 1.0], 4, 3, seed=0)
W = init.gaussian([4, 5, 3], 0.3, seed=1)


def _lambda_ode(t, s, u0, lam):
    r"""Reference: :math:`\dot u = \sqrt{\lambda^2 + 4u^2}(s - u)` integrated in :math:`z = \log u` (relative accuracy)."""
    with np.errstate(over="ignore", invalid="ignore"):      # the solver's rejected trial steps may overflow
        sol = integrate.solve_ivp(lambda _, z: np.sqrt(lam ** 2 + 4 * np.exp(2 * z)) * (s * np.exp(-z) - 1), (0, t),
                                  [np.log(u0)], method="DOP853", rtol=1e-13, atol=1e-13)
    return float(np.exp(sol.y[0, -1]))


# --- theory ---------------------------------------------------------------------------------------------------------
def test_imbalanced_mode_at_extreme_imbalance_matches_the_ode():
    """lam = 1e100 used to give 0.0; the ODE is then u' = lam (s - u) to 1e-200, so u = s - (s - u0)/e at lam t = 1."""
    assert theory.imbalanced_mode_trajectory(1e-100, 2.0, 0.1, 1e100) == pytest.approx(2 - 1.9 / np.e, rel=1e-13)
    assert theory.imbalanced_mode_trajectory(1e-300, 2.0, 0.1, 1e300) == pytest.approx(2 - 1.9 / np.e, rel=1e-13)


@pytest.mark.parametrize("t, s, u0, lam", [(0.5, 2.0, 0.1, 3.0), (5.0, 1.0, 1e-12, 1e-8), (1e-8, 2.0, 0.1, 1e8),
                                           (0.3, 1.0, 3.0, 0.5), (2.0, 0.5, 1e-6, 10.0), (40.0, 0.05, 1e-4, 1e-3)])
def test_imbalanced_mode_matches_the_ode_in_every_regime(t, s, u0, lam):
    """Rich (lam -> 0), lazy (lam >> s), tiny u0 and decay from u0 > s, to 1e-10 of the ODE."""
    assert theory.imbalanced_mode_trajectory(t, s, u0, lam) == pytest.approx(_lambda_ode(t, s, u0, lam),
                                                                                  rel=1e-10)


def test_imbalanced_mode_limits():
    times = np.array([0.0, 0.5, 1.0, 3.0])
    np.testing.assert_allclose(theory.imbalanced_mode_trajectory(times, 2.0, 0.1, 0.0),
                               theory.mode_trajectory(times, 2.0, 0.1), rtol=1e-14)
    assert theory.imbalanced_mode_trajectory(0.0, 2.0, 0.1, 3.0) == pytest.approx(0.1, rel=1e-15)
    assert theory.imbalanced_mode_trajectory(1e6, 2.0, 0.1, 3.0) == pytest.approx(2.0, rel=1e-15)
    assert theory.imbalanced_mode_trajectory(1.0, 2.0, 0.1, -3.0) == theory.imbalanced_mode_trajectory(
        1.0, 2.0, 0.1, 3.0)


def test_theory_at_the_start_and_at_depth_one():
    assert theory.mode_trajectory(0.0, 2.0, 0.1) == pytest.approx(0.1, rel=1e-15)
    assert theory.mode_trajectory(100.0, 1.0, 3.0) == pytest.approx(1.0)              # decays from above
    assert theory.deep_mode_trajectory(0.0, 1.0, 0.1, 5) == pytest.approx(0.1, rel=1e-12)
    assert theory.learning_time(2.0, 0.5, 1.0, 1) == pytest.approx(np.log(1.5))
    assert theory.hessian_top_eigenvalue(3.0, 1, tau=2.0) == pytest.approx(0.5)
    np.testing.assert_allclose(theory.mode_vector_field(2.0, 1.0, 2.0), (0.0, 0.0))
    t = theory.learning_time(1.0, 0.1, 0.6, 4)
    assert theory.deep_mode_trajectory(t, 1.0, 0.1, 4) == pytest.approx(0.6, rel=1e-9)


def test_theory_takes_numpy_integers_for_depth():
    assert theory.learning_time(2.0, 0.1, 1.0, np.int64(3)) == theory.learning_time(2.0, 0.1, 1.0, 3)


# --- learning curves ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sigma2", [0.0, 1.0])
def test_deterministic_errors_at_t_0_are_a_coin_flip(sigma2):
    """At t = 0 the score is zero (sigma2 = 0: exactly; else symmetric): the error is 1/2, not NaN."""
    out = learning_curves.deterministic_errors([0.0], 0.5, 2.0, sigma2, 0.1)
    np.testing.assert_array_equal(out["test"], [0.5])
    np.testing.assert_array_equal(out["train"], [0.5])


def test_deterministic_errors_fall_from_one_half():
    test = learning_curves.deterministic_errors([0.0, 1.0, 50.0], 0.5, 4.0, 0.1, 0.1)["test"]
    assert test[0] == 0.5 and test[2] < test[1] < 0.5


def test_gd_trajectory_is_iterated_gradient_descent():
    X, y = learning_curves.gaussian_mixture(np.array([1.0, 0.0, 0.0]), 8, seed=0)
    w0 = np.array([0.1, 0.0, 0.2])
    w, path = w0.copy(), [w0.copy()]
    for _ in range(3):
        w = w - 0.1 * ((X @ X.T / 8 + 0.2 * np.eye(3)) @ w - X @ y / 8)
        path.append(w)
    np.testing.assert_allclose(learning_curves.gd_trajectory(X, y, w0, 0.1, np.arange(4), gamma=0.2), path,
                               atol=1e-14)
    np.testing.assert_allclose(learning_curves.gd_trajectory(X, y, w0, 0.1, [2.0]), learning_curves.gd_trajectory(
        X, y, w0, 0.1, [2]))        # whole-number floats are step counts


def test_simulate_with_zero_initial_variance_starts_at_zero_score():
    out = learning_curves.simulate([1.0, 0.0], 10, 0.0, 0.1, [0], n_draws=2, seed=0)
    np.testing.assert_array_equal(out["score"], [0.0])


# --- convolution ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel, shape", [("delta_orthogonal", (2, 3, 4)), ("gaussian", (2, 2, 3, 3))])
def test_relu_with_every_slope_zero_has_log_gain_minus_infinity(kernel, shape):
    """Negative inputs to ReLU: no perturbation gets through (this used to raise 'x must be finite')."""
    inputs = -np.abs(np.random.default_rng(2).standard_normal(shape)) - 0.1
    prop = convolution.signal_propagation(inputs, 3, 2.0, sigma_b2=0.1, kernel=kernel, activation="relu",
                                          kernel_size=1 if kernel == "delta_orthogonal" else 3, seed=0)
    assert prop.log_gain[0] == 0.0 and np.all(np.isneginf(prop.log_gain[1:]))
    assert np.all(np.isfinite(prop.q))


def test_linear_delta_orthogonal_network_preserves_norms():
    h0 = np.random.default_rng(1).standard_normal((2, 3, 5))
    prop = convolution.signal_propagation(h0, 5, 1.0, activation="linear", seed=0)
    np.testing.assert_allclose(prop.log_gain, 0.0, atol=1e-12)
    np.testing.assert_allclose(prop.q, np.broadcast_to(prop.q[0], prop.q.shape), rtol=1e-12)


def test_delta_and_shift_kernels():
    x = np.random.default_rng(0).standard_normal((2, 3, 5))
    np.testing.assert_allclose(convolution.circular_conv(x, np.eye(3)[:, :, None] * [0, 1, 0]), x)
    np.testing.assert_allclose(convolution.circular_conv(x, np.eye(3)[:, :, None] * [0, 0, 1]), np.roll(x, -1, -1))
    np.testing.assert_allclose(convolution.kernel_symbol(np.eye(2)[:, :, None] * [0, 1, 0], 4),
                               np.broadcast_to(np.eye(2), (4, 2, 2)))


# --- acceleration ------------------------------------------------------------------------------------------------------
def test_end_to_end_descent_that_overflows_raises_instead_of_freezing():
    """W W^T overflowed, eigh gave NaN, the fractional power zeroed it: W 'converged' at 6e204. Now it raises."""
    with pytest.raises(FloatingPointError, match="lr=10"):
        acceleration.end_to_end_descent(2 * np.eye(2), lambda w: w - np.eye(2), 3, lr=10.0, steps=300)


def test_end_to_end_update_limits():
    g = np.array([[0.1, -0.2, 0.3], [0.0, 0.4, -0.1]])
    np.testing.assert_allclose(acceleration.end_to_end_update(np.ones((2, 3)), g, 1), g, atol=1e-15)
    np.testing.assert_allclose(acceleration.end_to_end_update(np.zeros((2, 3)), g, 3), 0.0)
    np.testing.assert_allclose(acceleration.end_to_end_update(np.eye(2), g[:, :2], 2), 2 * g[:, :2], atol=1e-15)
    np.testing.assert_allclose(acceleration.preconditioner(np.eye(2), 3), 3 * np.eye(4), atol=1e-14)
    np.testing.assert_allclose(acceleration.preconditioner_eigenvalues(([1.0, 1.0], [1.0]), 4), 4.0)
    path = acceleration.end_to_end_descent(np.eye(2), lambda w: w - 2 * np.eye(2), 2, lr=0.05, steps=0)
    np.testing.assert_array_equal(path, np.eye(2)[None])


def test_circulation_of_gradient_and_rotation_fields():
    assert abs(acceleration.circulation(lambda w: 2 * w, [0.3, -0.2], 0.5)) < 1e-12
    assert acceleration.circulation(lambda w: np.array([-w[1], w[0]]), [1.0, 2.0], 0.5) == pytest.approx(
        2 * np.pi * 0.25, rel=1e-12)


# --- checks ------------------------------------------------------------------------------------------------------------
def test_checks_never_pass_on_non_finite_input():
    before = len(checks.RESULTS)
    with pytest.raises(ValueError):
        checks.check_close("t", 5.0, np.inf, rtol=0.1)
    with pytest.raises(TypeError):
        checks.check_true("t", float("nan"), "d")
    with pytest.raises(AssertionError, match="FAIL"):
        checks.check_close("t", float("nan"), 1.0, rtol=0.1)
    assert [r.passed for r in checks.RESULTS[before:]] == [False]
    del checks.RESULTS[before:]


def test_checks_accept_numpy_booleans_and_scalars():
    before = len(checks.RESULTS)
    checks.check_true("t", np.bool_(True), "d")
    checks.check_close("t", np.float32(1.0), np.int64(1), atol=0.0)
    checks.check_between("t", 2.0, 1.0, 2.0)
    assert all(r.passed for r in checks.RESULTS[before:])
    del checks.RESULTS[before:]


# --- init and networks --------------------------------------------------------------------------------------------
def test_stack_runs_keeps_every_layer():
    """zip used to drop layers of longer runs: [[A, B], [A]] gave one layer."""
    a, b = np.eye(2), 2 * np.eye(2)
    with pytest.raises(ValueError, match="same number of matrices"):
        init.stack_runs([[a, b], [a]])
    stacked = init.stack_runs(iter([[a, b], [b, a]]))
    np.testing.assert_array_equal(stacked[1], [b, a])


def test_zero_variances_give_zero_weights_and_biases():
    assert all(np.all(w == 0) for w in init.gaussian([2, 3, 2], 0.0, seed=0))
    assert all(np.all(w == 0) for w in init.orthogonal([3, 3], gain=0.0, seed=0))
    assert all(np.all(b == 0) for b in init.cnn(2, 2, 1.0, 0.0, seed=0)[1])


def test_numpy_integers_are_counts():
    q = init.random_orthogonal(np.int64(3), seed=np.uint8(2))
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-14)
    np.testing.assert_allclose(networks.mode_strengths(TASK.sigma31, TASK, np.int64(2)), [3.0, 2.0])
    assert len(plotting.mode_colors(np.int32(3))) == 3 and len(plotting.mode_colors(0)) == 0


def test_balanced_factors_and_decoupled_starts():
    product = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.2]])
    ws = init.balanced(product, [3, 4, 4, 2], seed=0)
    np.testing.assert_allclose(networks.end_to_end(ws), product, atol=1e-14)
    assert all(np.allclose(m, 0, atol=1e-13) for m in networks.imbalance(ws))
    strengths = networks.mode_strengths(networks.end_to_end(init.decoupled(TASK, [4, 5, 3], 0.01, seed=0)), TASK)
    np.testing.assert_allclose(strengths, 0.01, rtol=1e-12)


def test_mode_strengths_of_sigma31_are_the_singular_values():
    np.testing.assert_allclose(networks.mode_strengths(TASK.sigma31, TASK), [3.0, 2.0, 1.0], rtol=1e-13)
    np.testing.assert_allclose(networks.mode_strengths(TASK.sigma31.tolist(), TASK), [3.0, 2.0, 1.0], rtol=1e-13)
    t = networks.mode_strengths(torch.tensor(TASK.sigma31), TASK)
    assert torch.is_tensor(t) and np.allclose(t.numpy(), [3.0, 2.0, 1.0])


# --- landscape ----------------------------------------------------------------------------------------------------------
def test_fixed_points_have_zero_gradient_and_the_empty_set_is_the_origin():
    assert landscape.loss_gradient_norm(landscape.fixed_point(TASK, [0, 1], [4, 3, 3], seed=0), TASK) < 1e-12
    assert landscape.loss_gradient_norm(landscape.fixed_point(TASK, np.array([2]), [4, 3, 3], seed=0), TASK) < 1e-12
    assert all(np.all(w == 0) for w in landscape.fixed_point(TASK, [], [4, 3, 3], seed=0))


def test_local_search_helpers_find_the_minimum():
    w, value = landscape.convex_minimum(lambda w: float(np.sum((w - 1) ** 2)), lambda w: 2 * (w - 1), (2, 2))
    np.testing.assert_allclose(w, 1.0, atol=1e-6)
    factors = [0.5 * np.eye(3), 0.5 * np.eye(3)]
    _, value, _ = landscape.minimize_factors(lambda w: float(np.sum((w - np.eye(3)) ** 2)),
                                             lambda w: 2 * (w - np.eye(3)), factors)
    assert value < 1e-10
    assert landscape.worst_perturbation(lambda th: np.sum(th ** 2, axis=1), np.zeros(2), 0.1, 50, seed=0) >= 0


# --- parsimony --------------------------------------------------------------------------------------------------------
def test_untrained_layer_has_an_invariant_bulk_of_rank_zero():
    """The rank tolerance was relative to the deviation itself, so round-off counted as full rank."""
    w0 = 0.1 * init.random_orthogonal(6, seed=0)
    w_generic = 0.1 * np.random.default_rng(1).standard_normal((6, 6))
    for w in (w0, w0 * (1 + 1e-15)):
        assert parsimony.invariant_bulk(w, w0, 1)["rank"] == 0
    assert parsimony.invariant_bulk(w0 + np.outer(np.ones(6), np.arange(6.0)) / 10, w0, 1)["rank"] == 1
    assert parsimony.invariant_bulk(w_generic, w0, 1)["rank"] == 6


def test_class_separation_of_collapsed_classes_is_zero():
    assert parsimony.class_separation(np.repeat(np.eye(2), 3, axis=1), np.repeat([0, 1], 3)) == 0.0


# --- spectra, meanfield, measure ---------------------------------------------------------------------------------------
def test_spectra_limits():
    np.testing.assert_allclose(spectra.fuss_catalan_moment([0, 1, 2], 3), [1, 1, 4])
    assert spectra.fuss_catalan_edge(1) == pytest.approx(4.0)
    assert spectra.gaussian_product_moments(10, 1)[0] == pytest.approx(2.1)
    np.testing.assert_allclose(spectra.product_eigenvalue_fraction_within([0.0, 2.0], 4), [0.0, 1.0])
    assert spectra.summarize([2.0]) == {"median": 2.0, "q10": 2.0, "q90": 2.0, "max": 2.0, "in_band": 1.0}
    assert spectra.summarize([0.0, 0.0])["in_band"] == 0.0
    assert spectra.normalized_variance([1.0, 1.0]) == 0.0
    np.testing.assert_allclose(spectra.jacobian_spectrum_moments(5, 1.0, activation="linear"), (1.0, 0.0), atol=1e-14)
    np.testing.assert_allclose(spectra.jacobian_singular_values(4, 3, 1.0, activation="linear", q_in=1.0, seed=0),
                               1.0, rtol=1e-12)


def test_network_jacobian_takes_biases_as_rows_of_an_array():
    ws = init.orthogonal([3, 3, 3], seed=0)
    with_list = spectra.network_jacobian(ws, [np.ones(3), np.ones(3)], np.ones(3))
    with_array = spectra.network_jacobian(ws, np.ones((2, 3)), np.ones(3))
    np.testing.assert_array_equal(with_list[0], with_array[0])


def test_meanfield_limits():
    assert meanfield.variance_map(0.0, 1.3, 0.2) == pytest.approx(0.2)
    assert meanfield.fixed_point_variance(0.5) == 0.0
    assert meanfield.chi_1(1.0) == pytest.approx(1.0, rel=1e-12)
    assert meanfield.critical_line(0.0) == pytest.approx(1.0)
    assert meanfield.fixed_point_correlation(0.5) == 1.0
    assert meanfield.slope_moment(0.0, 3, "relu") == 0.5
    np.testing.assert_allclose(meanfield.cnn_mode_eigenvalues([0.0, 1.0, 0.0], 5), 1.0)
    assert np.all(np.isinf(meanfield.cnn_mode_depth_scales([1.0], 4, 1.0)))


def test_first_passage_edges():
    assert measure.first_passage_time([0, 1, 2], [0, 1, 2], 1.5) == 1.5
    assert measure.first_passage_time([0, 1], [0, 0.5], 1.0) == np.inf
    assert measure.first_passage_time([2, 3], [5, 6], 1.0) == 2.0
    np.testing.assert_array_equal(measure.first_passage_time([0, 1, 2], [0, 1, 2], [1.0, 2.0]), [1.0, 2.0])


# --- tasks ------------------------------------------------------------------------------------------------------------
def test_task_edges():
    one = tasks.Task.from_samples(np.ones((2, 1)), np.ones((1, 1)))
    assert one.sigma33_trace == 1.0 and one.n_in == 2
    assert abs(TASK.loss(TASK.sigma31)) < 1e-12
    np.testing.assert_allclose(tasks.svd_task([1.0, 0.0], 2, 2, seed=0).singular_values, [1.0, 0.0])
    assert np.sum(tasks.hierarchical_task(2, 0.0, 6, seed=0).singular_values > 1e-9) == 1
    X = np.random.default_rng(0).standard_normal((10, 3))
    y = X @ [1.0, -2.0, 0.5]
    w, loss = tasks.lp_regression_optimum(X, y, 4, iterations=0)
    np.testing.assert_allclose(w, [1.0, -2.0, 0.5], atol=1e-12)
    assert loss < 1e-25


def test_task_built_directly_is_checked_and_converted():
    task = tasks.Task([[1, 0], [0, 1]], [[1, 2]], 5)
    assert task.sigma11.dtype == np.float64 and task.n_in == 2 and task.n_out == 1 and task.sigma33_trace == 5.0


def test_matrix_completion_edges():
    full = tasks.matrix_completion(3, 1, 1.0, seed=0)
    assert full.observed.all()
    mc = tasks.matrix_completion(4, 1, 0.5, seed=0)
    np.testing.assert_allclose(mc.gradient(np.zeros((4, 4))), -(mc.observed * mc.matrix) / mc.observed.sum())
    assert float(mc.loss(torch.as_tensor(mc.matrix))) == 0.0
    assert mc.recovery_error(mc.matrix) == 0.0
    # An empty mask at d = 10, fraction 0.01 used to happen 37 % of the time and give a NaN loss; now it never passes.
    outcomes = []
    for seed in range(40):
        try:
            outcomes.append(tasks.matrix_completion(10, 1, 0.01, seed=seed).observed.sum())
        except ValueError as exc:
            assert "fraction" in str(exc)
    assert all(n >= 1 for n in outcomes)


# --- train ------------------------------------------------------------------------------------------------------------
def test_gradient_descent_and_flow_at_zero_steps_and_time():
    loss0 = TASK.loss(networks.end_to_end(W))
    np.testing.assert_allclose(train.gradient_descent(W, TASK, 0.05, 0).loss, [loss0])
    np.testing.assert_allclose(train.gradient_flow(W, TASK, [0.0]).loss, [loss0])       # t_eval = [0] used to crash
    np.testing.assert_allclose(train.gradient_flow(W, TASK, [0.0], record_weights=True).weight_history[1][0], W[1])


def test_integer_like_counts_are_accepted_in_every_trainer():
    a = train.gradient_descent(W, TASK, 0.05, np.int64(3), record_every=np.int32(1), n_modes=np.int64(2))
    b = train.gradient_descent(W, TASK, 0.05, 3, n_modes=2)
    np.testing.assert_array_equal(a.modes, b.modes)
    assert train.gradient_flow(W, TASK, [0.0, 1.0], n_modes=np.int8(1)).modes.shape == (2, 1)


def test_balanced_chain_one_step():
    result = train.balanced_chain_descent([2.0], 0.125, 3, 0.1, 1)
    np.testing.assert_allclose(result.modes[-1], [(0.5 + 0.1 * (2 - 0.125) * 0.25) ** 3], rtol=1e-14)


def test_minibatch_sgd_accepts_float_labels_that_are_whole_numbers():
    rng = np.random.default_rng(0)
    data = tasks.ClassificationData(rng.standard_normal((20, 5)), rng.integers(0, 3, 20).astype(float),
                                    rng.standard_normal((8, 5)), rng.integers(0, 3, 8))
    model = deepnets.MLP(init.scaled_gaussian([5, 6, 3], seed=0))
    result = train.minibatch_sgd(model, data, 0.1, 2, batch_size=4, record_every=1, seed=0)
    assert np.all(np.isfinite(result.loss)) and np.all(np.isfinite(result.test_error))


def test_product_gradient_descent_depth_one_is_gradient_descent():
    loss = lambda p: 0.5 * ((p - torch.eye(2, dtype=torch.float64)) ** 2).sum((-2, -1))  # noqa: E731
    result = train.product_gradient_descent([np.zeros((2, 2))], loss, 0.5, 1)
    np.testing.assert_allclose(result.weights[0], 0.5 * np.eye(2))


# --- reproducibility ----------------------------------------------------------------------------------------------
def test_seed_everything_takes_numpy_integers_and_checks_before_seeding():
    assert reproducibility.seed_everything(np.int64(3)).random() == np.random.default_rng(3).random()
    random.seed(5)
    state = random.getstate()
    with pytest.raises(ValueError, match="seed"):
        reproducibility.seed_everything(2 ** 40)       # used to fail in NumPy after Python's random was reseeded
    assert random.getstate() == state


# --- the edges of the float range: an intermediate over- or underflows, the answer does not -------------------------
def test_mode_trajectory_and_learning_time_from_a_tiny_or_a_large_start():
    np.testing.assert_allclose(theory.mode_trajectory([0.0, 1.0], 1.0, 1e-310), [1e-310, 1e-310 * np.e ** 2], rtol=1e-9)
    np.testing.assert_allclose(theory.mode_trajectory([0.0, 1e-3], 1e-10, 1.0), [1.0, 1 / 1.002], rtol=1e-6)
    assert theory.learning_time(1.0, 1e-310, 0.5, 2) == pytest.approx(-0.5 * np.log(1e-310), rel=1e-12)


def test_deep_mode_trajectory_far_beyond_learning_is_s():
    u = theory.deep_mode_trajectory([1.0, 1e6, 1e300], 1.0, 0.1, 3)
    assert 0.1 < u[0] < 1.0 and u[1] == u[2] == 1.0


def test_deterministic_errors_keep_the_shape_of_t():
    out = learning_curves.deterministic_errors(np.array([[0.0, 0.0], [5.0, 5.0]]), 0.5, 2.0, 1.0, 0.1)["test"]
    assert out.shape == (2, 2) and np.all(out[0] == 0.5) and out[1, 0] == out[1, 1] < 0.5


def test_fuss_catalan_density_at_great_depth():
    x, p = spectra.fuss_catalan_density(1000, 500)
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(p)) and x.max() < spectra.fuss_catalan_edge(1000)
    assert spectra.normalized_variance([1e200, 1e200]) == 0.0
    assert spectra.normalized_variance([1e-200, 2e-200]) == pytest.approx(spectra.normalized_variance([1.0, 2.0]))


def test_mean_field_of_kinked_activations():
    assert 0.0 < meanfield.fixed_point_correlation(3.0, 0.1, "hard_tanh") < 0.9      # used to fail in brentq
    scales = meanfield.depth_scales(2.0, 0.0, "relu")
    assert scales.chi_q == scales.chi_1 == 1.0


def test_end_to_end_rule_where_w_wt_over_or_underflows():
    g = np.array([[0.1, -0.2], [0.0, 0.4]])
    for scale in (1e200, 1e-200):
        np.testing.assert_allclose(acceleration.end_to_end_update(scale * np.eye(2), g, 2) / scale, 2 * g, rtol=1e-14)
    np.testing.assert_allclose(acceleration.preconditioner(1e200 * np.eye(2), 3) / 1e200 ** (4 / 3), 3 * np.eye(4),
                               rtol=1e-12)


def test_signal_propagation_near_and_beyond_the_float_range():
    prop = convolution.signal_propagation(np.ones((2, 2, 1)), 511, 4.0, activation="linear", kernel_size=1, seed=0,
                                          record_every=100)
    np.testing.assert_allclose(prop.c, 1.0)
    assert prop.log_gain[-1] == pytest.approx(511 * np.log(2), rel=1e-9)
    with pytest.raises(FloatingPointError, match="overflowed float64 by layer"):
        convolution.signal_propagation(np.ones((2, 2, 1)), 2000, 4.0, activation="linear", kernel_size=1, seed=0)


def test_overflowing_statistics_name_what_overflowed():
    with pytest.raises(ValueError, match="singular_values are too large"):
        tasks.svd_task([1e200], 1, 1, seed=0)
    with pytest.raises(ValueError, match="X and Y are too large"):
        tasks.Task.from_samples(np.ones((1, 2)), np.full((1, 2), 1e200))
    with pytest.raises(train.DivergenceError, match="loss at the initial weights is not finite"):
        train.gradient_descent([np.full((3, 4), 1e200)], TASK, 0.1, 1)
