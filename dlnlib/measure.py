r"""Measurements on recorded trajectories: when a quantity first reaches a level, and delays against theory."""
from __future__ import annotations

import numpy as np

from . import _validation as v

__all__ = ["first_passage_time", "relative_delay", "representational_similarity"]


def first_passage_time(t, x, level):
    r"""First time each trajectory reaches ``level``, by linear interpolation between recorded points.

    Used for measured learning times, e.g. the half-learning time: the first :math:`t` with
    :math:`u_\alpha(t) \ge s_\alpha/2`.

    Parameters
    ----------
    t : array_like
        ``(T,)`` increasing recording times.
    x : array_like
        ``(..., T)`` trajectories (the time axis last).
    level : array_like
        Level(s), broadcast against ``x[..., 0]``.

    Returns
    -------
    numpy.ndarray
        ``x.shape[:-1]`` (broadcast with ``level``): the crossing times, ``t[0]`` where a trajectory starts at or above
        its level, and ``numpy.inf`` where it never reaches it within the record.
    """
    t = v.as_float_array(t, "t")
    x = v.as_float_array(x, "x")
    level = v.as_float_array(level, "level")
    if x.ndim == 0:
        raise ValueError("x must hold trajectories (..., T), got a single number")
    if t.ndim != 1 or t.size == 0 or x.shape[-1] != t.size or np.any(np.diff(t) <= 0):
        raise ValueError(f"t must be increasing with one entry per sample of x's last axis ({x.shape[-1]}), got {t.shape}")
    try:
        np.broadcast_shapes(x.shape[:-1], level.shape)
    except ValueError:
        raise ValueError(f"level must broadcast against x[..., 0] of shape {x.shape[:-1]}, got {level.shape}") from None
    x, level = np.broadcast_arrays(x, level[..., None])
    reached = x >= level
    idx = np.argmax(reached, axis=-1)
    found = reached.any(axis=-1)
    prev = np.maximum(idx - 1, 0)
    x_hi = np.take_along_axis(x, idx[..., None], -1)[..., 0]
    x_lo = np.take_along_axis(x, prev[..., None], -1)[..., 0]
    lvl = level[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(idx > 0, (lvl - x_lo) / (x_hi - x_lo), 0.0)
    out = t[prev] + frac * (t[idx] - t[prev])
    return np.where(found, out, np.inf)


def relative_delay(measured, predicted):
    r"""Signed relative delay :math:`(t_{\rm measured} - t_{\rm predicted}) / t_{\rm predicted}` (Saxe et al. 2014, Fig. 3 right).

    Positive values mean the simulation learns later than the theory predicts.
    """
    measured = v.as_float_array(measured, "measured")
    predicted = v.positive(predicted, "predicted")
    try:
        np.broadcast_shapes(measured.shape, predicted.shape)
    except ValueError:
        raise ValueError(f"measured and predicted must broadcast together, got {measured.shape} and "
                         f"{predicted.shape}") from None
    return (measured - predicted) / predicted


def representational_similarity(hidden):
    r"""Cosine similarity between the hidden representations of the items (a representational similarity matrix).

    For one-hot inputs the representation of item :math:`i` is column :math:`i` of :math:`W^{21}`, and the matrix is
    :math:`C_{ij} = h_i\cdot h_j / (\lVert h_i\rVert\,\lVert h_j\rVert)`. Saxe, McClelland & Ganguli (2019) follow it
    over training to show the progressive differentiation of a hierarchy: items split into the coarse categories first.

    Parameters
    ----------
    hidden : array_like
        ``(..., N2, n_items)``: one column per item (e.g. ``W21``, or ``W21 @ X``).

    Returns
    -------
    numpy.ndarray
        ``(..., n_items, n_items)``, with ones on the diagonal.
    """
    h = v.as_float_array(hidden, "hidden")
    if h.ndim < 2:
        raise ValueError(f"hidden must be at least 2-D (units x items), got shape {h.shape}")
    norms = np.linalg.norm(h, axis=-2)
    if np.any(norms == 0):
        raise ValueError("hidden has an item with a zero representation; its similarity is undefined")
    unit = h / norms[..., None, :]
    return unit.swapaxes(-1, -2) @ unit
