"""The chapters' Colab set-up cell (scripts/setup_cell.py), tried on temporary notebooks."""
import subprocess
import sys
import types
from importlib.metadata import version
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import setup_cell  # noqa: E402


def _config(tmp_path, url="https://github.com/someone/some-book", branch="v1.2"):
    path = tmp_path / "_config.yml"
    path.write_text(f"title: x\nrepository:\n  url: {url}\n  branch: {branch}\n")
    return path


def _chapter(path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter\n\nLearning goals", id="title"),
                nbformat.v4.new_code_cell("x = 1\nprint(x)", id="code", execution_count=1,
                                          outputs=[nbformat.v4.new_output("stream", text="1\n")])]
    nbformat.write(nb, path)
    return path


def test_write_inserts_the_cell_first_and_check_accepts_it(tmp_path):
    config, nb_path = _config(tmp_path), _chapter(tmp_path / "ch.ipynb")
    assert setup_cell.main(["--check", str(nb_path), "--config", str(config)]) == 1
    assert setup_cell.main(["--write", str(nb_path), "--config", str(config)]) == 0
    nb = nbformat.read(nb_path, as_version=4)
    first = nb.cells[0]
    assert [c.get("id") for c in nb.cells] == ["colab-setup", "title", "code"]
    assert first.cell_type == "code" and first.execution_count is None and first.outputs == []
    assert first.metadata["tags"] == ["remove-cell"] and first.metadata["jupyter"]["source_hidden"] is True
    assert "git+https://github.com/someone/some-book@v1.2" in first.source
    assert nb.cells[2].outputs[0]["text"] == "1\n"                  # the other cells are untouched
    assert setup_cell.main(["--check", str(nb_path), "--config", str(config)]) == 0


def test_write_is_idempotent_and_follows_the_configured_repository(tmp_path):
    nb_path = _chapter(tmp_path / "ch.ipynb")
    setup_cell.main(["--write", str(nb_path), "--config", str(_config(tmp_path))])
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[0].execution_count = 1                                  # as after `make execute`
    nbformat.write(nb, nb_path)
    before = nb_path.read_bytes()
    setup_cell.main(["--write", str(nb_path), "--config", str(_config(tmp_path))])
    assert nb_path.read_bytes() == before                            # up to date: the file is not rewritten

    moved = _config(tmp_path, url="https://github.com/other/place.git", branch="main")
    assert setup_cell.main(["--check", str(nb_path), "--config", str(moved)]) == 1
    setup_cell.main(["--write", str(nb_path), "--config", str(moved)])
    nb = nbformat.read(nb_path, as_version=4)
    assert "git+https://github.com/other/place@main\"" in nb.cells[0].source
    assert sum(c.get("id") == "colab-setup" for c in nb.cells) == 1 and len(nb.cells) == 3


def test_check_names_what_is_wrong(tmp_path):
    source = setup_cell.cell_source(_config(tmp_path))
    nb = nbformat.read(_chapter(tmp_path / "ch.ipynb"), as_version=4)
    assert "first cell" in setup_cell.problem(nb, source)
    setup_cell.write(nb, source)
    assert setup_cell.problem(nb, source) is None
    nb.cells[0].metadata["tags"] = []
    assert "tags" in setup_cell.problem(nb, source)
    setup_cell.write(nb, source)
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="installing\n")]
    assert "outputs" in setup_cell.problem(nb, source)


def test_repository_url_must_be_https(tmp_path):
    with pytest.raises(ValueError, match="repository.url"):
        setup_cell.repository(_config(tmp_path, url="git@github.com:someone/book.git"))


def test_the_cell_does_nothing_outside_colab(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("the cell ran a command outside Colab"))
    exec(setup_cell.cell_source(), {})
    assert capsys.readouterr() == ("", "")


def test_on_colab_the_cell_installs_dlnlib_and_keeps_the_installed_torch(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: calls.append((cmd, check)))
    exec(setup_cell.cell_source(_config(tmp_path)), {})
    (cmd, check), = calls
    assert check is True and cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert f"torch=={version('torch')}" in cmd
    assert "dlnlib[notebooks] @ git+https://github.com/someone/some-book@v1.2" in cmd
