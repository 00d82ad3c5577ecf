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

:func:`estimate_loss` evaluates the basic tied models; :func:`estimate_family_loss` any model of
the family (:class:`toysup.step_general.Family`) on any feature structure and value range, and
returns the loss with and without its penalty. Its patterns are those of the sets: a correlated
set is active or not as a whole, an anticorrelated one has ``set_size + 1`` states (none, or one
member), with their exact probabilities; within a pattern the active values are independent
uniforms on [0, 1) or [−1, 1).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from toysup.data import DenseSampler, FeatureSampler, UniformSource
from toysup.step_general import Family

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


def estimate_family_loss(
    family: Family,
    W: Tensor,
    b: Tensor,
    W_dec: Tensor | None,
    density: Tensor,
    importance: Tensor,
    *,
    structure: str = "independent",
    set_size: int = 1,
    values: str = "unit",
    samples: int,
    source: UniformSource,
    group: int = 1,
) -> tuple[np.ndarray[Any, Any], ...]:
    """(loss, its standard error, loss + penalty, its standard error) per instance, float64
    arrays of shape (I,), for any model of the family.

    ``density`` (I / group, n) feature densities (structure, set_size and values as in
    :class:`toysup.config.FeatureConfig`); ``importance`` (I, n) includes any 1/n of a mean
    reduction. The weight penalty is exact; the hidden penalty ``λ_h E[Σ_j |h_j|]`` is estimated
    on the same examples as the loss.
    """
    p = density.double()
    set_size = set_size if structure != "independent" else 1

    def per_example(x: Tensor) -> Tensor:  # (2, I, k): loss, loss + hidden penalty
        loss, l1 = family.per_example(W, b, W_dec, x, importance)
        return torch.stack([loss, loss + family.l1_hidden * l1])

    zero = family.zero_example(b, importance)
    sets = p.shape[1] // set_size
    states = set_size + 1 if structure == "anticorrelated" else 2  # per set
    n_patterns = states**sets - 1  # non-empty patterns
    if n_patterns <= MAX_PATTERNS and samples >= n_patterns:
        active, prob, empty = _set_patterns(p, structure, set_size)
        signed = values == "signed"
        mean, var = _stratified_moments(
            per_example, torch.stack([zero, zero]), active, prob, empty, samples, source, group,
            signed=signed,
        )  # fmt: skip
    else:
        grouped = p.reshape(p.shape[0], sets, set_size)
        set_density = grouped.sum(2) if structure == "anticorrelated" else grouped[:, :, 0]
        sampler = FeatureSampler(
            "dense", density, set_density.to(density.dtype), CHUNK,
            structure=structure, values=values,
        )  # fmt: skip
        flat = torch.empty(density.numel() * CHUNK + 1, dtype=W.dtype, device=W.device)

        def draw(k: int) -> Tensor:
            return sampler.draw(flat, source)[:, :, :k].repeat_interleave(group, dim=0)

        mean, var = _moments_of(draw, samples, per_example)
        var = var / samples
    weights = family.weight_penalty(W, W_dec).double()
    out = (mean[0], torch.sqrt(var[0]), mean[1] + weights, torch.sqrt(var[1]))
    return tuple(t.cpu().numpy() for t in out)


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
    mean, var = _moments_of(
        draw, total, lambda x: per_example_loss(W, b, x, importance, relu=relu)[None]
    )
    return mean[0], var[0]


def _moments_of(
    draw: Callable[[int], Tensor], total: int, per_example: Callable[[Tensor], Tensor]
) -> tuple[Tensor, Tensor]:
    """Mean and (unbiased) variance over ``total`` examples of ``per_example(x)`` (K, I, k), for x
    drawn ``CHUNK`` at a time by ``draw(k)`` -> x (I, n, k). float64, shape (K, I)."""
    acc: Tensor | None = None
    acc_sq: Tensor | None = None
    done = 0
    while done < total:
        chunk = min(CHUNK, total - done)
        loss = per_example(draw(chunk)).double()
        acc = loss.sum(-1) if acc is None else acc + loss.sum(-1)
        acc_sq = loss.square().sum(-1) if acc_sq is None else acc_sq + loss.square().sum(-1)
        done += chunk
    assert acc is not None and acc_sq is not None  # total >= 1
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
    active, prob, empty = _set_patterns(density.double(), "independent", 1)
    zero_out = torch.relu(b) if relu else b
    zero = (importance * zero_out.square()).sum(1)[None]

    def per_example(x: Tensor) -> Tensor:
        return per_example_loss(W, b, x, importance, relu=relu)[None]

    mean, var = _stratified_moments(per_example, zero, active, prob, empty, samples, source, group)
    return mean[0].cpu().numpy(), torch.sqrt(var[0]).cpu().numpy()


