"""Input checks shared by every public function: clear errors that name the argument.

Every public function checks its arguments once, at its entry, with these helpers, so that bad input raises a
``TypeError`` (wrong kind of object: a string, a boolean, a complex number, a float where a count is needed) or a
``ValueError`` (right kind, wrong value: negative, non-finite, wrong shape) whose message names the argument, and no
input is ever silently converted into a different one. Training loops never call them per step.
"""
from __future__ import annotations

import numbers
import os

import numpy as np


def _describe(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{type(value).__name__} {text[:40]}..."


def is_integer(value) -> bool:
    """``True`` for Python and NumPy integers, ``False`` for booleans, floats (even 2.0) and strings."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def as_float_array(value, name: str, finite: bool = True) -> np.ndarray:
    """Return ``value`` as a float64 array of finite real numbers (``finite=False``: NaN and infinities allowed).

    Rejects, with a ``TypeError`` naming ``name``, what NumPy would silently convert: strings (``"1.5"``), booleans,
    complex numbers (whose imaginary part would be dropped), ``None`` and other objects; and, with a ``ValueError``,
    ragged nested lists and non-finite values. Torch tensors are moved to the CPU first.
    """
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise TypeError(f"{name} must be a real number or an array of real numbers, got {_describe(value)}")
    try:
        raw = np.asarray(value)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} must be a real number or a rectangular array of real numbers, got a ragged "
                         f"{type(value).__name__}") from exc
    kind = raw.dtype.kind
    if kind == "O" and all(isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)) for x in raw.flat):
        kind = "f"
    if kind not in "fiu":
        what = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "strings"}.get(kind, "non-numbers")
        raise TypeError(f"{name} must be a real number or an array of real numbers, got {what} "
                        f"({_describe(value)})")
    try:
        arr = raw.astype(np.float64, copy=False)
    except OverflowError:       # a Python integer beyond float64's range
        raise ValueError(f"{name} must be finite, got a number too large for float64") from None
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got non-finite values")
    return arr


def broadcastable(**arrays) -> tuple:
    """Return the common shape of the named arrays after checking that they broadcast together."""
    try:
        return np.broadcast_shapes(*(np.shape(a) for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{name} {np.shape(a)}" for name, a in arrays.items())
        raise ValueError(f"{', '.join(arrays)} must broadcast together, got shapes {shapes}") from None


def per_run(value: np.ndarray, runs: tuple, name: str) -> np.ndarray:
    """Return ``value`` broadcast to the run axes ``runs`` (a copy), after checking that it broadcasts (one value for
    all runs, or one per run)."""
    try:
        return np.broadcast_to(value, runs).copy()
    except ValueError:
        raise ValueError(f"{name} must be a scalar or broadcast to the run axes {runs}, got shape {np.shape(value)}") \
            from None


def real_scalar(value, name: str) -> float:
    """Return ``value`` as a float after checking it is one finite real number."""
    arr = as_float_array(value, name)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a single number, got shape {arr.shape}")
    return float(arr)


def positive(value, name: str) -> np.ndarray:
    """Return ``value`` as a float64 array after checking every element is finite and > 0."""
    arr = as_float_array(value, name)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got min {arr.min():g}")
    return arr


def positive_scalar(value, name: str) -> float:
    """Return ``value`` as a float after checking it is one finite number > 0."""
    arr = positive(value, name)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)


def nonnegative(value, name: str) -> np.ndarray:
    """Return ``value`` as a float64 array after checking every element is finite and >= 0 (e.g. a variance)."""
    arr = as_float_array(value, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got min {arr.min():g}")
    return arr


def nonnegative_scalar(value, name: str) -> float:
    """Return ``value`` as a float after checking it is one finite number >= 0."""
    arr = nonnegative(value, name)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a single number, got shape {arr.shape}")
    return float(arr)


def in_interval(value, name: str, low: float, high: float, closed: str = "both") -> float:
    """Return ``value`` as a float after checking it is one finite number in the interval from ``low`` to ``high``.

    ``closed`` says which ends belong to it: ``"both"``, ``"left"``, ``"right"`` or ``"neither"``.
    """
    x = real_scalar(value, name)
    above = x >= low if closed in ("both", "left") else x > low
    below = x <= high if closed in ("both", "right") else x < high
    if not (above and below):
        left = "[" if closed in ("both", "left") else "("
        right = "]" if closed in ("both", "right") else ")"
        raise ValueError(f"{name} must be in {left}{low:g}, {high:g}{right}, got {x:g}")
    return x


def array(value, name: str, ndim: int | None = None, shape: tuple | None = None, nonempty: bool = False) -> np.ndarray:
    """:func:`as_float_array` plus shape checks: ``ndim`` dimensions, an exact ``shape`` (``None`` entries are free),
    at least one element."""
    arr = as_float_array(value, name)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension{'s' if ndim != 1 else ''}, got shape {arr.shape}")
    if shape is not None and (arr.ndim != len(shape) or any(s is not None and a != s for a, s in zip(arr.shape, shape))):
        want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr


def one_per(value, name: str, n: int, of: str) -> np.ndarray:
    """:func:`as_float_array` of ``n`` values, one per ``of`` (e.g. "row of X"), named both in the error."""
    arr = as_float_array(value, name)
    if arr.shape != (n,):
        raise ValueError(f"{name} must hold one value per {of} ({n},), got shape {arr.shape}")
    return arr


def variance_profile(value, name: str = "profile", ndims: tuple = (1, 2)) -> np.ndarray:
    r"""Return a convolution kernel's variance profile :math:`v_\beta` after checking it is non-negative, sums to 1,
    and has an odd number of taps along each of its ``ndims`` allowed numbers of dimensions."""
    arr = nonnegative(value, name)
    if arr.ndim not in ndims or any(k % 2 == 0 for k in arr.shape):
        shapes = " or ".join(["(k,)", "(k, k)"][d - 1] for d in ndims)
        raise ValueError(f"{name} must have shape {shapes} with an odd number of taps k, got shape {arr.shape}")
    if abs(arr.sum() - 1.0) > 1e-12:
        raise ValueError(f"{name} must sum to 1, got {arr.sum():g}")
    return arr


def depth(value, name: str = "depth") -> int:
    """Return a depth (number of weight matrices) after checking it is an integer >= 1."""
    if not is_integer(value):
        raise TypeError(f"{name} must be an integer number of weight matrices (>= 1), got {_describe(value)}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1 (it counts weight matrices; the paper's N_l is depth + 1), got {value}")
    return int(value)


def count(value, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """Return an integer count after checking it is an integer (Python or NumPy, not ``bool``, not ``2.0``) in
    ``[minimum, maximum]``."""
    if not is_integer(value):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return int(value)


def odd_count(value, name: str) -> int:
    """Return an odd integer >= 1 (a kernel size with a centre tap)."""
    value = count(value, name)
    if value % 2 == 0:
        raise ValueError(f"{name} must be odd (a centre tap), got {value}")
    return value


def optional_count(value, name: str, minimum: int = 1, maximum: int | None = None) -> int | None:
    """:func:`count`, or ``None`` passed through."""
    return None if value is None else count(value, name, minimum, maximum)


def integer_array(value, name: str, minimum: int | None = None, maximum: int | None = None) -> np.ndarray:
    """Return ``value`` as an int64 array after checking its entries are whole numbers in ``[minimum, maximum]``.

    Integer-valued floats (``2.0``) are accepted; fractions (``1.5``), booleans and strings are not.
    """
    what = "non-negative integers" if minimum == 0 else "integers"
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    raw = None if isinstance(value, (str, bytes)) else np.asarray(value)
    if raw is None or (raw.dtype.kind not in "iuf" and not (raw.dtype.kind == "O" and all(map(is_integer, raw.flat)))):
        raise TypeError(f"{name} must be {what}, got {_describe(value)}")
    if raw.dtype.kind == "f" and (not np.all(np.isfinite(raw)) or np.any(raw != np.round(raw))):
        raise ValueError(f"{name} must be {what} (whole numbers), got {_describe(value)}")
    out = raw.astype(np.int64)
    if minimum is not None and np.any(out < minimum):
        raise ValueError(f"{name} must be {what}" + ("" if minimum == 0 else f" >= {minimum}") + f", got min {out.min()}")
    if maximum is not None and np.any(out > maximum):
        raise ValueError(f"{name} must be <= {maximum}, got max {out.max()}")
    return out


def labelled_samples(X, y, name_X: str, name_y: str, sample_shape: tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return samples ``X`` ``(P, ...)`` (float64) and class labels ``y`` ``(P,)`` (int64) after checking that
    there is at least one sample, one label per sample, labels are whole numbers >= 0, and (if given) every sample has
    ``sample_shape``."""
    X = as_float_array(X, name_X)
    y = integer_array(y, name_y, minimum=0)
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"{name_X} must hold at least one sample, shape (P >= 1, ...), got {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"{name_y} must hold one label per sample of {name_X} ({X.shape[0]},), got shape {y.shape}")
    if sample_shape is not None and X.shape[1:] != tuple(sample_shape):
        raise ValueError(f"{name_X} must have samples of shape {tuple(sample_shape)}, got {X.shape[1:]}")
    return X, y


def flag(value, name: str) -> bool:
    """Return ``value`` after checking it is a boolean (``True``/``False``, NumPy's included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_describe(value)}")
    return bool(value)


def choice(value, name: str, options) -> str:
    """Return ``value`` after checking it is one of the strings ``options``."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {_describe(value)}")
    return value


