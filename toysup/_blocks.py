"""Cutting the instances into blocks, and each block's state.

A block is a run of whole configurations (all seeds of a configuration stay together, so they can
be evaluated on the same examples) trained with its own random stream, sampler, buffers and
optimiser state. Blocks are a deterministic function of the configurations and the problem size,
never of the machine, so results do not depend on how many workers train them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from toysup.config import FeatureConfig, ModelConfig, TrainConfig
from toysup.data import (
    CompactSampler,
    DenseSampler,
    FeatureSampler,
    NumpyUniforms,
    SparseBatch,
    SparseSampler,
    TorchUniforms,
    UniformSource,
)
from toysup.optim import Adam
from toysup.step import TiedStep
from toysup.step_general import Family, GeneralStep
from toysup.step_general_sparse import GeneralSparseStep
from toysup.step_gram import GramStep

#: Target number of explicit feature entries (instances × features × examples) per CPU block:
#: small enough to stay in cache and to give every core work, large enough that per-operation
#: overhead (~10 µs) stays small. Chosen with bench/bench_trainer.py.
BLOCK_ELEMENTS = 1 << 18

Sampler = DenseSampler | SparseSampler | CompactSampler | FeatureSampler


def derive_seed(seed: int, *keys: int) -> int:
    """A 64-bit seed for the stream named by ``keys`` under ``seed`` (numpy SeedSequence)."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1, np.uint64)[0])


def uniform_source(seed: int, device: torch.device) -> UniformSource:
    """numpy PCG64 on CPU (faster), a torch Generator elsewhere."""
    if device.type == "cpu":
        return NumpyUniforms(seed)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return TorchUniforms(gen)


def activity(density: np.ndarray) -> np.ndarray:
    """P(an example has at least one non-zero feature): ``1 - Π_i (1 - p_i)``, per row."""
    return 1 - np.prod(1 - density, axis=-1)


def plan_blocks(
    features: FeatureConfig,
    training: TrainConfig,
    n_features: int,
    n_hidden: int,
    device: torch.device,
    *,
    path: str = "fast",
) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """Order the configurations and cut them into blocks.

    1. Each configuration gets the cheapest sampler (:func:`choose_sampler`); configurations
       are ordered by sampler, then by activity, so that blocks are homogeneous.
    2. A sampler group too small to be worth its own per-operation overhead (under half a block)
       joins the next group.
    3. Each group is cut into the fewest blocks of at most about :data:`BLOCK_ELEMENTS` explicit
       entries, of equal work, so that workers finish together.

    Returns ``order`` (configuration indices) and, per block, ``(first, stop, sampler kind)`` as
    positions in ``order``; a block's sampler is chosen again for the block as a whole.

    On the general path (``path="general"``) the samplers draw sets (:attr:`toysup.config.
    FeatureConfig.set_density_array`, the features themselves when independent) and the cost
    model is :func:`general_sampler_costs`; a block's explicit entries are still its n features
    times its examples.
    """
    n_configs, n_seeds, batch = features.n_instances, training.n_seeds, training.batch_size
    if device.type != "cpu":
        kind = "dense" if training.sampler == "auto" else training.sampler
        return np.arange(n_configs), [(0, n_configs, kind)]
    if path == "fast":
        density = features.density_array

        def choose(d: np.ndarray) -> str:
            return choose_sampler(d, training, n_hidden)

    else:
        density = features.set_density_array

        def choose(d: np.ndarray) -> str:
            return choose_general_sampler(d, n_features, training, n_hidden)

    kinds = [choose(density[c : c + 1]) for c in range(n_configs)]
    rank = np.array([_KINDS.index(k) for k in kinds])
    order = np.lexsort((activity(density), rank))
    width = np.array([CompactSampler.expected_width(density[c : c + 1], batch) for c in order])
    cost = n_seeds * n_features * np.where(np.array(kinds)[order] == "compact", width, batch)

    groups: list[tuple[int, int]] = []  # runs of one sampler kind, small ones merged forward
    start = 0
    for i in range(1, n_configs + 1):
        boundary = i == n_configs or kinds[order[i]] != kinds[order[i - 1]]
        if boundary and (cost[start:i].sum() >= BLOCK_ELEMENTS / 2 or i == n_configs):
            groups.append((start, i))
            start = i
    bounds = [block for a, b in groups for block in _equal_cuts(cost, a, b)]
    return order, [(a, b, choose(density[order[a:b]])) for a, b in bounds]


