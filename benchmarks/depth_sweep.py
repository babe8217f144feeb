"""Benchmark 1: dlnlib's statistics-space trainer against the loop a user would write, on the depth-sweep workload.

Workload: full-batch gradient descent on MNIST (the 5,000-image subset, 784 pixels to 10 one-hot outputs, sum of
squared errors), hidden width 256, depths 2 to 64, the same orthogonal start, rate and number of steps for both.

- naive: ``nn.Sequential`` of bias-free ``nn.Linear`` layers, ``0.5 * MSELoss(reduction="sum")`` and
  ``torch.optim.SGD`` over the raw samples, in float64;
- dlnlib: ``train.gradient_descent`` on :math:`\\Sigma^{11}, \\Sigma^{31}`, timed including the statistics
  themselves (``Task.from_samples``).

Both must end at the same weights: the largest relative difference of the weight *updates* over all layers is
asserted below 1e-8. Usage: ``python benchmarks/depth_sweep.py [--quick] [--device cuda]``.
"""
from __future__ import annotations

import sys
import time

import numpy as np
import torch
from torch import nn

from _common import arguments, best_time, report, sync, table
from dlnlib import init, tasks, train

TOLERANCE = 1e-8


def naive_sgd(weights, X, Y, lr: float, steps: int, device: str) -> list[np.ndarray]:
    """What a user would write: nn.Sequential + MSELoss + torch.optim.SGD on the samples (one column each)."""
    layers = [nn.Linear(w.shape[1], w.shape[0], bias=False) for w in weights]
    model = nn.Sequential(*layers).double().to(device)
    with torch.no_grad():
        for layer, w in zip(layers, weights):
            layer.weight.copy_(torch.as_tensor(w))
    inputs = torch.as_tensor(X.T, device=device)
    targets = torch.as_tensor(Y.T, device=device)
    criterion = nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = 0.5 * criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()
    return [layer.weight.detach().cpu().numpy() for layer in layers]


def run(depth: int, X, Y, width: int, steps: int, lr_scale: float, device: str):
    """Time both trainers from the same start (dlnlib: best of 3, the naive loop once).

    Returns naive seconds, dlnlib seconds (statistics included), seconds of the statistics alone, and the largest
    relative difference of the weight updates."""
    w0 = init.orthogonal([X.shape[0]] + [width] * (depth - 1) + [Y.shape[0]], seed=depth)
    lr = lr_scale / depth
    sync(device)
    start = time.perf_counter()
    naive = naive_sgd(w0, X, Y, lr, steps, device)
    sync(device)
    naive_seconds = time.perf_counter() - start
    result = {}

    def ours():
        result["weights"] = train.gradient_descent(w0, tasks.Task.from_samples(X, Y), lr, steps, record_every=steps,
                                                   device=device).weights
    ours_seconds = best_time(ours, repeats=3, device=device)
    stats_seconds = best_time(lambda: tasks.Task.from_samples(X, Y), repeats=3)
    diff = max(np.linalg.norm(a - b) / np.linalg.norm(b - w) for a, b, w in zip(result["weights"], naive, w0))
    return naive_seconds, ours_seconds, stats_seconds, diff


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    images, labels = tasks.load_mnist()
    X, Y = images.T.astype(np.float64), np.eye(10)[labels].T
    depths, width, steps = ((2, 4), 32, 3) if args.quick else ((2, 4, 8, 16, 32, 64), 256, 50)
    if args.quick:
        X, Y = X[:, :200], Y[:, :200]
    # A stable rate: the loss Hessian of an orthogonal chain scales like depth * lambda_max(Sigma11).
    lr_scale = 0.5 / np.linalg.eigvalsh(X @ X.T)[-1]
    run(2, X[:, :50], Y[:, :50], 8, 1, lr_scale, args.device)      # warm-up: first-call costs of torch
    rows, failures = [], []
    for depth in depths:
        naive_s, ours_s, stats_s, diff = run(depth, X, Y, width, steps, lr_scale, args.device)
        rows.append([depth, f"{naive_s:.2f}", f"{ours_s:.3f}", f"{stats_s:.3f}", f"{naive_s / ours_s:.3g}x", f"{diff:.1e}"])
        print(f"depth {depth}: naive {naive_s:.2f} s, dlnlib {ours_s:.3f} s, difference {diff:.1e}", file=sys.stderr, flush=True)
        if not diff < TOLERANCE:
            failures.append(depth)
    text = (f"MNIST {X.shape[1]} images, 784-{width}-...-{width}-10, {steps} full-batch steps of float64 gradient "
            f"descent, rate 0.5 / (depth * lambda_max(Sigma11)).\n\n"
            + table(["depth", "naive nn.Sequential + SGD (s)", "dlnlib (s)", "of which statistics (s)", "speed-up",
                     "relative difference of the updates"], rows))
    report("depth_sweep", "1. Statistics-space trainer vs the naive loop", text, args.device, write=not args.quick)
    if failures:
        print(f"FAIL: the two trainers differ by more than {TOLERANCE:g} at depths {failures}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