def function(value, name: str):
    """Return ``value`` after checking it can be called."""
    if not callable(value):
        raise TypeError(f"{name} must be a callable, got {_describe(value)}")
    return value


def text(value, name: str) -> str:
    """Return ``value`` after checking it is a string."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {_describe(value)}")
    return value


def path(value, name: str = "path"):
    """Return ``value`` after checking it is a file name (``str`` or ``os.PathLike``)."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file or folder name (str or pathlib.Path), got {_describe(value)}")
    return value


def task(value, name: str = "task"):
    """Return ``value`` after checking it has a task's statistics (``sigma11``, ``sigma31``, ``sigma33_trace``)."""
    if not all(hasattr(value, a) for a in ("sigma11", "sigma31", "sigma33_trace", "svd")):
        raise TypeError(f"{name} must be a dlnlib.tasks.Task, got {_describe(value)}")
    return value


def chain_widths(shapes, name: str = "weights", n_in: int | None = None, n_out: int | None = None) -> list[int]:
    """Check that matrices of these shapes compose as ``[W_1, ..., W_D]`` (``W_l`` ``(..., n_{l+1}, n_l)``, the
    same leading run axes on all) and return the widths ``[n_in, n_1, ..., n_out]``."""
    for l, shape in enumerate(shapes):
        if len(shape) < 2:
            raise ValueError(f"{name}[{l}] must be at least 2-D, got shape {shape}")
        if shape[:-2] != shapes[0][:-2]:
            raise ValueError(f"{name}[{l}] has run axes {shape[:-2]}, {name}[0] has {shapes[0][:-2]}")
        if l > 0 and shape[-1] != shapes[l - 1][-2]:
            raise ValueError(f"{name}[{l}] expects {shape[-1]} inputs but {name}[{l - 1}] has {shapes[l - 1][-2]} outputs")
    widths = [shapes[0][-1]] + [shape[-2] for shape in shapes]
    if n_in is not None and widths[0] != n_in:
        raise ValueError(f"{name}[0] must take {n_in} inputs (n_in), takes {widths[0]}")
    if n_out is not None and widths[-1] != n_out:
        raise ValueError(f"{name}[-1] must give {n_out} outputs (n_out), gives {widths[-1]}")
    return widths


