"""The bridge's data types: what decides a run (``BridgeSettings``) and what it returns
(``BridgeResult``). Both are frozen; the result's arrays are read-only.

Shapes: D = number of δ values, K = number of densities (non-zero counts k).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._summary import Summarized, Summary
from toysup import TrainConfig
from toysup.config import SCHEDULES, check_device
from verify.cs_bridge.transition import Transition
from verify.summaries import bridge_summary

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, kw_only=True)
class BridgeSettings:
    """Everything that decides a bridge run. Defaults: the CPU run of the CLI (a few minutes).

    Attributes:
        n_features: n.
        deltas: δ = m/n values; m = round(δ n) (halves up) must be distinct and in [1, n − 1].
        densities: a count (log-spaced k = round(geomspace(1, n, count)), duplicates dropped,
            p = k/n) or explicit densities, each a multiple of 1/n (inputs have exactly k = p n
            non-zeros, so k must be an integer).
        seeds, steps, batch, lr, schedule: training (AdamW, weight decay 0.01, uniform
            importance; best of ``seeds`` by final loss).
        trials: toy-decoder draws per (δ, k).
        lp_trials: LP draws per (δ, k), the first ``lp_trials`` of the toy's; 0 skips the LP.
        gaussian_trials: Gaussian-matrix LP trials per (δ, k); 0 skips them.
        tolerance: τ of the ``l2`` and ``linf`` criteria.
        confidence: level of the binomial intervals.
        seed: every random step derives from it (training, draws, Gaussian matrices).
        device: training device ("auto", "cpu", "cuda", "cuda:N").
    """

    n_features: int = 64
    deltas: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5, 0.7)
    densities: int | tuple[float, ...] = 16
    seeds: int = 2
    steps: int = 2000
    batch: int = 256
    lr: float = 1e-2
    schedule: str = "cosine"
    trials: int = 1000
    lp_trials: int = 100
    gaussian_trials: int = 40
    tolerance: float = 0.1
    confidence: float = 0.95
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        _check_int("n_features", self.n_features, 4)
        for name in ("seeds", "steps", "batch", "trials"):
            _check_int(name, getattr(self, name), 1)
        for name in ("lp_trials", "gaussian_trials", "seed"):
            _check_int(name, getattr(self, name), 0)
        if self.lp_trials > self.trials:
            raise ValueError(
                f"lp_trials must be <= trials = {self.trials} (the LP decodes the first "
                f"lp_trials of the toy's draws), got {self.lp_trials}"
            )
        object.__setattr__(
            self, "deltas", tuple(float(d) for d in _as_tuple("deltas", self.deltas))
        )
        if not isinstance(self.densities, int) or isinstance(self.densities, bool):
            object.__setattr__(
                self, "densities", tuple(float(p) for p in _as_tuple("densities", self.densities))
            )
        _check_open("tolerance", self.tolerance, 0.0, math.inf)
        _check_open("confidence", self.confidence, 0.0, 1.0)
        _check_open("lr", self.lr, 0.0, math.inf)
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        check_device(self.device)
        self.hidden()  # validates deltas
        self.ks()  # validates densities

    def hidden(self) -> IntArray:
        """(D,) m = round(δ n), halves up."""
        n = self.n_features
        d = np.asarray(self.deltas, dtype=np.float64)
        if d.size == 0 or not np.all((d > 0) & (d < 1)) or np.any(np.diff(d) <= 0):
            raise ValueError(
                f"deltas must be strictly increasing values in (0, 1), got {self.deltas!r}"
            )
        m = np.floor(d * n + 0.5).astype(np.int64)
        if np.any(m < 1) or np.any(m > n - 1) or np.any(np.diff(m) == 0):
            raise ValueError(
                f"m = round(delta * n) must be distinct and in [1, n − 1] = [1, {n - 1}], got "
                f"m = {m.tolist()} for deltas {list(self.deltas)} (n = {n})"
            )
        return m

    def ks(self) -> IntArray:
        """(K,) numbers of non-zeros k, increasing; the densities are k / n."""
        n = self.n_features
        if isinstance(self.densities, int):
            if self.densities < 2:
                raise ValueError(f"a density count must be >= 2, got {self.densities}")
            return np.unique(np.floor(np.geomspace(1, n, self.densities) + 0.5).astype(np.int64))
        p = np.asarray(self.densities, dtype=np.float64)
        k = np.floor(p * n + 0.5)
        if (
            p.size == 0
            or not np.all((p > 0) & (p <= 1))
            or np.any(np.abs(p * n - k) > 1e-9 * n)
            or np.any(np.diff(p) <= 0)
        ):
            raise ValueError(
                f"densities must be strictly increasing multiples of 1/n = 1/{n} in (0, 1] "
                f"(inputs have exactly k = p·n non-zeros), got {list(self.densities)}; "
                f"e.g. {[round(j / n, 6) for j in (1, 2, 4)]}, or pass a count"
            )
        return k.astype(np.int64)

    def train_config(self, seed: int) -> TrainConfig:
        return TrainConfig(
            steps=self.steps,
            batch_size=self.batch,
            lr=self.lr,
            schedule=self.schedule,
            n_seeds=self.seeds,
            seed=seed,
            device=self.device,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True, eq=False, repr=False)
class BridgeResult(Summarized):
    """A computed bridge. D = len(deltas), K = len(k). Arrays are read-only.

    Attributes:
        settings: what was run.
        k: (K,) non-zeros per input; density: (K,) = k / n (training density).
        m: (D,) hidden dimensions; delta: (D,) realized δ = m / n; rho: (D, K) = k / m.
        W: one (K, m_d, n) array per δ (best seed per density); b: (D, K, n).
        successes: {(decoder, criterion): (D, K) counts}; decoders "toy", "lp_learned",
            "lp_gaussian"; -1 where not evaluated (LPs at k > m, or skipped).
        trials: {decoder: trials per cell}.
        toy_tolerance: {factor: {criterion: (D, K) counts}} for τ·factor (TOLERANCE_FACTORS).
        transitions: {"decoder/criterion": D Transition objects}, and "toy/<criterion>@<factor>".
        rho_w: {"nonnegative": (D,), "signed": (D,)} Donoho–Tanner ρ_W at the realized δ.
        represented: (D, K) features with ‖W_i‖ > 0.5; frobenius: (D, K) ‖W‖²_F.
        bounds: {name: (D, K) max_features(m, density, bound=name)} (inf where vacuous).
        superposition_rho: (D,) ρ where ‖W‖²_F first falls below (m + n)/2 as ρ grows (half of
            the n − m features beyond m in superposition); NaN outside the grid.
        paired: {"l2" | "linf": (D, K, 2)} on the draws both decoders saw (the first
            ``lp_trials``): [..., 0] rows only the toy recovered, [..., 1] only the LP; -1 where
            the LP was not run.
        train_info: device, dtype, workers; timings: seconds per stage; sweep: the training
        sweep's summary (tasks, tasks_run, tasks_reused, scheduler, ...) or None.
    """

    settings: BridgeSettings
    k: IntArray
    density: FloatArray
    m: IntArray
    delta: FloatArray
    rho: FloatArray
    W: tuple[FloatArray, ...]
    b: FloatArray
    successes: Mapping[tuple[str, str], IntArray]
    trials: Mapping[str, int]
    toy_tolerance: Mapping[float, Mapping[str, IntArray]]
    transitions: Mapping[str, tuple[Transition, ...]]
    rho_w: Mapping[str, FloatArray]
    represented: IntArray
    frobenius: FloatArray
    bounds: Mapping[str, FloatArray]
    superposition_rho: FloatArray
    paired: Mapping[str, IntArray]
    train_info: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    sweep: dict[str, Any] | None = None  # the training sweep's summary, when run through one

    def rate(self, decoder: str, criterion: str) -> FloatArray:
        """(D, K) success fraction, NaN where not evaluated."""
        s = self.successes[(decoder, criterion)].astype(np.float64)
        return np.where(s >= 0, s / max(self.trials[decoder], 1), np.nan)

    def _summary(self) -> Summary:
        return bridge_summary(self)


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_open(name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not (low < float(value) < high):
        raise ValueError(f"{name} must lie in ({low:g}, {high:g}), got {value!r}")


def _as_tuple(name: str, value: Any) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a sequence of numbers, got {value!r}")
    items = tuple(value)
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must hold real numbers, got {v!r} in {value!r}")
    return items
