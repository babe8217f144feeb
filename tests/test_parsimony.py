"""The law of parsimony: invariant bulk, compression frames, class separation."""
import numpy as np
import pytest
import torch

from dlnlib import init, networks, parsimony, tasks, train


def _target(d, r, seed):
    u, s, vt = np.linalg.svd(np.random.default_rng(seed).standard_normal((d, d)))
    return (u[:, :r] * s[:r]) @ vt[:r]


def test_gradient_descent_keeps_a_bulk_of_equal_singular_values():
    d, r = 12, 2
    Y = _target(d, r, 0)
    start = init.orthogonal([d] * 4, gain=1.0, seed=1)
    run = train.product_gradient_descent(start, lambda P: 0.5 * ((P - torch.tensor(Y)) ** 2).mean((-2, -1)), 1.0, 30)
    for w, w0 in zip(run.weights, start):
        stats = parsimony.invariant_bulk(w, w0, r)
        assert stats["spread"] < 1e-10 and stats["rank"] == 2 * r and stats["rho"] < 1.0


def test_bulk_value_follows_its_scalar_recursion():
    d, r, depth = 12, 2, 3
    Y = _target(d, r, 0)
    for loss, n_entries, eps, lr in ((lambda P: 0.5 * ((P - torch.tensor(Y)) ** 2).mean((-2, -1)), d * d, 1.0, 1.0),
                                     (lambda P: 0.5 * ((P - torch.tensor(Y)) ** 2).sum((-2, -1)), 1, 0.5, 0.01)):
        start = init.orthogonal([d] * (depth + 1), gain=eps, seed=1)
        run = train.product_gradient_descent(start, loss, lr, 40)
        expected = parsimony.bulk_recursion(eps, lr, 40, depth, n_entries)
        assert abs(expected - eps) > 1e-4                               # it does move, so the comparison has teeth
        for w, w0 in zip(run.weights, start):
            assert parsimony.invariant_bulk(w, w0, r)["rho"] == pytest.approx(expected, rel=1e-12)
    assert parsimony.bulk_recursion(0.1, 1.0, 0, 3) == 0.1
    with pytest.raises(ValueError, match="n_entries"):
        parsimony.bulk_recursion(0.1, 1.0, 5, 3, n_entries=0)


def test_compressed_network_follows_the_wide_one_up_to_the_frozen_bulk():
    d, r, eps = 16, 2, 1e-2
    Y = _target(d, r, 2)
    loss = lambda P: 0.5 * ((P - torch.tensor(Y)) ** 2).sum((-2, -1))  # noqa: E731
    start = init.orthogonal([d] * 4, gain=eps, seed=3)
    G0 = networks.end_to_end(start[1:]).T @ (networks.end_to_end(start) - Y)
    U, V = parsimony.compression_frames(start, G0, r)
    np.testing.assert_allclose(U.T @ U, np.eye(2 * r), atol=1e-12)
    np.testing.assert_allclose(V.T @ V, np.eye(2 * r), atol=1e-12)
    compressed = parsimony.compressed_start(start, G0, r)
    assert [w.shape for w in compressed] == [(2 * r, d)] + [(2 * r, 2 * r)] * 3 + [(d, 2 * r)]
    np.testing.assert_allclose(networks.end_to_end(compressed), eps ** 3 * U @ V.T, atol=1e-18)
    wide = train.product_gradient_descent(start, loss, 0.04, 2000, record_every=2000, record_products=True)
    core = train.product_gradient_descent(compressed, loss, 0.04, 2000, record_every=2000, record_products=True,
                                          factor_lr=[0, 1, 1, 1, 0])
    np.testing.assert_array_equal(core.weights[0], compressed[0])       # frozen frames do not move
    gap = np.linalg.norm(wide.weight_history[0][-1] - core.weight_history[0][-1])
    assert gap == pytest.approx(eps ** 3 * np.sqrt(d - 2 * r), rel=1e-3)
    assert wide.loss[-1] < 1e-3 * wide.loss[0]


def test_frames_keep_the_top_directions_of_both_sides_of_a_full_rank_gradient():
    # Matrix completion: the masked residual has full rank, and each side must keep its own top r directions.
    d, r, eps = 20, 2, 1e-2
    rng = np.random.default_rng(5)
    M, mask = _target(d, r, 6), rng.random((d, d)) < 0.4
    start = init.orthogonal([d] * 4, gain=eps, seed=7)
    residual = mask * (networks.end_to_end(start) - M)
    assert np.linalg.matrix_rank(residual) == d
    U, V = parsimony.compression_frames(start, networks.end_to_end(start[1:]).T @ residual, r)
    left, _, right_t = np.linalg.svd(residual)
    np.testing.assert_allclose(np.linalg.norm(V.T @ right_t[:r].T, axis=0), 1.0, atol=1e-10)   # rows the net must read
    np.testing.assert_allclose(np.linalg.norm(U.T @ left[:, :r], axis=0), 1.0, atol=1e-10)     # columns it must write


