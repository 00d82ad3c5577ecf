"""Agreement between phase maps, boundary extraction, and best-of-k selection of seeds.

Maps are label arrays of shape ``(P, R)``: one row per density, one column per importance (the
main job's output contract). Boundaries are densities p*(r) below which a phase (by default
``"superposition"``) holds. Seeds are ranked by :func:`exact_seed_loss` (the exact expected loss
of :mod:`theory.landscape`, no sampling noise) wherever the model is small enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._validation import _show, as_float_array, check_finite, check_memory

#: How the seeds of a cell are combined (:func:`select_labels`).
SELECTIONS = ("best", "drop_worst")


def _labels(name: str, value: Any, ndim: int = 2) -> NDArray[np.str_]:
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged
        arr = np.asarray(None)
    what = {
        2: "a 2-D array of phase labels (density × importance)",
        3: "a 3-D array of phase labels (..., density, importance)",
    }.get(ndim, "labels")
    if (
        arr.ndim != ndim
        or arr.dtype.kind not in "UO"
        or not all(isinstance(v, str) for v in arr.ravel().tolist())
    ):
        raise ValueError(
            f"{name} must be {what}, got {_show(value)} of shape {arr.shape} and dtype {arr.dtype}"
        )
    return arr.astype(str)


def _positive_axis(name: str, value: Any) -> NDArray[np.float64]:
    """Finite values > 0 (densities, importances), as a float64 array."""
    arr = as_float_array(name, value)
    if arr.size == 0 or not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"{name} must be finite values > 0 (and not empty), got {_show(value)}")
    return arr


def _finite(name: str, value: Any) -> NDArray[np.float64]:
    arr = check_finite(name, value)
    return arr


def _select(select: Any) -> str:
    if select not in SELECTIONS:
        raise ValueError(f"select must be one of {SELECTIONS}, got {select!r}")
    return str(select)


def _seeds(seed_labels: Any, seed_loss: Any) -> tuple[NDArray[np.str_], NDArray[np.float64]]:
    labels = np.asarray(seed_labels)
    if labels.dtype.kind not in "UO" or labels.ndim < 1:
        raise ValueError(
            f"seed_labels must be an array of phase labels (..., seeds), got {_show(seed_labels)}"
        )
    loss = _finite("seed_loss", seed_loss)
    if loss.shape != labels.shape:
        raise ValueError(
            f"seed_loss must have the shape of seed_labels {labels.shape} (one loss per seed), "
            f"got shape {loss.shape}"
        )
    return labels.astype(str), loss


def _pair(a: Any, b: Any) -> tuple[NDArray[np.str_], NDArray[np.str_]]:
    x, y = _labels("first map", a), _labels("second map", b)
    if x.shape != y.shape:
        raise ValueError(
            f"first map and second map must have the same shape, got {x.shape} and {y.shape}"
        )
    return x, y


def exact_seed_loss(W: Any, b: Any, density: Any, importance: Any) -> NDArray[np.float64]:
    """Exact expected loss L = E[Σ_i I_i (x_i − ReLU(WᵀWx + b)_i)²] of trained tied ReLU models,
    for ranking seeds (best-of-k) without Monte Carlo noise.

    ``W`` (..., m, n), ``b`` (..., n), ``density``/``importance`` scalars or (..., n), leading
    axes broadcasting (e.g. W (P, R, K, m, n) with density (P, 1, 1, 1)); returns (...,).
    :func:`theory.landscape.expected_loss`, exact for n <= 12 (``ValueError`` naming n beyond).
    """
    from theory.landscape import MAX_EXACT_FEATURES, expected_loss

    w = np.asarray(W, dtype=np.float64)
    n = w.shape[-1] if w.ndim >= 2 else 0
    if n > MAX_EXACT_FEATURES:
        raise ValueError(
            f"exact_seed_loss evaluates all 2^n activity patterns: n must be <= "
            f"{MAX_EXACT_FEATURES}, got n = {n} (W of shape {w.shape}); rank such seeds by a "
            "Monte Carlo loss (toysup's seed_loss) instead"
        )
    return np.asarray(expected_loss(w, b, density, importance), dtype=np.float64)


def agreement(a: Any, b: Any) -> float:
    """Fraction of cells with equal labels."""
    x, y = _pair(a, b)
    return float(np.mean(x == y))


def cohen_kappa(a: Any, b: Any) -> float:
    """Cohen's κ = (p_o − p_e) / (1 − p_e) between two label maps.

    ``p_o`` is the observed agreement and ``p_e = Σ_k f_a(k) f_b(k)`` the agreement expected from
    the label frequencies alone. NaN when ``p_e = 1`` (both maps one and the same label: κ is
    undefined).
    """
    x, y = _pair(a, b)
    labels = np.union1d(x, y)
    fa = np.array([np.mean(x == k) for k in labels])
    fb = np.array([np.mean(y == k) for k in labels])
    p_o, p_e = np.mean(x == y), float(fa @ fb)
    if np.isclose(p_e, 1.0):
        return float("nan")
    return float((p_o - p_e) / (1 - p_e))


def cell_edges(axis: Any, *, name: str = "axis") -> NDArray[np.float64]:
    """Edges of log-spaced cells centred on ``axis`` (length N -> N + 1): geometric midpoints,
    the outer edges half a cell beyond the first and last centres. ``name`` is used in errors."""
    values = as_float_array(name, axis)
    ok = values.ndim == 1 and values.size >= 2 and np.all(np.isfinite(values) & (values > 0))
    if not ok or not np.all(np.diff(values) > 0):
        raise ValueError(
            f"{name} must be 1-D, finite, positive, strictly increasing and of length >= 2, "
            f"got {_show(axis)}"
        )
    centres = np.log(values)
    mid = (centres[1:] + centres[:-1]) / 2
    first, last = 2 * centres[0] - mid[0], 2 * centres[-1] - mid[-1]
    return np.exp(np.concatenate([[first], mid, [last]]))


@dataclass(frozen=True)
class Boundary:
    """A boundary read off a label map: one density per importance column.

    ``density`` (R,) is p*(r), the cell edge that best separates ``phase`` (below) from the rest
    (above); ``censored`` (R,) is ``"below"``/``"above"`` when the whole column is on one side
    (p* is then the grid's edge), else ``""``; ``misfit`` (R,) counts the cells on the wrong side of
    p* (0 for a clean step).
    """

    density: NDArray[np.float64]
    censored: NDArray[np.str_]
    misfit: NDArray[np.int64]


def boundary_from_labels(
    labels: Any, density: Any, *, phase: str | Sequence[str] = "superposition"
) -> Boundary:
    """For each column, the cut k that minimises the cells on the wrong side when rows < k are in
    ``phase`` (a label or several) and rows >= k are not; p* = the edge between rows k − 1 and k
    (ties: the middle of the tied cuts, rounded down)."""
    lab = _labels("labels", labels)
    edges = cell_edges(density, name="density")
    if not isinstance(phase, str) and not (
        isinstance(phase, Sequence) and phase and all(isinstance(v, str) for v in phase)
    ):
        raise TypeError(f"phase must be a label or a non-empty sequence of labels, got {phase!r}")
    if lab.shape[0] != edges.size - 1:
        raise ValueError(f"labels has {lab.shape[0]} rows but density has {edges.size - 1} values")
    inside = np.isin(lab, [phase] if isinstance(phase, str) else list(phase))  # (P, R)
    # wrong(k) = #(not phase) in rows < k + #(phase) in rows >= k, for k = 0..P
    below_not = np.vstack([np.zeros((1, lab.shape[1])), np.cumsum(~inside, axis=0)])
    above_in = inside.sum(0)[None, :] - np.vstack(
        [np.zeros((1, lab.shape[1])), np.cumsum(inside, axis=0)]
    )
    wrong = below_not + above_in  # (P + 1, R)
    best = wrong.min(0)
    cut = np.array(
        [int(np.median(np.flatnonzero(wrong[:, j] == best[j]))) for j in range(lab.shape[1])],
        dtype=np.int64,
    )
    censored = np.where(cut == 0, "below", np.where(cut == lab.shape[0], "above", ""))
    return Boundary(density=edges[cut], censored=censored, misfit=best.astype(np.int64))


def decades(estimate: Any, reference: Any) -> NDArray[np.float64]:
    """Signed error ``log10(estimate / reference)`` in decades of density."""
    est = _positive_axis("estimate", estimate)
    ref = _positive_axis("reference", reference)
    try:
        np.broadcast_shapes(est.shape, ref.shape)
    except ValueError:
        raise ValueError(
            f"estimate (shape {est.shape}) and reference (shape {ref.shape}) must broadcast "
            "together"
        ) from None
    return np.log10(est / ref)


def bootstrap_labels(
    seed_labels: Any,
    seed_loss: Any,
    *,
    n_boot: int,
    rng: np.random.Generator,
    select: str = "best",
) -> NDArray[np.str_]:
    """Label maps recomputed on bootstrap resamples of the seeds of every cell.

    ``seed_labels``/``seed_loss``: (P, R, K). Each resample draws K seeds with replacement per
    cell and applies the same selection rule as the main job (``select_labels``). Returns
    (n_boot, P, R).
    """
    labels, loss = _seeds(seed_labels, seed_loss)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {rng!r}")
    _select(select)
    k = labels.shape[-1]
    check_memory("n_boot", n_boot, 16.0 * n_boot * labels.size, "the resampled labels")
    idx = rng.integers(0, k, size=(n_boot, *labels.shape))
    return select_labels(
        np.take_along_axis(labels[None], idx, axis=-1),
        np.take_along_axis(loss[None], idx, axis=-1),
        select=select,
    )[0]


def select_labels(
    seed_labels: Any, seed_loss: Any, *, select: str = "best"
) -> tuple[NDArray[np.str_], NDArray[np.float64]]:
    """Combine the seeds of each cell (last axis) into one label, and the share of seeds behind it.

    ``select="best"``: the label of the lowest-loss seed. ``select="drop_worst"``: discard the
    highest-loss seed (the paper's phase-change protocol), then the majority label of the rest,
    ties going to the label of the lowest-loss seed among them.
    """
    labels, loss = _seeds(seed_labels, seed_loss)
    select = _select(select)
    order = np.argsort(loss, axis=-1, kind="stable")
    ranked = np.take_along_axis(labels, order, axis=-1)  # lowest loss first
    if select == "best":
        chosen = ranked[..., 0]
        return chosen, np.mean(labels == chosen[..., None], axis=-1)
    kept = ranked[..., :-1] if ranked.shape[-1] > 1 else ranked
    votes = np.stack([np.sum(kept == kept[..., [i]], axis=-1) for i in range(kept.shape[-1])], -1)
    # argmax takes the first maximum: among tied labels, the one with the lowest-loss seed
    winner = np.take_along_axis(kept, np.argmax(votes, axis=-1)[..., None], axis=-1)[..., 0]
    return winner, np.max(votes, axis=-1) / kept.shape[-1]


def boundary_spread(
    boot_labels: NDArray[np.str_],
    density: Sequence[float] | NDArray[np.float64],
    *,
    phase: str | Sequence[str] = "superposition",
) -> NDArray[np.float64]:
    """Standard deviation, in decades, of the boundary over bootstrap label maps (n_boot, P, R)."""
    boot_labels = _labels("boot_labels", boot_labels, ndim=3)
    if len(boot_labels) == 0:
        raise ValueError("boot_labels must hold at least one bootstrap map, got none")
    logs = np.stack(
        [np.log10(boundary_from_labels(m, density, phase=phase).density) for m in boot_labels],
        axis=0,
    )
    return logs.std(axis=0, ddof=1) if len(boot_labels) > 1 else np.zeros(logs.shape[1])