def _equal_cuts(cost: np.ndarray, start: int, stop: int) -> list[tuple[int, int]]:
    """Cut ``[start, stop)`` into the fewest blocks of work <= BLOCK_ELEMENTS, balanced.

    A block's work is its size times the cost of its last configuration (costs do not decrease
    within a group: a compact block is as wide as its most active configuration). The greedy cut
    at the cap BLOCK_ELEMENTS gives the fewest blocks k; the smallest cap that still gives k blocks
    (bisection) balances them. A single configuration may exceed the cap.
    """

    def greedy(cap: float) -> list[tuple[int, int]]:
        cuts, first = [], start
        for i in range(start + 1, stop + 1):
            if i == stop or (i + 1 - first) * cost[i] > cap:
                cuts.append((first, i))
                first = i
        return cuts

    fewest = greedy(BLOCK_ELEMENTS)
    low, high = float(cost[start:stop].max()), float(BLOCK_ELEMENTS)
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (low, mid) if len(greedy(mid)) <= len(fewest) else (mid, high)
    return greedy(high) if high < BLOCK_ELEMENTS else fewest


#: The kinds in the order of the densities they suit (configurations are grouped in this order).
_KINDS = ("compact", "gram", "sparse", "dense")


#: Cost model of one step per explicit entry, in ns, measured with bench/bench_sampler.py and
#: bench/bench_trainer.py on the development machine (2 AVX2 cores). Only the ranking matters.
_DRAW_NS = {"dense": 2.7, "sparse": 0.3, "compact": 5.0}  # per explicit entry (sparse: zero fill)
_SPARSE_SLOT_NS = 20.0  # per gap drawn by the row-sparse sampler
_GRADIENT_NS, _GRADIENT_NS_PER_HIDDEN = 2.0, 0.12  # per explicit entry, and per hidden unit
#: The Gram step (toysup.step_gram): per (feature, example) entry, per example, per multiply-add
#: of its two m·n² products, per non-zero entry and feature (its two gathers of rows of length n),
#: and per step (fitted to bench/bench_kinds.py).
_GRAM_NS_PER_ENTRY, _GRAM_NS_PER_EXAMPLE, _GRAM_NS_PER_MAC = 0.9, 40.0, 0.035
_GRAM_NS_PER_GATHER, _GRAM_NS_FIXED = 0.55, 300_000.0


def sampler_costs(density: np.ndarray, batch: int, n_hidden: int) -> dict[str, float]:
    """Estimated time (ns) of one step's draw and gradients for instances with these densities
    (instances, features), by kind: the dense and row-sparse samplers keep all B examples, the
    compact one the block's widest active count; the row-sparse one also pays per gap drawn; the
    Gram step ("gram": row-sparse entries, :mod:`toysup.step_gram`) pays per entry, for its
    m·n² products and per non-zero entry, and is never chosen for n > B (its n × n matrices
    would outgrow the batch)."""
    instances, n = density.shape
    gradient = _GRADIENT_NS + _GRADIENT_NS_PER_HIDDEN * n_hidden
    full = instances * n * batch
    mean = batch * density
    slots = np.sum(np.ceil(mean + 4 * np.sqrt(mean * (1 - density)) + 4)) * _SPARSE_SLOT_NS
    width = CompactSampler.expected_width(density, batch)
    gram_products = 2 * n_hidden * n * n * _GRAM_NS_PER_MAC
    return {
        "dense": full * (_DRAW_NS["dense"] + gradient),
        "sparse": full * (_DRAW_NS["sparse"] + gradient) + slots,
        # G (n × n per instance) may not outgrow the step's (B × n) arrays: no Gram step for n > B
        "gram": full * _GRAM_NS_PER_ENTRY
        + instances * (batch * _GRAM_NS_PER_EXAMPLE + gram_products)
        + float(np.sum(mean)) * n * _GRAM_NS_PER_GATHER
        + slots
        + _GRAM_NS_FIXED
        if n <= batch
        else float("inf"),
        "compact": instances * n * width * (_DRAW_NS["compact"] + gradient),
    }


