"""Global minimum of the exact n=2, m=1 landscape: optima, phase maps, boundary, transition.

At each (r, p) (importances (1, r), both densities p) the loss is minimised over (w1, w2, b1, b2)
— or over (w1, w2) with b = 0 when ``bias=False`` — by batched saddle-free Newton steps
(:mod:`theory.n2m1.newton`) from a fixed set of starts, all cells and starts at once: one start near
each kind of local minimum seen in the landscape (docs/theory.md, "The exact landscape's local
minima"), each jittered so none sits exactly on a stationary point, plus ``n_random`` random
starts from ``numpy.random.default_rng(seed)``. Phase maps are then polished by restarting every
cell from its four neighbours' optima until nothing improves (continuation on the grid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._summary import Summarized, Summary
from theory._validation import check_density, check_importance, check_positive_int
from theory.n2m1 import cache as _n2m1_cache
from theory.n2m1.kernels import loss_terms
from theory.n2m1.newton import minimize
from theory.n2m1.phase import REPRESENTED_THRESHOLD, phase_label
from theory.n2m1.summaries import (
    exact_optimum_summary,
    exact_phase_map_summary,
    exact_transition_summary,
)

Array = NDArray[np.float64]

_CACHE_VERSION = 1
_JITTER = 0.01  # scale of the deterministic jitter on the structured starts

# Structured starts (w_first, w_extra, b_first, b_extra); "h" in a bias means p/2.
_STARTS_BIAS: tuple[tuple[float | str, ...], ...] = (
    (1.0, 0.0, 0.0, "h"),  # extra feature dropped
    (0.0, 1.0, "h", 0.0),  # dedicated
    (1.0, -1.0, 0.0, 0.0),  # antipodal pair
    (1.05, -0.8, 0.05, 0.15),  # lopsided pair (r < 1)
    (-0.8, 1.05, 0.15, 0.05),  # lopsided pair (r > 1)
    (1.0, -0.35, 0.07, 0.37),  # first feature plus a weak opposite-sign extra
    (-0.35, 1.0, 0.37, 0.07),  # mirror image
    (1.0, 0.2, -0.1, "h"),  # first feature plus a weak same-sign extra
    (0.2, 1.0, "h", -0.1),  # mirror image
    (0.75, -0.75, 0.3, 0.3),  # dense symmetric pair
    (0.7, 0.7, 0.0, 0.0),  # same-sign pair ("confused")
)
_STARTS_NO_BIAS: tuple[tuple[float, ...], ...] = (
    (1.0, 0.0),
    (0.0, 1.0),
    (1.0, -1.0),
    (0.7, 0.7),
    (1.0, -0.35),
    (-0.35, 1.0),
    (1.0, 0.3),
    (0.3, 1.0),
    (1.0, 0.6),
    (0.6, 1.0),
)


def _problem(r: Array, p: Array, bias: bool) -> tuple[Any, Any]:
    """Loss-gradient-Hessian and loss-only callables over rows of x = (w1, w2[, b1, b2])."""
    importance = np.stack([np.ones_like(r), r], axis=-1)  # (N, 2)
    density = np.stack([p, p], axis=-1)  # (N, 2)

    def split(x: Array) -> tuple[Array, Array]:
        return x[:, :2], (x[:, 2:] if bias else np.zeros_like(x[:, :2]))

    def fun_grad_hess(x: Array, rows: NDArray[np.intp]) -> tuple[Array, Array, Array]:
        w, b = split(x)
        loss, g_w, g_b, hess = loss_terms(w, b, density[rows], importance[rows], order=2)
        if bias:
            return loss, np.concatenate([g_w, g_b], axis=1), hess
        return loss, g_w, hess[:, :2, :2]

    def fun(x: Array, rows: NDArray[np.intp]) -> Array:
        w, b = split(x)
        return loss_terms(w, b, density[rows], importance[rows], order=0)[0]

    return fun_grad_hess, fun


def _canonical(x: Array) -> Array:
    """Use the symmetry W → −W (the loss depends on WᵀW only) to make w_first > 0, or w_extra >= 0
    when |w_first| <= 1e-6."""
    w = x[..., :2]
    flip = np.where(np.abs(w[..., 0]) > 1e-6, w[..., 0] < 0, w[..., 1] < 0)
    out = x.copy()
    out[..., :2] = np.where(flip[..., None], -w, w)
    return out


def _starts(p: Array, bias: bool, n_random: int, seed: int) -> Array:
    """Starts (K, N, d) for N cells of density ``p``."""
    rng = np.random.default_rng(seed)
    n = p.shape[0]
    table = _STARTS_BIAS if bias else _STARTS_NO_BIAS
    rows = []
    for spec in table:
        cols = [np.full(n, 0.5) * p if v == "h" else np.full(n, float(v)) for v in spec]
        rows.append(np.stack(cols, axis=-1))
    structured = np.stack(rows)  # (K0, N, d)
    structured = structured + _JITTER * rng.standard_normal(structured.shape)
    d = structured.shape[-1]
    rand = np.empty((n_random, n, d))
    rand[..., :2] = 1.2 * rng.standard_normal((n_random, n, 2))
    if bias:
        rand[..., 2:] = 0.4 * rng.standard_normal((n_random, n, 2))
    return np.concatenate([structured, rand], axis=0)


def _best_of(
    r: Array, p: Array, starts: Array, bias: bool
) -> tuple[Array, Array, NDArray[np.bool_]]:
    """Minimise from every start (K, N, d); per cell keep the lowest loss. Returns x, loss, ok."""
    k, n, d = starts.shape
    fun_grad_hess, fun = _problem(np.tile(r, k), np.tile(p, k), bias)  # row = start * n + cell
    res = minimize(fun_grad_hess, fun, starts.reshape(k * n, d))
    loss = res.loss.reshape(k, n)
    best = np.argmin(loss, axis=0)  # (N,)
    cols = np.arange(n)
    x = res.x.reshape(k, n, d)[best, cols]
    # At r = 1 swapping the features is a symmetry, and mirror-image optima tie to rounding;
    # break the tie deterministically towards |w_first| >= |w_extra| (so "not_represented"
    # rather than "dedicated" above the boundary, as in candidate_phase_map).
    swap = (r == 1.0) & (np.abs(x[:, 1]) > np.abs(x[:, 0]))
    x = np.where(swap[:, None], x[:, [1, 0, 3, 2][:d]], x)
    return _canonical(x), loss[best, cols], res.converged.reshape(k, n)[best, cols]


@dataclass(frozen=True, repr=False)
class ExactOptimum(Summarized):
    """Global minima of the exact loss at broadcast (importance, density) points.

    ``w``, ``b``: (..., 2) with feature 0 the first feature (importance 1) and feature 1 the extra
    one (importance r); sign fixed by W → −W so that w_first > 0. ``loss``, ``labels``
    (``phase_label`` of w), ``converged``: (...). ``bias=False`` means b = 0 was imposed.
    """

    importance: Array
    density: Array
    w: Array
    b: Array
    loss: Array
    labels: NDArray[np.str_]
    converged: NDArray[np.bool_]
    bias: bool

    def _summary(self) -> Summary:
        return exact_optimum_summary(self)


def _grid_args(importance: Any, density: Any) -> tuple[Array, Array]:
    r = check_importance("importance", importance)
    p = check_density("density", density)
    return r, p


def _optimum_flat(
    r: Array, p: Array, bias: bool, n_random: int, seed: int, extra: Array | None = None
) -> tuple[Array, Array, NDArray[np.bool_]]:
    starts = _starts(p, bias, n_random, seed)
    if extra is not None:
        starts = np.concatenate([starts, extra], axis=0)
    return _best_of(r, p, starts, bias)


def _split_x(x: Array, bias: bool) -> tuple[Array, Array]:
    return x[..., :2], (x[..., 2:] if bias else np.zeros_like(x[..., :2]))


def exact_optimum(
    importance: Any, density: Any, *, bias: bool = True, seed: int = 0, n_random: int = 4
) -> ExactOptimum:
    """Global minimum of the exact loss at each broadcast (importance r, density p) point.

    Importances are (1, r); both features have density p. Multi-start batched Newton with the
    exact gradient (module docstring); ``n_random`` extra random starts drawn from
    ``numpy.random.default_rng(seed)``. ``bias=False`` fixes b = 0 (T. McGrath's variant).
    """
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be True or False, got {bias!r}")
    n_random = _check_n_random(n_random)
    r, p = _grid_args(importance, density)
    r, p = np.broadcast_arrays(r, p)
    shape = r.shape
    x, loss, ok = _optimum_flat(r.ravel(), p.ravel(), bool(bias), n_random, int(seed))
    w, b = _split_x(x, bool(bias))
    return ExactOptimum(
        importance=r.copy(),
        density=p.copy(),
        w=w.reshape(*shape, 2),
        b=b.reshape(*shape, 2),
        loss=loss.reshape(shape),
        labels=phase_label(w).reshape(shape),
        converged=ok.reshape(shape),
        bias=bool(bias),
    )


def _check_n_random(n_random: Any) -> int:
    if isinstance(n_random, bool) or not isinstance(n_random, (int, np.integer)) or n_random < 0:
        raise ValueError(f"n_random must be an integer >= 0, got {n_random!r}")
    return int(n_random)


# ---------------------------------------------------------------- phase maps


@dataclass(frozen=True, repr=False)
class ExactPhaseMap(Summarized):
    """The exact phase map: global optima on a (density × importance) grid.

    ``importance`` (ni,), ``density`` (nd,): the axes. ``labels`` (nd, ni) str — one row per
    density, one column per importance (the main job's contract); ``w``, ``b`` (nd, ni, 2);
    ``loss``, ``converged`` (nd, ni). ``bias``, ``seed``, ``n_random``: the options used.
    At r = 1 exactly, mirror-image optima tie; the one with |w_first| >= |w_extra| is reported.
    """

    importance: Array
    density: Array
    labels: NDArray[np.str_]
    w: Array
    b: Array
    loss: Array
    converged: NDArray[np.bool_]
    bias: bool
    seed: int
    n_random: int

    def _summary(self) -> Summary:
        return exact_phase_map_summary(self)


def _neighbour_starts(x: Array) -> Array:
    """Starts (4, nd*ni, d) from each cell's four grid neighbours (itself at the edges)."""
    up = np.concatenate([x[:1], x[:-1]], axis=0)
    down = np.concatenate([x[1:], x[-1:]], axis=0)
    left = np.concatenate([x[:, :1], x[:, :-1]], axis=1)
    right = np.concatenate([x[:, 1:], x[:, -1:]], axis=1)
    d = x.shape[-1]
    return np.stack([a.reshape(-1, d) for a in (up, down, left, right)])


def _compute_map(
    r: Array, p: Array, bias: bool, seed: int, n_random: int, max_sweeps: int = 4
) -> dict[str, NDArray[Any]]:
    rr, pp = np.meshgrid(r, p)  # (nd, ni): rows = density, columns = importance
    rf, pf = rr.ravel(), pp.ravel()
    x, loss, ok = _optimum_flat(rf, pf, bias, n_random, seed)
    nd, ni = rr.shape
    for _ in range(max_sweeps):
        starts = _neighbour_starts(x.reshape(nd, ni, -1))
        x_n, loss_n, ok_n = _best_of(rf, pf, starts, bias)
        better = loss_n < loss - 1e-14 * np.abs(loss)
        if not np.any(better):
            break
        x = np.where(better[:, None], x_n, x)
        loss = np.where(better, loss_n, loss)
        ok = np.where(better, ok_n, ok)
    w, b = _split_x(x, bias)
    return {
        "w": w.reshape(nd, ni, 2),
        "b": b.reshape(nd, ni, 2),
        "loss": loss.reshape(nd, ni),
        "converged": ok.reshape(nd, ni),
        "labels": phase_label(w).reshape(nd, ni),
    }


def exact_phase_map(
    importance: Any,
    density: Any,
    *,
    bias: bool = True,
    seed: int = 0,
    n_random: int = 4,
    cache: bool = True,
) -> ExactPhaseMap:
    """Exact phase map on the grid ``importance`` (ni,) × ``density`` (nd,) (both 1-D).

    Labels (nd, ni): one row per density, one column per importance. With ``cache=True`` the
    result is read from / written to ``$TOYSUP_CACHE_DIR`` (default ``~/.cache/toysup``) as
    ``.npz`` + JSON, keyed by a hash of the grid and the options. A 100 × 100 map takes about
    20 s on one core (bench/bench_exact_map.py).
    """
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be True or False, got {bias!r}")
    if not isinstance(cache, (bool, np.bool_)):
        raise TypeError(f"cache must be True or False, got {cache!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    n_random = _check_n_random(n_random)
    r, p = _grid_args(importance, density)
    if r.ndim != 1 or p.ndim != 1:
        raise ValueError(
            f"importance and density must be 1-D grids, got shapes {r.shape} and {p.shape}"
        )
    description = {
        "kind": "n2m1_exact_phase_map",
        "version": _CACHE_VERSION,
        "importance": [float(v) for v in r],
        "density": [float(v) for v in p],
        "bias": bool(bias),
        "seed": int(seed),
        "n_random": n_random,
    }
    arrays = _n2m1_cache.load("n2m1_exact_map", description) if cache else None
    if arrays is None:
        arrays = _compute_map(r, p, bool(bias), int(seed), n_random)
        if cache:
            _n2m1_cache.save("n2m1_exact_map", description, arrays)
    return ExactPhaseMap(
        importance=r.copy(),
        density=p.copy(),
        labels=np.asarray(arrays["labels"], dtype="<U15"),
        w=np.asarray(arrays["w"], dtype=np.float64),
        b=np.asarray(arrays["b"], dtype=np.float64),
        loss=np.asarray(arrays["loss"], dtype=np.float64),
        converged=np.asarray(arrays["converged"], dtype=bool),
        bias=bool(bias),
        seed=int(seed),
        n_random=n_random,
    )


# ---------------------------------------------------------------- the boundary


@dataclass(frozen=True, repr=False)
class ExactTransition(Summarized):
    """The exact optimum on both sides of the superposition boundary, for each r (shape S).

    ``density``: p*(r) (``exact_boundary``). ``*_below`` / ``*_above``: the optimum at
    p*·(1 ∓ ``offset``): ``w``, ``b`` (S, 2), ``loss`` (S,), ``labels`` (S,), and
    ``dloss_ddensity`` — dL*/dp by the envelope theorem (∂L/∂p at the fixed optimum; L is a
    quadratic polynomial in p there, so a central difference is exact). A first-order transition
    shows a jump in w and b and a kink (jump) in dL*/dp.
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

    def _summary(self) -> Summary:
        return exact_transition_summary(self)


def _dloss_ddensity(r: Array, p: Array, w: Array, b: Array) -> Array:
    importance = np.stack([np.ones_like(r), r], axis=-1)
    h = 1e-4 * p

    def at(q: Array) -> Array:
        return loss_terms(w, b, np.stack([q, q], -1), importance, order=0)[0]

    return (at(p + h) - at(p - h)) / (2 * h)


def exact_boundary(
    importance: Any,
    *,
    seed: int = 0,
    n_random: int = 4,
    density_min: float = 1e-3,
    n_bisect: int = 44,
    threshold: float = REPRESENTED_THRESHOLD,
) -> Any:
    """p*(r): the density below which the exact optimum (with biases) is in superposition.

    Vectorised over ``importance`` (r > 0; the paper's range is [0.1, 10]). Bisection on p in
    log space between ``density_min`` and 1 on the label of the global optimum, which at every
    step is re-optimised from the standard starts plus the optima at both bracket ends (so each
    basin is followed by continuation); ``n_bisect`` halvings of [log p_min, 0] give |Δp|/p
    below 1e-12. Where a first-order jump separates the phases this locates the crossing of the
    best superposition minimum's loss with the best other one's; where the weak weight of a
    lopsided pair shrinks continuously (r close to 1), it locates where that weight crosses
    ``REPRESENTED_THRESHOLD``. NaN where the optimum is not in superposition at ``density_min``
    or is still in superposition at p = 1. ``threshold`` (default: the shared rule) is for
    sensitivity studies of the labelling rule.
    """

    def is_sup(x: Array) -> NDArray[np.bool_]:
        return np.asarray(phase_label(x[:, :2], threshold=threshold) == "superposition")

    r = check_importance("importance", importance)
    if np.any(r == 0):
        raise ValueError(f"importance must be > 0, got {importance!r}")
    check_positive_int("n_bisect", n_bisect)
    p_min = float(check_density("density_min", density_min))
    shape = r.shape
    rf = r.ravel().astype(np.float64)
    n = rf.size
    lo = np.full(n, np.log(p_min))
    hi = np.zeros(n)
    x_lo, _, _ = _optimum_flat(rf, np.exp(lo), True, n_random, seed)
    x_hi, _, _ = _optimum_flat(rf, np.exp(hi), True, n_random, seed)
    valid = is_sup(x_lo) & ~is_sup(x_hi)
    for step in range(n_bisect):
        mid = 0.5 * (lo + hi)
        extra = np.stack([x_lo, x_hi])
        x_mid, _, _ = _optimum_flat(rf, np.exp(mid), True, n_random, seed + 1 + step, extra)
        sup = is_sup(x_mid)
        lo = np.where(sup, mid, lo)
        hi = np.where(sup, hi, mid)
        x_lo = np.where(sup[:, None], x_mid, x_lo)
        x_hi = np.where(sup[:, None], x_hi, x_mid)
    p_star = np.exp(0.5 * (lo + hi))
    return np.where(valid, p_star, np.nan).reshape(shape)


def exact_transition(
    importance: Any, *, seed: int = 0, n_random: int = 4, offset: float = 1e-6
) -> ExactTransition:
    """The optimum just below and just above ``exact_boundary`` (see :class:`ExactTransition`)."""
    r = check_importance("importance", importance).ravel().astype(np.float64)
    p_star = np.asarray(exact_boundary(r, seed=seed, n_random=n_random), dtype=np.float64)
    if np.any(np.isnan(p_star)):
        raise ValueError(f"no superposition boundary in (1e-3, 1] for importance {importance!r}")
    sides = {}
    for name, q in (("below", p_star * (1 - offset)), ("above", p_star * (1 + offset))):
        x, loss, _ = _optimum_flat(r, q, True, n_random, seed)
        w, b = x[:, :2], x[:, 2:]
        sides[name] = (w, b, loss, _dloss_ddensity(r, q, w, b), phase_label(w))
    return ExactTransition(
        importance=r,
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
    )
