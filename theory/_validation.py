"""Argument checks shared by the theory modules.

Every check raises ``ValueError`` (bad value) or ``TypeError`` (bad type) with a message that shows
the offending value and what would be accepted (docs/conventions.md, "Errors").
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def _show(value: Any) -> str:
    arr = np.asarray(value)
    if arr.size > 8:
        return f"array of shape {arr.shape} (min {np.nanmin(arr):.6g}, max {np.nanmax(arr):.6g})"
    return repr(value.tolist() if isinstance(value, np.ndarray) else value)


def _has_bool(value: Any) -> bool:
    """True for a bool, a bool array, or a (nested) list/tuple holding a bool."""
    if isinstance(value, (bool, np.bool_)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype == np.bool_
    if isinstance(value, (list, tuple)):
        return any(_has_bool(v) for v in value)
    return False


def as_float_array(name: str, value: Any) -> NDArray[np.float64]:
    """``value`` as a float64 array; TypeError if it is not numeric (bool is not a number)."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}")
    if _has_bool(value):
        raise TypeError(
            f"{name} must be a number or an array of numbers, got {value!r} "
            "(bool is not accepted as a number)"
        )
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from exc
    return arr


def check_finite(name: str, value: Any) -> NDArray[np.float64]:
    arr = as_float_array(name, value)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {_show(value)}")
    return arr


def check_density(name: str, value: Any) -> NDArray[np.float64]:
    """Densities p = 1 - S must lie in (0, 1]."""
    arr = as_float_array(name, value)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    bad = ~((arr > 0) & (arr <= 1))  # also catches NaN
    if np.any(bad):
        raise ValueError(
            f"{name} must lie in (0, 1] (the probability that a feature is non-zero), "
            f"got {_show(value)}"
        )
    return arr


def check_importance(name: str, value: Any) -> NDArray[np.float64]:
    """Importances must be finite and non-negative."""
    arr = as_float_array(name, value)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    bad = ~(np.isfinite(arr) & (arr >= 0))
    if np.any(bad):
        raise ValueError(f"{name} must be finite and >= 0, got {_show(value)}")
    return arr


def check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_last_axis(name: str, arr: NDArray[Any], size: int) -> None:
    if arr.ndim == 0 or arr.shape[-1] != size:
        raise ValueError(f"{name} must have last axis of length {size}, got shape {arr.shape}")


def check_penalty(name: str, value: Any) -> NDArray[np.float64]:
    """An L1 penalty coefficient (a number or an array of numbers): finite and >= 0."""
    arr = as_float_array(name, value)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    bad = ~(np.isfinite(arr) & (arr >= 0))
    if np.any(bad):
        raise ValueError(
            f"{name} must be a finite number >= 0 (an L1 penalty coefficient), got {_show(value)}"
        )
    return arr
