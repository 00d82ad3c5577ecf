"""The recovery sweep, computed: toy models across density, SAEs of every setting on each, scored
against the true features, beside the decodability test and the orthogonal control; for the
basic toy model and for the privileged-basis one (``h = ReLU(W x)``), each a :class:`TargetRun`.

This is the job without its command line and files (:mod:`verify.sae_recovery` adds those), so
tests and notebooks can call :func:`run_recovery` directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from toysup import TrainResult, sample_features, train
from toysup._progress import Progress
from toysup.sae import SAEConfig, SAEResult, hidden, train_sae
from toysup.sae.data import hidden_activation
from verify.sae import RecoveryResult, recovery, represented_count, true_features
from verify.sae_job.control import ControlScore, control_toys, stack_scores
from verify.sae_job.settings import RecoverySettings
from verify.stats import DecodabilityResult, decodability_test


@dataclass(frozen=True, eq=False)
class SettingScore:
    """One SAE setting trained on one toy model, and its scores."""

    config: SAEConfig
    sae: SAEResult
    score: RecoveryResult


@dataclass(frozen=True, eq=False)
class TargetRun:
    """Everything computed on one toy model (``name`` in
    :data:`~verify.sae_job.settings.TOY_MODELS`). C = configurations (densities)."""

    name: str
    toy: TrainResult
    represented: np.ndarray  # (C,) features the SAEs are asked to find (verify.sae.true_features)
    decodability: list[DecodabilityResult]  # one per configuration
    results: list[SettingScore]  # every setting on the toy model
    control_toys: list[tuple[np.ndarray, TrainResult]]  # (configurations, orthogonal toy)
    control: list[ControlScore]  # the reference settings on the controls
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def hidden_activation(self) -> str:
        return hidden_activation(self.toy.model)

    def reference(self, settings: RecoverySettings) -> list[SettingScore]:
        """The reference setting of each kind, on the toy model."""
        labels = {c.label for c in settings.reference_configs()}
        return [r for r in self.results if r.config.label in labels]


@dataclass(frozen=True, eq=False)
class RecoveryRun:
    """Everything a run computed: one :class:`TargetRun` per toy model, in the settings' order.
    ``toy``, ``represented``, ``decodability``, ``results``, ``control``, ``control_toys`` and
    :meth:`reference` are those of the first (:attr:`primary`)."""

    settings: RecoverySettings
    targets: list[TargetRun]
    timings: dict[str, Any] = field(default_factory=dict)

    @property
    def density(self) -> np.ndarray:
        return np.asarray(self.settings.densities, dtype=np.float64)

    @property
    def primary(self) -> TargetRun:
        """The first toy model of the run: the one the schema-1 fields of summary.json, the
        unprefixed arrays of maps.npz and the properties below describe."""
        return self.targets[0]

    @property
    def toy(self) -> TrainResult:
        return self.primary.toy

    @property
    def represented(self) -> np.ndarray:
        return self.primary.represented

    @property
    def decodability(self) -> list[DecodabilityResult]:
        return self.primary.decodability

    @property
    def results(self) -> list[SettingScore]:
        return self.primary.results

    @property
    def control(self) -> list[ControlScore]:
        return self.primary.control

    @property
    def control_toys(self) -> list[tuple[np.ndarray, TrainResult]]:
        return self.primary.control_toys

    def reference(self) -> list[SettingScore]:
        """The reference setting of each kind, on the primary toy model."""
        return self.primary.reference(self.settings)

    def target(self, name: str) -> TargetRun:
        for item in self.targets:
            if item.name == name:
                return item
        raise KeyError(
            f"no toy model {name!r} in this run; it has {[t.name for t in self.targets]}"
        )


def run_recovery(
    settings: RecoverySettings, *, progress: bool | None = None, workers: int | None = None
) -> RecoveryRun:
    """Train the toy models, every SAE setting on them (and the reference settings on the
    control), and score them. ``progress``: as :func:`toysup.train`."""
    started = time.perf_counter()
    jobs = {name: settings.sae_configs(name) for name in settings.toy_models}
    n_control = len(settings.reference_configs()) if settings.control else 0
    total = sum(len(configs) + n_control for configs in jobs.values())
    bar = Progress(total, desc="SAE settings", enabled=progress, unit="settings")
    try:
        targets = [
            _run_target(name, jobs[name], settings, progress, workers, bar)
            for name in settings.toy_models
        ]
    finally:
        bar.close()
    timings: dict[str, Any] = dict(targets[0].timings)  # the primary's, as in schema 1
    timings["total_s"] = time.perf_counter() - started
    return RecoveryRun(settings=settings, targets=targets, timings=timings)


def _run_target(
    name: str,
    configs: list[SAEConfig],
    settings: RecoverySettings,
    progress: bool | None,
    workers: int | None,
    bar: Progress,
) -> TargetRun:
    timings: dict[str, float] = {}
    tic = time.perf_counter()
    toy = train(
        settings.toy_features(), settings.toy_model(name), settings.toy_training(),
        progress=f"toy models ({name})" if progress is not False else False, workers=workers,
    )  # fmt: skip
    timings["toy_s"] = time.perf_counter() - tic
    represented = represented_count(toy)

    tic = time.perf_counter()
    decodability = decodability_tests(toy, settings)
    timings["decodability_s"] = time.perf_counter() - tic

    tic = time.perf_counter()
    results = [_train_and_score(toy, config, settings, workers, bar) for config in configs]
    timings["saes_s"] = time.perf_counter() - tic

    tic = time.perf_counter()
    density = np.asarray(settings.densities, dtype=np.float64)
    activation = hidden_activation(toy.model)
    controls = (
        control_toys(density, represented, seed=settings.seed, hidden_activation=activation)
        if settings.control
        else []
    )
    control = []
    for config in settings.reference_configs() if settings.control else []:
        parts = []
        for rows, control_toy in controls:
            item = _train_and_score(control_toy, config, settings, workers, None)
            parts.append((rows, item.sae, item.score))
        if parts:
            score = stack_scores(density.size, [(rows, sc) for rows, _, sc in parts])
            control.append(ControlScore(config=config, parts=parts, score=score))
        bar.update(1)
    timings["control_s"] = time.perf_counter() - tic
    return TargetRun(
        name=name,
        toy=toy,
        represented=represented,
        decodability=decodability,
        results=results,
        control_toys=controls,
        control=control,
        timings=timings,
    )


def _train_and_score(
    toy: TrainResult,
    config: SAEConfig,
    settings: RecoverySettings,
    workers: int | None,
    bar: Progress | None,
) -> SettingScore:
    sae = train_sae(
        toy, config, settings.sae_training(), seed=settings.seed, progress=False, workers=workers
    )
    score = recovery(
        sae, toy, threshold=settings.threshold, n_samples=settings.eval_samples,
        seed=settings.seed, level=settings.level,
    )  # fmt: skip
    if bar is not None:
        bar.update(1)
    return SettingScore(config=config, sae=sae, score=score)


def decodability_tests(toy: TrainResult, settings: RecoverySettings) -> list[DecodabilityResult]:
    """The decodability test on fresh (h, x) pairs of every configuration, ``h`` the toy model's
    hidden activations (``W x``, or ``ReLU(W x)`` in the privileged basis)."""
    gen = torch.Generator().manual_seed(settings.seed)
    activation = hidden_activation(toy.model)
    out = []
    for c in range(toy.features.n_instances):
        x = sample_features(
            toy.features.density_array[c : c + 1], settings.decodability_samples,
            generator=gen, dtype=torch.float64,
        )  # fmt: skip
        W = torch.as_tensor(np.asarray(toy.W[c : c + 1]), dtype=torch.float64)
        h = hidden(W, x, activation)[0].numpy()
        out.append(decodability_test(h, x[0].numpy(), alpha=settings.alpha, seed=settings.seed + c))
    return out


def basis_alignment(toy: TrainResult) -> np.ndarray:
    """(C,) how neuron-aligned the represented features' directions are: the mean over them of
    ``max_j d_j² / ‖d‖²`` (1: the feature lives on one neuron; 1/m: spread evenly over the m
    neurons; 0.55 on average for a uniformly random direction in 5 dimensions). In the basic
    model the basis has no meaning; in the privileged basis (paper §"Superposition in a
    Privileged Basis") it measures how monosemantic the neurons are."""
    truth = true_features(toy)
    d = truth.directions[..., 0]  # (C, m, n)
    share = np.max(d**2, axis=1) / np.maximum(np.sum(d**2, axis=1), 1e-300)  # (C, n)
    rep = truth.represented
    with np.errstate(invalid="ignore"):
        return np.where(rep.any(1), (share * rep).sum(1) / np.maximum(rep.sum(1), 1), np.nan)


def summary_rows(run: RecoveryRun) -> list[dict[str, Any]]:
    """One row per (toy model, target, setting, configuration), toy model then control: the
    table behind maps.csv."""
    rows = []
    for target in run.targets:
        scored_lists: tuple[tuple[str, list[Any]], ...] = (
            ("toy", target.results), ("control", target.control),
        )  # fmt: skip
        for kind, scored in scored_lists:
            for item in scored:
                rows += _rows(run, target, kind, item)
    return rows


def _rows(run: RecoveryRun, target: TargetRun, kind: str, item: Any) -> list[dict[str, Any]]:
    s, c = item.score, item.config
    rec = s.interval("recovered")
    mcc = s.interval("mcc")
    return [
        {
            "toy_model": target.name,
            "target": kind,
            "setting": c.label,
            "kind": c.kind,
            "width": c.width,
            "level": c.k if c.kind == "topk" else c.penalty,
            "density": float(run.density[i]),
            "represented": int(s.represented[i]),
            "recovered_mean": float(s.mean("recovered")[i]),
            "recovered_low": float(rec[i, 0]),
            "recovered_high": float(rec[i, 1]),
            "recovered_median": int(s.recovered[i]),
            "mcc_mean": float(s.mean("mcc")[i]),
            "mcc_low": float(mcc[i, 0]),
            "mcc_high": float(mcc[i, 1]),
            "mmcs_mean": float(s.mean("mmcs")[i]),
            "l0_mean": float(s.mean("l0")[i]),
            "dead_median": int(s.dead[i]),
            "dense_median": int(s.dense[i]),
            "fvu_mean": float(s.mean("fvu")[i]),
            "shrinkage_mean": float(s.mean("shrinkage")[i]),
            "loss_recovered_mean": float(s.mean("loss_recovered")[i]),
        }
        for i in range(run.density.size)
    ]
