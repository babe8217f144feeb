"""The book's API reference: a page generated from dlnlib's docstrings, and links to it from the prose.

When the build starts, this extension writes ``api.md`` (git-ignored, never edited by hand): one section per public
module of ``dlnlib``, each an ``automodule`` with its members, rendered by Sphinx autodoc with napoleon's NumPy
docstring style. A module added to ``dlnlib`` appears without any change here. Modules are listed in the order the
package docstring names them, then any others alphabetically.

While each page is written, every inline code literal of the prose that names a documented ``dlnlib`` object, such as
``theory.learning_time``, ``train.RateScan.from_modes``, ``checks.summary()`` or ``dlnlib.networks.end_to_end``,
becomes a link to its entry on the API page (:func:`api_target` says which). Code cells and literals that name
nothing in ``dlnlib`` (``task.sigma11``) are left alone. The chapters need no markup for this.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from docutils import nodes

PAGE = "api"
PACKAGE = "dlnlib"
_NAME = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\(.*\))?", re.S)


def public_modules() -> list[str]:
    """Public submodules of dlnlib: those its docstring names first, in that order, then the rest alphabetically."""
    package = importlib.import_module(PACKAGE)
    found = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))
    named = [m for m in dict.fromkeys(re.findall(rf"{PACKAGE}\.(\w+)", package.__doc__ or "")) if m in found]
    return named + [m for m in found if m not in named]


def render() -> str:
    lines = ["# API reference", "",
             f"Every public function and class of `{PACKAGE}`, the library behind the chapters, generated from its "
             "docstrings when the book is built. Each entry gives the equation it implements and the paper it comes "
             "from; the conventions for depth, time and the input-output statistics are stated once, in "
             f"`{PACKAGE}.theory`. Install the library with `pip install .` from a clone of the repository.", "",
             "```{eval-rst}", f".. automodule:: {PACKAGE}", "```", ""]
    for module in public_modules():
        lines += [f"## `{PACKAGE}.{module}`", "", "```{eval-rst}", f".. automodule:: {PACKAGE}.{module}",
                  "   :members:", "```", ""]
    return "\n".join(lines)


def write_page(srcdir: Path) -> None:
    text, target = render(), srcdir / f"{PAGE}.md"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


def api_target(text: str, objects) -> str | None:
    """The full name of the dlnlib object an inline literal names, or ``None``.

    ``text`` is a dotted name, with or without the package prefix and with an optional call suffix: ``theory.mode_
    trajectory``, ``dlnlib.train.RateScan.from_modes``, ``checks.summary()``, ``theory.learning_time(s, u0, uf)``.
    ``objects`` is the set (or mapping) of documented full names.
    """
    match = _NAME.fullmatch(text.strip())
    if match is None:
        return None
    name = match.group(1)
    for full in (name, f"{PACKAGE}.{name}"):
        if full.startswith(f"{PACKAGE}.") and full in objects:
            return full
    return None


def link_literals(app, doctree, docname: str) -> None:
    domain = app.env.get_domain("py")
    objects = {name: entry for name, entry in domain.objects.items() if name.startswith(f"{PACKAGE}.")}
    if not objects:
        return
    for literal in list(doctree.findall(nodes.literal)):
        if any(isinstance(a, (nodes.reference, nodes.literal_block, nodes.FixedTextElement)) for a in _ancestors(literal)):
            continue
        full = api_target(literal.astext(), objects)
        if full is None:
            continue
        entry = objects[full]
        uri = app.builder.get_relative_uri(docname, entry.docname) + "#" + entry.node_id
        reference = nodes.reference("", "", internal=True, refuri=uri, reftitle=full, classes=["api-link"])
        literal.replace_self(reference)
        reference += literal


def _ancestors(node):
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.napoleon")
    write_page(Path(app.srcdir))     # before Sphinx looks for source files, so the page is part of this build
    app.connect("doctree-resolved", link_literals)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
