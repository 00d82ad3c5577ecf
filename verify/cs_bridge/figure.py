"""The bridge's figure: every recovery transition on one set of compressed-sensing axes.

Left panel, x: δ = m/n, y: ρ = k/m. Lines: Donoho–Tanner ρ_W(δ), nonnegative (solid, the one
that applies to the toy model's x >= 0) and signed (dashed). Markers with 95% intervals, side by
side at each δ: the nonnegative LP on Gaussian matrices, the same LP on the learned W, the toy
model's own decoder under the ``l2`` and ``linf`` criteria; hollow stars: where features enter
superposition (‖W‖²_F halfway from m to n). A transition censored below the grid is drawn hollow
at the first grid point with an arrow down (above the grid: at the last point, arrow up).

Right panel: represented features per dimension (‖W_i‖ > 0.5, divided by m; faint wide line: ‖W‖²_F / m)
against density, one colour per δ (viridis), with the features per dimension that three compressed-sensing bounds
allow (black lines; ``theory.compressed_sensing.features_per_dimension``).

Colours: Okabe–Ito for the decoders (distinguishable under colour-vision deficiencies), each
also with its own marker shape, so the figure reads in grey scale too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from theory.compressed_sensing import features_per_dimension, weak_threshold
from verify.cs_bridge.transition import Transition
from verify.cs_bridge.types import BridgeResult

PAGE_WIDTH = 7.0  # inches
_FONT = 8

#: (transition key, legend label, colour, marker): left to right at each δ.
SERIES = (
    ("lp_gaussian/exact", "LP, Gaussian W", "#009E73", "D"),
    ("lp_learned/exact", "LP, learned W", "#0072B2", "s"),
    ("toy/l2", "toy, rel. ℓ2 error ≤ τ", "#D55E00", "o"),
    ("toy/linf", "toy, max error ≤ τ", "#CC79A7", "^"),
)
BOUND_STYLES = (
    ("order", "k ln(n/k), C = 1", "-"),
    ("weak_threshold_nonnegative", "LP weak threshold", "--"),
    ("any_decoder_exact", "m ≥ 2k (exact)", ":"),
)


def bridge_figure(result: BridgeResult) -> Figure:
    """The two-panel figure of a bridge run (module docstring). Saving is the caller's job."""
    fig = Figure(figsize=(PAGE_WIDTH, 4.4), layout="constrained")
    axes = fig.subplots(2, 2, width_ratios=[1.4, 1.0], height_ratios=[3.0, 0.8])
    _transitions_panel(axes[0, 0], result)
    _features_panel(axes[0, 1], result)
    for top, bottom in zip(axes[0], axes[1], strict=True):  # legends below their panels
        bottom.axis("off")
        bottom.legend(*top.get_legend_handles_labels(), fontsize=_FONT - 1.5, loc="upper center",
                      ncol=2, frameon=False, borderaxespad=0.0)  # fmt: skip
    s = result.settings
    fig.suptitle(
        f"n = {s.n_features}: exactly-k inputs, model trained at p = k/n; τ = {s.tolerance:g}, "
        f"{s.trials} / {s.lp_trials} / {s.gaussian_trials} trials (toy / LP / Gaussian LP)",
        fontsize=_FONT,
    )
    return fig


