"""The n=3, m=2 phase diagram's candidate solutions (paper: "The Phase Change").

Model ``x' = ReLU(WᵀWx + b)``, ``W`` of shape ``(2, 3)``. Features 0 and 1 have importance 1;
feature 2, the *extra*, has importance ``r``. All three share the density ``p``. The paper's four
candidates are named by the vector ``W`` is orthogonal to (``W v = 0``):

==================== ============ =====================================================
label                W ⊥          what it does
==================== ============ =====================================================
not_represented      [0, 0, 1]    extra dropped, features 0 and 1 dedicated
dedicated            [1, 0, 0]    feature 0 dropped, features 1 and 2 dedicated
superposition_extra  [0, 1, 1]    extra antipodal with feature 1, feature 0 dedicated
superposition_pair   [1, 1, 0]    features 0 and 1 antipodal, extra dedicated
==================== ============ =====================================================

With ``v = p/3 − p²/4`` (``Var x``) and, under the paper's convention, the antipodal pairs at
``b = 0`` (loss ``p²/6`` per unit importance, from ``E[min(U₁, U₂)²] = 1/6``):

    not_represented      r v
    dedicated            v
    superposition_extra  (1 + r) p²/6
    superposition_pair   p²/3

The superposition/no-superposition boundary is ``p* = 4r/(2 + 5r)`` for ``r ≤ 1`` and
``p* = 4/7`` for ``r ≥ 1``; all four candidates tie at ``(r, p) = (1, 4/7)``. With the bias of
each antipodal feature optimised instead (``bias="optimal"``) the pair loss per unit importance is
``f(b*) < p²/6``, ``b*`` the root in (0, 1) of ``2p²b³ − 3p(p+1)b² − 6(1−p)b + p² = 0``.
Derivations: docs/theory_bounds.md §3.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp
from numpy.typing import NDArray
from scipy.optimize import brentq

from theory._validation import check_density, check_finite, check_importance

__all__ = [
    "BIASES",
    "LABELS",
    "antipodal_pair_loss",
    "candidate_losses",
    "candidate_phase_map",
    "candidate_solution",
    "optimal_antipodal_bias",
    "phase_boundary_density",
    "symbolic_antipodal_pair_loss",
    "symbolic_boundaries",
    "symbolic_losses",
]

FloatArray = NDArray[np.float64]

LABELS: tuple[str, ...] = (
    "not_represented",
    "dedicated",
    "superposition_extra",
    "superposition_pair",
)
"""Candidate labels, in the order used to break ties in ``candidate_phase_map``."""

BIASES: tuple[str, ...] = ("paper", "optimal")
"""``"paper"``: antipodal pairs at ``b = 0``; ``"optimal"``: their bias minimises the loss."""

R, P = sp.symbols("r p", positive=True)
B = sp.Symbol("b", real=True)
"""Sympy symbols: importance of the extra feature (R), density (P), bias of an antipodal feature."""


def _check_bias(bias: Any) -> str:
    if bias not in BIASES:
        raise ValueError(f"bias must be one of {BIASES}, got {bias!r}")
    return str(bias)


def _check_label(label: Any) -> str:
    if label not in LABELS:
        raise ValueError(f"label must be one of {LABELS}, got {label!r}")
    return str(label)


# --- one antipodal pair ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def symbolic_antipodal_pair_loss() -> sp.Piecewise:
    """Loss per unit importance of one feature of a unit antipodal pair, as a function of its bias.

    ``E[(x₁ − ReLU(x₁ − x₂ + b))²]`` for ``b ∈ [−1, 1]`` (sympy ``Piecewise`` in ``B``, ``P``),
    derived by integrating over the four mask cases and the regions where the ReLU is active.
    At ``b = 0`` it is ``p²/6``; its slope there is ``−p²/3``, so ``b = 0`` is not optimal.
    """
    u, v, c = sp.symbols("u v c", nonnegative=True)
    p, b = P, B
    # b >= 0: both zero -> b²; x1 = u only -> b²; x2 = v only -> (b − v)₊²;
    # both: active iff v < u + b, error (v − b)² there, else u².
    both_pos = sp.integrate(
        sp.integrate((v - b) ** 2, (v, 0, u + b)) + sp.integrate(u**2, (v, u + b, 1)), (u, 0, 1 - b)
    ) + sp.integrate(sp.integrate((v - b) ** 2, (v, 0, 1)), (u, 1 - b, 1))
    only_x2 = sp.integrate((b - v) ** 2, (v, 0, b))
    f_pos = (1 - p) ** 2 * b**2 + p * (1 - p) * (b**2 + only_x2) + p**2 * both_pos
    # b = −c <= 0: both zero -> 0; x1 = u only -> u² if u < c else c²; x2 only -> 0;
    # both: active iff v < u − c, error (v + c)² there, else u².
    only_x1 = sp.integrate(u**2, (u, 0, c)) + sp.integrate(c**2, (u, c, 1))
    both_neg = sp.integrate(
        sp.integrate((v + c) ** 2, (v, 0, u - c)) + sp.integrate(u**2, (v, u - c, 1)), (u, c, 1)
    ) + sp.integrate(sp.integrate(u**2, (v, 0, 1)), (u, 0, c))
    f_neg = (p * (1 - p) * only_x1 + p**2 * both_neg).subs(c, -b)
    return sp.Piecewise((sp.expand(f_neg), b < 0), (sp.expand(f_pos), True))


def _pair_loss_pos(b: FloatArray, p: FloatArray) -> FloatArray:
    """``b ∈ [0, 1]`` branch of ``symbolic_antipodal_pair_loss`` (tests compare the two)."""
    return (p**2 - 2 * b * p**2 + 6 * b**2 * (1 - p) + 2 * b**3 * p * (p + 1) - b**4 * p**2) / 6


def _pair_loss_neg(b: FloatArray, p: FloatArray) -> FloatArray:
    """``b ∈ [−1, 0]`` branch of ``symbolic_antipodal_pair_loss``."""
    c = -b
    return p * (p + 2 * c * p + 6 * c**2 * (1 - p) + 2 * c**3 * (p - 2) + c**4 * p) / 6


def antipodal_pair_loss(density: Any, bias: Any = 0.0) -> float | FloatArray:
    """Loss per unit importance of one feature in a unit antipodal pair with bias ``b``.

    ``E[(x₁ − ReLU(x₁ − x₂ + b))²]``; ``density`` in (0, 1], ``bias`` in [−1, 1] (the closed form's
    range; the optimum lies inside), broadcast together. ``p²/6`` at ``b = 0``.
    """
    p = check_density("density", density)
    b = check_finite("bias", bias)
    if np.any(np.abs(b) > 1):
        raise ValueError(f"bias must lie in [-1, 1] (the closed form's range), got {bias!r}")
    p, b = np.broadcast_arrays(p, b)
    out = np.where(b < 0, _pair_loss_neg(b, p), _pair_loss_pos(b, p))
    return float(out) if out.ndim == 0 else out


def optimal_antipodal_bias(density: Any) -> float | FloatArray:
    """The bias ``b* ∈ (0, 1)`` minimising ``antipodal_pair_loss(density, b)``, elementwise.

    The loss is increasing for ``b < 0`` and its derivative on ``[0, 1]`` is ``−g(b)/3`` with
    ``g(b) = 2p²b³ − 3p(p+1)b² − 6(1−p)b + p²`` strictly decreasing, ``g(0) = p² > 0``,
    ``g(1) = 3p − 6 < 0``: the unique root of ``g`` is the global minimiser.
    ``b* ≈ p²/(6(1 − p))`` for small ``p``.
    """
    p = check_density("density", density)
    roots = np.empty(p.shape)
    for idx, pi in np.ndenumerate(p):

        def g(b: float, pi: float = float(pi)) -> float:
            return 2 * pi**2 * b**3 - 3 * pi * (pi + 1) * b**2 - 6 * (1 - pi) * b + pi**2

        roots[idx] = brentq(g, 0.0, 1.0, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    return float(roots) if roots.ndim == 0 else roots


def _pair_loss(p: FloatArray, bias: str) -> FloatArray:
    if bias == "paper":
        return p**2 / 6
    return np.asarray(antipodal_pair_loss(p, optimal_antipodal_bias(p)))


# --- the four candidates ---------------------------------------------------------------------


def candidate_solution(
    label: str, density: float, *, bias: str = "paper"
) -> tuple[FloatArray, FloatArray]:
    """Explicit ``(W, b)`` of a candidate: shapes ``(2, 3)`` and ``(3,)``.

    Dropped features get ``b_i = p/2`` (the best constant); dedicated features ``W_i = e_k``,
    ``b_i = 0``; antipodal features ``±e_k`` with ``b_i = 0`` (``bias="paper"``) or ``b*``
    (``bias="optimal"``, see ``optimal_antipodal_bias``).
    """
    label = _check_label(label)
    bias = _check_bias(bias)
    p = check_density("density", density)
    if p.ndim != 0:
        raise ValueError(f"density must be a scalar here, got shape {p.shape}")
    p_f = float(p)
    beta = 0.0 if bias == "paper" else float(optimal_antipodal_bias(p_f))
    if label == "not_represented":
        w, b = [[1, 0, 0], [0, 1, 0]], [0, 0, p_f / 2]
    elif label == "dedicated":
        w, b = [[0, 1, 0], [0, 0, 1]], [p_f / 2, 0, 0]
    elif label == "superposition_extra":
        w, b = [[1, 0, 0], [0, 1, -1]], [0, beta, beta]
    else:  # superposition_pair
        w, b = [[1, -1, 0], [0, 0, 1]], [beta, beta, 0]
    return np.array(w, dtype=np.float64), np.array(b, dtype=np.float64)


def candidate_losses(importance: Any, density: Any, *, bias: str = "paper") -> dict[str, Any]:
    """Expected loss of each candidate, ``{label: loss}``.

    ``importance`` (``r ≥ 0``) and ``density`` (``p ∈ (0, 1]``) broadcast together; each value is
    a float for scalar input, else an array of the broadcast shape. Loss summed over features.
    """
    bias = _check_bias(bias)
    r = check_importance("importance", importance)
    p = check_density("density", density)
    try:
        r, p = np.broadcast_arrays(r, p)
    except ValueError:
        raise ValueError(
            f"importance (shape {r.shape}) and density (shape {p.shape}) must broadcast together"
        ) from None
    var = p / 3 - p**2 / 4
    pair = _pair_loss(p, bias)
    losses = {
        "not_represented": r * var,
        "dedicated": var * np.ones_like(r),
        "superposition_extra": (1 + r) * pair,
        "superposition_pair": 2 * pair * np.ones_like(r),
    }
    return {k: float(v) if v.ndim == 0 else v for k, v in losses.items()}


def candidate_phase_map(importance: Any, density: Any, *, bias: str = "paper") -> NDArray[np.str_]:
    """Label of the lowest-loss candidate on a grid: shape ``(len(density), len(importance))``.

    One row per density, one column per importance (the contract of ``summary.json``'s maps).
    Exact ties go to the first label in ``LABELS`` order.
    """
    r = check_importance("importance", importance)
    p = check_density("density", density)
    if r.ndim != 1 or p.ndim != 1:
        raise ValueError(
            f"importance and density must be 1-D axes, got shapes {r.shape} and {p.shape}"
        )
    losses = candidate_losses(r[None, :], p[:, None], bias=bias)
    stacked = np.stack([np.asarray(losses[k]) for k in LABELS])  # (4, len(p), len(r))
    return np.asarray(LABELS)[np.argmin(stacked, axis=0)]


def phase_boundary_density(importance: Any, *, bias: str = "paper") -> float | FloatArray:
    """Density ``p*(r)`` below which a superposition candidate has the lowest loss.

    ``bias="paper"``: ``4r/(2 + 5r)`` for ``r ≤ 1`` and ``4/7`` for ``r ≥ 1``. ``bias="optimal"``:
    the root of the same crossing with the optimised pair loss (``brentq``; the loss difference
    changes sign once on (0, 1]). ``r = 0`` gives 0.
    """
    bias = _check_bias(bias)
    r = check_importance("importance", importance)
    if bias == "paper":
        out = np.where(r <= 1, 4 * r / (2 + 5 * r), 4 / 7)
        return float(out) if out.ndim == 0 else out
    out = np.empty(r.shape)
    for idx, r_value in np.ndenumerate(r):
        ri = float(r_value)
        if ri == 0.0:
            out[idx] = 0.0
            continue

        def gap(p: float, ri: float = ri) -> float:
            losses = candidate_losses(ri, p, bias="optimal")
            plain = min(losses["not_represented"], losses["dedicated"])
            sup = min(losses["superposition_extra"], losses["superposition_pair"])
            return float(plain - sup)

        out[idx] = brentq(gap, 1e-9, 1.0, xtol=1e-14)
    return float(out) if out.ndim == 0 else out


# --- symbolic forms ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def symbolic_losses() -> dict[str, sp.Expr]:
    """Candidate losses as sympy expressions in ``R`` (importance) and ``P`` (density), paper bias.

    Derived from the moments by integration: ``Var x = p∫u² − (p∫u)²`` and, for a unit antipodal
    pair at ``b = 0``, ``p² E[min(U₁, U₂)²]`` per unit importance (the pair's error is ``x_j²``
    when both are active and ``x_j`` is the smaller; zero otherwise).
    """
    u, v = sp.symbols("u v", nonnegative=True)
    var = P * sp.integrate(u**2, (u, 0, 1)) - (P * sp.integrate(u, (u, 0, 1))) ** 2
    e_min_sq = 2 * sp.integrate(sp.integrate(v**2, (v, 0, u)), (u, 0, 1))  # = 1/6
    pair = P**2 * e_min_sq
    return {
        "not_represented": sp.expand(R * var),
        "dedicated": sp.expand(var),
        "superposition_extra": sp.expand((1 + R) * pair),
        "superposition_pair": sp.expand(2 * pair),
    }


@lru_cache(maxsize=1)
def symbolic_boundaries() -> dict[tuple[str, str], sp.Eq]:
    """Pairwise crossings ``L_a = L_b`` solved in closed form (paper bias), ``{(a, b): Eq}``.

    Each is ``Eq(P, p(r))`` or, when the crossing does not depend on ``p``, ``Eq(R, r₀)``:

    - not_represented | dedicated: ``r = 1``
    - not_represented | superposition_extra: ``p = 4r/(2 + 5r)``  (a phase boundary for r ≤ 1)
    - not_represented | superposition_pair: ``p = 4r/(4 + 3r)``  (never a boundary)
    - dedicated | superposition_extra: ``p = 4/(5 + 2r)``  (never a boundary)
    - dedicated | superposition_pair: ``p = 4/7``  (a phase boundary for r ≥ 1)
    - superposition_extra | superposition_pair: ``r = 1``
    """
    losses = symbolic_losses()
    out: dict[tuple[str, str], sp.Eq] = {}
    for i, a in enumerate(LABELS):
        for b in LABELS[i + 1 :]:
            diff = sp.factor(losses[a] - losses[b])
            if R in diff.free_symbols:
                (sol_r,) = sp.solve(diff, R)
                if not sol_r.free_symbols:  # the crossing does not depend on p
                    out[(a, b)] = sp.Eq(R, sol_r)
                    continue
            # roots in p other than p = 0 (where every loss vanishes)
            (sol_p,) = [s for s in sp.solve(diff, P) if s != 0]
            out[(a, b)] = sp.Eq(P, sp.simplify(sol_p))
    return out
