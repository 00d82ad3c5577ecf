"""Figures for papers: phase diagrams, weight matrices, feature dimensionality.

Each function takes data and returns a :class:`matplotlib.figure.Figure`; saving is the caller's
job (``fig.savefig("phase.pdf")``). Figures are built with the object API only (no pyplot state,
no display needed), sized for a paper column (3.3 in) or two columns (7 in), and stay vector
graphics in PDF/SVG (the phase maps are ``pcolormesh`` quads, not images).

Colours: the Okabe–Ito palette (Okabe & Ito 2008), distinguishable under the common colour-vision
deficiencies, for categorical labels; ``RdBu_r`` (ColorBrewer, colour-blind safe) for signed
matrices on a symmetric scale; ``viridis`` for sequential values. Disagreements are marked with a
black ``×`` (not colour alone), reference lines are labelled in text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PatchCollection
from matplotlib.colors import BoundaryNorm, ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from numpy.typing import NDArray

from toysup.metrics import (
    N2M1_LABELS,
    dimensionality,
    dimensions_per_feature,
    feature_norms,
    gram,
    interference,
)

__all__ = [
    "OKABE_ITO",
    "STICKY_FRACTIONS",
    "dimensionality_figure",
    "encode_labels",
    "label_colours",
    "phase_diagram",
    "weights_figure",
]

FloatArray = NDArray[np.float64]

#: Okabe–Ito colours, in the order categorical labels use them (black is kept for markers).
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#999999",  # grey (not Okabe–Ito's black; used for the last label, e.g. "none"/"other")
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
)

#: Fractions at which feature dimensionality is "sticky" (paper §"Geometry", uniform polytopes).
STICKY_FRACTIONS = (
    (1.0, "dedicated"),
    (3 / 4, "tetrahedron"),
    (2 / 3, "triangle"),
    (1 / 2, "digon"),
    (2 / 5, "pentagon"),
    (3 / 8, "square antiprism"),
)

COLUMN_WIDTH = 3.3  # inches
PAGE_WIDTH = 7.0  # inches
_FONT = 8  # points; readable at column width


def label_colours(labels: Sequence[str]) -> dict[str, str]:
    """Colour of each label: Okabe–Ito in order; the last label gets grey when there are at most
    five (the catch-all ``"none"``/``"other"`` of toysup's label sets)."""
    labels = list(labels)
    if len(labels) > len(OKABE_ITO):
        raise ValueError(
            f"at most {len(OKABE_ITO)} labels can be coloured distinctly, got {len(labels)}: "
            f"{labels}"
        )
    palette = list(OKABE_ITO[:4]) + list(OKABE_ITO[5:])
    colours = {label: palette[i] for i, label in enumerate(labels)}
    if len(labels) <= 5:
        colours[labels[-1]] = OKABE_ITO[4]
    return colours


# ----------------------------------------------------------------------------- argument checks


def _vector(name: str, values: Any) -> FloatArray:
    """A non-empty 1-D float array, or a TypeError/ValueError naming ``name``."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 1-D array of numbers, got {values!r}") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    return arr


def _axis(name: str, values: Any) -> FloatArray:
    """A log-axis grid: finite, positive, strictly increasing."""
    arr = _vector(name, values)
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"{name} must be finite and > 0 (a log axis), got {arr.tolist()}")
    if arr.size > 1 and not np.all(np.diff(arr) > 0):
        raise ValueError(f"{name} must be strictly increasing, got {arr.tolist()}")
    return arr


def _label_map(name: str, value: Any, shape: tuple[int, int]) -> NDArray[np.str_]:
    arr = np.asarray(value)
    if arr.shape != shape:
        raise ValueError(
            f"{name} must have shape {shape} (one row per density, one column per importance), "
            f"got shape {arr.shape}"
        )
    if arr.dtype.kind not in "US":
        raise TypeError(f"{name} must be an array of label strings, got dtype {arr.dtype}")
    return arr.astype(str)


def encode_labels(labels_map: Any, labels: Sequence[str]) -> NDArray[np.int64]:
    """Index of each cell's label in ``labels``: (P, R) strings -> (P, R) ints.

    Raises ``ValueError`` naming any label not in ``labels``.
    """
    arr = np.asarray(labels_map).astype(str)
    order = {label: i for i, label in enumerate(labels)}
    unknown = sorted(set(arr.ravel().tolist()) - set(order))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the legend's labels {list(labels)}")
    return np.vectorize(order.__getitem__, otypes=[np.int64])(arr) if arr.size else arr.astype(int)


def _edges(centres: FloatArray) -> FloatArray:
    """Cell edges of a log-spaced axis: geometric midpoints, ends mirrored (one cell: ×/÷ √2)."""
    if centres.size == 1:
        return centres[0] * np.array([2**-0.5, 2**0.5])
    mids = np.sqrt(centres[:-1] * centres[1:])
    first = centres[0] ** 2 / mids[0]
    last = centres[-1] ** 2 / mids[-1]
    return np.concatenate([[first], mids, [last]])


# ----------------------------------------------------------------------------- phase diagram


def phase_diagram(
    importance: Any,
    density: Any,
    empirical: Any,
    *,
    exact: Any = None,
    candidate: Any = None,
    candidate_curve: tuple[Any, Any] | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Theory and trained phase maps side by side (paper §"The Phase Change" layout).

    Args:
        importance: (R,) relative importance r of the extra feature, increasing (log x axis).
        density: (P,) feature density p = 1 − S, increasing (log y axis).
        empirical: (P, R) labels of the trained models (one row per density).
        exact: (P, R) labels of the exact optimum, or None.
        candidate: (P, R) labels of the paper's best candidate, or None. Shown as the theory map
            when ``exact`` is None; with both, the theory panel shows ``exact`` and hatches the
            cells where the candidates predict a different phase.
        candidate_curve: ``(r, p_star)``, two 1-D arrays of equal length: the paper's predicted
            boundary, drawn as a line on both panels.
        labels: every label, in legend and colour order (default: toysup's n=2, m=1 labels; pass
            ``toysup.metrics.N3M2_LABELS`` for n=3, m=2).
        title: figure title.

    Returns:
        A two-panel figure (7 × 3.1 in): left the theory map (``exact`` if given, else
        ``candidate``), right the empirical map with a black × on every cell whose label differs
        from the theory map; one shared legend below. With neither theory map, a single panel
        (3.3 in wide) with the empirical map.
    """
    r = _axis("importance", importance)
    p = _axis("density", density)
    shape = (p.size, r.size)
    emp = _label_map("empirical", empirical, shape)
    exact_map = None if exact is None else _label_map("exact", exact, shape)
    cand_map = None if candidate is None else _label_map("candidate", candidate, shape)
    curve = None if candidate_curve is None else _curve(candidate_curve)
    labels = list(N2M1_LABELS if labels is None else labels)
    if len(set(labels)) != len(labels) or not all(isinstance(x, str) for x in labels):
        raise ValueError(f"labels must be distinct strings, got {labels!r}")
    colours = label_colours(labels)
    cmap = ListedColormap([colours[label] for label in labels])
    norm = BoundaryNorm(np.arange(len(labels) + 1) - 0.5, len(labels))

    theory, theory_name = (
        (exact_map, "exact optimum") if exact_map is not None else (cand_map, "paper's candidates")
    )
    two = theory is not None
    fig = Figure(figsize=(PAGE_WIDTH if two else COLUMN_WIDTH, 3.1), layout="constrained")
    axes = fig.subplots(1, 2 if two else 1, sharex=True, sharey=True, squeeze=False)[0]
    x_edges, y_edges = _edges(r), _edges(p)
    panels: list[tuple[Any, NDArray[np.str_], str]] = []
    if theory is not None:
        panels.append((axes[0], theory, f"theory ({theory_name})"))
    panels.append((axes[-1], emp, "trained (empirical)"))
    for ax, labels_map, name in panels:
        mesh = ax.pcolormesh(
            x_edges,
            y_edges,
            encode_labels(labels_map, labels),
            cmap=cmap,
            norm=norm,
            shading="flat",
            edgecolors="face",
            linewidth=0.0,
        )
        mesh.set_gid(f"phase-map-{'theory' if labels_map is theory else 'empirical'}")
        ax.set_title(name, fontsize=_FONT + 1)
        if curve is not None:
            ax.plot(curve[0], curve[1], color="black", lw=1.2, ls="--", gid="candidate-curve")
        _log_axes(ax, x_edges, y_edges)
    axes[0].set_ylabel("feature density $p = 1 - S$", fontsize=_FONT)

    handles: list[Any] = [
        Patch(facecolor=colours[label], edgecolor="none", label=label.replace("_", " "))
        for label in labels
    ]
    if curve is not None:
        handles.append(Line2D([], [], color="black", ls="--", lw=1.2, label="paper's boundary"))
    if exact_map is not None and cand_map is not None:
        n_wrong = _hatch_cells(axes[0], cand_map != exact_map, x_edges, y_edges)
        if n_wrong:
            handles.append(
                Patch(facecolor="none", edgecolor="black", hatch="////", label="candidates ≠ exact")
            )
    if theory is not None:
        differ = emp != theory
        rows, cols = np.nonzero(differ)
        axes[-1].scatter(
            r[cols],
            p[rows],
            marker="x",
            color="black",
            s=_marker_size(r.size, p.size),
            linewidths=0.8,
            gid="disagreements",
        )
        handles.append(
            Line2D([], [], color="black", marker="x", ls="none", label="differs from theory")
        )
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=min(len(handles), 4 if two else 2),
        fontsize=_FONT,
        frameon=False,
    )
    if title is not None:
        fig.suptitle(title, fontsize=_FONT + 2)
    return fig


