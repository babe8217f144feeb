"""Benchmark 4: every chapter's execution time and peak memory at SCALE="book" (budgets: <= 120 s and <= 3 GB each,
the whole book <= 12 minutes).

Each chapter runs exactly as ``make execute`` runs it (a fresh kernel, working directory ``chapters/``), but into a
temporary copy, so the committed notebooks are untouched. It runs in its own child process, whose waited-for
descendants include the kernel, so that ``RUSAGE_CHILDREN``'s peak resident set is that chapter's kernel alone.
The table is also shown in the book (``running.md`` includes ``results/chapter_costs.md``).
Usage: ``python benchmarks/chapter_costs.py [--quick]`` (quick: chapter 10 only, nothing written).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from _common import arguments, report, table

ROOT = Path(__file__).resolve().parents[1]
LIMIT_SECONDS, LIMIT_MB, BOOK_MINUTES = 120, 3072, 12
CHILD = """
import json, resource, sys, tempfile
from pathlib import Path
sys.path.insert(0, "scripts")
from execute_chapters import execute
with tempfile.TemporaryDirectory() as tmp:
    seconds = execute(Path(sys.argv[1]), out=Path(tmp) / "out.ipynb")
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024}))
"""


def measure(chapter: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(chapter.relative_to(ROOT))], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    chapters = sorted((ROOT / "chapters").glob("*.ipynb"))
    if args.quick:
        chapters = [c for c in chapters if c.name.startswith("10_")]
    rows, total, missed = [], 0.0, []
    for chapter in chapters:
        cost = measure(chapter)
        total += cost["seconds"]
        ok = cost["seconds"] <= LIMIT_SECONDS and cost["peak_mb"] <= LIMIT_MB
        rows.append([chapter.stem, f"{cost['seconds']:.0f}", f"{cost['peak_mb']:.0f}", "yes" if ok else "**no**"])
        print(f"{chapter.stem}: {cost['seconds']:.1f} s, {cost['peak_mb']:.0f} MB", file=sys.stderr, flush=True)
        if not ok:
            missed.append(chapter.stem)
    rows.append(["**whole book**", f"{total:.0f} ({total / 60:.1f} min)", "", "yes" if total <= 60 * BOOK_MINUTES else "**no**"])
    text = (f'Every chapter executed at `SCALE = "book"` in a fresh kernel; peak memory is the kernel\'s peak resident '
            f"set. Budgets: at most {LIMIT_SECONDS} s and {LIMIT_MB // 1024} GB per chapter, {BOOK_MINUTES} minutes "
            "for the book.\n\n" + table(["chapter", "time (s)", "peak memory (MB)", "within budget"], rows))
    report("chapter_costs", "4. Chapter execution time and peak memory", text, write=not args.quick)
    if missed or total > 60 * BOOK_MINUTES:
        print(f"MISS: over budget: {missed or 'the whole book'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
