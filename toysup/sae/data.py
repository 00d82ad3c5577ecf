"""The toy model's own activations, fresh every step: features from its distribution, then
``h = W x`` (or ``ReLU(W x)``).

Features come from the trainer's exact samplers (:mod:`toysup.data`; numpy's PCG64 on CPU, a
torch ``Generator`` elsewhere), so SAEs see the distribution the toy model was trained on, with
no stored dataset: independent ``Uniform[0, 1]`` features, signed values and correlated or
anticorrelated sets alike (:class:`toysup.data.FeatureSampler`, docs/training.md, "Feature
structure and signed values").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from toysup._blocks import uniform_source
from toysup.config import FeatureConfig, ModelConfig
from toysup.data import CompactSampler, FeatureSampler
from toysup.sae.models import HIDDEN_ACTIVATIONS

#: Feature-distribution fields beyond density and importance, with the value meaning
#: "independent Uniform[0, 1] features".
_PLAIN_FEATURES = {"values": "unit", "structure": "independent"}


def hidden_activation(model: ModelConfig) -> str:
    """``"none"`` (``h = W x``) or ``"relu"`` (``h = ReLU(W x)``) for a toy model; a model of
    another family (an untied decoder) raises ``ValueError`` naming the field and value."""
    if not model.tied:
        raise ValueError(
            "SAEs are scored against the feature directions W[:, i] of tied toy models "
            "(x' = f(Wᵀh + b)); this toy model has tied=False (untied decoder), which is not "
            "supported"
        )
    return str(model.hidden_activation)  # one of HIDDEN_ACTIVATIONS (ModelConfig checks it)


def feature_extras(features: FeatureConfig) -> dict[str, Any]:
    """The feature-distribution fields that differ from independent unit features (empty for
    those), to pass on to :func:`toysup.sample_features`."""
    extras = {
        name: getattr(features, name)
        for name, plain in _PLAIN_FEATURES.items()
        if getattr(features, name) != plain
    }
    if extras:
        extras["set_size"] = features.set_size
    return extras


def signed_features(features: FeatureConfig) -> bool:
    """Whether feature values take both signs (then ``−W_i`` is as much a feature direction as
    ``W_i``)."""
    return features.values == "signed"


def set_density(features: FeatureConfig) -> np.ndarray:
    """(instances, sets): the probability that a set has an active feature (the feature
    densities themselves for independent features)."""
    return np.asarray(features.set_density_array, dtype=np.float64)


class FeatureStream:
    """Batches ``x`` (rows, n, C) of fresh features, one density row per output row.

    ``method``: ``"dense"``, ``"sparse"`` (C = batch) or ``"compact"`` (only the examples with an
    active feature, or set: C ≤ batch explicit columns, the other :attr:`implicit` = batch − C
    examples all zero); all draw the same distribution (docs/training.md, "Samplers"), whatever
    the values and set structure. ``seed`` names the stream.
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
        def per_row(a: np.ndarray) -> Tensor:
            return torch.as_tensor(a[rows], dtype=dtype, device=device)

        density = per_row(features.density_array)
        self.batch_size = batch_size
        self.implicit = 0
        self.sampler = FeatureSampler(
            method, density, per_row(set_density(features)), batch_size,
            structure=features.structure, values=features.values,
        )  # fmt: skip
        self.source = uniform_source(seed, device)
        self.flat = torch.empty(density.numel() * batch_size + 1, dtype=dtype, device=device)

    def draw(self) -> Tensor:
        """The next batch, (rows, n, C) feature-major (a view of an internal buffer)."""
        x = self.sampler.draw(self.flat, self.source)
        self.implicit = self.batch_size - x.shape[2]
        return x


class HiddenStream:
    """The SAE's input: batches ``h = W x`` (or ``ReLU(W x)``) of shape (rows, m, C) from a
    :class:`FeatureStream` and the toy weights ``W`` (rows, m, n) of each row; :attr:`x` is the
    batch of features they came from and :attr:`implicit` the all-zero examples left out (whose
    ``h`` is 0 for either activation)."""

    def __init__(self, features: FeatureStream, W: Tensor, activation: str) -> None:
        if activation not in HIDDEN_ACTIVATIONS:
            raise ValueError(f"activation must be one of {HIDDEN_ACTIVATIONS}, got {activation!r}")
        self.features, self.W, self.activation = features, W, activation
        rows, m = W.shape[0], W.shape[1]
        self.buffer = torch.empty(rows * m * features.batch_size, dtype=W.dtype, device=W.device)
        self.x = torch.empty(0, dtype=W.dtype, device=W.device)

    @property
    def implicit(self) -> int:
        return self.features.implicit

    def draw(self) -> Tensor:
        """The next batch h (rows, m, C) (a view of an internal buffer)."""
        self.x = x = self.features.draw()  # (rows, n, C)
        rows, m, width = x.shape[0], self.W.shape[1], x.shape[2]
        h = self.buffer[: rows * m * width].view(rows, m, width)
        torch.bmm(self.W, x, out=h)  # h = W x
        if self.activation == "relu":
            h.clamp_(min=0.0)  # h = ReLU(W x): the privileged-basis model
        return h


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
    accelerator always the dense one (the others read counts on the host every step). Structured
    features decide by their sets' densities (the samplers draw sets). The Gram sampler feeds a
    toy-model step and has no meaning here."""
    if sampler not in ("auto", "dense", "sparse", "compact"):
        raise ValueError(
            f"SAE training: training.sampler must be 'auto', 'dense', 'sparse' or 'compact', "
            f"got {sampler!r}"
        )
    if sampler != "auto" or len(rows) == 0:
        return sampler
    if device.type != "cpu":
        return "dense"
    density = set_density(features)[rows]
    if CompactSampler.expected_width(density, batch_size) <= COMPACT_FRACTION * batch_size:
        return "compact"
    return "sparse" if float(np.mean(density)) < 0.05 else "dense"
