"""The computation of ``python -m verify.control``: train every task, build the trained and exact
diagrams, compare them per λ, and summarise the activations and the n = 20 sweep."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from verify.control_job import findings
from verify.control_job.diagrams import (
    ExactDiagram,
    TrainedDiagram,
    bootstrap_indices,
    exact_diagrams,
    trained_diagram,
)
from verify.control_job.settings import ControlSettings
from verify.control_job.training import (
    activation_task_name,
    penalty_task_name,
    plan,
    train_tasks,
    wide_task_name,
)
from verify.control_job.wide import WidePoint, wide_points


@dataclass(frozen=True, eq=False)
class ControlResult:
    """Everything a run computed. Per-λ dicts are keyed by the float λ."""

    settings: ControlSettings
    importance: NDArray[np.float64]
    density: NDArray[np.float64]
    trained: dict[float, TrainedDiagram]
    exact: dict[float, ExactDiagram]
    comparison: dict[float, dict[str, float]]
    shift: dict[float, findings.Shift]
    loss_cost: dict[float, dict[str, Any]]
    activations: dict[str, TrainedDiagram]
    wide: list[WidePoint]
    train_info: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    sweep: dict[str, Any] | None = None


def compute(
    settings: ControlSettings,
    *,
    progress: bool | None = None,
    workers: int | None = None,
    sweep: argparse.Namespace | None = None,
) -> ControlResult:
    """Run the job's computation (no files). ``sweep``: the parsed sweep options to train
    through :mod:`toysup.sweep`'s store (:func:`~verify.control_job.training.train_tasks`);
    None trains in this process."""
    started = time.perf_counter()
    tasks = plan(settings)
    results, sweep_summary = train_tasks(tasks, progress=progress, workers=workers, sweep=sweep)
    trained_at = time.perf_counter()

    r, p = settings.grid()
    boot = bootstrap_indices(settings, (p.size, r.size))
    trained = {
        lam: trained_diagram(
            settings, results[penalty_task_name(lam)], activation="relu", l1_hidden=lam, boot=boot
        )
        for lam in settings.penalties
    }
    activations: dict[str, TrainedDiagram] = {}
    for name in settings.activations:
        if name == "relu":
            activations[name] = trained[0.0]
        else:
            activations[name] = trained_diagram(
                settings, results[activation_task_name(name)], activation=name, l1_hidden=0.0,
                boot=boot,
            )  # fmt: skip
    exact = exact_diagrams(settings)
    theory_at = time.perf_counter()

    ref, ex_ref = trained[0.0], exact[0.0]
    comparison = {lam: findings.comparison(trained[lam], exact[lam]) for lam in trained}
    shift = {lam: findings.shift(trained[lam], ref, exact[lam], ex_ref, p) for lam in trained}
    cost = {lam: findings.loss_cost(trained[lam], exact[lam], ex_ref) for lam in trained}
    wide = [
        point
        for lam in settings.wide_penalties
        for point in wide_points(settings, lam, results[wide_task_name(lam)])
    ]
    done = time.perf_counter()
    first = results[tasks[0].name].info
    return ControlResult(
        settings=settings,
        importance=r,
        density=p,
        trained=trained,
        exact=exact,
        comparison=comparison,
        shift=shift,
        loss_cost=cost,
        activations=activations,
        wide=wide,
        train_info={
            "device": first["device"],
            "dtype": first["dtype"],
            "workers": first["workers"],
            "paths": {
                name: sorted(set(res.info["paths"]))
                for name, res in results.items()
                if "paths" in res.info
            },
        },
        timings={
            "train_s": trained_at - started,
            "theory_s": theory_at - trained_at,
            "compare_s": done - theory_at,
            "total_s": done - started,
        },
        sweep=sweep_summary,
    )
