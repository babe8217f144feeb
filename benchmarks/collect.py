"""Assemble ``benchmarks/RESULTS.md`` from the tables in ``benchmarks/results/`` (CPU and, when run, ``-cuda``).

``make bench`` calls this last. Each table names the machine it was measured on; a GPU table appears once
``make bench DEVICE=cuda`` has been run on a GPU machine and its ``results/*-cuda.md`` committed.
"""
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["depth_sweep", "batched_runs", "roofline", "chapter_costs"]
HEADER = """# Benchmark results

Written by `make bench` (`benchmarks/collect.py`) from `benchmarks/results/`; do not edit by hand. Targets (issue 7):
at least 10x faster than the naive loop on benchmark 1, at least 50 % of the measured matrix-product throughput at
width >= 256, every chapter within 120 s and 3 GB, the whole book within 12 minutes on 2 cores.
"""


def main() -> None:
    parts = [HEADER]
    for suffix, label in (("", "CPU"), ("-cuda", "GPU")):
        found = [HERE / "results" / f"{name}{suffix}.md" for name in ORDER]
        found = [p for p in found if p.exists()]
        parts.append(f"# {label}\n")
        parts += [p.read_text() for p in found] if found else [f"No {label} run recorded yet.\n"]
    (HERE / "RESULTS.md").write_text("\n".join(parts))
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
