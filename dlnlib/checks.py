r"""Assertions for a chapter's **Checks** section.

Each check prints one line, ``PASS | name | measured ... | criterion``, and raises ``AssertionError`` (with the same
line, marked ``FAIL``) when the claim does not hold. Measured values are printed rounded to ``digits`` significant
figures, and values below ``floor`` as ``< floor``, so that the printed text is the same on any x86-64 machine
(nbval compares it). Every check is also kept in :data:`RESULTS` for the reproducibility report.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validation as v

__all__ = ["CheckResult", "RESULTS", "check_close", "check_below", "check_above", "check_between", "check_true",
           "summary"]


@dataclass(frozen=True)
class CheckResult:
    """One asserted claim: its name, the measured value as printed, the criterion, and whether it held."""

    name: str
    measured: str
    criterion: str
    passed: bool

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} | {self.name} | measured {self.measured} | {self.criterion}"


#: Every check run so far in this process, in order (read by :func:`summary`).
RESULTS: list[CheckResult] = []


def _fmt(x: float, digits: int, floor: float | None) -> str:
    if not np.isfinite(x):
        return str(x)
    if floor is not None and abs(x) < floor:
        return f"< {floor:g}"
    return f"{x:.{digits}g}"


def _scalar(measured, name: str, digits: int) -> float:
    """The measured value as a float (NaN and infinities allowed: the check then fails), after checking the name and
    the number of digits."""
    v.text(name, "name")
    v.count(digits, "digits")
    arr = v.as_float_array(measured, f"measured (check {name!r})", finite=False)
    if arr.size != 1:
        raise ValueError(f"check {name!r}: measured must be one number, got shape {arr.shape}; reduce it first")
    return float(arr.reshape(()))


def _report(name: str, measured: str, criterion: str, passed: bool) -> None:
    result = CheckResult(name, measured, criterion, bool(passed))
    RESULTS.append(result)
    if not result.passed:
        raise AssertionError(result.line())
    print(result.line())


def check_close(name: str, measured, expected: float, rtol: float | None = None, atol: float | None = None,
                digits: int = 4) -> None:
    """Assert ``|measured - expected| <= atol + rtol * |expected|`` (give at least one tolerance)."""
    if rtol is None and atol is None:
        raise ValueError("check_close needs rtol or atol")
    x = _scalar(measured, name, digits)
    expected = v.real_scalar(expected, "expected")
    rtol = None if rtol is None else v.nonnegative_scalar(rtol, "rtol")
    atol = None if atol is None else v.nonnegative_scalar(atol, "atol")
    tol = (atol or 0.0) + (rtol or 0.0) * abs(expected)
    parts = ([f"rel {rtol:g}"] if rtol is not None else []) + ([f"abs {atol:g}"] if atol is not None else [])
    _report(name, _fmt(x, digits, None), f"expected {expected:.{digits}g} within {' + '.join(parts)}",
                   np.isfinite(x) and abs(x - expected) <= tol)


def check_below(name: str, measured, bound: float, digits: int = 2, floor: float | None = None) -> None:
    """Assert ``measured < bound``; values below ``floor`` print as ``< floor`` (round-off noise)."""
    x = _scalar(measured, name, digits)
    bound = v.real_scalar(bound, "bound")
    floor = None if floor is None else v.positive_scalar(floor, "floor")
    _report(name, _fmt(x, digits, floor), f"< {bound:g}", np.isfinite(x) and x < bound)


def check_above(name: str, measured, bound: float, digits: int = 3) -> None:
    """Assert ``measured > bound``."""
    x = _scalar(measured, name, digits)
    bound = v.real_scalar(bound, "bound")
    _report(name, _fmt(x, digits, None), f"> {bound:g}", np.isfinite(x) and x > bound)


def check_between(name: str, measured, low: float, high: float, digits: int = 3) -> None:
    """Assert ``low <= measured <= high``."""
    x = _scalar(measured, name, digits)
    low, high = v.real_scalar(low, "low"), v.real_scalar(high, "high")
    if low > high:
        raise ValueError(f"low must be <= high, got low = {low:g} and high = {high:g}")
    _report(name, _fmt(x, digits, None), f"in [{low:g}, {high:g}]", np.isfinite(x) and low <= x <= high)


def check_true(name: str, condition: bool, description: str) -> None:
    """Assert a yes/no claim (``condition`` a boolean, never a number: NaN would count as true); ``description``
    states what was required."""
    v.text(name, "name")
    v.text(description, "description")
    condition = v.flag(condition, "condition")
    _report(name, "yes" if condition else "no", description, condition)


def summary() -> str:
    """Print and return one line counting the checks run so far in this kernel, e.g. ``"31 of 31 checks passed"``.

    A chapter ends its **Checks** section with this call, in a cell of its own, so that the page shows this line while
    the cells with the individual check lines are collapsed (tag ``hide-output``). A failed check has already raised, so
    the line can only report a shortfall if a check was caught; it never says "passed" for a failure.
    """
    passed = sum(r.passed for r in RESULTS)
    line = f"{passed} of {len(RESULTS)} checks passed"
    if passed != len(RESULTS) or not RESULTS:
        raise AssertionError(f"{line}: " + ("no checks were run" if not RESULTS else
                             "failed: " + "; ".join(r.name for r in RESULTS if not r.passed)))
    print(line)
    return line
