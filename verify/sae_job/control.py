"""The control that separates superposition from density: toy models without superposition.

For each configuration whose toy model represents ``r`` features (‖W_i‖ > 0.5), the control is a
random orthogonal ``r × r`` matrix (m = n = r: every feature has a dimension of its own, no
interference), ``b = 0``, at the same density. Its hidden activations are a rotation of r
independent sparse features: an SAE on it faces exactly the code statistics of the toy model's
represented features (r features, each active with probability p, values Uniform[0, 1]) and
nothing else. Where SAEs fail on the toy model but succeed on the control, superposition is the
cause; where they fail on both, density is (docs/sae.md, "The control").

For the privileged-basis model (``h = ReLU(W x)``) the control is the identity with the same
hidden ReLU, ``h = ReLU(x) = x``: the features on the neurons, one each, non-negative like the
model's own activations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from toysup import FeatureConfig, ModelConfig, TrainConfig, TrainResult
from toysup.sae import SAEConfig, SAEResult
from verify.sae import SEED_STATISTICS, RecoveryResult, seed_interval


def orthogonal_toy(
    features: FeatureConfig, *, seed: int, hidden_activation: str = "none"
) -> TrainResult:
    """A :class:`~toysup.TrainResult` holding an orthogonal ``W`` (C, n, n) per configuration of
    ``features`` and ``b = 0``; nothing is trained. For ``h = W x`` a random one (QR of a
    Gaussian matrix with the signs fixed, which makes the draw uniform over the orthogonal
    group); for ``h = ReLU(W x)`` (``hidden_activation="relu"``) the identity, the only
    orthogonal matrix whose ReLU readout is exact for non-negative features. Its loss is 0
    (``Wᵀ act(W x) = x``), recorded as such."""
    n, C = features.n_features, features.n_instances
    rng = np.random.default_rng(np.random.SeedSequence([seed, n, 0x0C7]))
    W = np.empty((C, n, n))
    for c in range(C):
        if hidden_activation == "relu":
            W[c] = np.eye(n)
            continue
        q, r = np.linalg.qr(rng.standard_normal((n, n)))
        W[c] = q * np.sign(np.diag(r))
    z = np.zeros
    return TrainResult(
        features=features,
        model=ModelConfig(n_features=n, n_hidden=n, hidden_activation=hidden_activation),
        training=TrainConfig(steps=1, n_seeds=1, seed=seed),
        W=W.astype(np.float32),
        b=z((C, n), dtype=np.float32),
        loss=z(C),
        loss_stderr=z(C),
        best_seed=z(C, dtype=np.int64),
        seed_W=W[:, None].astype(np.float32),
        seed_b=z((C, 1, n), dtype=np.float32),
        seed_loss=z((C, 1)),
        seed_loss_stderr=z((C, 1)),
        history_steps=np.zeros(1, dtype=np.int64),
        history_loss=z((1, C, 1)),
        info={
            "construction": (
                "identity W, h = ReLU(x)" if hidden_activation == "relu" else "random orthogonal W"
            )
            + ", b = 0 (no training): the control"
        },
    )


def control_toys(
    density: NDArray[np.float64],
    represented: NDArray[np.int64],
    *,
    seed: int,
    hidden_activation: str = "none",
) -> list[tuple[NDArray[np.int64], TrainResult]]:
    """One orthogonal control per distinct represented count: ``(configuration indices,
    TrainResult)`` with ``n = m = r``, those configurations' densities (importance 1: SAEs
    never see it) and the toy model's hidden activation. Configurations representing no
    feature get no control."""
    out = []
    for r in np.unique(represented):
        if r < 1:
            continue
        rows = np.flatnonzero(represented == r)
        features = FeatureConfig(
            n_features=int(r), n_instances=rows.size, density=density[rows][:, None]
        )
        out.append((rows, orthogonal_toy(features, seed=seed, hidden_activation=hidden_activation)))
    return out


@dataclass(frozen=True, eq=False)
class StackedScore:
    """Recovery scores of several controls (different n) laid out by the toy model's
    configurations: the parts of :class:`~verify.sae.RecoveryResult` the job reads, C rows
    (NaN rows for configurations without a control)."""

    represented: NDArray[np.int64]  # (C,)
    recovered: NDArray[np.int64]  # (C,) lower median over seeds
    thresholds: NDArray[np.float64]  # (K,)
    seed_recovered_at: NDArray[np.float64]  # (C, S, K)
    feature_cosine: NDArray[np.float64]  # (C, S, n_max)
    level: float
    _seeds: dict[str, NDArray[np.float64]]

    def seeds(self, name: str) -> NDArray[np.float64]:
        return self._seeds[name]

    @property
    def dead(self) -> NDArray[np.int64]:
        return _lower_median(self._seeds["dead"])

    @property
    def dense(self) -> NDArray[np.int64]:
        return _lower_median(self._seeds["dense"])

    def mean(self, name: str) -> NDArray[np.float64]:
        return np.asarray(np.mean(self._seeds[name], axis=1))

    def interval(self, name: str, level: float | None = None) -> NDArray[np.float64]:
        return seed_interval(self._seeds[name], self.level if level is None else level)


def stack_scores(
    n_configs: int, parts: list[tuple[NDArray[np.int64], RecoveryResult]]
) -> StackedScore:
    """Lay the parts' rows out by configuration (``parts``: configuration indices and the
    recovery of their control)."""
    first = parts[0][1]
    S, K = first.n_seeds, first.thresholds.size
    n_max = max(score.feature_cosine.shape[2] for _, score in parts)
    names = SEED_STATISTICS
    seeds = {name: np.full((n_configs, S), np.nan) for name in names}
    represented = np.zeros(n_configs, dtype=np.int64)
    recovered = np.zeros(n_configs, dtype=np.int64)
    at = np.full((n_configs, S, K), np.nan)
    cosine = np.full((n_configs, S, n_max), np.nan)
    for rows, score in parts:
        for name in names:
            seeds[name][rows] = score.seeds(name)
        represented[rows] = score.represented
        recovered[rows] = score.recovered
        at[rows] = score.seed_recovered_at
        cosine[rows, :, : score.feature_cosine.shape[2]] = score.feature_cosine
    return StackedScore(
        represented=represented,
        recovered=recovered,
        thresholds=first.thresholds,
        seed_recovered_at=at,
        feature_cosine=cosine,
        level=first.level,
        _seeds=seeds,
    )


def _lower_median(values: NDArray[np.float64]) -> NDArray[np.int64]:
    """(C,) lower median over seeds; -1 for rows without a control."""
    ordered = np.sort(values, axis=1)
    median = ordered[:, (ordered.shape[1] - 1) // 2]
    return np.where(np.isfinite(median), median, -1).astype(np.int64)


@dataclass(frozen=True, eq=False)
class ControlScore:
    """One SAE setting on the controls of every configuration."""

    config: SAEConfig
    parts: list[tuple[NDArray[np.int64], SAEResult, RecoveryResult]]
    score: StackedScore
