"""The job's figures; each function takes a :class:`~verify.sae_job.run.RecoveryRun` and returns a
matplotlib Figure (saving is the caller's job), with a row of panels per toy model. Okabe–Ito
colours for kinds and settings (:data:`verify.plots.OKABE_ITO`), viridis for densities, reference
lines labelled in text."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from verify.plots import OKABE_ITO
from verify.sae_job.control import ControlScore
from verify.sae_job.findings import GOOD_FRACTION, fraction
from verify.sae_job.run import RecoveryRun, SettingScore, TargetRun

_MARKERS = ("o", "s", "^", "D", "v", "P")
_LINESTYLES = ("-", "--", ":", "-.")


def _superposition_span(ax: Any, run: RecoveryRun, target: TargetRun) -> None:
    """Shade the densities whose toy model represents more than m features."""
    p = run.density
    sup = target.represented > run.settings.n_hidden
    edges = np.sqrt(p[:-1] * p[1:])
    lo_edge = np.concatenate([[p[0] * (p[0] / p[1]) ** 0.5], edges])
    hi_edge = np.concatenate([edges, [p[-1] * (p[-1] / p[-2]) ** 0.5]])
    for i in np.flatnonzero(sup):
        ax.axvspan(hi_edge[i], lo_edge[i], color="#999999", alpha=0.15, lw=0)


def _model_name(target: TargetRun) -> str:
    return "h = ReLU(Wx)" if target.hidden_activation == "relu" else "h = Wx"


def recovery_vs_density(run: RecoveryRun) -> Figure:
    """Features recovered against density, one row per toy model and one panel per kind: every
    setting (mean and interval over seeds), the toy model's represented count, the decodable
    count, m, and the superposition region (represented > m) shaded."""
    s = run.settings
    kinds = list(s.kinds)
    rows = len(run.targets)
    fig = Figure(figsize=(3.4 * len(kinds), 1.0 + 3.9 * rows), layout="constrained")
    axes = fig.subplots(rows, len(kinds), sharey=True, squeeze=False)
    p = run.density
    for row, target in enumerate(run.targets):
        decodable = np.array([d.n_decodable for d in target.decodability])
        for ax, kind in zip(axes[row], kinds):
            _superposition_span(ax, run, target)
            ax.plot(p, target.represented, "k-", lw=2, label="represented by the toy model")
            ax.plot(p, decodable, color="#666666", ls=":", lw=1.5, marker="x",
                    label="decodable (test)")  # fmt: skip
            ax.axhline(s.n_hidden, color="k", lw=0.8, ls="--")
            ax.text(p.min(), s.n_hidden, f"m = {s.n_hidden}", va="bottom", ha="left", fontsize=7)
            levels = list(s.levels(kind))
            for item in (r for r in target.results if r.config.kind == kind):
                c = item.config
                level = c.k if kind == "topk" else c.penalty
                colour = OKABE_ITO[levels.index(level) % len(OKABE_ITO)]
                position = list(s.widths).index(c.width)
                style = _LINESTYLES[position % len(_LINESTYLES)]
                shift = 1.08 ** (position - (len(s.widths) - 1) / 2)  # widths side by side
                mean = item.score.mean("recovered")
                ci = item.score.interval("recovered")
                ax.errorbar(
                    p * shift, mean, yerr=[mean - ci[:, 0], ci[:, 1] - mean], color=colour,
                    ls=style, marker="o", ms=3, lw=1.2, capsize=2, label=c.label,
                )  # fmt: skip
            ax.set_xscale("log")
            ax.set_xlabel("feature density p = 1 − S")
            ax.set_title(f"{kind} SAEs, {target.name} model ({_model_name(target)})", fontsize=8)
            ax.set_ylim(bottom=-0.5)  # t-intervals of counts may reach below 0
            ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
        axes[row, 0].set_ylabel(f"features (recovered: cosine ≥ {s.threshold:g})")
    fig.suptitle(
        f"SAE recovery vs density, n={s.n_features}, m={s.n_hidden} (grey: superposition, "
        f"represented > m; bars: {round(100 * s.level)}% over {s.seeds} seeds)",
        fontsize=9,
    )
    return fig


def recovery_vs_l0(run: RecoveryRun) -> Figure:
    """The Pareto view: recovered fraction and fraction of variance unexplained against L0, two
    rows per toy model and one column per kind; colour = density, marker = width, lines join the
    sparsity levels of one width and density."""
    s = run.settings
    kinds = list(s.kinds)
    rows = 2 * len(run.targets)
    fig = Figure(figsize=(3.4 * len(kinds), 0.8 + 2.7 * rows), layout="constrained")
    axes = fig.subplots(rows, len(kinds), squeeze=False)
    cmap = colormaps["viridis"]
    p = run.density
    colours = [cmap(v) for v in np.linspace(0.0, 0.9, p.size)]
    for t, target in enumerate(run.targets):
        for col, kind in enumerate(kinds):
            top, bottom = axes[2 * t, col], axes[2 * t + 1, col]
            for wi, width in enumerate(s.widths):
                items = [
                    r for r in target.results if r.config.kind == kind and r.config.width == width
                ]
                if not items:
                    continue
                l0 = np.stack([r.score.mean("l0") for r in items])  # (levels, C)
                frac = np.stack([fraction(r)[0] for r in items])
                fvu = np.stack([r.score.mean("fvu") for r in items])
                marker = _MARKERS[wi % len(_MARKERS)]
                for i in range(p.size):
                    order = np.argsort(l0[:, i])
                    for ax, y in ((top, frac), (bottom, fvu)):
                        ax.plot(l0[order, i], y[order, i], marker=marker, color=colours[i], lw=1,
                                ms=4)  # fmt: skip
            top.axhline(GOOD_FRACTION, color="k", lw=0.6, ls="--")
            top.set_title(f"{kind} SAEs, {target.name} model ({_model_name(target)})", fontsize=8)
            top.set_ylim(-0.03, 1.03)
            for ax in (top, bottom):
                ax.set_xscale("log")
            bottom.set_yscale("log")
            for axis in (top.xaxis, bottom.xaxis, bottom.yaxis):
                axis.set_minor_formatter(NullFormatter())
            bottom.set_xlabel("L0 (active latents per example)")
        axes[2 * t, 0].set_ylabel("recovered / represented")
        axes[2 * t + 1, 0].set_ylabel("fraction of variance unexplained")
    handles = [Line2D([], [], color=colours[i], lw=2, label=f"p = {v:g}") for i, v in enumerate(p)]
    handles += [
        Line2D([], [], color="k", marker=_MARKERS[i % len(_MARKERS)], ls="", label=f"width {w}")
        for i, w in enumerate(s.widths)
    ]
    fig.legend(handles=handles, loc="outside right center", fontsize=7)
    fig.suptitle(
        f"Recovery and reconstruction against L0, n={s.n_features}, m={s.n_hidden}", fontsize=9
    )
    return fig


def control_figure(run: RecoveryRun) -> Figure:
    """Recovered fraction against density for the reference setting of each kind, on the toy
    model (solid) and on the control without superposition (dashed), with the superposition
    region shaded, one panel per toy model: failure on both is density's doing, on the toy model
    alone superposition's."""
    s = run.settings
    targets = [t for t in run.targets if t.control]
    fig = Figure(figsize=(4.6 * len(targets), 3.3), layout="constrained")
    axes = fig.subplots(1, len(targets), squeeze=False)[0]
    p = run.density
    for ax, target in zip(axes, targets):
        _superposition_span(ax, run, target)
        control = {item.config.kind: item for item in target.control}
        for i, item in enumerate(target.reference(s)):
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            _fraction_line(ax, p, item, colour, "-", f"{item.config.label}, toy model")
            other = control.get(item.config.kind)
            if other is not None:
                _fraction_line(ax, p, other, colour, "--", "same SAE, control")
        ax.axhline(GOOD_FRACTION, color="k", lw=0.6, ls=":")
        ax.set_xscale("log")
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("feature density p = 1 − S")
        ax.set_ylabel("recovered / represented")
        ax.legend(fontsize=6, loc="lower left")
        kind = "identity, h = x" if target.hidden_activation == "relu" else "random orthogonal"
        ax.set_title(
            f"{target.name} model ({_model_name(target)}) vs control ({kind}, n = m = represented)",
            fontsize=7,
        )
    fig.suptitle(f"Superposition or density? n={s.n_features}, m={s.n_hidden}", fontsize=9)
    return fig


def _fraction_line(
    ax: Any, p: np.ndarray, item: SettingScore | ControlScore, colour: str, style: str, label: str
) -> None:
    mean, ci = fraction(item)
    ax.errorbar(
        p, mean, yerr=[mean - ci[:, 0], ci[:, 1] - mean], color=colour, ls=style, marker="o",
        ms=3, lw=1.2, capsize=2, label=label,
    )  # fmt: skip
