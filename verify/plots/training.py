"""Learning curves for convergence checks: the training loss of every seed of every configuration
against the step, with the final-loss estimate and its error bar."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.typing import NDArray

from verify.plots import _checks
from verify.plots._draw import log_ticks
from verify.plots.colours import CATEGORICAL
from verify.plots.style import SIZES, SMALL, paper_style, style_axes

__all__ = ["loss_curves", "result_loss_curves"]

FloatArray = NDArray[np.float64]

#: Error bars span ± Z standard errors: a 95% normal interval.
Z = 1.96
MAX_PANELS = 36


def loss_curves(
    history_steps: Any,
    history_loss: Any,
    *,
    final_loss: Any = None,
    final_loss_stderr: Any = None,
    best_seed: Any = None,
    configs: Sequence[int] | None = None,
    config_labels: Sequence[str] | None = None,
    window: int = 1,
    xscale: str = "linear",
    title: str | None = None,
    size: str | None = None,
    max_columns: int = 4,
    sharey: bool = False,
) -> Figure:
    """Training loss against step, one panel per configuration, one line per seed, log y axis.

    Args:
        history_steps: (T,) steps at which the loss was logged (``TrainResult.history_steps``).
        history_loss: (T, C, k) training-batch loss per configuration and seed
            (``TrainResult.history_loss``); (T, C) or (T,) for one seed / one configuration.
            NaN (not logged) is left out; other values must be > 0.
        final_loss: the final-loss estimate on fresh examples, (C,) for the kept seed
            (``TrainResult.loss``) or (C, k) for every seed (``seed_loss``). Drawn at the right
            of each panel as a dot with an error bar of ± 1.96 ``final_loss_stderr`` (a 95%
            normal interval; a lower end at or below 0 runs off the bottom of the log axis).
        final_loss_stderr: its standard error, same shape as ``final_loss``.
        best_seed: (C,) index of the kept seed (``TrainResult.best_seed``), drawn thicker.
        configs: which configurations to show (default all, at most 36).
        config_labels: one panel title per configuration shown (default ``"configuration c"``).
        window: a centred moving mean over this many logged points (odd, 1 = raw).
        xscale: ``"linear"`` or ``"log"`` (x = step + 1).
        title: figure title.
        size: ``"column"`` or ``"page"`` (default: a column for up to two panels).
        max_columns: panels per row.
        sharey: one y range for every panel (default: each panel its own, so that the
            fluctuations of a configuration with a small loss stay visible).

    Returns:
        A grid of panels sharing the x axis; seeds coloured by index (Okabe–Ito, up to 8 seeds,
        else grey), the kept seed thicker; legend below.
    """
    steps = _checks.steps("history_steps", history_steps)
    loss = _checks.as_numpy("history_loss", history_loss)
    if loss.ndim == 1:
        loss = loss[:, None, None]
    elif loss.ndim == 2:
        loss = loss[:, :, None]
    if loss.ndim != 3 or loss.shape[0] != steps.size or 0 in loss.shape:
        raise ValueError(
            f"history_loss must have shape (T, C, k), (T, C) or (T,) with T = {steps.size} "
            f"(one row per logged step), got shape {np.shape(history_loss)}"
        )
    bad = np.isfinite(loss) & (loss <= 0) | np.isinf(loss)
    if bad.any():
        raise ValueError(
            f"history_loss must be > 0 and finite (NaN for not logged), got {loss[bad][:5].tolist()}"
        )
    _, n_configs, n_seeds = loss.shape
    shown = _configs(configs, n_configs)
    labels = _checks.titles("config_labels", config_labels, len(shown))
    final, final_se = _final(final_loss, final_loss_stderr, n_configs, n_seeds)
    kept = _best(best_seed, n_configs, n_seeds)
    w = _checks.positive_int("window", window)
    if w % 2 == 0:
        raise ValueError(f"window must be odd (a centred moving mean), got {w}")
    _checks.choice("xscale", xscale, ("linear", "log"))
    cols_max = _checks.positive_int("max_columns", max_columns)
    if not isinstance(sharey, bool):
        raise TypeError(f"sharey must be a bool, got {sharey!r}")
    if size is None:
        size = "column" if len(shown) <= 2 else "page"
    _checks.choice("size", size, tuple(SIZES))
    x = steps + 1.0 if xscale == "log" else steps
    x_end = x[-1] * 1.25 if xscale == "log" else x[-1] + 0.06 * max(x[-1] - x[0], 1.0)
    seed_colours = list(CATEGORICAL[:n_seeds]) if n_seeds <= len(CATEGORICAL) else ["0.5"] * n_seeds

    cols = min(len(shown), cols_max)
    rows = -(-len(shown) // cols)
    with paper_style():
        fig = Figure(figsize=(SIZES[size], 0.4 + 1.7 * rows), layout="constrained")
        axes = fig.subplots(rows, cols, sharex=True, sharey=sharey, squeeze=False).ravel()
        for ax in axes[len(shown) :]:
            ax.set_visible(False)
        for panel, c in enumerate(shown):
            ax = axes[panel]
            for k in range(n_seeds):
                thick = kept is not None and kept[c] == k
                ax.plot(x, _smooth(loss[:, c, k], w), color=seed_colours[k],
                        lw=1.3 if thick else 0.7, alpha=1.0 if thick or kept is None else 0.75,
                        gid=f"loss-{c}-{k}")  # fmt: skip
            if final is not None:
                _final_bars(ax, x_end, final[c], None if final_se is None else final_se[c],
                            seed_colours, kept=None if kept is None else int(kept[c]),
                            per_seed=final.shape[1] > 1, xscale=xscale, gid=str(c))  # fmt: skip
            ax.set_yscale("log")
            drawn = [loss[:, c if not sharey else slice(None)]]
            if final is not None:
                drawn.append(final[c if not sharey else slice(None)])
            log_ticks(ax, np.concatenate([np.ravel(v) for v in drawn]))
            ax.set_xscale(xscale)
            ax.set_title(labels[panel] if labels is not None else f"configuration {c}",
                         fontsize=SMALL)  # fmt: skip
            style_axes(ax)
        for ax in axes[(rows - 1) * cols :]:
            ax.set_xlabel("training step + 1" if xscale == "log" else "training step")
        for ax in axes[::cols]:
            ax.set_ylabel("training loss" + ("" if w == 1 else f"\n(mean of {w} logs)"))
        handles = _legend_handles(n_seeds, seed_colours, kept is not None, final is not None)
        if handles:
            ncol = min(len(handles), 5 if size == "page" else 2)
            fig.legend(handles=handles, loc="outside lower center", ncol=ncol)
        if title is not None:
            fig.suptitle(title)
    return fig


def result_loss_curves(result: Any, **kwargs: Any) -> Figure:
    """:func:`loss_curves` of a ``TrainResult``: its history, every seed's final loss with its
    standard error, and the kept seed. Keyword arguments go to :func:`loss_curves`."""
    for name in ("history_steps", "history_loss", "seed_loss", "seed_loss_stderr", "best_seed"):
        if not hasattr(result, name):
            raise TypeError(f"result must be a TrainResult (it has no {name!r}), got {result!r}")
    return loss_curves(
        result.history_steps,
        result.history_loss,
        final_loss=result.seed_loss,
        final_loss_stderr=result.seed_loss_stderr,
        best_seed=result.best_seed,
        **kwargs,
    )


def _configs(configs: Sequence[int] | None, n_configs: int) -> list[int]:
    if configs is None:
        shown = list(range(n_configs))
    else:
        if isinstance(configs, (str, bytes)) or not hasattr(configs, "__iter__"):
            raise TypeError(f"configs must be a sequence of indices, got {configs!r}")
        shown = [_checks.index("configs entry", c, n_configs) for c in configs]
        if not shown:
            raise ValueError("configs must name at least one configuration, got []")
    if len(shown) > MAX_PANELS:
        raise ValueError(
            f"at most {MAX_PANELS} panels fit in a figure, got {len(shown)} configurations: "
            "pass configs=[...] to choose some"
        )
    return shown


def _final(
    final_loss: Any, stderr: Any, n_configs: int, n_seeds: int
) -> tuple[FloatArray | None, FloatArray | None]:
    if final_loss is None:
        if stderr is not None:
            raise ValueError("final_loss_stderr needs final_loss")
        return None, None
    final = _checks.as_numpy("final_loss", final_loss)
    if final.shape not in ((n_configs,), (n_configs, n_seeds)):
        raise ValueError(
            f"final_loss must have shape (C,) = ({n_configs},) or (C, k) = {(n_configs, n_seeds)}, "
            f"got shape {final.shape}"
        )
    final = final.reshape(n_configs, -1)
    se: FloatArray | None = None
    if stderr is not None:
        se_given = _checks.as_numpy("final_loss_stderr", stderr)
        if se_given.shape != np.shape(final_loss):
            raise ValueError(
                f"final_loss_stderr must have the shape of final_loss {np.shape(final_loss)}, "
                f"got shape {np.shape(stderr)}"
            )
        se = se_given.reshape(final.shape)
        if np.any(se < 0):
            raise ValueError(f"final_loss_stderr must be >= 0, got {se[se < 0].tolist()}")
    return final, se


def _best(best_seed: Any, n_configs: int, n_seeds: int) -> NDArray[np.int64] | None:
    if best_seed is None:
        return None
    arr = np.asarray(best_seed)
    if arr.shape != (n_configs,) or arr.dtype.kind not in "iu":
        raise ValueError(
            f"best_seed must be ({n_configs},) integers (one per configuration), got "
            f"{arr.dtype} array of shape {arr.shape}"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= n_seeds):
        raise ValueError(f"best_seed must lie in [0, {n_seeds}), got {arr.tolist()}")
    return arr.astype(np.int64)


def _smooth(y: FloatArray, window: int) -> FloatArray:
    """Centred moving mean over ``window`` points, NaN-aware; the ends use the points there are."""
    if window == 1:
        return y
    ok = np.isfinite(y)
    kernel = np.ones(window)
    total = np.convolve(np.where(ok, y, 0.0), kernel, mode="same")
    count = np.convolve(ok.astype(float), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, total / np.where(count > 0, count, 1.0), np.nan)


def _final_bars(
    ax: Any,
    x_end: float,
    final: FloatArray,
    se: FloatArray | None,
    colours: list[str],
    *,
    kept: int | None,
    per_seed: bool,
    xscale: str,
    gid: str,
) -> None:
    """final, se: (k,) per seed or (1,) for the kept seed."""
    count = final.size
    spread = np.linspace(-1, 1, count) if count > 1 else np.zeros(1)
    for k in range(count):
        x = x_end * 1.08 ** spread[k] if xscale == "log" else x_end + spread[k] * 0.02 * x_end
        colour = colours[k] if per_seed else (colours[kept] if kept is not None else "black")
        yerr = None if se is None else Z * se[k]
        low = None if yerr is None else min(yerr, final[k] * (1 - 1e-9))  # stays on a log axis
        ax.errorbar([x], [final[k]], yerr=None if yerr is None else [[low], [yerr]], fmt="o",
                    ms=2.5, color=colour, ecolor=colour, elinewidth=0.8, capsize=1.5,
                    gid=f"final-{gid}")  # fmt: skip


def _legend_handles(n_seeds: int, colours: list[str], kept: bool, final: bool) -> list[Any]:
    handles: list[Any] = []
    if 1 < n_seeds <= len(CATEGORICAL):
        handles += [
            Line2D([], [], color=colours[k], lw=0.8, label=f"seed {k}") for k in range(n_seeds)
        ]
    if kept:
        handles.append(Line2D([], [], color="0.3", lw=1.3, label="kept seed (thick)"))
    if final:
        label = "final loss ± 1.96 SE (fresh examples)"
        handles.append(Line2D([], [], color="0.3", marker="o", ms=2.5, ls="none", label=label))
    return handles
