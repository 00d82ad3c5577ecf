"""Sparse feature samplers, batched over instances (paper §"Demonstrating Superposition").

Each feature is ``x_i = 0`` with probability ``1 - p_i`` and ``Uniform[0, 1)`` otherwise,
independently per example, per feature and per instance. Two samplers draw exactly this
distribution with different costs:

- :class:`DenseSampler` draws one uniform ``u`` per entry and sets ``x = u / p`` if ``u < p``
  else 0 (conditioned on ``u < p``, ``u / p`` is uniform on [0, 1)). Cost: one uniform per entry.
- :class:`SparseSampler` draws only the non-zero entries: along each (instance, feature) row the
  gaps between non-zero examples are Geometric(p), drawn by inversion
  ``G = floor(log(U) / log(1 - p))``; values are fresh uniforms. Cost: about two uniforms per
  *non-zero* entry, so it wins at low density.

Both are exact up to the float resolution of the uniforms (2⁻²⁴ in float32). Internally the
trainer uses the feature-major layout ``(instances, features, batch)``, which makes the batched
matrix products contiguous; :func:`sample_features` returns ``(instances, batch, features)`` unless
``feature_major=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from toysup._validation import check_choice, check_int, check_matrix

#: An instance whose mean feature density is below this is sampled sparsely by ``sampler="auto"``.
#: Chosen from bench/bench_sampler.py: the sparse sampler costs about 3-4 dense draws per non-zero.
SPARSE_DENSITY_THRESHOLD = 0.2


class DenseSampler:
    """One uniform per entry. ``density``: shape ``(instances, features)``."""

    def __init__(self, density: Tensor, batch_size: int) -> None:
        self.batch_size = batch_size
        self.neg_inv_density = (-1.0 / density.to(torch.float64)).to(density.dtype)[:, :, None]

    def sample_into(self, out: Tensor, generator: torch.Generator) -> Tensor:
        """Fill ``out`` (instances, features, batch) in place and return it."""
        out.uniform_(generator=generator)  # u ~ U[0, 1)
        out.mul_(self.neg_inv_density)  # t = -u/p
        # Keep t where t > -1 (u < p), else -0; the sign flip gives x = u/p or +0. (threshold_ is
        # several times faster than masked_fill_ or where on CPU.)
        F.threshold_(out, -1.0, -0.0)  # type: ignore[attr-defined]
        return out.neg_()


class SparseSampler:
    """Draw only the non-zero entries, row by row ((instance, feature) rows of length ``batch``).

    Each row gets a fixed budget of gap draws (``sigmas`` standard deviations plus ``slack`` above
    the mean number of non-zeros); in the rare case that a row's budget ends inside the batch, more
    gaps are drawn for that row, continuing from its last position, so the distribution stays exact
    whatever the budget (the budget only trades wasted draws against extra rounds).
    """

    def __init__(
        self, density: Tensor, batch_size: int, *, sigmas: float = 4.0, slack: float = 4.0
    ) -> None:
        self.batch_size = batch_size
        self.shape = tuple(density.shape)
        device = density.device
        p = density.detach().to("cpu", torch.float64).reshape(-1)
        mean = batch_size * p
        budget = torch.ceil(mean + sigmas * torch.sqrt(mean * (1 - p)) + slack).to(torch.int64)
        budget = torch.clamp(budget, min=1, max=batch_size + 1)
        rows = torch.arange(p.numel(), dtype=torch.int64)
        self.n_rows = p.numel()
        self.slot_row = torch.repeat_interleave(rows, budget).to(device)
        # log(1 - p) per slot; -inf for p = 1 (every gap is then 0).
        log_q = torch.log1p(-p).to(density.dtype)
        self.slot_log_q = log_q[self.slot_row.cpu()].to(device)
        first = torch.cumsum(budget, 0) - budget  # index of each row's first slot
        self.row_first_slot = first.to(device)
        self.row_last_slot = (first + budget - 1).to(device)
        self.budget = budget.to(device)
        self.log_q = log_q.to(device)

    def sample_into(self, out: Tensor, generator: torch.Generator) -> Tensor:
        """Fill ``out`` (instances, features, batch) in place and return it."""
        batch = self.batch_size
        flat = out.view(-1)
        flat.zero_()
        u = torch.empty(self.slot_row.shape, dtype=out.dtype, device=out.device)
        u.uniform_(generator=generator)
        # gap = number of zero examples before the next non-zero one: floor(log(1 - u) / log(1 - p))
        gaps = torch.floor(torch.log1p(u.neg_()).div_(self.slot_log_q)).to(torch.int64)
        positions = torch.cumsum(gaps.add_(1), 0)
        row_base = positions[self.row_first_slot] - gaps[self.row_first_slot]
        positions -= row_base[self.slot_row]  # 1-based position within the row
        self._scatter(flat, self.slot_row, positions, generator)
        # Rows whose budget ended inside the batch: continue drawing from their last position.
        last = positions[self.row_last_slot]
        short = torch.nonzero(last < batch).reshape(-1)
        while short.numel() > 0:
            last = self._extend(flat, short, last[short], generator)
            keep = last < batch
            short, last = short[keep], last[keep]
        return out

    def _scatter(
        self, flat: Tensor, rows: Tensor, positions: Tensor, generator: torch.Generator
    ) -> None:
        inside = positions <= self.batch_size
        index = rows[inside] * self.batch_size + positions[inside] - 1
        values = torch.empty(index.shape, dtype=flat.dtype, device=flat.device)
        values.uniform_(generator=generator)
        flat[index] = values

    def _extend(
        self, flat: Tensor, rows: Tensor, start: Tensor, generator: torch.Generator
    ) -> Tensor:
        """Draw one more budget of gaps for ``rows`` starting after position ``start``; return the
        new last positions."""
        budget = self.budget[rows]
        slot_row = torch.repeat_interleave(rows, budget)
        u = torch.empty(slot_row.shape, dtype=flat.dtype, device=flat.device)
        u.uniform_(generator=generator)
        gaps = torch.floor(torch.log1p(u.neg_()).div_(self.log_q[slot_row])).to(torch.int64)
        steps = gaps.add_(1)
        first = torch.cumsum(budget, 0) - budget
        positions = torch.cumsum(steps, 0)
        base = positions[first] - steps[first]
        positions -= torch.repeat_interleave(base - start, budget)
        self._scatter(flat, slot_row, positions, generator)
        return positions[first + budget - 1]


def make_sampler(density: Tensor, batch_size: int, method: str) -> DenseSampler | SparseSampler:
    """``method``: ``"dense"`` or ``"sparse"``."""
    if method == "dense":
        return DenseSampler(density, batch_size)
    if method == "sparse":
        return SparseSampler(density, batch_size)
    raise ValueError(f"sampler method must be 'dense' or 'sparse'; got {method!r}")


def choose_method(density: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Per instance, the cheaper sampler for ``density`` (instances, features): True = sparse."""
    return np.asarray(density).mean(axis=-1) < SPARSE_DENSITY_THRESHOLD


