"""Global minimum of the exact n=3, m=2 loss: optima, phase maps, the boundary, the transition.

Importances (1, 1, r), all densities p (the paper's "The Phase Change", 3-feature diagram). At each
(r, p) the exact loss (:mod:`theory.landscape`) is minimised over W (2 × 3) and b (3) by batched
saddle-free Newton steps with the exact gradient and Hessian (:mod:`theory.landscape.optimize`)
from a fixed set of starts, all cells and starts at once: one start near each kind of local
minimum seen when exploring the landscape with hundreds of random starts (docs/n3m2_exact.md),
jittered so none sits on a stationary point, plus ``n_random`` random starts from
``numpy.random.default_rng(seed)``. Maps are then polished by restarting every cell from its four
neighbours' optima until nothing improves (continuation on the grid).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._validation import (
    check_density,
    check_importance,
    check_n_random,
    check_positive_int,
    check_seed,
)
from theory.landscape import expected_loss_density_grad, minimize_loss
from theory.n2m1 import cache as _cache
from theory.n3m2.candidates import optimal_antipodal_bias
from theory.n3m2.phase import (
    PHASES,
    REPRESENTED_THRESHOLD,
    SUPERPOSITION_PHASES,
    check_threshold,
    phase_label,
)

Array = NDArray[np.float64]

#: 2: "superposition_other" split off "other" (three features represented, not antipodal).
_CACHE_VERSION = 2
_JITTER = 0.01


def _triangle(radius: float, bias: float) -> tuple[list[list[float]], list[float | str]]:
    angles = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
    return (radius * np.stack([np.cos(angles), np.sin(angles)])).tolist(), [bias] * 3


# Structured starts: W (2 × 3) and b (3); "h" in b means p/2, "s" the antipodal pair's optimal
# bias b*(p) (theory.n3m2.optimal_antipodal_bias).
_STARTS: tuple[tuple[str, list[list[float]], list[float | str]], ...] = (
    ("not_represented", [[1, 0, 0], [0, 1, 0]], [0, 0, "h"]),
    ("dedicated", [[0, 1, 0], [0, 0, 1]], ["h", 0, 0]),
    ("superposition_extra", [[1, 0, 0], [0, 1, -1]], [0, "s", "s"]),
    ("superposition_pair", [[1, -1, 0], [0, 0, 1]], ["s", "s", 0]),
    ("triangle", *_triangle(0.9, 0.3)),
    ("triangle, sparse", *_triangle(1.0, 0.0)),
)
#: Further kinds of local minimum seen in the exploration (docs/n3m2_exact.md); ``n_random``
#: random starts and the neighbour continuation reach them where they matter. Used by
#: ``exact_optimum(..., thorough=True)`` and the tests.
_MORE_STARTS: tuple[tuple[str, list[list[float]], list[float | str]], ...] = (
    ("not_represented, weak antipodal extra", [[1, 0, 0], [0, 1, -0.35]], [0, 0.07, 0.37]),
    ("dedicated, weak same-sign copy", [[1, 0.4, 0], [0, 0, 1]], [-0.13, 0.14, 0]),
    ("superposition_extra, weak extra", [[1, 0, 0], [0, 1.03, -0.68]], [0, 0.06, 0.23]),
    ("superposition_extra, strong extra", [[1, 0, 0], [0, 0.68, -1.03]], [0, 0.23, 0.06]),
    ("superposition_pair, dense", [[0.76, -0.76, 0], [0, 0, 1]], [0.33, 0.33, 0]),
    ("fan", [[0.36, 0.36, 0.92], [0.76, -0.76, 0]], [0.12, 0.12, -0.2]),
)


def _starts(p: Array, n_random: int, seed: int, thorough: bool = False) -> tuple[Array, Array]:
    """Starts W (K, N, 2, 3), b (K, N, 3) for N cells of density ``p``."""
    rng = np.random.default_rng(seed)
    n = p.size
    beta = np.asarray(optimal_antipodal_bias(p), dtype=np.float64).reshape(n)
    ws, bs = [], []
    for _, w, b in _STARTS + (_MORE_STARTS if thorough else ()):
        ws.append(np.broadcast_to(np.asarray(w, dtype=np.float64), (n, 2, 3)))
        cols = [p / 2 if v == "h" else beta if v == "s" else np.full(n, float(v)) for v in b]
        bs.append(np.stack(cols, axis=-1))
    w0 = np.stack(ws) + _JITTER * rng.standard_normal((len(ws), n, 2, 3))
    b0 = np.stack(bs) + _JITTER * rng.standard_normal((len(bs), n, 3))
    w_rand = 0.8 * rng.standard_normal((n_random, n, 2, 3))
    b_rand = 0.2 * rng.standard_normal((n_random, n, 3))
    return np.concatenate([w0, w_rand]), np.concatenate([b0, b_rand])


def canonical(W: Any) -> Array:
    """A fixed representative of W under W → QW (Q ∈ O(2); the loss depends on WᵀW only).

    ``W`` (..., 2, 3): rotated so that the longest column points along +x, then reflected so that
    the first column with |y| > 1e-9 has y > 0.
    """
    w = np.array(W, dtype=np.float64)
    norms = np.linalg.norm(w, axis=-2)
    lead = np.argmax(norms, axis=-1)
    col = np.take_along_axis(w, lead[..., None, None].repeat(2, axis=-2), axis=-1)[..., 0]
    theta = np.arctan2(col[..., 1], col[..., 0])
    cos, sin = np.cos(theta), np.sin(theta)
    rot = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)  # R(−θ)
    w = rot @ w
    y = w[..., 1, :]
    first = np.argmax(np.abs(y) > 1e-9, axis=-1)
    sign = np.take_along_axis(y, first[..., None], axis=-1)[..., 0]
    w[..., 1, :] *= np.where(sign < 0, -1.0, 1.0)[..., None]
    return w


def _best_of(
    r: Array, p: Array, w0: Array, b0: Array
) -> tuple[Array, Array, Array, NDArray[np.bool_]]:
    """Minimise from every start (K, N, ...); per cell keep the lowest loss."""
    k, n = w0.shape[:2]
    imp = np.stack([np.ones(k * n), np.ones(k * n), np.tile(r, k)], axis=-1)
    res = minimize_loss(w0.reshape(k * n, 2, 3), b0.reshape(k * n, 3), np.tile(p, k)[:, None], imp)
    loss = res.loss.reshape(k, n)
    best = np.argmin(loss, axis=0)
    cols = np.arange(n)
    w = res.W.reshape(k, n, 2, 3)[best, cols]
    b = res.b.reshape(k, n, 3)[best, cols]
    w, b = _swap_units(w, b)
    return canonical(w), b, loss[best, cols], res.converged.reshape(k, n)[best, cols]


def _swap_units(w: Array, b: Array) -> tuple[Array, Array]:
    """Features 0 and 1 are interchangeable (same importance and density): report the mirror
    image with ‖W_0‖ >= ‖W_1‖, so that ties are broken deterministically."""
    norms = np.linalg.norm(w, axis=-2)
    swap = norms[..., 1] > norms[..., 0] + 1e-12
    perm = [1, 0, 2]
    w = np.where(swap[..., None, None], w[..., perm], w)
    b = np.where(swap[..., None], b[..., perm], b)
    return w, b


@dataclass(frozen=True)
class ExactOptimum:
    """Global minima of the exact n=3, m=2 loss at broadcast (importance r, density p) points.

    ``W`` (..., 2, 3) (:func:`canonical` representative), ``b`` (..., 3); feature 2 is the extra
    one (importance r). ``loss``, ``labels`` (:func:`theory.n3m2.phase_label`), ``converged``:
    (...).
    """

    importance: Array
    density: Array
    W: Array
    b: Array
    loss: Array
    labels: NDArray[np.str_]
    converged: NDArray[np.bool_]


def _check_options(seed: Any, n_random: Any) -> tuple[int, int]:
    return check_seed(seed), check_n_random(n_random)


def _optimum_flat(
    r: Array,
    p: Array,
    seed: int,
    n_random: int,
    extra: tuple[Array, Array] | None = None,
    thorough: bool = False,
) -> tuple[Array, Array, Array, NDArray[np.bool_]]:
    w0, b0 = _starts(p, n_random, seed, thorough)
    if extra is not None:
        w0 = np.concatenate([w0, extra[0]])
        b0 = np.concatenate([b0, extra[1]])
    return _best_of(r, p, w0, b0)


def exact_optimum(
    importance: Any,
    density: Any,
    *,
    seed: int = 0,
    n_random: int = 2,
    thorough: bool = False,
) -> ExactOptimum:
    """Global minimum of the exact loss at each broadcast (importance r, density p) point.

    Importances (1, 1, r), all densities p. Multi-start saddle-free Newton with the exact
    gradient and Hessian (module docstring); ``n_random`` extra random starts from
    ``numpy.random.default_rng(seed)``. ``thorough=True`` adds a start near every other kind of
    local minimum seen in the exploration (twice the cost).
    """
    seed, n_random = _check_options(seed, n_random)
    if not isinstance(thorough, (bool, np.bool_)):
        raise TypeError(f"thorough must be True or False, got {thorough!r}")
    r = check_importance("importance", importance)
    p = check_density("density", density)
    r, p = np.broadcast_arrays(r, p)
    shape = r.shape
    w, b, loss, ok = _optimum_flat(r.ravel(), p.ravel(), seed, n_random, thorough=bool(thorough))
    return ExactOptimum(
        importance=r.copy(),
        density=p.copy(),
        W=w.reshape(*shape, 2, 3),
        b=b.reshape(*shape, 3),
        loss=loss.reshape(shape),
        labels=phase_label(w).reshape(shape),
        converged=ok.reshape(shape),
    )


# ---------------------------------------------------------------- phase maps


@dataclass(frozen=True)
class ExactPhaseMap:
    """The exact n=3, m=2 phase map: global optima on a (density × importance) grid.

    ``importance`` (ni,), ``density`` (nd,): the axes. ``labels`` (nd, ni) str — one row per
    density, one column per importance (the main job's contract); ``W`` (nd, ni, 2, 3), ``b``
    (nd, ni, 3); ``loss``, ``converged`` (nd, ni). ``seed``, ``n_random``: the options used.
    """

    importance: Array
    density: Array
    labels: NDArray[np.str_]
    W: Array
    b: Array
    loss: Array
    converged: NDArray[np.bool_]
    seed: int
    n_random: int


def _neighbours(x: Array) -> Array:
    """(4, nd*ni, ...) copies of a (nd, ni, ...) grid: each cell's four neighbours (itself at
    the edges)."""
    up = np.concatenate([x[:1], x[:-1]], axis=0)
    down = np.concatenate([x[1:], x[-1:]], axis=0)
    left = np.concatenate([x[:, :1], x[:, :-1]], axis=1)
    right = np.concatenate([x[:, 1:], x[:, -1:]], axis=1)
    return np.stack([s.reshape(-1, *x.shape[2:]) for s in (up, down, left, right)])


def _compute_map(
    r: Array, p: Array, seed: int, n_random: int, max_sweeps: int = 4
) -> dict[str, NDArray[Any]]:
    rr, pp = np.meshgrid(r, p)  # (nd, ni): rows = density, columns = importance
    rf, pf = rr.ravel(), pp.ravel()
    w, b, loss, ok = _optimum_flat(rf, pf, seed, n_random)
    nd, ni = rr.shape
    for _ in range(max_sweeps):
        # Restart each cell from those neighbours' optima that are a different solution (WᵀW or
        # b differs by more than 0.02); the same solution would only converge back.
        gram = np.swapaxes(w, -1, -2) @ w
        state = np.concatenate([gram.reshape(-1, 9), b], axis=1).reshape(nd, ni, 12)
        differs = np.max(np.abs(_neighbours(state) - state.reshape(-1, 12)), axis=-1) > 0.02
        slot, cell = np.nonzero(differs)
        if cell.size == 0:
            break
        w_nb = _neighbours(w.reshape(nd, ni, 2, 3))[slot, cell]
        b_nb = _neighbours(b.reshape(nd, ni, 3))[slot, cell]
        w_n, b_n, loss_n, ok_n = _best_of(rf[cell], pf[cell], w_nb[None], b_nb[None])
        better = loss_n < loss[cell] - 1e-13 * np.abs(loss[cell])
        if not np.any(better):
            break
        # Several neighbours may improve one cell: keep the lowest.
        order = np.argsort(np.where(better, loss_n, np.inf))[::-1]
        for idx in order[better[order]]:
            c = cell[idx]
            if loss_n[idx] < loss[c]:
                w[c], b[c], loss[c], ok[c] = w_n[idx], b_n[idx], loss_n[idx], ok_n[idx]
    return {
        "W": w.reshape(nd, ni, 2, 3),
        "b": b.reshape(nd, ni, 3),
        "loss": loss.reshape(nd, ni),
        "converged": ok.reshape(nd, ni),
        "labels": phase_label(w).reshape(nd, ni),
    }


def exact_phase_map(
    importance: Any, density: Any, *, seed: int = 0, n_random: int = 2, cache: bool = True
) -> ExactPhaseMap:
    """Exact n=3, m=2 phase map on the grid ``importance`` (ni,) × ``density`` (nd,) (1-D each).

    Labels (nd, ni): one row per density, one column per importance, compatible with
    ``toysup.metrics.phase_label_n3m2``. With ``cache=True`` the result is read from / written
    to ``$TOYSUP_CACHE_DIR`` (default ``~/.cache/toysup``) as ``.npz`` + JSON (no pickle), keyed
    by a hash of the grid and the options; an entry that fails validation (checksum, shapes,
    dtypes, finiteness, labels) is recomputed with a warning (the validated store of
    ``theory.n2m1.cache``). Timing: docs/performance.md.
    """
    if not isinstance(cache, (bool, np.bool_)):
        raise TypeError(f"cache must be True or False, got {cache!r}")
    seed, n_random = _check_options(seed, n_random)
    r = check_importance("importance", importance)
    p = check_density("density", density)
    if r.ndim != 1 or p.ndim != 1:
        raise ValueError(
            f"importance and density must be 1-D grids, got shapes {r.shape} and {p.shape}"
        )
    nd, ni = p.size, r.size
    description = {
        "kind": "n3m2_exact_phase_map",
        "version": _CACHE_VERSION,
        "importance": [float(v) for v in r],
        "density": [float(v) for v in p],
        "seed": seed,
        "n_random": n_random,
    }
    spec = {
        "W": _cache.ArraySpec((nd, ni, 2, 3), "<f8", finite=True),
        "b": _cache.ArraySpec((nd, ni, 3), "<f8", finite=True),
        "loss": _cache.ArraySpec((nd, ni), "<f8", finite=True),
        "converged": _cache.ArraySpec((nd, ni), "|b1"),
        "labels": _cache.ArraySpec((nd, ni), "<U19", allowed=PHASES),
    }
    arrays = _cache.load("n3m2_exact_map", description, spec) if cache else None
    if arrays is None:
        arrays = _compute_map(r, p, seed, n_random)
        arrays["labels"] = np.asarray(arrays["labels"], dtype="<U19")
        if cache:
            _cache.save("n3m2_exact_map", description, arrays)
    return ExactPhaseMap(
        importance=r.copy(),
        density=p.copy(),
        labels=np.asarray(arrays["labels"]),
        W=np.asarray(arrays["W"]),
        b=np.asarray(arrays["b"]),
        loss=np.asarray(arrays["loss"]),
        converged=np.asarray(arrays["converged"]),
        seed=seed,
        n_random=n_random,
    )


# ---------------------------------------------------------------- the boundary


def _check_phases(phases: Any) -> tuple[str, ...]:
    if isinstance(phases, str) or not isinstance(phases, Sequence):
        raise TypeError(f"phases must be a sequence of labels from {PHASES}, got {phases!r}")
    chosen = tuple(phases)
    bad = [v for v in chosen if v not in PHASES]
    if not chosen or bad:
        raise ValueError(
            f"phases must be a non-empty sequence of labels from {PHASES}, got {phases!r}"
        )
    return chosen


def _is_superposition(w: Array, phases: tuple[str, ...], threshold: float) -> NDArray[np.bool_]:
    return np.isin(phase_label(w, threshold=threshold), phases)


def exact_boundary(
    importance: Any,
    *,
    seed: int = 0,
    n_random: int = 2,
    density_range: tuple[float, float] = (0.01, 1.0),
    n_scan: int = 24,
    n_bisect: int = 24,
    phases: Sequence[str] = SUPERPOSITION_PHASES,
    threshold: float = REPRESENTED_THRESHOLD,
    cache: bool = True,
) -> Any:
    """p*(r): the density below which the exact optimum is in superposition, where well defined.

    Vectorised over ``importance``. "Superposition" means a label in ``phases`` (default
    ``SUPERPOSITION_PHASES``: all three features represented — the paper's two antipodal
    arrangements and the triangle; ``ANTIPODAL_PHASES`` gives the candidates' notion, the edge of
    the antipodal phases). For each r the optimum is first found on ``n_scan`` log-spaced
    densities in ``density_range``; the boundary is well defined when the labels there are
    superposition below one density and not above it (one crossing). It is then located by
    bisection in log p, re-optimising at every step from the standard starts plus the optima at
    both bracket ends (each basin followed by continuation); ``n_bisect`` halvings of one scan
    interval. NaN where no single crossing exists in the range (e.g. no superposition at the
    lowest density, superposition up to p = 1, or with ``ANTIPODAL_PHASES`` a band of another
    phase in between). ``threshold``: the representation threshold of :func:`phase_label`, for
    sensitivity studies. With ``cache=True`` the result is read from / written to the validated
    disk cache (keyed by every argument), as :func:`exact_phase_map` does.
    """
    seed, n_random = _check_options(seed, n_random)
    n_scan = check_positive_int("n_scan", n_scan)
    n_bisect = check_positive_int("n_bisect", n_bisect)
    chosen = _check_phases(phases)
    threshold = check_threshold(threshold)
    if not isinstance(cache, (bool, np.bool_)):
        raise TypeError(f"cache must be True or False, got {cache!r}")
    lo_p, hi_p = (float(v) for v in check_density("density_range", density_range))
    if not lo_p < hi_p:
        raise ValueError(f"density_range must be (low, high) with low < high, got {density_range}")
    r = check_importance("importance", importance)
    if np.any(r == 0):
        raise ValueError(f"importance must be > 0, got {importance!r}")
    shape = r.shape
    rf = r.ravel().astype(np.float64)
    description = {
        "kind": "n3m2_exact_boundary",
        "version": _CACHE_VERSION,
        "importance": [float(v) for v in rf],
        "seed": seed,
        "n_random": n_random,
        "density_range": [lo_p, hi_p],
        "n_scan": n_scan,
        "n_bisect": n_bisect,
        "phases": list(chosen),
        "threshold": threshold,
    }
    spec = {"density": _cache.ArraySpec((rf.size,), "<f8")}
    arrays = _cache.load("n3m2_exact_boundary", description, spec) if cache else None
    if arrays is None:
        p_star = _boundary(rf, seed, n_random, (lo_p, hi_p), n_scan, n_bisect, chosen, threshold)
        arrays = {"density": p_star}
        if cache:
            _cache.save("n3m2_exact_boundary", description, arrays)
    return np.asarray(arrays["density"], dtype=np.float64).reshape(shape)


def _boundary(
    rf: Array,
    seed: int,
    n_random: int,
    density_range: tuple[float, float],
    n_scan: int,
    n_bisect: int,
    phases: tuple[str, ...],
    threshold: float,
) -> Array:
    """:func:`exact_boundary` on a flat, validated importance array (R,)."""
    grid = np.geomspace(*density_range, n_scan)
    rr, pp = np.meshgrid(rf, grid)  # (n_scan, R)
    w, b, _, _ = _optimum_flat(rr.ravel(), pp.ravel(), seed, n_random)
    sup = _is_superposition(w, phases, threshold).reshape(n_scan, rf.size)
    w = w.reshape(n_scan, rf.size, 2, 3)
    b = b.reshape(n_scan, rf.size, 3)
    flips = np.sum(sup[1:] != sup[:-1], axis=0)
    valid = sup[0] & ~sup[-1] & (flips == 1)
    cut = np.argmax(~sup, axis=0)  # first non-superposition scan point
    idx = np.clip(cut, 1, n_scan - 1)
    cols = np.arange(rf.size)
    lo = np.log(grid[idx - 1])
    hi = np.log(grid[idx])
    w_lo, b_lo = w[idx - 1, cols], b[idx - 1, cols]
    w_hi, b_hi = w[idx, cols], b[idx, cols]
    for step in range(n_bisect):
        mid = 0.5 * (lo + hi)
        extra = (np.stack([w_lo, w_hi]), np.stack([b_lo, b_hi]))
        w_m, b_m, _, _ = _optimum_flat(rf, np.exp(mid), seed + 1 + step, n_random, extra)
        s = _is_superposition(w_m, phases, threshold)
        lo, hi = np.where(s, mid, lo), np.where(s, hi, mid)
        w_lo = np.where(s[:, None, None], w_m, w_lo)
        b_lo = np.where(s[:, None], b_m, b_lo)
        w_hi = np.where(s[:, None, None], w_hi, w_m)
        b_hi = np.where(s[:, None], b_hi, b_m)
    p_star = np.exp(0.5 * (lo + hi))
    return np.where(valid, p_star, np.nan)


@dataclass(frozen=True)
class ExactTransition:
    """The exact optimum on both sides of the superposition boundary, for each r (shape S).

    ``density``: p*(r) (:func:`exact_boundary`). ``*_below`` / ``*_above``: the optimum at
    p*·(1 ∓ ``offset``): ``W`` (S, 2, 3), ``b`` (S, 3), ``loss`` (S,), ``labels`` (S,), and
    ``dloss_ddensity`` — dL*/dp by the envelope theorem (∂L/∂p at the fixed optimum, exact:
    :func:`theory.landscape.expected_loss_density_grad`). ``jump`` (S,): max |Δ(WᵀW)| and |Δb|
    across the boundary. A first-order transition shows a jump in the optimum and in dL*/dp.
    """

    importance: Array
    density: Array
    offset: float
    W_below: Array
    W_above: Array
    b_below: Array
    b_above: Array
    loss_below: Array
    loss_above: Array
    dloss_ddensity_below: Array
    dloss_ddensity_above: Array
    labels_below: NDArray[np.str_]
    labels_above: NDArray[np.str_]
    jump: Array


def exact_transition(
    importance: Any,
    *,
    seed: int = 0,
    n_random: int = 2,
    offset: float = 1e-6,
    phases: Sequence[str] = SUPERPOSITION_PHASES,
) -> ExactTransition:
    """The optimum just below and just above :func:`exact_boundary` (see :class:`ExactTransition`);
    ``phases``: the labels counted as superposition, as there."""
    seed, n_random = _check_options(seed, n_random)
    r = check_importance("importance", importance).ravel().astype(np.float64)
    p_star = np.asarray(
        exact_boundary(r, seed=seed, n_random=n_random, phases=phases), dtype=np.float64
    )
    if np.any(np.isnan(p_star)):
        raise ValueError(
            f"the boundary is not well defined in [0.01, 1] for importance {importance!r} "
            f"(p* = {p_star.tolist()})"
        )
    imp = np.stack([np.ones_like(r), np.ones_like(r), r], axis=-1)
    sides = {}
    for name, q in (("below", p_star * (1 - offset)), ("above", p_star * (1 + offset))):
        w, b, loss, _ = _optimum_flat(r, q, seed, n_random, thorough=True)
        slope = expected_loss_density_grad(w, b, q[:, None], imp).sum(axis=-1)
        sides[name] = (w, b, loss, slope, phase_label(w))
    gram = {k: np.swapaxes(v[0], -1, -2) @ v[0] for k, v in sides.items()}
    jump = np.maximum(
        np.max(np.abs(gram["above"] - gram["below"]), axis=(-2, -1)),
        np.max(np.abs(sides["above"][1] - sides["below"][1]), axis=-1),
    )
    return ExactTransition(
        importance=r,
        density=p_star,
        offset=offset,
        W_below=sides["below"][0],
        W_above=sides["above"][0],
        b_below=sides["below"][1],
        b_above=sides["above"][1],
        loss_below=sides["below"][2],
        loss_above=sides["above"][2],
        dloss_ddensity_below=sides["below"][3],
        dloss_ddensity_above=sides["above"][3],
        labels_below=sides["below"][4],
        labels_above=sides["above"][4],
        jump=jump,
    )
