"""Phase labels of n=3, m=2 solutions, named after the paper's four candidates.

The rule is the trainer side's (``toysup.metrics.phase_label_n3m2``; the tests check that both
agree), restated here because ``theory`` does not import ``toysup``. Features 0 and 1 have
importance 1, feature 2 is the extra one. Feature i is represented iff ‖W_i‖ > 0.5; two
represented features form an antipodal pair iff their cosine is below −0.8.
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
#: Every label ``phase_label`` can return: the four candidates' and "other".
PHASES = ("not_represented", "dedicated", "superposition_extra", "superposition_pair", "other")
#: The labels counted as superposition (below the boundary).
SUPERPOSITION_PHASES = ("superposition_extra", "superposition_pair")


def phase_label(W: Any) -> NDArray[np.str_]:
    """Label of each W, (..., 2, 3) -> (...) strings (see the module docstring).

    ``"not_represented"``: features 0 and 1 represented, not the extra (W ⊥ [0,0,1]);
    ``"dedicated"``: the extra and one unit feature (W ⊥ [1,0,0]); ``"superposition_extra"``: all
    three, the extra antipodal to a unit feature (W ⊥ [0,1,1]); ``"superposition_pair"``: all
    three, the unit features antipodal (W ⊥ [1,1,0]); ``"other"``: anything else (a triangle,
    fewer than two features represented, or both kinds of pair).
    """
    w = check_finite("W", W)
    if w.ndim < 2 or w.shape[-2:] != (2, 3):
        raise ValueError(f"W must have shape (..., 2, 3), got {w.shape}")
    norms = np.linalg.norm(w, axis=-2)
    rep = norms > REPRESENTED_THRESHOLD
    count = rep.sum(-1)
    gram = np.swapaxes(w, -1, -2) @ w
    safe = np.where(norms > 0, norms, 1.0)
    cos = gram / (safe[..., :, None] * safe[..., None, :])
    pair_01 = cos[..., 0, 1] < ANTIPODAL_COSINE
    pair_extra = (cos[..., 0, 2] < ANTIPODAL_COSINE) | (cos[..., 1, 2] < ANTIPODAL_COSINE)
    return np.asarray(
        np.select(
            [
                (count == 2) & rep[..., 0] & rep[..., 1],
                (count == 2) & rep[..., 2],
                (count == 3) & pair_01 & ~pair_extra,
                (count == 3) & pair_extra & ~pair_01,
            ],
            ["not_represented", "dedicated", "superposition_pair", "superposition_extra"],
            default="other",
        ),
        dtype="<U19",
    )
