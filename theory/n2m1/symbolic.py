"""Symbolic (sympy) exact loss of the n=2, m=1 ReLU-output model, derived by integration.

The derivation (docs/theory.md, "The exact landscape") needs one identity. With
P_k(z) = max(0, z)^k and α ≠ 0, the chain rule gives d/dt P_{k+1}(α t + β) = (k+1) α P_k(α t + β)
everywhere (P_{k+1} is C¹ for k >= 1), hence

    ∫₀¹ P_k(α t + β) dt = [P_{k+1}(α + β) − P_{k+1}(β)] / ((k+1) α),

and, integrating by parts, ∫₀¹ t^j P_k(α t + β) dt follows by recursion on j. ``integrate_unit``
applies this term by term to any sum of ``coefficient · t^j · P_k(α t + β)`` terms, so the four
activity patterns of (x_1, x_2) are integrated symbolically — "both active" as an iterated
integral over the unit square — with no quadrature anywhere. Degenerate weights (w_i = 0 or
w_j = 0, where α = 0 and the formula's denominators vanish) get their own Piecewise branches,
integrated the same way after substituting the zero weight.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

_U, _V = sp.symbols("u v", real=True)


def _relu_pow(z: sp.Expr, k: int) -> sp.Expr:
    return sp.Max(0, z) ** k


def _int_relu_monomial(j: int, k: int, alpha: sp.Expr, beta: sp.Expr) -> sp.Expr:
    """∫₀¹ t^j max(0, α t + β)^k dt for α ≠ 0 (see the module docstring)."""
    top = _relu_pow(alpha + beta, k + 1) / ((k + 1) * alpha)
    if j == 0:
        return top - _relu_pow(beta, k + 1) / ((k + 1) * alpha)
    # Integration by parts: [t^j P_{k+1}/((k+1)α)]₀¹ − j/((k+1)α) ∫ t^{j−1} P_{k+1}.
    return top - sp.Rational(j, k + 1) / alpha * _int_relu_monomial(j - 1, k + 1, alpha, beta)


def _split_term(term: sp.Expr, t: sp.Symbol) -> tuple[sp.Expr, int, sp.Expr | None, int]:
    """term = coefficient · t^j · max(0, lin)^k → (coefficient, j, lin or None, k)."""
    coef: sp.Expr = sp.Integer(1)
    j, k = 0, 0
    lin: sp.Expr | None = None
    for factor in sp.Mul.make_args(term):
        base, exp = (factor.base, factor.exp) if factor.is_Pow else (factor, sp.Integer(1))
        if isinstance(base, sp.Max) and base.has(t):
            args = [x for x in base.args if x != 0]
            if lin is not None or len(base.args) != 2 or len(args) != 1:
                raise NotImplementedError(f"cannot integrate {term} over {t}")
            lin, k = args[0], int(exp)
        elif base == t:
            j += int(exp)
        elif factor.has(t):
            raise NotImplementedError(f"cannot integrate {term} over {t}")
        else:
            coef *= factor
    return coef, j, lin, k


def integrate_unit(expr: sp.Expr, t: sp.Symbol) -> sp.Expr:
    """∫₀¹ expr dt for a sum of terms ``c · t^j · max(0, α t + β)^k`` (c, α, β free of t).

    Raises NotImplementedError for any other form. α must be non-zero wherever the result is
    used (the caller's Piecewise guarantees it).
    """
    result: sp.Expr = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(expr)):
        coef, j, lin, k = _split_term(term, t)
        if lin is None:
            result += coef / (j + 1)
            continue
        poly = sp.Poly(lin, t)
        if poly.degree() != 1:
            raise NotImplementedError(f"argument {lin} of max(0, .) is not linear in {t}")
        alpha = poly.coeff_monomial(t)
        beta = sp.expand(lin - alpha * t)
        result += coef * _int_relu_monomial(j, k, alpha, beta)
    return result


def _pattern_terms(w_i: sp.Expr, w_j: sp.Expr, b_i: sp.Expr) -> tuple[sp.Expr, ...]:
    """Feature i's squared error integrated over each activity pattern (none, x_j, x_i, both).

    Uses a = w_i², c = w_i w_j; valid when the max(0, .) arguments' slopes are non-zero.
    """
    a, c = w_i**2, w_i * w_j
    none = _relu_pow(b_i, 2)  # x = 0: output R(b_i), target 0
    if c == 0:
        only_j = none  # nothing reaches feature i's output from x_j
        only_i = (
            integrate_unit((_U - sp.Max(0, a * _U + b_i)) ** 2, _U)
            if a != 0
            else sp.Rational(1, 3) - _relu_pow(b_i, 1) + _relu_pow(b_i, 2)
        )
        both = only_i
    else:
        only_j = integrate_unit(sp.Max(0, c * _V + b_i) ** 2, _V)
        only_i = integrate_unit((_U - sp.Max(0, a * _U + b_i)) ** 2, _U)
        inner = integrate_unit((_U - sp.Max(0, a * _U + c * _V + b_i)) ** 2, _U)
        both = integrate_unit(inner, _V)
    return none, only_j, only_i, both


def _feature_loss(
    w_i: sp.Symbol, w_j: sp.Symbol, b_i: sp.Symbol, p_i: sp.Symbol, p_j: sp.Symbol
) -> sp.Expr:
    """E[(x_i − R(w_i h + b_i))²] as a Piecewise over the degenerate weights."""
    weights = ((1 - p_i) * (1 - p_j), (1 - p_i) * p_j, p_i * (1 - p_j), p_i * p_j)

    def mix(terms: tuple[sp.Expr, ...]) -> sp.Expr:
        return sp.Add(*[q * e for q, e in zip(weights, terms)])

    general = mix(_pattern_terms(w_i, w_j, b_i))
    no_other = mix(_pattern_terms(w_i, sp.Integer(0), b_i))
    dead = mix(_pattern_terms(sp.Integer(0), w_j, b_i))
    return sp.Piecewise(
        (general, sp.Ne(w_i, 0) & sp.Ne(w_j, 0)),
        (no_other, sp.Ne(w_i, 0)),
        (dead, True),
    )


@dataclass(frozen=True)
class SymbolicLoss:
    """The exact expected loss L(w1, w2, b1, b2, p1, p2, I1, I2) as a sympy expression.

    ``expr`` = I1 · ℓ(w1, w2, b1, p1, p2) + I2 · ℓ(w2, w1, b2, p2, p1), where ℓ is one feature's
    squared error, a Piecewise over (w_i ≠ 0 and w_j ≠ 0; w_j = 0; w_i = 0) whose branches are
    polynomials in max(0, corner values) divided by powers of the weights. ``symbols`` lists
    (w1, w2, b1, b2, p1, p2, I1, I2) in that order; ``patterns`` holds feature 1's four pattern
    integrals (none, only x2, only x1, both) in the generic branch, before mixing by the pattern
    probabilities. ``expr.rewrite(sympy.Piecewise)`` writes each max(0, .) as a Piecewise too.
    """

    expr: sp.Expr
    symbols: tuple[sp.Symbol, ...]
    patterns: tuple[sp.Expr, ...]


def symbolic_loss(*, penalty: bool = False) -> SymbolicLoss:
    """Derive the exact loss symbolically (about 0.1 s; cached). See :class:`SymbolicLoss`.

    ``penalty=True`` adds ``l1_hidden · E|h| + l1_weights · (|w1| + |w2|)``
    (:func:`symbolic_penalty`); ``symbols`` then ends with (l1_hidden, l1_weights).
    """
    if not isinstance(penalty, bool):
        raise TypeError(f"penalty must be True or False, got {penalty!r}")
    return _symbolic_loss(penalty)


@functools.lru_cache(maxsize=2)
def _symbolic_loss(penalty: bool) -> SymbolicLoss:
    w1, w2, b1, b2 = sp.symbols("w1 w2 b1 b2", real=True)
    p1, p2, i1, i2 = sp.symbols("p1 p2 I1 I2", positive=True)
    expr = i1 * _feature_loss(w1, w2, b1, p1, p2) + i2 * _feature_loss(w2, w1, b2, p2, p1)
    symbols: tuple[sp.Symbol, ...] = (w1, w2, b1, b2, p1, p2, i1, i2)
    if penalty:
        pen = symbolic_penalty()
        lh, lw = sp.symbols("l1_hidden l1_weights", nonnegative=True)
        expr = expr + lh * pen.hidden + lw * pen.weights
        symbols = (*symbols, lh, lw)
    return SymbolicLoss(expr=expr, symbols=symbols, patterns=_pattern_terms(w1, w2, b1))


def _abs_integral(w_u: sp.Expr, w_v: sp.Expr, both: bool) -> sp.Expr:
    """∫ |w_u u (+ w_v v)| over u (and v) in [0, 1], with |z| = max(0, z) + max(0, −z); the
    slopes must be non-zero (the caller's Piecewise guarantees it)."""
    z = w_u * _U + (w_v * _V if both else 0)
    inner = integrate_unit(sp.Max(0, z) + sp.Max(0, -z), _U)
    return integrate_unit(inner, _V) if both else inner


@dataclass(frozen=True)
class SymbolicPenalty:
    """The L1 penalties of the n=2, m=1 model as sympy expressions (docs/control_theory.md).

    ``hidden`` = E|h|, h = w1 x1 + w2 x2, derived by integrating |h| = max(0, h) + max(0, −h)
    over the four activity patterns (a Piecewise over w1 w2 ≠ 0, w2 = 0, w1 = 0); ``weights`` =
    |w1| + |w2|. ``symbols`` = (w1, w2, p1, p2). ``patterns`` = E|h| on each pattern (none, only
    x2, only x1, both) in the generic branch; ``both`` is E|w1 u + w2 v| for u, v ~ U[0, 1].
    """

    hidden: sp.Expr
    weights: sp.Expr
    symbols: tuple[sp.Symbol, ...]
    patterns: tuple[sp.Expr, ...]


@functools.lru_cache(maxsize=1)
def symbolic_penalty() -> SymbolicPenalty:
    """Derive E|h| symbolically (well under a second; cached). See :class:`SymbolicPenalty`."""
    w1, w2 = sp.symbols("w1 w2", real=True)
    p1, p2 = sp.symbols("p1 p2", positive=True)
    zero = sp.Integer(0)
    only_1 = _abs_integral(w1, zero, both=False)
    only_2 = _abs_integral(w2, zero, both=False)
    both = _abs_integral(w1, w2, both=True)
    weights = ((1 - p1) * (1 - p2), (1 - p1) * p2, p1 * (1 - p2), p1 * p2)
    generic = weights[1] * only_2 + weights[2] * only_1 + weights[3] * both
    # One weight zero: h = w_i x_i only, E|h| = p_i |w_i| / 2.
    hidden = sp.Piecewise(
        (generic, sp.Ne(w1, 0) & sp.Ne(w2, 0)),
        (p1 * sp.Abs(w1) / 2, sp.Ne(w1, 0)),
        (p2 * sp.Abs(w2) / 2, True),
    )
    return SymbolicPenalty(
        hidden=hidden,
        weights=sp.Abs(w1) + sp.Abs(w2),
        symbols=(w1, w2, p1, p2),
        patterns=(zero, only_2, only_1, both),
    )


def resolve_max(expr: sp.Expr, var: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """Replace each max(0, z) by z or 0, given ``var`` in the open interval (lo, hi).

    Every z must be linear in ``var`` (or free of it) with no root inside (lo, hi); otherwise
    ValueError (the interval must then be split).
    """
    mid = (lo + hi) / 2

    def pick(node: sp.Max) -> sp.Expr:
        args = [x for x in node.args if x != 0]
        if len(args) != 1 or len(node.args) != 2:
            raise ValueError(f"unexpected max: {node}")
        z = sp.expand(args[0])
        if z.has(var):
            slope = sp.diff(z, var)
            if sp.diff(slope, var) != 0 or not slope.is_number:
                raise ValueError(f"{z} is not linear in {var}")
            root = sp.solve(z, var)[0]
            if sp.Lt(lo, root) == sp.true and sp.Lt(root, hi) == sp.true:
                raise ValueError(f"max(0, {z}) changes sign inside ({lo}, {hi})")
        sign = z.subs(var, mid)
        if not sign.is_number:
            raise ValueError(f"cannot decide the sign of {z}")
        return z if sign > 0 else sp.Integer(0)

    return expr.replace(lambda e: isinstance(e, sp.Max), pick)
