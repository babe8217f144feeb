"""Input checks shared by every public function: clear errors that name the argument."""
from __future__ import annotations

import numbers

import numpy as np


def as_float_array(value, name: str) -> np.ndarray:
    """Return ``value`` as a float64 array, raising if it is not numeric or not finite."""
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number or array of real numbers, got {type(value).__name__}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got non-finite values")
    return arr


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


def depth(value, name: str = "depth") -> int:
    """Return a depth (number of weight matrices) after checking it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer number of weight matrices (>= 1), got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1 (it counts weight matrices; the paper's N_l is depth + 1), got {value}")
    return int(value)


def count(value, name: str, minimum: int = 1) -> int:
    """Return an integer count after checking it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def generator(seed) -> np.random.Generator:
    """Return a NumPy generator from an int seed, ``None`` or an existing generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an int, None or a numpy.random.Generator, got {seed!r}")
    return np.random.default_rng(seed)