def test_factor_lr_scales_each_factor_per_run_and_is_validated():
    rng = np.random.default_rng(8)
    w1, w2, Y = rng.standard_normal((3, 4)), rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    loss = lambda P: 0.5 * ((P - torch.tensor(Y)) ** 2).sum((-2, -1))  # noqa: E731
    residual = w2 @ w1 - Y
    run = train.product_gradient_descent([np.stack([w1, w1]), np.stack([w2, w2])], loss, 0.1, 1,
                                         factor_lr=[[0.5, 0.0], [1.0, 2.0]])
    np.testing.assert_allclose(run.weights[0][0], w1 - 0.05 * w2.T @ residual, atol=1e-14)
    np.testing.assert_array_equal(run.weights[0][1], w1)
    np.testing.assert_allclose(run.weights[1][1], w2 - 0.2 * residual @ w1.T, atol=1e-14)
    for bad in ([1.0], [1.0, -1.0], [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]):
        with pytest.raises(ValueError, match="factor_lr"):
            train.product_gradient_descent([np.stack([w1, w1]), np.stack([w2, w2])], loss, 0.1, 1, factor_lr=bad)


def test_stop_loss_ends_training_when_the_fastest_run_reaches_the_tolerance():
    rng = np.random.default_rng(11)
    w1, w2, Y = 0.1 * rng.standard_normal((3, 4)), 0.1 * rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    loss = lambda P: 0.5 * ((P - torch.tensor(Y)) ** 2).sum((-2, -1))  # noqa: E731
    batch, rates = [np.stack([w1, w1]), np.stack([w2, w2])], np.array([0.02, 0.05])
    full = train.product_gradient_descent(batch, loss, rates, 3000)
    tol = 1e-3 * (Y ** 2).sum()
    first = int(np.flatnonzero(full.loss[1] <= tol)[0])              # the faster rate reaches it first
    assert full.loss[0, first] > tol
    stopped = train.product_gradient_descent(batch, loss, rates, 3000, record_every=500, stop_loss=tol)
    assert stopped.t[-1] == first and stopped.t[-2] == 500 * (first // 500)
    np.testing.assert_allclose(stopped.loss[:, -1], full.loss[:, first], rtol=1e-12)
    never = train.product_gradient_descent(batch, loss, rates, 300, record_every=100, stop_loss=1e-30)
    assert never.t.tolist() == [0, 100, 200, 300]
    with pytest.raises(ValueError, match="stop_loss"):
        train.product_gradient_descent(batch, loss, rates, 10, stop_loss=-1.0)


def test_stop_each_freezes_every_run_at_its_own_convergence():
    rng = np.random.default_rng(11)
    w1, w2, Y = 0.1 * rng.standard_normal((3, 4)), 0.1 * rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    loss = lambda P: 0.5 * ((P - torch.tensor(Y)) ** 2).sum((-2, -1))  # noqa: E731
    batch, rates = [np.stack([w1, w1, w1]), np.stack([w2, w2, w2])], np.array([0.02, 0.05, 5.0])   # 5.0 diverges
    single = [train.product_gradient_descent([w1, w2], loss, lr, 3000) for lr in rates[:2]]
    tol = 1e-3 * (Y ** 2).sum()
    own = [int(np.flatnonzero(run.loss <= tol)[0]) for run in single]      # each rate's own first step at the tolerance
    assert own[1] < own[0]
    each = train.product_gradient_descent([w.copy() for w in batch], loss, rates, 3000, record_every=100, stop_loss=tol,
                                          stop="each")
    assert each.converged_at[:2].tolist() == own and each.converged_at[2] == -1 and each.diverged_at[2] >= 0
    assert each.t[-1] == own[0]                                           # stops when the slowest run has converged
    for i, run in enumerate(single):                                      # frozen at its own step, not moved after
        np.testing.assert_allclose(each.loss[i, -1], run.loss[own[i]], rtol=1e-12)
    assert train.product_gradient_descent(batch, loss, rates, 10, stop_loss=tol).converged_at is None
    with pytest.raises(ValueError, match="stop"):
        train.product_gradient_descent(batch, loss, rates, 10, stop_loss=tol, stop="last")


def test_class_separation():
    features = np.array([[0.0, 0.2, 10.0, 10.2]])
    assert parsimony.class_separation(features, [0, 0, 1, 1]) == pytest.approx(0.04 / 100.0)


def test_core_subspace_is_spanned_by_the_non_bulk_singular_vectors():
    from scipy.linalg import subspace_angles
    rng = np.random.default_rng(12)
    d, r = 10, 2
    U, V = np.linalg.qr(rng.standard_normal((d, d)))[0], np.linalg.qr(rng.standard_normal((d, d)))[0]
    s = np.r_[2.0, 0.1, 1.5, 0.2, np.full(d - 2 * r, 0.7)]               # core values on both sides of the bulk
    core = parsimony.core_subspace((U * s) @ V.T, r)
    assert core.shape == (d, 2 * r)
    assert subspace_angles(core, V[:, :2 * r])[0] < 1e-12
    with pytest.raises(ValueError, match="rank"):
        parsimony.core_subspace(np.eye(3), 2)


def test_layer_separation_follows_the_per_layer_factors():
    # two classes along e_1 (between), deviations along e_2 (within); W = diag(s, rho) shrinks D by (rho/s)^2 a layer
    X = np.array([[1.0, 1.0, -1.0, -1.0], [0.5, -0.5, 0.5, -0.5]])
    labels = [0, 0, 1, 1]
    s, rho = 1.5, 0.5
    W = np.diag([s, rho])
    D = parsimony.layer_separation([W, W, W, np.ones((1, 2))], X, labels)
    np.testing.assert_allclose(D, parsimony.class_separation(X, labels) * (rho / s) ** (2 * np.arange(4)), rtol=1e-12)
    batched = parsimony.layer_separation([np.stack([W, np.eye(2)])] * 3 + [np.ones((2, 1, 2))], X, labels)
    np.testing.assert_allclose(batched[0], D, rtol=1e-12)
    np.testing.assert_allclose(batched[1], D[0], rtol=1e-12)


def test_matrix_completion_loss_gradient_and_recovery_error():
    from dlnlib import tasks
    problem = tasks.matrix_completion(30, 3, 0.3, seed=9)
    assert np.linalg.matrix_rank(problem.matrix) == 3 and abs(problem.observed.mean() - 0.3) < 0.05
    assert problem.matrix.std() == pytest.approx(1.0, abs=0.2)
    P = torch.tensor(np.random.default_rng(10).standard_normal((2, 30, 30)), requires_grad=True)
    value = problem.loss(P)
    expected = [0.5 * np.sum((p - problem.matrix)[problem.observed] ** 2) / problem.observed.sum() for p in P.detach().numpy()]
    np.testing.assert_allclose(value.detach().numpy(), expected, rtol=1e-13)
    (grad,) = torch.autograd.grad(value.sum(), P)
    np.testing.assert_allclose(grad.numpy(), problem.gradient(P.detach().numpy()), atol=1e-15)
    np.testing.assert_allclose(problem.recovery_error(np.stack([problem.matrix, 0 * problem.matrix])), [0.0, 1.0])
    for bad in (dict(fraction=0.0), dict(fraction=1.5), dict(rank=31)):
        with pytest.raises(ValueError):
            tasks.matrix_completion(**{**dict(d=30, rank=3, fraction=0.3), **bad})


def test_min_nuclear_norm_completion_is_feasible_optimal_and_exact_when_the_mask_is_generous():
    full = tasks.matrix_completion(12, 2, 1.0, seed=3)
    np.testing.assert_allclose(full.min_nuclear_norm(), full.matrix, atol=1e-12)      # everything observed
    easy = tasks.matrix_completion(30, 1, 0.6, seed=4)                                  # rank 1, 60 % observed
    assert easy.recovery_error(easy.min_nuclear_norm()) < 1e-6                          # exact recovery
    hard = tasks.matrix_completion(30, 5, 0.3, seed=5)                                  # too few entries for rank 5
    P = hard.min_nuclear_norm()
    np.testing.assert_allclose(P[hard.observed], hard.matrix[hard.observed], atol=1e-12)
    assert hard.recovery_error(P) > 0.1
    # optimality: no feasible matrix has a smaller nuclear norm, in particular not M itself or a perturbed copy
    nuclear = np.linalg.norm(P, "nuc")
    assert nuclear <= np.linalg.norm(hard.matrix, "nuc") + 1e-6
    rng = np.random.default_rng(0)
    for _ in range(5):
        other = P + np.where(hard.observed, 0.0, 1e-3 * rng.standard_normal(P.shape))
        assert np.linalg.norm(other, "nuc") >= nuclear - 1e-7
    with pytest.raises(ValueError, match="iterations"):
        hard.min_nuclear_norm(iterations=0)
