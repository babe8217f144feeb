r"""Pointwise nonlinearities :math:`\phi` with their first two derivatives, in NumPy and torch.

The mean-field theory (:mod:`dlnlib.meanfield`) needs :math:`\phi, \phi', \phi''` as NumPy functions; training
(:mod:`dlnlib.train`) needs :math:`\phi` in torch. One table keeps the two in step. ReLU and hard-tanh have 0/1
derivatives (Pennington et al. 2017), so their :math:`\phi''` is zero almost everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from scipy.special import erf

__all__ = ["Activation", "ACTIVATIONS", "get", "torch_slope"]


@dataclass(frozen=True)
class Activation:
    r"""A nonlinearity: ``phi``, ``dphi``, ``d2phi`` act on NumPy arrays, ``torch_phi`` on tensors.

    ``gate_probability(q)``, for nonlinearities whose slope is 0 or 1, is the probability
    :math:`p = P(\phi'(h) = 1)` for :math:`h \sim \mathcal N(0, q)` in closed form (quadrature is inexact at the
    jumps); ``None`` for smooth ones.
    """

    name: str
    phi: Callable[[np.ndarray], np.ndarray]
    dphi: Callable[[np.ndarray], np.ndarray]
    d2phi: Callable[[np.ndarray], np.ndarray]
    torch_phi: Callable[[torch.Tensor], torch.Tensor]
    gate_probability: Callable[[float], float] | None = None


def _tanh_d2(h):
    t = np.tanh(h)
    return -2.0 * t * (1.0 - t * t)


#: The activations by name (``"linear"``, ``"tanh"``, ``"relu"``, ``"hard_tanh"``), each an :class:`Activation`.
#:
#: :meta hide-value:
ACTIVATIONS = {
    "linear": Activation("linear", lambda h: np.asarray(h, dtype=float), np.ones_like, np.zeros_like, lambda h: h),
    "tanh": Activation("tanh", np.tanh, lambda h: 1.0 - np.tanh(h) ** 2, _tanh_d2, torch.tanh),
    "relu": Activation("relu", lambda h: np.maximum(h, 0.0), lambda h: (np.asarray(h) > 0).astype(float),
                       np.zeros_like, torch.relu, lambda q: 0.5),
    "hard_tanh": Activation("hard_tanh", lambda h: np.clip(h, -1.0, 1.0),
                            lambda h: (np.abs(np.asarray(h)) < 1).astype(float), np.zeros_like,
                            lambda h: torch.clamp(h, -1.0, 1.0),
                            lambda q: 1.0 if q == 0 else float(erf(1.0 / np.sqrt(2.0 * q)))),
}


def get(activation) -> Activation:
    """Return the :class:`Activation` named ``activation`` (or ``activation`` itself if it is one)."""
    if isinstance(activation, Activation):
        return activation
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    return ACTIVATIONS[activation]


def torch_slope(activation, h: torch.Tensor) -> torch.Tensor:
    r""":math:`\phi'(h)` elementwise for a tensor, by differentiating ``torch_phi`` (the same values as ``dphi``)."""
    phi = get(activation).torch_phi
    if not isinstance(h, torch.Tensor) or not h.is_floating_point():
        raise TypeError(f"h must be a floating-point torch tensor, got {type(h).__name__}")
    with torch.enable_grad():
        x = h.detach().requires_grad_(True)
        (slope,) = torch.autograd.grad(phi(x).sum(), x)
    return slope
