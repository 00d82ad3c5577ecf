"""Argument checks shared by the figure functions: each raises ``TypeError``/``ValueError``
naming the argument, the offending value or shape, and what is accepted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def as_numpy(name: str, value: Any) -> FloatArray:
    """A float64 array from a numpy array, a nested sequence or a torch tensor."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be numbers, got the bool {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {value!r}") from exc
    if np.asarray(value).dtype == np.bool_:
        raise TypeError(f"{name} must be numbers, got a bool array")
    return arr


def vector(name: str, values: Any) -> FloatArray:
    """A non-empty 1-D float array."""
    arr = as_numpy(name, values)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    return arr


def log_axis(name: str, values: Any) -> FloatArray:
    """A log-axis grid: finite, positive, strictly increasing."""
    arr = vector(name, values)
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"{name} must be finite and > 0 (a log axis), got {arr.tolist()}")
    if arr.size > 1 and not np.all(np.diff(arr) > 0):
        raise ValueError(f"{name} must be strictly increasing, got {arr.tolist()}")
    return arr


def densities(name: str, values: Any) -> FloatArray:
    """Densities in (0, 1], in any order."""
    arr = vector(name, values)
    if not np.all((arr > 0) & (arr <= 1)):
        raise ValueError(f"{name} must lie in (0, 1] (density p = 1 − S), got {arr.tolist()}")
    return arr


def steps(name: str, values: Any) -> FloatArray:
    """Training steps: a non-empty 1-D array of finite, non-negative, strictly increasing
    numbers."""
    arr = vector(name, values)
    if not np.all(np.isfinite(arr) & (arr >= 0)):
        raise ValueError(f"{name} must be finite and >= 0 (training steps), got {arr.tolist()}")
    if arr.size > 1 and not np.all(np.diff(arr) > 0):
        raise ValueError(f"{name} must be strictly increasing, got {arr.tolist()}")
    return arr


def finite(name: str, arr: FloatArray) -> FloatArray:
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} must be finite; entry {tuple(int(i) for i in bad)} is {arr[tuple(bad)]}"
        )
    return arr


def weights(W: Any, name: str = "W") -> FloatArray:
    """(instances, m, n) finite weights; a single (m, n) matrix becomes one instance."""
    arr = as_numpy(name, W)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or 0 in arr.shape:
        raise ValueError(
            f"{name} must have shape (instances, m, n) or (m, n), got shape {arr.shape}"
        )
    return finite(name, arr)


def per_instance(name: str, value: Any, shape: tuple[int, int]) -> FloatArray:
    """``value`` broadcast to ``shape`` = (instances, n): accepts (n,) or (instances, n)."""
    arr = as_numpy(name, value)
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(
            f"{name} must have shape (n,) = ({shape[1]},) or (instances, n) = {shape}, "
            f"got shape {arr.shape}"
        ) from None


def titles(name: str, value: Sequence[Any] | None, count: int) -> list[str] | None:
    """One title per panel, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        raise TypeError(f"{name} must be a sequence of strings, got the string {value!r}")
    out = [str(t) for t in value]
    if len(out) != count:
        raise ValueError(f"{name} must have one entry per instance ({count}), got {len(out)}")
    return out


def index(name: str, value: Any, count: int) -> int:
    """An integer in [0, count)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not 0 <= value < count:
        raise ValueError(f"{name} must be in [0, {count}), got {value}")
    return int(value)


def positive_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def number(name: str, value: Any, *, low: float, high: float, what: str) -> float:
    """A real number in [low, high]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number ({what}), got {value!r}")
    x = float(value)
    if not low <= x <= high:
        raise ValueError(f"{name} must be in [{low:g}, {high:g}] ({what}), got {value!r}")
    return x


def choice(name: str, value: Any, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")
    return value
