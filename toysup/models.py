"""Toy models batched over instances, one tied weight (paper §"Demonstrating Superposition").

- linear:       ``h = W x``,  ``x' = Wᵀ h + b``
- ReLU output:  ``h = W x``,  ``x' = ReLU(Wᵀ h + b)``

``W`` has shape ``(instances, n_hidden, n_features)`` (feature i's direction is ``W[..., :, i]``),
``b`` has shape ``(instances, n_features)``. :class:`ToyModel` is a plain ``nn.Module`` for users who
want autograd; the trainer uses the hand-derived gradients in :mod:`toysup.step` instead.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from toysup._validation import check_choice, check_int
from toysup.config import ACTIVATIONS, REDUCTIONS, ModelConfig


def xavier_std(n_features: int, n_hidden: int) -> float:
    """Xavier/Glorot normal std for one instance's ``W`` (fan-in n, fan-out m): ``sqrt(2/(n+m))``."""
    return math.sqrt(2.0 / (n_features + n_hidden))


def init_weights(
    config: ModelConfig,
    n_instances: int,
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Initial ``W`` of shape ``(n_instances, n_hidden, n_features)``.

    The scale uses each instance's own fan-in/fan-out, never the instance count (a pitfall of
    ``nn.init.xavier_normal_`` on a 3-D tensor, whose fans include the instance axis).
    Instance i's weights are the i-th slice of one draw, so they do not depend on how many
    instances follow it.
    """
    shape = (n_instances, config.n_hidden, config.n_features)
    if config.init == "xavier_normal":
        W = torch.randn(shape, generator=generator, dtype=dtype, device=generator.device)
        return W.mul_(config.init_scale * xavier_std(config.n_features, config.n_hidden))
    bound = config.init_scale * math.sqrt(6.0 / (config.n_features + config.n_hidden))
    W = torch.rand(shape, generator=generator, dtype=dtype, device=generator.device)
    return W.mul_(2 * bound).sub_(bound)


def _check_shapes(**tensors: Tensor) -> None:
    """W (I, m, n), b (I, n), x (I, B, n), importance (I, n): tensors with matching I and n."""
    expected = {"W": "(I, m, n)", "b": "(I, n)", "x": "(I, batch, n)", "importance": "(I, n)"}
    for name, t in tensors.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape {expected[name]}, got {t!r}")
    W = tensors["W"]
    if W.ndim != 3:
        raise ValueError(f"W must have shape (instances, m, n), got shape {tuple(W.shape)}")
    i, _, n = W.shape
    for name, t in tensors.items():
        ndim = 3 if name in ("W", "x") else 2
        if t.ndim != ndim or t.shape[0] != i or t.shape[-1] != n:
            raise ValueError(
                f"{name} must have shape {expected[name]} with I = {i} instances and n = {n} "
                f"features (W has shape {tuple(W.shape)}), got shape {tuple(t.shape)}"
            )


def reconstruct(W: Tensor, b: Tensor, x: Tensor, activation: str = "relu") -> Tensor:
    """``x'`` for ``x`` of shape ``(instances, batch, features)``; returns the same shape."""
    _check_shapes(W=W, b=b, x=x)
    check_choice("activation", activation, ACTIVATIONS)
    h = torch.einsum("imn,ibn->ibm", W, x)  # (instances, batch, hidden)
    out = torch.einsum("imn,ibm->ibn", W, h) + b[:, None, :]  # (instances, batch, features)
    return torch.relu(out) if activation == "relu" else out


def loss_per_instance(
    W: Tensor,
    b: Tensor,
    x: Tensor,
    importance: Tensor,
    activation: str = "relu",
    reduction: str = "sum",
) -> Tensor:
    """``L = mean_batch Σ_i I_i (x_i - x'_i)²`` per instance, shape ``(instances,)``.

    ``importance`` has shape ``(instances, features)``. ``reduction="mean"`` divides by the number
    of features (the reference notebook's convention).
    """
    _check_shapes(W=W, b=b, x=x, importance=importance)
    check_choice("reduction", reduction, REDUCTIONS)
    err = importance[:, None, :] * (x - reconstruct(W, b, x, activation)) ** 2
    loss = err.sum(-1).mean(-1)
    return loss / x.shape[-1] if reduction == "mean" else loss


class ToyModel(nn.Module):
    """A batch of toy models with parameters ``W`` (instances, m, n) and ``b`` (instances, n)."""

    def __init__(
        self,
        config: ModelConfig,
        n_instances: int,
        *,
        generator: torch.Generator,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if not isinstance(config, ModelConfig):
            raise TypeError(f"config must be a ModelConfig, got {config!r}")
        n_instances = check_int("n_instances", n_instances)
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {generator!r}")
        self.config = config
        self.W = nn.Parameter(init_weights(config, n_instances, generator=generator, dtype=dtype))
        self.b = nn.Parameter(torch.zeros(n_instances, config.n_features, dtype=dtype))

    def hidden(self, x: Tensor) -> Tensor:
        """``h = W x``: (instances, batch, features) -> (instances, batch, hidden)."""
        return torch.einsum("imn,ibn->ibm", self.W, x)

    def forward(self, x: Tensor) -> Tensor:
        """``x'``: (instances, batch, features) -> (instances, batch, features)."""
        return reconstruct(self.W, self.b, x, self.config.activation)
