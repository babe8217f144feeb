"""dlnlib.theory against closed forms, independent ODE solves and the paper's calibration figures."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dlnlib import landscape, tasks, theory, train


def test_mode_trajectory_matches_eq12_form_and_limits():
    t = np.array([0.0, 1.0, 5.0])
    s, u0, tau = 2.0, 0.01, 1.5
    e = np.exp(2 * s * t / tau)
    np.testing.assert_allclose(theory.mode_trajectory(t, s, u0, tau), s * e / (e - 1 + s / u0), rtol=1e-14)
    assert theory.mode_trajectory(0.0, s, u0) == pytest.approx(u0, rel=1e-15)
    assert theory.mode_trajectory(1e4, s, u0) == pytest.approx(s, rel=1e-15)


def test_mode_trajectory_solves_logistic_ode():
    s, u0, tau = 3.0, 1e-4, 2.0
    sol = solve_ivp(lambda _, u: 2 * u * (s - u) / tau, (0, 10), [u0], rtol=1e-12, atol=1e-16, dense_output=True)
    t = np.linspace(0, 10, 41)
    np.testing.assert_allclose(theory.mode_trajectory(t, s, u0, tau), sol.sol(t)[0], rtol=1e-8)


@pytest.mark.parametrize("s, eps", [(1.0, 1e-4), (5.0, 1e-3), (0.3, 1e-6)])
def test_learning_time_exact_and_approximate_forms(s, eps):
    tau = 7.0
    exact = theory.learning_time(s, eps, s - eps, depth=2, tau=tau)
    assert exact == pytest.approx(tau / s * np.log((s - eps) / eps), rel=1e-11)
    approx = tau / s * np.log(s / eps)
    # claim 2: the eps -> 0 form is off by about eps / (s ln(s/eps)) relative
    assert abs(approx - exact) / exact == pytest.approx(eps / (s * np.log(s / eps)), rel=0.05)


def test_learning_time_is_first_passage_of_gradient_flow():
    s, eps, tau = 2.0, 1e-3, 1.0
    event = lambda _, u: u[0] - (s - eps)
    event.terminal = True
    sol = solve_ivp(lambda _, u: 2 * u * (s - u) / tau, (0, 20), [eps], rtol=1e-12, atol=1e-15, events=event)
    assert sol.t_events[0][0] == pytest.approx(theory.learning_time(s, eps, s - eps, tau=tau), rel=1e-6)


def test_learning_time_inversely_proportional_to_s():
    s = np.array([0.5, 1.0, 2.0, 8.0])
    t = theory.learning_time(s, 1e-6, s / 2)
    np.testing.assert_allclose(s * t, 0.5 * np.log((s - 1e-6) / 1e-6), rtol=1e-12)


def test_learning_time_depth_one_is_shallow_relaxation():
    assert theory.learning_time(2.0, 0.5, 1.5, depth=1, tau=3.0) == pytest.approx(3.0 * np.log(1.5 / 0.5), rel=1e-14)


@pytest.mark.parametrize("depth", [3, 4, 9, 40])
def test_deep_learning_time_matches_ode_event(depth):
    s, u0, uf, tau = 1.5, 1e-3, 1.2, 0.7
    rhs = lambda _, u: depth * u ** (2 - 2 / depth) * (s - u) / tau
    event = lambda _, u: u[0] - uf
    event.terminal = True
    sol = solve_ivp(rhs, (0, 1e5), [u0], rtol=1e-12, atol=1e-16, events=event)
    assert theory.learning_time(s, u0, uf, depth=depth, tau=tau) == pytest.approx(sol.t_events[0][0], rel=1e-7)


def test_deep_learning_time_paper_calibration():
    """Claim 8: N_l t(N_l) at s = tau = 1, u0 = 1e-3, uf = 1 - 1e-3 (digest §3 calibration)."""
    n_l = np.array([3, 5, 10, 50, 100, 1000])
    scaled = [n * theory.learning_time(1.0, 1e-3, 1 - 1e-3, depth=int(n) - 1) for n in n_l]
    np.testing.assert_allclose(scaled, [20.7, 86.8, 317.6, 814.5, 909.1, 1002.0], atol=0.06)
    limit = np.log(0.999 * 0.999 / (1e-3 * 1e-3)) + 1 / 1e-3 - 1 / 0.999   # Eq. 17's bracket
    assert abs(scaled[-1] - limit) / limit < 0.02
    assert np.all(np.diff(scaled) > 0)


@pytest.mark.parametrize("depth", [1, 2, 3, 6, 25])
def test_deep_mode_trajectory_inverts_learning_time(depth):
    s, u0, tau = 2.0, 1e-3, 3.0
    uf = np.array([0.01, 0.5, 1.0, 1.9])
    t = theory.learning_time(s, u0, uf, depth=depth, tau=tau)
    np.testing.assert_allclose(theory.deep_mode_trajectory(t, s, u0, depth, tau), uf, rtol=1e-9)


@pytest.mark.parametrize("lam", [1e-2, 1.0, 10.0, -4.0])
def test_imbalanced_mode_matches_scalar_gradient_flow(lam):
    """Claim 23: simulate Eqs. 8-9 from a0^2 - b0^2 = lam, a0 b0 = u0."""
    s, u0 = 2.0, 1e-3
    a0 = np.sqrt((abs(lam) + np.sqrt(lam ** 2 + 4 * u0 ** 2)) / 2)
    b0 = u0 / a0
    a0, b0 = (a0, b0) if lam > 0 else (b0, a0)
    rhs = lambda _, y: [y[1] * (s - y[0] * y[1]), y[0] * (s - y[0] * y[1])]
    sol = solve_ivp(rhs, (0, 20), [a0, b0], rtol=1e-12, atol=1e-15, dense_output=True)
    t = np.linspace(0, 20, 60)
    a, b = sol.sol(t)
    np.testing.assert_allclose(theory.imbalanced_mode_trajectory(t, s, u0, lam), a * b, atol=1e-8)


def test_imbalanced_mode_limits():
    t = np.linspace(0, 10, 30)
    np.testing.assert_allclose(theory.imbalanced_mode_trajectory(t, 2.0, 1e-3, 0.0),
                               theory.mode_trajectory(t, 2.0, 1e-3), rtol=1e-13)
    lazy = theory.imbalanced_mode_trajectory(t, 1.0, 1e-3, 1e3, tau=1e3)
    np.testing.assert_allclose(lazy, 1 - (1 - 1e-3) * np.exp(-t), rtol=2e-3)


def test_mode_vector_field_conserves_hyperbola_and_vanishes_on_fixed_points():
    a, b = np.array([0.3, 1.0, 2.0]), np.array([0.1, 0.5, 0.25])
    da, db = theory.mode_vector_field(a, b, 0.5)
    np.testing.assert_allclose(2 * a * da - 2 * b * db, 0, atol=1e-15)   # d(a^2 - b^2)/dt = 0
    np.testing.assert_allclose(theory.mode_vector_field(2.0, 0.25, 0.5), (0, 0), atol=1e-15)


@pytest.mark.parametrize("call, match", [
    (lambda: theory.mode_trajectory(-1.0, 1.0, 0.1), "t must be >= 0"),
    (lambda: theory.mode_trajectory(1.0, -1.0, 0.1), "s must be > 0"),
    (lambda: theory.mode_trajectory(1.0, 1.0, np.nan), "u0 must be finite"),
    (lambda: theory.mode_trajectory(1.0, 1.0, 0.1, tau=0), "tau must be > 0"),
    (lambda: theory.learning_time(1.0, 0.5, 0.2), "u0 must be < uf"),
    (lambda: theory.learning_time(1.0, 0.1, 1.0), "uf must be < s"),
    (lambda: theory.learning_time(1.0, 0.1, 0.5, depth=0), "depth must be >= 1"),
    (lambda: theory.learning_time(1.0, 0.1, 0.5, depth=2.5), "depth must be an integer"),
    (lambda: theory.deep_mode_trajectory(1.0, 1.0, 2.0, 3), "u0 must be < s"),
    (lambda: theory.mode_trajectory("x", 1.0, 0.1), "t must be a real number"),
])
def test_bad_input_is_rejected_with_clear_message(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@pytest.mark.parametrize("n_l", [3, 4, 6, 10])
@pytest.mark.parametrize("s", [0.5, 1.0, 2.0])
def test_hessian_top_eigenvalue_matches_finite_differences(n_l, s):
    """Claim 9: at a_i = s^(1/D) the Hessian of 1/2 (s - prod a)^2 has top eigenvalue D s^(2-2/D), the rest 0."""
    depth = n_l - 1
    a = np.full(depth, s ** (1 / depth))
    energy = lambda x: 0.5 * (s - np.prod(x)) ** 2
    h = 1e-4
    eye = np.eye(depth)
    hessian = np.array([[(energy(a + h * eye[i] + h * eye[j]) - energy(a + h * eye[i] - h * eye[j])
                          - energy(a - h * eye[i] + h * eye[j]) + energy(a - h * eye[i] - h * eye[j])) / (4 * h * h)
                         for j in range(depth)] for i in range(depth)])
    eigenvalues = np.linalg.eigvalsh(hessian)
    assert eigenvalues[-1] == pytest.approx(theory.hessian_top_eigenvalue(s, depth), rel=1e-4)
    np.testing.assert_allclose(eigenvalues[:-1], 0, atol=1e-4)
    assert theory.hessian_top_eigenvalue(s, depth, tau=4.0) == pytest.approx(theory.hessian_top_eigenvalue(s, depth) / 4)


@pytest.mark.parametrize("depth, s, u", [(5, 1.0, 0.5 ** 5), (5, 1.0, 0.8), (3, 2.0, 0.3), (9, 0.5, 0.45), (4, 1.5, 0.0)])
def test_balanced_chain_hessian_matches_autograd_along_the_path(depth, s, u):
    """Eigenvalues of the chain's Hessian at a_i = u^(1/D): one along (1, ..., 1), D - 1 equal ones across it."""
    mode = tasks.Task(sigma11=np.eye(1), sigma31=np.array([[s]]), sigma33_trace=s ** 2)
    hessian = landscape.loss_hessian([np.full((1, 1), u ** (1 / depth))] * depth, mode)
    along, across = theory.balanced_chain_hessian(s, u, depth)
    ones = np.ones(depth) / np.sqrt(depth)
    np.testing.assert_allclose(hessian @ ones, along * ones, atol=1e-12)          # (1, ..., 1) is an eigenvector
    np.testing.assert_allclose(np.linalg.eigvalsh(hessian), np.sort([float(along)] + [float(across)] * (depth - 1)),
                               atol=1e-12)


