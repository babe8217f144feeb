"""First-passage times, delays and the Checks helpers."""
import numpy as np
import pytest

from dlnlib import checks, measure, seed_everything


def test_first_passage_time_interpolates_and_marks_never():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    x = np.array([[0.0, 0.2, 0.6, 1.0], [0.0, 0.1, 0.2, 0.3], [0.9, 1.0, 1.0, 1.0]])
    out = measure.first_passage_time(t, x, 0.5)
    np.testing.assert_allclose(out, [1.75, np.inf, 0.0])
    np.testing.assert_allclose(measure.first_passage_time(t, x[:1], [[0.2, 0.8]]), [[1.0, 2.5]])


def test_first_passage_time_of_sigmoid_recovers_learning_time():
    from dlnlib import theory
    t = np.linspace(0, 20, 2001)
    u = theory.mode_trajectory(t, 2.0, 1e-3)
    assert measure.first_passage_time(t, u, 1.0) == pytest.approx(theory.learning_time(2.0, 1e-3, 1.0), rel=1e-4)


def test_relative_delay_sign():
    np.testing.assert_allclose(measure.relative_delay([11.0, 9.0], [10.0, 10.0]), [0.1, -0.1])


def test_checks_print_and_fail(capsys):
    checks.check_close("close", 1.00004, 1.0, rtol=1e-4)
    checks.check_below("noise", 3e-16, 1e-10, floor=1e-12)
    checks.check_between("range", 0.5, 0.0, 1.0)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "PASS | close | measured 1 | expected 1 within rel 0.0001"
    assert out[1] == "PASS | noise | measured < 1e-12 | < 1e-10"
    with pytest.raises(AssertionError, match=r"FAIL \| too big \| measured 2"):
        checks.check_below("too big", 2.0, 1.0)
    with pytest.raises(AssertionError, match="FAIL"):
        checks.check_close("nan", np.nan, 1.0, atol=1.0)
    with pytest.raises(ValueError, match="one number"):
        checks.check_above("vector", [1.0, 2.0], 0.0)
    assert checks.RESULTS[-1].passed is False


def test_seed_everything_is_reproducible():
    a = seed_everything(3).standard_normal(3)
    b = seed_everything(3).standard_normal(3)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        seed_everything(-1)


def test_summary_counts_this_kernels_checks_and_refuses_failures(capsys, monkeypatch):
    monkeypatch.setattr(checks, "RESULTS", [])
    with pytest.raises(AssertionError, match="no checks were run"):
        checks.summary()
    checks.check_above("a", 2.0, 1.0)
    checks.check_true("b", True, "yes")
    capsys.readouterr()
    assert checks.summary() == "2 of 2 checks passed"
    assert capsys.readouterr().out == "2 of 2 checks passed\n"
    with pytest.raises(AssertionError):
        checks.check_below("c", 2.0, 1.0)
    with pytest.raises(AssertionError, match="2 of 3 checks passed.*failed: c"):
        checks.summary()
