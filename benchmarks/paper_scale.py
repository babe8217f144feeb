"""Benchmark 6 (``make paper``): every chapter at ``SCALE = "paper"`` on the GPU, with papermill.

Each chapter runs in a fresh kernel with papermill (``-p SCALE paper``, working directory ``chapters/``) into
``_paper/<chapter>.ipynb`` (git-ignored; the committed notebooks are untouched), in a child process given
``--timeout`` seconds of wall time, after which the child and its kernel are stopped. The run goes on past a cell
that raises, so that one failed check does not hide the others. A cell injected at the top of each notebook (and
left in the ``_paper/`` copy) records, after every cell, the kernel's peak GPU memory
(``torch.cuda.max_memory_allocated``), its peak resident set and the chapter's ``DEVICE``; the figures survive a
timeout up to the last completed cell. The checks are counted from the ``PASS | ...`` lines the chapter printed and
the ``FAIL | ...`` errors it raised (:mod:`dlnlib.checks`); other errors are counted apart.

The table, with the GPU's name, the versions of torch and CUDA and the date, goes to
``benchmarks/results/paper_scale-cuda.md`` and from there (``collect.py``) into ``benchmarks/RESULTS.md`` under
"GPU". Targets on one H200 (issue 16): no chapter over 15 minutes, the whole book within 60, every check passing.

Without a GPU the script refuses (exit status 2): at the paper's sizes a chapter runs for hours on a CPU. With
``--allow-cpu`` (``make paper ALLOW_CPU=1``) it runs anyway, and the table goes under "CPU" instead
(``results/paper_scale.md``).

A chapter gets only the parameters its ``parameters`` cell declares (``MNIST_PATH`` goes to the chapters that read
it). ``--dry-run`` (``make paper DRY=1``) executes nothing and needs no GPU: it prints the plan (the chapters, the
parameters each would get, whether it defines ``DEVICE``, the device torch finds) and fails when a chapter has no
``parameters`` cell declaring ``SCALE``; CI runs it on the real chapters in seconds.

Usage: ``python benchmarks/paper_scale.py [--chapters 04 05] [--timeout 900] [--mnist-path DIR] [--allow-cpu]
[--dry-run]``. The exit status is 0 when every chapter ran to the end with every check passing (with ``--dry-run``:
when every chapter declares ``SCALE``), 1 otherwise.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from _common import RESULTS, table

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_MINUTES, BOOK_MINUTES = 15, 60
PROBE_ID = "paper-scale-probe"
# Injected as the first cell: after every cell, write the kernel's peaks and the chapter's DEVICE to a JSON file.
PROBE = """\
# Injected by benchmarks/paper_scale.py (not part of the chapter): peak memory and DEVICE after every cell.
def _paper_scale_probe(*_, _path={path!r}):
    import json, resource, sys
    record = {{"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "device": str(globals()["DEVICE"]) if "DEVICE" in globals() else None, "gpu_peak_mb": None}}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        record["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2 ** 20
    with open(_path, "w") as f:
        json.dump(record, f)
get_ipython().events.register("post_run_cell", _paper_scale_probe)
"""
# The child: papermill in a fresh kernel; errors are kept in the notebook and do not stop the run.
CHILD = """
import json, sys, papermill
try:
    papermill.execute_notebook(sys.argv[1], sys.argv[2], parameters=json.loads(sys.argv[4]), cwd=sys.argv[3],
                               kernel_name="python3", progress_bar=False, allow_errors=True)
except papermill.PapermillExecutionError:
    pass            # the errors are in the executed notebook, where they are counted
"""
PASS_LINE = re.compile(r"^PASS \| ", re.MULTILINE)
FAIL_LINE = re.compile(r"FAIL \| ")
SUMMARY_SHORT = re.compile(r"\d+ of \d+ checks passed: ")


ASSIGNED = re.compile(r"^([A-Za-z_]\w*)\s*=", re.MULTILINE)
DEFINES_DEVICE = re.compile(r"^DEVICE\s*=", re.MULTILINE)


def declared_parameters(nb) -> list[str]:
    """The names assigned at the top level of the notebook's cells tagged ``parameters`` (what papermill overrides)."""
    return [name for cell in nb.cells if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", [])
            for name in ASSIGNED.findall(cell.source)]


def parameters_for(nb, extra: dict | None = None) -> dict:
    """``SCALE = "paper"`` and those of ``extra`` that the notebook declares; the others would only be injected as
    unused names (papermill warns about them)."""
    declared = declared_parameters(nb)
    return {"SCALE": "paper", **{k: val for k, val in (extra or {}).items() if k in declared}}


def plan(notebooks: list[Path], extra: dict | None = None) -> tuple[str, bool]:
    """The dry run: a table of what ``make paper`` would run, and whether every chapter declares ``SCALE``."""
    rows, ready = [], True
    for notebook in notebooks:
        nb = nbformat.read(notebook, as_version=4)
        declared = declared_parameters(nb)
        fine = "SCALE" in declared
        ready &= fine
        device = any(c.cell_type == "code" and DEFINES_DEVICE.search(c.source) for c in nb.cells)
        rows.append([notebook.stem, ", ".join(declared) or "(no parameters cell)",
                     ", ".join(f"{k}={val}" for k, val in parameters_for(nb, extra).items()),
                     "yes" if device else "no", "yes" if fine else "**no**: declares no SCALE"])
    return table(["chapter", "declares", "would get", "defines DEVICE", "ready"], rows), ready


def with_probe(nb, stats_path: Path):
    """A copy of notebook ``nb`` with the probe cell first, writing to ``stats_path``."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    cell = nbformat.v4.new_code_cell(PROBE.format(path=str(stats_path)))
    cell.id = PROBE_ID
    nb.cells.insert(0, cell)
    return nb


def count_checks(nb) -> dict:
    """Checks passed and failed, and other errors, from an executed notebook's outputs.

    A passed check printed ``PASS | name | ...``; a failed one raised an ``AssertionError`` whose message is
    ``FAIL | name | ...``. Any other error output counts under ``errors``. ``summary`` is True when the notebook
    printed a line "N of N checks passed" (:func:`dlnlib.checks.summary`).
    """
    passed = failed = errors = 0
    summary = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stdout":
                passed += len(PASS_LINE.findall(out.text))
                summary |= bool(re.search(r"^(\d+) of \1 checks passed$", out.text, re.MULTILINE))
            elif out.output_type == "error":
                if out.ename == "AssertionError" and FAIL_LINE.match(out.evalue):
                    failed += 1
                elif not (out.ename == "AssertionError" and SUMMARY_SHORT.match(out.evalue)):
                    errors += 1         # (the summary's own error after a failed check is that check, counted above)
    return {"passed": passed, "failed": failed, "errors": errors, "summary": summary}


def run(notebook: Path, out_dir: Path, timeout: float, parameters: dict | None = None) -> dict:
    """Execute ``notebook`` with ``SCALE = "paper"`` (and those of ``parameters`` it declares) into ``out_dir``; its
    row of the table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stats, staged, executed = (out_dir / f"{notebook.stem}{s}" for s in (".probe.json", ".input.ipynb", ".ipynb"))
    for path in (stats, executed):
        path.unlink(missing_ok=True)
    nb = nbformat.read(notebook, as_version=4)
    parameters = parameters_for(nb, parameters)
    nbformat.write(with_probe(nb, stats.resolve()), staged)
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(staged), str(executed), str(notebook.parent),
                              json.dumps(parameters)],
                             cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    try:
        log, _ = child.communicate(timeout=timeout)
        status = "finished" if child.returncode == 0 else f"papermill failed ({child.returncode})"
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)            # the child's own session: papermill and its kernel
        log, _ = child.communicate()
        status = f"timed out after {timeout:.0f} s"
    seconds = time.perf_counter() - start
    staged.unlink(missing_ok=True)
    row = {"chapter": notebook.stem, "seconds": seconds, "status": status,
           "passed": 0, "failed": 0, "errors": 0, "summary": False, "gpu_peak_mb": None, "rss_mb": None, "device": None}
    if executed.exists():
        row.update(count_checks(nbformat.read(executed, as_version=4)))
    if stats.exists():
        row.update(json.loads(stats.read_text()))
    if status.startswith("papermill failed"):
        (out_dir / f"{notebook.stem}.log").write_text(log)
    return row


