"""Three-layer mode dynamics from random starts, imbalances and saddles: effective initial strengths against simulated
learning times, the App. A learning time, the step change of the imbalance, curvature at rescaled fixed points."""
from itertools import combinations

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

from dlnlib import init, landscape, measure, networks, tasks, theory, train


@pytest.fixture(scope="module")
def small_task():
    return tasks.svd_task([3.0, 1.5, 0.8], 3, 4, seed=0)


def test_effective_initial_strength_is_the_mean_of_the_projected_start(small_task):
    # |a + b|^2 / 4 over 4000 random starts: mean N2 sigma^2 / 2 (standard error 0.8 %); with competition the
    # k-th mode keeps (N2 - k) / N2 of it on average (Gram-Schmidt in a Gaussian frame).
    w = init.gaussian([3, 8, 4], 0.01, n_runs=4000, seed=0)
    lone = networks.effective_initial_strengths(w, small_task, competition=False).mean(axis=0)
    shared = networks.effective_initial_strengths(w, small_task).mean(axis=0)
    expected = theory.effective_initial_strength(0.01, 8)
    np.testing.assert_allclose(expected, 0.5 * 8 * 0.01 ** 2, rtol=1e-15)
    np.testing.assert_allclose(lone / expected, 1.0, atol=0.03)
    np.testing.assert_allclose(shared / expected, (8 - np.arange(3)) / 8, atol=0.03)


def test_effective_initial_strengths_predict_simulated_half_learning_times(small_task):
    # Gradient flow from small random weights: with the competition model the sigmoid (Eq. 12) gives every mode's
    # half-learning time to 1e-3 (well-separated singular values); the lone-mode start misses the weaker modes.
    s = small_task.singular_values
    w = init.gaussian([3, 5, 4], 1e-4, n_runs=8, seed=3)
    flow = train.gradient_flow(w, small_task, t_eval=np.linspace(0, 15, 3001))
    half = measure.first_passage_time(flow.t, np.moveaxis(flow.modes, -1, -2), s / 2)
    errors = {}
    for competition in (True, False):
        u0 = networks.effective_initial_strengths(w, small_task, competition=competition)
        predicted = theory.learning_time(s, u0, s / 2)
        errors[competition] = np.abs(half - predicted) / predicted
    assert errors[True].max() < 1e-3
    assert errors[False][:, 0].max() < 1e-3          # the strongest mode has no competitor
    assert errors[False][:, 1:].max() > 0.05


def test_effective_initial_strengths_qr_equals_explicit_projection(small_task):
    w = init.gaussian([3, 5, 4], 0.1, n_runs=3, seed=1)
    a, b = networks.mode_vectors(w, small_task)
    p = a + b
    got = networks.effective_initial_strengths(w, small_task)
    for r in range(3):
        for alpha in range(3):
            q, _ = np.linalg.qr(p[r, :alpha].T) if alpha else (np.zeros((5, 0)), None)
            rest = p[r, alpha] - q @ (q.T @ p[r, alpha])
            assert got[r, alpha] == pytest.approx(rest @ rest / 4, rel=1e-12)


def test_modes_beyond_the_hidden_width_start_from_zero(small_task):
    w = init.gaussian([3, 2, 4], 0.1, seed=2)
    got = networks.effective_initial_strengths(w, small_task)
    assert got[2] == 0.0 and np.all(got[:2] > 0)


def test_mode_vectors_give_the_rotated_product(small_task):
    w = init.gaussian([3, 5, 4], 0.3, n_runs=2, seed=4)
    a, b = networks.mode_vectors(w, small_task)
    u, _, vv = small_task.svd
    rotated = u[:, :3].T @ networks.end_to_end(w) @ vv
    np.testing.assert_allclose(np.einsum("rah,rbh->rba", a, b), rotated, atol=1e-14)
    with pytest.raises(ValueError, match="three-layer"):
        networks.mode_vectors(init.gaussian([3, 5, 5, 4], 0.3, seed=0), small_task)


@pytest.mark.parametrize("m", [0.0, 0.05, 1.0, 30.0])
def test_imbalanced_learning_time_matches_quadrature_and_flow(m):
    s, u0, uf, tau = 1.3, 1e-3, 0.9, 2.0
    integral, _ = quad(lambda u: 1 / (np.sqrt(m ** 2 + 4 * u ** 2) * (s - u)), u0, uf, epsabs=0, epsrel=1e-13)
    t = theory.imbalanced_learning_time(s, u0, uf, m, tau=tau)
    assert t == pytest.approx(tau * integral, rel=1e-10)
    # the same time from the (a, b) flow of Eqs. 8-9 started with b^2 - a^2 = m
    b0 = np.sqrt((m + np.sqrt(m ** 2 + 4 * u0 ** 2)) / 2)
    event = lambda _, y: y[0] * y[1] - uf
    event.terminal = True
    sol = solve_ivp(lambda _, y: [y[1] * (s - y[0] * y[1]) / tau, y[0] * (s - y[0] * y[1]) / tau], (0, 100),
                    [u0 / b0, b0], rtol=1e-12, atol=1e-14, events=event)
    assert sol.t_events[0][0] == pytest.approx(t, rel=1e-7)


