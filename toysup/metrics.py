"""Metrics of learned weights (paper §"Superposition as a Phase Change", §"Geometry",
§"Superposition in a Privileged Basis", §"Correlated and Anticorrelated Features", §"Computation in
Superposition").

Every function takes ``W`` of shape ``(..., m, n)`` (numpy array or torch tensor; leading axes are
instances) and returns numpy arrays. Feature i's direction is the column ``W[..., :, i]``; neuron
j's weights are the row ``W[..., j, :]``.
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
#: A neuron is polysemantic when no single feature carries this fraction of its squared weight:
#: 3/4 lies halfway between a neuron devoted to one feature (1) and one shared equally by two
#: (1/2); a neuron whose second feature has weight w relative to the first counts as polysemantic
#: from w ≈ 0.58 (1 / (1 + w²) < 3/4).
POLYSEMANTIC_THRESHOLD = 0.75
#: Neurons whose weight row (its positive part, for ``positive=True``) has a norm at most this are
#: dead and counted neither way: learned rows are near 0 or of order 1, as feature norms are.
NEURON_NORM_THRESHOLD = 0.5
#: A feature counts as computed (absolute-value task) when the single-feature response explains
#: more than this fraction of the variance of |x_i| (:func:`abs_fit`).
ABS_FIT_THRESHOLD = 0.5

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


def _rows(W: Any, positive: bool) -> NDArray[np.float64]:
    arr = _as_numpy(W)
    return np.maximum(arr, 0.0) if positive else arr


def neuron_monosemanticity(W: Any, *, positive: bool = False) -> NDArray[np.float64]:
    """Fraction of each neuron's squared weight on its largest feature: (..., m, n) -> (..., m).

    ``max_i W_ji² / Σ_i W_ji²``: 1 for a neuron that reads one feature, 1/k for one that reads k
    features equally, NaN for an all-zero row (paper §"Superposition in a Privileged Basis": a
    monosemantic neuron responds to one feature). ``positive=True`` uses the positive part of each
    row, ``max(W_ji, 0)``: what the neuron responds to (a ReLU neuron with non-negative inputs is
    driven only by its positive weights), ignoring the inhibitory weights the privileged-basis model
    grows at low density, which otherwise dominate the raw fraction (docs/training.md, "Neuron
    metrics").
    """
    rows = np.abs(_rows(W, positive))
    scale = rows.max(-1, keepdims=True)  # rescaled to a largest entry of 1: no under/overflow
    squares = (rows / np.where(scale > 0, scale, 1.0)) ** 2
    total = squares.sum(-1)  # >= 1 for a non-zero row (its largest entry is 1), 0 for a zero row
    return np.where(total > 0, 1.0 / np.where(total > 0, total, 1.0), np.nan)


def n_polysemantic(
    W: Any,
    threshold: float = POLYSEMANTIC_THRESHOLD,
    *,
    positive: bool = False,
    min_norm: float = NEURON_NORM_THRESHOLD,
) -> NDArray[np.int64]:
    """Number of polysemantic neurons: (..., m, n) -> (...).

    A neuron counts when its row (positive part for ``positive=True``) has norm above
    ``min_norm`` (:data:`NEURON_NORM_THRESHOLD`: dead neurons count neither way) and its
    :func:`neuron_monosemanticity` is below ``threshold`` (:data:`POLYSEMANTIC_THRESHOLD`).
    """
    rows = _rows(W, positive)
    alive = np.linalg.norm(rows, axis=-1) > min_norm
    mono = neuron_monosemanticity(rows)
    return np.sum(alive & (mono < threshold), axis=-1)


def neuron_features(W: Any, *, positive: bool = False) -> NDArray[np.int64]:
    """Each neuron's largest feature (by squared weight, of the positive part for
    ``positive=True``): (..., m, n) -> (..., m) indices."""
    return np.argmax(_rows(W, positive) ** 2, axis=-1)


def set_cosines(W: Any, set_size: int) -> NDArray[np.float64]:
    """Cosines between the features of each set of ``set_size`` consecutive features (the sets of
    ``FeatureConfig(structure="correlated" | "anticorrelated")``): (..., m, n) ->
    (..., n / set_size, set_size, set_size); NaN where a feature is zero.

    Paper §"Correlated and Anticorrelated Features": anticorrelated features tend to be antipodal
    (cosine −1), correlated ones orthogonal (cosine 0) rather than sharing a direction.
    """
    arr = _as_numpy(W)
    n = arr.shape[-1]
    if isinstance(set_size, bool) or not isinstance(set_size, (int, np.integer)) or set_size < 1:
        raise ValueError(f"set_size must be a positive integer, got {set_size!r}")
    if n % set_size:
        raise ValueError(f"set_size ({set_size}) must divide the number of features ({n})")
    norms = np.linalg.norm(arr, axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = arr / np.where(norms > 0, norms, np.nan)[..., None, :]
    sets = unit.reshape(*arr.shape[:-1], n // set_size, set_size)  # (..., m, S, k)
    return np.einsum("...msa,...msb->...sab", sets, sets)


def _abs_responses(W: Any, W_dec: Any, b: Any, points: int) -> tuple[NDArray[Any], NDArray[Any]]:
    """Output i of ``y = ReLU(W_dec ReLU(W x) + b)`` for x = v e_i, v on a grid of [−1, 1]:
    (..., n, points), and the grid."""
    enc, dec = _as_numpy(W), _as_numpy(W_dec)
    bias = b.detach().cpu().numpy() if hasattr(b, "detach") else b
    bias = np.asarray(bias, dtype=np.float64)
    v = np.linspace(-1.0, 1.0, points)
    h = np.maximum(enc[..., :, :, None] * v, 0.0)  # (..., m, n, v): ReLU(W_ji v)
    y = np.einsum("...im,...miv->...iv", dec, h) + bias[..., :, None]  # output i from feature i
    return np.maximum(y, 0.0), v


def abs_recovered(W: Any, W_dec: Any, b: Any, *, points: int = 201) -> NDArray[np.float64]:
    """Fraction of ``E[x_i²]`` that output i reproduces of ``|x_i|`` when feature i alone is
    active, ``1 − Σ_v (y_i(v e_i) − |v|)² / Σ_v v²`` over v evenly spaced on [−1, 1]: 1 for an
    exact ``|x_i|``, 1/2 for one sign only (``ReLU(x_i)``), 0 for a zero output. W (..., m, n),
    W_dec (..., n, m), b (..., n) -> (..., n). (Single-feature inputs are what the model sees at
    low density; at density 1 they are off its input distribution.)"""
    y, v = _abs_responses(W, W_dec, b, points)
    return 1 - ((y - np.abs(v)) ** 2).sum(-1) / (v**2).sum()


def abs_fit(W: Any, W_dec: Any, b: Any, *, points: int = 201) -> NDArray[np.float64]:
    """How well each output computes ``|x_i|`` when feature i alone is active, for the
    absolute-value circuit ``y = ReLU(W_dec ReLU(W x) + b)`` (paper §"Computation in
    Superposition"): W (..., m, n), W_dec (..., n, m), b (..., n) -> (..., n).

    The coefficient of determination ``1 − Σ_v (y_i(v e_i) − |v|)² / Σ_v (|v| − mean |v|)²`` over
    ``points`` values v evenly spaced on [−1, 1]: 1 for an exact ``|x_i|``, about −1 for a
    feature passed through for one sign only (``ReLU(x_i)``), ≤ 0 for a constant output.
    """
    y, v = _abs_responses(W, W_dec, b, points)
    target = np.abs(v)
    return 1 - ((y - target) ** 2).sum(-1) / ((target - target.mean()) ** 2).sum()


def n_abs_computed(
    W: Any, W_dec: Any, b: Any, threshold: float = ABS_FIT_THRESHOLD
) -> NDArray[np.int64]:
    """Number of features whose :func:`abs_fit` exceeds ``threshold``: (...)."""
    return np.sum(abs_fit(W, W_dec, b) > threshold, axis=-1)


def abs_fit_by_sign(W: Any, W_dec: Any, b: Any, *, points: int = 201) -> NDArray[np.float64]:
    """:func:`abs_fit` for each sign of the input separately: (..., n, 2), index 0 for
    ``x_i > 0``, 1 for ``x_i < 0``; on each half of the grid, ``1 − Σ_v (y_i − |v|)² /
    Σ_v (|v| − mean |v|)²``. 1 when that half of ``|x_i|`` is computed, ≤ 0 for a constant output
    (a bias alone): a fit above 0 needs a hidden neuron that responds on that side.

    A ReLU neuron ``ReLU(W_j · x)`` responds to ``x = v e_i`` on one sign of v only (that of
    ``W_ji``), so a model whose neurons each read a single feature computes at most m signs; more
    than m (:func:`n_abs_signs_computed`) needs neurons shared between features, i.e. computation
    in superposition (paper §"Computation in Superposition"). Counting each sign as half a
    feature, m signs are the m/2 features of a circuit with a neuron pair per feature."""
    y, v = _abs_responses(W, W_dec, b, points)
    fits = []
    for side in (v > 0, v < 0):
        target = np.abs(v[side])
        error = ((y[..., side] - target) ** 2).sum(-1)
        fits.append(1 - error / ((target - target.mean()) ** 2).sum())
    return np.stack(fits, axis=-1)


def n_abs_signs_computed(
    W: Any, W_dec: Any, b: Any, threshold: float = ABS_FIT_THRESHOLD
) -> NDArray[np.int64]:
    """Number of (feature, sign) halves whose :func:`abs_fit_by_sign` exceeds ``threshold``:
    (...). More than m (the hidden size) is computation in superposition."""
    return np.sum(abs_fit_by_sign(W, W_dec, b) > threshold, axis=(-2, -1))
