"""Global minimum of the exact n=2, m=1 landscape (optionally L1-penalised): optima, phase maps.

At each (r, p) (importances (1, r), both densities p) the objective — the loss, plus
``l1_hidden`` · E|h| + ``l1_weights`` · (|w_1| + |w_2|) when penalised — is minimised over
(w1, w2, b1, b2), or over (w1, w2) with b = 0 when ``bias=False``, from a fixed set of starts, all
cells and starts at once: one start near each kind of local minimum seen in the landscape
(docs/theory.md, "The exact landscape's local minima"), each jittered so none sits exactly on a
stationary point, plus ``n_random`` random starts from ``numpy.random.default_rng(seed)``; with a
penalty, also the all-dropped point W = 0. Without penalties the minimiser is batched saddle-free
Newton (:mod:`theory.n2m1.newton`); with them, its orthant-wise version
(:mod:`theory.n2m1.orthant`), which reaches the exact zeros of L1 solutions. Phase maps are then
polished by restarting every cell from its four neighbours' optima until nothing improves
(continuation on the grid). The boundary p*(r) is in :mod:`theory.n2m1.boundary`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._summary import Summarized, Summary
from theory._validation import (
    check_density,
    check_importance,
    check_n_random,
    check_penalty,
    check_seed,
)
from theory.n2m1 import cache as _n2m1_cache
from theory.n2m1.kernels import loss_terms
from theory.n2m1.newton import NewtonResult, minimize
from theory.n2m1.orthant import minimize_orthant
from theory.n2m1.penalty import penalty_terms, penalty_value
from theory.n2m1.phase import PHASES, phase_label
from theory.n2m1.summaries import exact_optimum_summary, exact_phase_map_summary

Array = NDArray[np.float64]

CACHE_VERSION = 2
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


# ---------------------------------------------------------------- one batched problem


def _minimise(
    r: Array, p: Array, l1_hidden: Array, l1_weights: Array, bias: bool, x0: Array
) -> NewtonResult:
    """Minimise the objective of row k (importances (1, r[k]), densities p[k], penalties
    l1_hidden[k], l1_weights[k]) from x0[k] = (w1, w2[, b1, b2]); all rows at once (N, d)."""
    importance = np.stack([np.ones_like(r), r], axis=-1)  # (N, 2)
    density = np.stack([p, p], axis=-1)  # (N, 2)

    def split(x: Array) -> tuple[Array, Array]:
        return x[:, :2], (x[:, 2:] if bias else np.zeros_like(x[:, :2]))

    penalised = bool(np.any(l1_hidden > 0) or np.any(l1_weights > 0))

    def smooth_fgh(x: Array, rows: NDArray[np.intp]) -> tuple[Array, Array, Array]:
        w, b = split(x)
        loss, g_w, g_b, hess = loss_terms(
            w, b, density[rows], importance[rows], order=2, fast_hessian=penalised
        )
        if bias:
            return loss, np.concatenate([g_w, g_b], axis=1), hess
        return loss, g_w, hess[:, :2, :2]

    def smooth_f(x: Array, rows: NDArray[np.intp]) -> Array:
        w, b = split(x)
        return loss_terms(w, b, density[rows], importance[rows], order=0)[0]

    if not penalised:
        return minimize(smooth_fgh, smooth_f, x0)

    def kink_fgh(x: Array, rows: NDArray[np.intp], signs: Array) -> tuple[Array, Array, Array]:
        value, grad, hess = penalty_terms(
            x[:, :2], density[rows], l1_hidden[rows], l1_weights[rows], signs, order=2
        )
        return value, grad, hess

    def kink_f(x: Array, rows: NDArray[np.intp]) -> Array:
        return penalty_value(x[:, :2], density[rows], l1_hidden[rows], l1_weights[rows])

    return minimize_orthant(smooth_fgh, smooth_f, kink_fgh, kink_f, x0, n_kink=2)


def _canonical(x: Array) -> Array:
    """Use the symmetry W → −W (loss and penalties depend on WᵀW and |w_i|, E|h| only) to make
    w_first > 0, or w_extra >= 0 when |w_first| <= 1e-6."""
    w = x[..., :2]
    flip = np.where(np.abs(w[..., 0]) > 1e-6, w[..., 0] < 0, w[..., 1] < 0)
    out = x.copy()
    out[..., :2] = np.where(flip[..., None], -w, w)
    return out


def _starts(p: Array, bias: bool, n_random: int, seed: int, penalised: bool = False) -> Array:
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
    parts = [structured, rand]
    if penalised:  # W = 0 exactly, biases at E[x] = p/2: the "none" local minimum
        dropped = np.zeros((1, n, d))
        if bias:
            dropped[..., 2:] = 0.5 * p[None, :, None]
        parts.append(dropped)
    return np.concatenate(parts, axis=0)


def best_of(
    r: Array, p: Array, starts: Array, bias: bool, l1_hidden: Array, l1_weights: Array
) -> tuple[Array, Array, NDArray[np.bool_]]:
    """Minimise from every start (K, N, d); per cell keep the lowest objective.

    Returns x (N, d), the objective (N,), converged (N,)."""
    k, n, d = starts.shape
    res = _minimise(
        np.tile(r, k),
        np.tile(p, k),
        np.tile(l1_hidden, k),
        np.tile(l1_weights, k),
        bias,
        starts.reshape(k * n, d),
    )  # row = start * n + cell
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


def optimum_flat(
    r: Array,
    p: Array,
    bias: bool,
    n_random: int,
    seed: int,
    extra: Array | None = None,
    l1_hidden: Array | None = None,
    l1_weights: Array | None = None,
) -> tuple[Array, Array, NDArray[np.bool_]]:
    """Global optimum at N cells (1-D ``r``, ``p``, per-cell penalties, default 0): x (N, d),
    objective (N,), converged (N,). ``extra``: more starts (K', N, d)."""
    lh = np.zeros_like(r) if l1_hidden is None else np.broadcast_to(l1_hidden, r.shape)
    lw = np.zeros_like(r) if l1_weights is None else np.broadcast_to(l1_weights, r.shape)
    penalised = bool(np.any(lh > 0) or np.any(lw > 0))
    starts = _starts(p, bias, n_random, seed, penalised)
    if extra is not None:
        starts = np.concatenate([starts, extra], axis=0)
    return best_of(r, p, starts, bias, lh, lw)


def split_x(x: Array, bias: bool) -> tuple[Array, Array]:
    """(w, b) from rows x = (w1, w2[, b1, b2]) (b = 0 without bias)."""
    return x[..., :2], (x[..., 2:] if bias else np.zeros_like(x[..., :2]))


def reconstruction_loss(r: Array, p: Array, w: Array, b: Array) -> Array:
    """The unpenalised loss at (w, b) (..., 2) for importances (1, r), densities p (...)."""
    importance = np.stack([np.ones_like(r), r], axis=-1)
    return loss_terms(w, b, np.stack([p, p], -1), importance, order=0)[0]


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def scalar_penalty(name: str, value: Any) -> float:
    """A single penalty coefficient (a finite number >= 0) as a float."""
    arr = check_penalty(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a single number here, got an array of shape {arr.shape}")
    return float(arr)


# ---------------------------------------------------------------- optima at points


@dataclass(frozen=True, repr=False)
class ExactOptimum(Summarized):
    """Global minima of the exact (penalised) objective at broadcast (importance, density) points.

    ``w``, ``b``: (..., 2) with feature 0 the first feature (importance 1) and feature 1 the extra
    one (importance r); sign fixed by W → −W so that w_first > 0. ``loss``: the reconstruction
    loss L (unpenalised) at the optimum; ``objective``: what was minimised, L + l1_hidden · E|h| +
    l1_weights · (|w_1| + |w_2|) (equal to ``loss`` without penalties). ``labels``
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
    objective: Array
    l1_hidden: Array
    l1_weights: Array

    def _summary(self) -> Summary:
        return exact_optimum_summary(self)


def exact_optimum(
    importance: Any,
    density: Any,
    *,
    bias: bool = True,
    seed: int = 0,
    n_random: int = 4,
    l1_hidden: Any = 0.0,
    l1_weights: Any = 0.0,
) -> ExactOptimum:
    """Global minimum of the exact objective at each broadcast (importance r, density p) point.

    Importances are (1, r); both features have density p. ``l1_hidden``, ``l1_weights`` >= 0
    (scalars or arrays broadcasting with the points) add L1 penalties on the hidden activation
    and on the weights (docs/control_theory.md). Multi-start batched Newton with exact
    derivatives (module docstring); ``n_random`` extra random starts drawn from
    ``numpy.random.default_rng(seed)``. ``bias=False`` fixes b = 0 (T. McGrath's variant).
    """
    bias = check_bool("bias", bias)
    n_random = check_n_random(n_random)
    seed = check_seed(seed)
    r = check_importance("importance", importance)
    p = check_density("density", density)
    lh = check_penalty("l1_hidden", l1_hidden)
    lw = check_penalty("l1_weights", l1_weights)
    try:
        r, p, lh, lw = np.broadcast_arrays(r, p, lh, lw)
    except ValueError as exc:
        raise ValueError(
            "importance, density, l1_hidden and l1_weights must broadcast together, got shapes "
            f"{np.shape(r)}, {np.shape(p)}, {np.shape(lh)} and {np.shape(lw)}"
        ) from exc
    shape = r.shape
    flat = [a.ravel() for a in (r, p, lh, lw)]
    x, objective, ok = optimum_flat(
        flat[0], flat[1], bias, n_random, seed, l1_hidden=flat[2], l1_weights=flat[3]
    )
    w, b = split_x(x, bias)
    loss = reconstruction_loss(flat[0], flat[1], w, b)
    return ExactOptimum(
        importance=r.copy(),
        density=p.copy(),
        w=w.reshape(*shape, 2),
        b=b.reshape(*shape, 2),
        loss=loss.reshape(shape),
        labels=phase_label(w).reshape(shape),
        converged=ok.reshape(shape),
        bias=bias,
        objective=objective.reshape(shape),
        l1_hidden=lh.copy(),
        l1_weights=lw.copy(),
    )


# ---------------------------------------------------------------- phase maps


@dataclass(frozen=True, repr=False)
class ExactPhaseMap(Summarized):
    """The exact phase map: global optima on a (density × importance) grid.

    ``importance`` (ni,), ``density`` (nd,): the axes. ``labels`` (nd, ni) str — one row per
    density, one column per importance (the main job's contract); ``w``, ``b`` (nd, ni, 2);
    ``loss`` (reconstruction loss), ``objective`` (loss plus penalties; the minimised quantity),
    ``converged`` (nd, ni). ``bias``, ``seed``, ``n_random``, ``l1_hidden``, ``l1_weights``: the
    options used. At r = 1 exactly, mirror-image optima tie; the one with |w_first| >= |w_extra|
    is reported.
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
    objective: Array
    l1_hidden: float
    l1_weights: float

    def _summary(self) -> Summary:
        return exact_phase_map_summary(self)


def neighbour_starts(x: Array) -> Array:
    """Starts (4, nd*ni, d) from each cell's four grid neighbours (itself at the edges)."""
    up = np.concatenate([x[:1], x[:-1]], axis=0)
    down = np.concatenate([x[1:], x[-1:]], axis=0)
    left = np.concatenate([x[:, :1], x[:, :-1]], axis=1)
    right = np.concatenate([x[:, 1:], x[:, -1:]], axis=1)
    d = x.shape[-1]
    return np.stack([a.reshape(-1, d) for a in (up, down, left, right)])


def _compute_map(
    r: Array,
    p: Array,
    bias: bool,
    seed: int,
    n_random: int,
    max_sweeps: int = 4,
    l1_hidden: float = 0.0,
    l1_weights: float = 0.0,
) -> dict[str, NDArray[Any]]:
    rr, pp = np.meshgrid(r, p)  # (nd, ni): rows = density, columns = importance
    rf, pf = rr.ravel(), pp.ravel()
    lh, lw = np.full_like(rf, l1_hidden), np.full_like(rf, l1_weights)
    x, objective, ok = optimum_flat(rf, pf, bias, n_random, seed, l1_hidden=lh, l1_weights=lw)
    nd, ni = rr.shape
    for _ in range(max_sweeps):
        starts = neighbour_starts(x.reshape(nd, ni, -1))
        x_n, objective_n, ok_n = best_of(rf, pf, starts, bias, lh, lw)
        better = objective_n < objective - 1e-14 * np.abs(objective)
        if not np.any(better):
            break
        x = np.where(better[:, None], x_n, x)
        objective = np.where(better, objective_n, objective)
        ok = np.where(better, ok_n, ok)
    w, b = split_x(x, bias)
    return {
        "w": w.reshape(nd, ni, 2),
        "b": b.reshape(nd, ni, 2),
        "loss": reconstruction_loss(rf, pf, w, b).reshape(nd, ni),
        "objective": objective.reshape(nd, ni),
        "converged": ok.reshape(nd, ni),
        "labels": phase_label(w).reshape(nd, ni),
    }


def _map_spec(nd: int, ni: int) -> dict[str, _n2m1_cache.ArraySpec]:
    spec = _n2m1_cache.ArraySpec
    return {
        "w": spec((nd, ni, 2), "float64", finite=True),
        "b": spec((nd, ni, 2), "float64", finite=True),
        "loss": spec((nd, ni), "float64", finite=True),
        "objective": spec((nd, ni), "float64", finite=True),
        "converged": spec((nd, ni), "bool"),
        "labels": spec((nd, ni), "<U15", allowed=PHASES),
    }


def exact_phase_map(
    importance: Any,
    density: Any,
    *,
    bias: bool = True,
    seed: int = 0,
    n_random: int = 4,
    cache: bool = True,
    l1_hidden: float = 0.0,
    l1_weights: float = 0.0,
) -> ExactPhaseMap:
    """Exact phase map on the grid ``importance`` (ni,) × ``density`` (nd,) (both 1-D).

    Labels (nd, ni): one row per density, one column per importance. ``l1_hidden``,
    ``l1_weights``: single numbers >= 0, the L1 penalties on E|h| and on |w_1| + |w_2|
    (docs/control_theory.md). With ``cache=True`` the result is read from / written to
    ``$TOYSUP_CACHE_DIR`` (default ``~/.cache/toysup``) as ``.npz`` + JSON, keyed by a hash of
    the grid and every option (penalties included) and validated on reading
    (:mod:`theory.n2m1.cache`). A 100 × 100 map takes about 15 s on one core, with or without a
    penalty (bench/bench_exact_map.py).
    """
    bias = check_bool("bias", bias)
    cache = check_bool("cache", cache)
    seed = check_seed(seed)
    n_random = check_n_random(n_random)
    lh = scalar_penalty("l1_hidden", l1_hidden)
    lw = scalar_penalty("l1_weights", l1_weights)
    r = check_importance("importance", importance)
    p = check_density("density", density)
    if r.ndim != 1 or p.ndim != 1:
        raise ValueError(
            f"importance and density must be 1-D grids, got shapes {r.shape} and {p.shape}"
        )
    description = {
        "kind": "n2m1_exact_phase_map",
        "version": CACHE_VERSION,
        "importance": [float(v) for v in r],
        "density": [float(v) for v in p],
        "bias": bias,
        "seed": seed,
        "n_random": n_random,
        "l1_hidden": lh,
        "l1_weights": lw,
    }
    spec = _map_spec(p.size, r.size)
    arrays = _n2m1_cache.load("n2m1_exact_map", description, spec) if cache else None
    if arrays is None:
        arrays = _compute_map(r, p, bias, seed, n_random, l1_hidden=lh, l1_weights=lw)
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
        bias=bias,
        seed=seed,
        n_random=n_random,
        objective=np.asarray(arrays["objective"], dtype=np.float64),
        l1_hidden=lh,
        l1_weights=lw,
    )
