"""Every training run of the job, as a list of tasks, and the one function that trains them.

A task is one call of :func:`toysup.train`: a grid of configurations (instances) with a model and
a training configuration. The job's tasks (:func:`plan`):

- ``l1_hidden=λ``: the n = 2, m = 1 ReLU-output diagram with ``l1_hidden = λ`` (one per λ);
- ``activation=NAME``: the same diagram, unpenalised, with output activation NAME (one per
  activation besides ``relu``, which is the ``l1_hidden=0`` task when 0 is among the penalties);
- ``wide l1_hidden=λ``: n = 20, m = 5, importance 0.7^i, one instance per density.

:func:`train_tasks` is the only place where the job trains: it can be routed through a sweep
(tasks run elsewhere, results stored and reused) without touching the rest.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from toysup import FeatureConfig, ModelConfig, TrainConfig, TrainResult, train
from verify.control_job.settings import WIDE_FEATURES, WIDE_HIDDEN, ControlSettings


@dataclass(frozen=True)
class TrainingTask:
    """One call of :func:`toysup.train`: ``name`` identifies it in the job's results."""

    name: str
    features: FeatureConfig
    model: ModelConfig
    training: TrainConfig


def penalty_task_name(l1_hidden: float) -> str:
    return f"l1_hidden={l1_hidden!r}"


def activation_task_name(activation: str) -> str:
    return f"activation={activation}"


def wide_task_name(l1_hidden: float) -> str:
    return f"wide l1_hidden={l1_hidden!r}"


def diagram_features(settings: ControlSettings) -> FeatureConfig:
    """One instance per cell, row-major over (density, importance): importances (1, r), both
    features of density p."""
    r, p = settings.grid()
    rr, pp = np.meshgrid(r, p)  # (P, R)
    importance = np.stack([np.ones(rr.size), rr.ravel()], axis=1)
    density = np.repeat(pp.reshape(-1, 1), 2, axis=1)
    return FeatureConfig(n_features=2, n_instances=rr.size, density=density, importance=importance)


def wide_features(settings: ControlSettings) -> FeatureConfig:
    """One instance per density of ``wide_densities``; importance 0.7^i."""
    p = np.asarray(settings.wide_densities)
    importance = np.tile(settings.wide_importance(), (p.size, 1))
    density = np.repeat(p[:, None], WIDE_FEATURES, axis=1)
    return FeatureConfig(
        n_features=WIDE_FEATURES, n_instances=p.size, density=density, importance=importance
    )


def plan(settings: ControlSettings) -> list[TrainingTask]:
    """Every training task of a run, in the order they are trained."""
    features = diagram_features(settings)
    tasks = [
        TrainingTask(
            penalty_task_name(lam),
            features,
            ModelConfig(n_features=2, n_hidden=1),
            settings.train_config(seeds=settings.seeds, l1_hidden=lam),
        )
        for lam in settings.penalties
    ]
    for activation in settings.activations:
        if activation == "relu" and 0.0 in settings.penalties:
            continue  # the unpenalised ReLU diagram is the l1_hidden=0.0 task
        tasks.append(
            TrainingTask(
                activation_task_name(activation),
                features,
                ModelConfig(n_features=2, n_hidden=1, activation=activation),
                settings.train_config(seeds=settings.seeds),
            )
        )
    wide = wide_features(settings)
    for lam in settings.wide_penalties:
        tasks.append(
            TrainingTask(
                wide_task_name(lam),
                wide,
                ModelConfig(n_features=WIDE_FEATURES, n_hidden=WIDE_HIDDEN),
                settings.train_config(seeds=settings.wide_seeds, l1_hidden=lam),
            )
        )
    return tasks


def train_tasks(
    tasks: Sequence[TrainingTask], *, progress: bool | None = None, workers: int | None = None
) -> dict[str, TrainResult]:
    """Train every task (in order); return the results by task name."""
    results: dict[str, TrainResult] = {}
    for i, task in enumerate(tasks):
        if progress is not False:
            print(f"[{i + 1}/{len(tasks)}] {task.name}", file=sys.stderr, flush=True)
        results[task.name] = train(
            task.features, task.model, task.training, progress=progress, workers=workers
        )
    return results
