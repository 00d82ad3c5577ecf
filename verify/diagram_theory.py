"""The theory side of the phase diagram: theory maps, trained seeds' labels and exact losses, and
the comparisons that need theory (excess loss over the optimum, threshold sensitivity, the cells
where the paper's candidates are wrong).

Maps are (P, R): one row per density, one column per importance. n=2, m=1: :mod:`theory.n2m1`
(importances (1, r)); n=3, m=2: :mod:`theory.n3m2` (importances (1, 1, r)), the exact optimum
through :mod:`theory.landscape`. Labels: docs/phase_boundary.md, "Labels".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory import n2m1, n3m2
from toysup.metrics import phase_label_n2m1, phase_label_n3m2
from verify import compare

#: Labels counted as superposition (below the boundary). n=3, m=2: all three features
#: represented in two dimensions — the paper's two antipodal arrangements and the exact
#: optimum's triangle ("superposition_other"); docs/phase_boundary.md, "Labels".
SUPERPOSITION = {(2, 1): ("superposition",), (3, 2): tuple(n3m2.SUPERPOSITION_PHASES)}
#: Representation thresholds of the sensitivity check (the rule's is 0.5).
THRESHOLDS = (0.4, 0.45, 0.5, 0.55, 0.6)
#: An exact label is fragile when it changes for a threshold in this range (a weight of the
#: optimum within 0.05 of 0.5: trained weights scatter by about 0.01-0.02 around the optimum's,
#: docs/phase_boundary.md "Threshold sensitivity").
FRAGILE_LOW, FRAGILE_HIGH = 0.45, 0.55
#: A trained model's exact loss may undercut the exact optimum's by rounding only (both are
#: evaluated to ~1e-14 relative, docs/landscape.md §5.3; the optimum is a Newton stop at ~1e-12).
BELOW_OPTIMUM_RTOL = 1e-9
#: Cells whose best seed loses more than this fraction above the optimum count as not converged.
EXCESS_RTOL = 0.01
#: Bisection steps of the exact n=3, m=2 boundary: 12 halvings of a scan interval (a factor
#: 100^(1/23) ≈ 1.22) locate p* to 5e-5 relative (2e-5 decades), far below a grid cell; the
#: theory's default of 24 costs twice as long for digits a diagram cannot resolve.
N3M2_BISECT = 12

LOSS_KIND = {
    (2, 1): "exact expected loss (theory.n2m1)",
    (3, 2): "exact expected loss (theory.landscape)",
}


@dataclass(frozen=True)
class TheoryMaps:
    """Theory on a diagram's grid. ``candidate``, ``exact``: (P, R) labels; ``exact_W``
    (P, R, m, n), ``exact_b`` (P, R, n), ``exact_loss`` (P, R): the exact global optimum of each
    cell; ``boundary_candidate``, ``boundary_exact``: p*(r), (R,) (NaN where undefined)."""

    candidate: NDArray[np.str_]
    exact: NDArray[np.str_]
    exact_W: NDArray[np.float64]
    exact_b: NDArray[np.float64]
    exact_loss: NDArray[np.float64]
    boundary_candidate: NDArray[np.float64]
    boundary_exact: NDArray[np.float64]


def theory_maps(
    shape: tuple[int, int],
    importance: NDArray[np.float64],
    density: NDArray[np.float64],
    *,
    seed: int,
) -> TheoryMaps:
    """Candidate and exact maps and boundaries for (n, m) = ``shape`` (both cached on disk)."""
    r, p = importance, density
    if shape == (2, 1):
        ex = n2m1.exact_phase_map(r, p, seed=seed)
        return TheoryMaps(
            candidate=np.asarray(n2m1.candidate_phase_map(r, p)).astype(str),
            exact=np.asarray(ex.labels).astype(str),
            exact_W=np.asarray(ex.w, dtype=float)[..., None, :],
            exact_b=np.asarray(ex.b, dtype=float),
            exact_loss=np.asarray(ex.loss, dtype=float),
            boundary_candidate=np.asarray(n2m1.candidate_boundary(r), dtype=float),
            boundary_exact=np.asarray(n2m1.exact_boundary(r, seed=seed), dtype=float),
        )
    ex3 = n3m2.exact_phase_map(r, p, seed=seed)
    low = min(0.01, float(p[0]))  # the exact boundary's scan must start in superposition
    return TheoryMaps(
        candidate=np.asarray(n3m2.candidate_phase_map(r, p)).astype(str),
        exact=np.asarray(ex3.labels).astype(str),
        exact_W=np.asarray(ex3.W, dtype=float),
        exact_b=np.asarray(ex3.b, dtype=float),
        exact_loss=np.asarray(ex3.loss, dtype=float),
        boundary_candidate=np.asarray(n3m2.phase_boundary_density(r), dtype=float),
        boundary_exact=np.asarray(
            n3m2.exact_boundary(r, seed=seed, density_range=(low, 1.0), n_bisect=N3M2_BISECT),
            dtype=float,
        ),
    )


def label_models(W: Any, shape: tuple[int, int], *, threshold: float = 0.5) -> NDArray[np.str_]:
    """Phase labels of (..., m, n) weights (toysup.metrics' rule, the same as theory's)."""
    if shape == (2, 1):
        return np.asarray(phase_label_n2m1(W, threshold=threshold)).astype(str)
    return np.asarray(phase_label_n3m2(W, threshold=threshold)).astype(str)


def seed_losses(
    W: NDArray[Any], b: NDArray[Any], density: NDArray[np.float64], importance: NDArray[Any]
) -> NDArray[np.float64]:
    """Exact expected loss of every trained model: W (P, R, K, m, n), b (P, R, K, n), density
    (P,), importance (P, R, n) -> (P, R, K). n=2, m=1: theory.n2m1; otherwise theory.landscape."""
    p = density[:, None, None, None]
    imp = importance[:, :, None, :]
    if W.shape[-2:] == (1, 2):
        return np.asarray(n2m1.expected_loss(W[..., 0, :], b, p, imp), dtype=float)
    return compare.exact_seed_loss(W, b, p, imp)


def excess_loss(best_loss: NDArray[np.float64], optimum: NDArray[np.float64]) -> dict[str, Any]:
    """How far each cell's best trained model is above the exact optimum, (L − L*) / L*.

    Returns ``relative`` (P, R) and a summary: median, 90th percentile and maximum,
    ``cells_above`` (count above ``EXCESS_RTOL``: not converged to the global optimum) and
    ``cells_below`` (count below −``BELOW_OPTIMUM_RTOL``: a trained model beat the exact optimum,
    which would mean the optimiser of theory missed it).
    """
    rel = (best_loss - optimum) / np.maximum(optimum, np.finfo(float).tiny)
    return {
        "relative": rel,
        "median": float(np.median(rel)),
        "p90": float(np.quantile(rel, 0.9)),
        "max": float(np.max(rel)),
        "min": float(np.min(rel)),
        "tolerance": EXCESS_RTOL,
        "cells_above": int(np.sum(rel > EXCESS_RTOL)),
        "cells_below": int(np.sum(rel < -BELOW_OPTIMUM_RTOL)),
    }


def where_candidates_differ(
    empirical: NDArray[np.str_], candidate: NDArray[np.str_], exact: NDArray[np.str_]
) -> dict[str, Any]:
    """Agreement of the trained map with each theory on the cells where the two theories
    disagree (None when there are none)."""
    differ = candidate != exact
    k = int(differ.sum())
    return {
        "cells": k,
        "exact": float(np.mean(empirical[differ] == exact[differ])) if k else None,
        "candidate": float(np.mean(empirical[differ] == candidate[differ])) if k else None,
    }


def threshold_sensitivity(
    W: NDArray[Any],
    selection_loss: NDArray[np.float64],
    empirical: NDArray[np.str_],
    theory: TheoryMaps,
    shape: tuple[int, int],
    *,
    select: str,
    thresholds: tuple[float, ...] = THRESHOLDS,
) -> dict[str, Any]:
    """How much the comparison depends on the representation threshold (0.5).

    ``agreement_exact``: agreement of the trained map with the exact map when both are
    relabelled with each threshold (seeds re-combined with the same rule; the selection loss
    does not depend on labels). ``fragile_cells``: cells whose exact label changes anywhere in
    [``FRAGILE_LOW``, ``FRAGILE_HIGH``] — a weight of the optimum lies within 0.05 of the
    threshold, e.g. the weak weight of a lopsided pair shrinking continuously through 0.5; there
    a trained model's label is decided by its training noise. ``agreement_exact_robust``: the
    agreement on the other cells (None when every cell is fragile). ``W``: (P, R, K, m, n).
    """
    agreement = []
    for t in thresholds:
        emp, _ = compare.select_labels(
            label_models(W, shape, threshold=t), selection_loss, select=select
        )
        agreement.append(compare.agreement(emp, label_models(theory.exact_W, shape, threshold=t)))
    exact = theory.exact
    fragile = np.zeros(exact.shape, dtype=bool)
    for t in (FRAGILE_LOW, FRAGILE_HIGH):
        fragile |= label_models(theory.exact_W, shape, threshold=t) != exact
    robust = ~fragile
    return {
        "thresholds": list(thresholds),
        "agreement_exact": agreement,
        "fragile_range": [FRAGILE_LOW, FRAGILE_HIGH],
        "fragile_cells": int(fragile.sum()),
        "agreement_exact_robust": float(np.mean(empirical[robust] == exact[robust]))
        if robust.any()
        else None,
    }
