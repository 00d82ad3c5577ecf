"""The exact superposition boundary p*(r) of the n=2, m=1 model, with or without L1 penalties.

Scanning density upwards, the label of the global optimum (:mod:`theory.n2m1.exact`) is in
superposition on at most two intervals: the sparse one [lower, upper] — which without penalty runs
from the sparsest densities to p*(r) — and, with an L1 penalty on the hidden activation and r
near 1, a dense one starting at "reentry". ``exact_boundary(r, edge=...)`` returns one of these
three edges; the default "upper" is p*(r, λ), the density above which the sparse superposition
region ends. docs/theory.md §3–4 (no penalty) and docs/control_theory.md (penalties).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from theory._summary import Summarized, Summary
from theory._validation import (
    check_density,
    check_importance,
    check_n_random,
    check_penalty,
    check_positive_int,
    check_seed,
)
from theory.n2m1 import cache as _n2m1_cache
from theory.n2m1.exact import (
    CACHE_VERSION,
    best_of,
    check_bool,
    neighbour_starts,
    optimum_flat,
    reconstruction_loss,
    split_x,
)
from theory.n2m1.penalty import penalty_terms
from theory.n2m1.phase import REPRESENTED_THRESHOLD, phase_label
from theory.n2m1.summaries import exact_transition_summary

Array = NDArray[np.float64]
Edge = Literal["upper", "lower", "reentry"]


def _penalties(
    importance: Any, l1_hidden: Any, l1_weights: Any
) -> tuple[Array, Array, Array, tuple[int, ...]]:
    """Validated (r, l1_hidden, l1_weights), broadcast and flattened, and their shape."""
    r = check_importance("importance", importance)
    if np.any(r == 0):
        raise ValueError(f"importance must be > 0, got {importance!r}")
    lh = check_penalty("l1_hidden", l1_hidden)
    lw = check_penalty("l1_weights", l1_weights)
    try:
        r, lh, lw = np.broadcast_arrays(r, lh, lw)
    except ValueError as exc:
        raise ValueError(
            "importance, l1_hidden and l1_weights must broadcast together, got shapes "
            f"{np.shape(r)}, {np.shape(lh)} and {np.shape(lw)}"
        ) from exc
    shape = r.shape
    return (
        r.ravel().astype(np.float64),
        lh.ravel().astype(np.float64),
        lw.ravel().astype(np.float64),
        shape,
    )


def _bisect(
    r: Array,
    lh: Array,
    lw: Array,
    lo: Array,
    hi: Array,
    x_lo: Array,
    x_hi: Array,
    is_sup: Any,
    n_bisect: int,
    n_random: int,
    seed: int,
) -> Array:
    """Bisect log p in [lo, hi] (N,) on the superposition label, which differs at the two ends;
    each step re-optimises from the standard starts plus the optima at both ends."""
    sup_lo = is_sup(x_lo)
    for step in range(n_bisect):
        mid = 0.5 * (lo + hi)
        extra = np.stack([x_lo, x_hi])
        x_mid, _, _ = optimum_flat(
            r, np.exp(mid), True, n_random, seed + 1 + step, extra, l1_hidden=lh, l1_weights=lw
        )
        same = is_sup(x_mid) == sup_lo
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
        x_lo = np.where(same[:, None], x_mid, x_lo)
        x_hi = np.where(same[:, None], x_hi, x_mid)
    return np.exp(0.5 * (lo + hi))


def _scan(
    r: Array,
    lh: Array,
    lw: Array,
    grid: Array,
    n_random: int,
    seed: int,
    max_sweeps: int = 4,
) -> Array:
    """Optima (G, N, 4) on the density grid (G,) for every (r, λ) row (N,), polished by
    continuation between neighbouring densities (as the phase maps are)."""
    g, n = grid.size, r.size
    rf, pf = np.tile(r, g), np.repeat(grid, n)  # row = density index * n + column
    lhf, lwf = np.tile(lh, g), np.tile(lw, g)
    x, objective, _ = optimum_flat(rf, pf, True, n_random, seed, l1_hidden=lhf, l1_weights=lwf)
    for _ in range(max_sweeps):
        x_n, objective_n, _ = best_of(rf, pf, neighbour_starts(x.reshape(g, n, 4)), True, lhf, lwf)
        better = objective_n < objective - 1e-14 * np.abs(objective)
        if not np.any(better):
            break
        x = np.where(better[:, None], x_n, x)
        objective = np.where(better, objective_n, objective)
    return x.reshape(g, n, 4)


def _edge_bracket(sup: NDArray[np.bool_], edge: str) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Grid index k (N,) with the edge between grid points k and k + 1, and whether it exists,
    from the superposition labels ``sup`` (G, N) on the density grid."""
    g = sup.shape[0]
    index = np.arange(g)[:, None]
    start = np.min(np.where(sup, index, g), axis=0)  # first superposition point (g: none)
    end = np.min(np.where(~sup & (index > start), index, g), axis=0)  # first point after it
    again = np.min(np.where(sup & (index > end), index, g), axis=0)  # the next run's start
    if edge == "upper":
        k, valid = end - 1, end < g
    elif edge == "lower":
        k, valid = start - 1, (start > 0) & (start < g)
    else:
        k, valid = again - 1, again < g
    return np.clip(k, 0, g - 2), valid & (start < g)


