"""The paper's three hand-built n=2, m=1 solutions and the phase boundary they predict.

Elhage et al. (2022), section "Superposition as a Phase Change": with importances (1, r) and a
shared density p, the candidates are W = [1, 0] (the extra feature is dropped), W = [0, 1] (the
extra feature gets the dimension) and W = [1, −1] (an antipodal pair, in superposition). Their
losses and optimal biases are derived here from the exact symbolic loss (``symbolic_loss``) by
substitution; the boundary is solved from the crossings of those losses. docs/theory.md has the
derivation; the numeric functions below hard-code the resulting closed forms and the tests check
them against the symbolic ones.

The "optimal" variant gives the antipodal pair its best bias β* (both features share it by
symmetry): the middle root of 2p²β³ − 3p(p + 1)β² − 6(1 − p)β + p² = 0, the unique root in
[0, 1/2], since the bias gradient at β = 0 is −p²/3 per feature (not zero).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import sympy as sp
from numpy.typing import NDArray

from theory._summary import Summarized, Summary
from theory._validation import check_density, check_importance
from theory.n2m1.summaries import candidate_theory_summary
from theory.n2m1.symbolic import resolve_max, symbolic_loss

AntipodalBias = Literal["zero", "optimal"]

# label -> W of the candidate; feature 0 is the first feature (importance 1), feature 1 the extra.
CANDIDATE_WEIGHTS: dict[str, tuple[int, int]] = {
    "not_represented": (1, 0),
    "dedicated": (0, 1),
    "superposition": (1, -1),
}


def _check_antipodal_bias(value: Any) -> AntipodalBias:
    if value not in ("zero", "optimal"):
        raise ValueError(f"antipodal_bias must be 'zero' or 'optimal', got {value!r}")
    return value  # type: ignore[no-any-return]


# ---------------------------------------------------------------- symbolic derivation


@dataclass(frozen=True, repr=False)
class CandidateTheory(Summarized):
    """Symbolic candidate solutions and their predicted phase boundary (sympy, symbols r, p).

    ``weights[label]`` is W; ``biases[label]`` the candidate's bias (b_first, b_extra) as a
    function of p; ``losses[label]`` its exact loss L(r, p) (importances (1, r), both densities
    p). ``boundary_equation`` is the crossing condition min(1, r)·V(p) = L_superposition(r, p)
    with V = p/3 − p²/4; ``boundary`` solves it for p as a Piecewise in r (None for the optimal
    antipodal bias, where the crossing is the root of an algebraic equation solved numerically);
    ``boundary_latex`` is its LaTeX. ``triple_point`` is (r, p) where all three losses meet.
    """

    antipodal_bias: AntipodalBias
    r: sp.Symbol
    p: sp.Symbol
    weights: dict[str, tuple[int, int]]
    biases: dict[str, tuple[sp.Expr, sp.Expr]]
    losses: dict[str, sp.Expr]
    boundary_equation: sp.Eq
    boundary: sp.Expr | None
    boundary_latex: str
    triple_point: tuple[sp.Expr, sp.Expr]

    def _summary(self) -> Summary:
        return candidate_theory_summary(self)


def _loss_at(w: tuple[int, int], b: tuple[sp.Expr, sp.Expr], r: sp.Symbol, p: sp.Symbol) -> sp.Expr:
    sym = symbolic_loss()
    w1, w2, b1, b2, p1, p2, i1, i2 = sym.symbols
    subs = {w1: w[0], w2: w[1], b1: b[0], b2: b[1], p1: p, p2: p, i1: 1, i2: r}
    return sym.expr.subs(subs)


def _optimise_shared_bias(
    w: tuple[int, int], free: tuple[bool, bool], r: sp.Symbol, p: sp.Symbol
) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """Loss polynomial in a bias β ∈ (0, 1) placed where ``free``; returns (β-poly, dL/dβ, β)."""
    beta = sp.Symbol("beta", positive=True)
    b = (beta if free[0] else sp.Integer(0), beta if free[1] else sp.Integer(0))
    loss = sp.expand(resolve_max(_loss_at(w, b, r, p), beta, sp.Integer(0), sp.Integer(1)))
    return loss, sp.diff(loss, beta), beta


@functools.lru_cache(maxsize=2)
def candidate_theory(*, antipodal_bias: AntipodalBias = "zero") -> CandidateTheory:
    """Derive the candidates' biases, losses and boundary symbolically (about 1 s; cached).

    ``antipodal_bias="zero"`` is the paper's choice (b = 0 for W = [1, −1]); ``"optimal"`` gives
    the antipodal pair its loss-minimising bias.
    """
    _check_antipodal_bias(antipodal_bias)
    r, p = sp.symbols("r p", positive=True)
    biases: dict[str, tuple[sp.Expr, sp.Expr]] = {}
    losses: dict[str, sp.Expr] = {}
    # Dropped / dedicated: the represented feature is copied exactly with bias 0; the other
    # feature's output is the constant R(β), best at β = E[x] = p/2.
    for label, free in (("not_represented", (False, True)), ("dedicated", (True, False))):
        w = CANDIDATE_WEIGHTS[label]
        loss, grad, beta = _optimise_shared_bias(w, free, r, p)
        (best,) = sp.solve(grad, beta)
        biases[label] = (best if free[0] else sp.Integer(0), best if free[1] else sp.Integer(0))
        losses[label] = sp.factor(sp.simplify(loss.subs(beta, best)))
    w = CANDIDATE_WEIGHTS["superposition"]
    if antipodal_bias == "zero":
        zero = sp.Integer(0)
        biases["superposition"] = (zero, zero)
        losses["superposition"] = sp.factor(sp.simplify(_loss_at(w, (zero, zero), r, p)))
    else:
        loss, grad, beta = _optimise_shared_bias(w, (True, True), r, p)
        roots = sp.solve(grad, beta)
        # The root in (0, 1/2) (see the module docstring); pick it at p = 1/2, keep its branch.
        best = min(roots, key=lambda e: abs(complex(e.subs(p, sp.Rational(1, 2))) - 0.25))
        biases["superposition"] = (best, best)
        losses["superposition"] = loss.subs(beta, best)
    variance = p / 3 - p**2 / 4
    lsup = losses["superposition"]
    equation = sp.Eq(sp.Min(1, r) * variance, lsup)
    if antipodal_bias == "zero":
        low = [s for s in sp.solve(r * variance - lsup, p) if s != 0]
        high = [s for s in sp.solve(variance - lsup, p) if s != 0]
        boundary: sp.Expr | None = sp.Piecewise((low[0], r <= 1), (high[0], True))
        (r_t,) = sp.solve(sp.Eq(losses["not_represented"], losses["dedicated"]), r)
        p_t = sp.simplify(low[0].subs(r, r_t))
        latex = sp.latex(boundary)
    else:
        boundary = None
        r_t = sp.Integer(1)
        p_t = sp.re(sp.nsolve(variance - lsup.subs(r, 1), p, 0.7))
        latex = sp.latex(equation)
    return CandidateTheory(
        antipodal_bias=antipodal_bias,
        r=r,
        p=p,
        weights=dict(CANDIDATE_WEIGHTS),
        biases=biases,
        losses=losses,
        boundary_equation=equation,
        boundary=boundary,
        boundary_latex=latex,
        triple_point=(r_t, p_t),
    )


# ---------------------------------------------------------------- numeric closed forms


def antipodal_optimal_bias(density: Any) -> NDArray[np.float64]:
    """β*(p): the antipodal pair's optimal bias (both features), shape of ``density``.

    Root of 2p²β³ − 3p(p + 1)β² − 6(1 − p)β + p² in [0, 1/2] (decreasing there), by 64 steps of
    bisection: exact to rounding. Small p: β* ≈ p²/6.
    """
    p = check_density("density", density)
    lo = np.zeros_like(p)
    hi = np.full_like(p, 0.5)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        g = ((2 * p * p * mid - 3 * p * (p + 1)) * mid - 6 * (1 - p)) * mid + p * p
        pos = g > 0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
    return 0.5 * (lo + hi)


def _antipodal_feature_loss(beta: NDArray[np.float64], p: NDArray[np.float64]) -> Any:
    """One feature's loss at W = [1, −1] with bias β ∈ [0, 1) (importance 1)."""
    return (
        -(
            beta**4 * p**2
            - 2 * beta**3 * p**2
            - 2 * beta**3 * p
            + 6 * beta**2 * p
            - 6 * beta**2
            + 2 * beta * p**2
            - p**2
        )
        / 6
    )


