"""The recovery sweep, computed: toy models across density, SAEs of every setting on each, scored
against the true features, beside the decodability test and the orthogonal control.

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
from toysup.metrics import n_represented
from toysup.sae import SAEConfig, SAEResult, train_sae
from verify.sae import RecoveryResult, recovery
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
class RecoveryRun:
    """Everything a run computed. C = configurations (densities)."""

    settings: RecoverySettings
    toy: TrainResult
    represented: np.ndarray  # (C,) features with ‖W_i‖ > 0.5
    decodability: list[DecodabilityResult]  # one per configuration
    results: list[SettingScore]  # every setting on the toy model
    control_toys: list[tuple[np.ndarray, TrainResult]]  # (configurations, orthogonal toy)
    control: list[ControlScore]  # the reference settings on the controls
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def density(self) -> np.ndarray:
        return np.asarray(self.settings.densities, dtype=np.float64)

    def reference(self) -> list[SettingScore]:
        """The reference setting of each kind, on the toy model."""
        labels = {c.label for c in self.settings.reference_configs()}
        return [r for r in self.results if r.config.label in labels]


def run_recovery(
    settings: RecoverySettings, *, progress: bool | None = None, workers: int | None = None
) -> RecoveryRun:
    """Train the toy models, every SAE setting on them (and the reference settings on the
    control), and score them. ``progress``: as :func:`toysup.train`."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    toy = train(
        settings.toy_features(), settings.toy_model(), settings.toy_training(),
        progress="toy models" if progress is not False else False, workers=workers,
    )  # fmt: skip
    timings["toy_s"] = time.perf_counter() - started
    represented = n_represented(toy.W).astype(np.int64)

    tic = time.perf_counter()
    decodability = decodability_tests(toy, settings)
    timings["decodability_s"] = time.perf_counter() - tic

    configs = settings.sae_configs()
    control_configs = settings.reference_configs() if settings.control else []
    bar = Progress(
        len(configs) + len(control_configs), desc="SAE settings", enabled=progress,
        unit="settings",
    )  # fmt: skip
    try:
        tic = time.perf_counter()
        results = [_train_and_score(toy, config, settings, workers, bar) for config in configs]
        timings["saes_s"] = time.perf_counter() - tic
        tic = time.perf_counter()
        density = np.asarray(settings.densities, dtype=np.float64)
        controls = control_toys(density, represented, seed=settings.seed) if control_configs else []
        control = []
        for config in control_configs:
            parts = []
            for rows, control_toy in controls:
                item = _train_and_score(control_toy, config, settings, workers, None)
                parts.append((rows, item.sae, item.score))
            if parts:
                score = stack_scores(density.size, [(rows, sc) for rows, _, sc in parts])
                control.append(ControlScore(config=config, parts=parts, score=score))
            bar.update(1)
        timings["control_s"] = time.perf_counter() - tic
    finally:
        bar.close()
    timings["total_s"] = time.perf_counter() - started
    return RecoveryRun(
        settings=settings,
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
    """The decodability test on fresh (h, x) pairs of every configuration (h = W x)."""
    gen = torch.Generator().manual_seed(settings.seed)
    out = []
    for c in range(toy.features.n_instances):
        x = sample_features(
            toy.features.density_array[c : c + 1], settings.decodability_samples,
            generator=gen, dtype=torch.float64,
        )[0].numpy()  # fmt: skip
        h = x @ np.asarray(toy.W[c], dtype=np.float64).T
        out.append(decodability_test(h, x, alpha=settings.alpha, seed=settings.seed + c))
    return out


def summary_rows(run: RecoveryRun) -> list[dict[str, Any]]:
    """One row per (setting, configuration), toy model then control: the table behind
    maps.csv."""
    rows = []
    scored_lists: tuple[tuple[str, list[Any]], ...] = (
        ("toy", run.results), ("control", run.control),
    )  # fmt: skip
    for target, scored in scored_lists:
        for item in scored:
            s, c = item.score, item.config
            rec = s.interval("recovered")
            mcc = s.interval("mcc")
            for i in range(run.density.size):
                rows.append(
                    {
                        "target": target,
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
                )
    return rows
