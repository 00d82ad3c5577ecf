"""Argument checks for toysup. Each raises ValueError/TypeError showing the value and what is accepted."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import Any

import numpy as np


def _show(value: Any) -> str:
    arr = np.asarray(value, dtype=object)
    if arr.size > 8:
        try:
            num = np.asarray(value, dtype=np.float64)
            finite = num[np.isfinite(num)]
            bad = num.size - finite.size
            extremes = f"min {finite.min():.6g}, max {finite.max():.6g}" if finite.size else ""
            extremes += (", " if extremes and bad else "") + (f"{bad} NaN or inf" if bad else "")
            return f"an array of shape {num.shape} ({extremes})"
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


def as_numbers(name: str, value: Any, *, what: str) -> np.ndarray:
    """``value`` (a number or nested sequence/array of numbers) as a float64 array.

    Bools, strings, ragged sequences and anything not numeric raise ``TypeError``: a bool is not
    a density, and ``"0.5"`` is not a number (numpy would parse it). ``what`` says what is accepted.
    """
    if isinstance(value, (str, bytes, bool, np.bool_)) or value is None:
        raise TypeError(f"{name} must be {what}, got {value!r}")
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        raw = np.asarray(value)
    except ValueError as exc:  # ragged nested sequences
        raise TypeError(f"{name} must be {what}, got the ragged sequence {value!r}") from exc
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be {what}, got {_show(value)} (dtype {raw.dtype})")
    return raw.astype(np.float64)


#: Largest |entry| of a weight matrix: products such as WᵀW (≈ n·max²) stay far from float64's
#: overflow (1.8e308). No trained model comes near it; larger entries are refused, not computed.
MAX_WEIGHT = 1e150


def check_weights(name: str, value: Any, *, what: str) -> np.ndarray:
    """Finite numbers of magnitude <= :data:`MAX_WEIGHT`, as a float64 array."""
    arr = as_numbers(name, value, what=what)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {_show(value)}")
    if arr.size and np.max(np.abs(arr)) > MAX_WEIGHT:
        raise ValueError(
            f"{name} has entries of magnitude up to {np.max(np.abs(arr)):.3g}; at most "
            f"{MAX_WEIGHT:.0e} is accepted (products such as WᵀW would overflow float64)"
        )
    return arr


def check_memory(name: str, value: Any, nbytes: float, what: str) -> None:
    """Refuse a size whose ``nbytes`` cannot fit in this machine's memory (before allocating)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return
    if nbytes > total:
        raise ValueError(
            f"{name}={value!r} needs {nbytes / 2**30:.3g} GiB for {what}, more than this "
            f"machine's {total / 2**30:.3g} GiB of memory; use a smaller {name}"
        )


def infer_instances(**arrays: Any) -> int:
    """The number of rows of the 2-D arrays among ``arrays`` (1 if none is 2-D); rows must agree."""
    rows = {}
    for name, value in arrays.items():
        try:
            shape = np.shape(value)
        except ValueError:  # ragged: check_matrix says so
            continue
        if len(shape) == 2:
            rows[name] = shape[0]
    if len(set(rows.values())) > 1:
        shown = ", ".join(f"{name} has {count} rows" for name, count in rows.items())
        raise ValueError(
            f"{shown}: 2-D densities and importances have one row per instance, so their row "
            "counts must agree (or pass n_instances)"
        )
    return check_int("n_instances", next(iter(rows.values()), 1))


def check_matrix(
    name: str, value: Any, shape: tuple[int, int], *, kind: str
) -> tuple[tuple[float, ...], ...]:
    """Broadcast a scalar / per-feature / per-instance array to ``shape`` and validate it.

    ``kind`` is ``"density"`` (values in (0, 1]) or ``"importance"`` (finite, >= 0).
    Returns nested tuples (hashable, JSON-friendly) of shape ``(instances, features)``.
    """
    arr = as_numbers(name, value, what="a number or an array of numbers")
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
