"""The paper's n=2, m=1 candidates under L1 penalties, and the boundary they predict.

Elhage et al. (2022), "Superposition as a Phase Change", and its open question "How can we
control whether superposition and polysemanticity occur? ... L1 regularization of activations".
The objective is L + λ_h E|h| + λ_w (|w_1| + |w_2|) (``l1_hidden`` = λ_h, ``l1_weights`` = λ_w);
importances (1, r), both densities p, V = p/3 − p²/4. Derivations: docs/control_theory.md.

Two candidate families:

* ``norm="unit"`` — the paper's solutions unchanged (W = [1, 0], [0, 1], [1, −1]; b as in the
  paper), plus W = 0 with b = (p/2, p/2) ("none": every feature dropped, which a penalty can make
  optimal). The penalty adds a constant per candidate, so the predicted boundary stays in closed
  form: superposition beats the better single-feature candidate iff
  A p² − B p + λ_w < 0 with A = (5m + 2M)/12 − 2λ_h/3, B = m/3 − λ_h/2, m = min(r, 1),
  M = max(r, 1); its larger root is the upper edge p*, its smaller root (λ_w > 0) a lower edge.
* ``norm="optimal"`` — the same shapes with the norm re-optimised: a single represented feature
  of importance I with weight w and bias p(1 − w²)/2 has objective I (1 − w²)² V + κ w
  (κ = λ_h p/2 + λ_w), and the antipodal pair (w, −w), b = 0 has
  (1 + r) [p/3 − (2p/3 − 5p²/12) w² + V w⁴] + κ_s w (κ_s = λ_h p (1 − 2p/3) + 2 λ_w). Both are
  c₀ + c₁ w² + c₂ w⁴ + κ w, stationary where w³ − β w + q = 0 (β = −c₁/(2c₂), q = κ/(4c₂)),
  solved in closed form (the trigonometric root of the depressed cubic). The norm shrinks below
  the penalty-free value for every λ > 0, and jumps to 0 (the feature is dropped) where
  q/β^{3/2} exceeds √6/9 — the point where these candidates stop being the right family.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import sympy as sp
from numpy.typing import NDArray

from theory._validation import check_density, check_importance, check_penalty
from theory.n2m1.symbolic import symbolic_loss

Array = NDArray[np.float64]
Norm = Literal["unit", "optimal"]

#: The candidates' labels, in the order of the arrays of :class:`PenalisedCandidates`.
PENALISED_CANDIDATES = ("not_represented", "dedicated", "superposition", "none")

#: A represented weight is dropped (jumps to 0) where q/β^{3/2} > DROP_THRESHOLD = √6/9.
DROP_THRESHOLD = float(np.sqrt(6.0) / 9.0)

#: Sparse limit (p → 0) of the ``l1_hidden`` that drops a feature of importance I: 8√6/27 · I
#: (= 0.7258 I). Below min(1, r) times this both features stay represented as p → 0, so
#: superposition survives at the sparsest densities; above it, it is gone there.
SPARSE_LIMIT_L1_HIDDEN = float(8.0 * np.sqrt(6.0) / 27.0)


def _check_norm(norm: Any) -> Norm:
    if norm not in ("unit", "optimal"):
        raise ValueError(f"norm must be 'unit' or 'optimal', got {norm!r}")
    return norm  # type: ignore[no-any-return]


# ---------------------------------------------------------------- the norm equation


def optimal_norm(beta: Any, q: Any) -> Array:
    """Largest root w* of w³ − β w + q = 0 (β > 0, q >= 0), or NaN where it has none.

    Trigonometric form: w* = √β · (2/√3) cos(arccos(−(3√3/2) q̃)/3), q̃ = q/β^{3/2} — a local
    minimum of c₀ + c₁ w² + c₂ w⁴ + κ w for q̃ <= 2/(3√3); the global one (better than w = 0)
    for q̃ < √6/9 (``DROP_THRESHOLD``). At q = 0, w* = √β.
    """
    beta = np.asarray(beta, dtype=np.float64)
    q_red = np.asarray(q, dtype=np.float64) / beta**1.5
    arg = -1.5 * np.sqrt(3.0) * q_red
    with np.errstate(invalid="ignore"):
        y = 2.0 / np.sqrt(3.0) * np.cos(np.arccos(np.where(arg >= -1.0, arg, np.nan)) / 3.0)
    return np.sqrt(beta) * y


def _quartic_norm(c0: Array, c1: Array, c2: Array, kappa: Array) -> tuple[Array, Array]:
    """argmin over w >= 0 of c₀ + c₁ w² + c₂ w⁴ + κ w (c₁ < 0 < c₂) and its minimum."""
    w = optimal_norm(-c1 / (2.0 * c2), kappa / (4.0 * c2))
    value = c0 + c1 * w**2 + c2 * w**4 + kappa * w
    better = np.isfinite(value) & (value < c0)
    return np.where(better, w, 0.0), np.where(better, value, c0)


# ---------------------------------------------------------------- numeric candidates


@dataclass(frozen=True)
class PenalisedCandidates:
    """The four candidates at broadcast (importance, density, penalties) points (shape S).

    ``labels`` = ``PENALISED_CANDIDATES``; ``w``, ``b``: (S, 4, 2); ``loss`` (reconstruction
    loss) and ``objective`` (loss + penalties): (S, 4); ``best``: (S,) the label of the lowest
    objective (ties to the earlier label). ``norm``: "unit" or "optimal".
    """

    labels: tuple[str, ...]
    w: Array
    b: Array
    loss: Array
    objective: Array
    best: NDArray[np.str_]
    norm: Norm


def penalised_candidates(
    importance: Any,
    density: Any,
    *,
    l1_hidden: Any = 0.0,
    l1_weights: Any = 0.0,
    norm: Norm = "unit",
) -> PenalisedCandidates:
    """The candidates' weights, biases, losses and objectives (module docstring), broadcast
    over ``importance`` (r), ``density`` (p) and the penalties (all >= 0)."""
    norm = _check_norm(norm)
    r = check_importance("importance", importance)
    p = check_density("density", density)
    lh = check_penalty("l1_hidden", l1_hidden)
    lw = check_penalty("l1_weights", l1_weights)
    r, p, lh, lw = np.broadcast_arrays(r, p, lh, lw)
    v = p / 3 - p * p / 4
    one, zero = np.ones_like(p), np.zeros_like(p)
    kappa = lh * p / 2 + lw  # single represented feature: E|h| = p |w|/2
    kappa_s = lh * p * (1 - 2 * p / 3) + 2 * lw  # antipodal pair: E|h| = p (1 − 2p/3) |w|
    if norm == "unit":
        w_first, w_extra, w_pair = one, one, one
    else:
        w_first, _ = _quartic_norm(v, -2 * v, v, kappa)  # importance 1 represented
        w_extra, _ = _quartic_norm(r * v, -2 * r * v, r * v, kappa)  # importance r represented
        c1 = -(1 + r) * (2 * p / 3 - 5 * p * p / 12)
        w_pair, _ = _quartic_norm((1 + r) * p / 3, c1, (1 + r) * v, kappa_s)
    w = np.stack(
        [
            np.stack([w_first, zero], -1),
            np.stack([zero, w_extra], -1),
            np.stack([w_pair, -w_pair], -1),
            np.stack([zero, zero], -1),
        ],
        axis=-2,
    )  # (S, 4, 2)
    half = p / 2
    b = np.stack(
        [
            np.stack([half * (1 - w_first**2), half], -1),
            np.stack([half, half * (1 - w_extra**2)], -1),
            np.stack([zero, zero], -1),
            np.stack([half, half], -1),
        ],
        axis=-2,
    )
    loss = np.stack(
        [
            (1 - w_first**2) ** 2 * v + r * v,
            r * (1 - w_extra**2) ** 2 * v + v,
            (1 + r) * (p / 3 - (2 * p / 3 - 5 * p * p / 12) * w_pair**2 + v * w_pair**4),
            (1 + r) * v,
        ],
        axis=-1,
    )
    penalty = np.stack([kappa * w_first, kappa * w_extra, kappa_s * w_pair, zero], axis=-1)
    objective = loss + penalty
    labels = np.array(PENALISED_CANDIDATES)
    return PenalisedCandidates(
        labels=PENALISED_CANDIDATES,
        w=w,
        b=b,
        loss=loss,
        objective=objective,
        best=labels[np.argmin(objective, axis=-1)],
        norm=norm,
    )


def penalised_candidate_boundary(
    importance: Any,
    *,
    l1_hidden: Any = 0.0,
    l1_weights: Any = 0.0,
    norm: Norm = "unit",
    edge: Literal["upper", "lower"] = "upper",
) -> Any:
    """The candidates' predicted p*(r, λ): where superposition stops being the best candidate.

    ``norm="unit"``: the closed form of the module docstring (superposition against the better
    single-feature candidate; ``edge="lower"`` gives the smaller root, 0 when λ_w = 0), NaN
    where the superposition region is empty. ``norm="optimal"``: superposition against all
    other candidates ("none" included), located by a scan of 2001 log-spaced densities in
    [1e-6, 1] and 60 bisection steps (NaN where the edge is not in that range).
    Broadcast over ``importance`` (> 0) and the penalties.
    """
    norm = _check_norm(norm)
    if edge not in ("upper", "lower"):
        raise ValueError(f"edge must be 'upper' or 'lower', got {edge!r}")
    r = check_importance("importance", importance)
    if np.any(r == 0):
        raise ValueError(f"importance must be > 0 for a boundary, got {importance!r}")
    lh = check_penalty("l1_hidden", l1_hidden)
    lw = check_penalty("l1_weights", l1_weights)
    r, lh, lw = np.broadcast_arrays(r, lh, lw)
    if norm == "unit":
        m, big = np.minimum(r, 1.0), np.maximum(r, 1.0)
        a = (5 * m + 2 * big) / 12 - 2 * lh / 3
        bq = m / 3 - lh / 2
        disc = bq * bq - 4 * a * lw
        with np.errstate(invalid="ignore", divide="ignore"):
            root = np.sqrt(disc)
            upper = (bq + root) / (2 * a)
            lower = 2 * lw / (bq + root)  # the smaller root, cancellation-free
        ok = (a > 0) & (bq > 0) & (disc >= 0) & (upper > 0)
        value = upper if edge == "upper" else lower
        return np.where(ok, np.minimum(value, 1.0), np.nan)[()]
    return _numeric_boundary(r, lh, lw, edge)


def _numeric_boundary(r: Array, lh: Array, lw: Array, edge: str) -> Any:
    grid = np.logspace(-6, 0, 2001)

    def sup_best(p: Array, rr: Array, hh: Array, ww: Array) -> NDArray[np.bool_]:
        c = penalised_candidates(rr, p, l1_hidden=hh, l1_weights=ww, norm="optimal")
        return np.asarray(c.best == "superposition")

    shape = r.shape
    rf, hf, wf = (np.ravel(a)[:, None] for a in (r, lh, lw))
    sup = sup_best(grid[None, :], rf, hf, wf)  # (N, G)
    index = np.arange(grid.size)[None, :]
    if edge == "upper":
        k = np.max(np.where(sup, index, -1), axis=1)
        valid = (k >= 0) & (k < grid.size - 1)
        k = np.clip(k, 0, grid.size - 2)
    else:
        k = np.min(np.where(sup, index, grid.size), axis=1) - 1
        valid = (k >= 0) & (k < grid.size - 1)
        k = np.clip(k, 0, grid.size - 2)
    lo, hi = np.log(grid[k]), np.log(grid[k + 1])
    at_lo = sup_best(np.exp(lo)[:, None], rf, hf, wf)[:, 0]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        same = sup_best(np.exp(mid)[:, None], rf, hf, wf)[:, 0] == at_lo
        lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
    return np.where(valid, np.exp(0.5 * (lo + hi)), np.nan).reshape(shape)[()]


# ---------------------------------------------------------------- symbolic derivation


@dataclass(frozen=True)
class PenalisedCandidateTheory:
    """Symbolic penalised candidates (sympy; symbols ``r``, ``p``, ``l1_hidden``,
    ``l1_weights``, ``w``).

    ``objectives[label]``: the unit-norm candidates' objective L + penalties, by substitution
    into ``symbolic_loss(penalty=True)``. ``boundary_equation``: superposition's objective equals
    the dropped candidate's (for r <= 1; r >= 1 follows from r → 1/r, λ → λ/r); its roots
    ``boundary_roots`` (larger first) in closed form; ``boundary`` the upper edge as a
    Piecewise in r for general (λ_h, λ_w); ``vanishing_l1_hidden`` / ``vanishing_l1_weights``:
    the penalty (the other one zero) at which the superposition region disappears.
    ``norm_objectives[label]``: the candidate's objective as a polynomial in its norm ``w``
    (optimal bias substituted) — derived the same way; ``norm_equations``: d/dw = 0;
    ``norm_root``: the trigonometric root of w³ − β w + q (symbols ``beta``, ``q``);
    ``drop_threshold``: √6/9, the reduced q at which the norm jumps to 0.
    """

    r: sp.Symbol
    p: sp.Symbol
    l1_hidden: sp.Symbol
    l1_weights: sp.Symbol
    w: sp.Symbol
    objectives: dict[str, sp.Expr]
    boundary_equation: sp.Eq
    boundary_roots: tuple[sp.Expr, sp.Expr]
    boundary: sp.Expr
    vanishing_l1_hidden: sp.Expr
    vanishing_l1_weights: sp.Expr
    norm_objectives: dict[str, sp.Expr]
    norm_equations: dict[str, sp.Expr]
    norm_root: sp.Expr
    drop_threshold: sp.Expr


def _objective_at(
    w: tuple[Any, Any], b: tuple[Any, Any], r: Any, p: Any, *, relu_active: bool = False
) -> sp.Expr:
    """The objective at W = w, b = b (importances (1, r), densities p). ``relu_active=True``
    asserts that every ReLU argument is >= 0 on the domain (so max(0, z) = z): true for a single
    represented feature with w² <= 1 and bias p (1 − w²)/2 >= 0."""
    sym = symbolic_loss(penalty=True)
    w1, w2, b1, b2, p1, p2, i1, i2, _, _ = sym.symbols
    subs = {w1: w[0], w2: w[1], b1: b[0], b2: b[1], p1: p, p2: p, i1: 1, i2: r}
    expr = sym.expr.xreplace(subs)  # rebuilds (and so evaluates) without subs' slow walk
    if relu_active:
        expr = expr.replace(sp.Max, lambda *args: sp.Add(*args))  # max(0, z) = 0 + z
    return sp.expand(sp.cancel(sp.expand(expr)))


@functools.lru_cache(maxsize=1)
def penalised_candidate_theory() -> PenalisedCandidateTheory:
    """Derive the penalised candidates symbolically (a few seconds; cached)."""
    sym = symbolic_loss(penalty=True)
    lh, lw = sym.symbols[-2:]
    r, p, w = sp.symbols("r p w", positive=True)
    half = p / 2
    shapes = {
        "not_represented": ((1, 0), (0, half)),
        "dedicated": ((0, 1), (half, 0)),
        "superposition": ((1, -1), (0, 0)),
        "none": ((0, 0), (half, half)),
    }
    objectives = {k: sp.factor(_objective_at(wb[0], wb[1], r, p)) for k, wb in shapes.items()}
    gap = sp.expand(objectives["not_represented"] - objectives["superposition"])
    equation = sp.Eq(objectives["not_represented"], objectives["superposition"])
    # gap = c₂ p² + c₁ p + c₀ (a quadratic in p): its two roots by the quadratic formula.
    c2, c1, c0 = sp.Poly(gap, p).all_coeffs()
    root = sp.sqrt(c1**2 - 4 * c2 * c0)
    roots = [(-c1 - root) / (2 * c2), (-c1 + root) / (2 * c2)]
    # Order the roots by their value at a generic point (r = 1/2, λ_h = 1/20, λ_w = 1/1000).
    point = {r: sp.Rational(1, 2), lh: sp.Rational(1, 20), lw: sp.Rational(1, 1000)}
    roots = sorted(roots, key=lambda e: -float(sp.re(e.subs(point).evalf())))
    upper_low = roots[0]
    # Scale symmetry: the objective at (r, λ) is r times the feature-swapped objective at
    # (1/r, λ/r), so p*(r, λ_h, λ_w) = p*(1/r, λ_h/r, λ_w/r).
    swap = {r: 1 / r, lh: lh / r, lw: lw / r}
    upper_high = upper_low.subs(swap, simultaneous=True)
    boundary = sp.Piecewise((upper_low, r <= 1), (upper_high, True))
    # With λ_w = 0 the region is 0 < p < p*, and p* reaches 0 where gap's linear coefficient
    # in p does; with λ_h = 0 the two roots merge where the discriminant vanishes.
    vanish_h = sp.solve(sp.Poly(gap.subs(lw, 0), p).coeff_monomial(p), lh)
    disc = sp.discriminant(sp.Poly(gap.subs(lh, 0), p))
    vanish_w = [s for s in sp.solve(disc, lw) if s != 0]
    # Optimal norm: dropped candidate with weight w and bias p(1 − w²)/2, antipodal (w, −w), b = 0.
    norm_objectives = {
        "not_represented": _objective_at((w, 0), (half * (1 - w**2), half), r, p, relu_active=True),
        "dedicated": _objective_at((0, w), (half, half * (1 - w**2)), r, p, relu_active=True),
        "superposition": _objective_at((w, -w), (0, 0), r, p),
    }
    norm_equations = {k: sp.collect(sp.diff(e, w), w) for k, e in norm_objectives.items()}
    beta, q = sp.symbols("beta q", positive=True)
    y = 2 / sp.sqrt(3) * sp.cos(sp.acos(-3 * sp.sqrt(3) / 2 * q / beta ** sp.Rational(3, 2)) / 3)
    return PenalisedCandidateTheory(
        r=r,
        p=p,
        l1_hidden=lh,
        l1_weights=lw,
        w=w,
        objectives=objectives,
        boundary_equation=equation,
        boundary_roots=(roots[0], roots[1]),
        boundary=boundary,
        vanishing_l1_hidden=vanish_h[0],
        vanishing_l1_weights=vanish_w[0],
        norm_objectives=norm_objectives,
        norm_equations=norm_equations,
        norm_root=sp.sqrt(beta) * y,
        drop_threshold=sp.sqrt(6) / 9,
    )
