"""What the n=2, m=1 result objects print (:class:`~theory._summary.Summary`): counts of phase
labels, the ranges of the axes and losses, convergence; one row per point for small results."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from theory._summary import Summary, fmt, fmt_range


def label_counts(labels: Any) -> str:
    counts = Counter(np.asarray(labels).ravel().tolist())
    return ", ".join(f"{label} {count}" for label, count in counts.most_common())


def _converged(flags: Any) -> str:
    arr = np.asarray(flags, dtype=bool)
    return "all" if arr.all() else f"{int(arr.sum())} of {arr.size}"


def _penalties(result: Any) -> list[tuple[str, str]]:
    """A line for the L1 penalties, when any is non-zero."""
    lh = np.asarray(getattr(result, "l1_hidden", 0.0))
    lw = np.asarray(getattr(result, "l1_weights", 0.0))
    if not (np.any(lh > 0) or np.any(lw > 0)):
        return []
    return [("penalties", f"l1_hidden {fmt_range(lh)}, l1_weights {fmt_range(lw)}")]


def exact_optimum_summary(opt: Any) -> Summary:
    size = int(np.asarray(opt.loss).size)
    lines = [
        ("importance r", fmt_range(opt.importance)),
        ("density p", fmt_range(opt.density)),
        ("loss", fmt_range(opt.loss)),
        ("converged", _converged(opt.converged)),
        ("bias", "optimised" if opt.bias else "fixed at 0"),
        *_penalties(opt),
    ]
    header, rows = None, []
    if size <= 12:
        header = ["r", "p", "w (first, extra)", "b (first, extra)", "loss", "label"]
        w, b = np.reshape(opt.w, (-1, 2)), np.reshape(opt.b, (-1, 2))
        r, p = np.ravel(opt.importance), np.ravel(opt.density)
        lab, loss = np.ravel(opt.labels), np.ravel(opt.loss)
        rows = [
            [fmt(r[i]), fmt(p[i]), f"{fmt(w[i, 0])}, {fmt(w[i, 1])}",
             f"{fmt(b[i, 0])}, {fmt(b[i, 1])}", fmt(loss[i], 4), str(lab[i])]
            for i in range(size)
        ]  # fmt: skip
    return Summary(
        "ExactOptimum", f"{size} point{'s' * (size != 1)}: {label_counts(opt.labels)}",
        lines, header, rows,
    )  # fmt: skip


def exact_phase_map_summary(pm: Any) -> Summary:
    nd, ni = np.shape(pm.labels)
    return Summary(
        "ExactPhaseMap",
        f"{nd} densities × {ni} importances: {label_counts(pm.labels)}",
        [
            ("importance r", fmt_range(pm.importance)),
            ("density p", fmt_range(pm.density)),
            ("loss", fmt_range(pm.loss)),
            ("converged", _converged(pm.converged)),
            ("options", f"bias {'optimised' if pm.bias else 'fixed at 0'}, seed {pm.seed}, "
                        f"{pm.n_random} random starts"),
            *_penalties(pm),
        ],
    )  # fmt: skip


def exact_transition_summary(tr: Any) -> Summary:
    r = np.ravel(tr.importance)
    header = ["r", "p*", "below", "above", "dL/dp below", "dL/dp above"]
    rows = [
        [fmt(r[i]), fmt(np.ravel(tr.density)[i], 4), str(np.ravel(tr.labels_below)[i]),
         str(np.ravel(tr.labels_above)[i]), fmt(np.ravel(tr.dloss_ddensity_below)[i], 4),
         fmt(np.ravel(tr.dloss_ddensity_above)[i], 4)]
        for i in range(r.size)
    ]  # fmt: skip
    return Summary(
        "ExactTransition",
        f"{r.size} importance{'s' * (r.size != 1)}, optimum at p*·(1 ∓ {fmt(tr.offset)})",
        _penalties(tr),
        header,
        rows,
    )


def candidate_theory_summary(ct: Any) -> Summary:
    lines = [(f"loss {label}", str(expr)) for label, expr in ct.losses.items()]
    lines.append(("boundary", str(ct.boundary) if ct.boundary is not None else "numerical root"))
    lines.append(("triple point (r, p)", f"({ct.triple_point[0]}, {ct.triple_point[1]})"))
    return Summary(
        "CandidateTheory",
        f"antipodal bias {ct.antipodal_bias}: candidates {', '.join(ct.losses)}",
        lines,
    )
