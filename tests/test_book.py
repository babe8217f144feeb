"""Structure of the book: every chapter is in the table of contents, follows the anatomy, and is executed; the pages
never mention our internal notes; the repository URL is named in one place."""
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "scripts"))
import setup_cell  # noqa: E402

# Our internal notes (the paper digests, the numbered claims and the course's list of targets) are not the reader's:
# the book cites the papers' equations, figures and sections instead.
INTERNAL_NOTES = re.compile(r"\b[Dd]igests?\b|\b[Cc]laims?\s+(?:\d+[a-z]?|[A-Z])\b|\b[Tt]argets(?:\.md\b|:)|\bcourse targets\b")
TEXT_MIME = ("text/plain", "text/html", "text/markdown", "text/latex")
# Pages written by _ext/ when the book is built: from the chapters' check lines (checked with the chapters) and from
# dlnlib's docstrings, where "targets" is the regression term (RateScan.from_modes(targets)), not our notes.
GENERATED = {"reproducibility", "api"}


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
    assert nb.cells[0].get("id") == setup_cell.CELL_ID, "first cell must be the Colab set-up cell"
    assert nb.cells[1].cell_type == "markdown" and nb.cells[1].source.startswith("# "), "second cell must be the title"
    assert "Learning goals" in nb.cells[1].source
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


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_with_the_colab_setup_cell(path):
    """Written by `python scripts/setup_cell.py --write chapters/*.ipynb`, from the repository in _config.yml."""
    problem = setup_cell.problem(nbformat.read(path, as_version=4), setup_cell.cell_source())
    assert problem is None, f"{path.name}: {problem}"


def _chapter_text(path: Path):
    """(where, text) for every source, cell metadata (captions, check names) and text output of a notebook."""
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        yield f"cell {i} source", cell.source
        yield f"cell {i} metadata", json.dumps(cell.metadata)
        for output in cell.get("outputs", []):
            yield f"cell {i} output", output.get("text", "") + output.get("evalue", "") + "".join(
                str(output.get("data", {}).get(mime, "")) for mime in TEXT_MIME)


def _book_pages():
    """The hand-written pages of the book and the files they include (chapters are checked on their own)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    for name in [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]:
        page = ROOT / f"{name}.md"
        if name.startswith("chapters/") or name in GENERATED:
            continue
        yield page
        for included in re.findall(r"```\{(?:literal)?include\}\s+(\S+)", page.read_text()):
            yield page.parent / included


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_never_mentions_internal_notes(path):
    hits = [f"{where}: {m.group(0)!r} in ...{text[max(0, m.start() - 40):m.end() + 40]!r}..."
            for where, text in _chapter_text(path) for m in INTERNAL_NOTES.finditer(text)]
    assert not hits, f"{path.name} mentions internal notes; cite the paper instead:\n" + "\n".join(hits[:20])


def test_book_pages_never_mention_internal_notes():
    pages = list(_book_pages())
    assert ROOT / "running.md" in pages and ROOT / "benchmarks/results/chapter_costs.md" in pages
    hits = [f"{p.relative_to(ROOT)}: {m.group(0)!r}" for p in pages for m in INTERNAL_NOTES.finditer(p.read_text())]
    assert not hits, "\n".join(hits)


def test_internal_notes_pattern():
    for text in ("see the digest", "Claim 3 holds", "claim 2b", "claims A and B", "the course targets", "Targets: 2", "see targets.md"):
        assert INTERNAL_NOTES.search(text), text
    for text in ("a claim that holds", "the target output", "claims of the paper", "digestible",
                 "the residuals are the targets", "double the targets, y -> 2y"):
        assert not INTERNAL_NOTES.search(text), text


def test_repository_url_is_named_in_one_place():
    """_config.yml names the repository; README.md and CITATION.cff must agree with it, and nothing else spells it out
    (the pages use {repo}`path` and substitutions; scripts/setup_cell.py writes the chapters' cell from the config)."""
    url, _ = setup_cell.repository()
    github = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+")
    for name in ("README.md", "CITATION.cff"):
        found = {u.removesuffix(".git") for u in github.findall((ROOT / name).read_text())}
        assert found == {url}, f"{name} names {sorted(found)}; _config.yml says {url}"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    spelled = [rel for rel in files if (ROOT / rel).is_file() and not rel.startswith(("tests/", "chapters/"))
               and rel not in {"_config.yml", "README.md", "CITATION.cff"}
               and url in (ROOT / rel).read_text(errors="ignore")]
    assert not spelled, f"these files spell out the repository URL instead of following _config.yml: {spelled}"


def _inline_math(markdown: str) -> list[str]:
    """The inline ``$...$`` spans of a markdown cell (display ``$$...$$`` blocks and code spans removed first)."""
    text = re.sub(r"\$\$.*?\$\$", " ", markdown, flags=re.S)
    text = re.sub(r"`[^`]*`", lambda m: m.group(0) if m.group(0).startswith("`{") else "``", text)
    return re.findall(r"(?<!\\)\$(.+?)(?<!\\)\$", text, flags=re.S)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_glued_value_inside_math(path):
    """MyST does not expand roles inside math: ``$10^{ {glue:text}`x` }$`` renders the role's source as TeX."""
    cells = nbformat.read(path, as_version=4).cells
    hits = [span for c in cells if c.cell_type == "markdown" for span in _inline_math(c.source) if "{glue" in span]
    assert not hits, f"{path.name}: a glue role inside math (write it outside the $...$): {hits[:5]}"


def test_inline_math_pattern_finds_glue_inside_math():
    assert any("{glue" in s for s in _inline_math("down to $10^{ {glue:text}`x_y` }$ at the bottom"))
    assert not any("{glue" in s for s in _inline_math("$\\log_{10}\\sigma =$ {glue:text}`x` and $a$"))
