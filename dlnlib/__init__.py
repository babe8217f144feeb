"""dlnlib: the helper library of the course on the learning dynamics of deep linear networks.

Modules: :mod:`~dlnlib.theory` (closed forms and ODEs, and the library's conventions for depth and time),
:mod:`~dlnlib.tasks`, :mod:`~dlnlib.networks`, :mod:`~dlnlib.init`, :mod:`~dlnlib.train`, :mod:`~dlnlib.measure`,
:mod:`~dlnlib.spectra`, :mod:`~dlnlib.checks`, :mod:`~dlnlib.plotting`; for nonlinear networks
:mod:`~dlnlib.activations`, :mod:`~dlnlib.meanfield`, :mod:`~dlnlib.deepnets` and :mod:`~dlnlib.convolution`; for the
related results :mod:`~dlnlib.acceleration`, :mod:`~dlnlib.learning_curves` and :mod:`~dlnlib.parsimony`.
"""
from . import (acceleration, activations, checks, convolution, deepnets, init, landscape, learning_curves, meanfield,
               measure, networks, parsimony, plotting, spectra, tasks, theory, train)
from .reproducibility import seed_everything

__version__ = "0.1.0"
__all__ = ["acceleration", "activations", "checks", "convolution", "deepnets", "init", "landscape", "learning_curves",
           "meanfield", "measure", "networks", "parsimony", "plotting", "spectra", "tasks", "theory", "train",
           "seed_everything"]
