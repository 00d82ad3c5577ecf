"""The phase diagram, computed: train every cell, label it, build the theory maps, compare.

This is the main job without its input and output (:mod:`verify.phase_boundary` adds the command
line, files and table), so tests and notebooks can call it directly.

Grid: the extra feature's importance r (columns) and the density p of all features (rows), both
log-spaced. n=2, m=1: importances (1, r); theory = the paper's candidate map and the exact
landscape's optimum (:mod:`theory.n2m1`). n=3, m=2: importances (1, 1, r); theory = the paper's
four candidates and the exact optimum (:mod:`theory.n3m2`, through :mod:`theory.landscape`).
Seeds are ranked by their exact expected loss in both cases. The theory side lives in
:mod:`verify.diagram_theory`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from theory import n2m1, n3m2
from theory._summary import Summarized, Summary
from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from verify import compare
from verify import diagram_theory as dt
from verify.diagram_theory import SUPERPOSITION
from verify.summaries import diagram_summary

if TYPE_CHECKING:
    from toysup.sweep import Sweep

SUPPORTED = ((2, 1), (3, 2))
SELECTIONS = ("best", "drop_worst")
#: The lowest density a diagram may reach: below it no feature is ever active in any feasible
#: run (1e-12 × 10⁶ steps × batch 1024 ≈ 1e-3 active entries), and log-spaced cell edges stop
#: being representable long before float64 underflows.
MIN_DENSITY = 1e-12


@dataclass(frozen=True, kw_only=True)
class DiagramSettings:
    """Everything that decides a phase diagram. Defaults: the quick CPU run of the main job."""

    n_features: int = 2
    n_hidden: int = 1
    resolution: int = 20
    importance_range: tuple[float, float] = (0.1, 10.0)
    density_range: tuple[float, float] = (0.01, 1.0)
    seeds: int = 6
    steps: int = 2000
    batch: int = 1024
    lr: float = 1e-2
    schedule: str = "cosine"
    optimizer: str = "adamw"
    weight_decay: float | None = None
    selection: str = "best"
    device: str = "auto"
    seed: int = 0
    eval_samples: int = 8192
    bootstrap: int = 200

    def __post_init__(self) -> None:
        if (self.n_features, self.n_hidden) not in SUPPORTED:
            raise ValueError(
                f"(n, m) must be (2, 1) or (3, 2) (the phase diagrams with theory), got "
                f"({self.n_features}, {self.n_hidden})"
            )
        for name in ("resolution", "seeds", "steps", "batch", "eval_samples"):
            value = getattr(self, name)
            minimum = 2 if name == "resolution" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if not isinstance(self.bootstrap, int) or self.bootstrap < 0:
            raise ValueError(f"bootstrap must be an integer >= 0, got {self.bootstrap!r}")
        lo, hi = self.importance_range
        if not (0 < lo < hi and np.isfinite(hi)):
            raise ValueError(
                f"importance_range must be (low, high) with 0 < low < high, got {(lo, hi)}"
            )
        lo, hi = self.density_range
        if not (MIN_DENSITY <= lo < hi <= 1):
            raise ValueError(
                f"density_range must be (low, high) with {MIN_DENSITY:g} <= low < high <= 1, "
                f"got {(lo, hi)}"
            )
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {SELECTIONS}, got {self.selection!r}")
        self.train_config()  # validates optimiser, schedule, lr, device, ...

    def grid(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(importance (R,), density (P,)), both log-spaced, R = P = resolution."""
        r = np.geomspace(*self.importance_range, self.resolution)
        p = np.geomspace(*self.density_range, self.resolution)
        return r, p

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            steps=self.steps,
            batch_size=self.batch,
            lr=self.lr,
            schedule=self.schedule,
            optimizer=self.optimizer,
            weight_decay=self.weight_decay,
            n_seeds=self.seeds,
            seed=self.seed,
            eval_samples=self.eval_samples,
            device=self.device,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True, eq=False, repr=False)
