"""Agreement between phase maps, and boundary extraction.

Maps are label arrays of shape ``(P, R)``: one row per density, one column per importance (the
main job's output contract). Boundaries are densities p*(r) below which a phase (by default
``"superposition"``) holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


def _labels(name: str, value: Any) -> NDArray[np.str_]:
    arr = np.asarray(value)
    if arr.ndim != 2 or arr.dtype.kind not in "UO":
        raise ValueError(
            f"{name} must be a 2-D array of phase labels (density × importance), "
            f"got shape {arr.shape} and dtype {arr.dtype}"
        )
    return arr.astype(str)


def _pair(a: Any, b: Any) -> tuple[NDArray[np.str_], NDArray[np.str_]]:
    x, y = _labels("first map", a), _labels("second map", b)
    if x.shape != y.shape:
        raise ValueError(f"maps must have the same shape, got {x.shape} and {y.shape}")
    return x, y


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


def cell_edges(axis: Any) -> NDArray[np.float64]:
    """Edges of log-spaced cells centred on ``axis`` (length N -> N + 1): geometric midpoints,
    the outer edges half a cell beyond the first and last centres."""
    centres = np.log(np.asarray(axis, dtype=np.float64))
    if centres.ndim != 1 or centres.size < 2 or not np.all(np.diff(centres) > 0):
        raise ValueError(f"axis must be increasing, positive and of length >= 2, got {axis!r}")
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
    edges = cell_edges(density)
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
        [int(np.median(np.flatnonzero(wrong[:, j] == best[j]))) for j in range(lab.shape[1])]
    )
    censored = np.where(cut == 0, "below", np.where(cut == lab.shape[0], "above", ""))
    return Boundary(density=edges[cut], censored=censored, misfit=best.astype(np.int64))


def decades(estimate: Any, reference: Any) -> NDArray[np.float64]:
    """Signed error ``log10(estimate / reference)`` in decades of density."""
    return np.log10(
        np.asarray(estimate, dtype=np.float64) / np.asarray(reference, dtype=np.float64)
    )


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
    labels = np.asarray(seed_labels).astype(str)
    loss = np.asarray(seed_loss, dtype=np.float64)
    k = labels.shape[-1]
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
    labels = np.asarray(seed_labels).astype(str)
    loss = np.asarray(seed_loss, dtype=np.float64)
    order = np.argsort(loss, axis=-1, kind="stable")
    ranked = np.take_along_axis(labels, order, axis=-1)  # lowest loss first
    if select == "best":
        chosen = ranked[..., 0]
        return chosen, np.mean(labels == chosen[..., None], axis=-1)
    if select != "drop_worst":
        raise ValueError(f"select must be 'best' or 'drop_worst', got {select!r}")
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
    logs = np.stack(
        [np.log10(boundary_from_labels(m, density, phase=phase).density) for m in boot_labels],
        axis=0,
    )
    return logs.std(axis=0, ddof=1) if len(boot_labels) > 1 else np.zeros(logs.shape[1])
