"""dlnlib's docstrings render on the API page: no stray control characters, LaTeX in raw strings."""
import ast
import inspect
import re
from pathlib import Path

import dlnlib

ROOT = Path(__file__).resolve().parents[1]
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")     # "\t" in "\tfrac", "\a" in "\alpha", "\b" in "\beta", ...


def _public_objects():
    for module_name in dlnlib.__all__:
        module = getattr(dlnlib, module_name)
        yield module_name, module
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            yield f"{module_name}.{name}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if not attr.startswith("_") and getattr(member, "__doc__", None):
                        yield f"{module_name}.{name}.{attr}", member


def test_docstrings_have_no_control_characters():
    bad = [name for name, obj in _public_objects() if CONTROL.search(inspect.getdoc(obj) or "")]
    assert not bad, f"docstrings with control characters (a LaTeX backslash in a non-raw string?): {bad}"


def test_docstrings_with_backslashes_are_raw_strings():
    bad = []
    for path in sorted((ROOT / "dlnlib").glob("*.py")):
        source = path.read_text()
        tree = ast.parse(source)
        for node in [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]:
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                literal = ast.get_source_segment(source, first.value)
                if "\\" in literal and "r" not in literal[:literal.index(literal.lstrip("rRuUbBfF")[0])].lower():
                    bad.append(f"{path.name}:{first.lineno}")
    assert not bad, f"write these docstrings as r\"\"\"...\"\"\" (they contain backslashes): {bad}"
