"""Metrics of learned weights (paper §"Superposition as a Phase Change", §"Geometry").

Every function takes ``W`` of shape ``(..., m, n)`` (numpy array or torch tensor; leading axes are
instances) and returns numpy arrays. Feature i's direction is the column ``W[..., :, i]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from toysup._validation import check_float, check_weights

#: A feature counts as represented when its norm ‖W_i‖ exceeds this. Learned norms are close to
#: 0 or to 1 (‖W_i‖² ≈ 1 makes the tied decoder reproduce x_i), so any threshold well inside (0, 1)
#: gives the same counts; 0.5 is the midpoint. theory.n2m1 uses the same rule for its phase map.
REPRESENTED_THRESHOLD = 0.5
#: Two represented features form an antipodal pair when their cosine is below this.
ANTIPODAL_COSINE = -0.8

N2M1_LABELS = ("not_represented", "dedicated", "superposition", "confused", "none")
N3M2_LABELS = (
    "not_represented",
    "dedicated",
    "superposition_extra",
    "superposition_pair",
    "superposition_other",
    "other",
)


def _as_numpy(W: Any) -> NDArray[np.float64]:
    arr = check_weights("W", W, what="an array of shape (..., m, n)")
    if arr.ndim < 2 or min(arr.shape[-2:]) < 1:
        raise ValueError(f"W must have shape (..., m, n) with m, n >= 1, got shape {arr.shape}")
    return arr


def _threshold(name: str, value: Any) -> float:
    return check_float(name, value, exclusive_minimum=0.0)


def feature_norms(W: Any) -> NDArray[np.float64]:
    """‖W_i‖ per feature: (..., m, n) -> (..., n)."""
    return np.linalg.norm(_as_numpy(W), axis=-2)


def gram(W: Any) -> NDArray[np.float64]:
    """WᵀW: (..., m, n) -> (..., n, n); entry (i, j) is W_i · W_j."""
    arr = _as_numpy(W)
    return np.swapaxes(arr, -1, -2) @ arr


def _overlaps(W: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(Ŵ_i · W_j)² as (..., i, j) and ‖W_i‖ (..., n); zero rows for zero features."""
    arr = _as_numpy(W)
    norms = np.linalg.norm(arr, axis=-2)
    G = np.swapaxes(arr, -1, -2) @ arr
    safe = np.where(norms > 0, norms, 1.0)
    proj = G / safe[..., :, None]
    proj = np.where(norms[..., :, None] > 0, proj, 0.0)
    return proj**2, norms


def interference(W: Any) -> NDArray[np.float64]:
    """Σ_{j≠i} (Ŵ_i · W_j)² per feature: (..., m, n) -> (..., n). Zero for zero features."""
    sq, _ = _overlaps(W)
    return sq.sum(-1) - np.diagonal(sq, axis1=-2, axis2=-1)


def dimensionality(W: Any) -> NDArray[np.float64]:
    """Feature dimensionality D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)² (j = i included): (..., n).

    1 for a feature with a dedicated dimension, 1/2 for an antipodal pair, d/N for a unit tight
    frame of N vectors in d dimensions; 0 for a zero feature (paper §"Feature Dimensionality").
    """
    sq, norms = _overlaps(W)
    denom = sq.sum(-1)
    return np.where(norms > 0, norms**2 / np.where(denom > 0, denom, 1.0), 0.0)


def dimensions_per_feature(W: Any) -> NDArray[np.float64]:
    """D* = m / ‖W‖²_F: (..., m, n) -> (...)."""
    arr = _as_numpy(W)
    return arr.shape[-2] / np.sum(arr**2, axis=(-2, -1))


def n_represented(W: Any, threshold: float = REPRESENTED_THRESHOLD) -> NDArray[np.int64]:
    """Number of features with ‖W_i‖ > ``threshold``: (..., m, n) -> (...).

    Caveat: when the optimum is degenerate (equal importances, dense features: any rotation of an
    m-dimensional subspace is optimal) the norms can spread evenly, ‖W_i‖² ≈ m/n for every i, and
    the count depends on the threshold (m = 19, n = 64 gives norms ≈ 0.54 and a count of 64).
    ‖W‖²_F (= m/D*) is then the better continuous measure.
    """
    threshold = _threshold("threshold", threshold)
    return np.sum(feature_norms(W) > threshold, axis=-1)


def phase_label_n2m1(W: Any, threshold: float = REPRESENTED_THRESHOLD) -> NDArray[np.str_]:
    """Phase of n=2, m=1 models (labels of docs/conventions.md): (..., 1, 2) -> (...) strings.

    Feature 0 is the first feature, feature 1 the extra one. ``"not_represented"``: only feature 0
    represented; ``"dedicated"``: only the extra feature; ``"superposition"``: both, opposite
    signs; ``"confused"``: both, same sign; ``"none"``: neither.
    """
    arr = _as_numpy(W)
    threshold = _threshold("threshold", threshold)
    if arr.shape[-2:] != (1, 2):
        raise ValueError(f"phase_label_n2m1 needs W of shape (..., 1, 2), got {arr.shape}")
    w = arr[..., 0, :]
    rep = np.abs(w) > threshold
    both = rep[..., 0] & rep[..., 1]
    opposite = w[..., 0] * w[..., 1] < 0
    return np.select(
        [both & opposite, both, rep[..., 0], rep[..., 1]],
        ["superposition", "confused", "not_represented", "dedicated"],
        default="none",
    )


def phase_label_n3m2(
    W: Any,
    threshold: float = REPRESENTED_THRESHOLD,
    antipodal_cosine: float = ANTIPODAL_COSINE,
) -> NDArray[np.str_]:
    """Phase of n=3, m=2 models: (..., 2, 3) -> (...) strings, named after the paper's candidates.

    Features 0, 1 have importance 1, feature 2 is the extra one.
    ``"not_represented"`` (W ⊥ [0,0,1]): features 0 and 1 represented, not the extra;
    ``"dedicated"`` (W ⊥ [1,0,0]): the extra and one unit feature represented;
    ``"superposition_extra"`` (W ⊥ [0,1,1]): all three, the extra antipodal to a unit feature;
    ``"superposition_pair"`` (W ⊥ [1,1,0]): all three, the two unit features antipodal;
    ``"superposition_other"``: all three in another arrangement (a triangle, a fan, or both kinds
    of pair) — still three features in two dimensions; ``"other"``: at most one feature
    represented. The labels partition W by the number of represented features (3, 2, <= 1);
    ``theory.n3m2.phase_label`` is the same rule (docs/phase_boundary.md, "Labels").
    """
    arr = _as_numpy(W)
    threshold = _threshold("threshold", threshold)
    antipodal_cosine = check_float("antipodal_cosine", antipodal_cosine, minimum=-1.0, maximum=1.0)
    if arr.shape[-2:] != (2, 3):
        raise ValueError(f"phase_label_n3m2 needs W of shape (..., 2, 3), got {arr.shape}")
    norms = feature_norms(arr)
    rep = norms > threshold
    count = rep.sum(-1)
    G = gram(arr)
    safe = np.where(norms > 0, norms, 1.0)
    cos = G / (safe[..., :, None] * safe[..., None, :])
    pair_01 = cos[..., 0, 1] < antipodal_cosine
    pair_extra = (cos[..., 0, 2] < antipodal_cosine) | (cos[..., 1, 2] < antipodal_cosine)
    return np.select(
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
    )