class Diagram(Summarized):
    """A computed phase diagram. Maps are (P, R): one row per density, one column per importance.

    ``seed_labels``/``selection_loss`` are (P, R, K) over seeds; ``W`` (P, R, K, m, n) and
    ``b`` (P, R, K, n) are every trained model. ``boundary`` holds per-importance arrays:
    ``empirical`` p* read off the empirical map, ``exact``/``candidate`` theory's p*,
    ``error_exact``/``error_candidate`` (decades), ``spread`` (bootstrap SD over seeds, decades),
    ``censored``. ``exact_W`` (P, R, m, n), ``exact_b`` (P, R, n), ``exact_loss`` (P, R): the
    exact optimum per cell. ``diagnostics``: ``excess_loss`` (the best seed above the optimum,
    :func:`verify.diagram_theory.excess_loss`), ``candidates_differ`` (agreement where the
    theories disagree), ``threshold_sensitivity`` (agreement under other representation
    thresholds).
    """

    settings: DiagramSettings
    importance: NDArray[np.float64]
    density: NDArray[np.float64]
    empirical: NDArray[np.str_]
    candidate: NDArray[np.str_]
    exact: NDArray[np.str_] | None
    vote_share: NDArray[np.float64]
    seed_labels: NDArray[np.str_]
    selection_loss: NDArray[np.float64]
    selection_loss_kind: str
    W: NDArray[np.floating[Any]]
    b: NDArray[np.floating[Any]]
    agreement: dict[str, float | None]
    kappa: dict[str, float | None]
    boundary: dict[str, Any]
    train_info: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    exact_W: NDArray[np.float64] | None = None
    exact_b: NDArray[np.float64] | None = None
    exact_loss: NDArray[np.float64] | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    sweep: dict[str, Any] | None = None  # the run's sweep summary (tasks, tasks_run, ...)

    @property
    def labels(self) -> tuple[str, ...]:
        if (self.settings.n_features, self.settings.n_hidden) == (2, 1):
            return tuple(n2m1.PHASES)
        return tuple(n3m2.PHASES)

    def _summary(self) -> Summary:
        return diagram_summary(self)


def cell_features(settings: DiagramSettings) -> FeatureConfig:
    """One configuration per cell, row-major over (density, importance)."""
    r, p = settings.grid()
    rr, pp = np.meshgrid(r, p)  # (P, R)
    n = settings.n_features
    importance = np.ones((rr.size, n))
    importance[:, -1] = rr.ravel()  # the extra feature is the last one
    density = np.repeat(pp.reshape(-1, 1), n, axis=1)
    return FeatureConfig(n_features=n, n_instances=rr.size, density=density, importance=importance)


@dataclass(frozen=True, eq=False)
class GridTraining:
    """Every trained model of a diagram's grid: ``seed_W`` (P, R, K, m, n), ``seed_b``
    (P, R, K, n), ``seed_loss`` (P, R, K); ``info``: at least ``device``, ``dtype``,
    ``workers``; ``sweep``: the sweep's summary when it came from a store."""

    seed_W: NDArray[np.floating[Any]]
    seed_b: NDArray[np.floating[Any]]
    seed_loss: NDArray[np.floating[Any]]
    info: dict[str, Any]
    seconds: float
    sweep: dict[str, Any] | None = None


def diagram_sweep(settings: DiagramSettings, *, task_size: int | None = None) -> Sweep:
    """The grid as a :class:`toysup.sweep.Sweep`: axes density (rows, all features) and the
    extra feature's importance (columns), the same configurations as :func:`cell_features`;
    each task's seed is derived from the sweep's (``settings.seed``) and the task's key.
    ``task_size``: cells per task (default: about one trainer block)."""
    from toysup.sweep import Axis, Sweep

    r, p = settings.grid()
    n = settings.n_features
    return Sweep(
        features=FeatureConfig(n_features=n),
        model=ModelConfig(n_features=n, n_hidden=settings.n_hidden),
        training=settings.train_config(),
        axes=[Axis("density", p.tolist()), Axis("importance", r.tolist(), feature=-1)],
        task_size=task_size,
    )


def train_grid(
    settings: DiagramSettings, *, progress: bool | str | None = None, workers: int | None = None
) -> GridTraining:
    """Every cell trained in this process by one :func:`toysup.train` call."""
    started = time.perf_counter()
    r, p = settings.grid()
    P, R, K = p.size, r.size, settings.seeds
    n, m = settings.n_features, settings.n_hidden
    result = train(
        cell_features(settings), ModelConfig(n_features=n, n_hidden=m), settings.train_config(),
        progress=progress, workers=workers,
    )  # fmt: skip
    return GridTraining(
        seed_W=result.seed_W.reshape(P, R, K, m, n),
        seed_b=result.seed_b.reshape(P, R, K, n),
        seed_loss=result.seed_loss.reshape(P, R, K),
        info=result.info,
        seconds=time.perf_counter() - started,
    )