def sample_features(
    density: Any,
    batch_size: int,
    *,
    generator: torch.Generator,
    method: str = "dense",
    feature_major: bool = False,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Draw a batch of sparse features.

    Args:
        density: feature densities ``p = 1 - S``, shape ``(instances, features)`` (array or tensor).
        batch_size: examples per instance.
        generator: the ``torch.Generator`` to draw from (its device decides the output's device).
        method: ``"dense"`` or ``"sparse"`` (same distribution, different cost).
        feature_major: return ``(instances, features, batch)`` instead of
            ``(instances, batch, features)``.

    Returns:
        ``x`` of shape ``(instances, batch, features)`` (or feature-major), dtype ``dtype``.
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    batch_size = check_int("batch_size", batch_size)
    check_choice("method", method, ("dense", "sparse"))
    if isinstance(density, Tensor):
        arr = density.detach().cpu().to(torch.float64)
    else:
        arr = torch.as_tensor(np.asarray(density, dtype=np.float64))
    if arr.ndim != 2:
        raise ValueError(
            f"density must have shape (instances, features), got shape {tuple(arr.shape)}"
        )
    check_matrix("density", arr.numpy(), tuple(arr.shape), kind="density")  # type: ignore[arg-type]
    dens = arr.to(device=generator.device, dtype=dtype)
    instances, features = dens.shape
    out = torch.empty((instances, features, batch_size), dtype=dtype, device=generator.device)
    make_sampler(dens, batch_size, method).sample_into(out, generator)
    return out if feature_major else out.transpose(1, 2).contiguous()


__all__ = [
    "SPARSE_DENSITY_THRESHOLD",
    "DenseSampler",
    "SparseSampler",
    "choose_method",
    "make_sampler",
    "sample_features",
]
