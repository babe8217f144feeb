"""``make paper`` (benchmarks/paper_scale.py) on tiny synthetic notebooks, without a GPU: the parameters papermill
injects, the probe's figures, the check counts, the table, the per-chapter timeout and the refusal without a GPU."""
import sys
from pathlib import Path

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import paper_scale  # noqa: E402


def notebook(*sources, path=None, parameters='SCALE = "book"'):
    """A notebook whose first code cell is the parameters cell (``SCALE = "book"``), then ``sources``."""
    parameters = nbformat.v4.new_code_cell(parameters)
    parameters.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A chapter"), parameters]
                                  + [nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if path is not None:
        nbformat.write(nb, path)
    return nb


def executed(*outputs_per_cell):
    """A notebook as papermill leaves it: one code cell per entry, holding those outputs."""
    nb = notebook()
    for outputs in outputs_per_cell:
        cell = nbformat.v4.new_code_cell("...")
        cell.outputs = [nbformat.v4.new_output(**o) for o in outputs]
        nb.cells.append(cell)
    return nb


def stdout(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


def error(ename, evalue):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


def test_checks_are_counted_from_pass_lines_and_fail_errors():
    nb = executed([stdout("q = 1.0\nPASS | first | measured 1 | < 2\nPASS | second | measured 1 | < 2\n")],
                  [stdout("PASS | third | measured 0 | < 1\n"), error("AssertionError", "FAIL | fourth | measured 3 | < 2")],
                  [error("NameError", "name 'x' is not defined")],
                  [error("AssertionError", "3 of 4 checks passed: failed: fourth")],      # the summary, after a failure
                  [stdout("a line that mentions PASS | but does not start with it\n")])
    assert paper_scale.count_checks(nb) == {"passed": 3, "failed": 1, "errors": 1, "summary": False}
    done = executed([stdout("PASS | first | measured 1 | < 2\n")], [stdout("1 of 1 checks passed\n")])
    assert paper_scale.count_checks(done) == {"passed": 1, "failed": 0, "errors": 0, "summary": True}
    assert paper_scale.count_checks(executed([stdout("2 of 3 checks passed\n")]))["summary"] is False


def row(chapter, seconds, status="finished", passed=5, failed=0, errors=0, summary=True, gpu=1536.4, device="cuda"):
    return {"chapter": chapter, "seconds": seconds, "status": status, "passed": passed, "failed": failed,
            "errors": errors, "summary": summary, "gpu_peak_mb": gpu, "rss_mb": 900.0, "device": device}


def test_table_has_one_row_per_chapter_a_total_and_the_machine():
    rows = [row("04_depth", 312.2), row("05_initialization", 900.4, status="timed out after 900 s", summary=False),
            row("06_nonlinear_isometry", 45.0, passed=7, failed=1, summary=False, gpu=None, device=None)]
    text = paper_scale.markdown(rows, "NVIDIA H200 (140 GiB), torch 2.13.0, CUDA 13.0", 900)
    lines = text.splitlines()
    assert lines[0].startswith("Machine: NVIDIA H200 (140 GiB), torch 2.13.0, CUDA 13.0. Run on ")
    assert "| chapter | wall time (s) | peak GPU memory (MB) | peak RSS (MB) | DEVICE | checks passed |" in text
    assert "| 04_depth | 312 | 1536 | 900 | cuda | 5 | 0 | 0 | yes |" in lines
    assert "| 05_initialization | 900 | 1536 | 900 | cuda | 5 | 0 | 0 | **no** (timed out after 900 s) |" in lines
    assert "| 06_nonlinear_isometry | 45 |  | 900 |  | 7 | 1 | 0 | **no** |" in lines
    assert lines[-1] == "| **total** | 1258 (21.0 min) |  |  |  | 17 | 1 | 0 | **no** |"
    assert paper_scale.ok(rows[0]) and not any(paper_scale.ok(r) for r in rows[1:])


def test_chapters_are_selected_by_prefix():
    assert [p.stem[:2] for p in paper_scale.select(["04", "06_nonlinear"])] == ["04", "06"]
    assert len(paper_scale.select(None)) == len(list((ROOT / "chapters").glob("[0-9]*.ipynb")))
    with pytest.raises(SystemExit, match="no chapter starts with 99"):
        paper_scale.select(["04", "99"])


def test_a_synthetic_chapter_runs_at_paper_scale_past_a_failed_check(tmp_path):
    path = tmp_path / "00_synthetic.ipynb"
    notebook('import torch\nDEVICE = "cuda" if SCALE == "paper" and torch.cuda.is_available() else "cpu"',
             "from dlnlib import checks\n"
             'checks.check_true("SCALE is injected", SCALE == "paper", "papermill set it")\n'
             'checks.check_true("MNIST_PATH is injected", MNIST_PATH == "/data", "papermill set it")',
             'checks.check_below("a failing check", 3.0, 2.0)',
             "print('this cell still runs')\n1 / 0",
             "checks.summary()", path=path, parameters='SCALE = "book"\nMNIST_PATH = None  # a folder')
    result = paper_scale.run(path, tmp_path / "out", timeout=240, parameters={"MNIST_PATH": "/data"})
    assert result["status"] == "finished"
    assert (result["passed"], result["failed"], result["errors"], result["summary"]) == (2, 1, 1, False)
    assert result["device"] == ("cuda" if torch.cuda.is_available() else "cpu") and result["rss_mb"] > 10
    assert (result["gpu_peak_mb"] is None) == (not torch.cuda.is_available())
    out = nbformat.read(tmp_path / "out" / "00_synthetic.ipynb", as_version=4)
    # papermill puts its own markdown note of the first error at the top; the probe is the first code cell
    assert [c.id for c in out.cells if c.cell_type == "code"][0] == paper_scale.PROBE_ID
    assert any("this cell still runs" in o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.outputs)
    assert not (tmp_path / "out" / "00_synthetic.input.ipynb").exists()


def test_a_chapter_past_its_timeout_is_stopped_and_reported(tmp_path):
    path = tmp_path / "00_slow.ipynb"
    notebook("import time\ntime.sleep(600)", path=path)
    result = paper_scale.run(path, tmp_path / "out", timeout=5)
    assert result["status"] == "timed out after 5 s" and 5 <= result["seconds"] < 30
    assert not paper_scale.ok(result)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_it_refuses_unless_allowed(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ALLOW_CPU", raising=False)
    path = tmp_path / "00_empty.ipynb"
    notebook(path=path)
    assert paper_scale.main(["--notebooks", str(path), "--no-write", "--out", str(tmp_path / "out")]) == 2
    assert "torch finds no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_chapter_gets_only_the_parameters_it_declares():
    nb = notebook(parameters='SCALE = "book"   # or "paper"\nMNIST_PATH = None\n# N = 3 is a comment\n  indented = 1')
    assert paper_scale.declared_parameters(nb) == ["SCALE", "MNIST_PATH"]
    assert paper_scale.parameters_for(nb, {"MNIST_PATH": "/data", "OTHER": 1}) == {"SCALE": "paper", "MNIST_PATH": "/data"}
    assert paper_scale.parameters_for(notebook(), {"MNIST_PATH": "/data"}) == {"SCALE": "paper"}
    assert paper_scale.declared_parameters(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("SCALE = 1")])) == []


def test_the_dry_run_checks_every_chapter_in_seconds_and_executes_nothing(tmp_path, capsys):
    assert paper_scale.main(["--dry-run", "--mnist-path", "/data", "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    chapters = sorted((ROOT / "chapters").glob("[0-9]*.ipynb"))
    assert f"make paper, dry run: {len(chapters)} chapters" in text
    for chapter in chapters:        # every real chapter declares SCALE; MNIST_PATH only where it is read
        line = next(x for x in text.splitlines() if x.startswith(f"| {chapter.stem} |"))
        assert line.endswith("| yes |") and "SCALE=paper" in line
        assert ("MNIST_PATH=/data" in line) == ("MNIST_PATH" in line.split("|")[2])
    assert not (tmp_path / "out").exists()
    notebook(path=tmp_path / "00_ready.ipynb")
    notebook(path=tmp_path / "00_unready.ipynb", parameters="N = 3")
    assert paper_scale.main(["--dry-run", "--notebooks", str(tmp_path / "00_ready.ipynb"),
                             str(tmp_path / "00_unready.ipynb")]) == 1
    assert "| 00_unready | N | SCALE=paper | no | **no**: declares no SCALE |" in capsys.readouterr().out
