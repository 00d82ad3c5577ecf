"""The privileged basis: a ReLU hidden layer, h = ReLU(W x), x' = ReLU(Wᵀ h + b), n = 10 features
in m = 5 neurons, importance 0.75^i (paper §"Superposition in a Privileged Basis").

Dense features: each neuron reads one of the five most important features (monosemantic). Sparse
features: more features than neurons are represented and neurons respond to several features
(polysemantic). Neurons are measured on the positive part of their weights
(``toysup.metrics.neuron_monosemanticity(W, positive=True)``): with non-negative inputs a ReLU
neuron is driven only by its positive weights; the large negative weights the model grows at low
density only inhibit it (docs/training.md, "Neuron and set metrics").
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
    n_polysemantic,
    n_represented,
    neuron_features,
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

NAME = "privileged_basis"
TITLE = "Neuron weight stacks of the privileged-basis model across density"
SECTION = "Superposition in a Privileged Basis"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """n features, m ReLU neurons, importance ``importance_decay^i``; the lowest-loss of
    ``seeds`` runs per density."""

    n: int = 10
    m: int = 5
    importance_decay: float = 0.75
    densities: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03, 0.01)
    steps: int = 3000
    batch: int = 1024
    lr: float = 0.03
    schedule: str = "cosine"
    seeds: int = 6

    def __post_init__(self) -> None:
        check_settings(self)


PRESETS = {
    "quick": Settings(densities=(1.0, 0.03), steps=200, batch=128, seeds=2),
    # lr 0.03 cosine: at lr 3e-3 the dense neurons still mix pairs of features after 5,000
    # steps (tests/toysup/test_paper_results.py)
    "default": Settings(),
}
PAPER = {
    "n": 10,
    "m": 5,
    "importance": "0.75^i",
    "densities": "swept",
    "training": "the best of 1,000 runs per density",
}


def trainings(s: Settings, ctx: Context) -> list[Training]:
    """One configuration per density."""
    density = np.asarray(s.densities)
    return [
        Training(
            "models", "privileged basis: training",
            FeatureConfig(n_features=s.n, density=density[:, None],
                          importance=s.importance_decay ** np.arange(s.n)),
            ModelConfig(n_features=s.n, n_hidden=s.m, hidden_activation="relu"),
            TrainConfig(steps=s.steps, batch_size=s.batch, lr=s.lr, schedule=s.schedule,
                        n_seeds=s.seeds, seed=ctx.seed_for(NAME), device=ctx.device),
        )
    ]  # fmt: skip


def compute(s: Settings, ctx: Context) -> FigureData:
    density = np.asarray(s.densities)
    runs: list[Run] = []
    result = fit(ctx, NAME, trainings(s, ctx), runs)["models"]
    W, b = result.W, result.b
    mono = neuron_monosemanticity(W, positive=True)
    arrays = {
        "density": density,
        "importance": s.importance_decay ** np.arange(s.n),
        "W": W,
        "b": b,
        "monosemanticity": mono,
        "monosemanticity_raw": neuron_monosemanticity(W),
        "seed_W": np.asarray(result.seed_W),
        **history_arrays(result),
    }
    top = np.sort(neuron_features(W, positive=True), axis=-1)
    seed_W = np.asarray(result.seed_W)
    results = {
        "density": density,
        "represented": n_represented(W),
        "polysemantic_neurons": n_polysemantic(W, positive=True),
        "mean_monosemanticity": np.nanmean(mono, axis=-1),
        "top_m_one_per_neuron": np.all(top == np.arange(s.m), axis=-1) & np.all(mono > 0.9, -1),
        "seeds_with_polysemantic_neuron": np.sum(n_polysemantic(seed_W, positive=True) >= 1, -1),
        "seeds_representing_more_than_m": np.sum(n_represented(seed_W) > s.m, -1),
        "seeds": s.seeds,
        "loss": result.loss,
    }
    return FigureData(arrays, results, runs)


def draw(a: Mapping[str, NDArray[Any]]) -> dict[str, Figure]:
    n, m = a["W"].shape[-1], a["W"].shape[-2]
    fig = plots.neuron_weight_stacks(
        a["W"], positive=True, column_titles=density_titles(a["density"]),
        size="page", title=f"Privileged basis, h = ReLU(Wx): n = {n} features, m = {m} neurons, "
        f"{importance_text(a['importance'])}",
    )  # fmt: skip
    return {NAME: fig}


def memory(s: Settings) -> float:
    return training_memory(len(s.densities), s.seeds, s.n, s.m, s.batch)
