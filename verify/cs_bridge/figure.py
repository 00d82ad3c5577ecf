"""The bridge's figure: every recovery transition on one set of compressed-sensing axes.

Left panel, x: δ = m/n, y: ρ = k/m. Black lines: the Donoho–Tanner weak threshold ρ_W(δ),
nonnegative (solid, the one that applies to the toy model's x >= 0) and signed (dashed). Markers
with 95% intervals, side by side at each δ: the nonnegative LP on Gaussian matrices, the same LP
on the learned W, the toy model's own decoder under the ``l2`` and ``linf`` criteria; hollow
black stars: where features enter superposition (‖W‖²_F halfway from m to n). A transition
censored below the grid is drawn hollow at the first grid point with an arrow down (above the
grid: at the last point, arrow up).

Right panel: represented features per dimension (‖W_i‖ > 0.5, divided by m; solid line with
markers) and ‖W‖²_F / m (dotted, same colour) against density, one colour and marker per δ
(``viridis``), with the features per dimension that three compressed-sensing bounds allow (black
lines; ``theory.compressed_sensing.features_per_dimension``). The y range is set by the data (and
the bounds where they stay within a factor 2 of it): the order bound k ln(n/k), which diverges at
p = 1, is clipped at the top of the panel.

Colours: the Okabe–Ito palette for the decoders (distinguishable under colour-vision
deficiencies: :func:`verify.plots.colours.min_colour_distance`), each also with its own marker
shape, so the figure reads in grey scale too. Labels use mathtext (ρ_W, ‖W‖²_F typeset).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from theory.compressed_sensing import features_per_dimension, weak_threshold
from verify.cs_bridge.transition import Transition
from verify.cs_bridge.types import BridgeResult
from verify.plots._draw import log_ticks
from verify.plots.colours import CATEGORICAL, feature_colours
from verify.plots.style import (
    FONT_SIZE,
    PAGE_WIDTH,
    SMALL,
    figure_with_footer,
    paper_style,
    style_axes,
)

#: (transition key, legend label, colour, marker): left to right at each δ.
SERIES = (
    ("lp_gaussian/exact", "LP, Gaussian $W$", CATEGORICAL[0], "D"),
    ("lp_learned/exact", "LP, learned $W$", CATEGORICAL[2], "s"),
    ("toy/l2", r"toy, $\|\hat x - x\|_2 \leq \tau \|x\|_2$", CATEGORICAL[1], "o"),
    ("toy/linf", r"toy, $|\hat x_i - x_i| \leq \tau$ for all $i$", CATEGORICAL[3], "^"),
)
#: (bound name, legend label, line style) of the right panel's bounds.
BOUND_STYLES = (
    ("order", r"$m = k \ln(n/k)$ (order, $C = 1$)", "-"),
    ("weak_threshold_nonnegative", "LP weak threshold", "--"),
    ("any_decoder_exact", r"$m \geq 2k$ (exact, any decoder)", ":"),
)
#: One marker per δ on the right panel (cycled beyond seven).
DELTA_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def bridge_figure(result: BridgeResult) -> Figure:
    """The two-panel figure of a bridge run (module docstring), 7 in wide, with the run's
    settings in a footer. Saving is the caller's job."""
    s = result.settings
    footer = (
        f"n = {s.n_features}; inputs with exactly k non-zeros, model trained at p = k/n "
        f"(best of {s.seeds} seeds, {s.steps} steps); τ = {s.tolerance:g}; trials per cell: "
        f"{s.trials} toy, {s.lp_trials} LP, {s.gaussian_trials} Gaussian LP; "
        f"{s.confidence:.0%} intervals"
    )
    with paper_style():
        fig, main = figure_with_footer(PAGE_WIDTH, 3.9, footer)
        left, right = main.subplots(1, 2, width_ratios=[1.4, 1.0])
        _transitions_panel(left, result)
        _features_panel(right, result)
        for ax in (left, right):  # legends below their panels; constrained layout makes room
            ax.legend(fontsize=SMALL - 0.5, loc="upper center", bbox_to_anchor=(0.5, -0.16),
                      ncol=2, frameon=False, borderaxespad=0.0, handlelength=1.8,
                      columnspacing=1.0)  # fmt: skip
        main.suptitle(
            f"The toy model as a compressed-sensing decoder (n = {s.n_features} features)",
            fontsize=FONT_SIZE + 1,
        )
    return fig


