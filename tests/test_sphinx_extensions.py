"""The book's API reference (_ext/api_reference.py) and repository links (_ext/repository_links.py), in a small build."""
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
import api_reference  # noqa: E402

OBJECTS = {"dlnlib.theory", "dlnlib.theory.learning_time", "dlnlib.train.RateScan", "dlnlib.train.RateScan.from_modes",
           "dlnlib.checks.summary"}


@pytest.mark.parametrize("text, target", [
    ("theory.learning_time", "dlnlib.theory.learning_time"),
    ("dlnlib.theory.learning_time", "dlnlib.theory.learning_time"),
    ("theory.learning_time(s, u0, uf, depth)", "dlnlib.theory.learning_time"),
    ("train.RateScan.from_modes", "dlnlib.train.RateScan.from_modes"),
    ("checks.summary()", "dlnlib.checks.summary"),
    ("dlnlib.theory", "dlnlib.theory"),
    ("theory", None),                       # a bare word is too ambiguous to link
    ("task.sigma11", None),                 # an attribute of a reader's variable, not a dlnlib object
    ("theory.learning_time + 1", None),
    ("np.linalg.svd", None),
    ("os.path", None),
])
def test_api_target(text, target):
    assert api_reference.api_target(text, OBJECTS) == target


def test_public_modules_follow_the_package_docstring_then_the_rest():
    modules = api_reference.public_modules()
    assert modules[0] == "theory" and "reproducibility" in modules and "landscape" in modules
    assert not [m for m in modules if m.startswith("_")]
    import dlnlib
    assert set(dlnlib.__all__) - {"seed_everything"} <= set(modules)


def test_a_build_links_names_to_the_api_page_and_the_repository(tmp_path):
    from sphinx.cmd.build import build_main
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / '_ext')!r})\n"
        "extensions = ['myst_parser', 'api_reference', 'repository_links']\n"
        "myst_enable_extensions = ['substitution']\n"
        "html_theme = 'sphinx_book_theme'\n"
        "html_theme_options = {'repository_url': 'https://github.com/someone/a-book', 'repository_branch': 'v2'}\n"
        "napoleon_google_docstring = False\nautodoc_typehints = 'none'\nnitpicky = True\n"
        "nitpick_ignore_regex = [('py:class', r'(?!dlnlib\\.).*')]\n")
    (src / "index.md").write_text(
        "# Test\n\n```{toctree}\napi\n```\n\n"
        "See `theory.learning_time`, `train.RateScan.from_modes`, `checks.summary()` and `task.sigma11`.\n\n"
        "```python\ntheory.learning_time(1, 2, 3)\n```\n\n"
        "The {repo}`results <benchmarks/RESULTS.md>`; install with {{ pip_install_dlnlib }}.\n")
    warnings = tmp_path / "warnings.txt"
    assert build_main(["-b", "html", "-q", "-n", "-w", str(warnings), str(src), str(out)]) == 0
    assert not warnings.read_text().strip(), warnings.read_text()
    assert (src / "api.md").exists(), "the API page is generated when the build starts"

    index = (out / "index.html").read_text()
    for name in ("dlnlib.theory.learning_time", "dlnlib.train.RateScan.from_modes", "dlnlib.checks.summary"):
        assert re.search(rf'<a class="[^"]*api-link[^"]*" href="api\.html#{re.escape(name)}"', index), name
    assert index.count("api-link") == 3, "task.sigma11 and the code block must stay unlinked"
    assert 'href="https://github.com/someone/a-book/blob/v2/benchmarks/RESULTS.md"' in index
    assert "git+https://github.com/someone/a-book@v2" in index.replace("&#64;", "@")
    api = (out / "api.html").read_text()
    assert 'id="dlnlib.theory.learning_time"' in api and 'id="dlnlib.train.RateScan.from_modes"' in api
