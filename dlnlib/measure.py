r"""Measurements on recorded trajectories: when a quantity first reaches a level, and delays against theory."""
from __future__ import annotations

import numpy as np

from . import _validation as v

__all__ = ["first_passage_time", "relative_delay", "representational_similarity", "early_growth_start"]


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


def early_growth_start(t, modes, s, lr, t_min, u_max: float = 1e-3):
    r"""The strength from which each mode's early exponential growth under gradient descent extrapolates back to step 0.

    Near the origin a mode of singular value :math:`s` grows along :math:`a + b` by the factor :math:`1 + \lambda s`
    per step, so that :math:`u(t) \approx u_0^{\rm fit}\,(1 + \lambda s)^{2t}` once the decaying part along
    :math:`a - b` is gone (Saxe et al. 2014, Eq. 2 linearised). The fit is the geometric mean of
    :math:`u(t)\,(1 + \lambda s)^{-2t}` over the recorded times with :math:`t \ge t_{\min}` and
    :math:`0 < u(t) \le u_{\max}\,s`, where the cubic terms are smaller than :math:`u_{\max}` relative.

    Parameters
    ----------
    t : array_like
        ``(T,)`` increasing recording times, in steps.
    modes : array_like
        ``(..., T, n_modes)`` recorded mode strengths (as ``TrainResult.modes``).
    s : array_like
        ``(n_modes,)`` singular values (> 0).
    lr : float
        Learning rate :math:`\lambda > 0` of the run.
    t_min : array_like
        Earliest time of the window, per mode (broadcast against ``s``), e.g. a few :math:`1/(\lambda s)`.
    u_max : float
        Upper end of the window as a fraction of :math:`s`, in (0, 1).

    Returns
    -------
    numpy.ndarray
        ``(..., n_modes)`` the fitted starts; ``nan`` where the window holds no recorded point.
    """
    t = v.as_float_array(t, "t")
    modes = v.as_float_array(modes, "modes")
    s = v.positive(s, "s")
    lr = v.positive_scalar(lr, "lr")
    u_max = v.in_interval(u_max, "u_max", 0.0, 1.0, closed="neither")
    if t.ndim != 1 or t.size == 0 or np.any(np.diff(t) <= 0):
        raise ValueError(f"t must be a non-empty increasing 1-D array, got shape {t.shape}")
    if modes.ndim < 2 or modes.shape[-2] != t.size or s.shape != modes.shape[-1:]:
        raise ValueError(f"modes must be (..., {t.size}, {s.size}) (times, then one column per s), got {modes.shape}")
    t_min = v.as_float_array(t_min, "t_min")
    try:
        t_min = np.broadcast_to(t_min, s.shape)
    except ValueError:
        raise ValueError(f"t_min must broadcast against s {s.shape}, got {t_min.shape}") from None
    inside = (t[:, None] >= t_min) & (modes > 0) & (modes <= u_max * s)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_start = np.log(np.where(inside, modes, 1.0)) - 2 * t[:, None] * np.log1p(lr * s)
        count = inside.sum(axis=-2)
        mean = np.where(inside, log_start, 0.0).sum(axis=-2) / count
    return np.where(count > 0, np.exp(mean), np.nan)
