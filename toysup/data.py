"""Sparse feature samplers, batched over instances (paper §"Demonstrating Superposition").

Each feature is ``x_i = 0`` with probability ``1 - p_i`` and ``Uniform[0, 1)`` otherwise,
independently per example, per feature and per instance. Three samplers draw exactly this
distribution at different costs (derivations and checks in docs/training.md):

- :class:`DenseSampler`: one uniform ``u`` per entry, ``x = u / p`` if ``u < p`` else 0
  (conditioned on ``u < p``, ``u / p`` is uniform on [0, 1)).
- :class:`SparseSampler`: along each (instance, feature) row only the non-zero entries are drawn:
  the gaps between them are Geometric(p), drawn by inversion ``floor(log(1 - u) / log(1 - p))``.
- :class:`CompactSampler`: only the *active* examples (at least one non-zero feature) are drawn.
  Their number is Binomial(B, q) with ``q = 1 - Π_i (1 - p_i)``; each one's first non-zero feature
  J is drawn by inversion of its conditional law, the features after J independently as in the
  dense sampler. The B - C remaining examples are all zero, and the trainer accounts for them in
  closed form (:mod:`toysup.step`). At low density and small n this skips most of the batch.

Samplers write into a flat buffer and return a contiguous view of shape ``(instances, features,
C)`` (feature-major), with ``C = B`` except for the compact sampler, whose C is the largest active
count in the block at this step.

:class:`FeatureSampler` draws every feature structure and both value ranges on top of these:
signed values are ``2v − 1`` of the unit values; correlated and anticorrelated sets draw one
activity per set with an independent sampler over the sets, then expand it (docs/training.md,
"Feature structure"). Uniforms come from a :class:`UniformSource`: numpy's PCG64 on CPU
(about 1.5x faster than torch's CPU generator, measured in bench/bench_sampler.py) or a
``torch.Generator`` (CUDA, and the public :func:`sample_features`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from toysup._validation import as_numbers, check_choice, check_int, check_matrix, check_memory
from toysup.config import FeatureConfig


class UniformSource(Protocol):
    """Where uniforms on [0, 1) come from."""

    def fill(self, out: Tensor) -> Tensor: ...

    def binomial(self, trials: int, prob: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]: ...


class NumpyUniforms:
    """numpy ``Generator`` (PCG64) filling CPU tensors in place (releases the GIL)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def fill(self, out: Tensor) -> Tensor:
        self.rng.random(out=out.numpy(), dtype=out.numpy().dtype)
        return out

    def binomial(self, trials: int, prob: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return self.rng.binomial(trials, prob)


class TorchUniforms:
    """A ``torch.Generator`` (any device)."""

    def __init__(self, generator: torch.Generator) -> None:
        self.generator = generator

    def fill(self, out: Tensor) -> Tensor:
        return out.uniform_(generator=self.generator)

    def binomial(self, trials: int, prob: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        p = torch.as_tensor(prob, dtype=torch.float64, device=self.generator.device)
        n = torch.full_like(p, float(trials))
        return torch.binomial(n, p, generator=self.generator).cpu().numpy().astype(np.int64)


def _view(flat: Tensor, *shape: int) -> Tensor:
    return flat[: math.prod(shape)].view(*shape)


def _dense_trick_(u: Tensor, neg_inv_density: Tensor) -> Tensor:
    """In place: ``u -> u / p`` where ``u < p``, else +0."""
    u.mul_(neg_inv_density)  # t = -u/p
    # Keep t where t > -1 (u < p), else -0; the sign flip gives x = u/p or +0. (threshold_ is
    # several times faster than masked_fill_ or where on CPU.)
    F.threshold_(u, -1.0, -0.0)  # type: ignore[attr-defined]
    return u.neg_()


class DenseSampler:
    """One uniform per entry. ``density``: shape ``(instances, features)``. ``signed=True`` draws
    values uniform on [−1, 1) instead of [0, 1): ``2u/p − 1`` where ``u < p``."""

    def __init__(self, density: Tensor, batch_size: int, *, signed: bool = False) -> None:
        self.shape = (*density.shape, batch_size)
        self.signed = signed
        scale = -2.0 if signed else -1.0
        self.neg_inv_density = (scale / density.to(torch.float64)).to(density.dtype)[:, :, None]

    def draw(self, flat: Tensor, source: UniformSource) -> Tensor:
        """Fill the start of ``flat`` and return it as (instances, features, batch)."""
        x = source.fill(_view(flat, *self.shape))
        if not self.signed:
            return _dense_trick_(x, self.neg_inv_density)
        x.mul_(self.neg_inv_density)  # t = -2u/p, in (-2/p, 0]; u < p iff t > -2
        F.threshold_(x, -2.0, -1.0)  # type: ignore[attr-defined]  # t kept, or -1 if u >= p
        return x.add_(1.0).neg_()  # -(t + 1) = 2u/p - 1 where u < p, else 0


@dataclass(frozen=True)
class SparseBatch:
    """A batch as its non-zero entries: entry k is ``x[row // n, row % n, example] = value`` in the
    (instances, features, batch) layout (``row = instance * n + feature``), all other entries 0."""

    instances: int
    features: int
    batch_size: int
    rows: Tensor  # (nnz,) int64
    examples: Tensor  # (nnz,) int64
    values: Tensor  # (nnz,)

    def in_row_order(self) -> SparseBatch:
        """The same entries sorted by (row, example)."""
        order = torch.argsort(self.rows * self.batch_size + self.examples)
        return replace(
            self, rows=self.rows[order], examples=self.examples[order], values=self.values[order]
        )

    def to_dense(self) -> Tensor:
        """x as a dense (instances, features, batch) tensor."""
        x = self.values.new_zeros(self.instances * self.features * self.batch_size)
        x[self.rows * self.batch_size + self.examples] = self.values
        return x.view(self.instances, self.features, self.batch_size)


class SparseSampler:
    """Draw only the non-zero entries, row by row ((instance, feature) rows of length ``batch``).

    Each row gets a budget of gap draws (``sigmas`` standard deviations plus ``slack`` above the
    mean number of non-zeros). Gaps that overshoot the batch are clamped to it, so positions never
    overflow. If a row's budget ends inside the batch (rare), more gaps are drawn for that row,
    continuing from its last position: the distribution is exact whatever the budget.
    """

    def __init__(
        self, density: Tensor, batch_size: int, *, sigmas: float = 4.0, slack: float = 4.0
    ) -> None:
        self.batch_size = batch_size
        self.shape = (*density.shape, batch_size)
        device = density.device
        p = density.detach().to("cpu", torch.float64).reshape(-1)
        mean = batch_size * p
        budget = torch.ceil(mean + sigmas * torch.sqrt(mean * (1 - p)) + slack).to(torch.int64)
        budget = torch.clamp(budget, min=1, max=batch_size + 1)
        rows = torch.arange(p.numel(), dtype=torch.int64)
        slot_row = torch.repeat_interleave(rows, budget)
        first = torch.cumsum(budget, 0) - budget  # each row's first slot
        log_q = torch.log1p(-p).to(density.dtype)  # log(1 - p); -inf for p = 1 (gaps of 0)
        self.budget = budget.to(device)
        self.log_q = log_q.to(device)
        self.slot_row = slot_row.to(device)
        self.slot_log_q = log_q[slot_row].to(device)
        # flat index of the example before the row's first: row * B - 1
        self.slot_offset = (slot_row * batch_size - 1).to(device)
        self.row_first_slot = first.to(device)
        self.row_last_slot = (first + budget - 1).to(device)
        self.n_slots = int(budget.sum())

    def draw(self, flat: Tensor, source: UniformSource) -> Tensor:
        """Fill the start of ``flat`` and return it as (instances, features, batch). ``flat`` needs
        one element more than the batch (a spare for out-of-batch writes)."""
        if flat.numel() <= math.prod(self.shape):
            raise ValueError(
                f"the sparse sampler needs a buffer of more than {math.prod(self.shape)} "
                f"elements (the batch plus a spare), got {flat.numel()}"
            )
        x = _view(flat, *self.shape)
        x.zero_()
        # slots past the batch write to the buffer's last element, a spare one outside the batch
        # (``scatter_`` is several times faster than ``index_put_`` on CPU)
        trash = flat.new_full((), flat.numel() - 1, dtype=torch.int64)
        for _, offset, positions, values in self._rounds(source, flat.dtype):
            flat.scatter_(
                0, torch.where(positions <= self.batch_size, offset + positions, trash), values
            )
        return x

    def draw_entries(self, source: UniformSource) -> SparseBatch:
        """The same draw as :meth:`draw` (same random numbers, same batch), as its non-zero entries
        in row order: row-major over (instance, feature), ascending example within a row."""
        rows, examples, values = [], [], []
        for slot_row, _, positions, slot_values in self._rounds(source, self.log_q.dtype):
            keep = torch.nonzero(positions <= self.batch_size).reshape(-1)
            rows.append(slot_row[keep])
            examples.append(positions[keep] - 1)
            values.append(slot_values[keep])
        instances, features, _ = self.shape
        batch = SparseBatch(
            instances, features, self.batch_size,
            torch.cat(rows), torch.cat(examples), torch.cat(values),
        )  # fmt: skip
        return batch if len(rows) == 1 else batch.in_row_order()

    def _rounds(
        self, source: UniformSource, dtype: torch.dtype
    ) -> Iterator[tuple[Tensor, Tensor, Tensor, Tensor]]:
        """Yield ``(slot_row, offset, positions, values)`` per round of gap draws: every row's
        budget first, then more budgets for the rows whose budget ended inside the batch, from
        their last position. ``positions`` are 1-based (``> batch``: discard), ``offset`` is each
        slot's row start minus one in the flat (instances, features, batch) layout."""
        positions = self._positions(dtype, source, self.slot_log_q, self.row_first_slot)
        yield self.slot_row, self.slot_offset, positions, self._values(positions, dtype, source)
        last = positions[self.row_last_slot].clamp_(max=self.batch_size)
        short = torch.nonzero(last < self.batch_size).reshape(-1)
        while short.numel() > 0:  # rows whose budget ended inside the batch (rare)
            budget = self.budget[short]
            slot_row = torch.repeat_interleave(short, budget)
            first = torch.cumsum(budget, 0) - budget
            positions = self._positions(dtype, source, self.log_q[slot_row], first)
            positions += torch.repeat_interleave(last[short], budget)
            values = self._values(positions, dtype, source)
            yield slot_row, slot_row * self.batch_size - 1, positions, values
            last = positions[first + budget - 1].clamp_(max=self.batch_size)
            keep = last < self.batch_size
            short, last = short[keep], last[keep]

    @staticmethod
    def _values(positions: Tensor, dtype: torch.dtype, source: UniformSource) -> Tensor:
        return source.fill(torch.empty(positions.shape, dtype=dtype, device=positions.device))

    def _positions(
        self, dtype: torch.dtype, source: UniformSource, slot_log_q: Tensor, first: Tensor
    ) -> Tensor:
        """1-based positions within each row of the successive non-zero entries."""
        u = source.fill(torch.empty(slot_log_q.shape, dtype=dtype, device=slot_log_q.device))
        gaps = torch.log1p(u.neg_()).div_(slot_log_q).floor_()  # zeros before the next non-zero
        steps = gaps.clamp_(max=self.batch_size).to(torch.int64).add_(1)
        positions = torch.cumsum(steps, 0)
        base = positions[first] - steps[first]  # cumulative count before each row
        counts = torch.diff(first, append=first.new_tensor([slot_log_q.numel()]))
        return positions - torch.repeat_interleave(base, counts)


class CompactSampler:
    """Draw only the active examples of each instance (see the module docstring).

    ``density`` (instances, features). :meth:`draw` returns x of shape (instances, features, C);
    instance i's examples beyond its active count are zero, and ``B - C`` further all-zero
    examples are implied.
    """

    def __init__(self, density: Tensor, batch_size: int) -> None:
        p = density.detach().to("cpu", torch.float64)
        self.batch_size = batch_size
        self.n_features = p.shape[1]
        survive = torch.cumprod(1 - p, dim=1)  # P(features 0..j all zero)
        self.active_prob = (1 - survive[:, -1]).numpy()  # q = P(example active)
        q = torch.as_tensor(self.active_prob)[:, None]
        # CDF of the first non-zero feature J given an active example, padded with 0 in front.
        cdf = torch.where(q > 0, (1 - survive) / torch.where(q > 0, q, 1.0), 1.0)
        cdf[:, -1] = 1.0
        cdf = torch.cat([torch.zeros(p.shape[0], 1, dtype=torch.float64), cdf], dim=1)
        # t_f = (u0 - cdf_f) / (cdf_{f+1} - cdf_f) is in [0, 1) for f = J (and is then J's value,
        # uniform given J), negative for f > J and >= 1 for f < J. Empty intervals get a huge
        # slope so that no u0 lands inside them.
        width = cdf[:, 1:] - cdf[:, :-1]
        slope = torch.where(width > 0, 1 / torch.where(width > 0, width, 1.0), 1e30)
        dtype, device = density.dtype, density.device
        self.slope = slope.to(device, dtype)[:, :, None]  # (instances, n, 1)
        self.offset = (-cdf[:, :-1] * slope).to(device, dtype)[:, :, None]
        self.neg_inv_density = (-1.0 / p).to(device, dtype)[:, :, None]

    @staticmethod
    def expected_widths(density: np.ndarray[Any, Any], batch_size: int) -> np.ndarray[Any, Any]:
        """Per instance (rows of ``density``), the active examples of a batch, mean + 3 sd
        (at most the batch): ``B q + 3 √(B q (1 − q)) + 1`` with ``q = 1 − Π_i (1 − p_i)``."""
        q = 1 - np.prod(1 - np.asarray(density, dtype=np.float64), axis=1)
        return np.minimum(batch_size, batch_size * q + 3 * np.sqrt(batch_size * q * (1 - q)) + 1)

    @staticmethod
    def expected_width(density: np.ndarray[Any, Any], batch_size: int) -> float:
        """A deterministic estimate of C for a block: max over instances of mean + 3 sd."""
        return float(np.max(CompactSampler.expected_widths(density, batch_size)))

    def draw(self, flat: Tensor, source: UniformSource) -> Tensor:
        """Fill the start of ``flat``; return x (instances, features, C)."""
        active = torch.as_tensor(source.binomial(self.batch_size, self.active_prob))
        width = max(int(active.max()), 1)
        instances = self.slope.shape[0]
        x = source.fill(_view(flat, instances, self.n_features, width))
        u0 = x[:, 0:1, :]  # picks J and, within its interval, J's value
        # slots past an instance's active count get u0 >= 2, so every t_f >= 1: all features 0
        slots = torch.arange(width, dtype=x.dtype, device=x.device)
        beyond = slots[None, :] - active.to(x.device, x.dtype)[:, None] + 0.5  # > 0: inactive
        u0.add_(_step(beyond).mul_(2.0)[:, None, :])
        t = torch.addcmul(self.offset, u0, self.slope)  # (I, n, C), see __init__
        _dense_trick_(x, self.neg_inv_density)  # independent features, as the dense sampler
        x.mul_(_step(t.neg()))  # ... kept only after J (t < 0)
        # add J's value: -t kept where -1 < -t (t < 1), then clamped to <= 0 (drops t < 0)
        F.threshold_(t.neg_(), -1.0, 0.0)  # type: ignore[attr-defined]
        x.sub_(t.clamp_(max=0.0))
        return x


#: 2⁻¹⁰⁰: below any positive gap the samplers produce (uniforms are multiples of 2⁻²⁴ and the
#: CDF values float32 numbers of magnitude > 1e-30), above float32's smallest normal number.
_TINY = 2.0**-100


def _step(v: Tensor) -> Tensor:
    """``[v > 0]`` as 0.0/1.0 floats, exactly, for the values the samplers produce: a clamp and a
    power-of-two scaling (boolean masks are several times slower on CPU). Overwrites ``v``."""
    return v.clamp_(0.0, _TINY).mul_(1.0 / _TINY)


class FeatureSampler:
    """Any structure and value range, over an inner dense, row-sparse or compact sampler of sets.

    ``density`` (instances, n) and ``set_density`` (instances, n / set_size), as
    :attr:`toysup.config.FeatureConfig.set_density_array` (the feature densities when
    independent). The inner sampler draws one "set value" ``y`` per set and example: 0 when the
    set is inactive, else uniform on [0, 1). Then:

    - independent: x = y (the inner sampler draws the features themselves, into ``flat``);
    - correlated: ``x_i = v_i [y_set > 0]`` with fresh uniforms ``v``;
    - anticorrelated: the set's member J and its value come from ``y`` by inversion, as in the
      compact sampler: with ``F_j = Σ_{i≤j} p_i / q`` (q the set's density), J is the j with
      ``F_{j−1} ≤ y < F_j`` and ``(y − F_{J−1}) / (F_J − F_{J−1})`` is J's value, uniform on
      [0, 1) and independent of J;
    - signed values: each active ``x_i ∈ [0, 1)`` becomes ``2 x_i − 1``.

    :meth:`draw` returns x of shape (instances, n, C) like the inner sampler (C < B only for the
    compact kind, the other ``B − C`` examples being all zero).
    """

    def __init__(
        self,
        kind: str,
        density: Tensor,
        set_density: Tensor,
        batch_size: int,
        *,
        structure: str = "independent",
        values: str = "unit",
    ) -> None:
        check_choice("kind", kind, ("dense", "sparse", "compact"))
        instances, n = density.shape
        sets = set_density.shape[1]
        self.structure, self.signed = structure, values == "signed"
        self.shape = (instances, n, batch_size)
        self.set_size = n // sets
        self.inner: DenseSampler | SparseSampler | CompactSampler
        if kind == "dense":  # independent signed values drawn in one pass (DenseSampler)
            signed = self.signed and structure == "independent"
            self.inner = DenseSampler(set_density, batch_size, signed=signed)
        else:
            self.inner = (SparseSampler if kind == "sparse" else CompactSampler)(
                set_density, batch_size
            )
        self.set_flat = (
            None
            if structure == "independent"
            else torch.empty(
                instances * sets * batch_size + 1, dtype=density.dtype, device=density.device
            )
        )
        if structure == "anticorrelated":
            p = density.detach().to(torch.float64).reshape(instances, sets, self.set_size)
            q = p.sum(2, keepdim=True)
            before = (torch.cumsum(p, 2) - p) / q  # F_{j-1}
            slope = q / p  # 1 / (F_j - F_{j-1})
            self.slope = slope.reshape(instances, n, 1).to(density.dtype)
            self.offset = (-before * slope).reshape(instances, n, 1).to(density.dtype)

    def draw(self, flat: Tensor, source: UniformSource) -> Tensor:
        """Fill the start of ``flat`` (at least instances·n·B + 1 elements); return x (I, n, C)."""
        if self.set_flat is None:
            x = self.inner.draw(flat, source)
            signed_here = self.signed and not isinstance(self.inner, DenseSampler)
            return _signed_(x) if signed_here else x
        y = self.inner.draw(self.set_flat, source)  # (I, sets, C)
        instances, n, _ = self.shape
        width = y.shape[2]
        x = _view(flat, instances, n, width)
        # the set's activity per feature as 0/1 floats: sign(y), y >= 0     (I, n, C)
        active = torch.sign(y)[:, :, None, :].expand(-1, -1, self.set_size, -1).reshape(x.shape)
        if self.structure == "correlated":
            source.fill(x)
        else:  # anticorrelated: t_j = (y - F_{j-1}) / (F_j - F_{j-1}), kept where in [0, 1)
            y_of_feature = y[:, :, None, :].expand(-1, -1, self.set_size, -1).reshape(x.shape)
            torch.addcmul(self.offset, y_of_feature, self.slope, out=x)
            active = active * ((x >= 0) & (x < 1))
        if self.signed:
            x.mul_(2.0).sub_(1.0)
        return x.mul_(active)

    def draw_entries(self, source: UniformSource) -> SparseBatch:
        """Independent features over the row-sparse sampler only: the batch :meth:`draw` would
        give (same random numbers), as its non-zero entries in row order
        (:meth:`SparseSampler.draw_entries`), signed values made ``2v − 1`` as in :func:`_signed_`.
        """
        if self.set_flat is not None or not isinstance(self.inner, SparseSampler):
            raise ValueError(
                "draw_entries needs independent features and the 'sparse' kind, got structure "
                f"{self.structure!r} and kind {type(self.inner).__name__}"
            )
        batch = self.inner.draw_entries(source)
        if self.signed:
            _signed_(batch.values)
        return batch


def _signed_(x: Tensor) -> Tensor:
    """In place: every non-zero entry v of ``x`` (uniform on [0, 1)) becomes ``2v − 1``, as
    ``2x − sign(x)`` (sign(x) is 1 on the non-zero entries, 0 elsewhere)."""
    return x.mul_(2.0).sub_(torch.sign(x))


def sample_features(
    density: Any,
    batch_size: int,
    *,
    generator: torch.Generator | int,
    method: str = "dense",
    feature_major: bool = False,
    dtype: torch.dtype = torch.float32,
    values: str = "unit",
    structure: str = "independent",
    set_size: int = 2,
) -> Tensor:
    """Draw a batch of sparse features.

    Args:
        density: feature densities ``p = 1 - S``, shape ``(instances, features)`` (array or tensor).
        batch_size: examples per instance.
        generator: the ``torch.Generator`` to draw from (its device decides the output's device),
            or an integer seed ``>= 0`` for a fresh CPU generator (``torch.Generator().manual_seed``:
            the same seed gives the same batch).
        method: ``"dense"`` or ``"sparse"`` (same distribution, different cost).
        feature_major: return ``(instances, features, batch)`` instead of
            ``(instances, batch, features)``.
        dtype: ``torch.float32`` or ``torch.float64``.
        values: ``"unit"`` (non-zero values ``Uniform[0, 1]``) or ``"signed"``
            (``Uniform[-1, 1]``), as in :class:`toysup.config.FeatureConfig`.
        structure: ``"independent"``, ``"correlated"`` or ``"anticorrelated"`` sets of
            ``set_size`` consecutive features (:class:`FeatureSampler`).
        set_size: features per set (must divide the number of features when structured).

    Returns:
        ``x`` of shape ``(instances, batch, features)`` (or feature-major), dtype ``dtype``.
    """
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        seed = check_int("generator", generator, minimum=0)
        generator = torch.Generator().manual_seed(seed)
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or an integer seed >= 0, got {generator!r}"
        )
    batch_size = check_int("batch_size", batch_size)
    check_choice("method", method, ("dense", "sparse"))
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    if isinstance(density, Tensor):
        arr = density.detach().cpu().to(torch.float64)
    else:
        arr = torch.as_tensor(as_numbers("density", density, what="an array of densities"))
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise ValueError(
            "density must have shape (instances, features), both at least 1, got shape "
            f"{tuple(arr.shape)}"
        )
    check_matrix("density", arr.numpy(), (arr.shape[0], arr.shape[1]), kind="density")
    itemsize = 4 if dtype == torch.float32 else 8
    check_memory("batch_size", batch_size, 2.0 * itemsize * arr.numel() * batch_size, "the batch")
    dens = arr.to(device=generator.device, dtype=dtype)
    instances, features = dens.shape
    flat = torch.empty(instances * features * batch_size + 1, dtype=dtype, device=generator.device)
    if (values, structure) == ("unit", "independent"):
        sampler: DenseSampler | SparseSampler | FeatureSampler = (
            DenseSampler(dens, batch_size) if method == "dense" else SparseSampler(dens, batch_size)
        )
    else:
        sampler = _feature_sampler(method, arr, batch_size, values, structure, set_size, dens)
    out = sampler.draw(flat, TorchUniforms(generator))
    return out if feature_major else out.transpose(1, 2).contiguous()


def _feature_sampler(
    method: str,
    density: Tensor,
    batch_size: int,
    values: str,
    structure: str,
    set_size: int,
    like: Tensor,
) -> FeatureSampler:
    """A :class:`FeatureSampler` for :func:`sample_features`, the arguments validated by
    :class:`toysup.config.FeatureConfig` (float64 ``density`` (instances, features))."""
    config = FeatureConfig(
        n_features=density.shape[1], n_instances=density.shape[0], density=density.numpy(),
        values=values, structure=structure, set_size=set_size,
    )  # fmt: skip
    set_density = torch.as_tensor(config.set_density_array).to(like.device, like.dtype)
    return FeatureSampler(method, like, set_density, batch_size, structure=structure, values=values)


__all__ = [
    "CompactSampler",
    "DenseSampler",
    "FeatureSampler",
    "NumpyUniforms",
    "SparseBatch",
    "SparseSampler",
    "TorchUniforms",
    "UniformSource",
    "sample_features",
]
