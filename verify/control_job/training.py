"""Every training run of the job, as a list of tasks, and the one function that trains them.

A task is one grid of configurations with a model and a training configuration. The job's tasks
(:func:`plan`):

- ``l1_hidden=λ``: the n = 2, m = 1 ReLU-output diagram with ``l1_hidden = λ`` (one per λ);
- ``activation=NAME``: the same diagram, unpenalised, with output activation NAME (one per
  activation besides ``relu``, whose diagram is the ``l1_hidden=0.0`` task);
- ``wide l1_hidden=λ``: n = 20, m = 5, importance 0.7^i, one configuration per density.

:func:`train_tasks` is the only place where the job trains: in this process (one
:func:`toysup.train` call per task, every task from the same seed), or through
:mod:`toysup.sweep` into a resumable Zarr store (one sweep per task, possibly on Dask;
docs/sweeps.md), where each piece of work gets a seed derived from its own configuration.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from verify.control_job.settings import WIDE_FEATURES, WIDE_HIDDEN, ControlSettings

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class TrainingTask:
    """One grid of configurations: densities (rows) × importances of the last feature (columns,
    ``importance`` None: one column, every feature at ``base_importance``)."""

    name: str
    model: ModelConfig
    training: TrainConfig
    density: tuple[float, ...]
    importance: tuple[float, ...] | None
    base_importance: tuple[float, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        """The grid: (P, R) with an importance axis, else (P,)."""
        p = len(self.density)
        return (p,) if self.importance is None else (p, len(self.importance))

    @property
    def features(self) -> FeatureConfig:
        """Every configuration, row-major over the grid (density, then importance)."""
        n = self.model.n_features
        p = np.asarray(self.density)
        base = np.asarray(self.base_importance, dtype=np.float64)
        if self.importance is None:
            density = np.repeat(p[:, None], n, axis=1)
            importance = np.tile(base, (p.size, 1))
        else:
            r = np.asarray(self.importance)
            rr, pp = np.meshgrid(r, p)  # (P, R)
            density = np.repeat(pp.reshape(-1, 1), n, axis=1)
            importance = np.tile(base, (rr.size, 1))
            importance[:, -1] = rr.ravel()
        return FeatureConfig(n_features=n, n_instances=density.shape[0], density=density,
                             importance=importance)  # fmt: skip

    @property
    def sweep_name(self) -> str:
        """The task's name as a folder name of the store (``l1_hidden_0.1``)."""
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name)

    def sweep(self, task_size: int | None = None) -> Any:
        """The same grid as a :class:`toysup.sweep.Sweep`."""
        from toysup.sweep import Axis, Sweep

        n = self.model.n_features
        axes = [Axis("density", list(self.density))]
        if self.importance is not None:
            axes.append(Axis("importance", list(self.importance), feature=-1))
        base = FeatureConfig(n_features=n, importance=np.asarray([self.base_importance]))
        return Sweep(features=base, model=self.model, training=self.training, axes=axes,
                     task_size=task_size)  # fmt: skip


@dataclass(frozen=True, eq=False)
class GroupTraining:
    """Every trained model of one task, configurations row-major over its grid (C of them), k
    seeds: ``seed_W`` (C, k, m, n), ``seed_b`` (C, k, n), ``seed_loss`` and its standard error,
    ``seed_loss_penalized`` (C, k) (Monte Carlo, toysup's evaluation); ``info``: ``device``,
    ``dtype``, ``workers`` and, trained in this process, the trainer's ``paths``."""

    seed_W: FloatArray
    seed_b: FloatArray
    seed_loss: FloatArray
    seed_loss_stderr: FloatArray
    seed_loss_penalized: FloatArray
    info: dict[str, Any]


def penalty_task_name(l1_hidden: float) -> str:
    return f"l1_hidden={l1_hidden!r}"


def activation_task_name(activation: str) -> str:
    return f"activation={activation}"


def wide_task_name(l1_hidden: float) -> str:
    return f"wide l1_hidden={l1_hidden!r}"


