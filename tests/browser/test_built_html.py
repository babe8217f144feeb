"""The built book in a real browser: headless Chromium driven by Playwright over a local HTTP server.

Run by ``make test-browser`` after ``make test-book`` has built ``_build/html`` (and ``scripts/install_browser.sh``
has made sure a Chromium exists). Every page must load without console errors or failed requests, render its math
with the offline MathJax, load every image, and link only to pages and anchors that exist; chapter pages must carry
the launch and download buttons, and their checks collapsed under a visible one-line summary. The "About this book"
pages and the API reference are there, inline names such as `networks.mode_strengths` link to the API page, every
page carries the licence footer, and figures stay legible in the theme's dark mode. Screenshots, in light and dark
mode, are saved under ``_build/screenshots/``.
"""
from __future__ import annotations

import functools
import io
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
import yaml
from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
PAGES = sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
               if not p.relative_to(HTML).as_posix().startswith(("_static/", "_sources/", "_images/")))
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]
ABOUT = ["license.html", "citing.html", "CONTRIBUTING.html", "api.html"]
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
SUMMARY = re.compile(r"^\s*(\d+) of (\d+) checks passed\s*$")
FIGURE_CHAPTER = "chapters/06_nonlinear_isometry.html"
# Flags for a closed network (Chromium otherwise keeps trying Google's services) and for running as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _browser_executable() -> str:
    for exe in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/google-chrome",
                "/usr/bin/google-chrome-stable", shutil.which("chromium")):
        if exe and os.access(exe, os.X_OK):
            return exe
    pytest.fail("no Chromium found: run scripts/install_browser.sh (make test-browser does) or set CHROMIUM=/path")


class _QuietHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"          # keep-alive: a page's dozens of assets reuse a few connections

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 128               # the default backlog of 5 can refuse a burst of parallel requests
    daemon_threads = True


@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").exists():
        pytest.fail("no built book in _build/html: run `make test-book` (or `make book`) first")
    server = _Server(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_browser_executable(), headless=True, args=CHROMIUM_ARGS)
        yield base, browser
        browser.close()
    server.shutdown()


def _visit(site, page_path: str, color_scheme: str = "light"):
    """Open one page; return the Playwright page and the problems seen while loading it."""
    base, browser = site
    page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme=color_scheme)
    problems = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url} ({req.failure})"))
    page.on("response", lambda res: problems.append(f"HTTP {res.status}: {res.url}") if res.status >= 400 else None)
    page.goto(base + page_path, wait_until="load")
    redirect = re.search(r'http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"',
                         (HTML / page_path).read_text(encoding="utf-8"), re.IGNORECASE)
    if redirect:                                          # index.html redirects to intro.html
        page.wait_for_url(urljoin(base + page_path, redirect.group(1)), wait_until="load")
    if page.locator('script[src*="mathjax"]').count():   # Sphinx adds MathJax only to pages with math
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20_000)
        page.evaluate("() => MathJax.startup.promise")
    return page, problems


def test_every_page_is_found():
    assert "index.html" in PAGES and "reproducibility.html" in PAGES and "notation.html" in PAGES
    assert set(ABOUT) <= set(PAGES), f"missing: {set(ABOUT) - set(PAGES)}"
    assert len(CHAPTERS) == len(list((ROOT / "chapters").glob("*.ipynb")))


def test_index_redirects_to_the_introduction(site):
    page, problems = _visit(site, "index.html")
    try:
        assert page.url.endswith("/intro.html") and not problems, (page.url, problems)
    finally:
        page.close()


@pytest.mark.parametrize("page_path", PAGES)
def test_page_loads_cleanly_with_math_and_images(site, page_path):
    page, problems = _visit(site, page_path)
    try:
        assert not problems, "\n".join(problems)
        math_sources = page.locator(".math").count()
        rendered = page.locator("mjx-container").count()
        assert rendered >= math_sources, f"{math_sources} math elements but {rendered} rendered by MathJax"
        if math_sources:
            assert page.locator('script[src*="_static/mathjax/"]').count() == 1, "MathJax not served from the build"
        assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
        broken = page.evaluate("() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
        assert not broken, f"images that did not load: {broken}"
        footer = page.locator(".extra_footer").inner_text()
        assert "MIT License" in footer and "CC BY 4.0" in footer, f"licence footer missing: {footer!r}"
        if page_path in ("index.html", FIGURE_CHAPTER):
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / (Path(page_path).stem + ".png")))
    finally:
        page.close()


def test_about_pages_state_the_licences_citation_and_how_to_contribute(site):
    page, _ = _visit(site, "license.html")
    try:
        text = page.locator("article").inner_text()
        assert "MIT License" in text and "Creative Commons Attribution 4.0 International" in text
        mit = page.locator("details", has_text="MIT License (code)")
        assert not page.get_by_text("Permission is hereby granted").is_visible()
        mit.locator("summary").click()
        assert page.get_by_text("Permission is hereby granted").is_visible(), "the MIT text does not expand"
    finally:
        page.close()
    page, _ = _visit(site, "citing.html")
    try:
        text = page.locator("article").inner_text()
        assert "cff-version: 1.2.0" in text and REPOSITORY in text
    finally:
        page.close()
    page, _ = _visit(site, "CONTRIBUTING.html")
    try:
        text = page.locator("article").inner_text()
        for needed in ("Report an error in a chapter", "make execute", "make test", "make test-portable"):
            assert needed in text, needed
    finally:
        page.close()


