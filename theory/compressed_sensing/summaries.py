"""What the compressed-sensing result objects print (:class:`~theory._summary.Summary`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from theory._summary import Summary, fmt, fmt_interval, fmt_range


def _decoder(nonnegative: bool, method: str, solver: str) -> str:
    lp = "nonnegative LP (min 1ᵀx, x ≥ 0)" if nonnegative else "ℓ1 minimisation"
    return f"{lp} via {method}/{solver}"


def recovery_rate_summary(rr: Any) -> Summary:
    level = fmt(100 * rr.confidence)
    draws = (
        f"density {fmt(rr.density)} (each feature non-zero independently)"
        if rr.density is not None
        else f"exactly k = {rr.k} non-zeros"
    )
    errors = np.asarray(rr.relative_errors)
    finite = errors[np.isfinite(errors)]
    return Summary(
        "RecoveryRate",
        f"{rr.successes} of {rr.trials} recovered (rate {fmt(rr.rate)}, {level}% "
        f"{rr.interval} interval {fmt_interval((rr.low, rr.high))})",
        [
            ("matrix", f"W of shape ({rr.m}, {rr.n}) (m × n)"),
            ("inputs", f"{draws}, {rr.value_distribution} values, seed {rr.seed}"),
            ("decoder", _decoder(rr.nonnegative, rr.method, rr.solver)),
            ("success", f"relative ℓ2 error ≤ {fmt(rr.tolerance)}; median error "
                        f"{fmt(np.median(finite)) if finite.size else '—'}; solver failures "
                        f"{rr.solver_failures}"),
        ],
    )  # fmt: skip


def phase_transition_grid_summary(grid: Any) -> Summary:
    prob = np.asarray(grid.success_probability)
    _, rho50 = grid.contour_50()
    rho_w = grid.weak_threshold()
    header = ["δ = m/n", "m", "ρ at 50%", "ρ_W(δ)", "success, ρ ascending"]
    rows = []
    for i in range(len(grid.m)):
        curve = " ".join(f"{v:.2f}" for v in prob[i, :10]) + (" …" if prob.shape[1] > 10 else "")
        rows.append(
            [fmt(grid.delta_realized[i]), str(int(grid.m[i])), fmt(rho50[i]), fmt(rho_w[i]), curve]
        )
    return Summary(
        "PhaseTransitionGrid",
        f"n = {grid.n}, {len(grid.m)} δ × {len(grid.rhos)} ρ cells, {grid.trials} trials each",
        [
            ("ρ = k/m", fmt_range(grid.rhos)),
            ("decoder", _decoder(grid.nonnegative, grid.method, grid.solver)),
            ("inputs", f"{grid.value_distribution} values, seed {grid.seed}; success if "
                       f"relative error ≤ {fmt(grid.tolerance)}; solver failures "
                       f"{int(np.sum(grid.solver_failures))}"),
        ],
        header,
        rows,
    )  # fmt: skip


def measurement_bound_summary(bound: Any) -> Summary:
    source = bound.source if len(bound.source) <= 120 else bound.source[:119] + "…"
    return Summary(
        "MeasurementBound",
        f"{bound.name} ({bound.kind}): {bound.formula}",
        [
            ("decoder", bound.decoder),
            ("matrix", bound.matrix),
            ("guarantee", bound.guarantee),
            ("source", source),
        ],
    )
