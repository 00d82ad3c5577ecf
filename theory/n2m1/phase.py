"""Phase labels of n=2, m=1 solutions (docs/conventions.md, "Phase labels"); the trainer side uses
the same rule."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._validation import check_finite, check_last_axis

#: A feature i is represented iff |w_i| > REPRESENTED_THRESHOLD.
REPRESENTED_THRESHOLD = 0.5

#: Every label ``phase_label`` can return.
PHASES = ("not_represented", "dedicated", "superposition", "confused", "none")


def phase_label(
    w: Any, b: Any = None, *, threshold: float = REPRESENTED_THRESHOLD
) -> NDArray[np.str_]:
    """Phase label of each W = [w_first, w_extra]; ``w`` has shape (..., 2), result (...).

    Feature i is represented iff |w_i| > ``REPRESENTED_THRESHOLD``. Only the first feature:
    ``"not_represented"`` (the extra feature is dropped); only the extra one: ``"dedicated"``;
    both with opposite signs: ``"superposition"`` (an antipodal pair); both with the same sign:
    ``"confused"``; neither: ``"none"``. ``b`` (shape (..., 2)) is validated and accepted for
    symmetry with the trainer's API, but does not enter the rule. ``threshold`` exists for
    sensitivity studies only; the shared rule is the default.
    """
    number = isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
    if not (number and np.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold!r}")
    w_arr = check_finite("w", w)
    check_last_axis("w", w_arr, 2)
    if b is not None:
        b_arr = check_finite("b", b)
        check_last_axis("b", b_arr, 2)
        try:
            np.broadcast_shapes(w_arr.shape, b_arr.shape)
        except ValueError as exc:
            raise ValueError(
                f"w and b must broadcast together, got shapes {w_arr.shape} and {b_arr.shape}"
            ) from exc
    rep = np.abs(w_arr) > threshold
    first, extra = rep[..., 0], rep[..., 1]
    same_sign = w_arr[..., 0] * w_arr[..., 1] > 0
    both = np.where(same_sign, "confused", "superposition")
    one = np.where(first, "not_represented", np.where(extra, "dedicated", "none"))
    return np.asarray(np.where(first & extra, both, one), dtype="<U15")
