"""Argument checks for the compressed-sensing modules.

They complement :mod:`theory._validation` (which they reuse) with the ranges compressed sensing
needs: undersampling ratios δ = m/n in (0, 1), sparsity ratios ρ = k/m in (0, 1], integer sizes,
seeds. Every check raises ``ValueError`` for a bad value (and ``TypeError`` for something that is
not a number at all) with the offending value and what would be accepted.

Note one deliberate difference from ``theory._validation.check_positive_int``: a non-integral
size such as ``2.5`` (or an integral float such as ``200.0``) raises ``ValueError`` here, because a
size that is not an integer is a bad *value* of a size.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._validation import _show, as_float_array, check_bounded
from theory._validation import check_memory as check_memory


def check_bool(name: str, value: Any) -> bool:
    """``value`` must be a real ``bool`` (not 0/1, not a string)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_size(name: str, value: Any, *, minimum: int = 1) -> int:
    """A size (number of features, measurements, non-zeros, trials): an integer >= ``minimum``.

    ``bool`` and non-integral numbers (``2.5``, ``200.0``) raise ``ValueError``; things that are
    not numbers raise ``TypeError``.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got the bool {value!r}")
    if isinstance(value, (int, np.integer)):
        if value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        return int(value)
    if isinstance(value, numbers.Real):
        raise ValueError(
            f"{name} must be an integer >= {minimum} (a count, given as int), got {value!r}"
        )
    raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_seed(name: str, value: Any) -> int:
    """A seed: a non-negative integer (it feeds ``numpy.random.SeedSequence``)."""
    return check_size(name, value, minimum=0)


def check_open_unit_interval(name: str, value: Any, meaning: str) -> NDArray[np.float64]:
    """Values in the open interval (0, 1); ``meaning`` says what the quantity is."""
    arr = as_float_array(name, value)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    bad = ~((arr > 0) & (arr < 1))  # also catches NaN
    if np.any(bad):
        raise ValueError(
            f"{name} must lie in the open interval (0, 1) ({meaning}), got {_show(value)}"
        )
    return arr


def check_half_open_unit_interval(name: str, value: Any, meaning: str) -> NDArray[np.float64]:
    """Values in (0, 1]; ``meaning`` says what the quantity is."""
    arr = as_float_array(name, value)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    bad = ~((arr > 0) & (arr <= 1))  # also catches NaN
    if np.any(bad):
        raise ValueError(f"{name} must lie in (0, 1] ({meaning}), got {_show(value)}")
    return arr


def check_positive_real(name: str, value: Any, meaning: str) -> NDArray[np.float64]:
    """Finite values > 0 (sizes in formulas may be real, e.g. the mean count k = p n)."""
    arr = as_float_array(name, value)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    bad = ~(np.isfinite(arr) & (arr > 0))
    if np.any(bad):
        raise ValueError(f"{name} must be finite and > 0 ({meaning}), got {_show(value)}")
    return arr


def check_increasing_1d(name: str, arr: NDArray[np.float64]) -> NDArray[np.float64]:
    """A 1-D axis with strictly increasing values."""
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence, got shape {arr.shape}")
    if arr.size > 1 and np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name} must be strictly increasing, got {_show(arr)}")
    return arr


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_matrix(name: str, value: Any) -> NDArray[np.float64]:
    """A finite, non-empty 2-D float matrix of shape (m, n)."""
    arr = as_float_array(name, value)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D matrix (m, n), got shape {arr.shape}")
    return check_bounded(name, arr)
