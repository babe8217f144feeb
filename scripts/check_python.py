"""Fail early, with a clear message, when the interpreter is too old for the pinned requirements."""
import sys

if sys.version_info < (3, 11):
    sys.exit(f"dlnlib needs Python 3.11 or newer; {sys.executable} is {sys.version.split()[0]}. "
             "Run e.g. `make PYTHON=python3.11 test`.")