def ok(row: dict) -> bool:
    """The chapter ran to the end, every check passed, nothing else raised."""
    return row["status"] == "finished" and row["failed"] == 0 and row["errors"] == 0 and row["summary"]


def markdown(rows: list[dict], machine: str, timeout: float) -> str:
    """The results table (and its header lines) for ``rows`` from :func:`run`."""
    def mb(x):
        return "" if x is None else f"{x:.0f}"
    body = [[r["chapter"], f"{r['seconds']:.0f}", mb(r["gpu_peak_mb"]), mb(r["rss_mb"]), r["device"] or "",
             r["passed"], r["failed"], r["errors"],
             "yes" if ok(r) else "**no**" if r["status"] == "finished" else f"**no** ({r['status']})"] for r in rows]
    total = sum(r["seconds"] for r in rows)
    body.append(["**total**", f"{total:.0f} ({total / 60:.1f} min)", "", "", "", sum(r["passed"] for r in rows),
                 sum(r["failed"] for r in rows), sum(r["errors"] for r in rows),
                 "yes" if all(ok(r) for r in rows) else "**no**"])
    return (f"Machine: {machine}. Run on {datetime.date.today().isoformat()} by `make paper` "
            f"(`benchmarks/paper_scale.py`, {timeout:.0f} s per chapter at most).\n\n"
            f'Every chapter executed with papermill at `SCALE = "paper"` in a fresh kernel. Peak GPU memory is '
            "`torch.cuda.max_memory_allocated()` in the chapter's kernel, peak RSS its resident set; `DEVICE` is the "
            "chapter's own variable (empty: it defines none). Checks: `PASS` lines printed and `FAIL` errors raised; "
            f"errors: cells that raised anything else. Targets: at most {CHAPTER_MINUTES} minutes per chapter, "
            f"{BOOK_MINUTES} for the book, every check passing.\n\n"
            + table(["chapter", "wall time (s)", "peak GPU memory (MB)", "peak RSS (MB)", "DEVICE", "checks passed",
                     "checks failed", "errors", "complete"], body))


