"""Expected loss of trained models, estimated on fresh examples with a standard error.

Two estimators of ``L = E[Σ_i I_i (x_i − x'_i)²]``:

- **Stratified over activity patterns** (small n): the pattern S of non-zero features has the exact
  probability ``P(S) = Π_{i∈S} p_i Π_{i∉S} (1 − p_i)``; within a pattern the values are uniform on
  ``[0, 1)^{|S|}``. ``L = Σ_S P(S) E[loss | S]``: the empty pattern is computed exactly
  (``Σ_i I_i ReLU(b_i)²``); the examples are split between the other patterns half equally and
  half in proportion to P(S) (the largest over the instances evaluated together). The standard
  error ``sqrt(Σ_S P(S)² Var_S / N_S)`` is then within √2 of the better of equal allocation (best
  at low density, where plain Monte Carlo sees almost only empty examples: at n=3, p=0.01 two
  features are active together in 3 examples out of 10,000) and proportional allocation (plain
  Monte Carlo's efficiency, best when density is high).
- **Plain Monte Carlo** (larger n, where 2ⁿ patterns are too many): the dense sampler.

Models are (instances, m, n); each instance's loss comes with its standard error. ``group``
instances share examples (the trainer passes a configuration's seeds as one group: common random
numbers, so differences between seeds are not sampling noise).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from toysup.data import DenseSampler, UniformSource

#: Stratify when the non-empty patterns number at most this many (n ≤ 6).
MAX_PATTERNS = 63
#: Examples per chunk.
CHUNK = 2048


def per_example_loss(W: Tensor, b: Tensor, x: Tensor, importance: Tensor, *, relu: bool) -> Tensor:
    """Σ_i I_i (x_i − x'_i)² per example: W (I, m, n), b (I, n), x (I, n, B), importance (I, n)
    -> (I, B)."""
    z = torch.baddbmm(b[:, :, None], W.transpose(1, 2), torch.bmm(W, x))
    out = torch.relu(z) if relu else z
    return (out.sub_(x).square_() * importance[:, :, None]).sum(1)


def estimate_loss(
    W: Tensor,
    b: Tensor,
    density: Tensor,
    importance: Tensor,
    *,
    samples: int,
    source: UniformSource,
    relu: bool = True,
    group: int = 1,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(loss, standard error) per instance, float64 arrays of shape (I,).

    ``density`` (I / group, n) is given once per group of ``group`` consecutive instances, which
    share their examples; ``importance`` (I, n) already includes any 1/n of a mean reduction.
    """
    n = W.shape[2]
    if 2**n - 1 <= MAX_PATTERNS and samples >= 2**n - 1:
        return _stratified(W, b, density, importance, samples, source, relu, group)
    return _plain(W, b, density, importance, samples, source, relu, group)


def _moments(
    draw: Callable[[int], Tensor],
    total: int,
    W: Tensor,
    b: Tensor,
    importance: Tensor,
    relu: bool,
) -> tuple[Tensor, Tensor]:
    """Mean and (unbiased) variance per instance of the per-example loss over ``total`` examples,
    drawn ``CHUNK`` at a time by ``draw(k)`` -> x (I, n, k). float64, shape (I,)."""
    acc = torch.zeros(W.shape[0], dtype=torch.float64, device=W.device)
    acc_sq = torch.zeros_like(acc)
    done = 0
    while done < total:
        chunk = min(CHUNK, total - done)
        loss = per_example_loss(W, b, draw(chunk), importance, relu=relu).double()
        acc += loss.sum(1)
        acc_sq += loss.square().sum(1)
        done += chunk
    mean = acc / total
    return mean, (acc_sq / total - mean.square()).clamp_min(0.0) * total / max(total - 1, 1)


def _plain(
    W: Tensor,
    b: Tensor,
    density: Tensor,
    importance: Tensor,
    samples: int,
    source: UniformSource,
    relu: bool,
    group: int,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    sampler = DenseSampler(density, CHUNK)
    flat = torch.empty(density.numel() * CHUNK, dtype=W.dtype, device=W.device)

    def draw(k: int) -> Tensor:
        return sampler.draw(flat, source)[:, :, :k].repeat_interleave(group, dim=0)

    mean, var = _moments(draw, samples, W, b, importance, relu)
    return mean.cpu().numpy(), torch.sqrt(var / samples).cpu().numpy()


def _stratified(
    W: Tensor,
    b: Tensor,
    density: Tensor,
    importance: Tensor,
    samples: int,
    source: UniformSource,
    relu: bool,
    group: int,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    n = W.shape[2]
    p = density.double().repeat_interleave(group, dim=0)  # (I, n)
    patterns = [s for k in range(1, n + 1) for s in itertools.combinations(range(n), k)]
    active_sets = torch.zeros(len(patterns), n, dtype=torch.bool, device=W.device)
    for row, pattern in enumerate(patterns):
        active_sets[row, list(pattern)] = True
    prob_all = torch.prod(torch.where(active_sets[None], p[:, None], 1 - p[:, None]), dim=2)
    weight = prob_all.max(dim=0).values.cpu().numpy()  # (patterns,)
    counts = np.ceil(samples / 2 / len(patterns) + samples / 2 * weight / weight.sum())
    # the empty pattern: x = 0, loss Σ_i I_i ReLU(b_i)² (b_i for the linear model), exactly
    zero_out = torch.relu(b) if relu else b
    mean = torch.prod(1 - p, dim=1) * (importance * zero_out.square()).sum(1).double()
    var = torch.zeros_like(mean)
    buffer = torch.empty(density.shape[0] * n * CHUNK, dtype=W.dtype, device=W.device)
    for row in range(len(patterns)):
        active = active_sets[row]

        def draw(k: int, active: Tensor = active) -> Tensor:
            x = source.fill(buffer[: density.shape[0] * n * k].view(-1, n, k))
            return (x * active[None, :, None]).repeat_interleave(group, dim=0)

        per_pattern = int(counts[row])
        m, v = _moments(draw, per_pattern, W, b, importance, relu)
        mean += prob_all[:, row] * m
        var += prob_all[:, row].square() * v / per_pattern
    return mean.cpu().numpy(), torch.sqrt(var).cpu().numpy()
