"""Public numeric entry points for the exact n=2, m=1 loss: argument checks and broadcasting.

The loss may carry two L1 penalties (docs/control_theory.md): ``l1_hidden`` · E|h| on the hidden
activation h = w_1 x_1 + w_2 x_2 and ``l1_weights`` · (|w_1| + |w_2|).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._validation import (
    check_density,
    check_finite,
    check_importance,
    check_last_axis,
    check_penalty,
)
from theory.n2m1.kernels import loss_terms
from theory.n2m1.penalty import kink_slopes, min_norm_subgradient, penalty_terms

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


def prepare_penalties(
    l1_hidden: Any, l1_weights: Any, arrays: tuple[Array, ...]
) -> tuple[tuple[Array, ...], Array, Array] | None:
    """Validate the penalties; None if both are zero everywhere (the unpenalised loss).

    Otherwise broadcast them (shape (...), the leading axes) against ``arrays`` (each (..., 2))
    and return (arrays broadcast, l1_hidden (...), l1_weights (...)).
    """
    lh = check_penalty("l1_hidden", l1_hidden)
    lw = check_penalty("l1_weights", l1_weights)
    if not (np.any(lh > 0) or np.any(lw > 0)):
        return None
    lead = arrays[0].shape[:-1]
    try:
        shape = np.broadcast_shapes(lead, lh.shape, lw.shape)
    except ValueError as exc:
        raise ValueError(
            "l1_hidden and l1_weights must be scalars or broadcast with the leading (non-feature) "
            f"axes of w, b, density and importance {lead}, got shapes {lh.shape} and {lw.shape}"
        ) from exc
    out = tuple(np.broadcast_to(a, (*shape, 2)) for a in arrays)
    return out, np.broadcast_to(lh, shape), np.broadcast_to(lw, shape)


def _check_representable(values: tuple[Array, ...], w: Array, b: Array, what: str) -> None:
    """OverflowError naming the first input whose result is not finite."""
    bad = np.zeros(w.shape[:-1], dtype=bool)
    for v in values:
        bad |= ~np.isfinite(v) if v.ndim == bad.ndim else ~np.all(np.isfinite(v), axis=-1)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise OverflowError(
            f"the exact {what} exceeds the float64 range (about 1.8e308) at w = "
            f"{w[idx].tolist()}, b = {b[idx].tolist()}"
            + (f" (index {idx})" if idx else "")
            + ": it grows like w⁴ and b², so |w| must stay below about 1e77 and |b| below "
            "about 1e154 unless the ReLU is never active"
        )


def expected_loss(
    w: Any, b: Any, density: Any, importance: Any, *, l1_hidden: Any = 0.0, l1_weights: Any = 0.0
) -> Any:
    """Exact expected loss L = E[Σ_i I_i (x_i − ReLU(w_i h + b_i))²], h = w_1 x_1 + w_2 x_2,
    plus ``l1_hidden`` · E|h| + ``l1_weights`` · (|w_1| + |w_2|).

    The n=2, m=1 ReLU-output model of Elhage et al. (2022), "The Phase Change", with
    x_i = 0 with probability 1 − p_i, else Uniform[0, 1]. Exact closed form (docs/theory.md; the
    penalties: docs/control_theory.md).

    Shapes: ``w``, ``b``: (..., 2); ``density`` p_i ∈ (0, 1] and ``importance`` I_i >= 0: scalar
    or (..., 2) — the last axis is always the feature axis (length 1 shares one value); the
    leading axes of all four broadcast together. ``l1_hidden``, ``l1_weights`` >= 0: scalars or
    arrays broadcasting with the leading axes. Returns the loss summed over features, shape =
    the broadcast leading shape (a float64 0-d array for single inputs). OverflowError (naming
    the input) where the exact value exceeds the float64 range; huge inputs whose loss is
    representable (e.g. b = −1e300: the ReLU is never active) give that value.
    """
    w_, b_, p_, i_ = prepare(w, b, density, importance)
    pen = prepare_penalties(l1_hidden, l1_weights, (w_, b_, p_, i_))
    if pen is not None:
        (w_, b_, p_, i_), lh, lw = pen
    with np.errstate(over="ignore", invalid="ignore"):
        loss = loss_terms(w_, b_, p_, i_, order=0, safe=True)[0]
        if pen is not None:
            loss = loss + penalty_terms(w_, p_, lh, lw, order=0)[0]
    _check_representable((loss,), w_, b_, "loss")
    return loss


def expected_loss_and_grad(
    w: Any, b: Any, density: Any, importance: Any, *, l1_hidden: Any = 0.0, l1_weights: Any = 0.0
) -> tuple[Any, Array, Array]:
    """``expected_loss`` and its exact gradient: (loss (...,), dL/dw (..., 2), dL/db (..., 2)).

    Without penalties the loss is C¹ in (w, b) except at w_i = b_i = 0 (docs/theory.md, §1.3),
    so the gradient is defined at w = 0 and at breakpoints at 0 or 1. The penalties add kinks at
    w_i = 0 (docs/control_theory.md): E|h| is C¹ away from w = 0, but its single-feature terms
    p_i (1 − p_j) |w_i| / 2 and |w_i| itself are not. At w_i = 0 the returned dL/dw_i is the
    minimum-norm element of the subdifferential [−d⁻, d⁺] (d± the one-sided slopes along ±e_i):
    0 exactly when w_i = 0 is stationary in that coordinate, else the slope of steepest descent.
    """
    w_, b_, p_, i_ = prepare(w, b, density, importance)
    pen = prepare_penalties(l1_hidden, l1_weights, (w_, b_, p_, i_))
    if pen is not None:
        (w_, b_, p_, i_), lh, lw = pen
    with np.errstate(over="ignore", invalid="ignore"):
        loss, grad_w, grad_b = loss_terms(w_, b_, p_, i_, order=1, safe=True)
        if pen is not None:
            value, g_pen = penalty_terms(w_, p_, lh, lw, order=1)
            loss = loss + value
            if np.any(w_ == 0):
                d_plus, d_minus = kink_slopes(w_, p_, lh, lw, grad_w)
                grad_w = min_norm_subgradient(w_, grad_w + g_pen, d_plus, d_minus)
            else:
                grad_w = grad_w + g_pen
    _check_representable((loss, grad_w, grad_b), w_, b_, "loss or its gradient")
    return loss, grad_w, grad_b