def plan(settings: ControlSettings) -> list[TrainingTask]:
    """Every training task of a run, in the order they are trained."""
    r, p = settings.grid()
    grid = dict(density=tuple(p.tolist()), importance=tuple(r.tolist()), base_importance=(1.0, 1.0))

    def diagram(name: str, activation: str, lam: float) -> TrainingTask:
        return TrainingTask(
            name, ModelConfig(n_features=2, n_hidden=1, activation=activation),
            settings.train_config(seeds=settings.seeds, l1_hidden=lam), **grid,  # type: ignore[arg-type]
        )  # fmt: skip

    tasks = [diagram(penalty_task_name(lam), "relu", lam) for lam in settings.penalties]
    tasks += [
        diagram(activation_task_name(name), name, 0.0)
        for name in settings.activations
        if name != "relu"  # the unpenalised ReLU diagram is the l1_hidden=0.0 task
    ]
    for lam in settings.wide_penalties:
        tasks.append(
            TrainingTask(
                wide_task_name(lam),
                ModelConfig(n_features=WIDE_FEATURES, n_hidden=WIDE_HIDDEN),
                settings.train_config(seeds=settings.wide_seeds, l1_hidden=lam),
                density=tuple(settings.wide_densities),
                importance=None,
                base_importance=tuple(settings.wide_importance().tolist()),
            )
        )
    return tasks


def store_task_size(args: argparse.Namespace) -> int | None:
    """``--task-size`` (configurations per sweep task) where the sweep options have it."""
    from verify.job.sweep import sweep_options

    return getattr(sweep_options(args), "task_size", None)


def task_sweeps(tasks: Sequence[TrainingTask], task_size: int | None = None) -> dict[str, Any]:
    """``{store name: Sweep}`` of every task."""
    return {task.sweep_name: task.sweep(task_size) for task in tasks}


def train_tasks(
    tasks: Sequence[TrainingTask],
    *,
    progress: bool | None = None,
    workers: int | None = None,
    sweep: argparse.Namespace | None = None,
) -> tuple[dict[str, GroupTraining], dict[str, Any] | None]:
    """Train every task; return the results by task name, and the sweep's summary (``tasks``,
    ``tasks_run``, ``tasks_reused``, ``scheduler``, ...) when trained through the store.

    ``sweep``: the parsed command line with the sweep options (:mod:`verify.job.sweep`:
    ``--store``, ``--resume``, ``--scheduler``, ``--workers``, and ``--task-size`` where
    present); None trains in this process, one :func:`toysup.train` call per task.
    """
    if sweep is not None:
        return _through_store(tasks, sweep, progress)
    results: dict[str, GroupTraining] = {}
    for i, task in enumerate(tasks):
        if progress is not False:
            print(f"[{i + 1}/{len(tasks)}] {task.name}", file=sys.stderr, flush=True)
        res = train(task.features, task.model, task.training, progress=progress, workers=workers)
        pen = res.seed_loss_penalized
        results[task.name] = GroupTraining(
            seed_W=np.asarray(res.seed_W, dtype=np.float64),
            seed_b=np.asarray(res.seed_b, dtype=np.float64),
            seed_loss=np.asarray(res.seed_loss, dtype=np.float64),
            seed_loss_stderr=np.asarray(res.seed_loss_stderr, dtype=np.float64),
            seed_loss_penalized=np.asarray(res.seed_loss if pen is None else pen, np.float64),
            info=res.info,
        )
    return results, None


def _through_store(
    tasks: Sequence[TrainingTask], args: argparse.Namespace, progress: bool | None
) -> tuple[dict[str, GroupTraining], dict[str, Any]]:
    from verify.job.sweep import run_sweeps

    sweeps = task_sweeps(tasks, store_task_size(args))
    done = run_sweeps(sweeps, args, progress=progress)
    stored_info = getattr(done, "info", {})
    results = {}
    for task in tasks:
        arrays = done.arrays[task.sweep_name]
        if "seed_loss_penalized" not in arrays:  # an unpenalised task: the same numbers
            arrays = {**arrays, "seed_loss_penalized": arrays["seed_loss"]}
        flat = {
            name: _configurations_first(arrays[name], task.shape)
            for name in ("seed_W", "seed_b", "seed_loss", "seed_loss_stderr", "seed_loss_penalized")
        }
        info = stored_info.get(task.sweep_name) or {
            "device": task.training.device,  # as asked, where the store does not record it
            "dtype": task.training.dtype,
        }
        results[task.name] = GroupTraining(
            **flat, info=dict(info, workers=done.summary.get("workers"))
        )
    return results, done.summary


def _configurations_first(value: Any, grid: tuple[int, ...]) -> FloatArray:
    """(*grid, ...) as stored -> (C, ...), C = prod(grid), row-major like :attr:`features`."""
    arr = np.asarray(value, dtype=np.float64)
    return arr.reshape(int(np.prod(grid)), *arr.shape[len(grid) :])
