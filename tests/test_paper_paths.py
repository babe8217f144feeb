"""The ``SCALE = "paper"`` code paths of chapters 6 and 7, run on the CPU at small sizes.

The paper-scale settings are meant for a GPU (chapter 6's MNIST stages take about an hour of CPU time each, chapter 7
trains CNNs of 2,048 layers and propagates signals through 10,000), so they cannot run here; what can be tested is that
each paper branch runs end to end. The chapter runs in a fresh kernel with ``SCALE = "paper"`` (as papermill injects
it), and one cell added after its size cell shrinks every size; the paper branch's data, device choice and everything
else are kept. Checks are recorded instead of raised, since networks this small cannot pass them; the test asserts
that every cell runs and that the checks were reached.
"""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"

RECORD_CHECKS = """
import dlnlib.checks as _checks                  # record the checks, do not raise: tiny networks cannot pass them
_checks._report = lambda name, measured, criterion, passed: _checks.RESULTS.append(
    _checks.CheckResult(name, measured, criterion, bool(passed)))
_checks.summary = lambda: print(f"{len(_checks.RESULTS)} checks recorded")
"""

# chapter: (the size cell's marker, the small sizes, how many checks must be reached)
SMALL = {
    "06_nonlinear_isometry.ipynb": ("MLP_WIDTH", """\
N_VARIANCE, N_JACOBIAN, JACOBIAN_DEPTH, N_FREE, FREE_DRAWS = 40, 40, 20, 40, 2
MLP_WIDTH, MLP_DEPTH = 32, 8
SCAN_STEPS, SEEDS, STEPS, LONG_STEPS = 40, 2, 60, 80""", 40),
    "07_delta_orthogonal_cnn.ipynb": ("HEAT_DEPTHS", """\
FOURIER_CHANNELS, FOURIER_N, FOURIER_DRAWS = 16, 16, 10
FC_WIDTH = 100
PROP_CHANNELS, PROP_SIZE, PROP_DEPTH = 4, 4, 10_000   # the checks read layers 100 and 10,000
WIDTHS = [16, 64, 256]                                # the checks read these three widths
JAC_CHANNELS, JAC_DEPTH = 4, 16
CNN_CHANNELS, N_TRAIN, BATCH = 4, 200, 16
HEAT_DEPTHS, HEAT_SEEDS, SCAN_DEPTHS = [4, 16, 64], 2, [4, 16]   # 64: deep enough for both sides of the map
STEPS, LONG_DEPTH, LONG_STEPS = 20, 32, 20""", 30),
}


@pytest.mark.parametrize("chapter", sorted(SMALL))
def test_the_paper_scale_code_path_runs_at_small_sizes(chapter, monkeypatch):
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):   # the kernel's threads, as in conftest
        monkeypatch.setenv(name, "1")
    marker, small, n_checks = SMALL[chapter]
    nb = nbformat.read(CHAPTERS / chapter, as_version=4)
    nb.cells = [c for c in nb.cells if "remove-cell" not in c.metadata.get("tags", [])]   # the Colab set-up cell
    params = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    assert 'SCALE = "book"' in nb.cells[params].source
    nb.cells[params].source = nb.cells[params].source.replace('SCALE = "book"', 'SCALE = "paper"')
    sizes = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and marker in c.source)
    assert sizes == params + 1, "the size cell should follow the parameters cell"
    nb.cells.insert(sizes + 1, nbformat.v4.new_code_cell(small + RECORD_CHECKS))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(CHAPTERS)}}).execute()
    text = lambda cell: "".join(o.get("text", "") for o in cell.get("outputs", []))   # noqa: E731
    assert text(nb.cells[sizes]).startswith("SCALE = paper on cpu")
    recorded = "".join(text(c) for c in nb.cells if "checks recorded" in text(c))
    assert recorded and int(recorded.split()[0]) >= n_checks, recorded
