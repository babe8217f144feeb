"""The training loops without a host sync per step, tested on the CPU (the code a GPU runs, at small sizes).

The loops keep divergence on the device and read it back every ``train.SYNC_EVERY`` steps. They must give, bit for bit,
what the obvious loop gives (the one that checks the loss on the host after every step): losses, mode strengths,
weights, the step of divergence and the error message. And they must not read anything back per step: on a GPU a read
(``.item()``, ``bool()``, ``nonzero``) or a copy from host memory waits for every queued kernel. On the CPU those
operations still go through torch's dispatcher, so a dispatch mode counts them without a GPU.
"""
import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from dlnlib import deepnets, init, networks, tasks, train

# Operations that, on a GPU, make the host wait for the device: a read of a value (item, bool, int), a result whose
# size depends on the data (nonzero), and a copy from host memory (torch.as_tensor of a NumPy array).
SYNCING = {torch.ops.aten._local_scalar_dense.default, torch.ops.aten.nonzero.default,
           torch.ops.aten.lift_fresh.default, torch.ops.aten.lift_fresh_copy.default}


class _CountSyncs(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += func in SYNCING
        return func(*args, **(kwargs or {}))


def syncs(fn) -> int:
    with _CountSyncs() as counter:
        fn()
    return counter.count


def reference_descent(weights, task, lr, steps, record_every, on_divergence):
    """The obvious loop: the loss read on the host after every step, W_l <- W_l - lr dL/dW_l layer by layer.

    Returns ``(t, loss, modes, weights, diverged_at)`` as the trainer records them (diverged runs: loss inf, modes and
    weights NaN), or ``("raise", step, runs)`` at the first non-finite loss with ``on_divergence="raise"``."""
    lead = weights[0].shape[:-2]
    ws = [torch.tensor(w, dtype=torch.float64) for w in weights]
    rate = torch.as_tensor(np.broadcast_to(lr, lead).copy(), dtype=torch.float64).reshape(lead + (1, 1))
    s11, s31 = torch.tensor(task.sigma11), torch.tensor(task.sigma31)
    whitened = np.array_equal(task.sigma11, np.eye(task.n_in))
    t = sorted(set(range(0, steps + 1, record_every)) | {steps})
    diverged, losses, modes = np.full(lead, -1), [], []
    for k in range(steps + 1):
        loss, product, grads = train._linear_quantities(ws, s11, s31, task.sigma33_trace, whitened)
        bad = ~np.isfinite(loss.numpy())
        if on_divergence == "raise" and bad.any():
            return "raise", k, [tuple(int(j) for j in i) for i in np.argwhere(bad)]
        diverged[bad & (diverged < 0)] = k
        if k in t:
            gone = diverged >= 0
            losses.append(np.where(gone, np.inf, loss.numpy()))
            modes.append(np.where(gone[..., None], np.nan, networks._mode_strengths(product, task, None).numpy()))
        if k < steps:
            for w, g in zip(ws, grads):
                w.sub_(rate * g)
    gone = (diverged >= 0)[..., None, None]
    return (np.array(t, float), np.moveaxis(np.array(losses), 0, -1), np.moveaxis(np.array(modes), 0, -2),
            [np.where(gone, np.nan, w.numpy()) for w in ws], diverged)


def scalar_task():
    """One input, one output, s = 1 (Sigma11 = Sigma31 = 1, tr Sigma33 = 1)."""
    return tasks.Task(sigma11=np.eye(1), sigma31=np.eye(1), sigma33_trace=1.0)


# A one-weight network w from w_0 = 0 on the scalar task: w_k - 1 = -(1 - lr)^k, and the loss 1/2 - w + w^2/2. With
# lr = 1 + 10^a, |w_k| = 10^(a k) and w^2 overflows (> 1.8e308) once a k > 154.1: at step 16 for a = 10, at step 31 for
# a = 5, never for lr = 0.5. The steps are far from the edge (w^2 = 1e300 one step before), so round-off cannot move them.
KNOWN_RATES, KNOWN_STEPS = [0.5, 1 + 1e10, 1 + 1e5], [-1, 16, 31]


@pytest.mark.parametrize("sync_every", [1, 5, 64])
def test_known_divergence_steps_are_exact_whatever_the_read_back_interval(monkeypatch, sync_every):
    monkeypatch.setattr(train, "SYNC_EVERY", sync_every)
    w0 = [np.zeros((3, 1, 1))]
    run = train.gradient_descent(w0, scalar_task(), KNOWN_RATES, 100, record_every=4, on_divergence="mark")
    assert run.diverged_at.tolist() == KNOWN_STEPS
    assert np.all(np.isfinite(run.loss[0])) and np.isnan(run.weights[0][1:]).all() and np.isfinite(run.weights[0][0]).all()
    for r, step in ((1, 16), (2, 31)):
        assert np.all(np.isinf(run.loss[r, run.t >= step])) and np.all(np.isfinite(run.loss[r, run.t < step]))
        assert np.all(np.isnan(run.modes[r, run.t >= step])) and np.all(np.isfinite(run.modes[r, run.t < step]))
    with pytest.raises(train.DivergenceError) as single:
        train.gradient_descent([np.zeros((1, 1))], scalar_task(), 1 + 1e10, 100)
    assert str(single.value) == ("gradient descent diverged at step 16: non-finite loss in lr=1e+10; lower the "
                                 "learning rate")
    with pytest.raises(train.DivergenceError) as batched:
        train.gradient_descent(w0, scalar_task(), KNOWN_RATES, 100)
    assert str(batched.value) == ("gradient descent diverged at step 16: non-finite loss in run (1,) (lr=1e+10); "
                                  "lower the learning rate")
    with pytest.raises(train.DivergenceError, match="^gradient descent: the loss at the initial weights is not finite"):
        train.gradient_descent([np.full((1, 1), 1e160)], scalar_task(), 0.1, 100)


CASES = {
    "one run": (lambda: init.orthogonal([8, 10, 9, 7], gain=0.8, seed=1), 0.02, 150, 7),
    "one run, record every step": (lambda: init.orthogonal([8, 10, 9, 7], gain=0.8, seed=1), 0.02, 70, 1),
    "runs, some diverge": (lambda: init.orthogonal([8, 10, 9, 7], gain=0.8, n_runs=5, seed=2),
                           np.geomspace(0.01, 3, 5), 200, 3),
    "runs on two axes": (lambda: [w.reshape((3, 2) + w.shape[1:]) for w in
                                  init.orthogonal([8, 10, 9, 7], gain=0.8, n_runs=6, seed=2)],
                         np.geomspace(0.01, 3, 6).reshape(3, 2), 130, 1),
}


@pytest.mark.parametrize("sync_every", [3, 64])
@pytest.mark.parametrize("on_divergence", ["mark", "raise"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("narrow_output", [False, True], ids=["wide output", "narrow output"])
def test_gradient_descent_is_bit_for_bit_the_loop_that_checks_every_step(monkeypatch, sync_every, on_divergence, case,
                                                                         narrow_output):
    monkeypatch.setattr(train, "SYNC_EVERY", sync_every)
    make, lr, steps, every = CASES[case]
    weights = make()
    task = tasks.svd_task(np.linspace(3, 0.3, 6), 8, 7, seed=0)
    if narrow_output:                # the other chain order (n_out < n_in), on a non-whitened task
        weights = [w[..., :3, :] if l == len(weights) - 1 else w for l, w in enumerate(weights)]
        rng = np.random.default_rng(0)
        X = rng.standard_normal((8, 30)) * np.linspace(0.5, 1.5, 8)[:, None]
        task = tasks.Task.from_samples(X, rng.standard_normal((3, 8)) @ X / 3)
    expected = reference_descent(weights, task, lr, steps, every, on_divergence)
    if isinstance(expected[0], str):
        _, step, runs = expected
        with pytest.raises(train.DivergenceError) as error:
            train.gradient_descent(weights, task, lr, steps, record_every=every, on_divergence=on_divergence)
        where = (", ".join(f"run {i} (lr={np.asarray(lr)[i]:g})" for i in runs) if np.ndim(lr) else f"lr={lr:g}")
        assert str(error.value) == (f"gradient descent diverged at step {step}: non-finite loss in {where}; lower the "
                                    "learning rate")
        return
    t, loss, modes, final, diverged = expected
    run = train.gradient_descent(weights, task, lr, steps, record_every=every, on_divergence=on_divergence)
    np.testing.assert_array_equal(run.t, t)
    np.testing.assert_array_equal(run.loss, loss)              # NaN and inf in the same places, every bit the same
    np.testing.assert_array_equal(run.modes, modes)
    for w, w_ref in zip(run.weights, final):
        np.testing.assert_array_equal(w, w_ref)
    if on_divergence == "mark":
        np.testing.assert_array_equal(run.diverged_at, diverged)
    if case.startswith("runs") and on_divergence == "mark":
        assert 0 < (diverged >= 0).sum() < diverged.size        # the case has runs that diverge and runs that do not


@pytest.mark.parametrize("activation", [None, "tanh"])
def test_read_back_interval_changes_nothing_with_weight_records_and_progress(monkeypatch, capsys, activation):
    X = np.random.default_rng(0).standard_normal((5, 30))
    task = tasks.Task.from_samples(X, np.random.default_rng(1).standard_normal((4, 5)) @ X)
    w0 = init.orthogonal([5, 6, 4], gain=0.9, n_runs=3, seed=3)
    runs, lines = [], []
    for sync_every in (1, 7, 1000):
        monkeypatch.setattr(train, "SYNC_EVERY", sync_every)
        runs.append(train.gradient_descent(w0, task, [0.001, 0.01, 20.0], 60, record_every=5, activation=activation,
                                           record_weights=True, progress=True, on_divergence="mark"))
        lines.append(capsys.readouterr().err)
    assert runs[0].diverged_at[2] > 0 and (runs[0].diverged_at[:2] == -1).all()
    assert lines[0] == lines[1] == lines[2] and "loss inf" in lines[0]      # the mean over runs, one of them diverged
    for run in runs[1:]:
        for a, b in zip(run.weight_history + run.weights + [run.loss, run.modes, run.diverged_at],
                        runs[0].weight_history + runs[0].weights + [runs[0].loss, runs[0].modes, runs[0].diverged_at]):
            np.testing.assert_array_equal(a, b)
    gone = runs[0].t >= runs[0].diverged_at[2]
    assert np.isnan(runs[0].weight_history[0][gone, 2]).all() and np.isfinite(runs[0].weight_history[0][~gone]).all()


@pytest.mark.parametrize("on_divergence, per_read", [("raise", 1), ("mark", 0)])
def test_gradient_descent_reads_nothing_back_per_step(monkeypatch, on_divergence, per_read):
    """Steps cost no host sync: raise mode reads once per SYNC_EVERY steps, mark mode only at the end."""
    monkeypatch.setattr(train, "SYNC_EVERY", 10)
    task = tasks.svd_task([3.0, 1.0], 4, 4, seed=0)
    w0 = init.orthogonal([4, 5, 4], gain=0.5, n_runs=2, seed=0)

    def fit(steps):
        return lambda: train.gradient_descent(w0, task, [0.01, 0.02], steps, record_every=1, on_divergence=on_divergence)
    assert syncs(fit(100)) - syncs(fit(0)) == 10 * per_read       # 100 steps, every step recorded


def test_minibatch_and_product_descent_read_nothing_back_per_step():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 6))
    data = tasks.ClassificationData(X, (X[:, 0] > 0).astype(int), X[:32], (X[:32, 0] > 0).astype(int))
    model = deepnets.MLP(init.orthogonal([6, 8, 2], n_runs=2, seed=0), activation="tanh")
    # 256 samples in batches of 32: an epoch is 8 steps, and each epoch copies its shuffled order to the device once
    one_epoch = syncs(lambda: train.minibatch_sgd(model, data, [0.01, 0.1], 7, batch_size=32, record_every=1))
    five_epochs = syncs(lambda: train.minibatch_sgd(model, data, [0.01, 0.1], 39, batch_size=32, record_every=1))
    assert five_epochs - one_epoch == 4
    target = torch.tensor(rng.standard_normal((3, 3)))
    loss = lambda p: 0.5 * ((p - target) ** 2).sum((-2, -1))     # noqa: E731
    w0 = init.orthogonal([3, 3, 3], n_runs=2, seed=0)
    assert syncs(lambda: train.product_gradient_descent(w0, loss, [0.01, 0.1], 100)) == \
        syncs(lambda: train.product_gradient_descent(w0, loss, [0.01, 0.1], 1))


def test_product_descent_stops_at_the_loss_and_masks_the_run_that_diverged_before():
    """One factor w from 0 on L = (w - 1)^2 / 2 (w_k - 1 = -(1 - lr)^k): at lr = 0.5 the loss 0.25^k / 2 first falls
    to 1e-6 at step 10 (0.25^10 / 2 = 4.8e-7; step 9: 1.9e-6); at lr = 1 + 1e20, |w_k| = 1e20k and (w - 1)^2
    overflows at step 8 (1e320; step 7: 1e280). Both are far from the edge: round-off cannot move them."""
    one = torch.ones((1, 1), dtype=torch.float64)
    loss = lambda p: 0.5 * ((p - one) ** 2).sum((-2, -1))     # noqa: E731
    run = train.product_gradient_descent([np.zeros((2, 1, 1))], loss, [0.5, 1 + 1e20], 100, record_every=4,
                                         stop_loss=1e-6)
    assert run.t.tolist() == [0, 4, 8, 10] and run.diverged_at.tolist() == [-1, 8]
    np.testing.assert_allclose(run.loss[0], 0.5 * 0.25 ** run.t, rtol=1e-12)
    assert np.isfinite(run.loss[1, :2]).all() and np.isinf(run.loss[1, 2:]).all()
    assert run.loss[0, -1] <= 1e-6 < run.loss[0, -2]