def _transitions_panel(ax: Any, result: BridgeResult) -> None:
    grid = np.linspace(0.005, 0.995, 300)
    ax.plot(grid, weak_threshold(grid, signed=False), color="black", lw=1.2,
            label=r"$\rho_W$ nonnegative (Donoho–Tanner)", gid="rho-w-nonnegative")  # fmt: skip
    ax.plot(grid, weak_threshold(grid, signed=True), color="black", lw=1.0, ls="--",
            label=r"$\rho_W$ signed", gid="rho-w-signed")  # fmt: skip
    delta = result.delta
    width = 0.012 if len(delta) < 2 else min(0.012, 0.12 * float(np.min(np.diff(delta))))
    offsets = (np.arange(len(SERIES)) - (len(SERIES) - 1) / 2) * width
    top = 1.05
    for (key, label, colour, marker), dx in zip(SERIES, offsets, strict=True):
        for d, tr in enumerate(result.transitions[key]):
            top = max(top, _draw_transition(ax, float(delta[d] + dx), tr, colour, marker, key))
        ax.plot([], [], color=colour, marker=marker, ls="none", ms=4, label=label)
    sup = result.superposition_rho
    ok = np.isfinite(sup)
    if ok.any():
        ax.plot(delta[ok], sup[ok], ls="none", marker="*", ms=7, mfc="none", mec="black", mew=0.7,
                label=r"superposition onset, $\|W\|_F^2 = (m+n)/2$",
                gid="superposition-onset")  # fmt: skip
        top = max(top, float(np.max(sup[ok])) * 1.08)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, min(top, 2.5))
    ax.set_xlabel(r"$\delta = m/n$ (hidden dimensions per feature)")
    ax.set_ylabel(r"$\rho = k/m$ (non-zeros per dimension) at 50% recovery")
    style_axes(ax, grid=True)


def _draw_transition(
    ax: Any, x: float, tr: Transition, colour: str, marker: str, key: str
) -> float:
    """One marker with its interval (or a censoring arrow); returns the highest y drawn."""
    style = dict(color=colour, marker=marker, ms=4, ls="none")
    if tr.censored in ("below", "above"):
        y = tr.high if tr.censored == "below" else tr.low
        if not math.isfinite(y):
            return 0.0
        ax.plot([x], [y], mfc="none", gid=f"censored-{key}", **style)
        dy = -0.06 if tr.censored == "below" else 0.06
        ax.annotate("", xy=(x, max(y + dy, 0.0)), xytext=(x, y),
                    arrowprops=dict(arrowstyle="->", color=colour, lw=0.8))  # fmt: skip
        return y + max(dy, 0.0)
    if not math.isfinite(tr.rho):
        return 0.0
    low = tr.low if math.isfinite(tr.low) else 0.0
    high = tr.high if math.isfinite(tr.high) else tr.rho + 0.1
    ax.errorbar([x], [tr.rho], yerr=[[tr.rho - low], [high - tr.rho]], elinewidth=0.8,
                capsize=1.5, gid=f"transition-{key}", **style)  # fmt: skip
    return high


def _features_panel(ax: Any, result: BridgeResult) -> None:
    p = result.density
    represented = result.represented / result.m[:, None]  # (D, K)
    frobenius = result.frobenius / result.m[:, None]
    colours = feature_colours(len(result.m))  # viridis, dark = smallest δ
    for d in range(len(result.m)):
        marker = DELTA_MARKERS[d % len(DELTA_MARKERS)]
        ax.plot(p, represented[d], color=colours[d], marker=marker, ms=2.8, lw=0.9,
                label=f"$\\delta = {result.delta[d]:.2f}$", gid=f"represented-{d}")  # fmt: skip
        ax.plot(p, frobenius[d], color=colours[d], lw=0.8, ls=":", gid=f"frobenius-{d}")
    data = np.concatenate([represented.ravel(), frobenius.ravel()])
    data = data[np.isfinite(data) & (data > 0)]
    low, high = (float(data.min()), float(data.max())) if data.size else (0.5, 2.0)
    fine = np.geomspace(float(p[0]), float(p[-1]), 200)
    for name, label, ls in BOUND_STYLES:
        if name in result.bounds:
            with np.errstate(divide="ignore"):
                y = np.asarray(features_per_dimension(fine, bound=name), dtype=np.float64)
            ax.plot(fine, y, color="black", lw=1.0, ls=ls, label=label, gid=f"bound-{name}")
            near = y[np.isfinite(y) & (y <= 2 * high) & (y >= low / 2)]
            if near.size:  # bounds that stay near the data widen the range to show them
                low, high = min(low, float(near.min())), max(high, float(near.max()))
    ax.plot([], [], color="0.4", lw=0.8, ls=":", label=r"$\|W\|_F^2 / m$ (dotted)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(low / 1.25, high * 1.25)
    log_ticks(ax, [low, high])
    ax.set_xlabel("density $p = k/n$")
    ax.set_ylabel("features per dimension (represented / $m$)")
    style_axes(ax)
    ax.grid(alpha=0.3, lw=0.4, which="major")
