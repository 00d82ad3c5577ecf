"""Small sweeps shared by the sweep tests: a 3 × 4 (density × importance) grid of the n=2, m=1
model, 3 seeds, a few dozen steps: seconds to train, several tasks."""

from __future__ import annotations

import numpy as np
import pytest

from toysup import FeatureConfig, ModelConfig, TrainConfig
from toysup.sweep import Axis, Sweep

DENSITY = [0.05, 0.3, 1.0]
IMPORTANCE = [0.5, 1.0, 2.0, 4.0]


def make_sweep(*, steps: int = 60, seed: int = 0, lr: float = 1e-2, task_size: int = 4) -> Sweep:
    return Sweep(
        features=FeatureConfig(n_features=2),
        model=ModelConfig(n_features=2, n_hidden=1),
        training=TrainConfig(
            steps=steps, batch_size=64, n_seeds=3, eval_samples=256, lr=lr, seed=seed
        ),
        axes=[Axis("density", DENSITY), Axis("importance", IMPORTANCE, feature=-1)],
        task_size=task_size,
    )


@pytest.fixture
def small_sweep():
    return make_sweep


def assert_same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    """Bit for bit: same names, shapes, dtypes and bytes (NaN included)."""
    assert sorted(a) == sorted(b)
    for name in a:
        x, y = np.asarray(a[name]), np.asarray(b[name])
        assert x.shape == y.shape and x.dtype == y.dtype, name
        if x.dtype.kind in "fc":
            assert x.tobytes() == y.tobytes(), name
        else:
            assert np.array_equal(x, y), name


@pytest.fixture
def same_arrays():
    return assert_same_arrays
