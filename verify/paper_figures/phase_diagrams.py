"""The phase diagrams: n = 2 features in m = 1 dimension and n = 3 in m = 2, trained against theory
(paper §"Superposition as a Phase Change").

Computed by :func:`verify.diagram.run_diagram` (the computation of ``python -m
verify.phase_boundary``, which trains through toysup itself) and drawn as that job draws them:
for n = 2, m = 1 the exact optimum of the loss landscape (``theory.n2m1``) beside the trained
map; for n = 3, m = 2 the paper's candidates (``theory.n3m2``); the paper's boundary dashed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from theory import n2m1, n3m2
from verify import plots
from verify.diagram import DiagramSettings, run_diagram
from verify.paper_figures._common import Context, FigureData, Training, sweep_name
from verify.phase_boundary import memory_estimate

SECTION = "Superposition as a Phase Change"
#: The phase_boundary job's quick preset: 20 × 20 cells, best of 6 seeds, 2,000 steps, AdamW lr
#: 1e-2 cosine (docs/phase_boundary.md).
DEFAULT = DiagramSettings()
QUICK = DiagramSettings(resolution=4, seeds=2, steps=60, batch=256, bootstrap=0,
                        eval_samples=1024)  # fmt: skip
PAPER = {
    "grid": "relative importance r in [0.1, 10] × density in [0.01, 1], log-spaced",
    "training": "ten models per point, the highest-loss one discarded; the reference notebook "
    "trains 10,000 steps, batch 1024, AdamW lr 1e-3 constant (`--preset paper` of python -m "
    "verify.phase_boundary)",
}


def presets(n: int, m: int) -> dict[str, DiagramSettings]:
    return {
        size: replace(s, n_features=n, n_hidden=m)
        for size, s in (("quick", QUICK), ("default", DEFAULT))
    }


def trainings(settings: DiagramSettings, ctx: Context) -> list[Training]:
    """None as separate runs: the job's sweep trains the grid as
    :func:`verify.diagram.diagram_sweep`; in Python :func:`verify.diagram.run_diagram` does."""
    return []


def compute(settings: DiagramSettings, ctx: Context) -> FigureData:
    s = replace(settings, device=ctx.device, seed=ctx.seed)
    label = f"phase diagram n={s.n_features}, m={s.n_hidden}: training"
    grid = ctx.trained.get(sweep_name(f"phase_n{s.n_features}m{s.n_hidden}", "grid"))
    diagram = run_diagram(s, progress=label if ctx.progress is None else False,
                          workers=ctx.workers, training=grid)  # fmt: skip
    r, p_star = candidate_curve(diagram.importance, s.n_features)
    arrays: dict[str, NDArray[Any]] = {
        "importance": diagram.importance,
        "density": diagram.density,
        "empirical": diagram.empirical,
        "candidate": diagram.candidate,
        "labels": np.array(diagram.labels),
        "curve_importance": r,
        "curve_density": p_star,
        "vote_share": diagram.vote_share,
        "seed_labels": diagram.seed_labels,
        "selection_loss": diagram.selection_loss,
        "W": diagram.W,
        "b": diagram.b,
        "footer": np.array(_footer(s)),
    }
    if diagram.exact is not None:
        arrays["exact"] = diagram.exact
    results = {
        "agreement": diagram.agreement,
        "kappa": diagram.kappa,
        "boundary_mean_abs_error_decades": {
            key: _mean_abs(diagram.boundary[f"error_{key}"], diagram.boundary["censored"])
            for key in ("candidate", "exact")
        },
        "grid_half_cell_decades": diagram.boundary["grid_half_cell"],
    }
    return FigureData(arrays, results, device=diagram.train_info["device"])


def _mean_abs(error: Any, censored: Any) -> float | None:
    inside = np.asarray(censored) == ""
    if error is None or not inside.any():
        return None
    return float(np.mean(np.abs(np.asarray(error)[inside])))


def candidate_curve(importance: Any, n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The paper's predicted boundary p*(r) on a fine grid over the importances drawn."""
    r = np.geomspace(importance[0], importance[-1], 400)
    curve = n2m1.candidate_boundary(r) if n == 2 else n3m2.phase_boundary_density(r)
    return r, np.asarray(curve, dtype=float)


def _footer(s: DiagramSettings) -> str:
    rule = "lowest loss kept" if s.selection == "best" else "worst dropped, majority"
    return (
        f"{s.resolution}×{s.resolution} cells, {s.seeds} seeds per cell ({rule}), {s.steps} steps, "
        f"{s.optimizer} lr {s.lr:g} {s.schedule}, batch {s.batch}, seed {s.seed}"
    )


def draw(a: Mapping[str, NDArray[Any]]) -> dict[str, Figure]:
    m, n = a["W"].shape[-2:]
    dims = "dimension" if m == 1 else "dimensions"
    fig = plots.phase_diagram(
        a["importance"], a["density"], a["empirical"], exact=a.get("exact"),
        candidate=a["candidate"], candidate_curve=(a["curve_importance"], a["curve_density"]),
        labels=[str(v) for v in a["labels"]], footer=str(a["footer"]),
        title=f"Phase diagram, n = {n} features in m = {m} {dims}: theory vs trained",
    )  # fmt: skip
    return {f"phase_n{n}m{m}": fig}


def memory(settings: DiagramSettings) -> float:
    return float(sum(memory_estimate(settings).values()))
