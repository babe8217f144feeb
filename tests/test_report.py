"""The reproducibility report extension: parsing check lines, rendering the page, failing on missing checks."""
import json
import sys
from pathlib import Path

import pytest
from sphinx.errors import ExtensionError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
import reproducibility_report as report  # noqa: E402


def _notebook(path, lines, title="# A chapter"):
    cells = [{"cell_type": "markdown", "metadata": {}, "source": [title]},
             {"cell_type": "code", "metadata": {}, "source": [], "execution_count": 1,
              "outputs": [{"output_type": "stream", "name": "stdout", "text": [l + "\n" for l in lines]}]}]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def test_parse_line_keeps_pipes_inside_names():
    check = report.parse_line("PASS | claim 1: max | ||Kx|| / ||x|| - 1 | | measured < 1e-12 | < 1e-12")
    assert check == report.Check("PASS", "claim 1: max | ||Kx|| / ||x|| - 1 |", "< 1e-12", "< 1e-12")
    assert report.parse_line("some other output | measured 3") is None
    assert report.parse_line("FAIL | x | measured 2 | expected 1 within abs 0.1").status == "FAIL"


def test_report_lists_every_chapter_and_check(tmp_path):
    (tmp_path / "chapters").mkdir()
    _notebook(tmp_path / "chapters" / "01_a.ipynb", ["PASS | first | measured 1 | < 2", "noise",
                                                      "PASS | second | measured 3 | > 2"], "# First chapter")
    _notebook(tmp_path / "chapters" / "02_b.ipynb", ["PASS | a | b | measured 0.5 | expected 0.5 within rel 0.1"])
    chapters = report.write_report(tmp_path)
    assert [(stem, len(checks)) for stem, _, checks in chapters] == [("01_a", 2), ("02_b", 1)]
    text = (tmp_path / report.REPORT).read_text()
    assert "**3 of 3 checks pass across 2 chapters**" in text
    assert "| [First chapter](chapters/01_a.ipynb) | 2 | 2 |" in text
    assert "| 1 | a \\| b | 0.5 | expected 0.5 within rel 0.1 | PASS |" in text


def test_report_fails_on_missing_or_failing_checks(tmp_path):
    (tmp_path / "chapters").mkdir()
    _notebook(tmp_path / "chapters" / "01_a.ipynb", ["no checks printed here"])
    with pytest.raises(ExtensionError, match="no check lines"):
        report.write_report(tmp_path)
    _notebook(tmp_path / "chapters" / "01_a.ipynb", ["FAIL | broken | measured 5 | < 1"])
    with pytest.raises(ExtensionError, match="failing checks"):
        report.write_report(tmp_path)


def test_committed_chapters_all_have_checks():
    chapters = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.ipynb"))
    counts = {p.stem: len(report.chapter_checks(p)[1]) for p in chapters}
    assert len(counts) >= 7 and min(counts.values()) >= 5, counts


def test_title_is_read_after_the_setup_cell_and_summary_must_count_the_checks(tmp_path):
    path = tmp_path / "01_a.ipynb"
    _notebook(path, ["PASS | first | measured 1 | < 2", "PASS | second | measured 3 | > 2", "2 of 2 checks passed"],
              "# The real title\n\nLearning goals")
    nb = json.loads(path.read_text())
    nb["cells"].insert(0, {"cell_type": "code", "metadata": {"tags": ["remove-cell"]}, "execution_count": 1,
                           "outputs": [], "source": ["# @title Colab set-up\n", "import sys"]})
    path.write_text(json.dumps(nb))
    title, checks = report.chapter_checks(path)
    assert title == "The real title" and len(checks) == 2
    _notebook(path, ["PASS | first | measured 1 | < 2", "3 of 3 checks passed"])
    with pytest.raises(ExtensionError, match="after 1 check lines"):
        report.chapter_checks(path)
