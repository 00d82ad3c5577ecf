"""The training step through the Gram matrix ``G = WᵀW``, for batches given as their non-zero entries.

Same model, loss and gradients as :mod:`toysup.step`, computed differently. With ``x`` sparse
(nnz = p·n·B non-zero entries per instance), ``z = G x + b`` and the loss's gradient with respect to
``G``, ``M = (c ⊙ δ) xᵀ``, each cost n·nnz multiply-adds as gathers of rows of ``G`` and of ``δᵀ``
(``torch.nn.functional.embedding_bag``), and ``∂L/∂W = W (M + Mᵀ)`` (because ``∂G/∂W`` gives
both orders) costs m·n², as does ``G`` itself. The dense step's five products cost 5·m·n·B; at
n = 400, m = 30, B = 1024 the Gram step is cheaper below p ≈ 0.015 (bench/bench_kinds.py; the
cost model in :mod:`toysup._blocks` decides). Derivation in docs/training.md, "The Gram step".

The pre-activations and δ are kept example-major, ``(instances, B, n)``, so that both gathers read
and write contiguous rows of length n.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from toysup.data import SparseBatch

#: numpy's stable argsort is a radix sort for 16-bit keys: about 6x faster than torch.sort here.
_RADIX_KEYS = 1 << 16


class GramStep:
    """Buffers for one block of instances, and its gradients through ``G = WᵀW``."""

    def __init__(
        self,
        n_instances: int,
        n_features: int,
        n_hidden: int,
        batch_size: int,
        *,
        relu: bool,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        self.sizes = (n_instances, n_features, n_hidden)
        self.batch_size = batch_size
        self.relu = relu
        self.G = torch.empty(n_instances, n_features, n_features, dtype=dtype, device=device)
        self.z = torch.empty(n_instances, batch_size, n_features, dtype=dtype, device=device)
        self.delta = torch.empty_like(self.z)
        self.batch: SparseBatch | None = None
        self.flat_entries = torch.empty(0, dtype=torch.int64, device=device)

    def gradients(
        self, batch: SparseBatch, W: Tensor, b: Tensor, c: Tensor, grad_W: Tensor, grad_b: Tensor
    ) -> None:
        """Write ∂L/∂W (instances, m, n) and ∂L/∂b (instances, n) for ``batch`` (entries in row
        order, :meth:`toysup.data.SparseSampler.draw_entries`); ``c`` (instances, n) is ``2 I / B``
        (divided by n for the per-feature mean), as in :class:`toysup.step.TiedStep`."""
        instances, n, _ = self.sizes
        B = self.batch_size
        z, delta = self.z, self.delta
        instance = torch.div(batch.rows, n, rounding_mode="floor")
        example_row = instance * B + batch.examples  # row of z.view(I·B, n)
        self.flat_entries = example_row * n + (batch.rows - instance * n)  # index in z.view(-1)
        self.batch = batch

        torch.bmm(W.transpose(1, 2), W, out=self.G)  # G = WᵀW                    (I, n, n)
        order = _stable_order(example_row, instances * B)  # entries by example
        Gx = F.embedding_bag(
            batch.rows[order], self.G.view(instances * n, n),
            _offsets(example_row, instances * B), mode="sum",
            per_sample_weights=batch.values[order],
        )  # fmt: skip
        torch.add(Gx.view(instances, B, n), b[:, None, :], out=z)  # z = G x + b   (I, B, n)

        z_entries = z.view(-1)[self.flat_entries]
        delta_entries = z_entries - batch.values  # δ/c = (z - x)[z > 0]
        if self.relu:
            torch.clamp_min(z, 0.0, out=delta)
            delta_entries.mul_(z_entries > 0)
        else:
            delta.copy_(z)
        delta.view(-1).scatter_(0, self.flat_entries, delta_entries)
        torch.sum(delta, 1, out=grad_b)
        grad_b.mul_(c)

        Mt = F.embedding_bag(
            example_row,
            delta.view(instances * B, n),
            _offsets(batch.rows, instances * n),
            mode="sum",
            per_sample_weights=batch.values,
        ).view(instances, n, n)  # Mᵀ/c = x (δ/c)ᵀ                              (I, n, n)
        Mt.mul_(c[:, None, :])
        torch.bmm(W, Mt + Mt.transpose(1, 2), out=grad_W)  # ∂L/∂W = W (M + Mᵀ)

    def loss(self, importance: Tensor, b: Tensor) -> Tensor:
        """Per-instance loss ``Σ_i I_i mean_b (x - x')²`` of the last batch, shape (instances,).
        Call after :meth:`gradients`; ``b`` is unused (every example is explicit here)."""
        del b
        if self.batch is None:
            raise RuntimeError("GramStep.loss needs a batch: call gradients() first")
        out = torch.relu(self.z) if self.relu else self.z
        err = out.square().sum(1)  # as if x were 0 everywhere                      (I, n)
        at = out.view(-1)[self.flat_entries]  # then correct the non-zero entries
        fix = (at - self.batch.values).square_().sub_(at.square())
        err.view(-1).index_add_(0, self.batch.rows, fix)
        return (err * importance).sum(1) / self.batch_size


def _stable_order(keys: Tensor, n_keys: int) -> Tensor:
    """Indices that sort ``keys`` (values in [0, n_keys)) stably."""
    if keys.device.type == "cpu" and n_keys <= _RADIX_KEYS:
        order = np.argsort(keys.numpy().astype(np.uint16), kind="stable")
        return torch.from_numpy(order.astype(np.int64))
    return torch.sort(keys, stable=True).indices


def _offsets(sorted_keys: Tensor, n_bags: int) -> Tensor:
    """Start of each bag ``0 .. n_bags - 1`` in ``sorted_keys`` (the keys of contiguous bags)."""
    counts = torch.bincount(sorted_keys, minlength=n_bags)
    return torch.cumsum(counts, 0).sub_(counts)
