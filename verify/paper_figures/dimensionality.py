"""Feature dimensionality: dimensions per feature D* = m/‖W‖²_F against 1/density, with every
feature's D_i, for features of equal importance (paper §"The Geometry of Superposition",
"Uniform Superposition" and "Feature Dimensionality").

As density falls D* drops from 1, and on the way it sticks at the fractions of uniform polytopes
(1/2 for antipodal pairs most visibly; 2/3, 2/5, 3/8 in between), the features' D_i clustering at
the same fractions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from toysup import FeatureConfig, ModelConfig, TrainConfig
from toysup.metrics import dimensionality, dimensions_per_feature, n_represented
from verify import plots
from verify.paper_figures._common import (
    Context,
    FigureData,
    Run,
    Training,
    check_settings,
    fit,
    history_arrays,
    training_memory,
)

NAME = "dimensionality"
TITLE = "Dimensions per feature against 1/density"
SECTION = "The Geometry of Superposition: Uniform Superposition, Feature Dimensionality"


def log_densities(lowest: float, count: int) -> tuple[float, ...]:
    """``count`` densities log-spaced from 1 down to ``lowest``."""
    return tuple(float(v) for v in np.geomspace(1.0, lowest, count))


@dataclass(frozen=True, kw_only=True)
class Settings:
    """n features of equal importance in m dimensions, one model per density."""

    n: int = 100
    m: int = 10
    densities: tuple[float, ...] = log_densities(1 / 300, 24)
    steps: int = 2000
    batch: int = 512
    lr: float = 1e-2
    schedule: str = "cosine"
    seeds: int = 1

    def __post_init__(self) -> None:
        check_settings(self)


PRESETS = {
    "quick": Settings(n=20, m=4, densities=log_densities(0.02, 6), steps=200, batch=128),
    "default": Settings(),
}
PAPER = {
    "n": "400 (the notebook: 200)",
    "m": "30 (the notebook: 20)",
    "importance": "1 (equal)",
    "densities": "swept; D* plotted against 1/(1 − S) on a log axis",
    "training": "not stated in the paper; the reference notebook trains 10,000 steps, batch "
    "1024, AdamW lr 1e-3 constant",
}


def trainings(s: Settings, ctx: Context) -> list[Training]:
    """One configuration per density."""
    density = np.asarray(s.densities)
    return [
        Training(
            "models", "dimensionality: training",
            FeatureConfig(n_features=s.n, density=density[:, None], importance=1.0),
            ModelConfig(n_features=s.n, n_hidden=s.m),
            TrainConfig(steps=s.steps, batch_size=s.batch, lr=s.lr, schedule=s.schedule,
                        n_seeds=s.seeds, seed=ctx.seed_for(NAME), device=ctx.device),
        )
    ]  # fmt: skip


def compute(s: Settings, ctx: Context) -> FigureData:
    density = np.asarray(s.densities)
    runs: list[Run] = []
    result = fit(ctx, NAME, trainings(s, ctx), runs)["models"]
    W, b = result.W, result.b
    d_star = dimensions_per_feature(W)
    arrays = {
        "density": density,
        "W": W,
        "b": b,
        "dimensions_per_feature": d_star,
        "feature_dimensionality": dimensionality(W),
        **history_arrays(result),
    }
    results = {
        "density": density,
        "dimensions_per_feature": d_star,
        "represented": n_represented(W),
    }
    return FigureData(arrays, results, runs)


def draw(a: Mapping[str, NDArray[Any]]) -> dict[str, Figure]:
    n, m = a["W"].shape[-1], a["W"].shape[-2]
    fig = plots.dimensionality_figure(
        a["density"], a["W"], title=f"n = {n} features of equal importance, m = {m} dimensions"
    )
    return {NAME: fig}


def memory(s: Settings) -> float:
    return training_memory(len(s.densities), s.seeds, s.n, s.m, s.batch)
