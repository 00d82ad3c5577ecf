"""Public numeric entry points for the exact n=2, m=1 loss: argument checks and broadcasting."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._validation import check_density, check_finite, check_importance, check_last_axis
from theory.n2m1.kernels import loss_terms

Array = NDArray[np.float64]


def _per_feature(name: str, arr: Array) -> Array:
    if arr.ndim >= 1 and arr.shape[-1] not in (1, 2):
        raise ValueError(
            f"{name} must be a scalar or an array whose last axis is the feature axis "
            f"(length 2, or 1 to share one value between both features), got shape {arr.shape}; "
            f"for one value per cell shared by both features pass {name}[..., None]"
        )
    return arr


def prepare(w: Any, b: Any, density: Any, importance: Any) -> tuple[Array, Array, Array, Array]:
    """Validate and broadcast to four (..., 2) float64 arrays (w, b, density, importance)."""
    w_arr = check_finite("w", w)
    check_last_axis("w", w_arr, 2)
    b_arr = check_finite("b", b)
    check_last_axis("b", b_arr, 2)
    p_arr = _per_feature("density", check_density("density", density))
    i_arr = _per_feature("importance", check_importance("importance", importance))
    try:
        out = np.broadcast_arrays(w_arr, b_arr, p_arr, i_arr)
    except ValueError as exc:
        raise ValueError(
            "w, b, density and importance must broadcast together (last axis = features), got "
            f"shapes {w_arr.shape}, {b_arr.shape}, {p_arr.shape} and {i_arr.shape}"
        ) from exc
    return out[0], out[1], out[2], out[3]


def expected_loss(w: Any, b: Any, density: Any, importance: Any) -> Any:
    """Exact expected loss L = E[Σ_i I_i (x_i − ReLU(w_i h + b_i))²], h = w_1 x_1 + w_2 x_2.

    The n=2, m=1 ReLU-output model of Elhage et al. (2022), "The Phase Change", with
    x_i = 0 with probability 1 − p_i, else Uniform[0, 1]. Exact closed form (docs/theory.md).

    Shapes: ``w``, ``b``: (..., 2); ``density`` p_i ∈ (0, 1] and ``importance`` I_i >= 0: scalar
    or (..., 2) — the last axis is always the feature axis (length 1 shares one value); the
    leading axes of all four broadcast together. Returns the loss summed over features, shape =
    the broadcast leading shape (a float64 0-d array for single inputs).
    """
    w_, b_, p_, i_ = prepare(w, b, density, importance)
    return loss_terms(w_, b_, p_, i_, order=0)[0]


def expected_loss_and_grad(
    w: Any, b: Any, density: Any, importance: Any
) -> tuple[Any, Array, Array]:
    """``expected_loss`` and its exact gradient: (loss (...,), dL/dw (..., 2), dL/db (..., 2)).

    The loss is C¹ in (w, b) everywhere (the integrand is continuous across the ReLU's kink),
    so the gradient is defined everywhere, including w = 0 and breakpoints at 0 or 1.
    """
    w_, b_, p_, i_ = prepare(w, b, density, importance)
    loss, grad_w, grad_b = loss_terms(w_, b_, p_, i_, order=1)
    return loss, grad_w, grad_b
