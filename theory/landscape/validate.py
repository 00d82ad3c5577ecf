"""Argument checks and broadcasting for :mod:`theory.landscape` (errors name the value)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._validation import check_density, check_finite, check_importance

Array = NDArray[np.float64]

#: Largest n evaluated exactly (all 2^n activity patterns) without ``max_active``.
MAX_EXACT_FEATURES = 12
#: Largest number of activity patterns one evaluation may enumerate (with ``max_active``).
MAX_PATTERNS = 1 << 20


def _reject_bool(name: str, value: Any) -> None:
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, np.ndarray) and value.dtype == np.bool_
    ):
        raise TypeError(f"{name} must be a number or an array of numbers, not bool: {value!r}")


def _per_feature(name: str, arr: Array, n: int) -> Array:
    if arr.ndim == 0:
        return arr[..., None]
    if arr.shape[-1] not in (1, n):
        raise ValueError(
            f"{name} must be a scalar or an array whose last axis is the feature axis (length "
            f"n = {n}, or 1 to share one value), got shape {arr.shape}"
        )
    return arr


def prepare_inputs(
    W: Any, b: Any, density: Any, importance: Any
) -> tuple[Array, Array, Array, Array]:
    """Validate and broadcast to W (..., m, n), b (..., n), density (..., n), importance (..., n).

    ``W``: the paper's W ∈ R^{m×n} with leading batch axes; ``b``: (..., n); ``density`` p_i in
    (0, 1] and ``importance`` I_i >= 0: scalars or (..., n) (last axis = features, length 1
    shares one value). All leading axes broadcast together.
    """
    for name, value in (("W", W), ("b", b), ("density", density), ("importance", importance)):
        _reject_bool(name, value)
    w = check_finite("W", W)
    if w.ndim < 2 or w.shape[-1] == 0 or w.shape[-2] == 0:
        raise ValueError(
            f"W must have shape (..., m, n) with m, n >= 1 (hidden × features), got {w.shape}"
        )
    n = w.shape[-1]
    bias = check_finite("b", b)
    if bias.ndim == 0 or bias.shape[-1] != n:
        raise ValueError(
            f"b must have shape (..., n) with n = {n} (W has shape {w.shape}), got {bias.shape}"
        )
    p = _per_feature("density", check_density("density", density), n)
    imp = _per_feature("importance", check_importance("importance", importance), n)
    try:
        lead = np.broadcast_shapes(w.shape[:-2], bias.shape[:-1], p.shape[:-1], imp.shape[:-1])
    except ValueError as exc:
        raise ValueError(
            "the leading (batch) axes of W, b, density and importance must broadcast together, "
            f"got W {w.shape}, b {bias.shape}, density {p.shape}, importance {imp.shape}"
        ) from exc
    w = np.broadcast_to(w, (*lead, *w.shape[-2:]))
    bias = np.broadcast_to(bias, (*lead, n))
    p = np.broadcast_to(p, (*lead, n))
    imp = np.broadcast_to(imp, (*lead, n))
    return w, bias, p, imp


def check_max_active(max_active: Any, n: int) -> int | None:
    """``None`` (all patterns; needs n <= MAX_EXACT_FEATURES) or an int k >= 0."""
    if max_active is None:
        if n > MAX_EXACT_FEATURES:
            raise ValueError(
                f"exact evaluation sums all 2^n activity patterns and supports n <= "
                f"{MAX_EXACT_FEATURES}, got n = {n}; pass max_active=k to sum the patterns with "
                f"at most k active features and get a rigorous bound on the rest"
            )
        return None
    if isinstance(max_active, bool) or not isinstance(max_active, (int, np.integer)):
        raise TypeError(f"max_active must be None or an integer >= 0, got {max_active!r}")
    if max_active < 0:
        raise ValueError(f"max_active must be None or an integer >= 0, got {max_active!r}")
    return int(min(max_active, n))
