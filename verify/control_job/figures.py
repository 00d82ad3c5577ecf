"""The job's figures: phase maps per λ with the exact boundary, the boundary shift (trained
against exact), the activations side by side, and the n = 20 price of removing superposition."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from toysup.metrics import N2M1_LABELS
from verify.control_job.run import ControlResult
from verify.plots.colours import CATEGORICAL, label_colours
from verify.plots.phase import encode_labels, present_labels
from verify.plots.style import (
    FONT_SIZE,
    SIZES,
    SMALL,
    figure_with_footer,
    paper_style,
    style_axes,
)


def _edges(centres: np.ndarray) -> np.ndarray:
    mids = np.sqrt(centres[:-1] * centres[1:])
    return np.concatenate([[centres[0] ** 2 / mids[0]], mids, [centres[-1] ** 2 / mids[-1]]])


def _footer(result: ControlResult) -> str:
    s = result.settings
    return (
        f"{s.resolution}×{s.resolution} cells, best of {s.seeds} seeds per cell, {s.steps} steps, "
        f"{s.optimizer} lr {s.lr:g} {s.schedule}, batch {s.batch}, seed {s.seed}"
    )


def _map_panel(ax: Any, result: ControlResult, labels_map: Any, title: str) -> None:
    labels = list(N2M1_LABELS)
    colours = label_colours(labels)
    cmap = ListedColormap([colours[label] for label in labels])
    norm = BoundaryNorm(np.arange(len(labels) + 1) - 0.5, len(labels))
    ax.pcolormesh(
        _edges(result.importance), _edges(result.density), encode_labels(labels_map, labels),
        cmap=cmap, norm=norm, shading="flat", edgecolors="face", linewidth=0.0,
    )  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title(title, fontsize=SMALL)
    style_axes(ax)


def _legend(fig: Any, maps: list[Any], extra: list[Any]) -> None:
    colours = label_colours(list(N2M1_LABELS))
    handles = [
        Patch(facecolor=colours[label], edgecolor="none", label=label.replace("_", " "))
        for label in present_labels(list(N2M1_LABELS), *maps)
    ]
    fig.legend(handles=handles + extra, loc="outside lower center", ncol=4, fontsize=SMALL,
               frameon=False)  # fmt: skip


def phase_maps(result: ControlResult) -> Figure:
    """One row per λ: the exact map and the trained map, each with p*(r, λ) drawn."""
    lams = list(result.trained)
    with paper_style():
        fig, main = figure_with_footer(SIZES["page"], 1.9 * len(lams) + 0.8, _footer(result))
        axes = main.subplots(len(lams), 2, sharex=True, sharey=True, squeeze=False)
        maps = []
        for row, lam in enumerate(lams):
            exact, trained = result.exact[lam], result.trained[lam]
            agree = result.comparison[lam]["agreement"]
            _map_panel(axes[row, 0], result, exact.labels, f"exact optimum, λ = {lam:g}")
            _map_panel(axes[row, 1], result, trained.empirical,
                       f"trained, λ = {lam:g} (agreement {100 * agree:.0f}%)")  # fmt: skip
            for ax in axes[row]:
                ax.plot(exact.curve_importance, exact.curve, color="black", lw=1.2,
                        gid="exact-boundary")  # fmt: skip
            axes[row, 0].set_ylabel("density $p$")
            maps += [exact.labels, trained.empirical]
        for ax in axes[-1]:
            ax.set_xlabel("importance $r$ of the extra feature")
        line = Line2D([], [], color="black", lw=1.2, label="exact boundary $p^*(r, λ)$")
        _legend(main, maps, [line])
        main.suptitle("n = 2, m = 1 under an L1 penalty λ on the hidden activation",
                      fontsize=FONT_SIZE + 1)  # fmt: skip
    return fig


def boundary_shift(result: ControlResult) -> Figure:
    """log10 p*(r, λ) − log10 p*(r, 0): exact curves, trained points with bootstrap SDs."""
    ref = result.exact[0.0]
    with paper_style():
        fig, main = figure_with_footer(SIZES["column"] * 1.3, 3.0, _footer(result))
        ax = main.subplots()
        for i, lam in enumerate(lam for lam in result.trained if lam > 0):
            colour = CATEGORICAL[i % len(CATEGORICAL)]
            exact, sh = result.exact[lam], result.shift[lam]
            with np.errstate(invalid="ignore", divide="ignore"):
                curve = np.log10(exact.curve) - np.log10(ref.curve)
            ax.plot(exact.curve_importance, curve, color=colour, lw=1.2,
                    label=f"λ = {lam:g} exact")  # fmt: skip
            ok = sh.comparable
            sd = None if sh.empirical_sd is None else sh.empirical_sd[ok]
            ax.errorbar(result.importance[ok], sh.empirical[ok], yerr=sd, fmt="o", ms=3,
                        color=colour, capsize=2, lw=0.8, label=f"λ = {lam:g} trained")  # fmt: skip
        ax.axhline(0.0, color="0.5", lw=0.6)
        ax.set_xscale("log")
        ax.set_xlabel("importance $r$ of the extra feature")
        ax.set_ylabel("boundary shift, decades of density")
        style_axes(ax, grid=True)
        ax.legend(fontsize=SMALL - 1, frameon=False)
        ax.set_title("How far the penalty moves the boundary", fontsize=FONT_SIZE)
    return fig


def activations(result: ControlResult) -> Figure:
    """The unpenalised trained maps per output activation, the ReLU's exact boundary drawn
    dashed on each (a reference: only the ReLU output has an exact theory here)."""
    names = list(result.activations)
    ref = result.exact[0.0]
    with paper_style():
        fig, main = figure_with_footer(SIZES["page"], 2.6, _footer(result))
        axes = main.subplots(1, len(names), sharex=True, sharey=True, squeeze=False)[0]
        for ax, name in zip(axes, names):
            note = "exact theory: ReLU" if name == "relu" else "no exact theory"
            _map_panel(ax, result, result.activations[name].empirical, f"{name} ({note})")
            ax.plot(ref.curve_importance, ref.curve, color="black", lw=1.0, ls="--")
            ax.set_xlabel("importance $r$")
        axes[0].set_ylabel("density $p$")
        line = Line2D([], [], color="black", lw=1.0, ls="--", label="ReLU exact boundary")
        _legend(main, [result.activations[n].empirical for n in names], [line])
        main.suptitle("Trained phase maps by output activation (no penalty)",
                      fontsize=FONT_SIZE + 1)  # fmt: skip
    return fig


def pareto(result: ControlResult) -> Figure:
    """n = 20, m = 5: loss against features in superposition, one line per density through
    the penalties (each point labelled with its λ)."""
    s = result.settings
    footer = (
        f"n = 20, m = 5, importance 0.7^i; best of {s.wide_seeds} seeds per point, {s.steps} "
        f"steps, {s.optimizer} lr {s.lr:g} {s.schedule}, batch {s.batch}, seed {s.seed}"
    )
    with paper_style():
        fig, main = figure_with_footer(SIZES["column"] * 1.3, 3.0, footer)
        ax = main.subplots()
        for i, p in enumerate(s.wide_densities):
            pts = [pt for pt in result.wide if pt.density == p]
            x = [int(pt.in_superposition[pt.best]) for pt in pts]
            y = [float(pt.loss[pt.best]) for pt in pts]
            colour = CATEGORICAL[i % len(CATEGORICAL)]
            ax.plot(x, y, "o-", color=colour, ms=3, lw=1.0, label=f"p = {p:g}")
            for xi, yi, pt in zip(x, y, pts):
                ax.annotate(f"{pt.l1_hidden:g}", (xi, yi), textcoords="offset points",
                            xytext=(3, 3), fontsize=SMALL - 2, color=colour)  # fmt: skip
        ax.set_yscale("log")
        ax.set_xlabel("features in superposition (kept seed)")
        ax.set_ylabel("reconstruction loss")
        style_axes(ax, grid=True)
        ax.legend(fontsize=SMALL - 1, frameon=False, title="labels: λ", title_fontsize=SMALL - 1)
        ax.set_title("n = 20, m = 5: the price of removing superposition", fontsize=FONT_SIZE)
    return fig