def test_api_reference_documents_dlnlib_and_the_text_links_to_it(site):
    page, _ = _visit(site, "api.html")
    try:
        assert page.locator("dl.py.function").count() >= 50
        entry = page.locator('[id="dlnlib.theory.learning_time"]')
        assert entry.count() == 1 and "learning_time" in entry.inner_text()
    finally:
        page.close()
    page, _ = _visit(site, "notation.html")
    try:
        link = page.locator('a.api-link[href$="api.html#dlnlib.networks.mode_strengths"]').first
        assert link.inner_text() == "networks.mode_strengths"
        link.click()
        page.wait_for_url(re.compile(r"api\.html#dlnlib\.networks\.mode_strengths$"))
    finally:
        page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_figures_are_legible_in_light_and_dark_mode(site, scheme):
    """The theme follows the reader's colour scheme; figures must keep their light, opaque background in both."""
    page, problems = _visit(site, FIGURE_CHAPTER, color_scheme=scheme)
    try:
        assert not problems, "\n".join(problems)
        assert page.evaluate("document.documentElement.dataset.theme") == scheme
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{Path(FIGURE_CHAPTER).stem}-{scheme}.png"), full_page=True)
        background = _luminance(page.screenshot(), corner=True)
        figure = page.locator("div.cell_output img").first
        figure.scroll_into_view_if_needed()
        shot = SHOTS / f"{Path(FIGURE_CHAPTER).stem}-figure-{scheme}.png"
        figure.screenshot(path=str(shot))
        median = _luminance(shot.read_bytes(), corner=False)
        assert median > 170, f"the figure renders dark (median {median:.0f}/255) in {scheme} mode"
        if scheme == "dark":
            assert background < 80, f"the page is not in dark mode (background {background:.0f}/255)"
    finally:
        page.close()


def test_figure_images_are_opaque():
    """A transparent PNG shows the page through it: black axes vanish on a dark page, in any viewer or theme."""
    images = sorted((HTML / "_images").glob("*.png"))
    assert images
    transparent = [p.name for p in images if Image.open(p).convert("RGBA").getextrema()[3][0] < 255]
    assert not transparent, f"figures with transparent pixels: {transparent[:10]}"


def _luminance(png: bytes, corner: bool) -> float:
    """Median luminance (0-255) of a PNG, or of its top-left 8 x 8 pixels."""
    image = Image.open(io.BytesIO(png)).convert("L")
    if corner:
        image = image.crop((0, 0, 8, 8))
    histogram, seen = image.histogram(), 0
    for value, count in enumerate(histogram):
        seen += count
        if 2 * seen >= sum(histogram):
            return float(value)
    return 255.0


@pytest.mark.parametrize("page_path", CHAPTERS)
def test_chapter_has_launch_and_download_buttons(site, page_path):
    page, _ = _visit(site, page_path)
    try:
        assert page.locator('a[href*="mybinder.org"]').count() >= 1, "no Binder launch button"
        assert page.locator('a[href*="colab.research.google.com"]').count() >= 1, "no Colab launch button"
        assert page.locator(".btn-download-source-button").count() >= 1, "no download button"
        assert page.locator("button.copybtn").count() >= 1, "no copy buttons on code cells"
    finally:
        page.close()


@pytest.mark.parametrize("page_path", CHAPTERS)
def test_checks_are_collapsed_under_a_one_line_summary(site, page_path):
    """The check cells are tagged hide-output: their PASS lines sit in a closed toggle, and the `checks.summary()` line
    below them ("N of N checks passed", N the number of check lines) is what the reader sees."""
    page, _ = _visit(site, page_path)
    try:
        outputs = page.locator("div.cell_output pre")
        summaries = outputs.filter(has_text=re.compile(r"\d+ of \d+ checks passed"))
        assert summaries.count() == 1, "expected one checks.summary() line"
        assert summaries.first.is_visible(), "the summary line must be visible"
        count = SUMMARY.match(summaries.first.inner_text())
        checks = outputs.filter(has_text="PASS | ")
        assert checks.count() >= 1, "no check lines on the page"
        lines = sum(checks.nth(i).text_content().count("PASS | ") for i in range(checks.count()))
        assert count and count.group(1) == count.group(2) == str(lines), (summaries.first.inner_text(), lines)
        for i in range(checks.count()):
            block = checks.nth(i)
            assert not block.is_visible(), f"check lines visible without opening a toggle: {block.text_content()[:80]}"
            assert block.evaluate("e => !!e.closest('details.hide') && !e.closest('details').open")
        first = checks.first.locator("xpath=ancestor::details[1]")
        first.locator("summary").first.click()
        assert checks.first.is_visible(), "opening the toggle must show the check lines"
    finally:
        page.close()


_IDS = {}


def _ids(path: Path) -> set[str]:
    if path not in _IDS:
        _IDS[path] = set(re.findall(r'\sid="([^"]+)"', path.read_text(encoding="utf-8")))
    return _IDS[path]


def test_every_internal_link_resolves():
    """Every relative link of every page points to an existing file, and every #fragment to an existing id."""
    missing = []
    for page_path in PAGES:
        text = (HTML / page_path).read_text(encoding="utf-8")
        for href in re.findall(r'<a\s[^>]*href="([^"]+)"', text):
            url = urljoin("http://book/" + page_path, href)
            parsed = urlparse(url)
            if parsed.netloc != "book":
                continue
            target = HTML / unquote(parsed.path.lstrip("/"))
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                missing.append(f"{page_path}: {href} (no file)")
            elif parsed.fragment and target.suffix == ".html" and unquote(parsed.fragment) not in _ids(target):
                missing.append(f"{page_path}: {href} (no id)")
    assert not missing, "\n".join(missing[:30])
