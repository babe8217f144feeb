"""Seeding, so that every chapter prints the same numbers on every run."""
from __future__ import annotations

import random

import numpy as np
import torch

from . import _validation as v

__all__ = ["seed_everything"]


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's, NumPy's and torch's global generators and return a fresh ``numpy.random.Generator``.

    Library functions take explicit ``seed`` arguments; this covers code that draws from global state.
    """
    seed = v.count(seed, "seed", minimum=0, maximum=2 ** 32 - 1)   # NumPy's global seed is 32 bits: check first
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
