"""The paper figures' training as sweeps (:mod:`toysup.sweep`): ``--store``, ``--resume``,
``--scheduler`` and ``--workers`` (docs/sweeps.md, "Jobs").

Every training run a figure declares (``trainings(settings, ctx)``) becomes one sweep named
``<figure>_<key>`` with a single axis ``config`` over its configurations, trained as one task (so
its configurations are batched as the figure batches them); the phase diagrams' grids are
:func:`verify.diagram.diagram_sweep` (``--task-size`` cells per task). All sweeps of a run live in
one Zarr group (``--store``, default ``OUT/sweep.zarr``); ``--resume`` reuses the finished ones.
The figures are then computed from the models read back from the store.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from verify.diagram import DiagramSettings, GridTraining, diagram_sweep
from verify.job.sweep import run_sweeps
from verify.paper_figures._common import Context, Trained, Training, sweep_name
from verify.paper_figures.registry import FIGURES

#: The key of a phase diagram's grid among its figure's sweeps.
GRID = "grid"


def as_sweep(item: Training) -> Any:
    """One training run as a sweep: axis ``config`` sets each configuration's per-feature
    densities; one task trains them all (the run's own batching and seeds)."""
    from toysup.sweep import Axis, Sweep

    f = item.features
    rows = [row.tolist() for row in f.density_array]  # (C, n)
    base = replace(f, n_instances=1, density=rows[0], importance=f.importance_array[0].tolist())
    axis = Axis("config", rows, field="density", labels=list(range(len(rows))))
    return Sweep(
        features=base,
        model=item.model,
        training=item.training,
        axes=[axis],
        task_shape={"config": len(rows)},
    )


def figure_sweeps(
    names: tuple[str, ...], size: str, ctx: Context, *, task_size: int | None = None
) -> dict[str, Any]:
    """``{sweep name: Sweep}`` of every figure in ``names``, at ``size``; ``task_size``: cells
    per task of the phase grids."""
    sweeps: dict[str, Any] = {}
    for name in names:
        settings = FIGURES[name].settings(size)
        if isinstance(settings, DiagramSettings):
            grid = diagram_sweep(phase_settings(settings, ctx), task_size=task_size)
            sweeps[sweep_name(name, GRID)] = grid
            continue
        for item in FIGURES[name].trainings(settings, ctx):
            sweeps[sweep_name(name, item.key)] = as_sweep(item)
    return sweeps


def phase_settings(settings: DiagramSettings, ctx: Context) -> DiagramSettings:
    """A phase figure's diagram settings with the run's device and base seed."""
    return replace(settings, device=ctx.device, seed=ctx.seed)


def trained_from_arrays(arrays: dict[str, Any], device: str) -> Trained:
    """A run's results from its sweep's arrays (:func:`toysup.sweep.load_arrays`: leading axis
    ``config``; histories ``(config, seed, log_step)``)."""
    snapshots = None
    if "snapshot" in arrays:
        snapshots = {"step": np.asarray(arrays["snapshot"])}
        for key in ("W", "b", "W_dec"):
            if f"snapshot_{key}" in arrays:
                snapshots[key] = np.asarray(arrays[f"snapshot_{key}"])
    return Trained(
        W=np.asarray(arrays["W"]),
        b=np.asarray(arrays["b"]),
        W_dec=np.asarray(arrays["W_dec"]) if "W_dec" in arrays else None,
        seed_W=np.asarray(arrays["seed_W"]),
        loss=np.asarray(arrays["loss"]),
        loss_stderr=np.asarray(arrays["loss_stderr"]),
        seed_loss=np.asarray(arrays["seed_loss"]),
        seed_loss_stderr=np.asarray(arrays["seed_loss_stderr"]),
        best_seed=np.asarray(arrays["best_seed"]),
        history_steps=np.asarray(arrays["log_step"]),
        history_loss=np.moveaxis(np.asarray(arrays["history_loss"]), -1, 0),
        snapshots=snapshots,
        device=device,
    )


def store_device(store: Path) -> str:
    """The device the store's tasks were trained on (from their records; joined with ', '
    where they differ)."""
    from toysup.sweep.store import read_manifest

    devices = {str(r.get("info", {}).get("device")) for r in read_manifest(store).values()}
    return ", ".join(sorted(devices))


@dataclass(frozen=True)
class SweepTraining:
    """What the sweep trained: results by sweep name, seconds per sweep, and the summary for
    ``summary.json``'s ``sweep`` key (``tasks``, ``tasks_run``, ``tasks_reused``,
    ``scheduler``, ...)."""

    trained: dict[str, Trained | GridTraining]
    seconds: dict[str, float]
    summary: dict[str, Any]


def train_sweeps(
    names: tuple[str, ...], size: str, ctx: Context, args: argparse.Namespace
) -> SweepTraining | None:
    """Run the figures' sweeps into the store and read the models back."""
    sweeps = figure_sweeps(names, size, ctx, task_size=getattr(args, "task_size", None))
    if not sweeps:
        return None
    done = run_sweeps(sweeps, args, progress=ctx.progress)
    trained: dict[str, Trained | GridTraining] = {}
    seconds = {}
    for name, arrays in done.arrays.items():
        report = done.reports[name]
        seconds[name] = float(report.wall_s)
        if name.endswith(f"_{GRID}"):
            trained[name] = GridTraining(
                seed_W=arrays["seed_W"],
                seed_b=arrays["seed_b"],
                seed_loss=arrays["seed_loss"],
                info=dict(done.info[name], workers=report.workers),
                seconds=report.wall_s,
                sweep=report.to_dict(),
            )
        else:
            trained[name] = trained_from_arrays(arrays, store_device(report.store))
    return SweepTraining(trained, seconds, dict(done.summary))


def training_seconds(figure: str, training: SweepTraining | None) -> float:
    """Seconds the sweep spent on one figure's runs (0 without a sweep)."""
    if training is None:
        return 0.0
    return sum(s for name, s in training.seconds.items() if name.startswith(f"{figure}_"))
