"""Structure of the book: every chapter is in the table of contents, follows the anatomy, and is executed."""
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return {c["file"] for part in toc["parts"] for c in part["chapters"]}


def test_every_chapter_is_in_the_toc():
    assert CHAPTERS, "no chapters found"
    listed = _toc_files()
    for path in CHAPTERS:
        assert f"chapters/{path.stem}" in listed, f"{path.name} is missing from _toc.yml"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_anatomy_and_committed_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "first cell must be the title"
    assert "Learning goals" in nb.cells[0].source
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and re.search(r'^SCALE = "book"$', params[0].source, re.M)
    for heading in ("## Checks", "## Exercises", "## Summary", "## References"):
        assert heading in markdown, f"missing section {heading}"
    assert all(c.execution_count is not None for c in code), "every code cell must be executed (make execute)"
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "outputs must come from one top-to-bottom run"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    warnings = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr" and "Warning" in o.text]
    assert not warnings, f"warnings reached the committed outputs: {warnings[:1]}"
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "PASS | " in text and "FAIL | " not in text
    assert not re.search(r"0x[0-9a-fA-F]{6,}", text + str([o.get("data", {}).get("text/plain") for o in outputs]))


def test_requirements_are_exact_pins_with_cpu_torch():
    lines = [l for l in (ROOT / "requirements.txt").read_text().splitlines() if l and not l.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+\-]+", l) for l in lines), "every requirement must be pinned with =="
    assert "torch==2.13.0" in lines
    assert any(l.startswith("jupyter-book==1.") for l in lines)
