"""Argument checks for :mod:`verify.stats`.

Each check raises ``ValueError`` (bad value) or ``TypeError`` (bad type) with a message that shows
the offending value and what would be accepted (docs/conventions.md, "Errors").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._validation import _extremes
from theory._validation import check_memory as check_memory

FloatArray = NDArray[np.float64]


def show(value: Any) -> str:
    """A short rendering of ``value`` for error messages (summary for large arrays)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.size > 8:
        try:
            return f"an array of shape {value.shape} {_extremes(value.astype(np.float64))}"
        except (TypeError, ValueError):
            return f"an array of shape {value.shape}"
    return repr(value.tolist() if isinstance(value, np.ndarray) else value)


def as_array(name: str, value: Any, *, what: str) -> FloatArray:
    """``value`` (numpy array, torch tensor, nested list or number) as a finite float64 array.

    ``what`` describes the accepted value in error messages, e.g. ``"an array of shape (m, n)"``.
    """
    if isinstance(value, (str, bytes, bool, np.bool_)) or value is None:
        raise TypeError(f"{name} must be {what}, got {value!r}")
    if hasattr(value, "detach"):  # torch tensor, without importing torch here
        value = value.detach().cpu().double().numpy()
    try:
        raw = np.asarray(value)
    except ValueError as exc:  # ragged nested sequences
        raise TypeError(f"{name} must be {what}, got the ragged sequence {value!r}") from exc
    if raw.dtype.kind not in "iuf":  # bools, strings, objects: not numbers
        raise TypeError(f"{name} must be {what} of real numbers, got {show(value)} ({raw.dtype})")
    arr = raw.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {show(arr)}")
    return arr


#: Largest magnitude accepted for weights, biases and activations: products such as WᵀW and the
#: squared errors stay far from float64's overflow (1.8e308). Larger values are refused.
MAX_MAGNITUDE = 1e150


def as_bounded_array(name: str, value: Any, *, what: str) -> FloatArray:
    """:func:`as_array`, and every entry of magnitude <= :data:`MAX_MAGNITUDE`."""
    arr = as_array(name, value, what=what)
    if arr.size and float(np.max(np.abs(arr))) > MAX_MAGNITUDE:
        raise ValueError(
            f"{name} has entries of magnitude up to {float(np.max(np.abs(arr))):.3g}; at most "
            f"{MAX_MAGNITUDE:.0e} is accepted (squared errors and WᵀW would overflow float64)"
        )
    return arr


def check_shape(name: str, arr: FloatArray, shape: tuple[int | None, ...], *, what: str) -> None:
    """``arr.shape`` must match ``shape`` (``None`` matches any length)."""
    ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
    if not ok:
        raise ValueError(f"{name} must have shape {what}, got shape {arr.shape}")


def check_alpha(alpha: Any) -> float:
    """A significance level in the open interval (0, 1)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise TypeError(f"alpha must be a real number in (0, 1), got {alpha!r}")
    value = float(alpha)
    if not (0.0 < value < 1.0):
        raise ValueError(f"alpha must lie in the open interval (0, 1), got {alpha!r}")
    return value


def check_fraction(name: str, value: Any) -> float:
    """A probability in the open interval (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number in (0, 1), got {value!r}")
    out = float(value)
    if not (0.0 < out < 1.0):
        raise ValueError(f"{name} must lie in the open interval (0, 1), got {value!r}")
    return out


def check_int(name: str, value: Any, *, minimum: int) -> int:
    """An integer (not a bool) ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_seed(seed: Any) -> int:
    """A seed for ``numpy.random.default_rng``: an integer >= 0."""
    return check_int("seed", seed, minimum=0)


def check_positive(name: str, value: Any) -> float:
    """A finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a finite number > 0, got {value!r}")
    out = float(value)
    if not (math.isfinite(out) and out > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return out


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_density(density: Any, n: int) -> FloatArray:
    """Densities ``p = 1 − S`` in (0, 1]: a scalar or shape ``(n,)``; returns shape ``(n,)``."""
    p = as_array("density", density, what="a number in (0, 1] or an array of shape (n_features,)")
    if p.ndim == 0:
        p = np.full(n, float(p))
    check_shape("density", p, (n,), what=f"() or ({n},) (one density per feature)")
    if np.any(~((p > 0) & (p <= 1))):
        raise ValueError(
            f"density must lie in (0, 1] (the probability that a feature is non-zero), got {show(p)}"
        )
    return p


def check_importance(importance: Any, n: int) -> FloatArray:
    """Importances ``I_i >= 0``, shape ``(n,)`` (a scalar is broadcast)."""
    imp = as_bounded_array(
        "importance", importance, what="an array of shape (n_features,) of numbers >= 0"
    )
    if imp.ndim == 0:
        imp = np.full(n, float(imp))
    check_shape("importance", imp, (n,), what=f"({n},) (one importance per feature)")
    if np.any(imp < 0):
        raise ValueError(f"importance must be >= 0 for every feature, got {show(imp)}")
    return imp
