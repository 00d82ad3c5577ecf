"""Activity patterns and the table of box integrals the loss and its gradient are made of.

Conditioning on the set S of active (non-zero) features, feature i's pre-activation is
ℓ_i = b_i + Σ_{j∈S} G_ij x_j with G = WᵀW and x_S ~ Uniform[0, 1]^|S|, so (docs/landscape.md)

    E[(x_i − R(ℓ_i))² | S] = [i∈S]/3 − 2[i∈S] Ψ(1, e_i) + Ψ(2, 0)
    ∂/∂b_i      = 2 Ψ(1, 0)   − 2[i∈S] Ψ(0, e_i)
    ∂/∂G_ij     = 2 Ψ(1, e_j) − 2[i∈S] Ψ(0, e_i + e_j)        (j ∈ S)

and, for the Hessian (order 2; Ψ(−1, m) = E[Π U^m δ(ℓ_i)], the moving kink's surface term)

    ∂²/∂G_ij∂G_ik = 2 Ψ(0, e_j + e_k) − 2[i∈S] Ψ(−1, e_i + e_j + e_k)
    ∂²/∂G_ij∂b_i  = 2 Ψ(0, e_j)       − 2[i∈S] Ψ(−1, e_i + e_j)
    ∂²/∂b_i²      = 2 Ψ(0, 0)         − 2[i∈S] Ψ(−1, e_i)

with Ψ(K, m) = E[Π U^m R(ℓ_i)^K] (:mod:`theory.landscape.box`). A :class:`Plan` lists, once per
(n, patterns, order), every distinct Ψ needed (feature, pattern, K, m) and a sparse routing
matrix from them to the output slots: slot 0 the loss; for order >= 1 slots 1..n ∂L/∂b_i, then
∂L/∂G_ij (n²); for order 2 then feature i's Hessian block over (G_i0, .., G_i,n−1, b_i),
(n + 1)² slots per feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from math import comb

import numpy as np
import scipy.sparse as sparse
from numpy.typing import NDArray

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Plan:
    """The box integrals behind the loss (``order=0``) or loss and gradient (``order=1``).

    ``masks`` (P, n) bool: the activity patterns summed over. Per element (E of them):
    ``feature`` i, ``pattern`` index into ``masks``, ``cols`` (E, D) the feature index of each
    slope (n = padding, a zero slope), ``power`` K, ``moments`` (E, D). ``routing`` (E, slots):
    coefficient of each element in each output slot (before the weight prob(S)·I_i).
    """

    n: int
    masks: NDArray[np.bool_]
    features: NDArray[np.bool_]  # (n,) the features whose loss terms are included
    feature: IntArray
    pattern: IntArray
    cols: IntArray
    power: IntArray
    moments: IntArray
    routing: sparse.csr_matrix
    order: int
    groups: tuple[tuple[int, IntArray], ...]  # (pattern size d, element indices)

    @property
    def n_slots(self) -> int:
        return n_slots(self.n, self.order)


def n_slots(n: int, order: int) -> int:
    """Output slots of a plan: loss; gradient (b, then G); Hessian blocks per feature."""
    return 1 + (n + n * n if order >= 1 else 0) + (n * (n + 1) ** 2 if order >= 2 else 0)


def count_patterns(n: int, max_active: int) -> int:
    """Number of activity patterns with at most ``max_active`` of n features active."""
    return sum(comb(n, d) for d in range(min(max_active, n) + 1))


def pattern_masks(n: int, max_active: int) -> NDArray[np.bool_]:
    """All patterns with at most ``max_active`` active features, (P, n) bool, by size then lex."""
    rows = [
        [j in s for j in range(n)]
        for d in range(min(max_active, n) + 1)
        for s in combinations(range(n), d)
    ]
    return np.array(rows, dtype=bool).reshape(-1, n)


def _build(
    n: int, masks: NDArray[np.bool_], order: int, features: tuple[int, ...] | None = None
) -> Plan:
    chosen = tuple(range(n)) if features is None else features
    width = int(masks.sum(axis=1).max()) if masks.size else 0
    keys: dict[tuple[int, int, int, tuple[int, ...]], int] = {}
    feature: list[int] = []
    pattern: list[int] = []
    cols: list[list[int]] = []
    power: list[int] = []
    moments: list[list[int]] = []
    r_elem: list[int] = []
    r_slot: list[int] = []
    r_coef: list[float] = []

    def use(i: int, s: int, active: list[int], k: int, pos: tuple[int, ...], slot: int, c: float):
        mom = [0] * width
        for q in pos:
            mom[q] += 1
        key = (i, s, k, tuple(mom))
        if key not in keys:
            keys[key] = len(feature)
            feature.append(i)
            pattern.append(s)
            cols.append(active + [n] * (width - len(active)))
            power.append(k)
            moments.append(mom)
        r_elem.append(keys[key])
        r_slot.append(slot)
        r_coef.append(c)

    for s, mask in enumerate(masks):
        active = [int(j) for j in np.flatnonzero(mask)]
        for i in chosen:
            own = active.index(i) if i in active else None
            use(i, s, active, 2, (), 0, 1.0)
            if own is not None:
                use(i, s, active, 1, (own,), 0, -2.0)
            if not order:
                continue
            use(i, s, active, 1, (), 1 + i, 2.0)
            if own is not None:
                use(i, s, active, 0, (own,), 1 + i, -2.0)
            for pos, j in enumerate(active):
                slot = 1 + n + i * n + j
                use(i, s, active, 1, (pos,), slot, 2.0)
                if own is not None:
                    use(i, s, active, 0, (own, pos), slot, -2.0)
            if order < 2:
                continue
            base = 1 + n + n * n + i * (n + 1) ** 2
            local = [*active, n]  # coordinates G_ij (j ∈ S), then b_i (index n)
            for u, ju in enumerate(local):
                for v, jv in enumerate(local[u:], start=u):
                    coords = tuple(q for q in (u, v) if q < len(active))
                    slots = {base + ju * (n + 1) + jv, base + jv * (n + 1) + ju}
                    for slot in slots:
                        use(i, s, active, 0, coords, slot, 2.0)
                        if own is not None:
                            use(i, s, active, -1, (own, *coords), slot, -2.0)
    sizes = np.array([int(masks[s].sum()) for s in pattern], dtype=np.int64)
    groups = tuple((int(d), np.flatnonzero(sizes == d)) for d in np.unique(sizes))
    routing = sparse.csr_matrix(
        (np.array(r_coef), (np.array(r_elem), np.array(r_slot))),
        shape=(len(feature), n_slots(n, order)),
    )
    included = np.zeros(n, dtype=bool)
    included[list(chosen)] = True
    return Plan(
        n=n,
        masks=masks,
        features=included,
        feature=np.array(feature, dtype=np.int64),
        pattern=np.array(pattern, dtype=np.int64),
        cols=np.array(cols, dtype=np.int64).reshape(len(feature), width),
        power=np.array(power, dtype=np.int64),
        moments=np.array(moments, dtype=np.int64).reshape(len(feature), width),
        routing=routing,
        order=order,
        groups=groups,
    )


@lru_cache(maxsize=64)
def plan_for(n: int, max_active: int, order: int, features: tuple[int, ...] | None = None) -> Plan:
    """The (cached) plan for all patterns with at most ``max_active`` of ``n`` features active;
    ``features``: the features whose loss terms are included (default: all)."""
    return _build(n, pattern_masks(n, max_active), order, features)


@lru_cache(maxsize=256)
def plan_for_pattern(n: int, active: tuple[int, ...], order: int) -> Plan:
    """The plan of a single activity pattern (``active``: sorted feature indices)."""
    mask = np.zeros((1, n), dtype=bool)
    mask[0, list(active)] = True
    return _build(n, mask, order)


def pattern_probabilities(density: Array, masks: NDArray[np.bool_]) -> Array:
    """prob(S) = Π_{j∈S} p_j Π_{j∉S} (1 − p_j): density (B, n), masks (P, n) -> (B, P)."""
    factors = np.where(masks[None, :, :], density[:, None, :], 1.0 - density[:, None, :])
    return np.prod(factors, axis=-1)


def tail_probability(density: Array, max_active: int) -> Array:
    """P(more than ``max_active`` features active) for independent Bernoulli(p_j): (B, n) -> (B,).

    Exact Poisson-binomial distribution by dynamic programming over features; computed as the sum
    of the upper tail's terms (not 1 − lower tail), so it keeps full relative accuracy when small.
    """
    rows, n = density.shape
    dist = np.zeros((rows, n + 1))
    dist[:, 0] = 1.0
    for j in range(n):
        pj = density[:, j : j + 1]
        shifted = np.concatenate([np.zeros((rows, 1)), dist[:, :-1]], axis=1)
        dist = dist * (1.0 - pj) + shifted * pj
    return np.sum(dist[:, max_active + 1 :], axis=1)
