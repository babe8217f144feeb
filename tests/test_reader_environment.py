"""A chapter run as a reader's environment would run it: dlnlib from its wheel alone, the chapter outside the repository.

The test builds a wheel of dlnlib from a copy of its sources, installs it with the extra ``notebooks`` into a fresh
virtual environment that has nothing else (no build tools, no test runners, no jupyter-book, and not the checkout),
registers that environment's kernel, copies one chapter to a temporary directory, and executes it at book scale.
The chapter must run without an error, every check line must say PASS and match the committed one, and the
``checks.summary()`` line must count them; ``dlnlib`` must have been imported from the environment, not the checkout.

It catches a dependency that ``pyproject.toml`` does not declare (as mlxtend once was), a file the wheel leaves out,
and a chapter that imports something the notebooks extra does not bring. Versions are held to requirements.txt
(``-c``), so that packages come from the local caches (torch, as ``torch==2.13.0``, from the wheel on disk) and the
check lines can be compared with the committed ones. One fast chapter is enough; nbval runs every chapter in the
book's own environment.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
from reproducibility_report import SUMMARY, parse_line  # noqa: E402

# The fastest chapter at book scale (benchmarks/results/chapter_costs.md: 10 s on 2 cores).
CHAPTER = ROOT / "chapters" / "10_random_matrix_dynamics.ipynb"
WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "dlnlib")
PROBE = "import dlnlib, sys\nprint('dlnlib from', dlnlib.__file__)\nprint('prefix', sys.prefix)"


def _run(*cmd, **kwargs):
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _check_lines(nb):
    lines = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                lines += output.text.splitlines()
    return lines


def _du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


@pytest.fixture(scope="module")
def reader_env(tmp_path_factory):
    """A fresh virtual environment with the dlnlib wheel and its run-time dependencies, and its kernel spec."""
    tmp = tmp_path_factory.mktemp("reader")
    times, start = {}, time.perf_counter()
    source = tmp / "source"
    source.mkdir()
    for name in WHEEL_SOURCES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, source / name)
    shutil.rmtree(source / "dlnlib" / "__pycache__", ignore_errors=True)
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", tmp / "dist",
         source, cwd=tmp)
    wheel, = (tmp / "dist").glob("dlnlib-*.whl")
    times["wheel"] = time.perf_counter() - start

    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
         "-c", ROOT / "requirements.txt", f"{wheel}[notebooks]", cwd=tmp)
    times["install"] = time.perf_counter() - start - times["wheel"]
    _run(python, "-m", "ipykernel", "install", "--prefix", tmp / "kernels", "--name", "reader",
         "--display-name", "reader")
    installed = _run(python, "-m", "pip", "list", "--format=freeze").stdout
    print(f"\nreader's environment: wheel built in {times['wheel']:.0f} s, installed in {times['install']:.0f} s, "
          f"{_du_mb(venv):.0f} MB")
    yield {"tmp": tmp, "venv": venv, "kernels": tmp / "kernels" / "share" / "jupyter", "times": times,
           "installed": installed, "wheel": wheel}
    # About 1.1 GB in 20,000 files, mostly torch: removed in the background, as deleting can take minutes on a busy disk.
    subprocess.Popen(["rm", "-rf", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_the_environment_holds_the_runtime_only(reader_env):
    names = {line.split("==")[0].lower() for line in reader_env["installed"].splitlines()}
    assert {"dlnlib", "torch", "numpy", "scipy", "matplotlib", "mlxtend", "myst-nb", "ipykernel"} <= names
    assert not names & {"jupyter-book", "pytest", "nbval", "playwright", "papermill", "jupyterlab"}, \
        "the reader's environment must not contain the book's build and test tools"
    versions = dict(line.split("==") for line in reader_env["installed"].splitlines() if "==" in line)
    pin = next(l for l in (ROOT / "requirements.txt").read_text().splitlines() if l.startswith("torch=="))
    assert Version(versions["torch"]).public == pin.split("==")[1], "torch must be the book's torch==2.13.0"


def test_a_chapter_copied_out_of_the_repository_runs_and_its_checks_pass(reader_env, monkeypatch):
    book = reader_env["tmp"] / "book"
    book.mkdir()
    chapter = book / CHAPTER.name
    shutil.copy2(CHAPTER, chapter)
    committed = [c for c in map(parse_line, _check_lines(nbformat.read(CHAPTER, as_version=4))) if c]

    nb = nbformat.read(chapter, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    monkeypatch.setenv("JUPYTER_PATH", str(reader_env["kernels"]))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="reader", resources={"metadata": {"path": str(book)}}).execute()
    reader_env["times"]["chapter"] = time.perf_counter() - start

    lines = _check_lines(nb)
    checks = [c for c in map(parse_line, lines) if c]
    assert checks and all(c.status == "PASS" for c in checks)
    assert checks == committed, "the check lines differ from the committed ones"
    summaries = [SUMMARY.fullmatch(line.strip()) for line in lines if SUMMARY.fullmatch(line.strip())]
    assert summaries, "no `checks.summary()` line (\"N of N checks passed\")"
    assert summaries[-1].group(1) == summaries[-1].group(2) == str(len(checks))
    origin = next(line for line in lines if line.startswith("dlnlib from "))
    assert origin.startswith(f"dlnlib from {reader_env['venv']}/lib/"), origin
    assert str(ROOT) not in origin

    times = reader_env["times"]
    print(f"\nreader's environment: {CHAPTER.stem} ran in {times['chapter']:.0f} s "
          f"(wheel {reader_env['wheel'].stat().st_size / 1024:.0f} kB)")
