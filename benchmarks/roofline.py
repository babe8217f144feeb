"""Benchmark 3: the trainer's achieved GFLOP/s against this machine's own matmul throughput at the same sizes.

For each hidden width the script counts the floating-point operations of one step of ``train.gradient_descent``
(``torch.utils.flop_counter``: steps=2 minus steps=1), records the shapes of every matrix product in that step, and
times the same products alone, back to back, on preallocated operands: the most that the step's matrix products can
reach on this machine. The ratio of the two rates is the trainer's efficiency (target: >= 50 % at width >= 256).
A large square product gives the machine's peak for reference. Workload: MNIST 784 -> width^15 -> 10, depth 16,
float64. Usage: ``python benchmarks/roofline.py [--quick] [--device cuda]``.
"""
from __future__ import annotations

import sys

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from _common import arguments, best_time, report, table
from dlnlib import init, tasks, train

MATMULS = {torch.ops.aten.mm.default, torch.ops.aten.bmm.default}


class _Shapes(TorchDispatchMode):
    """Records the operand shapes of every matrix product dispatched while active."""

    def __init__(self):
        super().__init__()
        self.shapes = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in MATMULS:
            self.shapes.append((func, tuple(args[0].shape), tuple(args[1].shape)))
        return func(*args, **(kwargs or {}))


def flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def matmul_seconds(shapes, device: str, repeats: int) -> float:
    """Best time of running the recorded products once each, on random operands of the same shapes."""
    gen = torch.Generator(device="cpu").manual_seed(0)
    operands = [(func, torch.randn(a, generator=gen, dtype=torch.float64).to(device),
                 torch.randn(b, generator=gen, dtype=torch.float64).to(device)) for func, a, b in shapes]

    def replay():
        for func, a, b in operands:
            func(a, b)
    return best_time(replay, repeats=repeats, device=device)


def peak_gflops(n: int, device: str) -> float:
    a = torch.randn(n, n, dtype=torch.float64, device=device)
    seconds = best_time(lambda: a @ a, repeats=5, device=device)
    return 2 * n ** 3 / seconds / 1e9


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    images, labels = tasks.load_mnist()
    if args.quick:
        images, labels, widths, depth, steps = images[:300], labels[:300], (16,), 4, 3
    else:
        widths, depth, steps = (64, 128, 256, 512, 1024), 16, 50
    task = tasks.Task.from_samples(images.T.astype(np.float64), np.eye(10)[labels].T)
    lr = 0.5 / (depth * np.linalg.eigvalsh(task.sigma11)[-1])
    rows, efficiency = [], {}
    for width in widths:
        w0 = init.orthogonal([task.n_in] + [width] * (depth - 1) + [task.n_out], seed=width)
        train_fn = lambda k: train.gradient_descent(w0, task, lr, k, record_every=max(k, 1), device=args.device)  # noqa: E731
        step_flops = flops(lambda: train_fn(2)) - flops(lambda: train_fn(1))
        with _Shapes() as recorder:
            train_fn(2)
        with _Shapes() as baseline:
            train_fn(1)
        step_shapes = recorder.shapes[len(baseline.shapes):]
        train_fn(2)                                                    # warm-up
        step_s = (best_time(lambda: train_fn(steps), 3, args.device) - best_time(lambda: train_fn(0), 3, args.device)) / steps
        replay_s = matmul_seconds(step_shapes, args.device, repeats=20)
        achieved, ceiling = step_flops / step_s / 1e9, step_flops / replay_s / 1e9
        efficiency[width] = achieved / ceiling
        rows.append([width, len(step_shapes), f"{step_flops / 1e6:.1f}", f"{1e3 * step_s:.2f}", f"{achieved:.1f}",
                     f"{ceiling:.1f}", f"{100 * achieved / ceiling:.0f} %"])
        print(f"width {width}: {achieved:.1f} of {ceiling:.1f} GFLOP/s", file=sys.stderr, flush=True)
    peak_n = 256 if args.quick else 2048
    text = (f"MNIST {task.n_in} -> {depth - 1} hidden layers -> {task.n_out}, float64, {steps} steps timed. "
            f"Peak of one {peak_n} x {peak_n} product: {peak_gflops(peak_n, args.device):.1f} GFLOP/s.\n\n"
            + table(["width", "products per step", "MFLOP per step", "ms per step", "trainer GFLOP/s",
                     "same products alone, GFLOP/s", "efficiency"], rows))
    report("roofline", "3. Achieved throughput vs the machine's matmul throughput", text, args.device, write=not args.quick)
    missed = [w for w, e in efficiency.items() if w >= 256 and e < 0.5]
    if missed:
        print(f"MISS: efficiency below 50 % at widths {missed}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
