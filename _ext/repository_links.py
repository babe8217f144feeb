"""Links into the book's repository that follow ``repository.url`` and ``repository.branch`` of ``_config.yml``.

Jupyter Book passes those two settings to the theme (``html_theme_options``), which builds the launch, repository and
issue buttons from them. This extension gives the pages the same source, so that no page spells the URL out: the role
``{repo}`path``` links to a file of the repository at that branch (``{repo}`benchmark results <benchmarks/RESULTS.md>```),
the substitution ``{{ repository_url }}`` gives the URL itself, and ``{{ pip_install_dlnlib }}`` the command that
installs dlnlib from it.
"""
from __future__ import annotations

from sphinx.errors import ExtensionError


def repository(config) -> tuple[str, str]:
    options = config.html_theme_options or {}
    url = str(options.get("repository_url") or "").rstrip("/")
    if not url.startswith("https://"):
        raise ExtensionError("repository_links: set repository.url in _config.yml to the book's https URL")
    return url, str(options.get("repository_branch") or "main")


def add_links(app, config) -> None:
    url, branch = repository(config)
    config.extlinks = {**(config.extlinks or {}), "repo": (f"{url}/blob/{branch}/%s", "%s")}
    config.myst_substitutions = {**(getattr(config, "myst_substitutions", None) or {}), "repository_url": url,
                                 "pip_install_dlnlib": f'`pip install "dlnlib[notebooks] @ git+{url}@{branch}"`'}


def setup(app):
    app.setup_extension("sphinx.ext.extlinks")
    app.connect("config-inited", add_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
