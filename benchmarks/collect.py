"""Assemble ``benchmarks/RESULTS.md`` from the tables in ``benchmarks/results/`` (CPU and, when run, ``-cuda``).

``make bench`` and ``make paper`` call this last. Each table names the machine it was measured on; a GPU table appears
once ``make bench DEVICE=cuda`` or ``make paper`` has been run on a GPU machine and its ``results/*-cuda.md``
committed.
"""
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["depth_sweep", "batched_runs", "roofline", "chapter_costs", "step_overhead", "paper_scale"]
HEADER = """# Benchmark results

Written by `make bench` and `make paper` (`benchmarks/collect.py`) from `benchmarks/results/`; do not edit by hand.
Targets on 2 CPU cores (issue 7): at least 10x faster than the naive loop on benchmark 1, at least 50 % of the measured
matrix-product throughput at width >= 256, every chapter within 120 s and 3 GB, the whole book within 12 minutes.
Targets on one GPU (issue 16): at least 5x faster than the naive loop on benchmark 1 at every depth, at least 50 % of
the matrix-product throughput at width >= 512, at most 0.3 ms of overhead per step at widths up to 1,024 (benchmark
5), and at the paper scale every chapter within 15 minutes, the book within 60, every check passing (benchmark 6).
"""


# The benchmarks with a GPU table (benchmark 4, the chapters at book scale, is a CPU measurement).
ON_GPU = {"depth_sweep": 1, "batched_runs": 2, "roofline": 3, "step_overhead": 5, "paper_scale": 6}


def main() -> None:
    parts = [HEADER]
    for suffix, label in (("", "CPU"), ("-cuda", "GPU")):
        found = [HERE / "results" / f"{name}{suffix}.md" for name in ORDER]
        found = [p for p in found if p.exists()]
        parts.append(f"# {label}\n")
        parts += [p.read_text() for p in found] if found else [f"No {label} run recorded yet.\n"]
        missing = [str(number) for name, number in ON_GPU.items()
                   if not (HERE / "results" / f"{name}-cuda.md").exists()]
        if suffix and missing:
            parts.append(f"Not measured on a GPU yet: benchmark {', '.join(missing)} (`make bench DEVICE=cuda` writes "
                         "1-3 and 5, `make paper` writes 6).\n")
    (HERE / "RESULTS.md").write_text("\n".join(parts))
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
