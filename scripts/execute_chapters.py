"""Execute chapter notebooks in place: the only way the committed outputs are produced (``make execute``).

Each notebook runs top to bottom in a fresh kernel of the project's environment, with the working
directory set to ``chapters/`` and the Agg backend's inline display, exactly as nbval re-runs it.
Prints the wall time of each chapter.

What is written is what the run produced and nothing volatile: no execution timestamps (nbclient's per-cell
``metadata.execution``), and a cell's printed text in one output per stream however the kernel chunked it, so a
re-run whose outputs are unchanged leaves the file byte for byte as it was. What the
run depended on is recorded instead, in the notebook's ``metadata.dlnlib.executed_with``: the thread settings
(``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, torch's intra-op threads, the BLAS libraries
threadpoolctl sees and their CPU kernels) and the versions of Python and the libraries, read inside the kernel
after the chapter ran. When a printed number differs on another machine, this is where to look first.

Usage: python scripts/execute_chapters.py chapters/01_three_layer_dynamics.ipynb [...]
"""
import json
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

VOLATILE_CELL_METADATA = ("execution", "ExecuteTime")   # per-cell timestamps (nbclient, jupyterlab-execute-time)
VOLATILE_NOTEBOOK_METADATA = ("papermill", "widgets")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE")
LIBRARIES = ("dlnlib", "numpy", "scipy", "torch", "matplotlib", "mlxtend")

# Run in the chapter's kernel after its last cell, then removed from the notebook: prints one JSON line.
PROBE = f"""\
import json as _json, os as _os, platform as _platform
from importlib import metadata as _metadata
def _version(name):
    try:
        return _metadata.version(name)
    except _metadata.PackageNotFoundError:
        return None
_record = {{"python": _platform.python_version(), "machine": _platform.machine(),
           "versions": {{name: _version(name) for name in {LIBRARIES!r}}},
           "threads": {{name: _os.environ.get(name) for name in {THREAD_VARIABLES!r}}}}}
try:
    import torch as _torch
    _record["threads"]["torch_intra_op"] = _torch.get_num_threads()
    from threadpoolctl import threadpool_info as _threadpool_info
    _record["blas"] = sorted(({{k: p.get(k) for k in ("internal_api", "prefix", "version", "num_threads", "architecture")}}
                             for p in _threadpool_info()), key=lambda p: _json.dumps(p, sort_keys=True))
except ImportError:
    pass
print(_json.dumps(_record, sort_keys=True))
"""


def strip_volatile(nb) -> None:
    """Remove what changes from run to run although the outputs do not, in place: execution timestamps, and the way
    the kernel happened to chunk a cell's printed text into stream messages (consecutive pieces of stdout, or of
    stderr, are joined into one output, as nbval and the book's ``nb_merge_streams`` read them anyway)."""
    for key in VOLATILE_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            merged = []
            for output in cell.outputs:
                previous = merged[-1] if merged else None
                if (output.output_type == "stream" and previous is not None and previous.output_type == "stream"
                        and previous.name == output.name):
                    previous.text += output.text
                else:
                    merged.append(output)
            cell.outputs = merged


def execute(path: Path, timeout: int = 900, out: Path | None = None) -> float:
    """Run one notebook and return its wall time in seconds; written in place, or to ``out`` when given."""
    nb = nbformat.read(path, as_version=4)
    probe = nbformat.v4.new_code_cell(PROBE, id="executed-with-probe")
    nb.cells.append(probe)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    nb.cells.remove(probe)
    text = "".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream" and o.name == "stdout")
    nb.metadata.setdefault("dlnlib", {})["executed_with"] = json.loads(text.strip().splitlines()[-1])
    strip_volatile(nb)
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