def run_diagram(
    settings: DiagramSettings,
    *,
    progress: bool | str | None = None,
    workers: int | None = None,
    training: GridTraining | None = None,
) -> Diagram:
    """Train (unless ``training`` is given, e.g. read from a sweep's store), label, select,
    build the theory maps and compare (see the module docstring)."""
    if training is None:
        training = train_grid(settings, progress=progress, workers=workers)
    started = time.perf_counter() - training.seconds
    trained = time.perf_counter()
    r, p = settings.grid()
    P, R, K = p.size, r.size, settings.seeds
    n, m = settings.n_features, settings.n_hidden
    expected = {"seed_W": (P, R, K, m, n), "seed_b": (P, R, K, n), "seed_loss": (P, R, K)}
    for name, shape_of in expected.items():
        if getattr(training, name).shape != shape_of:
            raise ValueError(
                f"training.{name} must have shape {shape_of} for these settings, got "
                f"{getattr(training, name).shape}"
            )
    features = cell_features(settings)
    W, b = training.seed_W, training.seed_b
    shape = (n, m)
    seed_labels = dt.label_models(W, shape)
    # Rank seeds by their exact expected loss, free of Monte Carlo noise.
    selection_loss = dt.seed_losses(W, b, p, features.importance_array.reshape(P, R, n))
    loss_kind = dt.LOSS_KIND[shape]
    theory = dt.theory_maps(shape, r, p, seed=settings.seed)
    exact, candidate = theory.exact, theory.candidate
    boundary_exact, boundary_candidate = theory.boundary_exact, theory.boundary_candidate
    empirical, vote_share = compare.select_labels(
        seed_labels, selection_loss, select=settings.selection
    )
    theory_done = time.perf_counter()

    phase = SUPERPOSITION[shape]
    emp_boundary = compare.boundary_from_labels(empirical, p, phase=phase)
    rng = np.random.default_rng([settings.seed, 17])
    spread = None  # no bootstrap (bootstrap=0 or 1): no uncertainty to report
    if settings.bootstrap > 1:
        boot = compare.bootstrap_labels(
            seed_labels,
            selection_loss,
            n_boot=settings.bootstrap,
            rng=rng,
            select=settings.selection,
        )
        spread = compare.boundary_spread(boot, p, phase=phase)
    boundary: dict[str, Any] = {
        "phase": list(phase),
        "empirical": emp_boundary.density,
        "censored": emp_boundary.censored,
        "misfit_cells": emp_boundary.misfit,
        "candidate": boundary_candidate,
        "error_candidate": compare.decades(emp_boundary.density, boundary_candidate),
        "exact": boundary_exact,
        "error_exact": _decades(emp_boundary.density, boundary_exact),
        "spread": spread,
        "grid_half_cell": float(np.log10(p[1] / p[0]) / 2),
    }
    agree: dict[str, float | None] = {
        "candidate": compare.agreement(empirical, candidate),
        "exact": compare.agreement(empirical, exact),
    }
    kappa: dict[str, float | None] = {
        "candidate": compare.cohen_kappa(empirical, candidate),
        "exact": compare.cohen_kappa(empirical, exact),
    }
    diagnostics = {
        "excess_loss": dt.excess_loss(np.min(selection_loss, axis=-1), theory.exact_loss),
        "candidates_differ": dt.where_candidates_differ(empirical, candidate, exact),
        "threshold_sensitivity": dt.threshold_sensitivity(
            W, selection_loss, empirical, theory, shape, select=settings.selection
        ),
    }
    done = time.perf_counter()
    return Diagram(
        settings=settings,
        importance=r,
        density=p,
        empirical=empirical,
        candidate=candidate,
        exact=exact,
        vote_share=vote_share,
        seed_labels=seed_labels,
        selection_loss=np.asarray(selection_loss, dtype=float),
        selection_loss_kind=loss_kind,
        W=W,
        b=b,
        agreement=agree,
        kappa=kappa,
        boundary=boundary,
        train_info=training.info,
        sweep=training.sweep,
        exact_W=theory.exact_W,
        exact_b=theory.exact_b,
        exact_loss=theory.exact_loss,
        diagnostics=diagnostics,
        timings={
            "train_s": trained - started,
            "theory_s": theory_done - trained,
            "compare_s": done - theory_done,
            "total_s": done - started,
        },
    )


def _decades(estimate: NDArray[np.float64], reference: NDArray[np.float64]) -> NDArray[np.float64]:
    """log10(estimate / reference); NaN where theory's boundary is undefined (NaN)."""
    out = np.full(np.shape(reference), np.nan)
    ok = np.isfinite(reference)
    out[ok] = compare.decades(np.asarray(estimate)[ok], np.asarray(reference)[ok])
    return out
