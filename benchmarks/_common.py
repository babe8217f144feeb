"""Shared helpers for the benchmark scripts: the machine's name, a best-of timer and the table writer.

Every script prints its table and writes it, with the machine it ran on, to ``benchmarks/results/<name>.md``.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def device_name(device: str = "cpu") -> str:
    """A one-line description of the machine: CPU model and cores, or the GPU."""
    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {len(os.sched_getaffinity(0))} cores, {torch.get_num_threads()} torch threads (torch {torch.__version__})"


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def best_time(fn, repeats: int = 3, device: str = "cpu") -> float:
    """Smallest wall time of ``repeats`` calls of ``fn()`` in seconds (the least disturbed run)."""
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return min(times)


def table(headers, rows) -> str:
    """A Markdown table; floats are expected to be formatted by the caller."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def report(name: str, title: str, text: str, device: str = "cpu", write: bool = True) -> None:
    """Print ``text`` under ``title`` and write it to ``results/<name>[-cuda].md`` with the machine named."""
    body = f"## {title}\n\nMachine: {device_name(device)}.\n\n{text}\n"
    print(body, flush=True)
    if write:
        RESULTS.mkdir(exist_ok=True)
        suffix = "-cuda" if device.startswith("cuda") else ""
        (RESULTS / f"{name}{suffix}.md").write_text(body)


def arguments(description: str) -> argparse.Namespace:
    """The options every benchmark takes: ``--quick`` (tiny sizes, nothing written; for the tests) and ``--device``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, results not written (smoke test)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    return parser.parse_args()
