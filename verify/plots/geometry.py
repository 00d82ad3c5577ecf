"""Feature geometry: dimensions per feature against density, and the feature directions W_i
themselves in 2-D or 3-D (paper §"Feature Dimensionality" and §"The Geometry of Superposition",
Elhage et al. 2022)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.typing import NDArray

from toysup.metrics import REPRESENTED_THRESHOLD, dimensionality, dimensions_per_feature
from verify.plots import _checks
from verify.plots._draw import feature_colourbar
from verify.plots.colours import CATEGORICAL, OKABE_ITO, feature_colours
from verify.plots.style import SIZES, SMALL, figure_size, paper_style, style_axes

__all__ = [
    "STICKY_FRACTIONS",
    "dimensionality_figure",
    "draw_sticky_fractions",
    "feature_geometry",
    "feature_sets",
    "project_weights",
]

FloatArray = NDArray[np.float64]

#: Fractions at which feature dimensionality is "sticky" (paper §"Geometry", uniform polytopes):
#: (D, the configuration whose features have that dimensionality).
STICKY_FRACTIONS = (
    (1.0, "dedicated"),
    (3 / 4, "tetrahedron"),
    (2 / 3, "triangle"),
    (1 / 2, "digon"),
    (2 / 5, "pentagon"),
    (3 / 8, "square antiprism"),
)


def draw_sticky_fractions(ax: Any, *, names: bool = True) -> None:
    """Dashed grey lines at the sticky fractions 1, 3/4, 2/3, 1/2, 2/5, 3/8 of
    :data:`STICKY_FRACTIONS`, labelled in the right margin with their configuration (``names``)
    or their value."""
    previous = None
    for value, name in STICKY_FRACTIONS:
        ax.axhline(value, color="0.55", lw=0.6, ls="--", zorder=0, gid=f"sticky-{name}")
        # Labels closer than 0.05 apart (2/5 and 3/8) are nudged apart vertically.
        nudge = -3.5 if previous is not None and previous - value < 0.05 else 0.0
        previous = value
        text = name if names else _fraction(value)
        ax.annotate(
            text,
            xy=(1.0, value),
            xycoords=("axes fraction", "data"),
            xytext=(2, nudge),
            textcoords="offset points",
            va="center",
            fontsize=SMALL - 1,
            color="0.35",
        )


def _fraction(value: float) -> str:
    for num, den in ((1, 1), (3, 4), (2, 3), (1, 2), (2, 5), (3, 8)):
        if abs(value - num / den) < 1e-12:
            return "1" if den == 1 else f"{num}/{den}"
    return f"{value:g}"


# ----------------------------------------------------------------------------- dimensionality


def dimensionality_figure(
    density: Any, W: Any, *, title: str | None = None, size: str = "column"
) -> Figure:
    """Dimensions per feature against 1/density (paper §"Uniform Superposition", Geometry).

    Args:
        density: (instances,) density p = 1 − S of each instance (all features share it).
        W: (instances, m, n) weights of each instance.
        title: figure title.
        size: ``"column"`` (3.3 in) or ``"page"`` (7 in) wide.

    Returns:
        A 2.6 in tall figure, log x axis ``1/(1 − S) = 1/p``: D* = m/‖W‖²_F per instance (black
        line with dots, sorted by density), every feature's dimensionality D_i (small blue dots;
        features that are not represented sit near 0), and dashed reference lines at the sticky
        fractions 1, 3/4, 2/3, 1/2, 2/5, 3/8, labelled by the configuration they belong to.
    """
    p = _checks.densities("density", density)
    arr = _checks.weights(W)
    if arr.shape[0] != p.size:
        raise ValueError(
            f"W must have one instance per density: density has shape {p.shape}, W has shape "
            f"{arr.shape} (instances, m, n)"
        )
    x = 1.0 / p  # (instances,)
    order = np.argsort(x, kind="stable")
    d_star = dimensions_per_feature(arr)  # (instances,)
    d_i = dimensionality(arr)  # (instances, n)

    with paper_style():
        fig = Figure(figsize=figure_size(size, 2.6), layout="constrained")
        ax = fig.add_subplot()
        draw_sticky_fractions(ax)
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
        ax.set_xlabel("$1/(1-S) = 1/p$")
        ax.set_ylabel("dimensions per feature")
        style_axes(ax)
        if title is not None:
            fig.suptitle(title)
        fig.legend(frameon=False, loc="outside upper center", ncol=2)
    return fig


# ----------------------------------------------------------------------------- feature geometry


def feature_sets(n: int, *, sets: Any = None, set_size: int | None = None) -> NDArray[np.int64]:
    """The set of each feature, (n,) ints from 0: ``sets`` as given, or consecutive sets of
    ``set_size`` features (``FeatureConfig.set_size``: features 0..s−1 form set 0, ...)."""
    if sets is not None and set_size is not None:
        raise ValueError("pass sets or set_size, not both")
    if set_size is not None:
        size_ = _checks.positive_int("set_size", set_size)
        if n % size_:
            raise ValueError(f"set_size must divide the number of features n = {n}, got {size_}")
        return np.arange(n, dtype=np.int64) // size_
    if sets is None:
        raise ValueError("pass sets or set_size")
    arr = np.asarray(sets)
    if arr.shape != (n,) or arr.dtype.kind not in "iu":
        raise ValueError(
            f"sets must be ({n},) integers (the set of each feature), got {arr.dtype} "
            f"array of shape {arr.shape}"
        )
    if arr.min() < 0:
        raise ValueError(f"sets must be >= 0, got {arr.tolist()}")
    return arr.astype(np.int64)


def project_weights(W: Any, dims: int) -> tuple[FloatArray, FloatArray]:
    """Feature directions projected onto the ``dims`` leading left singular vectors of each
    instance's W (the subspace holding the most of ‖W‖²_F).

    Returns ``(P, kept)``: (instances, dims, n) coordinates and (instances,) the fraction of
    ‖W‖²_F they keep (1 when ``dims`` = m: the coordinates are then W itself, unrotated).
    """
    arr = _checks.weights(W)
    m = arr.shape[1]
    dims = _checks.positive_int("dims", dims)
    if dims > m:
        raise ValueError(f"dims must be at most m = {m} (hidden dimensions), got {dims}")
    if dims == m:
        return arr, np.ones(arr.shape[0])
    U, s, _ = np.linalg.svd(arr, full_matrices=False)  # U: (instances, m, min(m, n))
    proj = np.swapaxes(U[..., :dims], -1, -2) @ arr
    total = np.sum(s**2, axis=-1)
    kept = np.where(
        total > 0, np.sum(s[..., :dims] ** 2, axis=-1) / np.where(total > 0, total, 1), 1
    )
    return proj, kept


def feature_geometry(
    W: Any,
    *,
    sets: Any = None,
    set_size: int | None = None,
    dims: int | None = None,
    outline: bool = True,
    column_titles: Sequence[str] | None = None,
    title: str | None = None,
    size: str | None = None,
    view: tuple[float, float] = (20.0, 35.0),
) -> Figure:
    """Feature directions W_i (columns of W) as arrows from the origin, one panel per instance
    (paper §"The Geometry of Superposition": the pentagon at n=5, m=2, antipodal pairs; §"Feature
    Dimensionality"; correlated and anticorrelated sets).

    Args:
        W: (instances, m, n) or (m, n) weights (of an untied model: the encoder, or
            ``W_dec.T`` for the decoder's directions).
        sets: (n,) integer set of each feature (correlated or anticorrelated sets); features are
            then coloured by set (Okabe–Ito, at most 8 sets) and the legend names the sets.
        set_size: instead of ``sets``: consecutive sets of this size (``FeatureConfig.set_size``).
        dims: 2 or 3 (default: m, which must then be 2 or 3). Fewer than m: each instance is
            projected onto its leading singular directions (:func:`project_weights`), axes
            "PC 1..3" and the fraction of ‖W‖²_F kept noted in the panel.
        outline: 2-D only: join the tips of the represented features (‖W_i‖ > 0.5) in angular
            order, which draws the polygon (digon, triangle, pentagon, ...) they form.
        column_titles: one title per instance.
        title: figure title.
        size: ``"column"`` or ``"page"`` (default: a column for up to two instances).
        view: 3-D only: ``(elevation, azimuth)`` in degrees.

    Returns:
        Per instance, one square panel: a grey unit circle (2-D) or unit-sphere wireframe (3-D,
        without tick labels: the sphere gives the scale) for reference, an arrow per feature
        (a line in 3-D) ending in a dot, coloured by set, or without sets by feature index
        (``viridis``, dark = feature 0; a colour bar when n > 12). Each feature's index is
        written at its tip when n <= 12. Features with ‖W_i‖ <= 0.5 are drawn faded.
    """
    arr = _checks.weights(W)
    n_inst, m, n = arr.shape
    if dims is None:
        if m not in (2, 3):
            raise ValueError(
                f"W has m = {m} hidden dimensions: pass dims=2 or dims=3 to project each "
                "instance onto its leading singular directions"
            )
        dims = m
    if dims not in (2, 3) or isinstance(dims, bool):
        raise ValueError(f"dims must be 2 or 3, got {dims!r}")
    coords, kept = project_weights(arr, dims)
    try:
        elevation, azimuth = (float(v) for v in view)
    except (TypeError, ValueError):
        raise ValueError(f"view must be (elevation, azimuth) in degrees, got {view!r}") from None
    titles = _checks.titles("column_titles", column_titles, n_inst)
    if not isinstance(outline, bool):
        raise TypeError(f"outline must be a bool, got {outline!r}")
    group = (
        None if sets is None and set_size is None else feature_sets(n, sets=sets, set_size=set_size)
    )
    if group is not None and int(group.max()) >= len(CATEGORICAL):
        raise ValueError(
            f"at most {len(CATEGORICAL)} sets can be coloured distinctly, got sets "
            f"{sorted(set(group.tolist()))}"
        )
    colours = [CATEGORICAL[g] for g in group] if group is not None else feature_colours(n)
    norms = np.linalg.norm(arr, axis=-2)  # (instances, n)
    if size is None:
        size = "column" if n_inst <= 2 else "page"
    _checks.choice("size", size, tuple(SIZES))
    cols = min(n_inst, 4 if size == "page" else 2)
    rows = -(-n_inst // cols)
    width = SIZES[size]
    colourbar = group is None and n > 12
    panel = (width - (0.6 if colourbar else 0.0)) / cols
    with paper_style():
        fig = Figure(
            figsize=(width, panel * rows + 0.35 * (title is not None) + 0.3), layout="constrained"
        )
        axes = []
        ax: Any
        for c in range(n_inst):
            if dims == 2:
                ax = fig.add_subplot(rows, cols, c + 1)
                _draw_2d(ax, coords[c], norms[c], colours, outline=outline, gid=str(c))
            else:
                ax = fig.add_subplot(rows, cols, c + 1, projection="3d")
                _draw_3d(ax, coords[c], norms[c], colours, view=(elevation, azimuth), gid=str(c))
            if n <= 12:
                _label_tips(ax, coords[c], dims)
            lines = [] if titles is None else [titles[c]]
            if dims < m:
                pad = -12 if dims == 3 else None
                ax.set_xlabel("PC 1", labelpad=pad)
                ax.set_ylabel("PC 2", labelpad=pad)
                if dims == 3:
                    ax.set_zlabel("PC 3", labelpad=pad)
                lines.append(f"({kept[c]:.0%} of $\\|W\\|_F^2$ in view)")
            if lines:
                ax.set_title("\n".join(lines), fontsize=SMALL + (0 if titles is None else 1))
            axes.append(ax)
        if group is not None:
            handles = [
                Line2D([], [], color=CATEGORICAL[g], marker="o", ms=3, lw=1.0, label=f"set {g + 1}")
                for g in sorted(set(group.tolist()))
            ]
            fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6))
        elif colourbar:
            feature_colourbar(fig, axes, colours, shrink=0.8, aspect=15)
        if title is not None:
            fig.suptitle(title)
    return fig


def _draw_2d(
    ax: Any, P: FloatArray, norms: FloatArray, colours: list[str], *, outline: bool, gid: str
) -> None:
    """P: (2, n) tips."""
    theta = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(theta), np.sin(theta), color="0.8", lw=0.6, zorder=0, gid=f"unit-circle-{gid}")
    ax.axhline(0, color="0.9", lw=0.4, zorder=0)
    ax.axvline(0, color="0.9", lw=0.4, zorder=0)
    faded = norms <= REPRESENTED_THRESHOLD
    alphas = np.where(faded, 0.35, 1.0)
    ax.quiver(
        np.zeros(P.shape[1]), np.zeros(P.shape[1]), P[0], P[1],
        color=[to_rgba(c, a) for c, a in zip(colours, alphas)],
        angles="xy", scale_units="xy", scale=1.0, width=0.008, headwidth=4.0, headlength=4.5,
        headaxislength=3.5, zorder=2, gid=f"arrows-{gid}",
    )  # fmt: skip
    ax.scatter(P[0], P[1], s=9, c=colours, alpha=None, zorder=3, linewidths=0, gid=f"tips-{gid}")
    represented = np.flatnonzero(~faded)
    if outline and represented.size >= 2:
        angle = np.arctan2(P[1, represented], P[0, represented])
        ring = represented[np.argsort(angle, kind="stable")]
        ring = np.r_[ring, ring[:1]] if represented.size >= 3 else ring
        ax.plot(
            P[0, ring], P[1, ring], color="0.45", lw=0.6, ls=":", zorder=1, gid=f"outline-{gid}"
        )
    lim = max(1.15, 1.12 * float(np.max(np.linalg.norm(P, axis=0))))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    style_axes(ax)


def _draw_3d(
    ax: Any,
    P: FloatArray,
    norms: FloatArray,
    colours: list[str],
    *,
    view: tuple[float, float],
    gid: str,
) -> None:
    """P: (3, n) tips."""
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 25), np.linspace(0, np.pi, 13))
    ax.plot_wireframe(
        np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.85", lw=0.3,
        gid=f"unit-sphere-{gid}",
    )  # fmt: skip
    faded = norms <= REPRESENTED_THRESHOLD
    for i in range(P.shape[1]):
        ax.plot(
            [0, P[0, i]], [0, P[1, i]], [0, P[2, i]], color=colours[i],
            alpha=0.35 if faded[i] else 1.0, lw=1.2, gid=f"arrow-{gid}-{i}",
        )  # fmt: skip
    ax.scatter(P[0], P[1], P[2], s=9, c=colours, depthshade=False, linewidths=0, gid=f"tips-{gid}")
    lim = max(1.0, float(np.max(np.linalg.norm(P, axis=0))))
    for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
        setter(-lim, lim)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=view[0], azim=view[1])
    for set_ticks in (ax.set_xticks, ax.set_yticks, ax.set_zticks):
        set_ticks([-1.0, 0.0, 1.0], ["", "", ""])  # the unit sphere gives the scale
    ax.grid(False)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.pane.set_facecolor((1.0, 1.0, 1.0, 0.0))
        axis.pane.set_edgecolor("0.8")


def _label_tips(ax: Any, P: FloatArray, dims: int) -> None:
    for i in range(P.shape[1]):
        tip = P[:, i]
        norm = float(np.linalg.norm(tip))
        pos = tip * (1 + 0.12 / norm) if norm > 1e-9 else tip
        if dims == 2:
            ax.text(pos[0], pos[1], str(i), fontsize=SMALL - 1, ha="center", va="center",
                    color="0.2", gid="tip-label")  # fmt: skip
        else:
            ax.text(
                pos[0], pos[1], pos[2], str(i), fontsize=SMALL - 1, color="0.2", gid="tip-label"
            )