def sequence(value, name: str, what: str = "items", arrays: bool = False, empty: bool = False) -> list:
    """Return ``value`` as a list after checking it is a non-empty (``empty=True``: possibly empty) list, tuple or
    other iterable of ``what``.

    Arrays and tensors are refused (a stack of matrices is easily confused with one matrix with a run axis) unless
    ``arrays=True``, which splits them along their first axis; strings always are.
    """
    is_array = isinstance(value, np.ndarray) or hasattr(value, "detach")
    if isinstance(value, (str, bytes, dict)) or (is_array and (not arrays or value.ndim == 0)) \
            or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a non-empty list of {what}, got {_describe(value)}")
    items = list(value)
    if not items and not empty:
        raise ValueError(f"{name} must be a non-empty list of {what}, got an empty one")
    return items


def chain(weights, name: str = "weights", n_in: int | None = None, n_out: int | None = None,
          runs: bool = True) -> list[np.ndarray]:
    """Return a chain of weight matrices ``[W_1, ..., W_D]`` as float64 arrays after checking every matrix (finite,
    real) and that they compose (:func:`chain_widths`); ``runs=False`` forbids leading run axes."""
    ws = [as_float_array(w, f"{name}[{l}]") for l, w in enumerate(sequence(weights, name, "weight matrices"))]
    chain_widths([w.shape for w in ws], name, n_in, n_out)
    if not runs and ws[0].ndim != 2:
        raise ValueError(f"{name} must be matrices without a run axis, got {name}[0] of shape {ws[0].shape}")
    return ws


def generator(seed, name: str = "seed") -> np.random.Generator:
    """Return a NumPy generator from a non-negative integer seed, ``None`` or an existing generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not is_integer(seed):
        raise TypeError(f"{name} must be an int, None or a numpy.random.Generator, got {_describe(seed)}")
    if seed is not None and seed < 0:
        raise ValueError(f"{name} must be >= 0, got {seed}")
    return np.random.default_rng(seed)


def seed(value, name: str = "seed") -> int | None:
    """Return a seed for a torch generator after checking it is ``None`` or an integer >= 0 (not ``bool``)."""
    if value is not None and not is_integer(value):
        raise TypeError(f"{name} must be an int or None, got {_describe(value)}")
    if value is not None and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return None if value is None else int(value)


def device(value, name: str = "device"):
    """Return ``value`` as a ``torch.device`` after checking that this machine has it (a GPU for ``"cuda"``)."""
    import torch

    if not isinstance(value, (str, torch.device)):
        raise TypeError(f"{name} must be a device name such as 'cpu' or 'cuda', or a torch.device, got "
                        f"{_describe(value)}")
    try:
        dev = torch.device(value)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"{name} must be a device name such as 'cpu', 'cuda' or 'cuda:0', got {value!r}") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name}={value!r} asks for a CUDA GPU, but torch finds none on this machine "
                             "(torch.cuda.is_available() is False); use device='cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"{name}={value!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name}={value!r} asks for Apple's MPS backend, which is not available here")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{name} must be 'cpu', 'cuda' or 'mps', got {value!r}")
    return dev
