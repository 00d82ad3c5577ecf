"""The basic results: n = 20 features in m = 5 dimensions, importance 0.7^i, the linear model and
the ReLU-output model from dense to very sparse features (paper §"Demonstrating Superposition",
"Basic Results").

The linear model (and the dense ReLU model) keeps the five most important features in orthogonal
directions; as density falls the ReLU model represents more and more features in superposition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from toysup import FeatureConfig, ModelConfig, TrainConfig
from toysup.metrics import dimensionality, feature_norms, n_represented
from verify import plots
from verify.paper_figures._common import (
    Context,
    FigureData,
    Run,
    Training,
    check_settings,
    fit,
    history_arrays,
    importance_text,
    training_memory,
)

NAME = "sparsity_sweep"
TITLE = "The linear and ReLU-output models from dense to sparse features"
SECTION = "Demonstrating Superposition, Basic Results"
#: A represented feature is in superposition when its dimensionality D_i is below this (a
#: dedicated dimension gives exactly 1; an antipodal pair 1/2).
SUPERPOSED_BELOW = 0.9


@dataclass(frozen=True, kw_only=True)
class Settings:
    """n features in m dimensions, importance ``importance_decay^i``: one linear model at density
    1, one ReLU-output model per density."""

    n: int = 20
    m: int = 5
    importance_decay: float = 0.7
    densities: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)
    steps: int = 10_000
    batch: int = 1024
    lr: float = 3e-3
    schedule: str = "cosine"
    seeds: int = 2

    def __post_init__(self) -> None:
        check_settings(self)


PRESETS = {
    "quick": Settings(densities=(1.0, 0.1, 0.01), steps=200, batch=128, lr=1e-2, seeds=1),
    "default": Settings(),
}
PAPER = {
    "n": 20,
    "m": 5,
    "importance": "0.7^i",
    "densities": "1 (linear) and 1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001 (ReLU)",
    "training": "not stated in the paper; the reference notebook trains 10,000 steps, batch "
    "1024, AdamW lr 1e-3 constant",
}


def linear_optimum_loss(importance: Any, m: int, density: float = 1.0) -> float:
    """The linear model's optimal loss: it keeps the top-m features, each other feature i costs
    I_i Var(x_i) = I_i (p/3 − p²/4) (paper §"Demonstrating Superposition", the linear model)."""
    imp = np.sort(np.asarray(importance, dtype=float))[::-1]
    return float(imp[m:].sum() * (density / 3 - density**2 / 4))


def trainings(s: Settings, ctx: Context) -> list[Training]:
    """The linear model at density 1 (key ``linear``), the ReLU-output model at every density
    (key ``relu``)."""
    importance = s.importance_decay ** np.arange(s.n)
    jobs = [("linear", np.ones(1)), ("relu", np.asarray(s.densities))]  # (activation, densities)
    return [
        Training(
            activation, f"sparsity sweep ({activation}): training",
            FeatureConfig(n_features=s.n, density=p[:, None], importance=importance),
            ModelConfig(n_features=s.n, n_hidden=s.m, activation=activation),
            TrainConfig(steps=s.steps, batch_size=s.batch, lr=s.lr, schedule=s.schedule,
                        n_seeds=s.seeds, seed=ctx.seed_for(NAME, stream), device=ctx.device),
        )
        for stream, (activation, p) in enumerate(jobs)
    ]  # fmt: skip


def compute(s: Settings, ctx: Context) -> FigureData:
    density = np.asarray(s.densities)
    importance = s.importance_decay ** np.arange(s.n)
    runs: list[Run] = []
    results = fit(ctx, NAME, trainings(s, ctx), runs)
    linear, relu = results["linear"], results["relu"]
    W = np.concatenate([linear.W, relu.W])
    b = np.concatenate([linear.b, relu.b])
    arrays = {
        "density": np.concatenate([[1.0], density]),
        "activation": np.array(["linear"] + ["relu"] * density.size),
        "importance": importance,
        "W": W,
        "b": b,
        **history_arrays(linear, "linear_"),
        **history_arrays(relu, "relu_"),
    }
    superposed = np.sum((feature_norms(W) > 0.5) & (dimensionality(W) < SUPERPOSED_BELOW), -1)
    optimum = linear_optimum_loss(importance, s.m)
    out = {
        "columns": [f"{a}, p = {p:.3g}" for a, p in zip(arrays["activation"], arrays["density"])],
        "represented": n_represented(W),
        "superposed": superposed,
        "loss": np.concatenate([linear.loss, relu.loss]),
        "linear_dense_loss_theory": optimum,
        "linear_dense_loss_gap": float(linear.loss[0] / optimum - 1),
    }
    return FigureData(arrays, out, runs)


def draw(a: Mapping[str, NDArray[Any]]) -> dict[str, Figure]:
    titles = [
        ("linear" if act == "linear" else "ReLU") + f"\np = {p:.3g}"
        for act, p in zip(a["activation"], a["density"])
    ]
    n, m = a["W"].shape[-1], a["W"].shape[-2]
    what = f"n = {n} features, m = {m} dimensions, {importance_text(a['importance'])}"
    fig = plots.weights_figure(
        a["W"], a["b"], importance=a["importance"], column_titles=titles, size="page",
        title=f"Linear and ReLU-output models from dense to sparse: {what}",
    )  # fmt: skip
    return {NAME: fig}


def memory(s: Settings) -> float:
    return training_memory(len(s.densities) + 1, s.seeds, s.n, s.m, s.batch)
