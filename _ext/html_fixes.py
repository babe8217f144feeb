"""Work around two upstream defects that the browser test caught as console errors.

Some extensions register their inline scripts twice (sphinx-thebe's configuration among them), so every page
declared ``const THEBE_JS_URL`` twice and the browser stopped with "Identifier 'THEBE_JS_URL' has already been
declared". This extension drops scripts with the same file and attributes from each page's script list, whatever
their priorities.

The ``index.html`` that sphinx-external-toc writes is a bare ``<meta http-equiv="Refresh">`` line with no icon link,
so a browser that opens it asks the server for ``/favicon.ico`` and, depending on how fast the redirect is, logs a
404 (a real icon link is no better: the redirect aborts its request). ``write_index_redirect`` writes a complete
redirect page first, with an empty ``data:`` icon that needs no request (sphinx-external-toc leaves an existing
index.html alone).
"""
from __future__ import annotations

from pathlib import Path


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = (getattr(script, "filename", str(script)) or "",   # inline scripts: None or ""
               tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"][:] = unique


REDIRECT_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta http-equiv="Refresh" content="0; url={target}" />
<link rel="icon" href="data:," />
<title>{title}</title>
</head>
<body><p><a href="{target}">{title}</a></p></body>
</html>
"""


def write_index_redirect(app, exception) -> None:
    if exception is not None or "html" not in app.builder.format or app.config.root_doc == "index":
        return
    page = REDIRECT_PAGE.format(target=app.builder.get_target_uri(app.config.root_doc),
                                title=app.config.html_title or app.config.project)
    (Path(app.outdir) / "index.html").write_text(page, encoding="utf-8")


def setup(app):
    app.connect("html-page-context", drop_duplicate_scripts, priority=999)
    app.connect("build-finished", write_index_redirect, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
