"""Neuron weight stacks for the privileged-basis model h = ReLU(Wx) (paper §"Superposition in a
Privileged Basis", Elhage et al. 2022): what each hidden neuron responds to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from verify.plots import _checks
from verify.plots._draw import feature_colourbar
from verify.plots.colours import feature_colours
from verify.plots.style import FONT_SIZE, SIZES, SMALL, paper_style, style_axes, wrap_text

__all__ = ["neuron_top_fraction", "neuron_weight_stacks"]

FloatArray = NDArray[np.float64]


def neuron_top_fraction(W: Any, *, positive: bool = True) -> FloatArray:
    """Fraction of each neuron's squared weight on its largest feature: (..., m, n) -> (..., m).

    Neuron j is row j of W. With ``positive=True`` only the positive part max(W_ji, 0) counts
    (what the neuron responds to: at low density the privileged-basis model grows large negative
    weights that inhibit it, paper §"Superposition in a Privileged Basis"). 1 for a monosemantic
    neuron, 1/n for one spread evenly over n features; NaN for a neuron with no (positive) weight.
    """
    arr = _checks.as_numpy("W", W)
    if arr.ndim < 2:
        raise ValueError(f"W must have shape (..., m, n), got shape {arr.shape}")
    if not isinstance(positive, bool):
        raise TypeError(f"positive must be a bool, got {positive!r}")
    sq = (np.maximum(arr, 0.0) if positive else arr) ** 2
    total = sq.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, sq.max(-1) / np.where(total > 0, total, 1.0), np.nan)


def neuron_weight_stacks(
    W: Any,
    *,
    monosemanticity: Any = None,
    positive: bool = True,
    sort: bool = True,
    column_titles: Sequence[str] | None = None,
    title: str | None = None,
    size: str | None = None,
) -> Figure:
    """One stacked bar per hidden neuron: its weight on each feature, coloured by feature,
    positive weights stacked up from 0 and negative weights down (paper §"Superposition in a
    Privileged Basis").

    Args:
        W: (instances, m, n) or (m, n) weights of h = ReLU(Wx); neuron j is row W[j, :].
        monosemanticity: (instances, m) or (m,) values in [0, 1] (NaN allowed) written above
            each bar, e.g. ``toysup.metrics.neuron_monosemanticity(W, positive=True)``. Default:
            :func:`neuron_top_fraction` with ``positive``.
        positive: which fraction to compute when ``monosemanticity`` is None.
        sort: order neurons by the feature they weigh most (positively), so monosemantic
            neurons line up by feature; tick labels keep each neuron's index.
        column_titles: one title per instance (e.g. ``"p = 0.1"``).
        title: figure title.
        size: ``"column"`` or ``"page"`` (default: a column for up to two instances).

    Returns:
        One panel per instance (x: neurons, y: weight, a black line at 0), segments coloured by
        feature with ``viridis`` (dark = feature 0, the most important; colour bar on the right),
        the fraction above each bar (2 decimals, "–" for NaN).
    """
    arr = _checks.weights(W)
    n_inst, m, n = arr.shape
    if not isinstance(sort, bool):
        raise TypeError(f"sort must be a bool, got {sort!r}")
    if monosemanticity is None:
        frac = neuron_top_fraction(arr, positive=positive)
    else:
        frac = _checks.per_instance("monosemanticity", monosemanticity, (n_inst, m))
        ok = np.isnan(frac) | ((frac >= 0) & (frac <= 1))
        if not np.all(ok):
            raise ValueError(
                f"monosemanticity must lie in [0, 1] (or be NaN), got {frac[~ok].tolist()}"
            )
    titles = _checks.titles("column_titles", column_titles, n_inst)
    if size is None:
        size = "column" if n_inst <= 2 else "page"
    _checks.choice("size", size, tuple(SIZES))
    colours = feature_colours(n)
    low = float(np.minimum(arr, 0).sum(-1).min())
    high = float(np.maximum(arr, 0).sum(-1).max())
    pad = 0.12 * max(high - low, 1e-12)

    with paper_style():
        fig = Figure(figsize=(SIZES[size], 2.4), layout="constrained")
        axes = fig.subplots(1, n_inst, sharey=True, squeeze=False)[0]
        for c, ax in enumerate(axes):
            order = _neuron_order(arr[c]) if sort else np.arange(m)
            _stack(ax, arr[c][order], colours, gid=str(c))
            for x, j in enumerate(order):
                text = "–" if np.isnan(frac[c, j]) else f"{frac[c, j]:.2f}"
                top = float(np.maximum(arr[c, j], 0).sum())
                ax.text(x, top + 0.02 * (high - low + 1e-12), text, ha="center", va="bottom",
                        fontsize=SMALL - 2, color="0.3", gid=f"fraction-{c}")  # fmt: skip
            ax.axhline(0.0, color="black", lw=0.6)
            ax.set_xticks(np.arange(m), [str(j) for j in order])
            ax.set_xlim(-0.6, m - 0.4)
            ax.set_ylim(min(low, 0.0) - 0.02 * pad, high + pad)
            style_axes(ax)
            if titles is not None:
                ax.set_title(titles[c])
        axes[0].set_ylabel("weight $W_{ji}$ (stacked by feature)")
        if monosemanticity is None:
            what = "top feature's share of the " + (
                "positive squared weight" if positive else "squared weight"
            )
        else:
            what = "monosemanticity given"
        label = wrap_text(f"neuron $j$ (above each bar: {what})", SIZES[size], FONT_SIZE)
        fig.supxlabel(label, fontsize=FONT_SIZE)
        feature_colourbar(fig, axes, colours, shrink=0.9, aspect=15)
        if title is not None:
            fig.suptitle(title)
    return fig


def _neuron_order(W: FloatArray) -> NDArray[np.int64]:
    """Neurons (rows) sorted by their largest positive weight's feature, ties by weight."""
    top = np.argmax(W, axis=1)
    return np.lexsort((-W.max(axis=1), top))


def _stack(ax: Any, W: FloatArray, colours: list[str], *, gid: str) -> None:
    """W: (m, n) in display order. Positive parts stack up from 0, negative parts down, each in
    feature order."""
    m, n = W.shape
    up = np.zeros(m)
    down = np.zeros(m)
    x = np.arange(m)
    for i in range(n):
        pos = np.maximum(W[:, i], 0.0)
        neg = np.minimum(W[:, i], 0.0)
        for heights, base in ((pos, up), (neg, down)):
            keep = heights != 0
            if keep.any():
                bars = ax.bar(x[keep], heights[keep], bottom=base[keep], width=0.7,
                              color=colours[i], edgecolor="white", linewidth=0.3)  # fmt: skip
                for bar in bars:
                    bar.set_gid(f"stack-{gid}-{i}")
        up += pos
        down += neg
