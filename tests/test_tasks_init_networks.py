"""Tasks, initialisations and network helpers: exact constructions and invariants."""
import numpy as np
import pytest
import torch

from dlnlib import init, networks, tasks


def test_from_samples_statistics_are_sums():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3, 7)), rng.standard_normal((2, 7))
    task = tasks.Task.from_samples(X, Y)
    np.testing.assert_allclose(task.sigma11, sum(np.outer(X[:, m], X[:, m]) for m in range(7)), rtol=1e-13)
    np.testing.assert_allclose(task.sigma31, sum(np.outer(Y[:, m], X[:, m]) for m in range(7)), rtol=1e-13)
    W = rng.standard_normal((4, 2, 3))
    np.testing.assert_allclose(task.loss(W), 0.5 * ((Y - W @ X) ** 2).sum((-2, -1)), rtol=1e-12)


def test_svd_task_has_prescribed_spectrum_and_whitened_inputs():
    s = np.array([5.0, 2.0, 1.0])
    task = tasks.svd_task(s, n_in=6, n_out=4, seed=3)
    np.testing.assert_allclose(task.X @ task.X.T, np.eye(6), atol=1e-13)
    np.testing.assert_allclose(np.linalg.svd(task.sigma31, compute_uv=False), [5, 2, 1, 0], atol=1e-13)
    u, sv, vv = task.svd
    np.testing.assert_allclose(u.T @ task.sigma31 @ vv[:, :4], np.diag(sv), atol=1e-13)
    assert task.loss(task.sigma31) == pytest.approx(0.0, abs=1e-12)


def test_hierarchical_task_spectrum_groups_by_level():
    """Claim 6: singular values fall in ordered level groups of sizes 1, 1, 2, 4, 8, 16 with clear gaps."""
    task = tasks.hierarchical_task(levels=5, flip_prob=0.1, n_features=1000, seed=1)
    assert (task.n_in, task.n_out) == (32, 1000)
    assert set(np.unique(task.Y)) == {-1.0, 1.0}
    s = task.singular_values
    groups = np.split(s, np.cumsum([1, 1, 2, 4, 8]))
    assert [g.size for g in groups] == [1, 1, 2, 4, 8, 16]
    for upper, lower in zip(groups[:-1], groups[1:]):
        assert upper.min() > lower.max()
    spread = [(g.max() - g.min()) / g.max() for g in groups]
    assert max(spread[:4]) < 0.15      # the coarse levels (groups of 1, 1, 2, 4) are tight
    assert max(spread[4:]) < 0.30      # 8 and 16 modes spread ~15 % and ~24 % with 1000 features (not < 15 %)


def test_hierarchical_task_no_flips_gives_identical_items():
    task = tasks.hierarchical_task(levels=3, flip_prob=0.0, n_features=50, seed=0)
    assert np.all(task.Y == task.Y[:, :1])


def test_task_best_rank_approximation_is_truncated_svd():
    task = tasks.svd_task([4.0, 3.0, 2.0, 1.0], 5, 5, seed=0)
    approx = task.best_rank_approximation(2)
    assert np.linalg.matrix_rank(approx) == 2
    assert np.linalg.norm(task.sigma31 - approx) == pytest.approx(np.hypot(2.0, 1.0), rel=1e-12)


@pytest.mark.parametrize("shape", [(5, 5), (7, 3), (3, 7)])
def test_random_orthogonal_is_orthonormal(shape):
    q = init.random_orthogonal(*shape, seed=0)
    small = min(shape)
    gram = q.T @ q if shape[0] >= shape[1] else q @ q.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-13)


def test_gaussian_init_shapes_and_std():
    """A sample standard deviation of N entries is within 1/sqrt(2N) of the truth (standard deviation): 0.2 % and
    0.35 % here; the tolerance of 2 % is 5.7 of them or more (false-alarm rate below 1e-7)."""
    ws = init.gaussian([300, 200, 100], std=[0.5, 2.0], n_runs=2, seed=0)
    assert [w.shape for w in ws] == [(2, 200, 300), (2, 100, 200)]
    assert ws[0].std() == pytest.approx(0.5, rel=0.02)
    assert ws[1].std() == pytest.approx(2.0, rel=0.02)