def _set_patterns(p: Tensor, structure: str, set_size: int) -> tuple[Tensor, Tensor, Tensor]:
    """The non-empty activity patterns of n features with densities ``p`` (I, n) float64:
    ``active`` (P, n) bool, their probabilities ``prob`` (I, P) and P(no feature active) (I,).

    Independent: every non-empty subset of the features. Correlated: of the sets (a set's features
    share its density). Anticorrelated: every choice of at most one member per set, not all none.
    """
    instances, n = p.shape
    if structure == "anticorrelated":
        sets = n // set_size
        member = p.reshape(instances, sets, set_size)
        none = 1 - member.sum(2)  # (I, S)
        states = [s for s in itertools.product(range(set_size + 1), repeat=sets) if any(s)]
        active = torch.zeros(len(states), n, dtype=torch.bool, device=p.device)
        prob = torch.ones(instances, len(states), dtype=torch.float64, device=p.device)
        for row, state in enumerate(states):  # state k: 0 = none, j = member j - 1 active
            for k, j in enumerate(state):
                if j:
                    active[row, k * set_size + j - 1] = True
                    prob[:, row] *= member[:, k, j - 1]
                else:
                    prob[:, row] *= none[:, k]
        return active, prob, torch.prod(none, dim=1)
    unit = p if structure == "independent" else p.reshape(instances, -1, set_size)[:, :, 0]
    count = unit.shape[1]
    patterns = [s for k in range(1, count + 1) for s in itertools.combinations(range(count), k)]
    on = torch.zeros(len(patterns), count, dtype=torch.bool, device=p.device)
    for row, pattern in enumerate(patterns):
        on[row, list(pattern)] = True
    prob = torch.prod(torch.where(on[None], unit[:, None], 1 - unit[:, None]), dim=2)
    active = on.repeat_interleave(n // count, dim=1)
    return active, prob, torch.prod(1 - unit, dim=1)


def _stratified_moments(
    per_example: Callable[[Tensor], Tensor],
    zero: Tensor,
    active_sets: Tensor,
    prob_all: Tensor,
    empty: Tensor,
    samples: int,
    source: UniformSource,
    group: int,
    *,
    signed: bool = False,
) -> tuple[Tensor, Tensor]:
    """Stratified mean and variance of the mean (K, I) of ``per_example(x)`` (K, I, k) over the
    patterns (module docstring); ``zero`` (K, I) is its value at x = 0, ``empty`` (I / group,)
    the probability of that pattern; ``prob_all`` (I / group, P)."""
    instances, n = prob_all.shape[0], active_sets.shape[1]
    prob_all = prob_all.repeat_interleave(group, dim=0)
    weight = prob_all.max(dim=0).values.cpu().numpy()  # (patterns,)
    counts = np.ceil(samples / 2 / len(weight) + samples / 2 * weight / weight.sum())
    # the empty pattern exactly
    mean = empty.repeat_interleave(group, dim=0) * zero.double()
    var = torch.zeros_like(mean)
    buffer = torch.empty(instances * n * CHUNK, dtype=zero.dtype, device=zero.device)
    for row in range(len(weight)):
        active = active_sets[row]

        def draw(k: int, active: Tensor = active) -> Tensor:
            x = source.fill(buffer[: instances * n * k].view(-1, n, k))
            if signed:
                x = x.mul_(2.0).sub_(1.0)
            return (x * active[None, :, None]).repeat_interleave(group, dim=0)

        per_pattern = int(counts[row])
        m, v = _moments_of(draw, per_pattern, per_example)
        mean += prob_all[:, row] * m
        var += prob_all[:, row].square() * v / per_pattern
    return mean, var
