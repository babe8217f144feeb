"""Benchmark 2: independent runs batched on a leading axis against a Python loop over the same runs.

Workload: the depth sweep of chapter 5 in miniature, on whitened 64-component MNIST (64 inputs, 10 outputs), hidden
width 64: 4 seeds x 4 learning rates at each of depths 4, 16 and 64, 200 steps each. ``train.gradient_descent``
takes all 16 runs of a depth in one call (weights ``(16, n_out, n_in)``, one rate per run); the loop makes 16 calls.
Both must agree to 1e-12. Usage: ``python benchmarks/batched_runs.py [--quick] [--device cuda]``.
"""
from __future__ import annotations

import sys

import numpy as np

from _common import arguments, best_time, report, table
from dlnlib import init, tasks, train

TOLERANCE = 1e-12


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    if args.quick:
        task, width, depths, seeds, rates, steps = tasks.mnist_task(8, whiten=True, n_samples=300, seed=0), 8, (4,), 2, 2, 5
    else:
        task, width, depths, seeds, rates, steps = tasks.mnist_task(64, whiten=True), 64, (4, 16, 64), 4, 4, 200
    rows, failures = [], []
    for depth in depths:
        sizes = [task.n_in] + [width] * (depth - 1) + [task.n_out]
        starts = [init.orthogonal(sizes, gain=0.5 ** (1 / depth), seed=s) for s in range(seeds)]
        # Stable for the whole run: the Hessian near the optimum scales like depth * s_1^2 (s_1: top singular value).
        lrs = np.geomspace(0.05, 0.5, rates) / (depth * task.svd[1][0] ** 2)
        runs = [(start, lr) for start in starts for lr in lrs]
        batched_weights = [np.stack([start[l] for start, _ in runs]) for l in range(depth)]
        batched_lrs = np.array([lr for _, lr in runs])
        out = {}

        def batched():
            out["batched"] = train.gradient_descent(batched_weights, task, batched_lrs, steps, record_every=steps,
                                                    device=args.device).weights

        def loop():
            out["loop"] = [train.gradient_descent(start, task, lr, steps, record_every=steps, device=args.device).weights
                           for start, lr in runs]
        batched_s = best_time(batched, repeats=2, device=args.device)
        loop_s = best_time(loop, repeats=1, device=args.device)
        diff = max(np.max(np.abs(out["batched"][l][r] - out["loop"][r][l])) for r in range(len(runs)) for l in range(depth))
        rows.append([depth, len(runs), f"{loop_s:.2f}", f"{batched_s:.3f}", f"{loop_s / batched_s:.3g}x", f"{diff:.0e}"])
        print(f"depth {depth}: loop {loop_s:.2f} s, batched {batched_s:.3f} s", file=sys.stderr, flush=True)
        if not diff < TOLERANCE:
            failures.append(depth)
    text = (f"{task.name}, width {width}, {seeds} seeds x {rates} learning rates per depth, {steps} steps each.\n\n"
            + table(["depth", "runs", "Python loop (s)", "batched (s)", "speed-up", "max abs difference"], rows))
    report("batched_runs", "2. Batched independent runs vs a Python loop", text, args.device, write=not args.quick)
    if failures:
        print(f"FAIL: batched and looped runs differ by more than {TOLERANCE:g} at depths {failures}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
