"""Argument checks shared by the theory modules.

Every check raises ``ValueError`` (bad value) or ``TypeError`` (bad type) with a message that shows
the offending value and what would be accepted (docs/conventions.md, "Errors"). A bool is not a
number, ``"0.5"`` is not a number (numpy would parse it), and nothing is clipped silently.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray


def _extremes(num: NDArray[np.float64]) -> str:
    """``(min …, max …, 2 NaN, 1 inf)``: the range of the finite entries and the others' count."""
    finite = num[np.isfinite(num)]
    parts = [f"min {finite.min():.6g}, max {finite.max():.6g}"] if finite.size else []
    nan, inf = int(np.isnan(num).sum()), int(np.isinf(num).sum())
    parts += [f"{nan} NaN"] * bool(nan) + [f"{inf} inf"] * bool(inf)
    return "(" + ", ".join(parts) + ")"


def _show(value: Any) -> str:
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged
        return repr(value)
    if arr.size > 8:
        try:
            return f"array of shape {arr.shape} {_extremes(arr.astype(np.float64))}"
        except (TypeError, ValueError):
            return f"array of shape {arr.shape}"
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
    """``value`` as a float64 array; TypeError if it is not numeric (bools and strings are not)."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}")
    if _has_bool(value):
        raise TypeError(
            f"{name} must be a number or an array of numbers, got {value!r} "
            "(bool is not accepted as a number)"
        )
    try:
        raw = np.asarray(value)
    except ValueError as exc:  # ragged nested sequences
        raise TypeError(
            f"{name} must be a number or an array of numbers, got the ragged sequence {value!r}"
        ) from exc
    if raw.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must be a number or an array of numbers, got {_show(value)} "
            f"(dtype {raw.dtype})"
        )
    return raw.astype(np.float64)


def check_finite(name: str, value: Any) -> NDArray[np.float64]:
    arr = as_float_array(name, value)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {_show(value)}")
    return arr


#: Largest magnitude accepted for weights and measurement matrices: products such as WᵀW and the
#: squared errors stay far from float64's overflow (1.8e308). Larger values are refused.
MAX_MAGNITUDE = 1e150


def check_bounded(name: str, value: Any) -> NDArray[np.float64]:
    """Finite values of magnitude <= :data:`MAX_MAGNITUDE`."""
    arr = check_finite(name, value)
    if arr.size and float(np.max(np.abs(arr))) > MAX_MAGNITUDE:
        raise ValueError(
            f"{name} has entries of magnitude up to {float(np.max(np.abs(arr))):.3g}; at most "
            f"{MAX_MAGNITUDE:.0e} is accepted (products such as WᵀW would overflow float64)"
        )
    return arr


def check_finite_scalar(name: str, value: Any) -> float:
    """A finite real number (0-d)."""
    arr = check_finite(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a single number, got shape {arr.shape}: {_show(value)}")
    return float(arr)


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


def check_memory(name: str, value: Any, nbytes: float, what: str) -> None:
    """Refuse a size whose ``nbytes`` cannot fit in this machine's memory (before allocating)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return
    if nbytes > total:
        raise ValueError(
            f"{name} = {value!r} needs {nbytes / 2**30:.3g} GiB for {what}, more than this "
            f"machine's {total / 2**30:.3g} GiB of memory; use a smaller {name}"
        )


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


#: The most random starts per cell: each start costs a Newton solve and memory for every cell.
MAX_RANDOM_STARTS = 10_000


def check_seed(seed: Any) -> int:
    """A seed for ``numpy.random.default_rng``: an integer >= 0."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer >= 0, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def check_n_random(n_random: Any) -> int:
    """Random starts per cell: an integer in [0, MAX_RANDOM_STARTS]."""
    ok = not isinstance(n_random, bool) and isinstance(n_random, (int, np.integer))
    if not ok or not 0 <= n_random <= MAX_RANDOM_STARTS:
        raise ValueError(
            f"n_random must be an integer in [0, {MAX_RANDOM_STARTS}], got {n_random!r}"
        )
    return int(n_random)
