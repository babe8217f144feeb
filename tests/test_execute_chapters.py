"""`make execute` (scripts/execute_chapters.py) writes what a run produced and nothing volatile, and records its setting."""
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import execute_chapters  # noqa: E402

STAMPS = {"iopub.execute_input": "2026-11-24T10:13:24.571665Z", "shell.execute_reply": "2026-11-24T10:13:26.729695Z"}


def _notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Title", id="title"),
                nbformat.v4.new_code_cell("x = sum(range(10))\nprint(f'x = {x}')", id="sum",
                                          metadata={"execution": dict(STAMPS), "ExecuteTime": {"end_time": "x"},
                                                    "tags": ["keep-me"]}),
                nbformat.v4.new_code_cell("x * 2", id="double"),
                nbformat.v4.new_code_cell("import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.2)",
                                          id="chunks")]
    nbformat.write(nb, path)
    return path


def test_a_rerun_with_the_same_outputs_leaves_the_file_unchanged(tmp_path, monkeypatch):
    path = _notebook(tmp_path / "nb.ipynb")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    execute_chapters.execute(path)
    first = path.read_bytes()
    nb = nbformat.read(path, as_version=4)
    assert [c.get("id") for c in nb.cells] == ["title", "sum", "double", "chunks"]   # the probe cell is gone
    assert [c.metadata for c in nb.cells[1:]] == [{"tags": ["keep-me"]}, {}, {}]  # timestamps stripped, tags kept
    assert [o.text for o in nb.cells[3].outputs] == ["0\n1\n2\n"]   # three stream messages, one output
    assert nb.cells[1].outputs[0]["text"] == "x = 45\n" and nb.cells[2].execution_count == 2
    execute_chapters.execute(path)
    assert path.read_bytes() == first


def test_the_thread_settings_and_versions_are_recorded(tmp_path, monkeypatch):
    path = _notebook(tmp_path / "nb.ipynb")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    execute_chapters.execute(path)
    record = nbformat.read(path, as_version=4).metadata["dlnlib"]["executed_with"]
    assert record["threads"]["OMP_NUM_THREADS"] == "1" and record["threads"]["MKL_NUM_THREADS"] is None
    assert record["threads"]["torch_intra_op"] == 1                              # torch follows OMP_NUM_THREADS
    import numpy
    import torch
    assert record["versions"]["numpy"] == numpy.__version__ and record["versions"]["torch"] == torch.__version__
    assert record["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert record["blas"] and all(pool["num_threads"] == 1 for pool in record["blas"])


def test_strip_volatile_keeps_everything_else():
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"start_time": "then"}
    nb.metadata["kernelspec"] = {"name": "python3"}
    out = nbformat.v4.new_output
    nb.cells = [nbformat.v4.new_code_cell("1", metadata={"execution": STAMPS, "tags": ["hide-output"]}, outputs=[
        out("stream", name="stdout", text="a\n"), out("stream", name="stdout", text="b\n"),
        out("stream", name="stderr", text="warn\n"), out("stream", name="stdout", text="c\n"),
        out("display_data", data={"text/plain": "figure"}), out("stream", name="stdout", text="d\n"),
        out("stream", name="stdout", text="e\n")])]
    execute_chapters.strip_volatile(nb)
    assert nb.metadata == {"kernelspec": {"name": "python3"}} and nb.cells[0].metadata == {"tags": ["hide-output"]}
    assert [(o.output_type, o.get("name"), o.get("text")) for o in nb.cells[0].outputs] == [
        ("stream", "stdout", "a\nb\n"), ("stream", "stderr", "warn\n"), ("stream", "stdout", "c\n"),
        ("display_data", None, None), ("stream", "stdout", "d\ne\n")]      # joined only where adjacent