def candidate_losses(
    importance: Any, density: Any, *, antipodal_bias: AntipodalBias = "zero"
) -> dict[str, NDArray[np.float64]]:
    """Each candidate's exact loss, broadcast over ``importance`` (r) and ``density`` (p).

    not_represented: r (p/3 − p²/4); dedicated: p/3 − p²/4; superposition: (1 + r) p²/6 with
    b = 0, or (1 + r) ℓ(β*(p), p) with the optimal bias.
    """
    _check_antipodal_bias(antipodal_bias)
    r = check_importance("importance", importance)
    p = check_density("density", density)
    r, p = np.broadcast_arrays(r, p)
    variance = p / 3 - p * p / 4
    if antipodal_bias == "zero":
        sup = (1 + r) * p * p / 6
    else:
        sup = (1 + r) * _antipodal_feature_loss(antipodal_optimal_bias(p), p)
    return {"not_represented": r * variance, "dedicated": variance + 0 * r, "superposition": sup}


def candidate_boundary(importance: Any, *, antipodal_bias: AntipodalBias = "zero") -> Any:
    """Predicted critical density p*(r): superposition below it (shape of ``importance``).

    ``"zero"``: 4r/(2 + 5r) for r <= 1, 4/(5 + 2r) for r >= 1 (triple point (1, 4/7)).
    ``"optimal"``: the root of min(1, r)(p/3 − p²/4) = (1 + r) ℓ(β*(p), p), by bisection on
    p ∈ (0, 1]; NaN where superposition still wins at p = 1 (does not happen for r > 0).
    """
    _check_antipodal_bias(antipodal_bias)
    r = check_importance("importance", importance)
    if np.any(r == 0):
        raise ValueError(f"importance must be > 0 for a boundary, got {importance!r}")
    if antipodal_bias == "zero":
        return np.where(r <= 1, 4 * r / (2 + 5 * r), 4 / (5 + 2 * r))
    scale = np.minimum(r, 1.0)
    lo = np.full_like(r, 1e-12)
    hi = np.ones_like(r)

    def gap(p: NDArray[np.float64]) -> Any:
        beta = antipodal_optimal_bias(p)
        return scale * (p / 3 - p * p / 4) - (1 + r) * _antipodal_feature_loss(beta, p)

    never = gap(hi) > 0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        pos = gap(mid) > 0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
    return np.where(never, np.nan, 0.5 * (lo + hi))


def candidate_phase_map(
    importance: Any, density: Any, *, antipodal_bias: AntipodalBias = "zero"
) -> NDArray[np.str_]:
    """Label of the lowest-loss candidate, shape (len(density), len(importance)).

    One row per density, one column per importance (the main job's contract). Exact ties
    (r = 1 above the boundary) go to "not_represented", then "dedicated".
    """
    r = check_importance("importance", importance)
    p = check_density("density", density)
    if r.ndim != 1 or p.ndim != 1:
        raise ValueError(
            f"importance and density must be 1-D grids, got shapes {r.shape} and {p.shape}"
        )
    losses = candidate_losses(r[None, :], p[:, None], antipodal_bias=antipodal_bias)
    labels = np.array(list(losses))
    stacked = np.stack([losses[k] for k in labels], axis=0)  # (3, nd, ni)
    return labels[np.argmin(stacked, axis=0)]
