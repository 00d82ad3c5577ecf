"""The introduction's figure: n = 5 features in m = 2 dimensions, importance 0.9^i, ten densities
(paper §"Demonstrating Superposition", the reference notebook's first experiment).

As density falls the model goes from keeping the two most important features in orthogonal
directions to packing more of them into the plane: an antipodal pair, then the pentagon.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from toysup import FeatureConfig, ModelConfig, TrainConfig
from toysup.metrics import dimensions_per_feature, n_represented
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

NAME = "intro"
TITLE = "Five features in two dimensions across density"
SECTION = "Demonstrating Superposition (introduction figure)"


def notebook_densities(count: int) -> tuple[float, ...]:
    """The notebook's densities ``20^-linspace(0, 1, count)``: 1 down to 1/20."""
    return tuple(float(v) for v in 20.0 ** -np.linspace(0, 1, count))


@dataclass(frozen=True, kw_only=True)
class Settings:
    """n features in m dimensions, importance ``importance_decay^i``, one model per density."""

    n: int = 5
    m: int = 2
    importance_decay: float = 0.9
    densities: tuple[float, ...] = notebook_densities(10)
    steps: int = 10_000
    batch: int = 1024
    lr: float = 1e-3
    schedule: str = "constant"
    seeds: int = 1

    def __post_init__(self) -> None:
        check_settings(self)


PRESETS = {
    "quick": Settings(densities=notebook_densities(4), steps=300, batch=128, lr=1e-2),
    # the notebook's training: 10,000 steps, batch 1024, AdamW lr 1e-3 constant, one seed
    "default": Settings(),
}
PAPER = {
    "n": 5,
    "m": 2,
    "importance": "0.9^i",
    "densities": "20^-linspace(0, 1, 10)",
    "training": "10,000 steps, batch 1024, AdamW lr 1e-3 constant (the reference notebook)",
}


def trainings(s: Settings, ctx: Context) -> list[Training]:
    """One configuration per density."""
    density = np.asarray(s.densities)
    return [
        Training(
            "models", "intro: training",
            FeatureConfig(n_features=s.n, density=density[:, None],
                          importance=s.importance_decay ** np.arange(s.n)),
            ModelConfig(n_features=s.n, n_hidden=s.m),
            TrainConfig(steps=s.steps, batch_size=s.batch, lr=s.lr, schedule=s.schedule,
                        n_seeds=s.seeds, seed=ctx.seed_for(NAME), device=ctx.device),
        )
    ]  # fmt: skip


def compute(s: Settings, ctx: Context) -> FigureData:
    density = np.asarray(s.densities)
    importance = s.importance_decay ** np.arange(s.n)
    runs: list[Run] = []
    result = fit(ctx, NAME, trainings(s, ctx), runs)["models"]
    W, b = result.W, result.b
    arrays = {"density": density, "importance": importance, "W": W, "b": b,
              **history_arrays(result)}  # fmt: skip
    results = {
        "density": density,
        "represented": n_represented(W),
        "dimensions_per_feature": dimensions_per_feature(W),
        "loss": result.loss,
    }
    return FigureData(arrays, results, runs)


def draw(a: Mapping[str, NDArray[Any]]) -> dict[str, Figure]:
    titles = density_titles(a["density"])
    n, m = a["W"].shape[-1], a["W"].shape[-2]
    what = f"n = {n} features in m = {m} dimensions, {importance_text(a['importance'])}"
    return {
        "intro": plots.feature_geometry(
            a["W"], column_titles=titles, size="page", title=f"Feature directions $W_i$: {what}"
        ),
        "intro_weights": plots.weights_figure(
            a["W"], a["b"], importance=a["importance"], column_titles=titles, size="page",
            title=f"$W^\\top W$, $b$ and $\\|W_i\\|$: {what}",
        ),
    }  # fmt: skip


def memory(s: Settings) -> float:
    return training_memory(len(s.densities), s.seeds, s.n, s.m, s.batch)
