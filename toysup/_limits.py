"""What a training run needs before it starts: densities its dtype can represent, and memory.

:func:`check_fits` is called by :func:`toysup.train.train` before anything is allocated, so that
a run that cannot work ends at once with a clear ``ValueError`` (the option, its value, what to
change) instead of a ``RuntimeError`` from the allocator or a NaN deep in a sampler.
"""

from __future__ import annotations

import numpy as np

from toysup._validation import check_memory
from toysup.config import FeatureConfig, ModelConfig, TrainConfig

#: Explicit (instance, feature, example) entries a step holds at once, per entry of a batch: the
#: batch itself, the pre-activations, the errors and a gradient temporary.
BUFFERS_PER_ENTRY = 4
#: Parameters held per weight: W, its gradient, two Adam moments, the returned copy.
COPIES_PER_WEIGHT = 5


def check_fits(features: FeatureConfig, model: ModelConfig, training: TrainConfig) -> None:
    """Refuse densities below the dtype's smallest normal number and runs too large for memory."""
    tiny = float(np.finfo(np.float32 if training.dtype == "float32" else np.float64).tiny)
    smallest = float(features.density_array.min())
    if smallest < tiny:
        raise ValueError(
            f"density {smallest:g} is below the smallest normal {training.dtype} number "
            f"({tiny:.3g}): the samplers would divide by 0; use TrainConfig(dtype='float64') or a "
            f"density >= {tiny:.3g}"
        )
    itemsize = 4 if training.dtype == "float32" else 8
    instances = features.n_instances * training.n_seeds
    entries = float(instances) * model.n_features * training.batch_size
    weights = float(instances) * model.n_features * (model.n_hidden + 1)
    needed = itemsize * (BUFFERS_PER_ENTRY * entries + COPIES_PER_WEIGHT * weights)
    check_memory("batch_size", training.batch_size, needed, "the batches and parameters")
