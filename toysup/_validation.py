"""Argument checks for toysup. Each raises ValueError/TypeError showing the value and what is accepted."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def _show(value: Any) -> str:
    arr = np.asarray(value, dtype=object)
    if arr.size > 8:
        try:
            num = np.asarray(value, dtype=np.float64)
            return f"an array of shape {num.shape} (min {np.nanmin(num):.6g}, max {np.nanmax(num):.6g})"
        except (TypeError, ValueError):
            return f"an array of shape {arr.shape}"
    return repr(value.tolist() if isinstance(value, np.ndarray) else value)


def check_int(name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    exclusive_minimum: float | None = None,
    maximum: float | None = None,
    exclusive_maximum: float | None = None,
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    parts = []
    if exclusive_minimum is not None:
        parts.append(f"> {exclusive_minimum}")
    if minimum is not None:
        parts.append(f">= {minimum}")
    if exclusive_maximum is not None:
        parts.append(f"< {exclusive_maximum}")
    if maximum is not None:
        parts.append(f"<= {maximum}")
    accepted = "a finite number" + (" " + " and ".join(parts) if parts else "")
    ok = math.isfinite(out)
    ok = ok and (minimum is None or out >= minimum)
    ok = ok and (exclusive_minimum is None or out > exclusive_minimum)
    ok = ok and (maximum is None or out <= maximum)
    ok = ok and (exclusive_maximum is None or out < exclusive_maximum)
    if not ok:
        raise ValueError(f"{name} must be {accepted}, got {value!r}")
    return out


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def check_matrix(
    name: str, value: Any, shape: tuple[int, int], *, kind: str
) -> tuple[tuple[float, ...], ...]:
    """Broadcast a scalar / per-feature / per-instance array to ``shape`` and validate it.

    ``kind`` is ``"density"`` (values in (0, 1]) or ``"importance"`` (finite, >= 0).
    Returns nested tuples (hashable, JSON-friendly) of shape ``(instances, features)``.
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from exc
    try:
        arr = np.broadcast_to(arr, shape)
    except ValueError as exc:
        raise ValueError(
            f"{name} must be a scalar, shape ({shape[1]},) per feature, or shape {shape} "
            f"(instances, features); got shape {arr.shape}"
        ) from exc
    if kind == "density":
        bad = ~((arr > 0) & (arr <= 1))
        if bad.any():
            raise ValueError(
                f"{name} must lie in (0, 1] (probability that a feature is non-zero, "
                f"density = 1 - S); got {_show(value)}"
            )
    else:
        bad = ~(np.isfinite(arr) & (arr >= 0))
        if bad.any():
            raise ValueError(f"{name} must be finite and >= 0; got {_show(value)}")
    return tuple(tuple(float(v) for v in row) for row in arr)
