"""Phase labels of n=3, m=2 solutions, named after the paper's four candidates.

The rule is the trainer side's (``toysup.metrics.phase_label_n3m2``; the tests check that both
agree on random weights and thresholds), restated here because ``theory`` does not import
``toysup``. Features 0 and 1 have importance 1, feature 2 is the extra one. Feature i is
represented iff ‖W_i‖ > ``threshold`` (0.5); two represented features form an antipodal pair iff
their cosine is below ``antipodal_cosine`` (−0.8). The labels partition W by the number of
represented features: three (superposition: three features in two dimensions), two
(``not_represented``, ``dedicated``), at most one (``other``). docs/phase_boundary.md, "Labels".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._validation import check_finite

#: A feature i is represented iff ‖W_i‖ > REPRESENTED_THRESHOLD (the trainer's rule).
REPRESENTED_THRESHOLD = 0.5
#: Two represented features are an antipodal pair iff their cosine is below this.
ANTIPODAL_COSINE = -0.8
#: Every label ``phase_label`` can return: the four candidates', the other arrangements of three
#: represented features (the exact map's triangle), and "other" (at most one represented).
PHASES = (
    "not_represented",
    "dedicated",
    "superposition_extra",
    "superposition_pair",
    "superposition_other",
    "other",
)
#: The labels counted as superposition (below the boundary): all three features represented in
#: two dimensions, whatever their arrangement.
SUPERPOSITION_PHASES = ("superposition_extra", "superposition_pair", "superposition_other")
#: The paper's two antipodal arrangements only (the candidates' notion of the boundary).
ANTIPODAL_PHASES = ("superposition_extra", "superposition_pair")


def _number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    if not (np.isfinite(out) and low <= out <= high):
        raise ValueError(f"{name} must be a finite number in [{low:g}, {high:g}], got {value!r}")
    return out


def check_threshold(threshold: Any) -> float:
    """The representation threshold as a float: a real number > 0 (bool refused)."""
    out = _number("threshold", threshold, 0.0, np.inf)
    if out == 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    return out


def phase_label(
    W: Any,
    *,
    threshold: float = REPRESENTED_THRESHOLD,
    antipodal_cosine: float = ANTIPODAL_COSINE,
) -> NDArray[np.str_]:
    """Label of each W, (..., 2, 3) -> (...) strings (see the module docstring).

    ``"not_represented"``: features 0 and 1 represented, not the extra (W ⊥ [0,0,1]);
    ``"dedicated"``: the extra and one unit feature (W ⊥ [1,0,0]); ``"superposition_extra"``: all
    three, the extra antipodal to a unit feature (W ⊥ [0,1,1]); ``"superposition_pair"``: all
    three, the unit features antipodal (W ⊥ [1,1,0]); ``"superposition_other"``: all three in
    another arrangement (a triangle, a fan, or both kinds of pair); ``"other"``: at most one
    feature represented. ``threshold`` (> 0) and ``antipodal_cosine`` (in [−1, 1]) exist for
    sensitivity studies of the rule.
    """
    threshold = check_threshold(threshold)
    antipodal_cosine = _number("antipodal_cosine", antipodal_cosine, -1.0, 1.0)
    w = check_finite("W", W)
    if w.ndim < 2 or w.shape[-2:] != (2, 3):
        raise ValueError(f"W must have shape (..., 2, 3), got {w.shape}")
    norms = np.linalg.norm(w, axis=-2)
    rep = norms > threshold
    count = rep.sum(-1)
    gram = np.swapaxes(w, -1, -2) @ w
    safe = np.where(norms > 0, norms, 1.0)
    cos = gram / (safe[..., :, None] * safe[..., None, :])
    pair_01 = cos[..., 0, 1] < antipodal_cosine
    pair_extra = (cos[..., 0, 2] < antipodal_cosine) | (cos[..., 1, 2] < antipodal_cosine)
    return np.asarray(
        np.select(
            [
                (count == 2) & rep[..., 0] & rep[..., 1],
                (count == 2) & rep[..., 2],
                (count == 3) & pair_01 & ~pair_extra,
                (count == 3) & pair_extra & ~pair_01,
                count == 3,
            ],
            [
                "not_represented",
                "dedicated",
                "superposition_pair",
                "superposition_extra",
                "superposition_other",
            ],
            default="other",
        ),
        dtype="<U19",
    )