def test_balanced_chain_hessian_top_direction_and_maximum():
    """(1, ..., 1) carries the top eigenvalue only for u > s/2; over 0 <= u <= s the maximum is lambda_1 at u = s."""
    u = np.linspace(0.0, 2.0, 2001)
    for depth in (2, 5, 20):
        along, across = theory.balanced_chain_hessian(2.0, u, depth)
        assert np.array_equal(along > across, u > 1.0)
        assert np.max(np.maximum(along, across)) == pytest.approx(theory.hessian_top_eigenvalue(2.0, depth), rel=1e-12)
        assert np.argmax(np.maximum(along, across)) == u.size - 1 and across[-1] == 0.0
    along, across = theory.balanced_chain_hessian(1.0, 0.5 ** 5, 5)     # D = 5, a = 0.5: the example in chapter 4
    assert along == pytest.approx(9 / 256 - 0.5) and across == pytest.approx(0.125 * (1 - 1 / 32))
    with pytest.raises(ValueError, match="depth must be >= 2"):
        theory.balanced_chain_hessian(1.0, 0.5, 1)
    with pytest.raises(ValueError, match="u must be >= 0"):
        theory.balanced_chain_hessian(1.0, -0.1, 3)


@pytest.mark.parametrize("depth", [2, 5, 50])
@pytest.mark.parametrize("rate", [2.02, 2.1, 2.3])
def test_two_cycle_is_where_gradient_descent_ends_up(depth, rate):
    """Past lr * lambda_1 = 2 a balanced mode (any s) alternates between the two strengths of theory.two_cycle."""
    s = 3.0
    lr = rate / theory.hessian_top_eigenvalue(s, depth)
    run = train.balanced_chain_descent(np.array([s]), 0.9 * s, depth, lr, 20000)
    low, high = theory.two_cycle(rate, depth)
    assert low < 1.0 < high
    np.testing.assert_allclose(np.sort(run.modes[-2:, 0]) / s, [low, high], rtol=1e-8)


