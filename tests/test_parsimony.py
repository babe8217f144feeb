"""The law of parsimony: invariant bulk, compression frames, class separation."""
import numpy as np
import pytest
import torch

from dlnlib import init, networks, parsimony, train


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


def test_compressed_network_follows_the_wide_one_up_to_the_frozen_bulk():
    d, r, eps = 16, 2, 1e-2
    Y = _target(d, r, 2)
    loss = lambda P: 0.5 * ((P - torch.tensor(Y)) ** 2).sum((-2, -1))  # noqa: E731
    start = init.orthogonal([d] * 4, gain=eps, seed=3)
    G0 = networks.end_to_end(start[1:]).T @ (networks.end_to_end(start) - Y)
    U, V = parsimony.compression_frames(start, G0, r)
    np.testing.assert_allclose(U.T @ U, np.eye(2 * r), atol=1e-12)
    np.testing.assert_allclose(V.T @ V, np.eye(2 * r), atol=1e-12)
    wide = train.product_gradient_descent(start, loss, 0.04, 2000, record_every=2000, record_products=True)
    core = train.product_gradient_descent([eps * np.eye(2 * r)] * 3, lambda P: loss(torch.tensor(U) @ P @ torch.tensor(V).T),
                                          0.04, 2000, record_every=2000, record_products=True)
    gap = np.linalg.norm(wide.weight_history[0][-1] - U @ core.weight_history[0][-1] @ V.T)
    assert gap == pytest.approx(eps ** 3 * np.sqrt(d - 2 * r), rel=1e-3)
    assert wide.loss[-1] < 1e-3 * wide.loss[0]


def test_class_separation():
    features = np.array([[0.0, 0.2, 10.0, 10.2]])
    assert parsimony.class_separation(features, [0, 0, 1, 1]) == pytest.approx(0.04 / 100.0)