def exact_boundary(
    importance: Any,
    *,
    seed: int = 0,
    n_random: int = 4,
    density_min: float = 1e-3,
    n_bisect: int = 44,
    threshold: float = REPRESENTED_THRESHOLD,
    l1_hidden: Any = 0.0,
    l1_weights: Any = 0.0,
    edge: Edge = "upper",
    n_scan: int = 25,
    cache: bool = True,
) -> Any:
    """p*(r): the density below which the exact optimum (with biases) is in superposition.

    Vectorised over ``importance`` (r > 0; the paper's range is [0.1, 10]) and over the
    penalties ``l1_hidden``, ``l1_weights`` (>= 0, broadcasting with ``importance``): the result
    has the broadcast shape. Without penalties: bisection on p in log space between
    ``density_min`` and 1 on the label of the global optimum, which at every step is
    re-optimised from the standard starts plus the optima at both bracket ends (so each basin is
    followed by continuation); ``n_bisect`` halvings of [log p_min, 0] give |Δp|/p below
    1e-12. Where a first-order jump separates the phases this locates the crossing of the best
    superposition minimum's loss with the best other one's; where the weak weight of a lopsided
    pair shrinks continuously (r close to 1), it locates where that weight crosses
    ``REPRESENTED_THRESHOLD``. NaN where the optimum is not in superposition at ``density_min``
    or is still in superposition at p = 1.

    With a penalty (or another ``edge``) the superposition region need not reach down to
    ``density_min`` (a weight penalty removes every feature at low density) and may come back at
    high density (a hidden-activation penalty favours the antipodal pair there, near r = 1), so
    the optimum is first found on ``n_scan`` log-spaced densities in [``density_min``, 1] (with
    continuation between neighbours). The first run of superposition labels on that grid is the
    sparse interval: ``edge="upper"`` (p*) is where it ends, ``"lower"`` where it starts (NaN if it
    starts at ``density_min``); ``"reentry"`` is where the next run starts. Each edge is then
    bisected ``n_bisect`` times between its two grid points. NaN where the edge does not exist in
    [``density_min``, 1] (e.g. superposition removed at every density, or the sparse interval
    reaching p = 1). Intervals narrower than the grid spacing can be missed.
    ``threshold`` (default: the shared rule) is for sensitivity studies of the labelling rule.
    With ``cache=True`` the result is read from / written to the validated disk cache of
    :mod:`theory.n2m1.cache` (keyed by every argument), as ``exact_phase_map`` does.
    """

    if edge not in ("upper", "lower", "reentry"):
        raise ValueError(f"edge must be 'upper', 'lower' or 'reentry', got {edge!r}")
    seed = check_seed(seed)
    n_random = check_n_random(n_random)
    check_positive_int("n_bisect", n_bisect)
    check_positive_int("n_scan", n_scan)
    if n_scan < 2:
        raise ValueError(f"n_scan must be >= 2, got {n_scan!r}")
    cache = check_bool("cache", cache)
    p_min = float(check_density("density_min", density_min))
    phase_label(np.zeros(2), threshold=threshold)  # validates the threshold
    rf, lh, lw, shape = _penalties(importance, l1_hidden, l1_weights)
    description = {
        "kind": "n2m1_exact_boundary",
        "version": CACHE_VERSION,
        "importance": [float(v) for v in rf],
        "l1_hidden": [float(v) for v in lh],
        "l1_weights": [float(v) for v in lw],
        "seed": seed,
        "n_random": n_random,
        "density_min": p_min,
        "n_bisect": int(n_bisect),
        "threshold": float(threshold),
        "edge": edge,
        "n_scan": int(n_scan),
    }
    spec = {"density": _n2m1_cache.ArraySpec((rf.size,), "float64")}
    arrays = _n2m1_cache.load("n2m1_exact_boundary", description, spec) if cache else None
    if arrays is None:
        p_star = _compute_boundary(
            rf, lh, lw, p_min, edge, threshold, n_scan, n_bisect, n_random, seed
        )
        arrays = {"density": p_star}
        if cache:
            _n2m1_cache.save("n2m1_exact_boundary", description, arrays)
    return np.asarray(arrays["density"], dtype=np.float64).reshape(shape)


