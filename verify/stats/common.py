"""Constants and helpers shared by the three tests of :mod:`verify.stats`."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

METHODS = ("betting", "t")
#: Where ``superposition_test`` takes the loss from: exact where available (``"auto"``).
LOSS_SOURCES = ("auto", "exact", "monte_carlo")
ACTIVATIONS = ("relu", "linear")
#: toysup.metrics.REPRESENTED_THRESHOLD, repeated so that importing this module stays light.
REPRESENTED_THRESHOLD = 0.5


def _frozen(arr: NDArray[Any]) -> NDArray[Any]:
    arr = np.array(arr)  # a private copy
    arr.setflags(write=False)
    return arr