def choose_sampler(density: np.ndarray, training: TrainConfig, n_hidden: int) -> str:
    """The cheapest exact sampler (:func:`sampler_costs`) for instances with these densities
    (instances, features), unless ``training.sampler`` names one."""
    if training.sampler != "auto":
        return training.sampler
    costs = sampler_costs(density, training.batch_size, n_hidden)
    return min(_KINDS, key=lambda kind: costs[kind])


#: The general step (toysup.step_general): per explicit (feature, example) entry (its elementwise
#: passes), per entry and hidden unit (its five batched products) and the structured sampler's
#: expansion per entry (ns; fitted to single-thread timings of the step on n=100, m=40 and n=20,
#: m=5 blocks).
_GENERAL_NS, _GENERAL_NS_PER_HIDDEN, _EXPAND_NS = 1.5, 0.16, 3.0
#: The row-sparse general step (toysup.step_general_sparse): per step (its sort and a dozen more
#: operations), per (feature, example) entry (elementwise passes, the three products that do not
#: take x: 3/5 of the per-hidden cost), per non-zero entry and per non-zero entry and hidden
#: unit (its two gathers, the ordering and the corrections at the entries) (ns).
_ENTRIES_FIXED_NS, _ENTRIES_NS = 100_000.0, 2.0
_NONZERO_NS, _NONZERO_NS_PER_HIDDEN = 40.0, 0.5
#: The kinds the general path can use (the Gram step is a fast path of its own).
GENERAL_KINDS = ("compact", "sparse", "dense")


def general_sampler_costs(
    set_density: np.ndarray, n_features: int, batch: int, n_hidden: int
) -> dict[str, float]:
    """Estimated time (ns) of one general step for instances whose sets (features, when
    independent) have these densities (instances, sets), by kind: the draw of the sets (per-entry
    costs as in :func:`sampler_costs`), then the expansion to n features (structured sets only)
    and the step over the explicit examples (all B, or the compact sampler's widest active
    count). With independent features the row-sparse kind hands the step the batch's non-zero
    entries (:class:`toysup.step_general_sparse.GeneralSparseStep`: the two products that take x
    cost per non-zero entry); otherwise the step is the dense-layout one
    (:class:`toysup.step_general.GeneralStep`)."""
    instances, sets = set_density.shape
    per_entry = _GENERAL_NS + _GENERAL_NS_PER_HIDDEN * n_hidden
    independent = sets == n_features
    per_entry += 0.0 if independent else _EXPAND_NS
    mean = batch * set_density
    slots = np.sum(np.ceil(mean + 4 * np.sqrt(mean * (1 - set_density)) + 4)) * _SPARSE_SLOT_NS
    width = CompactSampler.expected_width(set_density, batch)
    full_sets, full = instances * sets * batch, instances * n_features * batch
    if independent:  # GeneralSparseStep
        sparse_step = (
            _ENTRIES_FIXED_NS
            + full * (_ENTRIES_NS + 0.6 * _GENERAL_NS_PER_HIDDEN * n_hidden)
            + float(np.sum(mean)) * (_NONZERO_NS + _NONZERO_NS_PER_HIDDEN * n_hidden)
        )
    else:
        sparse_step = full * per_entry
    return {
        "dense": full_sets * _DRAW_NS["dense"] + full * per_entry,
        "sparse": full_sets * _DRAW_NS["sparse"] + slots + sparse_step,
        "compact": instances * width * (sets * _DRAW_NS["compact"] + n_features * per_entry),
    }


