"""One house style for every figure of the book: sizes, fonts, and fixed colours for theory vs simulation."""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from . import _validation as v

__all__ = ["THEORY", "SIMULATION", "NONLINEAR", "use_style", "figure", "mode_colors"]

#: Colour of analytic predictions: red, as in Saxe et al. (2014).
THEORY = "#c0392b"
#: Colour of simulated linear networks: blue.
SIMULATION = "#2471a3"
#: Colour of nonlinear (tanh) networks: green.
NONLINEAR = "#229954"

_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.6,
    # Opaque white behind every figure, whatever the backend's default (some inline backends use a transparent one):
    # black text and axes on a transparent PNG vanish in a dark theme (the book's dark mode, JupyterLab, Colab).
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
}


def use_style() -> None:
    """Apply the house style to matplotlib (call once at the top of a chapter): sizes, fonts, a light grid, and an
    opaque white background, so that figures stay legible in a dark theme."""
    mpl.rcParams.update(_STYLE)


def figure(ncols: int = 1, nrows: int = 1, width: float = 4.2, height: float = 3.2, **kwargs):
    """New figure with ``nrows x ncols`` axes of ``width x height`` inches each, constrained layout.

    Returns ``(fig, axes)``; ``axes`` is a single Axes when there is one, else an array.
    """
    ncols, nrows = v.count(ncols, "ncols"), v.count(nrows, "nrows")
    width, height = v.positive_scalar(width, "width"), v.positive_scalar(height, "height")
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), layout="constrained",
                        squeeze=True, **kwargs)


def mode_colors(n: int):
    """``n`` colours from light to dark for modes ordered from strongest to weakest."""
    return plt.cm.viridis(np.linspace(0.0, 0.85, v.count(n, "n", minimum=0)))
