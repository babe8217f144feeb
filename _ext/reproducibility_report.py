"""Generate the book's reproducibility report from the executed chapters, and fail the build if checks are missing.

Every chapter's **Checks** section prints one line per asserted claim, ``PASS | name | measured ... | criterion``
(:mod:`dlnlib.checks`). When the build starts, this extension reads those lines from the committed outputs of every
``chapters/*.ipynb`` and writes ``reproducibility.md``, a page with one table per chapter. The page is generated,
never edited by hand (it is git-ignored). The build stops with an error if a chapter has no check lines (not executed,
or its checks were removed) or if any check line says ``FAIL``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from sphinx.errors import ExtensionError

REPORT = "reproducibility.md"
SUMMARY = re.compile(r"(\d+) of (\d+) checks passed")


@dataclass(frozen=True)
class Check:
    status: str
    name: str
    measured: str
    criterion: str


def parse_line(line: str) -> Check | None:
    """Split one printed check line; ``None`` if the line is not one."""
    status, sep, rest = line.strip().partition(" | ")
    if status not in ("PASS", "FAIL") or not sep or " | measured " not in rest:
        return None
    name, tail = rest.rsplit(" | measured ", 1)
    measured, _, criterion = tail.partition(" | ")
    return Check(status, name, measured, criterion)


def chapter_checks(path: Path) -> tuple[str, list[Check]]:
    """Title and check lines of one executed notebook (stream outputs and failed-cell error messages).

    The title is the first Markdown heading (the chapter's set-up cell, a code cell, comes before it). A summary line
    printed by ``checks.summary()`` ("N of N checks passed") must count the check lines printed before it.
    """
    nb = json.loads(path.read_text(encoding="utf-8"))
    title = path.stem
    checks = []
    for cell in nb["cells"]:
        source = "".join(cell.get("source", []))
        if cell["cell_type"] == "markdown" and title == path.stem and source.startswith("# "):
            title = source.splitlines()[0][2:].strip()
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", [])) if output.get("output_type") == "stream" else output.get("evalue", "")
            for line in text.splitlines():
                if (check := parse_line(line)) is not None:
                    checks.append(check)
                elif (summary := SUMMARY.fullmatch(line.strip())) and summary.group(2) != str(len(checks)):
                    raise ExtensionError(f"reproducibility report: {path.name} says {line.strip()!r} after "
                                         f"{len(checks)} check lines")
    return title, checks


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


def render(chapters: list[tuple[str, str, list[Check]]]) -> str:
    total = sum(len(c) for _, _, c in chapters)
    passed = sum(ch.status == "PASS" for _, _, c in chapters for ch in c)
    lines = ["# Reproducibility report", "",
             "Every quantitative claim of the book is asserted in the **Checks** section of its chapter. This page is "
             "generated when the book is built, from the outputs of the executed chapters that CI re-runs with nbval "
             "(`_ext/reproducibility_report.py`). It is not typed by hand, and the build fails if a chapter has no "
             "checks or a check has failed.", "",
             f"**{passed} of {total} checks pass across {len(chapters)} chapters** at `SCALE = \"book\"`.", "",
             "| chapter | checks | passed |", "| --- | --- | --- |"]
    for stem, title, checks in chapters:
        lines.append(f"| [{_cell(title)}](chapters/{stem}.ipynb) | {len(checks)} | "
                     f"{sum(c.status == 'PASS' for c in checks)} |")
    for stem, title, checks in chapters:
        lines += ["", f"## {title}", "", f"From [the chapter's checks](chapters/{stem}.ipynb).", "",
                  "| # | check | measured | criterion | status |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {i} | {_cell(c.name)} | {_cell(c.measured)} | {_cell(c.criterion)} | {c.status} |"
                  for i, c in enumerate(checks, 1)]
    return "\n".join(lines) + "\n"


def write_report(srcdir: Path) -> list[tuple[str, str, list[Check]]]:
    chapters = []
    for path in sorted((srcdir / "chapters").glob("*.ipynb")):
        title, checks = chapter_checks(path)
        if not checks:
            raise ExtensionError(f"reproducibility report: {path.name} has no check lines; run `make execute`")
        failed = [c.name for c in checks if c.status == "FAIL"]
        if failed:
            raise ExtensionError(f"reproducibility report: {path.name} has failing checks: {failed}")
        chapters.append((path.stem, title, checks))
    text = render(chapters)
    target = srcdir / REPORT
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return chapters


def setup(app):
    write_report(Path(app.srcdir))   # before Sphinx looks for source files, so the page is part of this build
    return {"parallel_read_safe": True, "parallel_write_safe": True}
