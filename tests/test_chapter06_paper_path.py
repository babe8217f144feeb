"""Chapter 6's ``SCALE = "paper"`` code path, run on the CPU at small sizes.

The paper-scale setting is meant for a GPU (about an hour of CPU time per MNIST stage), so it cannot run here; what
can be tested is that its code path runs end to end. The chapter runs in a fresh kernel with ``SCALE = "paper"`` (as
papermill injects it), and one cell added after the size cell shrinks every size: the paper branch's data (every
training image of the subset), batch size, seeds and device choice are kept. Checks are recorded instead of raised,
since networks this small cannot pass them; the test asserts that every cell runs and that the checks were reached.
"""
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CHAPTER = Path(__file__).resolve().parents[1] / "chapters" / "06_nonlinear_isometry.ipynb"

SMALL = """\
N_VARIANCE, N_JACOBIAN, JACOBIAN_DEPTH, N_FREE, FREE_DRAWS = 40, 40, 20, 40, 2
MLP_WIDTH, MLP_DEPTH = 32, 8
SCAN_STEPS, SEEDS, STEPS, LONG_STEPS = 40, 2, 60, 80
import dlnlib.checks as _checks                  # record the checks, do not raise: tiny networks cannot pass them
_checks._report = lambda name, measured, criterion, passed: _checks.RESULTS.append(
    _checks.CheckResult(name, measured, criterion, bool(passed)))
_checks.summary = lambda: print(f"{len(_checks.RESULTS)} checks recorded")
"""


def test_the_paper_scale_code_path_runs_at_small_sizes(monkeypatch):
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):   # the kernel's threads, as in conftest
        monkeypatch.setenv(name, "1")
    nb = nbformat.read(CHAPTER, as_version=4)
    nb.cells = [c for c in nb.cells if "remove-cell" not in c.metadata.get("tags", [])]   # the Colab set-up cell
    params = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    assert 'SCALE = "book"' in nb.cells[params].source
    nb.cells[params].source = nb.cells[params].source.replace('SCALE = "book"', 'SCALE = "paper"')
    sizes = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "MLP_WIDTH" in c.source)
    assert sizes == params + 1, "the size cell should follow the parameters cell"
    nb.cells.insert(sizes + 1, nbformat.v4.new_code_cell(SMALL))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(CHAPTER.parent)}}).execute()
    text = lambda cell: "".join(o.get("text", "") for o in cell.get("outputs", []))   # noqa: E731
    assert text(nb.cells[sizes]).startswith("SCALE = paper on cpu")
    recorded = "".join(text(c) for c in nb.cells if "checks recorded" in text(c))
    assert recorded and int(recorded.split()[0]) >= 40, recorded
