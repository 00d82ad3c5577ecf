"""The exact expected loss of a trained model, where theory has it (numpy/scipy, no sampling).

``x' = ReLU(WᵀWx + b)`` with n <= 12 features: :func:`theory.landscape.expected_loss` (a finite
sum of closed-form integrals, accurate to ~1e-14 of the loss scale, docs/landscape.md §5.3);
``x' = WᵀWx + b``: :func:`theory.linear.expected_loss` (from the first two moments). Where it
applies the suite compares trained models with theory through it, with no Monte Carlo tolerance;
elsewhere (ReLU models with n > 12) it falls back to its own Monte Carlo estimate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory.landscape import MAX_EXACT_FEATURES
from theory.landscape import expected_loss as relu_expected_loss
from theory.linear import expected_loss as linear_expected_loss
from verify.properties._montecarlo import to_numpy

Array = NDArray[np.float64]

#: What the failure messages call the exact loss, by activation.
SOURCE = {
    "relu": "exact expected loss (theory.landscape)",
    "linear": "exact expected loss (theory.linear)",
}


def has_exact_loss(activation: str, n_features: int) -> bool:
    """Whether :func:`exact_loss` applies: linear models, or ReLU models with n <= 12."""
    return activation == "linear" or (activation == "relu" and n_features <= MAX_EXACT_FEATURES)


def exact_loss(
    W: Any,
    b: Any,
    density: Any,
    importance: Any,
    *,
    activation: str = "relu",
    reduction: str = "sum",
) -> Array | None:
    """Exact expected loss per instance: W (C, m, n), b (C, n), density and importance
    broadcastable to (C, n) -> (C,); None where no exact form applies. ``reduction="mean"``
    divides by n (a trainer's ``loss_reduction``)."""
    w, bias = to_numpy(W), to_numpy(b)
    n = w.shape[-1]
    if not has_exact_loss(activation, n):
        return None
    p = np.broadcast_to(np.asarray(density, dtype=np.float64), bias.shape)
    imp = np.broadcast_to(np.asarray(importance, dtype=np.float64), bias.shape)
    if activation == "linear":
        value = np.asarray(linear_expected_loss(w, bias, imp, p), dtype=np.float64)
    else:
        value = np.asarray(relu_expected_loss(w, bias, p, imp), dtype=np.float64)
    return value / n if reduction == "mean" else value
