"""Work around an upstream defect that the browser test caught as a console error.

Some extensions register their inline scripts twice (sphinx-thebe's configuration among them), so every page
declared ``const THEBE_JS_URL`` twice and the browser stopped with "Identifier 'THEBE_JS_URL' has already been
declared". This extension drops scripts with the same file and attributes from each page's script list, whatever
their priorities.
"""
from __future__ import annotations


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


def setup(app):
    app.connect("html-page-context", drop_duplicate_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
