"""Reference tests of the linear-network mechanics at non-trivial parameters (tau != 1, non-square and non-whitened
tasks, unequal classes): each checks a public function against something it does not compute itself, a closed form,
finite differences, an independent ODE solve or an exact small case.

Statistical tests use fixed seeds; each states its false-alarm rate, the probability that a correct implementation
fails it over a fresh seed.
"""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dlnlib import checks, init, landscape, measure, networks, tasks, theory, train


def _sample_loss(task, weights):
    """The loss from its definition, 1/2 sum_mu ||y - W_D ... W_1 x||^2, on the task's samples."""
    product = weights[0]
    for w in weights[1:]:
        product = w @ product
    return 0.5 * np.sum((task.Y - product @ task.X) ** 2)


def _correlated_task(n_in=4, n_out=3, n_samples=30, seed=0):
    """Inputs with unequal, correlated features (Sigma11 far from I) and noisy linear targets."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_in, n_in)) @ rng.standard_normal((n_in, n_samples))
    return tasks.Task.from_samples(X, rng.standard_normal((n_out, n_in)) @ X + rng.standard_normal((n_out, n_samples)))


# --- theory ----------------------------------------------------------------------------------------------------------

def test_mode_vector_field_is_minus_the_gradient_of_the_mode_energy():
    """tau (da/dt, db/dt) = -grad of (s - ab)^2 / 2, by central differences, at tau != 1 and off the fixed points."""
    s, tau, h = 1.7, 2.5, 1e-6
    a, b = np.array([0.3, -1.2, 2.0, 0.1]), np.array([0.8, 0.5, -0.4, 3.0])
    energy = lambda a, b: (s - a * b) ** 2 / (2 * tau)  # noqa: E731
    da, db = theory.mode_vector_field(a, b, s, tau)
    np.testing.assert_allclose(da, -(energy(a + h, b) - energy(a - h, b)) / (2 * h), rtol=1e-7)
    np.testing.assert_allclose(db, -(energy(a, b + h) - energy(a, b - h)) / (2 * h), rtol=1e-7)


def test_mode_trajectory_broadcasts_to_the_elementwise_sigmoid():
    t, s, u0, tau = np.linspace(0, 3, 5)[:, None, None], np.array([0.5, 1.0, 4.0])[None, :, None], \
        np.array([1e-3, 0.2]), 1.5
    out = theory.mode_trajectory(t, s, u0, tau)
    assert out.shape == (5, 3, 2)
    for i, j, k in np.ndindex(out.shape):
        e = np.exp(2 * s[0, j, 0] * t[i, 0, 0] / tau)
        assert out[i, j, k] == pytest.approx(s[0, j, 0] * e / (e - 1 + s[0, j, 0] / u0[k]), rel=1e-13)


@pytest.mark.parametrize("depth", [2, 5])
def test_deep_mode_trajectory_broadcasts_against_independent_ode_solves(depth):
    """Eq. 15, tau du/dt = D u^(2 - 2/D) (s - u), solved here per singular value, at tau != 1."""
    t, s, u0, tau = np.linspace(0, 6, 7), np.array([1.0, 2.5]), 1e-2, 1.5
    out = theory.deep_mode_trajectory(t[:, None], s, u0, depth, tau)
    for j, sj in enumerate(s):
        sol = solve_ivp(lambda _, u: depth * u ** (2 - 2 / depth) * (sj - u) / tau, (0, t[-1]), [u0],
                        rtol=1e-11, atol=1e-14, dense_output=True)
        np.testing.assert_allclose(out[:, j], sol.sol(t)[0], rtol=1e-7)


def test_learning_time_at_optimal_rate_against_closed_forms_and_an_ode():
    """tau = c lambda_1 = c D s^(2 - 2/D): depth 1 and 2 have closed forms; depth 4 is an event of Eq. 15."""
    s, u0, uf, c = np.array([0.5, 2.0, 3.0]), 1e-3, 0.4, 2.0
    np.testing.assert_allclose(theory.learning_time_at_optimal_rate(s, u0, uf, 1, c),
                               c * np.log((s - u0) / (s - uf)), rtol=1e-12)
    np.testing.assert_allclose(theory.learning_time_at_optimal_rate(s, u0, uf, 2, c),
                               c * np.log(uf * (s - u0) / (u0 * (s - uf))), rtol=1e-12)
    depth = 4
    out = theory.learning_time_at_optimal_rate(s, u0, uf, depth, c)
    for sj, tj in zip(s, out):
        tau = c * depth * sj ** (2 - 2 / depth)
        event = lambda _, u: u[0] - uf  # noqa: E731
        event.terminal = True
        sol = solve_ivp(lambda _, u: depth * u ** (2 - 2 / depth) * (sj - u) / tau, (0, 1e6), [u0],
                        rtol=1e-12, atol=1e-16, events=event)
        assert tj == pytest.approx(sol.t_events[0][0], rel=1e-7)


# --- networks and tasks ----------------------------------------------------------------------------------------------

def test_imbalance_of_decoupled_modes_is_b2_minus_a2():
    """W21 = diag(a) (input to hidden), W32 = diag(b) (hidden to output): M = W32^T W32 - W21 W21^T = diag(b^2 - a^2),
    that is the imbalance m = b^2 - a^2 of theory.imbalanced_mode_trajectory (Saxe et al. 2014, Eqs. 8-9)."""
    a, b = np.array([0.3, 1.5, 2.0]), np.array([1.1, 0.2, 2.0])
    w21 = np.hstack([np.diag(a), np.zeros((3, 1))])            # 3 hidden units from 4 inputs (the last unused)
    w32 = np.vstack([np.diag(b), np.zeros((2, 3))])             # 5 outputs
    (m,) = networks.imbalance([w21, w32])
    np.testing.assert_allclose(m, np.diag(b ** 2 - a ** 2), atol=1e-15)


def test_mode_strengths_of_sigma31_are_its_singular_values():
    task = _correlated_task(n_in=5, n_out=3, seed=4)
    np.testing.assert_allclose(networks.mode_strengths(task.sigma31, task), task.singular_values, rtol=1e-12)
    u, s, vv = task.svd
    rank_one = s[1] * np.outer(u[:, 1], vv[:, 1])
    np.testing.assert_allclose(networks.mode_strengths(rank_one, task), [0.0, s[1], 0.0], atol=1e-12)


def test_svd_task_samples_reproduce_its_statistics():
    task = tasks.svd_task([3.0, 1.0, 0.5], n_in=5, n_out=3, seed=2)
    again = tasks.Task.from_samples(task.X, task.Y)
    np.testing.assert_allclose(again.sigma11, task.sigma11, atol=1e-13)
    np.testing.assert_allclose(again.sigma31, task.sigma31, atol=1e-13)
    assert again.sigma33_trace == pytest.approx(task.sigma33_trace, rel=1e-13)
    assert task.loss(np.zeros((3, 5))) == pytest.approx(0.5 * (9 + 1 + 0.25), rel=1e-13)   # 1/2 sum s^2


def test_task_loss_and_best_rank_approximation_on_a_non_whitened_task():
    task = _correlated_task(n_in=4, n_out=3, seed=1)
    w = np.random.default_rng(3).standard_normal((2, 3, 4))
    np.testing.assert_allclose(task.loss(w), [_sample_loss(task, [wi]) for wi in w], rtol=1e-12)
    u, s, vv = np.linalg.svd(task.sigma31)
    np.testing.assert_allclose(task.best_rank_approximation(1), s[0] * np.outer(u[:, 0], vv[0]), atol=1e-12)


def test_hierarchical_task_siblings_are_more_alike_than_cousins():
    """Leaves 0 and 1 share a parent (path of 2 edges), leaves 0 and 2 a grandparent (4 edges): their values agree
    with correlation (1 - 2p)^2 and (1 - 2p)^4. With 20,000 features the estimates have a standard error below
    0.007; the tolerance of 0.035 is 5 of them (false-alarm rate about 1e-6)."""
    p = 0.2
    task = tasks.hierarchical_task(levels=2, flip_prob=p, n_features=20000, seed=5)
    y = task.Y
    corr = lambda i, j: float(np.mean(y[:, i] * y[:, j]))  # noqa: E731
    assert corr(0, 1) == pytest.approx((1 - 2 * p) ** 2, abs=0.035)
    assert corr(2, 3) == pytest.approx((1 - 2 * p) ** 2, abs=0.035)
    assert corr(0, 2) == pytest.approx((1 - 2 * p) ** 4, abs=0.035)
    assert abs(float(np.mean(y))) < 0.035          # the root value is +-1 with probability 1/2


# --- init ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 3), (5, 2), (2, 5)])
def test_random_orthogonal_is_haar(shape):
    """Haar measure is invariant under sign flips, so every entry has mean 0 and E Q_ij^2 = 1/max(shape). Over 4000
    draws the mean of an entry has a standard error of at most 0.0092: the tolerance 0.05 is 5.4 of them (false-alarm
    rate below 1e-6 over the 10 entries). QR without the sign correction gives E Q_00 of about -0.5."""
    draws = np.array([init.random_orthogonal(*shape, seed=k) for k in range(4000)])
    np.testing.assert_allclose(draws.mean(axis=0), 0.0, atol=0.05)
    np.testing.assert_allclose((draws ** 2).mean(axis=0), 1.0 / max(shape), atol=0.05)


def test_decoupled_init_with_a_narrow_layer_starts_only_the_leading_modes():
    task = tasks.svd_task([3.0, 2.0, 1.0], 4, 5, seed=1)
    ws = init.decoupled(task, [4, 2, 5], [0.1, 0.4], seed=0)
    product = ws[1] @ ws[0]
    u, _, vv = task.svd
    expected = np.zeros((5, 4))
    expected[0, 0], expected[1, 1] = 0.1, 0.4
    np.testing.assert_allclose(u.T @ product @ vv, expected, atol=1e-15)
    np.testing.assert_allclose(np.linalg.svd(ws[0], compute_uv=False), np.sqrt([0.4, 0.1]), rtol=1e-12)


# --- train -----------------------------------------------------------------------------------------------------------

def test_gradient_flow_follows_the_sigmoid_at_tau_not_one():
    """Decoupled start on a whitened, non-square task: every mode follows Eq. 12 with the same tau, and the loss is
    1/2 sum (s - u)^2."""
    s, u0, tau = np.array([3.0, 2.0, 1.0, 0.5]), 1e-2, 3.0
    task = tasks.svd_task(s, 4, 5, seed=0)
    t = np.linspace(0, 12, 7)
    flow = train.gradient_flow(init.decoupled(task, [4, 4, 5], u0, seed=1), task, t, tau=tau)
    expected = theory.mode_trajectory(t[:, None], s, u0, tau)
    np.testing.assert_allclose(flow.modes, expected, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(flow.loss, 0.5 * np.sum((s - expected) ** 2, axis=1), rtol=1e-7)


def test_gradient_descent_from_a_decoupled_start_is_the_scalar_map_at_every_step():
    """Depth 3, lr * lambda_1 well below 2: each mode obeys a <- a + lr (s - a^3) a^2 exactly (computed here)."""
    s, u0, lr, steps = np.array([2.0, 0.7]), 0.05, 0.05, 40
    task = tasks.svd_task(s, 3, 2, seed=3)
    run = train.gradient_descent(init.decoupled(task, [3, 4, 3, 2], u0, seed=0), task, lr=lr, steps=steps)
    a, expected = np.full(2, u0 ** (1 / 3)), []
    for _ in range(steps + 1):
        expected.append(a ** 3)
        a = a + lr * (s - a ** 3) * a ** 2
    np.testing.assert_allclose(run.modes, expected, rtol=1e-10)


def test_marked_divergence_is_recorded_at_the_first_non_finite_step():
    """A one-weight network w on the task (x, y) = (1, 1/2), w0 = 1: w_1 = 1 - lr/2. At lr = 1e250 the loss
    w_1^2 / 2 overflows at step 1; at lr = 1e120 it is 1e239 at step 1 and overflows at step 2 (w_2 ~ -lr w_1)."""
    task = tasks.Task(sigma11=np.eye(1), sigma31=np.array([[0.5]]), sigma33_trace=0.25)
    run = train.gradient_descent([np.ones((3, 1, 1))], task, lr=[0.1, 1e120, 1e250], steps=6, on_divergence="mark")
    assert run.diverged_at.tolist() == [-1, 2, 1]
    assert np.isfinite(run.loss[1, 1]) and np.all(np.isinf(run.loss[1, 2:])) and np.all(np.isinf(run.loss[2, 1:]))
    assert np.all(np.isnan(run.modes[1, 2:])) and np.isfinite(run.modes[1, 1]).all()
    # the balanced scalar chain at depth 1 is the same map, a <- a + lr (s - a), here with s = 2
    chain = train.balanced_chain_descent([2.0], 1.0, 1, np.array([0.1, 1e120, 1e250]), 6)
    assert chain.diverged_at.tolist() == [-1, 2, 1]


def test_rate_scan_time_is_the_interpolated_crossing_of_each_run():
    """RateScan.from_result against a loop over single runs of the chain (linear interpolation between records)."""
    s, lrs, threshold = np.array([2.0, 1.0]), np.array([0.01, 0.05, 0.2]), 0.05
    scan = train.RateScan.from_result(train.balanced_chain_descent(s, 1e-2, 2, lrs, 800, record_every=5), threshold)
    for lr, time in zip(lrs, scan.time):
        loss = train.balanced_chain_descent(s, 1e-2, 2, lr, 800).loss
        k = int(np.argmax(loss <= threshold))
        assert loss[k] <= threshold < loss[k - 1]
        assert k - 5 < time <= k + 5
    assert scan.best_lr == 0.2 and not scan.diverged.any()


# --- landscape -------------------------------------------------------------------------------------------------------

def test_loss_hessian_and_gradient_norm_on_a_non_whitened_task():
    """Second differences of the loss computed from the samples (Sigma11 far from I), at a random point."""
    task = _correlated_task(n_in=3, n_out=2, seed=6)
    rng = np.random.default_rng(7)
    ws = [rng.standard_normal((2, 3)), rng.standard_normal((2, 2))]
    flat = np.concatenate([w.ravel() for w in ws])
    unpack = lambda x: [x[:6].reshape(2, 3), x[6:].reshape(2, 2)]  # noqa: E731
    f = lambda x: _sample_loss(task, unpack(x))  # noqa: E731
    h, eye = 1e-3, np.eye(flat.size)
    numeric = np.array([[(f(flat + h * (ei + ej)) - f(flat + h * (ei - ej)) - f(flat - h * (ei - ej))
                          + f(flat - h * (ei + ej))) / (4 * h * h) for ej in eye] for ei in eye])
    hessian = landscape.loss_hessian(ws, task)
    np.testing.assert_allclose(hessian, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())
    gradient = np.array([(f(flat + h * e) - f(flat - h * e)) / (2 * h) for e in eye])
    assert landscape.loss_gradient_norm(ws, task) == pytest.approx(np.linalg.norm(gradient), rel=1e-6)


def test_worst_perturbation_samples_the_whole_ball():
    """Uniform in the ball of radius 1 in 10 dimensions, P(|delta| < 0.1) = 1e-10: among 1000 samples none comes that
    close (false-alarm rate 1e-7), while all stay inside (min of |delta|^2 <= 1). Radii drawn uniformly, not as
    U^(1/10), would come within 0.1 almost surely."""
    sq = lambda th: np.sum(th ** 2, axis=1)  # noqa: E731
    value = landscape.worst_perturbation(sq, np.zeros(10), 1.0, n_samples=1000, seed=0)
    assert 0.01 < value <= 1.0
    assert landscape.worst_perturbation(lambda th: -sq(th), np.zeros(10), 1.0, n_samples=1000, seed=0) >= -1.0


# --- checks ----------------------------------------------------------------------------------------------------------

def test_check_close_scales_rtol_with_the_expected_value(monkeypatch, capsys):
    monkeypatch.setattr(checks, "RESULTS", [])
    checks.check_close("relative", 200.15, 200.0, rtol=1e-3)           # |diff| = 0.15 <= 0.2
    with pytest.raises(AssertionError, match="FAIL"):
        checks.check_close("relative too far", 200.3, 200.0, rtol=1e-3)
    with pytest.raises(AssertionError, match="FAIL"):
        checks.check_close("absolute too far", 0.012, 0.01, atol=1e-3)
    checks.check_close("both", 10.35, 10.0, rtol=0.02, atol=0.2)      # 0.2 + 0.02 * 10 = 0.4
    assert [r.passed for r in checks.RESULTS] == [True, False, False, True]


def test_check_above_below_between_and_true_fail_on_the_wrong_side(monkeypatch, capsys):
    monkeypatch.setattr(checks, "RESULTS", [])
    checks.check_above("above", 1.5, 1.0)
    checks.check_below("below", 0.5, 1.0)
    checks.check_between("between", 1.0, 1.0, 2.0)
    checks.check_true("true", True, "holds")
    for call in (lambda: checks.check_above("not above", 0.5, 1.0), lambda: checks.check_above("equal", 1.0, 1.0),
                 lambda: checks.check_below("not below", 1.5, 1.0), lambda: checks.check_between("out", 2.5, 1.0, 2.0),
                 lambda: checks.check_true("false", False, "holds"), lambda: checks.check_above("nan", np.nan, 0.0)):
        with pytest.raises(AssertionError, match="FAIL"):
            call()
    assert capsys.readouterr().out.splitlines()[0] == "PASS | above | measured 1.5 | > 1"
    assert [r.passed for r in checks.RESULTS] == [True] * 4 + [False] * 6


def test_check_bounds_at_their_ends_and_the_floor_of_negative_values(monkeypatch, capsys):
    """check_below is strict (<), check_between inclusive at both ends; the floor hides round-off |x| < floor only."""
    monkeypatch.setattr(checks, "RESULTS", [])
    with pytest.raises(AssertionError, match="FAIL"):
        checks.check_below("equal", 1.0, 1.0)
    checks.check_between("upper end", 2.0, 1.0, 2.0)
    checks.check_between("lower end", 1.0, 1.0, 2.0)
    checks.check_below("negative", -0.5, 1.0, floor=1e-3)
    checks.check_below("tiny negative", -1e-6, 1.0, floor=1e-3)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == ["PASS | negative | measured -0.5 | < 1", "PASS | tiny negative | measured < 0.001 | < 1"]


def test_greedy_pretraining_top_layer_has_the_requested_std():
    """The top layer is N(0, std^2): 1,200 entries give a sample standard deviation within 2 % (standard deviation);
    the tolerance of 12 % is 6 of them."""
    rng = np.random.default_rng(0)
    task = tasks.Task.from_samples(rng.standard_normal((5, 20)), rng.standard_normal((30, 20)))
    weights, _ = init.greedy_pretraining(task, [5, 4, 40, 30], lr=0.01, steps=1, std=0.05, seed=1)
    assert np.std(weights[-1]) == pytest.approx(0.05, rel=0.12)


def test_one_epoch_of_minibatch_sgd_uses_every_sample_once():
    """Three batches of 30 out of 90 samples cover the training set once, so with a tiny rate three steps move the
    weights by -3 lr times the full-batch gradient of the mean cross-entropy (up to O(lr^2), 1e-6 relative here)."""
    import torch

    from dlnlib import deepnets

    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 6))
    y = rng.integers(0, 4, 90)
    data = tasks.ClassificationData(X, y, X[:10], y[:10])
    w0 = 0.3 * rng.standard_normal((4, 6))
    model = deepnets.MLP([w0], dtype=torch.float64)
    train.minibatch_sgd(model, data, lr=1e-6, steps=3, batch_size=30, record_every=3, seed=0)
    w = torch.tensor(w0, requires_grad=True)
    torch.nn.functional.cross_entropy(torch.tensor(X) @ w.T, torch.tensor(y)).backward()
    np.testing.assert_allclose(model.weights[0].detach().numpy() - w0, -3e-6 * w.grad.numpy(), rtol=1e-4, atol=1e-14)


def test_worst_perturbation_is_measured_from_the_loss_at_the_point():
    """Bowl ||theta||^2 at p = (3, 4): over the disk of radius 0.1 the change ranges over [-2 r |p| + r^2, 2 r |p| + r^2]
    = [-0.99, 1.01]; 2,000 uniform samples come within 0.1 of the lowest value (false-alarm rate below 1e-10)."""
    bowl = lambda th: np.sum(th ** 2, axis=1)  # noqa: E731
    value = landscape.worst_perturbation(bowl, [3.0, 4.0], 0.1, n_samples=2000, seed=0)
    assert -0.99 <= value < -0.89


# --- found untested by a review of every public function (issue 19, after the validation work) -----------------------

def test_mode_trajectory_decaying_from_above_follows_the_logistic_ode():
    """From u0 > s the same Eq. 10, tau du/dt = 2u(s - u), brings the mode down to s (a separate formula in the code)."""
    s, u0, tau = 1.0, 3.0, 2.0
    t = np.linspace(0, 3, 7)
    sol = solve_ivp(lambda _, u: 2 * u * (s - u) / tau, (0, 3), [u0], rtol=1e-12, atol=1e-14, dense_output=True)
    np.testing.assert_allclose(theory.mode_trajectory(t, s, u0, tau), sol.sol(t)[0], rtol=1e-9)


def test_learning_time_at_infinite_depth_scales_with_c_and_is_the_deep_limit():
    """t_inf = c [ln(uf (s - u0) / (u0 (s - uf))) + s/u0 - s/uf] (Eq. 17's bracket) at c = 2.5, s = 2; the finite-depth
    times (quadrature of Eq. 15) approach it from below with a gap proportional to 1/D, which halves from depth 1000
    to 2000 (ratio 1.99 to 2.01 as the O(1/D^2) term fades)."""
    s, u0, uf, c = 2.0, 1e-3, 1.5, 2.5
    bracket = np.log(uf * (s - u0) / (u0 * (s - uf))) + s / u0 - s / uf
    limit = theory.learning_time_at_optimal_rate(s, u0, uf, np.inf, c)
    assert limit == pytest.approx(c * bracket, rel=1e-13)
    gaps = [limit - theory.learning_time_at_optimal_rate(s, u0, uf, depth, c) for depth in (1000, 2000)]
    assert 0 < gaps[1] < gaps[0] and gaps[0] / gaps[1] == pytest.approx(2.0, abs=0.02)


def test_scaled_regression_has_the_stated_feature_scales_and_noise():
    """Column d has standard deviation 10^(-k decades/(d-1)); least-squares residuals have the noise's variance. With
    20,000 samples a sample standard deviation is within 0.5 % (one standard deviation) of the truth: the tolerance of
    3 % is 6 of them (false-alarm rate below 1e-8)."""
    from dlnlib import tasks as t
    n, d, decades, noise = 20000, 4, 2.0, 0.3
    X, y = t.scaled_regression(n, d, decades, noise, seed=0)
    np.testing.assert_allclose(X.std(axis=0), 10.0 ** (-np.arange(d) * decades / (d - 1)), rtol=0.03)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.std(y - X @ w) == pytest.approx(noise, rel=0.03)
    assert np.all(np.abs(w) < 5)                     # w* ~ N(0, 1): the features, not the weights, carry the scales


def test_best_rank_approximation_beyond_the_rank_is_sigma31_and_lp_optimum_for_p6():
    task = _correlated_task(n_in=4, n_out=3, seed=2)
    np.testing.assert_allclose(task.best_rank_approximation(10), task.sigma31, atol=1e-12)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((200, 3))
    y = X @ [1.0, -1.0, 0.5] + 0.3 * rng.standard_normal(200)
    w6, loss6 = tasks.lp_regression_optimum(X, y, 6)
    assert np.linalg.norm(X.T @ (X @ w6 - y) ** 5 / 200) < 1e-12          # stationary for the l6 loss
    assert loss6 == pytest.approx(np.mean((X @ w6 - y) ** 6) / 6, rel=1e-12)
    assert loss6 < np.mean((X @ np.linalg.lstsq(X, y, rcond=None)[0] - y) ** 6) / 6


def test_imbalances_of_a_three_layer_chain_and_the_widths_it_checks():
    """Diagonal chain W1 = diag(a), W2 = diag(b), W3 = diag(c) (padded): imbalances diag(b^2 - a^2), diag(c^2 - b^2)."""
    a, b, c = np.array([0.3, 1.5, 2.0]), np.array([1.1, 0.2, 2.0]), np.array([0.5, 0.7, 3.0])
    w1 = np.hstack([np.diag(a), np.zeros((3, 1))])
    w2 = np.diag(b)
    w3 = np.vstack([np.diag(c), np.zeros((2, 3))])
    m1, m2 = networks.imbalance([w1, w2, w3])
    np.testing.assert_allclose(m1, np.diag(b ** 2 - a ** 2), atol=1e-15)
    np.testing.assert_allclose(m2, np.diag(c ** 2 - b ** 2), atol=1e-15)
    assert networks.check_chain([np.stack([w1] * 2), np.stack([w2] * 2), np.stack([w3] * 2)]) == [4, 3, 3, 5]


def test_orthogonal_and_gaussian_runs_are_independent_draws():
    """Each run of a batch is its own draw (not one draw repeated), and orthonormal on its own."""
    ortho = init.orthogonal([4, 6, 3], gain=1.2, n_runs=3, seed=0)
    gauss = init.scaled_gaussian([4, 6, 3], n_runs=3, seed=0)
    for ws in (ortho, gauss):
        for w in ws:
            assert not np.allclose(w[0], w[1]) and not np.allclose(w[1], w[2])
    for r in range(3):
        np.testing.assert_allclose(ortho[0][r].T @ ortho[0][r], 1.44 * np.eye(4), atol=1e-12)
        np.testing.assert_allclose(ortho[1][r] @ ortho[1][r].T, 1.44 * np.eye(3), atol=1e-12)


def test_balanced_factors_of_a_rank_deficient_product_through_a_narrow_layer():
    """A rank-2 product through a hidden layer of exactly 2 units: exact product, balanced, each layer sigma^(1/2)."""
    rng = np.random.default_rng(4)
    product = rng.standard_normal((3, 2)) @ rng.standard_normal((2, 5))
    ws = init.balanced(product, [5, 2, 3], seed=0)
    np.testing.assert_allclose(ws[1] @ ws[0], product, atol=1e-12)
    np.testing.assert_allclose(ws[1].T @ ws[1], ws[0] @ ws[0].T, atol=1e-12)
    s = np.linalg.svd(product, compute_uv=False)[:2]
    np.testing.assert_allclose(np.linalg.svd(ws[0], compute_uv=False), np.sqrt(s), rtol=1e-12)


def test_relu_network_of_depth_three_trains_as_autograd_with_a_rate_per_run():
    """activation="relu" applies phi after every hidden layer (two here), runs have their own rates, and the recorded
    modes are those of Y_hat X^T."""
    import torch
    task = _correlated_task(n_in=4, n_out=3, seed=8)
    w0 = init.gaussian([4, 5, 6, 3], 0.4, n_runs=2, seed=9)
    lrs = [1e-3, 3e-3]
    run = train.gradient_descent(w0, task, lr=lrs, steps=5, activation="relu")
    X, Y = torch.tensor(task.X), torch.tensor(task.Y)
    for r, lr in enumerate(lrs):
        ws = [torch.tensor(w[r], requires_grad=True) for w in w0]
        losses = []
        for _ in range(6):
            output = ws[2] @ torch.relu(ws[1] @ torch.relu(ws[0] @ X))
            loss = 0.5 * ((Y - output) ** 2).sum()
            losses.append(loss.item())
            grads = torch.autograd.grad(loss, ws)
            with torch.no_grad():
                for w, g in zip(ws, grads):
                    w -= lr * g
        np.testing.assert_allclose(run.loss[r], losses, rtol=1e-12)
        np.testing.assert_allclose(run.modes[r, -1], networks.mode_strengths(output.detach().numpy() @ task.X.T, task),
                                   rtol=1e-10)


def test_recorded_weights_and_modes_are_those_of_shorter_runs():
    """record_weights keeps (T, runs, ...) snapshots: at step k they are the final weights of a k-step run; n_modes keeps
    the leading modes."""
    task = _correlated_task(n_in=4, n_out=3, seed=10)
    w0 = init.gaussian([4, 5, 3], 0.3, n_runs=2, seed=11)
    run = train.gradient_descent(w0, task, lr=[1e-3, 2e-3], steps=6, record_every=3, record_weights=True, n_modes=2)
    assert [h.shape for h in run.weight_history] == [(3, 2, 5, 4), (3, 2, 3, 5)] and run.modes.shape == (2, 3, 2)
    for k, steps in enumerate([0, 3, 6]):
        short = train.gradient_descent(w0, task, lr=[1e-3, 2e-3], steps=steps)
        for l in range(2):
            np.testing.assert_allclose(run.weight_history[l][k], short.weights[l], rtol=1e-13)
        np.testing.assert_allclose(run.modes[:, k], short.modes[:, -1, :2], rtol=1e-12)


def test_rate_scan_from_a_hand_made_record():
    """Crossing of loss <= 1 by linear interpolation: 16.67 (between 2 at t = 10 and 0.5 at t = 20), 0 for a run that
    starts below, inf for one that never gets there and for a diverged run even if it passed the threshold first."""
    t = np.array([0.0, 10.0, 20.0, 30.0])
    loss = np.array([[4.0, 2.0, 0.5, 0.1], [4.0, 3.0, 2.0, 1.5], [0.5, 0.4, 0.3, 0.2], [4.0, 0.5, np.inf, np.inf]])
    result = train.TrainResult(t=t, loss=loss, modes=np.empty(0), weights=[], lr=np.array([0.1, 0.2, 0.3, 0.4]),
                               diverged_at=np.array([-1, -1, -1, 15]))
    scan = train.RateScan.from_result(result, 1.0)
    np.testing.assert_allclose(scan.time, [10 + 10 / 1.5, np.inf, 0.0, np.inf])
    assert scan.best_lr == 0.3 and scan.best_time == 0.0
    np.testing.assert_array_equal(scan.diverged, [False, False, False, True])
    none = train.RateScan.from_result(result, 0.01)
    assert np.isnan(none.best_lr) and none.best_time == np.inf
    record = train.ClassifierResult(t=t, loss=loss[:2], error=loss[:2], test_error=loss[:2], lr=np.ones(2),
                                    diverged_at=np.array([-1, -1]))
    np.testing.assert_allclose(record.steps_to_loss(2.5), [7.5, 15.0])


def test_balanced_chain_with_one_start_per_mode_and_a_grid_of_rates():
    s, u0, depth = np.array([2.0, 1.0]), np.array([0.1, 0.05]), 3
    lr = np.array([[0.01, 0.02], [0.05, 0.1]])
    run = train.balanced_chain_descent(s, u0, depth, lr, 3)
    assert run.modes.shape == (2, 2, 4, 2) and run.loss.shape == (2, 2, 4)
    for i, j in np.ndindex(2, 2):
        a, modes = u0 ** (1 / 3), []
        for _ in range(4):
            modes.append(a ** 3)
            a = a + lr[i, j] * (s - a ** 3) * a ** 2
        np.testing.assert_allclose(run.modes[i, j], modes, rtol=1e-13)
        np.testing.assert_allclose(run.loss[i, j], 0.5 * np.sum((s - np.array(modes)) ** 2, axis=1), rtol=1e-13)


def test_minibatch_sgd_records_averages_since_the_last_record_and_the_whole_test_set():
    """A zero network gives every sample the loss log C, so each record, an average over the minibatches since the
    previous one, is log C whatever the batches (a tiny rate keeps it there). Its test error at step 0 is exact: the
    first 1,000 test samples are of class 0 (right), the other 500 not (wrong), so 1/3 over the two chunks of the
    evaluation; its training error at step 0, on one batch holding every sample, is the share of labels that are not 0."""
    import torch

    from dlnlib import deepnets

    rng = np.random.default_rng(12)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 4, 40)
    y_test = np.r_[np.zeros(1000, dtype=int), np.ones(500, dtype=int)]
    data = tasks.ClassificationData(X, y, rng.standard_normal((1500, 3)), y_test)
    model = deepnets.MLP([np.zeros((4, 3))], dtype=torch.float64)
    run = train.minibatch_sgd(model, data, lr=1e-12, steps=7, batch_size=10, record_every=3, seed=0)
    assert run.t.tolist() == [0, 3, 6, 7]
    np.testing.assert_allclose(run.loss, np.log(4), rtol=1e-9)
    assert run.test_error[0] == pytest.approx(1 / 3, rel=1e-12)
    whole = train.minibatch_sgd(deepnets.MLP([np.zeros((4, 3))], dtype=torch.float64), data, lr=1e-12, steps=1,
                                batch_size=40, record_every=1, seed=0)
    assert whole.error[0] == pytest.approx(np.mean(y != 0), rel=1e-12)


def test_first_passage_time_interpolates_in_time_between_unequally_spaced_records():
    t, x = np.array([0.0, 1.0, 3.0, 7.0]), np.array([0.0, 1.0, 2.0, 4.0])
    np.testing.assert_allclose(measure.first_passage_time(t, x, [1.5, 3.0]), [2.0, 5.0])


def test_check_close_is_inclusive_at_its_tolerance_and_prints_the_requested_digits(monkeypatch, capsys):
    monkeypatch.setattr(checks, "RESULTS", [])
    checks.check_close("abs edge", 1.5, 1.0, atol=0.5)
    checks.check_close("rel edge", 1.25, 1.0, rtol=0.25)
    checks.check_close("both edge", 8.5, 8.0, rtol=1 / 32, atol=0.25)
    checks.check_close("pi", 3.14159, 3.0, atol=0.2, digits=2)
    checks.check_above("above", 123.456, 1.0)
    checks.check_below("below", 0.012345, 1.0)
    lines = capsys.readouterr().out.splitlines()
    assert [r.passed for r in checks.RESULTS] == [True] * 6
    assert lines[3:] == ["PASS | pi | measured 3.1 | expected 3 within abs 0.2", "PASS | above | measured 123 | > 1",
                         "PASS | below | measured 0.012 | < 1"]
    with pytest.raises(AssertionError, match="FAIL"):
        checks.check_close("just outside", 1.5 + 1e-12, 1.0, atol=0.5)


def test_matrix_losses_on_an_exact_small_case():
    """X = (1, 2), Y = (0, 1), W = 1: residuals (1, 1), so l2 = 1/2, l4 = 1/4 (means over the 2 samples); with labels
    (1, -1) and scores (1, 2) the logistic loss is (log(1 + e^-1) + log(1 + e^2)) / 2."""
    X, W = np.array([[1.0, 2.0]]), np.array([[1.0]])
    assert landscape.matrix_loss("l2", X, np.array([[0.0, 1.0]]))[0](W) == pytest.approx(0.5, rel=1e-15)
    assert landscape.matrix_loss("l4", X, np.array([[0.0, 1.0]]))[0](W) == pytest.approx(0.25, rel=1e-15)
    f, g = landscape.matrix_loss("logistic", X, np.array([[1.0, -1.0]]))
    assert f(W) == pytest.approx((np.log1p(np.exp(-1.0)) + np.log1p(np.exp(2.0))) / 2, rel=1e-14)
    # d/dz log(1 + e^{-yz}) = -y / (1 + e^{yz}): (-1/(1 + e) * 1 + 1/(1 + e^-2) * 2) / 2
    assert g(W)[0, 0] == pytest.approx((-1 / (1 + np.e) + 2 / (1 + np.exp(-2.0))) / 2, rel=1e-14)


def test_is_local_minimum_reads_its_tolerances():
    """Stationary means a gradient strictly below gradient_tol; 'within eps of 0' includes eps itself."""
    search = landscape.MinimaSearch(values=np.zeros(5), gradient_norms=np.array([1e-12, 1e-12, 1e-9, 1e-12, 1e-10]),
                                    eigenvalues=np.array([[0.0, 0.0, 1.0, 2.0], [-1e-3, 0.0, 0.0, 1.0],
                                                          [0.0, 0.0, 1.0, 2.0], [0.0, 1e-6, 1e-3, 2.0],
                                                          [0.0, 0.0, 1.0, 2.0]]),
                                    weights=[], symmetry_dim=2)
    np.testing.assert_array_equal(search.is_local_minimum(), [True, False, False, True, False])
    np.testing.assert_array_equal(search.is_local_minimum(gradient_tol=1e-8, eigenvalue_tol=1e-2),
                                  [True, False, True, False, True])


def test_fixed_point_of_a_deeper_non_square_network():
    """Depth 3, widths 6-4-3-5, modes 0 and 2 learned: U^T W V has s_0 and s_2 on the diagonal and nothing else, every
    layer carries s^(1/3) on those modes (so the imbalances vanish), and the gradient is zero."""
    task = tasks.svd_task([3.0, 2.0, 1.0, 0.5], 6, 5, seed=2)
    ws = landscape.fixed_point(task, [0, 2], [6, 4, 3, 5], seed=3)
    u, s, vv = task.svd
    expected = np.zeros((5, 6))
    expected[0, 0], expected[2, 2] = 3.0, 1.0
    np.testing.assert_allclose(u.T @ networks.end_to_end(ws) @ vv, expected, atol=1e-13)
    for w in ws:
        np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False)[:2], [3 ** (1 / 3), 1.0], rtol=1e-12)
    for m in networks.imbalance(ws):
        np.testing.assert_allclose(m, 0.0, atol=1e-13)
    assert landscape.loss_gradient_norm(ws, task) < 1e-12


def test_seed_everything_seeds_python_numpy_and_torch():
    import random

    import torch

    from dlnlib import seed_everything

    def draws(seed):
        g = seed_everything(seed)
        return random.random(), np.random.rand(), torch.rand(1).item(), g.random()

    assert draws(7) == draws(7)
    assert all(a != b for a, b in zip(draws(7), draws(8)))


def test_learning_rate_scan_trains_the_requested_network_at_the_requested_resolution():
    """learning_rate_scan with a tanh network and records every 4 steps is RateScan.from_result of that batched run."""
    task = tasks.hierarchical_task(levels=2, flip_prob=0.1, n_features=6, seed=0)
    w0 = init.gaussian([4, 5, 6], 0.3, seed=1)
    lrs = np.array([0.02, 0.05, 0.1])
    threshold = 0.5 * task.loss(np.zeros((6, 4)))
    scan = train.learning_rate_scan(w0, task, lrs, 40, threshold, record_every=4, activation="tanh")
    batched = train.gradient_descent([np.repeat(w[None], 3, axis=0) for w in w0], task, lr=lrs, steps=40,
                                     record_every=4, activation="tanh", on_divergence="mark")
    expected = train.RateScan.from_result(batched, threshold)
    assert np.isfinite(scan.time).all()
    np.testing.assert_array_equal(scan.time, expected.time)
    linear = train.learning_rate_scan(w0, task, lrs, 40, threshold, record_every=4)
    assert not np.array_equal(linear.time, scan.time)               # the activation matters here


# --- added after the first run of mutant set C, for its survivors (issue 19) -------------------------------------------

def test_rate_scan_from_modes_on_a_hand_made_record():
    """Settled (every mode within 10 %) from t = 50 to the end at t = 100: held exactly as long as it took, so it
    counts; from t = 75 it does not; a visit at t = 25 that leaves again does not count either."""
    t = np.array([0.0, 25.0, 50.0, 75.0, 100.0])
    modes = np.array([[0.0, 0.5, 0.95, 1.0, 1.02], [0.0, 0.5, 0.7, 0.95, 1.0], [0.0, 1.0, 0.5, 0.95, 1.0]])[..., None]
    result = train.TrainResult(t=t, loss=np.zeros((3, 5)), modes=modes, weights=[], lr=np.array([0.1, 0.2, 0.3]),
                               diverged_at=np.array([-1, -1, -1]))
    scan = train.RateScan.from_modes(result, [1.0], rel_tol=0.1)
    np.testing.assert_array_equal(scan.time, [50.0, np.inf, np.inf])
    assert scan.best_lr == 0.1


def test_greedy_pretraining_feeds_each_autoencoder_the_covariance_of_the_layer_below():
    """Widths 6-4-3-2: the first encoder keeps the top 4 principal components (variances 4, 3, 2, 1.5), so the second
    autoencoder sees their covariance, not the identity; with 3 units it drops the weakest and ends at half its
    variance, 0.75 (it would be 0.5 on whitened inputs)."""
    rng = np.random.default_rng(0)
    q = init.random_orthogonal(6, seed=rng)
    X = q @ (np.sqrt([4.0, 3.0, 2.0, 1.5, 1.0, 0.8])[:, None] * init.random_orthogonal(6, 40, seed=rng))
    task = tasks.Task.from_samples(X, rng.standard_normal((2, 40)))
    _, aes = init.greedy_pretraining(task, [6, 4, 3, 2], lr=0.05, steps=1500, seed=1)
    assert aes[0].loss[-1] == pytest.approx(0.9, abs=1e-4)
    assert aes[1].loss[-1] == pytest.approx(0.75, abs=1e-4)
