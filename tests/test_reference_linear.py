"""Reference tests of the linear-network mechanics at non-trivial parameters (tau != 1, non-square and non-whitened
tasks, unequal classes): each checks a public function against something it does not compute itself, a closed form,
finite differences, an independent ODE solve or an exact small case.

Statistical tests use fixed seeds; each states its false-alarm rate, the probability that a correct implementation
fails it over a fresh seed.
"""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dlnlib import checks, init, landscape, networks, tasks, theory, train


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
    minus the lambda = a^2 - b^2 of theory.lambda_balanced_mode_trajectory (Saxe et al. 2014, Eqs. 8-9)."""
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