def _curve(curve: Any) -> tuple[FloatArray, FloatArray]:
    try:
        xs, ys = curve
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"candidate_curve must be a pair (r values, p* values), got {curve!r}"
        ) from exc
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            "candidate_curve must be two 1-D arrays of equal length, got shapes "
            f"{x.shape} and {y.shape}"
        )
    return x, y


def _hatch_cells(ax: Any, mask: NDArray[np.bool_], x_edges: FloatArray, y_edges: FloatArray) -> int:
    """Hatch the cells where ``mask`` (P, R) is true; return how many."""
    rows, cols = np.nonzero(mask)
    cells = [
        Rectangle(
            (x_edges[c], y_edges[r]), x_edges[c + 1] - x_edges[c], y_edges[r + 1] - y_edges[r]
        )
        for r, c in zip(rows, cols)
    ]
    if cells:
        hatches = PatchCollection(
            cells, facecolor="none", edgecolor="black", linewidth=0.0, hatch="////", gid="hatch"
        )
        ax.add_collection(hatches, autolim=False)
    return len(cells)


def _marker_size(n_cols: int, n_rows: int) -> float:
    """Marker area (pt²) about half a cell of a ~3 in panel, between 4 and 30."""
    cell = 3.0 * 72 / max(n_cols, n_rows)
    return float(np.clip((0.5 * cell) ** 2, 4.0, 30.0))


