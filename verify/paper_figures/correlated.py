"""Correlated and anticorrelated features: the geometry a model gives to features that never
co-occur, or always do, against independent features of the same sizes and density (paper
§"Superposition with Correlated and Anticorrelated Features").

- Anticorrelated pairs (n = 4 in m = 2, density 0.45: a pair is active with probability 0.9):
  a pair that never co-occurs can share a line at no cost in interference and goes antipodal;
  independent features at this density interfere too often for that.
- Correlated sets of three (n = 6 in m = 3, density 0.1): features that co-occur do not share a
  line; they take orthogonal directions (a local orthogonal basis), while independent features
  form antipodal pairs anywhere (an octahedron).

Each panel shows the lowest-loss of the seeds; the index and the panel titles count, over all
seeds, how often the geometry appears (the statistical tests: tests/toysup/test_paper_results.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from toysup import FeatureConfig, ModelConfig, TrainConfig
from toysup.metrics import ANTIPODAL_COSINE, set_cosines
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

NAME = "correlated"
TITLE = "Anticorrelated pairs go antipodal; correlated sets go orthogonal"
SECTION = "Superposition with Correlated and Anticorrelated Features"
#: Within-set |cosine| below this counts as orthogonal.
ORTHOGONAL_BELOW = 0.3


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Pairs: ``pair_n`` features in sets of 2 in ``pair_m`` dimensions at ``pair_density``;
    sets: ``set_n`` features in sets of ``set_size`` in ``set_m`` dimensions at ``set_density``;
    equal importance, ReLU-output model, ``seeds`` runs of each structure."""

    pair_n: int = 4
    pair_m: int = 2
    pair_density: float = 0.45
    set_n: int = 6
    set_m: int = 3
    set_size: int = 3
    set_density: float = 0.1
    steps: int = 3000
    batch: int = 1024
    lr: float = 3e-3
    schedule: str = "cosine"
    seeds: int = 16

    def __post_init__(self) -> None:
        check_settings(self)
        for name in ("pair_density", "set_density"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"{name} must lie in (0, 1], got {value!r}")


PRESETS = {
    "quick": Settings(steps=150, batch=128, seeds=2),
    "default": Settings(),
}
PAPER = {
    "models": "the ReLU-output model on sets of correlated or anticorrelated features; sizes "
    "and densities not stated for every figure",
    "training": "not stated",
}

#: (key, structure, which sizes) of the four trainings.
STRUCTURES = (
    ("pairs_independent", "independent", "pair"),
    ("pairs_anticorrelated", "anticorrelated", "pair"),
    ("sets_independent", "independent", "set"),
    ("sets_correlated", "correlated", "set"),
)


def trainings(s: Settings, ctx: Context) -> list[Training]:
    """One configuration per structure (:data:`STRUCTURES`), ``seeds`` seeds each."""
    plan = []
    for stream, (key, structure, which) in enumerate(STRUCTURES):
        n, m, p = (getattr(s, f"{which}_{name}") for name in ("n", "m", "density"))
        plan.append(Training(
            key, f"correlated ({key.replace('_', ', ')}): training",
            FeatureConfig(n_features=n, density=p, importance=1.0, structure=structure,
                          set_size=_set_size(s, which)),
            ModelConfig(n_features=n, n_hidden=m),
            TrainConfig(steps=s.steps, batch_size=s.batch, lr=s.lr, schedule=s.schedule,
                        n_seeds=s.seeds, seed=ctx.seed_for(NAME, stream), device=ctx.device),
        ))  # fmt: skip
    return plan


def _set_size(s: Settings, which: str) -> int:
    return 2 if which == "pair" else s.set_size


def compute(s: Settings, ctx: Context) -> FigureData:
    runs: list[Run] = []
    arrays: dict[str, NDArray[Any]] = {}
    results: dict[str, Any] = {"seeds": s.seeds}
    trained = fit(ctx, NAME, trainings(s, ctx), runs)
    for key, _, which in STRUCTURES:
        result, size = trained[key], _set_size(s, which)
        seed_W = result.seed_W[0]  # (seeds, m, n)
        cos = within_set_cosines(seed_W, size)  # (seeds, pairs)
        arrays |= {
            f"{key}_W": result.W[0],
            f"{key}_seed_W": seed_W,
            f"{key}_cosines": cos,
            f"{key}_set_size": np.array(size),
            **history_arrays(result, f"{key}_"),
        }
        results[key] = {
            "set_size": size,
            "seeds_all_sets_antipodal": int(np.sum(np.all(cos < ANTIPODAL_COSINE, axis=1))),
            "seeds_with_an_antipodal_set_pair": int(np.sum(np.any(cos < ANTIPODAL_COSINE, 1))),
            "seeds_all_set_pairs_orthogonal": int(
                np.sum(np.all(np.abs(cos) < ORTHOGONAL_BELOW, axis=1))
            ),
        }
    return FigureData(arrays, results, runs)


def within_set_cosines(W: Any, set_size: int) -> NDArray[np.float64]:
    """Cosines between the features of each set: (seeds, m, n) -> (seeds, pairs within sets),
    NaN where a feature is zero."""
    cos = set_cosines(W, set_size)  # (seeds, sets, k, k)
    upper = np.triu_indices(set_size, 1)
    return cos[..., upper[0], upper[1]].reshape(cos.shape[0], -1)


def _count(cos: NDArray[Any], rule: str) -> str:
    seeds = cos.shape[0]
    if rule == "antipodal":
        hits = int(np.sum(np.all(cos < ANTIPODAL_COSINE, axis=1)))
        return f"all sets antipodal in {hits}/{seeds} seeds"
    hits = int(np.sum(np.all(np.abs(cos) < ORTHOGONAL_BELOW, axis=1)))
    return f"all set pairs orthogonal in {hits}/{seeds}"


def draw(a: Mapping[str, NDArray[Any]]) -> dict[str, Figure]:
    pairs = plots.feature_geometry(
        np.stack([a["pairs_independent_W"], a["pairs_anticorrelated_W"]]),
        set_size=int(a["pairs_anticorrelated_set_size"]),
        column_titles=[
            f"independent\n{_count(a['pairs_independent_cosines'], 'antipodal')}",
            f"anticorrelated pairs\n{_count(a['pairs_anticorrelated_cosines'], 'antipodal')}",
        ],
        title="Pairs of features in 2 dimensions",
        outline=False,
    )
    sets = plots.feature_geometry(
        np.stack([a["sets_independent_W"], a["sets_correlated_W"]]),
        set_size=int(a["sets_correlated_set_size"]),
        column_titles=[
            f"independent\n{_count(a['sets_independent_cosines'], 'orthogonal')}",
            f"correlated sets\n{_count(a['sets_correlated_cosines'], 'orthogonal')}",
        ],
        title="Sets of three features in 3 dimensions",
    )
    return {f"{NAME}_pairs": pairs, f"{NAME}_sets": sets}


def memory(s: Settings) -> float:
    return 2 * training_memory(1, s.seeds, s.pair_n, s.pair_m, s.batch) + 2 * training_memory(
        1, s.seeds, s.set_n, s.set_m, s.batch
    )