def machine_name(cuda: bool) -> str:
    import torch
    if cuda:
        return (f"{torch.cuda.get_device_name(0)} ({torch.cuda.get_device_properties(0).total_memory / 2 ** 30:.0f} "
                f"GiB), torch {torch.__version__}, CUDA {torch.version.cuda}")
    from _common import device_name
    return device_name("cpu")


def select(chapters: list[str] | None) -> list[Path]:
    """The chapter notebooks whose names start with one of ``chapters`` (all when None); unknown names are an error."""
    every = sorted((ROOT / "chapters").glob("[0-9]*.ipynb"))
    if not chapters:
        return every
    chosen = [p for p in every if any(p.stem.startswith(c.removesuffix(".ipynb")) for c in chapters)]
    unknown = [c for c in chapters if not any(p.stem.startswith(c.removesuffix(".ipynb")) for p in every)]
    if unknown:
        raise SystemExit(f"--chapters: no chapter starts with {', '.join(unknown)} (have: "
                         f"{', '.join(p.stem for p in every)})")
    return chosen


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="+", metavar="NN", help="only these chapters (prefixes: 04 05_init)")
    parser.add_argument("--notebooks", nargs="+", type=Path, help="run these notebooks instead of chapters/")
    parser.add_argument("--timeout", type=float, default=60 * CHAPTER_MINUTES, help="seconds of wall time per chapter")
    parser.add_argument("--out", type=Path, default=ROOT / "_paper", help="folder for the executed notebooks")
    parser.add_argument("--mnist-path", help="a folder of the full MNIST IDX files (the chapters' MNIST_PATH)")
    parser.add_argument("--allow-cpu", action="store_true", default=os.environ.get("ALLOW_CPU", "") not in ("", "0"),
                        help="run without a GPU (also ALLOW_CPU=1); the table then goes under CPU")
    parser.add_argument("--no-write", action="store_true", help="print the table only; benchmarks/ stays as it is")
    parser.add_argument("--dry-run", action="store_true", help="execute nothing: print the plan and check that every "
                        "chapter declares SCALE in its parameters cell (no GPU needed)")
    args = parser.parse_args(argv)
    import torch
    cuda = torch.cuda.is_available()
    notebooks = [p.resolve() for p in args.notebooks] if args.notebooks else select(args.chapters)
    extra = {"MNIST_PATH": args.mnist_path} if args.mnist_path else None
    if args.dry_run:
        text, ready = plan(notebooks, extra)
        where = ("the GPU" if cuda else "the CPU (--allow-cpu)" if args.allow_cpu
                 else "nothing: no GPU, and without --allow-cpu make paper refuses")
        print(f"make paper, dry run: {len(notebooks)} chapters, each in a fresh kernel with papermill into "
              f"{args.out}, at most {args.timeout:.0f} s each; they would run on {where}.\n\n{text}", flush=True)
        return 0 if ready else 1
    if not cuda and not args.allow_cpu:
        print("make paper: torch finds no CUDA GPU on this machine (torch.cuda.is_available() is False). At the "
              "paper's sizes the chapters run for hours on a CPU. To run them anyway: make paper ALLOW_CPU=1 "
              "(or benchmarks/paper_scale.py --allow-cpu); the table then goes under CPU in benchmarks/RESULTS.md.",
              file=sys.stderr)
        return 2
    if not cuda:
        print("WARNING: no GPU: running the paper scale on the CPU (DEVICE falls back to 'cpu' in every chapter)",
              file=sys.stderr)
    rows = []
    for notebook in notebooks:
        row = run(notebook, args.out, args.timeout, extra)
        rows.append(row)
        print(f"{row['chapter']}: {row['seconds']:.0f} s, {row['status']}, {row['passed']} checks passed, "
              f"{row['failed']} failed, {row['errors']} other errors", file=sys.stderr, flush=True)
    text = markdown(rows, machine_name(cuda), args.timeout)
    body = f"## 6. Every chapter at the paper scale\n\n{text}\n"
    print(body, flush=True)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"paper_scale{'-cuda' if cuda else ''}.md").write_text(body)
        subprocess.run([sys.executable, str(Path(__file__).with_name("collect.py"))], check=True)
    return 0 if all(ok(r) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