def _log_axes(ax: Any, x_edges: FloatArray, y_edges: FloatArray) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(x_edges[0], x_edges[-1])
    ax.set_ylim(y_edges[0], y_edges[-1])
    ax.set_xlabel("relative importance $r$ of the extra feature", fontsize=_FONT)
    ax.tick_params(labelsize=_FONT)


# ----------------------------------------------------------------------------- weights


def _weights(W: Any) -> FloatArray:
    if hasattr(W, "detach"):
        W = W.detach().cpu().numpy()
    arr = np.asarray(W, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or 0 in arr.shape:
        raise ValueError(f"W must have shape (instances, m, n) or (m, n), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("W must be finite (it contains NaN or inf)")
    return arr


def _per_instance(name: str, value: Any, shape: tuple[int, int]) -> FloatArray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(
            f"{name} must have shape (n,) = ({shape[1]},) or (instances, n) = {shape}, "
            f"got shape {arr.shape}"
        ) from None


def weights_figure(
    W: Any,
    b: Any = None,
    *,
    importance: Any = None,
    title: str | None = None,
    column_titles: Sequence[str] | None = None,
) -> Figure:
    """WᵀW heat maps above bar charts of feature norms (paper §"Superposition as a Phase Change").

    Args:
        W: (instances, m, n) or (m, n) weights; one column of panels per instance.
        b: (instances, n) or (n,) biases, drawn as a strip beside each WᵀW on the same scale.
        importance: (n,) or (instances, n) importances, drawn as grey dots (scaled to the
            largest) on the bar charts.
        title: figure title.
        column_titles: one title per instance (e.g. ``"p = 0.01"``).

    Returns:
        A figure with, per instance, WᵀW (diverging ``RdBu_r``, one symmetric scale shared by all
        instances and the biases; feature i on row/column i) above bars of ‖W_i‖ coloured by the
        interference Σ_{j≠i} (Ŵ_i·W_j)² (``viridis``, shared scale; 0 means a dedicated
        direction). 3.3 in wide for one instance, up to 7 in for several.
    """
    arr = _weights(W)
    n_inst, _, n = arr.shape
    bias = None if b is None else _per_instance("b", b, (n_inst, n))
    imp = None if importance is None else _per_instance("importance", importance, (n_inst, n))
    titles = None if column_titles is None else [str(t) for t in column_titles]
    if titles is not None and len(titles) != n_inst:
        raise ValueError(
            f"column_titles must have one entry per instance ({n_inst}), got {len(titles)}"
        )
    G = gram(arr)  # (instances, n, n)
    norms = feature_norms(arr)  # (instances, n)
    inter = interference(arr)  # (instances, n)
    vmax = max(float(np.abs(G).max()), 0.0 if bias is None else float(np.abs(bias).max()), 1e-12)
    signed = Normalize(-vmax, vmax)
    inter_norm = Normalize(0.0, max(1.0, float(inter.max())))
    viridis = colormaps["viridis"]

    width = COLUMN_WIDTH if n_inst == 1 else min(PAGE_WIDTH, 1.5 + 1.4 * n_inst)
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
            ax_g.set_ylabel(r"$W^\top W$", fontsize=_FONT)
        if titles is not None:
            ax_g.set_title(titles[c], fontsize=_FONT)
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
            ax_b.set_xticks([0], ["$b$"], fontsize=_FONT)
            ax_b.set_yticks([])
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
        ax_n.set_xlabel("feature $i$", fontsize=_FONT)
        ax_n.tick_params(labelsize=_FONT)
        if c == 0:
            what = r"$\|W_i\|$" + ("" if imp is None else " (bars)\n" + r"$I_i/\max I$ (dots)")
            ax_n.set_ylabel(what, fontsize=_FONT)
        else:
            ax_n.tick_params(labelleft=False)
        bar_axes.append(ax_n)

    cb = fig.colorbar(ScalarMappable(signed, "RdBu_r"), ax=top_axes, shrink=0.9, aspect=12)
    cb.ax.tick_params(labelsize=_FONT - 1)
    cb2 = fig.colorbar(ScalarMappable(inter_norm, viridis), ax=bar_axes, shrink=0.9, aspect=12)
    cb2.set_label(r"interference $\sum_{j\neq i}(\hat W_i\cdot W_j)^2$", fontsize=_FONT - 1)
    cb2.ax.tick_params(labelsize=_FONT - 1)
    if title is not None:
        fig.suptitle(title, fontsize=_FONT + 2)
    return fig


# ----------------------------------------------------------------------------- dimensionality


def dimensionality_figure(density: Any, W: Any, *, title: str | None = None) -> Figure:
    """Dimensions per feature against 1/density (paper §"Uniform Superposition", Geometry).

    Args:
        density: (instances,) density p = 1 − S of each instance (all features share it).
        W: (instances, m, n) weights of each instance.
        title: figure title.

    Returns:
        A 3.3 × 2.6 in figure, log x axis ``1/(1 − S) = 1/p``: D* = m/‖W‖²_F per instance (black
        line with dots, sorted by density), every feature's dimensionality D_i (small grey dots;
        features that are not represented sit near 0), and dashed reference lines at the sticky
        fractions 1, 3/4, 2/3, 1/2, 2/5, 3/8, labelled by the configuration they belong to.
    """
    p = _densities("density", density)
    arr = _weights(W)
    if arr.shape[0] != p.size:
        raise ValueError(
            f"W must have one instance per density: density has shape {p.shape}, W has shape "
            f"{arr.shape} (instances, m, n)"
        )
    x = 1.0 / p  # (instances,)
    order = np.argsort(x, kind="stable")
    d_star = dimensions_per_feature(arr)  # (instances,)
    d_i = dimensionality(arr)  # (instances, n)

    fig = Figure(figsize=(COLUMN_WIDTH, 2.6), layout="constrained")
    ax = fig.add_subplot()
    previous = None
    for value, name in STICKY_FRACTIONS:
        ax.axhline(value, color="0.55", lw=0.6, ls="--", zorder=0, gid=f"sticky-{name}")
        # Labels closer than 0.05 apart (2/5 and 3/8) are nudged apart vertically.
        nudge = -3.5 if previous is not None and previous - value < 0.05 else 0.0
        previous = value
        ax.annotate(
            name,
            xy=(1.0, value),
            xycoords=("axes fraction", "data"),
            xytext=(2, nudge),
            textcoords="offset points",
            va="center",
            fontsize=_FONT - 2,
            color="0.35",
        )
    ax.scatter(
        np.repeat(x, d_i.shape[1]),
        d_i.ravel(),
        s=4,
        color=OKABE_ITO[0],
        alpha=0.5,
        linewidths=0,
        label="$D_i$ (each feature)",
        gid="feature-dimensionality",
    )
    ax.plot(
        x[order],
        d_star[order],
        color="black",
        marker="o",
        ms=2.5,
        lw=1.0,
        label=r"$D^* = m/\|W\|_F^2$",
        gid="dimensions-per-feature",
    )
    ax.set_xscale("log")
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("$1/(1-S) = 1/p$", fontsize=_FONT)
    ax.set_ylabel("dimensions per feature", fontsize=_FONT)
    ax.tick_params(labelsize=_FONT)
    if title is not None:
        fig.suptitle(title, fontsize=_FONT + 1)
    fig.legend(fontsize=_FONT - 1, frameon=False, loc="outside upper center", ncol=2)
    return fig


def _densities(name: str, values: Any) -> FloatArray:
    """Densities in (0, 1], in any order."""
    arr = _vector(name, values)
    if not np.all((arr > 0) & (arr <= 1)):
        raise ValueError(f"{name} must lie in (0, 1] (density p = 1 − S), got {arr.tolist()}")
    return arr
