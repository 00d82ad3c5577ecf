"""WᵀW, biases and feature norms, paper §"Superposition as a Phase Change" (Elhage et al. 2022)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from toysup.metrics import feature_norms, gram, interference
from verify.plots import _checks
from verify.plots.style import COLUMN_WIDTH, PAGE_WIDTH, SIZES, SMALL, paper_style, style_axes

__all__ = ["weights_figure"]


def weights_figure(
    W: Any,
    b: Any = None,
    *,
    importance: Any = None,
    title: str | None = None,
    column_titles: Sequence[str] | None = None,
    size: str | None = None,
) -> Figure:
    """WᵀW heat maps above bar charts of feature norms (paper §"Superposition as a Phase Change").

    Args:
        W: (instances, m, n) or (m, n) weights; one column of panels per instance.
        b: (instances, n) or (n,) biases, drawn as a strip beside each WᵀW on the same scale.
        importance: (n,) or (instances, n) importances, drawn as grey dots (scaled to the
            largest) on the bar charts.
        title: figure title.
        column_titles: one title per instance (e.g. ``"p = 0.01"``).
        size: ``"column"`` (3.3 in) or ``"page"`` (7 in) wide. Default: a column for one
            instance, else 1.5 + 1.4 in per instance up to a page.

    Returns:
        A 3.4 in tall figure with, per instance, WᵀW (diverging ``RdBu_r``, one symmetric scale
        shared by all instances and the biases, colour bar on the right; feature i on
        row/column i) above bars of ‖W_i‖ coloured by the interference Σ_{j≠i} (Ŵ_i·W_j)²
        (``viridis``, shared scale with its colour bar; 0 means a dedicated direction).
    """
    arr = _checks.weights(W)
    n_inst, _, n = arr.shape
    bias = None if b is None else _checks.per_instance("b", b, (n_inst, n))
    imp = (
        None if importance is None else _checks.per_instance("importance", importance, (n_inst, n))
    )
    titles = _checks.titles("column_titles", column_titles, n_inst)
    if size is None:
        width = COLUMN_WIDTH if n_inst == 1 else min(PAGE_WIDTH, 1.5 + 1.4 * n_inst)
    else:
        width = SIZES[_checks.choice("size", size, tuple(SIZES))]
    G = gram(arr)  # (instances, n, n)
    norms = feature_norms(arr)  # (instances, n)
    inter = interference(arr)  # (instances, n)
    vmax = max(float(np.abs(G).max()), 0.0 if bias is None else float(np.abs(bias).max()), 1e-12)
    signed = Normalize(-vmax, vmax)
    inter_norm = Normalize(0.0, max(1.0, float(inter.max())))
    viridis = colormaps["viridis"]

    with paper_style():
        fig = Figure(figsize=(width, 3.4), layout="constrained")
        per = 1 if bias is None else 2  # grid columns per instance
        ratios = [1.0] * n_inst if bias is None else [n, max(1.0, n / 8)] * n_inst
        grid = fig.add_gridspec(2, per * n_inst, width_ratios=ratios, height_ratios=[1.3, 1])
        top_axes, bar_axes = [], []
        for c in range(n_inst):
            ax_g = fig.add_subplot(grid[0, per * c])
            ax_g.imshow(G[c], cmap="RdBu_r", norm=signed, interpolation="nearest", gid=f"gram-{c}")
            ax_g.set_xticks([])
            ax_g.set_yticks([])
            top_axes.append(ax_g)
            if c == 0:
                ax_g.set_ylabel(r"$W^\top W$")
            if titles is not None:
                ax_g.set_title(titles[c])
            if bias is not None:
                ax_b = fig.add_subplot(grid[0, per * c + 1])
                ax_b.imshow(
                    bias[c][:, None],
                    cmap="RdBu_r",
                    norm=signed,
                    interpolation="nearest",
                    aspect="auto",
                    gid=f"bias-{c}",
                )
                ax_b.set_xticks([0], ["$b$"])
                ax_b.set_yticks([])
                style_axes(ax_b)
                top_axes.append(ax_b)

            ax_n = fig.add_subplot(grid[1, per * c : per * (c + 1)])
            bars = ax_n.bar(np.arange(n), norms[c], width=0.85, color=viridis(inter_norm(inter[c])))
            for bar in bars:
                bar.set_gid(f"norms-{c}")
            if imp is not None:
                top = float(imp[c].max())
                scaled = imp[c] / top if top > 0 else imp[c]
                ax_n.plot(
                    np.arange(n), scaled, ls="none", marker=".", color="0.4", ms=3, gid=f"imp-{c}"
                )
            ax_n.set_ylim(0, max(1.1, 1.05 * float(norms.max())))
            ax_n.set_xlim(-0.6, n - 0.4)
            ax_n.set_xlabel("feature $i$")
            style_axes(ax_n)
            if c == 0:
                what = r"$\|W_i\|$" + ("" if imp is None else " (bars)\n" + r"$I_i/\max I$ (dots)")
                ax_n.set_ylabel(what)
            else:
                ax_n.tick_params(labelleft=False)
            bar_axes.append(ax_n)

        cb = fig.colorbar(ScalarMappable(signed, "RdBu_r"), ax=top_axes, shrink=0.9, aspect=12)
        cb.ax.tick_params(labelsize=SMALL - 1)
        cb2 = fig.colorbar(ScalarMappable(inter_norm, viridis), ax=bar_axes, shrink=0.9, aspect=12)
        cb2.set_label(r"interference $\sum_{j\neq i}(\hat W_i\cdot W_j)^2$", fontsize=SMALL - 1)
        cb2.ax.tick_params(labelsize=SMALL - 1)
        if title is not None:
            fig.suptitle(title)
    return fig
