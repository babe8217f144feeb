"""Serve MathJax 3 from the built book instead of a CDN, so that math renders offline.

The pinned PyPI package ``django-static-mathjax`` ships MathJax 3.2.2. At the end of an HTML build this extension
copies its single-file ``tex-chtml-full.js`` (every TeX extension included, so nothing is loaded on demand) and the
CHTML web fonts into ``_build/html/_static/mathjax/``; ``_config.yml`` sets ``mathjax_path`` to that file.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.errors import ExtensionError


def _source() -> Path:
    try:
        import mathjax
    except ImportError as exc:   # pragma: no cover - the pinned requirements install it
        raise ExtensionError("offline MathJax needs the 'django-static-mathjax' package (requirements.txt)") from exc
    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source, target = _source(), Path(app.outdir) / "_static" / "mathjax"
    fonts = Path("output") / "chtml" / "fonts" / "woff-v2"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "tex-chtml-full.js", target / "tex-chtml-full.js")
    shutil.copytree(source / fonts, target / fonts, dirs_exist_ok=True)


def setup(app):
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
