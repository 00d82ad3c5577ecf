"""The toy model's own activations, fresh every step: features from its distribution, then
``h = W x`` (or ``ReLU(W x)``).

Features come from the trainer's exact samplers (:mod:`toysup.data`; numpy's PCG64 on CPU, a
torch ``Generator`` elsewhere), so SAEs see the distribution the toy model was trained on, with
no stored dataset. Feature distributions beyond independent ``Uniform[0, 1]`` features (fields
``values`` / ``structure`` / ``set_size`` of a :class:`~toysup.config.FeatureConfig` that has
them) are drawn through :func:`toysup.sample_features`, which knows them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from toysup._blocks import uniform_source
from toysup.config import FeatureConfig, ModelConfig
from toysup.data import CompactSampler, DenseSampler, SparseSampler, sample_features
from toysup.sae.models import HIDDEN_ACTIVATIONS

#: Feature-distribution fields beyond density and importance, with the value meaning
#: "independent Uniform[0, 1] features" (those the fast samplers draw).
_PLAIN_FEATURES = {"values": "unit", "structure": "independent"}


def hidden_activation(model: ModelConfig) -> str:
    """``"none"`` (``h = W x``) or ``"relu"`` (``h = ReLU(W x)``) for a toy model; models of other
    families raise ``ValueError`` naming the field and value."""
    activation = getattr(model, "hidden_activation", "none")
    if activation not in HIDDEN_ACTIVATIONS:
        raise ValueError(
            f"SAEs read hidden activations h = W x or ReLU(W x); this toy model has "
            f"hidden_activation={activation!r} (supported: {', '.join(map(repr, HIDDEN_ACTIVATIONS))})"
        )
    if not getattr(model, "tied", True):
        raise ValueError(
            "SAEs are scored against the feature directions W[:, i] of tied toy models "
            "(x' = f(Wᵀh + b)); this toy model has tied=False (untied decoder), which is not "
            "supported"
        )
    return str(activation)


def feature_extras(features: FeatureConfig) -> dict[str, Any]:
    """The feature-distribution fields that differ from independent unit features (empty for
    those), to pass on to :func:`toysup.sample_features`."""
    extras = {
        name: getattr(features, name)
        for name, plain in _PLAIN_FEATURES.items()
        if getattr(features, name, plain) != plain
    }
    if extras and hasattr(features, "set_size"):
        extras["set_size"] = features.set_size
    return extras


def signed_features(features: FeatureConfig) -> bool:
    """Whether feature values take both signs (then ``−W_i`` is as much a feature direction as
    ``W_i``)."""
    return getattr(features, "values", "unit") == "signed"


class FeatureStream:
    """Batches ``x`` (rows, n, C) of fresh features, one density row per output row.

    ``method``: ``"dense"``, ``"sparse"`` (C = batch) or ``"compact"`` (only the examples with a
    non-zero feature: C ≤ batch explicit columns, the other :attr:`implicit` = batch − C examples
    all zero); all draw the same distribution (docs/training.md). ``seed`` names the stream.
    """

    def __init__(
        self,
        features: FeatureConfig,
        rows: np.ndarray,
        batch_size: int,
        *,
        seed: int,
        method: str,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        density = torch.as_tensor(features.density_array[rows], dtype=dtype, device=device)
        self.batch_size = batch_size
        self.extras = feature_extras(features)
        self.density = density
        self.dtype = dtype
        self.implicit = 0
        if self.extras:
            self.generator = torch.Generator(device=device)
            self.generator.manual_seed(seed)
            return
        samplers = {"dense": DenseSampler, "sparse": SparseSampler, "compact": CompactSampler}
        self.sampler = samplers[method](density, batch_size)
        self.source = uniform_source(seed, device)
        self.flat = torch.empty(density.numel() * batch_size + 1, dtype=dtype, device=device)

    def draw(self) -> Tensor:
        """The next batch, (rows, n, C) feature-major (a view of an internal buffer)."""
        if self.extras:
            return sample_features(
                self.density, self.batch_size, generator=self.generator, feature_major=True,
                dtype=self.dtype, **self.extras,
            )  # fmt: skip
        x = self.sampler.draw(self.flat, self.source)
        self.implicit = self.batch_size - x.shape[2]
        return x


#: The compact sampler is used when its expected width is at most this fraction of the batch.
COMPACT_FRACTION = 0.6


def choose_method(
    features: FeatureConfig,
    rows: np.ndarray,
    sampler: str,
    batch_size: int,
    device: torch.device,
) -> str:
    """The feature sampler for the instances with configurations ``rows``: the one asked for, or
    for ``"auto"``: on CPU the compact one when it keeps at most :data:`COMPACT_FRACTION` of the
    batch (low density: the all-zero examples cost one column), else the row-sparse one below a
    mean density of 5% (it draws a fraction of the uniforms), else the dense one; on an
    accelerator always the dense one (the others read counts on the host every step). The Gram
    sampler feeds a toy-model step and has no meaning here."""
    if sampler not in ("auto", "dense", "sparse", "compact"):
        raise ValueError(
            f"SAE training: training.sampler must be 'auto', 'dense', 'sparse' or 'compact', "
            f"got {sampler!r}"
        )
    if feature_extras(features):
        return "dense"
    if sampler != "auto" or len(rows) == 0:
        return sampler
    if device.type != "cpu":
        return "dense"
    density = features.density_array[rows]
    if CompactSampler.expected_width(density, batch_size) <= COMPACT_FRACTION * batch_size:
        return "compact"
    return "sparse" if float(np.mean(density)) < 0.05 else "dense"
