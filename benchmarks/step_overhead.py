"""Benchmark 5: the linear trainer's per-step overhead, at widths so small that a step is all overhead.

Workload: ``train.gradient_descent`` on a square task (``width`` inputs and outputs, ten singular values from 3 to
0.3), depth 16 with every hidden layer ``width`` wide, float64; one run (``on_divergence="raise"``) and 16 runs
batched, one rate each (``on_divergence="mark"``, as in a learning-rate scan). A step is timed as
``(T(steps) - T(0)) / steps``, best of five, so the set-up and the copies back to NumPy cancel; recorded at the first
and last step only ("ends"), and at every step ("every step"), which adds the record bookkeeping. At these widths the
matrix products take a few microseconds, so the time per step measures what the loop costs around them: Python,
dispatch and, on a GPU, kernel launches and host syncs (target on a GPU: at most 0.3 ms per step at widths up to
1,024). Usage: ``python benchmarks/step_overhead.py [--quick] [--device cuda]``.
"""
from __future__ import annotations

import sys

import numpy as np

from _common import arguments, best_time, report, table
from dlnlib import init, tasks, train

DEPTH, RUNS = 16, 16


def seconds_per_step(width: int, runs: int, record_every_step: bool, steps: int, device: str) -> float:
    task = tasks.svd_task(np.linspace(3.0, 0.3, min(10, width)), width, width, seed=0)
    sizes = [width] * (DEPTH + 1)
    if runs == 1:
        w0, lr, mode = init.orthogonal(sizes, gain=0.9, seed=1), 0.02 / DEPTH, "raise"
    else:
        w0, lr, mode = init.orthogonal(sizes, gain=0.9, n_runs=runs, seed=1), np.geomspace(0.002, 0.02, runs) / DEPTH, "mark"

    def fit(k):
        train.gradient_descent(w0, task, lr, k, record_every=1 if record_every_step else max(k, 1), device=device,
                               on_divergence=mode)
    fit(5)                                                                  # warm-up
    return (best_time(lambda: fit(steps), 5, device) - best_time(lambda: fit(0), 5, device)) / steps


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    if args.quick:
        widths, steps = (8,), 20
    else:
        widths, steps = ((8, 16, 32, 64, 256, 1024) if args.device.startswith("cuda") else (8, 16, 32, 64)), 400
    rows = []
    for width in widths:
        cells = [1e6 * seconds_per_step(width, runs, every, steps, args.device)
                 for runs in (1, RUNS) for every in (False, True)]
        rows.append([width] + [f"{c:.0f}" for c in cells])
        print(f"width {width}: " + ", ".join(f"{c:.0f}" for c in cells) + " us per step", file=sys.stderr, flush=True)
    text = (f"Depth {DEPTH}, square task of the given width, float64, {steps} steps timed, microseconds per step "
            f"(1 run: divergence raises; {RUNS} runs: one rate each, divergence marked).\n\n"
            + table(["width", "1 run, records at the ends", "1 run, record every step",
                     f"{RUNS} runs, records at the ends", f"{RUNS} runs, record every step"], rows))
    report("step_overhead", "5. The trainer's per-step overhead", text, args.device, write=not args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
