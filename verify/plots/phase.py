"""The phase diagram: theory and trained phase maps over (importance r, density p), paper
§"The Phase Change" (Elhage et al. 2022)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from numpy.typing import NDArray

from toysup.metrics import N2M1_LABELS, N3M2_LABELS
from verify.plots import _checks
from verify.plots.colours import label_colours
from verify.plots.style import (
    FONT_SIZE,
    SIZES,
    SMALL,
    figure_with_footer,
    paper_style,
    style_axes,
    wrap_text,
)

__all__ = ["encode_labels", "phase_diagram", "present_labels"]

FloatArray = NDArray[np.float64]


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


def present_labels(labels: Sequence[str], *maps: Any) -> list[str]:
    """The labels that occur in any of ``maps``, in the order of ``labels`` (the legend's)."""
    seen = set().union(*(np.unique(np.asarray(m).astype(str)).tolist() for m in maps))
    return [label for label in labels if label in seen]


def _default_labels(*maps: NDArray[np.str_]) -> tuple[str, ...]:
    """toysup's n=3, m=2 labels when every map uses only them, else the n=2, m=1 labels."""
    seen = set().union(*(np.unique(m).tolist() for m in maps))
    if not seen <= set(N2M1_LABELS) and seen <= set(N3M2_LABELS):
        return N3M2_LABELS
    return N2M1_LABELS


def _edges(centres: FloatArray) -> FloatArray:
    """Cell edges of a log-spaced axis: geometric midpoints, ends mirrored (one cell: ×/÷ √2)."""
    if centres.size == 1:
        return centres[0] * np.array([2**-0.5, 2**0.5])
    mids = np.sqrt(centres[:-1] * centres[1:])
    first = centres[0] ** 2 / mids[0]
    last = centres[-1] ** 2 / mids[-1]
    return np.concatenate([[first], mids, [last]])


def phase_diagram(
    importance: Any,
    density: Any,
    empirical: Any,
    *,
    exact: Any = None,
    candidate: Any = None,
    candidate_curve: tuple[Any, Any] | None = None,
    exact_curve: tuple[Any, Any] | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    footer: str | None = None,
    size: str | None = None,
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
            boundary, drawn as a dashed black line on every panel.
        exact_curve: ``(r, p_star)``, two 1-D arrays of equal length: the exact optimum's
            boundary (e.g. at the grid's importances), drawn as a solid black line with dots on
            every panel.
        labels: every label the maps may use, in legend order. Default: toysup's n=3, m=2 labels
            (``toysup.metrics.N3M2_LABELS``) when the maps use only those, else the n=2, m=1
            labels (``N2M1_LABELS``). Colours come from
            :func:`~verify.plots.colours.label_colours`: fixed for toysup's labels, so a label
            has the same colour in every figure.
        title: figure title (say what is shown, e.g. "Phase diagram, n = 2, m = 1: theory vs
            trained"); None for none.
        footer: small grey text under the legend, e.g. the run's settings (a strip of its own
            added below the figure's height); None for none.
        size: ``"page"`` (7 in wide, panels side by side) or ``"column"`` (3.3 in wide, two
            panels stacked). Default: ``"page"`` for two panels, ``"column"`` for one.

    Returns:
        Left (top in a column) the theory map (``exact`` if given, else ``candidate``), right
        (bottom) the empirical map with a black × on every cell whose label differs from the
        theory map; one shared legend below listing only the labels present in the maps shown,
        the boundary curve, the hatching (if any cell is hatched) and the × marker. With
        neither theory map, a single panel with the empirical map.
    """
    r = _checks.log_axis("importance", importance)
    p = _checks.log_axis("density", density)
    shape = (p.size, r.size)
    emp = _label_map("empirical", empirical, shape)
    exact_map = None if exact is None else _label_map("exact", exact, shape)
    cand_map = None if candidate is None else _label_map("candidate", candidate, shape)
    curve = None if candidate_curve is None else _curve(candidate_curve)
    exact_line = None if exact_curve is None else _curve(exact_curve, "exact_curve")
    shown = [m for m in (emp, exact_map, cand_map) if m is not None]
    labels = list(_default_labels(*shown) if labels is None else labels)
    if len(set(labels)) != len(labels) or not all(isinstance(x, str) for x in labels):
        raise ValueError(f"labels must be distinct strings, got {labels!r}")
    for m in shown:
        encode_labels(m, labels)  # every label known
    colours = label_colours(labels)
    cmap = ListedColormap([colours[label] for label in labels])
    norm = BoundaryNorm(np.arange(len(labels) + 1) - 0.5, len(labels))

    theory, theory_name = (
        (exact_map, "exact optimum") if exact_map is not None else (cand_map, "paper's candidates")
    )
    two = theory is not None
    if size is None:
        size = "page" if two else "column"
    _checks.choice("size", size, tuple(SIZES))
    stacked = two and size == "column"
    height = 5.0 if stacked else 3.1
    with paper_style():
        fig, main = figure_with_footer(SIZES[size], height, footer)
        rows, cols = (2, 1) if stacked else (1, 2 if two else 1)
        axes = main.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
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
            ax.set_title(name, fontsize=FONT_SIZE)
            if curve is not None:
                ax.plot(curve[0], curve[1], color="black", lw=1.2, ls="--", gid="candidate-curve")
            if exact_line is not None:
                ax.plot(
                    exact_line[0], exact_line[1], color="black", lw=1.0, marker="o", ms=2.0,
                    gid="exact-curve",
                )  # fmt: skip
            _log_axes(ax, x_edges, y_edges, xlabel=ax is axes[-1] or not stacked)
            if ax is axes[0] or stacked:
                ax.set_ylabel("feature density $p = 1 - S$")

        present = present_labels(labels, *(m for _, m, _ in panels))
        handles: list[Any] = [
            Patch(facecolor=colours[label], edgecolor="none", label=label.replace("_", " "))
            for label in present
        ]
        if curve is not None:
            handles.append(Line2D([], [], color="black", ls="--", lw=1.2, label="paper's boundary"))
        if exact_line is not None:
            handles.append(
                Line2D([], [], color="black", lw=1.0, marker="o", ms=2.0, label="exact boundary")
            )
        if exact_map is not None and cand_map is not None:
            n_wrong = _hatch_cells(axes[0], cand_map != exact_map, x_edges, y_edges)
            if n_wrong:
                handles.append(
                    Patch(
                        facecolor="none",
                        edgecolor="black",
                        hatch="////",
                        label="candidates ≠ exact",
                    )
                )
        if theory is not None:
            rows_i, cols_i = np.nonzero(emp != theory)
            axes[-1].scatter(
                r[cols_i],
                p[rows_i],
                marker="x",
                color="black",
                s=_marker_size(r.size, p.size),
                linewidths=0.8,
                gid="disagreements",
            )
            handles.append(
                Line2D(
                    [], [], color="black", marker="x", ms=5, ls="none", label="differs from theory"
                )
            )
        main.legend(
            handles=handles,
            loc="outside lower center",
            ncol=min(len(handles), 4 if two and not stacked else 2),
            fontsize=SMALL,
            frameon=False,
        )
        if title is not None:
            main.suptitle(wrap_text(title, SIZES[size], FONT_SIZE + 1), fontsize=FONT_SIZE + 1)
    return fig


def _curve(curve: Any, name: str = "candidate_curve") -> tuple[FloatArray, FloatArray]:
    try:
        xs, ys = curve
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a pair (r values, p* values), got {curve!r}") from exc
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"{name} must be two 1-D arrays of equal length, got shapes {x.shape} and {y.shape}"
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


def _log_axes(ax: Any, x_edges: FloatArray, y_edges: FloatArray, *, xlabel: bool) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(x_edges[0], x_edges[-1])
    ax.set_ylim(y_edges[0], y_edges[-1])
    if xlabel:
        ax.set_xlabel("relative importance $r$ of the extra feature")
    style_axes(ax)
