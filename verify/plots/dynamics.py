"""Learning dynamics: feature dimensionalities D_i and the loss against the training step, and the
"energy level" view of D_i at chosen snapshots (paper §"Superposition and Learning Dynamics",
Elhage et al. 2022: features jump between the sticky fractions 1, 3/4, 2/3, 1/2, 2/5, 3/8 during
training, and the loss drops as they do).

Inputs are plain arrays: the weights of one configuration at k snapshot steps. From a
``TrainResult`` with ``snapshots = {"step": (k,), "W": (configs, k, m, n), "b": (configs, k, n)}``
use :func:`snapshot_arrays` to pick one configuration. D_i is a property of the feature
directions W_i (the columns of W, the encoder of an untied model).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from toysup.metrics import dimensionality, dimensions_per_feature
from verify.plots import _checks
from verify.plots._draw import feature_colourbar, log_ticks
from verify.plots.colours import feature_colours
from verify.plots.geometry import draw_sticky_fractions
from verify.plots.style import SMALL, figure_size, paper_style, style_axes

__all__ = [
    "SnapshotArrays",
    "dimensionality_jumps",
    "energy_levels",
    "learning_dynamics",
    "snapshot_arrays",
]

FloatArray = NDArray[np.float64]


class SnapshotArrays(NamedTuple):
    """One configuration's snapshots: ``step`` (k,), ``W`` (k, m, n), ``b`` (k, n) or None,
    ``W_dec`` (k, n, m) for an untied model, else None."""

    step: FloatArray
    W: FloatArray
    b: FloatArray | None
    W_dec: FloatArray | None


def snapshot_arrays(snapshots: Mapping[str, Any], *, config: int = 0) -> SnapshotArrays:
    """Configuration ``config`` of a snapshots dict ``{"step": (k,), "W": (configs, k, m, n),
    "b": (configs, k, n)}`` (and ``"W_dec": (configs, k, n, m)`` for an untied model)."""
    if not isinstance(snapshots, Mapping) or "step" not in snapshots or "W" not in snapshots:
        raise ValueError(
            "snapshots must be a dict with 'step' (k,) and 'W' (configs, k, m, n) "
            f"(and optionally 'b', 'W_dec'), got {type(snapshots).__name__}"
            + (f" with keys {sorted(snapshots)}" if isinstance(snapshots, Mapping) else "")
        )
    step = _checks.steps("snapshots['step']", snapshots["step"])
    W = _checks.as_numpy("snapshots['W']", snapshots["W"])
    if W.ndim != 4 or W.shape[1] != step.size:
        raise ValueError(
            f"snapshots['W'] must have shape (configs, k={step.size}, m, n), got {W.shape}"
        )
    configs, k, m, n = W.shape
    c = _checks.index("config", config, configs)
    b = _optional(snapshots, "b", (configs, k, n), "(configs, k, n)")
    W_dec = _optional(snapshots, "W_dec", (configs, k, n, m), "(configs, k, n, m)")
    return SnapshotArrays(
        step=step,
        W=_checks.finite("snapshots['W']", W[c]),
        b=None if b is None else b[c],
        W_dec=None if W_dec is None else W_dec[c],
    )


def _optional(
    snapshots: Mapping[str, Any], key: str, shape: tuple[int, ...], names: str
) -> FloatArray | None:
    if snapshots.get(key) is None:
        return None
    arr = _checks.as_numpy(f"snapshots[{key!r}]", snapshots[key])
    if arr.shape != shape:
        raise ValueError(f"snapshots[{key!r}] must have shape {shape} {names}, got {arr.shape}")
    return _checks.finite(f"snapshots[{key!r}]", arr)


def _trajectory(step: Any, W: Any) -> tuple[FloatArray, FloatArray]:
    s = _checks.steps("step", step)
    arr = _checks.as_numpy("W", W)
    if arr.ndim != 3 or arr.shape[0] != s.size or 0 in arr.shape:
        raise ValueError(
            f"W must have shape (k, m, n) with one snapshot per step (k = {s.size}), "
            f"got shape {arr.shape}"
        )
    return s, _checks.finite("W", arr)


def dimensionality_jumps(step: Any, W: Any, *, threshold: float = 0.1) -> FloatArray:
    """Steps at which some feature's D_i changed by more than ``threshold`` since the previous
    snapshot: (j,) the later step of each such pair. W: (k, m, n) at ``step`` (k,)."""
    s, arr = _trajectory(step, W)
    t = _checks.number("threshold", threshold, low=0.0, high=1.0, what="a change in D_i")
    d = dimensionality(arr)  # (k, n)
    moved = np.max(np.abs(np.diff(d, axis=0)), axis=1, initial=0.0) > t
    return s[1:][moved]


def _x(s: FloatArray, xscale: str) -> tuple[FloatArray, str]:
    if xscale == "log":
        return s + 1.0, "training step + 1"
    return s, "training step"


def learning_dynamics(
    step: Any,
    W: Any,
    *,
    loss_steps: Any = None,
    loss: Any = None,
    jump_threshold: float = 0.1,
    xscale: str = "log",
    title: str | None = None,
    size: str = "column",
) -> Figure:
    """Feature dimensionality D_i and loss against the training step (paper §"Superposition and
    Learning Dynamics").

    Args:
        step: (k,) snapshot steps, increasing (``snapshots["step"]``).
        W: (k, m, n) weights of one configuration at those steps (:func:`snapshot_arrays`).
        loss_steps: (T,) steps of the loss curve, e.g. a ``TrainResult``'s ``history_steps``.
        loss: (T,) or (T, seeds) losses at those steps, e.g. ``history_loss[:, config]``.
            Without ``loss_steps`` and ``loss``, one panel.
        jump_threshold: a snapshot where some D_i moved by more than this since the previous one
            is marked by a thin vertical line on every panel (:func:`dimensionality_jumps`).
        xscale: ``"log"`` (x = step + 1, as training slows down) or ``"linear"``.
        title: figure title.
        size: ``"column"`` (3.3 in) or ``"page"`` (7 in) wide.

    Returns:
        Top: one line per feature, D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)² (``viridis``, dark = feature 0;
        colour bar), D* = m/‖W‖²_F as a dashed black line, and dashed grey lines at the sticky
        fractions labelled 1, 3/4, 2/3, 1/2, 2/5, 3/8. Bottom (with a loss): the loss on a log
        axis (one line per seed), sharing the x axis.
    """
    s, arr = _trajectory(step, W)
    _checks.choice("xscale", xscale, ("linear", "log"))
    has_loss = loss is not None or loss_steps is not None
    if has_loss:
        ls, lv = _loss_curve(loss_steps, loss)
    jumps = dimensionality_jumps(s, arr, threshold=jump_threshold)
    d = dimensionality(arr)  # (k, n)
    d_star = dimensions_per_feature(arr)  # (k,)
    n = arr.shape[2]
    colours = feature_colours(n)
    x, xlabel = _x(s, xscale)

    with paper_style():
        fig = Figure(figsize=figure_size(size, 3.6 if has_loss else 2.4), layout="constrained")
        axes = fig.subplots(2 if has_loss else 1, 1, sharex=True, squeeze=False,
                            height_ratios=[1.6, 1.0] if has_loss else None)[:, 0]  # fmt: skip
        ax = axes[0]
        draw_sticky_fractions(ax, names=False)
        for i in range(n):
            ax.plot(x, d[:, i], color=colours[i], lw=0.9, gid=f"dimensionality-{i}")
        ax.plot(x, d_star, color="black", lw=0.9, ls=(0, (4, 2)), gid="dimensions-per-feature",
                label=r"$D^* = m/\|W\|_F^2$")  # fmt: skip
        ax.set_ylim(-0.03, 1.08)
        ax.set_ylabel("feature dimensionality $D_i$")
        ax.legend(loc="lower left", fontsize=SMALL - 1, handlelength=2.0)
        if has_loss:
            lx, _ = _x(ls, xscale)
            for k in range(lv.shape[1]):
                axes[1].plot(lx, lv[:, k], color="black", lw=0.8, alpha=1.0 if k == 0 else 0.4,
                             gid="loss")  # fmt: skip
            axes[1].set_yscale("log")
            log_ticks(axes[1], lv)
            axes[1].set_ylabel("loss")
        jx, _ = _x(jumps, xscale)
        for a in axes:
            for j in jx:
                a.axvline(j, color="0.75", lw=0.5, zorder=0, gid="jump")
            a.set_xscale(xscale)
            style_axes(a)
        axes[-1].set_xlabel(xlabel)
        feature_colourbar(fig, [axes[0]], colours, shrink=0.9, aspect=15)
        if title is not None:
            fig.suptitle(title)
    return fig


def _loss_curve(loss_steps: Any, loss: Any) -> tuple[FloatArray, FloatArray]:
    if loss_steps is None or loss is None:
        raise ValueError("pass both loss_steps and loss, or neither")
    ls = _checks.steps("loss_steps", loss_steps)
    lv = _checks.as_numpy("loss", loss)
    if lv.ndim == 1:
        lv = lv[:, None]
    if lv.ndim != 2 or lv.shape[0] != ls.size:
        raise ValueError(
            f"loss must have shape (T,) or (T, seeds) with T = {ls.size} (one row per loss "
            f"step), got shape {np.shape(loss)}"
        )
    bad = ~(np.isfinite(lv) & (lv > 0))
    if bad.any():
        raise ValueError(
            f"loss must be finite and > 0 (a log axis), got {lv[bad][:5].tolist()} at rows "
            f"{np.nonzero(bad)[0][:5].tolist()}"
        )
    return ls, lv


def energy_levels(
    step: Any,
    W: Any,
    *,
    at: Any = None,
    title: str | None = None,
    size: str = "column",
) -> Figure:
    """The "energy level" view: each feature's D_i as a short horizontal level at a few
    snapshots, side by side, with the sticky fractions across (paper §"Superposition and
    Learning Dynamics").

    Args:
        step: (k,) snapshot steps, increasing.
        W: (k, m, n) weights of one configuration at those steps.
        at: which snapshots to show, as steps present in ``step`` (default: up to 6 spread
            evenly over the snapshots, first and last included).
        title: figure title.
        size: ``"column"`` or ``"page"``.

    Returns:
        One column per chosen snapshot (tick label: its step, "1.23k" for 1,234): a level per
        feature at D_i (``viridis``, dark = feature 0, colour bar on the right; levels that
        coincide are spread sideways so each stays visible), thin lines joining a feature's
        levels in neighbouring columns, and dashed grey lines at the sticky fractions labelled
        1, 3/4, 2/3, 1/2, 2/5, 3/8.
    """
    s, arr = _trajectory(step, W)
    if at is None:
        chosen = np.unique(np.round(np.linspace(0, s.size - 1, min(6, s.size))).astype(int))
    else:
        wanted = _checks.vector("at", at)
        missing = [float(v) for v in wanted if v not in s]
        if missing:
            raise ValueError(f"at must list snapshot steps among {s.tolist()}, got {missing}")
        chosen = np.searchsorted(s, np.unique(wanted))
    d = dimensionality(arr[chosen])  # (columns, n)
    n = arr.shape[2]
    colours = feature_colours(n)
    half = 0.32  # half width of a column's levels

    with paper_style():
        fig = Figure(figsize=figure_size(size, 2.6), layout="constrained")
        ax = fig.add_subplot()
        draw_sticky_fractions(ax, names=False)
        centres = np.arange(d.shape[0])[:, None] + np.stack([_spread(row, half) for row in d])
        for col in range(d.shape[0]):
            for i in range(n):
                centre = centres[col, i]
                ax.plot([centre - 0.08, centre + 0.08], [d[col, i]] * 2, color=colours[i],
                        lw=1.6, solid_capstyle="butt", gid=f"level-{col}-{i}")  # fmt: skip
                if col:
                    ax.plot([centres[col - 1, i] + 0.08, centre - 0.08], [d[col - 1, i], d[col, i]],
                            color=colours[i], lw=0.4, alpha=0.5, gid="transition")  # fmt: skip
        ax.set_xticks(np.arange(d.shape[0]), [compact_number(s[c]) for c in chosen])
        ax.set_xlim(-0.6, d.shape[0] - 0.4)
        ax.set_ylim(-0.03, 1.08)
        ax.set_xlabel("training step")
        ax.set_ylabel("feature dimensionality $D_i$")
        style_axes(ax)
        feature_colourbar(fig, [ax], colours, shrink=0.9, aspect=15, pad=0.1)
        if title is not None:
            fig.suptitle(title)
    return fig


def compact_number(value: float) -> str:
    """A step count in three significant digits and a suffix: 950, 1.23k, 20k, 3M."""
    rounded = float(f"{value:.3g}")
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(rounded) >= limit:
            return f"{rounded / limit:g}{suffix}"
    return f"{rounded:g}"


def _spread(levels: FloatArray, half: float) -> FloatArray:
    """Sideways offsets in [−half, half] so levels within 0.02 of each other sit side by side."""
    n = levels.size
    offsets = np.zeros(n)
    order = np.argsort(levels, kind="stable")
    groups: list[list[int]] = []
    for i in order:
        if groups and abs(levels[i] - levels[groups[-1][-1]]) < 0.02:
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    for group in groups:
        if len(group) > 1:
            offsets[group] = np.linspace(-half + 0.08, half - 0.08, len(group))
    return offsets