def test_two_cycle_band_edge():
    """At the edge the 2-cycle touches the band |u/s - 1| = rel_tol; the edge rises with depth and with rel_tol."""
    edges = [theory.two_cycle_band_edge(d) for d in (2, 9, 999)]
    assert 2.0 < edges[0] < edges[1] < edges[2] < 2.06
    low, high = theory.two_cycle(edges[1], 9)
    assert max(1 - low, high - 1) == pytest.approx(0.1, abs=1e-9)
    assert theory.two_cycle_band_edge(9, rel_tol=0.05) < edges[1]
    with pytest.raises(ValueError, match="rate"):
        theory.two_cycle(1.9, 3)
    with pytest.raises(ValueError, match="depth must be >= 2"):
        theory.two_cycle(2.1, 1)
    with pytest.raises(ValueError, match="rel_tol must lie between"):
        theory.two_cycle_band_edge(3, rel_tol=0.9)


def test_learning_time_at_optimal_rate_saturates_with_depth():
    """Claim 10: calibration values of the digest (s = c = 1, u0 = 1e-3, uf = 1 - 1e-3)."""
    n_l = [3, 4, 5, 8, 10, 20, 50, 100, 1000]
    times = [float(theory.learning_time_at_optimal_rate(1.0, 1e-3, 1 - 1e-3, n - 1)) for n in n_l]
    np.testing.assert_allclose(times, [13.8, 34.6, 69.5, 202.7, 285.8, 550.7, 798.2, 900.0, 1001.0], atol=0.06)
    limit = theory.learning_time_at_optimal_rate(1.0, 1e-3, 1 - 1e-3, np.inf)
    assert limit == pytest.approx(1012.8, abs=0.05)
    assert np.all(np.diff(times) > 0) and times[-1] < limit
    assert (limit - times[0]) == pytest.approx(1.0 * (1 / 1e-3 - 1 / (1 - 1e-3)), rel=0.02)


def test_infinite_depth_delay_scales_as_one_over_u0():
    """Claim 10 (Eq. 45): halving u0 doubles the infinite-depth delay."""
    delay = lambda u0: (theory.learning_time_at_optimal_rate(1.0, u0, 0.999, np.inf)
                        - theory.learning_time_at_optimal_rate(1.0, u0, 0.999, 2))
    assert delay(5e-4) / delay(1e-3) == pytest.approx(2.0, abs=0.01)


def test_learning_time_at_optimal_rate_validates():
    with pytest.raises(ValueError, match="c must be > 0"):
        theory.learning_time_at_optimal_rate(1.0, 1e-3, 0.5, 3, c=0)
    with pytest.raises(TypeError, match="depth must be an integer"):
        theory.learning_time_at_optimal_rate(1.0, 1e-3, 0.5, -np.inf)
