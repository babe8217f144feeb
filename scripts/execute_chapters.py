"""Execute chapter notebooks in place: the only way the committed outputs are produced (``make execute``).

Each notebook runs top to bottom in a fresh kernel of the project's environment, with the working
directory set to ``chapters/`` and the Agg backend's inline display, exactly as nbval re-runs it.
Prints the wall time of each chapter.

Usage: python scripts/execute_chapters.py chapters/01_three_layer_dynamics.ipynb [...]
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path, timeout: int = 900, out: Path | None = None) -> float:
    """Run one notebook and return its wall time in seconds; written in place, or to ``out`` when given."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    nbformat.write(nb, out or path)
    return elapsed


def main(paths):
    if not paths:
        sys.exit("usage: execute_chapters.py NOTEBOOK [NOTEBOOK ...]")
    for name in paths:
        elapsed = execute(Path(name))
        print(f"{name}: {elapsed:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
