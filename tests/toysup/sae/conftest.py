"""Tiny toy models for the SAE tests: hand-built (no training) unless a test needs a trained one."""

from __future__ import annotations

import numpy as np
import pytest

from toysup import FeatureConfig, ModelConfig, TrainConfig, TrainResult


def hand_built_toy(W, density, *, importance=1.0, model=None, b=None) -> TrainResult:
    """A TrainResult holding ``W`` (C, m, n) as if trained (one seed, zero loss)."""
    W = np.asarray(W, dtype=np.float32)
    C, m, n = W.shape
    z = np.zeros
    return TrainResult(
        features=FeatureConfig(
            n_features=n, n_instances=C, density=np.broadcast_to(density, (C, n)).copy(),
            importance=importance,
        ),
        model=model if model is not None else ModelConfig(n_features=n, n_hidden=m),
        training=TrainConfig(steps=1),
        W=W, b=z((C, n), np.float32) if b is None else np.asarray(b, np.float32),
        loss=z(C), loss_stderr=z(C), best_seed=z(C, np.int64), seed_W=W[:, None],
        seed_b=z((C, 1, n), np.float32), seed_loss=z((C, 1)), seed_loss_stderr=z((C, 1)),
        history_steps=z(1, np.int64), history_loss=z((1, C, 1)),
    )  # fmt: skip


def random_orthogonal(C, n, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([np.linalg.qr(rng.standard_normal((n, n)))[0] for _ in range(C)])


@pytest.fixture
def orthogonal_toy():
    """Factory: C configurations of an orthogonal n × n W (no superposition)."""

    def make(C=2, n=3, density=0.1, seed=0):
        return hand_built_toy(random_orthogonal(C, n, seed), np.asarray(density).reshape(-1, 1))

    return make


def feature_moments(features) -> tuple[np.ndarray, np.ndarray]:
    """``E[x]`` (C, n) and ``E[x xᵀ]`` (C, n, n) of a FeatureConfig's features, in closed form
    (derived from the definitions in docs/training.md, "Feature structure and signed values",
    not from the samplers): an active value is ``Uniform[0, 1]`` (mean 1/2, second moment 1/3)
    or ``Uniform[−1, 1]`` (mean 0, second moment 1/3), independent of everything else, so
    ``E[x_i x_j] = P(i and j active) · E[v]²`` off the diagonal and ``p_i / 3`` on it. Two
    features of different sets (or independent ones) are both active with probability
    ``p_i p_j``; of one correlated set with probability p (all or none); of one anticorrelated
    set never (at most one)."""
    p = features.density_array
    n = p.shape[1]
    ev = 0.0 if features.values == "signed" else 0.5
    both = p[:, :, None] * p[:, None, :]
    if features.structure != "independent":
        group = np.arange(n) // features.set_size
        same = group[:, None] == group[None, :]
        inside = p[:, :, None] * np.ones((1, 1, n)) if features.structure == "correlated" else 0.0
        both = np.where(same[None], inside, both)
    second = both * ev**2
    idx = np.arange(n)
    second[:, idx, idx] = p / 3
    return p * ev, second