def _transitions_panel(ax: Any, result: BridgeResult) -> None:
    grid = np.linspace(0.005, 0.995, 300)
    ax.plot(grid, weak_threshold(grid, signed=False), color="black", lw=1.2,
            label="ρ_W nonnegative (D–T)")  # fmt: skip
    ax.plot(grid, weak_threshold(grid, signed=True), color="black", lw=1.0, ls="--",
            label="ρ_W signed")  # fmt: skip
    delta = result.delta
    width = 0.012 if len(delta) < 2 else min(0.012, 0.12 * float(np.min(np.diff(delta))))
    offsets = (np.arange(len(SERIES)) - (len(SERIES) - 1) / 2) * width
    top = 1.05
    for (key, label, colour, marker), dx in zip(SERIES, offsets, strict=True):
        for d, tr in enumerate(result.transitions[key]):
            top = max(top, _draw_transition(ax, float(delta[d] + dx), tr, colour, marker))
        ax.plot([], [], color=colour, marker=marker, ls="none", ms=4, label=label)
    sup = result.superposition_rho
    ok = np.isfinite(sup)
    if ok.any():
        ax.plot(delta[ok], sup[ok], ls="none", marker="*", ms=7, mfc="none", mec="black", mew=0.7,
                label="superposition onset, ‖W‖²_F = (m+n)/2")  # fmt: skip
        top = max(top, float(np.max(sup[ok])) * 1.08)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, min(top, 2.5))
    ax.set_xlabel("δ = m/n (hidden dimensions per feature)", fontsize=_FONT)
    ax.set_ylabel("ρ = k/m (non-zeros per dimension) at 50% recovery", fontsize=_FONT)
    ax.tick_params(labelsize=_FONT)
    ax.grid(alpha=0.25, lw=0.5)


def _draw_transition(ax: Any, x: float, tr: Transition, colour: str, marker: str) -> float:
    """One marker with its interval (or a censoring arrow); returns the highest y drawn."""
    style = dict(color=colour, marker=marker, ms=4, ls="none")
    if tr.censored in ("below", "above"):
        y = tr.high if tr.censored == "below" else tr.low
        if not math.isfinite(y):
            return 0.0
        ax.plot([x], [y], mfc="none", **style)
        dy = -0.06 if tr.censored == "below" else 0.06
        ax.annotate("", xy=(x, max(y + dy, 0.0)), xytext=(x, y),
                    arrowprops=dict(arrowstyle="->", color=colour, lw=0.8))  # fmt: skip
        return y + max(dy, 0.0)
    if not math.isfinite(tr.rho):
        return 0.0
    ylim_low = 0.0
    low = tr.low if math.isfinite(tr.low) else ylim_low
    high = tr.high if math.isfinite(tr.high) else tr.rho + 0.1
    ax.errorbar([x], [tr.rho], yerr=[[tr.rho - low], [high - tr.rho]], elinewidth=0.8,
                capsize=1.5, **style)  # fmt: skip
    return high


def _features_panel(ax: Any, result: BridgeResult) -> None:
    p = result.density
    fine = np.geomspace(float(p[0]), 1.0, 200)
    for name, label, ls in BOUND_STYLES:
        if name in result.bounds:
            with np.errstate(divide="ignore"):
                y = np.asarray(features_per_dimension(fine, bound=name), dtype=np.float64)
            ax.plot(fine, y, color="black", lw=1.0, ls=ls, label=label)
    colours = colormaps["viridis"](np.linspace(0.0, 0.85, len(result.m)))
    for d, m in enumerate(result.m):
        ax.plot(p, result.represented[d] / m, color=colours[d], marker="o", ms=2.5, lw=0.8,
                label=f"δ = {result.delta[d]:.2f}")  # fmt: skip
        ax.plot(p, result.frobenius[d] / m, color=colours[d], lw=1.6, alpha=0.35)
    n = result.settings.n_features
    ax.set_xscale("log")
    ax.set_yscale("log")
    ratios = result.represented / result.m[:, None]
    positive = ratios[ratios > 0]
    low = min(0.5, float(np.min(positive)) / 1.5) if positive.size else 0.5
    ax.set_ylim(low, 4.0 * n / float(np.min(result.m)))
    ax.set_xlabel("density p = k/n", fontsize=_FONT)
    ax.set_ylabel("features per dimension (represented / m)", fontsize=_FONT)
    ax.tick_params(labelsize=_FONT)
    ax.grid(alpha=0.25, lw=0.5, which="major")
    ax.plot([], [], color="grey", lw=1.6, alpha=0.35, label="‖W‖²_F / m")