def choose_general_sampler(
    set_density: np.ndarray, n_features: int, training: TrainConfig, n_hidden: int
) -> str:
    """The cheapest sampler for the general step (:func:`general_sampler_costs`), unless
    ``training.sampler`` names one."""
    if training.sampler != "auto":
        return training.sampler
    costs = general_sampler_costs(set_density, n_features, training.batch_size, n_hidden)
    return min(GENERAL_KINDS, key=lambda kind: costs[kind])


def make_sampler(kind: str, density: Tensor, batch_size: int) -> Sampler:
    if kind == "compact":
        return CompactSampler(density, batch_size)
    if kind in ("sparse", "gram"):
        return SparseSampler(density, batch_size)
    return DenseSampler(density, batch_size)


@dataclass
class Block:
    """A contiguous run of instances (whole configurations) trained together."""

    index: int
    start: int  # first instance (internal order)
    stop: int
    configs: np.ndarray  # original configuration indices, in block order
    kind: str  # sampler kind
    path: str  # "fast" (toysup.step, toysup.step_gram) or "general" (toysup.step_general)
    params: Tensor  # flat [W (I_b, m, n) | b (I_b, n) | W_dec (I_b, n, m), untied only]
    grads: Tensor
    W: Tensor
    b: Tensor
    W_dec: Tensor | None
    grad_W: Tensor
    grad_b: Tensor
    grad_W_dec: Tensor | None
    c: Tensor  # 2 I / B (/ n for "mean"), (I_b, n)
    loss_importance: Tensor  # I (/ n), (I_b, n)
    sampler: Sampler
    step: TiedStep | GramStep | GeneralStep | GeneralSparseStep
    optimizer: Adam
    source: UniformSource
    cost: float  # estimated ns per step (sampler_costs), to schedule long blocks first

    def compute_gradients(self, *, need_loss: bool = True) -> None:
        """Draw a batch and write its gradients into :attr:`grads` (``need_loss``: the general
        step also computes the batch's loss, for :meth:`step.loss`; the fast steps always can)."""
        if isinstance(self.step, GramStep):
            assert isinstance(self.sampler, SparseSampler)
            batch: SparseBatch = self.sampler.draw_entries(self.source)
            self.step.gradients(batch, self.W, self.b, self.c, self.grad_W, self.grad_b)
        elif isinstance(self.step, GeneralSparseStep):
            assert isinstance(self.sampler, FeatureSampler)
            entries = self.sampler.draw_entries(self.source)
            self.step.gradients(
                entries, self.W, self.b, self.W_dec, self.grad_W, self.grad_b, self.grad_W_dec,
                need_loss=need_loss,
            )  # fmt: skip
        elif isinstance(self.step, GeneralStep):
            x = self.sampler.draw(self.step.x_flat, self.source)  # (I_b, n, C)
            self.step.gradients(
                x, self.W, self.b, self.W_dec, self.grad_W, self.grad_b, self.grad_W_dec,
                need_loss=need_loss,
            )  # fmt: skip
        else:
            x = self.sampler.draw(self.step.x_flat, self.source)  # (I_b, n, C)
            self.step.gradients(x, self.W, self.b, self.c, self.grad_W, self.grad_b)

    @property
    def step_name(self) -> str:
        """The step this block runs, as ``TrainResult.info["steps"]`` records it: ``"tied"``
        (toysup.step), ``"gram"`` (toysup.step_gram), ``"general"`` (toysup.step_general) or
        ``"general_entries"`` (toysup.step_general_sparse)."""
        return _STEP_NAMES[type(self.step)]

    def penalty(self) -> Tensor:
        """The last batch's penalty per instance (zero on the fast path), shape (I_b,)."""
        if isinstance(self.step, GeneralStep | GeneralSparseStep):
            return self.step.penalty()
        return torch.zeros_like(self.b[:, 0])


