"""Learning dynamics: feature dimensionalities D_i and the loss against the training step, and the
"energy levels" of D_i at a few snapshots (paper §"Superposition and Learning Dynamics").

n = 5 features of equal importance in m = 2 dimensions at density 0.05 (where the optimum is the
pentagon), initialised small and trained at a constant learning rate, with a snapshot of the
weights every few steps. Features sit at one sticky fraction for a while (a dedicated dimension,
D = 1) and then jump to another (the digon's 1/2, the pentagon's 2/5), the loss dropping as they
do. Several runs are trained; the figure shows the run whose features visit the most fractions
(:func:`plateaus`), and the index says how many runs moved between fractions at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from toysup import FeatureConfig, ModelConfig, TrainConfig
from toysup.metrics import REPRESENTED_THRESHOLD, dimensionality, feature_norms
from verify import plots
from verify.paper_figures._common import (
    Context,
    FigureData,
    Run,
    Training,
    check_settings,
    fit,
)
from verify.paper_figures._common import training_memory as _training_memory

NAME = "learning_dynamics"
TITLE = "Feature dimensionality jumping between sticky fractions during training"
SECTION = "Superposition and Learning Dynamics"
#: A plateau: D_i within this of a sticky fraction ...
PLATEAU_TOLERANCE = 0.03
#: ... for at least this many consecutive snapshots, while the feature is represented.
PLATEAU_LENGTH = 4


@dataclass(frozen=True, kw_only=True)
class Settings:
    """``runs`` models of n features in m dimensions at ``density``, equal importance,
    initialised at ``init_scale`` times Xavier, a snapshot every ``snapshot_every`` steps."""

    n: int = 5
    m: int = 2
    density: float = 0.05
    init_scale: float = 0.1
    runs: int = 12
    steps: int = 3000
    batch: int = 1024
    lr: float = 1e-3
    snapshot_every: int = 25

    def __post_init__(self) -> None:
        check_settings(self)
        if self.snapshot_every > self.steps:
            raise ValueError(
                f"snapshot_every must be at most steps = {self.steps}, got {self.snapshot_every}"
            )


PRESETS = {
    "quick": Settings(runs=2, steps=200, batch=128, lr=1e-2, snapshot_every=10),
    # lr 1e-3 constant, as the notebook: the snapshots at constant lr are what an s-step run gives
    "default": Settings(),
}
PAPER = {
    "models": "the ReLU-output model; sizes not stated for every figure (n = 5, m = 2, "
    "density 0.05 is the paper's pentagon setting)",
    "training": "not stated",
}


def plateaus(D: Any, norms: Any) -> list[list[float]]:
    """The sticky fractions each feature sits at, in order of visit: runs of at least
    :data:`PLATEAU_LENGTH` consecutive snapshots with D_i within :data:`PLATEAU_TOLERANCE` of one
    fraction, while represented (‖W_i‖ > 0.5). D, norms: (snapshots, n)."""
    fractions = np.array([f for f, _ in plots.STICKY_FRACTIONS])
    D, norms = np.asarray(D), np.asarray(norms)
    near = np.abs(D[:, :, None] - fractions) <= PLATEAU_TOLERANCE  # (k, n, fractions)
    level = np.where(near.any(-1) & (norms > REPRESENTED_THRESHOLD), near.argmax(-1), -1)
    out = []
    for i in range(D.shape[1]):
        visits: list[float] = []
        start = 0
        for k in range(1, level.shape[0] + 1):
            if k == level.shape[0] or level[k, i] != level[start, i]:
                value = level[start, i]
                long_enough = k - start >= PLATEAU_LENGTH
                if value >= 0 and long_enough and (not visits or visits[-1] != fractions[value]):
                    visits.append(float(fractions[value]))
                start = k
        out.append(visits)
    return out


def trainings(s: Settings, ctx: Context) -> list[Training]:
    """``runs`` identical configurations (each initialised and trained with its own stream)."""
    snapshot_steps = tuple(range(0, s.steps + 1, s.snapshot_every))
    return [
        Training(
            "runs", "learning dynamics: training",
            FeatureConfig(n_features=s.n, n_instances=s.runs, density=s.density, importance=1.0),
            ModelConfig(n_features=s.n, n_hidden=s.m, init_scale=s.init_scale),
            TrainConfig(steps=s.steps, batch_size=s.batch, lr=s.lr, snapshot_steps=snapshot_steps,
                        log_every=max(1, s.snapshot_every // 2), seed=ctx.seed_for(NAME),
                        device=ctx.device),
        )
    ]  # fmt: skip


def compute(s: Settings, ctx: Context) -> FigureData:
    runs: list[Run] = []
    result = fit(ctx, NAME, trainings(s, ctx), runs)["runs"]
    snaps = result.snapshots
    if snaps is None:  # pragma: no cover - snapshot_steps were given
        raise RuntimeError("the trainer returned no snapshots although snapshot_steps were given")
    W = np.asarray(snaps["W"])  # (runs, k, m, n)
    D, norms = dimensionality(W), feature_norms(W)
    visits = [plateaus(D[r], norms[r]) for r in range(s.runs)]
    moves = np.array([sum(max(len(v) - 1, 0) for v in run) for run in visits])
    shown = int(np.argmax(moves))  # the first run with the most moves
    arrays = {
        "step": np.asarray(snaps["step"]),
        "W": W,
        "b": np.asarray(snaps["b"]),
        "moves": moves,
        "shown": np.array(shown),
        "history_steps": np.asarray(result.history_steps),
        "history_loss": np.asarray(result.history_loss)[:, :, 0],  # (T, runs): one seed each
        "loss": np.asarray(result.loss),
    }
    results = {
        "runs": s.runs,
        "runs_moving_between_fractions": int(np.sum(moves >= 1)),
        "shown_run": shown,
        "shown_run_visits": visits[shown],
        "final_dimensionality": D[:, -1],
    }
    return FigureData(arrays, results, runs)


def draw(a: Mapping[str, NDArray[Any]]) -> dict[str, Figure]:
    shown = int(a["shown"])
    W = a["W"][shown]
    n, m = W.shape[-1], W.shape[-2]
    runs = a["moves"].size
    what = f"n = {n}, m = {m}, run {shown} of {runs}"
    return {
        NAME: plots.learning_dynamics(
            a["step"], W, loss_steps=a["history_steps"], loss=a["history_loss"][:, shown],
            title=f"Learning dynamics: {what}",
        ),
        "energy_levels": plots.energy_levels(a["step"], W, title=f"Energy levels: {what}"),
    }  # fmt: skip


def memory(s: Settings) -> float:
    return _training_memory(s.runs, 1, s.n, s.m, s.batch, snapshots=s.steps // s.snapshot_every)
