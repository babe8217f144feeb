"""Write or check the set-up cell that opens every chapter notebook.

A chapter opened from the book's Colab button arrives alone, without ``dlnlib``. Its first cell therefore installs
``dlnlib`` (with the extra ``notebooks``: myst-nb's ``glue``) from the book's repository, at the branch or tag that
the launch buttons open (``repository.url`` and ``repository.branch`` in ``_config.yml``, the one place that names
them). The cell pins torch to the version already installed, so that Colab keeps its own (GPU) build. Anywhere else
(``google.colab`` not imported) it does nothing and prints nothing, so nbval and ``make execute`` see no output.

The cell is tagged ``remove-cell`` (the HTML book does not show it: it is for the notebook), collapsed in JupyterLab
(``jupyter.source_hidden``) and shown as a titled form in Colab (``colab.cellView``).

Usage::

    python scripts/setup_cell.py --write chapters/*.ipynb   # insert the cell, or bring it up to date
    python scripts/setup_cell.py --check chapters/*.ipynb   # exit 1, naming each notebook whose cell is missing or stale

``--write`` keeps an up-to-date cell exactly as it is; a new cell has no execution count yet, so run
``make execute`` afterwards (the outputs of the other cells do not depend on it outside Colab).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "colab-setup"
TAGS = ["remove-cell"]
METADATA = {"tags": TAGS, "jupyter": {"source_hidden": True}, "colab": {"cellView": "form"}}

TEMPLATE = '''\
# @title Colab set-up: installs this book's dlnlib (does nothing outside Colab)
import sys

if "google.colab" in sys.modules:  # keep Colab's own torch; dlnlib from the book's repository
    import subprocess
    from importlib.metadata import version

    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"torch=={{version('torch')}}",
                    "dlnlib[notebooks] @ git+{url}@{ref}"], check=True)'''


def repository(config: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """The book's repository URL and the branch or tag its launch buttons open, from ``_config.yml``."""
    repo = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("repository") or {}
    url, ref = repo.get("url"), repo.get("branch", "main")
    if not url or not str(url).startswith("https://"):
        raise ValueError(f"{config}: repository.url must be an https URL, got {url!r}")
    return str(url).rstrip("/").removesuffix(".git"), str(ref)


def cell_source(config: Path = ROOT / "_config.yml") -> str:
    """The set-up cell's code for the repository named in ``config``."""
    url, ref = repository(config)
    return TEMPLATE.format(url=url, ref=ref)


def problem(nb, source: str) -> str | None:
    """Why ``nb`` does not open with the expected set-up cell, or ``None`` if it does."""
    if not nb.cells:
        return "the notebook has no cells"
    first = nb.cells[0]
    if first.cell_type != "code" or first.get("id") != CELL_ID:
        return f"the first cell is not the set-up cell (id {CELL_ID!r})"
    if first.source != source:
        return "the set-up cell is stale (run scripts/setup_cell.py --write)"
    for key, value in METADATA.items():
        if first.metadata.get(key) != value:
            return f"the set-up cell's metadata {key!r} is {first.metadata.get(key)!r}, expected {value!r}"
    if first.outputs:
        return "the set-up cell has outputs; outside Colab it must print nothing"
    if sum(c.get("id") == CELL_ID for c in nb.cells) != 1:
        return "the notebook has more than one set-up cell"
    return None


def write(nb, source: str) -> bool:
    """Insert the set-up cell or bring it up to date in place; return whether ``nb`` changed."""
    if problem(nb, source) is None:
        return False
    existing = [c for c in nb.cells if c.get("id") == CELL_ID]
    for cell in existing:
        nb.cells.remove(cell)
    if existing and existing[0].cell_type == "code" and existing[0].source == source:
        cell = existing[0]                                      # only its metadata or place was wrong
    else:
        cell = nbformat.v4.new_code_cell(source, id=CELL_ID)   # a new cell has not run yet: no execution count
    cell.metadata = nbformat.from_dict(METADATA)
    cell.outputs = []
    nb.cells.insert(0, cell)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="insert or update the cell")
    mode.add_argument("--check", action="store_true", help="exit 1 if a notebook lacks the up-to-date cell")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--config", type=Path, default=ROOT / "_config.yml", help="the book's _config.yml")
    args = parser.parse_args(argv)
    source = cell_source(args.config)
    failed = 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if args.write:
            if write(nb, source):
                nbformat.write(nb, path)
                print(f"{path}: set-up cell written")
        elif (why := problem(nb, source)) is not None:
            print(f"{path}: {why}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