def takes_entries(kind: str, structure: str) -> bool:
    """Whether the general path's step for this sampler kind and feature structure takes the
    batch's non-zero entries (:class:`GeneralSparseStep`): the row-sparse kind on independent
    features, the case :func:`general_sampler_costs` prices that way."""
    return kind == "sparse" and structure == "independent"


_STEP_NAMES: dict[type, str] = {
    TiedStep: "tied",
    GramStep: "gram",
    GeneralStep: "general",
    GeneralSparseStep: "general_entries",
}


def make_block(
    index: int,
    configs: np.ndarray,
    kind: str,
    start: int,
    W0: Tensor,
    features: FeatureConfig,
    model: ModelConfig,
    training: TrainConfig,
    dtype: torch.dtype,
    device: torch.device,
    *,
    path: str = "fast",
    W0_dec: Tensor | None = None,
) -> Block:
    """Set up block ``index`` holding ``configs`` (× seeds), starting at internal instance
    ``start``; ``W0`` (and ``W0_dec``, untied models) hold every instance's initial weights in
    internal order. ``path``: ``"fast"`` (hand-derived steps) or ``"general"`` (the family's steps)."""
    n_seeds = training.n_seeds
    n, m, batch = model.n_features, model.n_hidden, training.batch_size
    size = len(configs) * n_seeds

    def per_instance(a: np.ndarray) -> Tensor:
        return torch.as_tensor(np.repeat(a[configs], n_seeds, axis=0), dtype=dtype, device=device)

    density = per_instance(features.density_array)
    importance = per_instance(features.importance_array)
    scale = 1.0 / n if training.loss_reduction == "mean" else 1.0
    untied = W0_dec is not None

    sizes = [size * m * n, size * n, size * n * m if untied else 0]
    params = torch.zeros(sum(sizes), dtype=dtype, device=device)
    grads = torch.zeros_like(params)
    W, b, W_dec = params.split(sizes)
    grad_W, grad_b, grad_W_dec = grads.split(sizes)
    W = W.view(size, m, n)
    W.copy_(W0[start : start + size])
    b.fill_(model.bias_init)
    if W0_dec is not None:
        W_dec = W_dec.view(size, n, m)
        W_dec.copy_(W0_dec[start : start + size])
    sampler: Sampler
    step: TiedStep | GramStep | GeneralStep | GeneralSparseStep
    if path == "general":
        set_density = per_instance(features.set_density_array)
        sampler = FeatureSampler(
            kind, density, set_density, batch, structure=features.structure, values=features.values
        )
        step = (GeneralSparseStep if takes_entries(kind, features.structure) else GeneralStep)(
            Family.of(model, training), size, n, batch,
            weight=scale * importance / batch, dtype=dtype, device=device,
        )  # fmt: skip
        costs = general_sampler_costs(
            np.repeat(features.set_density_array[configs], n_seeds, axis=0), n, batch, m
        )
    else:
        sampler = make_sampler(kind, density, batch)
        step = (GramStep if kind == "gram" else TiedStep)(
            size, n, m, batch, relu=model.activation == "relu", dtype=dtype, device=device
        )
        costs = sampler_costs(np.repeat(features.density_array[configs], n_seeds, axis=0), batch, m)
    return Block(
        index=index,
        start=start,
        stop=start + size,
        configs=configs,
        kind=kind,
        path=path,
        params=params,
        grads=grads,
        W=W,
        b=b.view(size, n),
        W_dec=W_dec if untied else None,
        grad_W=grad_W.view(size, m, n),
        grad_b=grad_b.view(size, n),
        grad_W_dec=grad_W_dec.view(size, n, m) if untied else None,
        c=2.0 * scale * importance / batch,
        loss_importance=scale * importance,
        sampler=sampler,
        step=step,
        optimizer=Adam(params, training),
        source=uniform_source(derive_seed(training.seed, 1, index), device),
        cost=costs[kind],
    )
