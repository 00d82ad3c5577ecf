"""What the jobs' result objects print (:class:`~theory._summary.Summary`): the phase diagram
(:class:`verify.diagram.Diagram`) and the compressed-sensing bridge
(:class:`verify.cs_bridge.types.BridgeResult`). The numbers are the ones their jobs report."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from theory._summary import Summary, fmt


def _count(labels: Any) -> str:
    counts = Counter(np.asarray(labels).ravel().tolist())
    return ", ".join(f"{label} {n}" for label, n in counts.most_common())


def diagram_summary(d: Any) -> Summary:
    s = d.settings
    P, R = np.shape(d.empirical)
    agree = ", ".join(
        f"{name} {fmt(value)} (κ {fmt(d.kappa[name])})"
        for name, value in d.agreement.items()
        if value is not None
    )
    lines = [
        ("grid", f"{P} densities {fmt(d.density[0])} … {fmt(d.density[-1])} × {R} importances "
                 f"{fmt(d.importance[0])} … {fmt(d.importance[-1])}, {s.seeds} seeds "
                 f"({s.selection})"),
        ("training", f"{s.steps} steps, batch {s.batch}, {s.optimizer} lr {fmt(s.lr)} "
                     f"({s.schedule}), seed {s.seed}"),
        ("empirical map", _count(d.empirical)),
    ]  # fmt: skip
    for name in ("candidate", "exact"):
        error = d.boundary.get(f"error_{name}")
        if error is not None:
            err = np.abs(np.asarray(error, dtype=float))
            err = err[np.isfinite(err)]
            median = fmt(np.median(err), 2) if err.size else "—"
            lines.append((f"boundary vs {name}", f"median |error| {median} decades"))
    if "total_s" in d.timings:
        lines.append(("time", f"{fmt(d.timings['total_s'])} s"))
    return Summary(
        "Diagram",
        f"n = {s.n_features}, m = {s.n_hidden}; agreement with theory: {agree}",
        lines,
    )


def _interval(tr: Any) -> str:
    if tr.censored == "below":
        return "below grid"
    if tr.censored == "above":
        return "above grid"
    if not math.isfinite(tr.rho):
        return "—"
    return f"{fmt(tr.rho)} [{fmt(tr.low)}, {fmt(tr.high)}]"


def bridge_summary(b: Any) -> Summary:
    s = b.settings
    names = [
        (key, key)
        for key in ("lp_gaussian/exact", "lp_learned/exact", "toy/l2", "toy/linf")
        if key in b.transitions
    ]
    header = ["δ", "m", "ρ_W (nonneg.)", *(f"ρ50 {label}" for _, label in names)]
    rows = [
        [fmt(b.delta[d]), str(int(b.m[d])), fmt(b.rho_w["nonnegative"][d])]
        + [_interval(b.transitions[key][d]) for key, _ in names]
        for d in range(len(b.m))
    ]
    k = np.asarray(b.k)
    return Summary(
        "BridgeResult",
        f"n = {s.n_features}, {len(b.m)} δ × {k.size} densities (k = {k[0]} … {k[-1]}), "
        f"τ = {fmt(s.tolerance)}",
        [("ρ50", "ρ = k/m where recovery drops below 1/2, with its confidence interval")],
        header,
        rows,
    )