def test_imbalanced_learning_time_reduces_to_eq11_and_differs_from_the_printed_app_a():
    s, u0, uf, tau = 2.0, 1e-4, 1.5, 3.0
    assert theory.imbalanced_learning_time(s, u0, uf, 0.0, tau) == pytest.approx(
        theory.learning_time(s, u0, uf, tau=tau), rel=1e-12)
    # the paper's Eqs. 24-26 are this formula with (s, u) -> (s/2, u/2): for a small imbalance, twice Eq. 11
    c0 = 1e-7
    root = np.sqrt(c0 ** 2 + s ** 2)
    printed = lambda u: np.log((root + c0 + s * np.tanh(np.arcsinh(u / c0) / 2))
                               / (root - c0 - s * np.tanh(np.arcsinh(u / c0) / 2))) / root
    assert tau * (printed(uf) - printed(u0)) / theory.imbalanced_learning_time(s, u0, uf, c0, tau) == pytest.approx(2, rel=1e-4)
    with pytest.raises(ValueError, match="uf"):
        theory.imbalanced_learning_time(s, u0, 2.5, 0.1)


def test_imbalance_step_change_is_exact_for_one_step():
    rng = np.random.default_rng(0)
    task = tasks.Task.from_samples(rng.standard_normal((3, 7)), rng.standard_normal((5, 7)))
    w = init.gaussian([3, 4, 2, 5], 0.3, seed=1)
    step = train.gradient_descent(w, task, lr=0.05, steps=1)
    predicted = train.imbalance_step_change(w, task, 0.05)
    measured = [after - before for after, before in zip(networks.imbalance(step.weights), networks.imbalance(w))]
    for p, q in zip(predicted, measured):
        assert np.abs(q).max() > 1e-4
        np.testing.assert_allclose(p, q, atol=1e-15)


def test_fixed_point_min_eigenvalue_matches_the_hessian_at_rescaled_points():
    s = np.array([4.0, 3.0, 2.2, 1.0, 0.5])
    task = tasks.svd_task(s, 5, 5, seed=0)
    for k in range(4):
        for active in combinations(range(5), k):
            w = landscape.fixed_point(task, list(active), [5, 3, 5], seed=1)
            for c in (1.0, 0.5, 2.5):
                hessian = landscape.loss_hessian([c * w[0], w[1] / c], task)
                predicted = landscape.fixed_point_min_eigenvalue(s, active, 3, scale=c)
                assert np.linalg.eigvalsh(hessian).min() == pytest.approx(predicted, abs=1e-10)
    assert landscape.fixed_point_min_eigenvalue(s, (0, 1, 3), 3) == pytest.approx(-(2.2 - 1.0))
    with pytest.raises(ValueError, match="active_modes"):
        landscape.fixed_point_min_eigenvalue(s, (0, 1, 2, 3), 3)


def test_representational_similarity_and_tree_split_level():
    h = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
    np.testing.assert_allclose(measure.representational_similarity(h), [[1, 1, 0], [1, 1, 0], [0, 0, 1]], atol=1e-15)
    with pytest.raises(ValueError, match="zero representation"):
        measure.representational_similarity(np.zeros((2, 2)))
    split = tasks.tree_split_level(3)
    assert split[0, 1] == 3 and split[0, 2] == 2 and split[0, 4] == 1 and split[5, 5] == 0
    np.testing.assert_array_equal(split, split.T)
    assert [np.sum(split[0] == k) for k in (1, 2, 3)] == [4, 2, 1]


@pytest.mark.parametrize("call, error, match", [
    (lambda: theory.effective_initial_strength(-0.1, 4), ValueError, "std"),
    (lambda: theory.effective_initial_strength(0.1, 2.5), TypeError, "n_hidden"),
    (lambda: theory.imbalanced_learning_time(1.0, 0.1, 0.5, np.nan), ValueError, "imbalance"),
    (lambda: networks.mode_vectors(init.gaussian([3, 5, 4], 0.1, seed=0), tasks.svd_task([2.0, 1.0, 0.5], 3, 4, seed=0),
                                   n_modes=1.5), TypeError, "n_modes"),
    (lambda: train.imbalance_step_change(init.gaussian([3, 5, 4], 0.1, seed=0), tasks.svd_task([2.0, 1.0, 0.5], 3, 4, seed=0),
                                         -1.0), ValueError, "lr"),
    (lambda: landscape.fixed_point_min_eigenvalue([2.0, 1.0], (0.5,), 2), TypeError, "active_modes"),
    (lambda: landscape.fixed_point_min_eigenvalue([2.0, 1.0], (0,), 2, scale=0.0), ValueError, "scale"),
    (lambda: measure.representational_similarity(np.ones(3)), ValueError, "hidden"),
    (lambda: tasks.tree_split_level(0), ValueError, "levels"),
])
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