def _compute_boundary(
    rf: Array,
    lh: Array,
    lw: Array,
    p_min: float,
    edge: str,
    threshold: float,
    n_scan: int,
    n_bisect: int,
    n_random: int,
    seed: int,
) -> Array:
    """``exact_boundary`` on flat rows (N,): see its docstring."""

    def is_sup(x: Array) -> NDArray[np.bool_]:
        return np.asarray(phase_label(x[:, :2], threshold=threshold) == "superposition")

    n = rf.size
    if edge == "upper" and not (np.any(lh > 0) or np.any(lw > 0)):
        lo = np.full(n, np.log(p_min))
        hi = np.zeros(n)
        x_lo, _, _ = optimum_flat(rf, np.exp(lo), True, n_random, seed)
        x_hi, _, _ = optimum_flat(rf, np.exp(hi), True, n_random, seed)
        valid = is_sup(x_lo) & ~is_sup(x_hi)
        p_star = _bisect(rf, lh, lw, lo, hi, x_lo, x_hi, is_sup, n_bisect, n_random, seed)
        return np.where(valid, p_star, np.nan)
    grid = np.exp(np.linspace(np.log(p_min), 0.0, n_scan))
    x = _scan(rf, lh, lw, grid, n_random, seed)  # (G, N, 4)
    sup = np.stack([is_sup(x[k]) for k in range(n_scan)])  # (G, N)
    k_lo, valid = _edge_bracket(sup, edge)
    cols = np.arange(n)
    log_grid = np.log(grid)
    p_star = _bisect(
        rf,
        lh,
        lw,
        log_grid[k_lo],
        log_grid[k_lo + 1],
        x[k_lo, cols],
        x[k_lo + 1, cols],
        is_sup,
        n_bisect,
        n_random,
        seed,
    )
    return np.where(valid, p_star, np.nan)


# ---------------------------------------------------------------- the transition


@dataclass(frozen=True, repr=False)
class ExactTransition(Summarized):
    """The exact optimum on both sides of the superposition boundary, for each r (shape S).

    ``density``: p*(r) (``exact_boundary``). ``*_below`` / ``*_above``: the optimum at
    p*·(1 ∓ ``offset``): ``w``, ``b`` (S, 2), ``loss`` (S,) (reconstruction loss), ``labels``
    (S,), and ``dloss_ddensity`` — dΦ*/dp of the optimal objective Φ* (the loss plus the
    penalties, if any) by the envelope theorem (∂Φ/∂p at the fixed optimum; Φ is a quadratic
    polynomial in p there, so a central difference is exact). A first-order transition shows a
    jump in w and b and a kink (jump) in dΦ*/dp.
    """

    importance: Array
    density: Array
    offset: float
    w_below: Array
    w_above: Array
    b_below: Array
    b_above: Array
    loss_below: Array
    loss_above: Array
    dloss_ddensity_below: Array
    dloss_ddensity_above: Array
    labels_below: NDArray[np.str_]
    labels_above: NDArray[np.str_]
    l1_hidden: Array
    l1_weights: Array

    def _summary(self) -> Summary:
        return exact_transition_summary(self)


def _dobjective_ddensity(r: Array, p: Array, w: Array, b: Array, lh: Array, lw: Array) -> Array:
    h = 1e-4 * p

    def at(q: Array) -> Array:
        value = reconstruction_loss(r, q, w, b)
        return value + penalty_terms(w, np.stack([q, q], -1), lh, lw, order=0)[0]

    return (at(p + h) - at(p - h)) / (2 * h)


def exact_transition(
    importance: Any,
    *,
    seed: int = 0,
    n_random: int = 4,
    offset: float = 1e-6,
    l1_hidden: Any = 0.0,
    l1_weights: Any = 0.0,
) -> ExactTransition:
    """The optimum just below and just above ``exact_boundary`` (see :class:`ExactTransition`);
    ``importance`` and the penalties broadcast together (flattened in the result)."""
    rf, lh, lw, _ = _penalties(importance, l1_hidden, l1_weights)
    p_star = np.asarray(
        exact_boundary(rf, seed=seed, n_random=n_random, l1_hidden=lh, l1_weights=lw),
        dtype=np.float64,
    )
    if np.any(np.isnan(p_star)):
        raise ValueError(
            f"no superposition boundary in (1e-3, 1] for importance {importance!r} "
            f"(l1_hidden {l1_hidden!r}, l1_weights {l1_weights!r})"
        )
    sides = {}
    for name, q in (("below", p_star * (1 - offset)), ("above", p_star * (1 + offset))):
        x, _, _ = optimum_flat(rf, q, True, n_random, seed, l1_hidden=lh, l1_weights=lw)
        w, b = split_x(x, True)
        sides[name] = (
            w,
            b,
            reconstruction_loss(rf, q, w, b),
            _dobjective_ddensity(rf, q, w, b, lh, lw),
            phase_label(w),
        )
    return ExactTransition(
        importance=rf,
        density=p_star,
        offset=offset,
        w_below=sides["below"][0],
        w_above=sides["above"][0],
        b_below=sides["below"][1],
        b_above=sides["above"][1],
        loss_below=sides["below"][2],
        loss_above=sides["above"][2],
        dloss_ddensity_below=sides["below"][3],
        dloss_ddensity_above=sides["above"][3],
        labels_below=sides["below"][4],
        labels_above=sides["above"][4],
        l1_hidden=lh,
        l1_weights=lw,
    )
