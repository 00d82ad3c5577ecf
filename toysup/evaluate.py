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
    total = torch.zeros(W.shape[0], dtype=torch.float64, device=W.device)
    total_sq = torch.zeros_like(total)
    done = 0
    while done < samples:
        chunk = min(CHUNK, samples - done)
        x = sampler.draw(flat, source)[:, :, :chunk].repeat_interleave(group, dim=0)
        loss = per_example_loss(W, b, x, importance, relu=relu).double()
        total += loss.sum(1)
        total_sq += loss.square().sum(1)
        done += chunk
    mean = total / samples
    var = (total_sq / samples - mean.square()).clamp_min(0.0) * samples / max(samples - 1, 1)
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
        active, prob, per_pattern = active_sets[row], prob_all[:, row], int(counts[row])
        total = torch.zeros_like(mean)
        total_sq = torch.zeros_like(mean)
        done = 0
        while done < per_pattern:
            chunk = min(CHUNK, per_pattern - done)
            x = source.fill(buffer[: density.shape[0] * n * chunk].view(-1, n, chunk))
            x = (x * active[None, :, None]).repeat_interleave(group, dim=0)
            loss = per_example_loss(W, b, x, importance, relu=relu).double()
            total += loss.sum(1)
            total_sq += loss.square().sum(1)
            done += chunk
        m = total / per_pattern
        v = (
            (total_sq / per_pattern - m.square()).clamp_min(0.0)
            * per_pattern
            / max(per_pattern - 1, 1)
        )
        mean += prob * m
        var += prob.square() * v / per_pattern
    return mean.cpu().numpy(), torch.sqrt(var).cpu().numpy()