def test_decoupled_init_sets_mode_strengths_and_aligns_layers():
    task = tasks.svd_task([3.0, 2.0, 1.0, 0.5], 6, 5, seed=0)
    widths = [6, 4, 7, 5]
    ws = init.decoupled(task, widths, u0=[1e-2, 2e-2, 3e-2, 4e-2], seed=1)
    product = networks.end_to_end(ws)
    np.testing.assert_allclose(networks.mode_strengths(product, task, 4), [1e-2, 2e-2, 3e-2, 4e-2], atol=1e-15)
    u, _, vv = task.svd
    np.testing.assert_allclose(u.T @ product @ vv, np.pad(np.diag([1e-2, 2e-2, 3e-2, 4e-2]), ((0, 1), (0, 2))),
                               atol=1e-15)
    # balanced: every layer carries u0 ** (1/3) on each mode, so all imbalances vanish on the mode subspace
    for m in networks.imbalance(ws):
        np.testing.assert_allclose(m, 0, atol=1e-15)
    # the frames diagonalise every layer: R_{l+1}^T W_l R_l = diag(u0^(1/3)) padded with zeros
    same, frames = init.decoupled(task, widths, u0=[1e-2, 2e-2, 3e-2, 4e-2], seed=1, return_frames=True)
    assert [f.shape for f in frames] == [(6, 6), (4, 4), (7, 7), (5, 5)]
    for l, w in enumerate(same):
        np.testing.assert_array_equal(w, ws[l])
        core = frames[l + 1].T @ w @ frames[l]
        expected = np.zeros_like(core)
        expected[:4, :4] = np.diag(np.array([1e-2, 2e-2, 3e-2, 4e-2]) ** (1 / 3))
        np.testing.assert_allclose(core, expected, atol=1e-15)


def test_decoupled_init_runs_axis():
    task = tasks.svd_task([1.0, 0.5], 3, 3, seed=0)
    ws = init.decoupled(task, [3, 3, 3], 1e-3, n_runs=4, seed=0)
    assert ws[0].shape == (4, 3, 3)
    assert not np.allclose(ws[0][0], ws[0][1])   # each run has its own hidden rotation
    np.testing.assert_allclose(networks.mode_strengths(networks.end_to_end(ws), task), 1e-3, atol=1e-15)
    _, frames = init.decoupled(task, [3, 3, 3], 1e-3, n_runs=4, seed=0, return_frames=True)
    assert [f.shape for f in frames] == [(4, 3, 3)] * 3


def test_end_to_end_and_mode_strengths_accept_tensors():
    task = tasks.svd_task([2.0, 1.0], 3, 2, seed=0)
    ws = init.gaussian([3, 4, 2], 1.0, seed=0)
    product = networks.end_to_end(ws)
    np.testing.assert_allclose(product, ws[1] @ ws[0])
    as_tensor = networks.mode_strengths(torch.tensor(product), task)
    assert torch.is_tensor(as_tensor)
    np.testing.assert_allclose(as_tensor.numpy(), networks.mode_strengths(product, task), rtol=1e-14)


@pytest.mark.parametrize("call, match", [
    (lambda: networks.end_to_end([np.ones((2, 3)), np.ones((2, 3))]), "expects 3 inputs"),
    (lambda: networks.end_to_end([]), "non-empty list"),
    (lambda: networks.check_chain([np.ones((2, 3))], n_in=4), "must take 4 inputs"),
    (lambda: tasks.svd_task([1.0, 2.0], 3, 3), "non-increasing"),
    (lambda: tasks.svd_task([3.0, 2.0, 1.0], 2, 3), "at most min"),
    (lambda: tasks.hierarchical_task(flip_prob=0.7), "flip_prob"),
    (lambda: tasks.Task.from_samples(np.ones((2, 3)), np.ones((2, 4))), "same number of samples"),
    (lambda: init.gaussian([3], 1.0), "at least two layer sizes"),
    (lambda: init.gaussian([3, 2, 1], [1.0, 1.0, 1.0]), "one entry per weight matrix"),
    (lambda: init.decoupled(tasks.svd_task([1.0], 2, 2), [3, 2], 1e-3), "must start with task.n_in"),
    (lambda: init.decoupled(tasks.svd_task([1.0], 2, 2), [2, 2], -1.0), "u0 must be > 0"),
    (lambda: init.random_orthogonal(0), "n_rows must be >= 1"),
])
def test_bad_input_is_rejected(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
