"""Computation in superposition: the absolute-value circuit h = ReLU(W x), y = ReLU(W_dec h + b)
trained on |x|, inputs uniform on [−1, 1], importance 0.8^i, from dense to very sparse features
(paper §"Computation in Superposition").

Dense: each computed feature gets a pair of neurons of its own, ReLU(x_i) and ReLU(−x_i), for
at most m/2 features. Sparse: more features are computed than m/2, sharing neurons. The decoder
starts at ``|W|ᵀ`` (``ModelConfig(decoder_init="encoder_abs")``, a departure from the reference
notebook's random draw): with a random decoder and b = 0 about half of the (feature, sign)
outputs start dead, stay dead at low density, and the features computed for both signs then
fall below m/2 as density falls instead of rising above it (docs/training.md,
"Initialisation"). The neuron stacks use the raw weights (``positive=False``): with signed inputs a negative weight drives a
neuron as much as a positive one (it computes ReLU(−x_i)), so the sign is part of what a neuron
responds to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from toysup import FeatureConfig, ModelConfig, TrainConfig
from toysup.metrics import (
    ABS_FIT_THRESHOLD,
    abs_fit,
    abs_fit_by_sign,
    abs_recovered,
    neuron_monosemanticity,
)
from verify import plots
from verify.paper_figures._common import (
    Context,
    FigureData,
    Run,
    Training,
    check_settings,
    density_titles,
    fit,
    history_arrays,
    importance_text,
    training_memory,
)
from verify.plots.colours import CATEGORICAL
from verify.plots.style import SMALL, figure_size, paper_style, style_axes

NAME = "absolute_value"
TITLE = "Computing |x| in superposition across density"
SECTION = "Computation in Superposition"
#: At most this many densities are drawn as neuron stacks (spread over the range, ends kept).
STACK_PANELS = 4


@dataclass(frozen=True, kw_only=True)
class Settings:
    """n signed features, m ReLU neurons, untied decoder initialised as ``decoder_init``
    (:class:`toysup.ModelConfig`), target |x|, importance ``importance_decay^i``; the lowest-loss
    of ``seeds`` runs per density."""

    n: int = 40
    m: int = 16
    importance_decay: float = 0.8
    densities: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)
    steps: int = 3000
    batch: int = 1024
    lr: float = 3e-3
    schedule: str = "cosine"
    seeds: int = 2
    decoder_init: str = "encoder_abs"

    def __post_init__(self) -> None:
        check_settings(self)
        ModelConfig(n_features=self.n, n_hidden=self.m, tied=False,
                    decoder_init=self.decoder_init)  # fmt: skip


PRESETS = {
    "quick": Settings(n=8, m=4, densities=(1.0, 0.1, 0.01), steps=200, batch=128, lr=1e-2,
                      seeds=1),
    # n and m scaled down from the paper's 100 and 40 with the same ratio m/n = 0.4
    "default": Settings(),
}  # fmt: skip
PAPER = {
    "n": 100,
    "m": 40,
    "importance": "0.8^i",
    "densities": "1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001",
    "training": "not stated",
    "initialisation": "not stated",
}


def trainings(s: Settings, ctx: Context) -> list[Training]:
    """One configuration per density."""
    density = np.asarray(s.densities)
    return [
        Training(
            "models", "absolute value: training",
            FeatureConfig(n_features=s.n, density=density[:, None],
                          importance=s.importance_decay ** np.arange(s.n), values="signed"),
            ModelConfig(n_features=s.n, n_hidden=s.m, hidden_activation="relu", tied=False,
                        decoder_init=s.decoder_init),
            TrainConfig(steps=s.steps, batch_size=s.batch, lr=s.lr, schedule=s.schedule,
                        n_seeds=s.seeds, target="abs", seed=ctx.seed_for(NAME),
                        device=ctx.device),
        )
    ]  # fmt: skip


def compute(s: Settings, ctx: Context) -> FigureData:
    density = np.asarray(s.densities)
    runs: list[Run] = []
    result = fit(ctx, NAME, trainings(s, ctx), runs)["models"]
    if result.W_dec is None:  # pragma: no cover - the model is untied
        raise RuntimeError("the absolute-value model is untied but no decoder was returned")
    W, W_dec, b = result.W, result.W_dec, result.b
    fit_ = abs_fit(W, W_dec, b)
    by_sign = abs_fit_by_sign(W, W_dec, b)  # (densities, n, 2)
    arrays = {
        "density": density,
        "importance": s.importance_decay ** np.arange(s.n),
        "W": W,
        "W_dec": W_dec,
        "b": b,
        "abs_fit": fit_,
        "abs_fit_by_sign": by_sign,
        "abs_recovered": abs_recovered(W, W_dec, b),
        "computed": np.sum(fit_ > ABS_FIT_THRESHOLD, -1),
        # at least one sign: a hidden neuron responds on that side (a bias alone scores <= 0)
        "partly_computed": np.sum(np.any(by_sign > ABS_FIT_THRESHOLD, -1), -1),
        "monosemanticity": neuron_monosemanticity(W),
        **history_arrays(result),
    }
    results = {
        "density": density,
        "computed": arrays["computed"],
        "partly_computed": arrays["partly_computed"],
        "half_the_neurons": s.m / 2,
        "loss": result.loss,
    }
    return FigureData(arrays, results, runs)


def stack_panels(count: int) -> NDArray[np.int64]:
    """Indices of the densities drawn as neuron stacks: at most :data:`STACK_PANELS`, evenly
    spread, first and last included."""
    return np.unique(np.round(np.linspace(0, count - 1, min(STACK_PANELS, count))).astype(int))


def draw(a: Mapping[str, NDArray[Any]]) -> dict[str, Figure]:
    n, m = a["W"].shape[-1], a["W"].shape[-2]
    shown = stack_panels(a["density"].size)
    what = f"n = {n} features, m = {m} neurons, {importance_text(a['importance'])}"
    stacks = plots.neuron_weight_stacks(
        a["W"][shown], positive=False, column_titles=density_titles(a["density"][shown]),
        size="page", title=f"Absolute value, h = ReLU(Wx), y = ReLU($W_{{dec}}$h + b): {what}",
    )  # fmt: skip
    return {NAME: stacks, f"{NAME}_counts": counts_figure(a["density"], a["computed"],
                                                         a["partly_computed"], m=m, n=n)}  # fmt: skip


def counts_figure(density: Any, computed: Any, partly: Any, *, m: int, n: int) -> Figure:
    """Features computed against density (log x): |x_i| for both signs (``abs_fit`` > 1/2),
    and at least partly (one sign or both: ``abs_fit_by_sign`` > 1/2), with m/2 (one neuron pair per feature) and m
    marked."""
    p = np.asarray(density, dtype=float)
    order = np.argsort(p)
    with paper_style():
        fig = Figure(figsize=figure_size("column", 2.4), layout="constrained")
        ax = fig.add_subplot()
        ax.plot(p[order], np.asarray(computed)[order], marker="o", color=CATEGORICAL[0],
                label="computed: both signs (fit > 1/2)", gid="computed")  # fmt: skip
        ax.plot(p[order], np.asarray(partly)[order], marker="s", ls="--", color=CATEGORICAL[1],
                label="partly: at least one sign (fit > 1/2)", gid="partly")  # fmt: skip
        for value, text in ((m / 2, "m/2: a neuron pair each"), (m, "m neurons")):
            ax.axhline(value, color="0.55", lw=0.6, ls=":", zorder=0)
            ax.annotate(text, xy=(1.0, value), xycoords=("axes fraction", "data"),
                        xytext=(-2, 2), textcoords="offset points", ha="right", va="bottom",
                        fontsize=SMALL - 1, color="0.35")  # fmt: skip
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_ylim(0, n * 1.05)
        ax.set_xlabel("feature density $p$ (sparser to the right)")
        ax.set_ylabel(f"features computed (of {n})")
        style_axes(ax)
        ax.legend(loc="upper left", fontsize=SMALL - 1)
        fig.suptitle("Absolute value: features computed against density")
    return fig


def memory(s: Settings) -> float:
    return training_memory(len(s.densities), s.seeds, s.n, s.m, s.batch)
