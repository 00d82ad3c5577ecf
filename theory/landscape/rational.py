"""The exact expected loss in rational arithmetic: the reference for the floating-point scheme.

Every float is a rational number, so the vertex identity (docs/landscape.md, "The identity")
evaluated with :class:`fractions.Fraction` gives the loss of the given float inputs *exactly*;
converting the result to float rounds it once, correctly. This is slow (pure Python, 3^n terms
per feature) and meant for tests, the accuracy table in docs/landscape.md and spot checks; use
:func:`theory.landscape.expected_loss` for anything else.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from itertools import combinations
from math import factorial
from typing import Any

import numpy as np

from theory.landscape.validate import prepare_inputs

__all__ = ["box_integral_rational", "expected_loss_rational", "gradient_rational"]


def _relu_power(c: Fraction, power: int) -> Fraction:
    if c <= 0 or power < 0:  # δ(c) is taken as 0 at a vertex (a measure-zero event)
        return Fraction(0)
    return c**power if power else Fraction(1)


def _antiderivative_factor(power: int, r: int) -> Fraction:
    """F_r = factor · R^{K+r}: K!/(K+r)!, or 1/(r−1)! for K = −1 (δ)."""
    if power == -1:
        return Fraction(1, factorial(r - 1))
    return Fraction(factorial(power), factorial(power + r))


@lru_cache(maxsize=1 << 16)
def box_integral_rational(
    power: int, slopes: tuple[Fraction, ...], offset: Fraction, moments: tuple[int, ...]
) -> Fraction:
    """E[Π U_j^{m_j} R(c + a·U)^K] exactly (the quantity of ``box.box_integrals``; K >= −1).

    Coordinates are integrated out in order by the identity of docs/landscape.md; a zero slope
    contributes the factor E[U^m] = 1/(m + 1).
    """
    if not slopes:
        return _relu_power(offset, power)
    a, m = slopes[0], moments[0]
    rest, m_rest = slopes[1:], moments[1:]
    if a == 0:
        return box_integral_rational(power, rest, offset, m_rest) / (m + 1)
    total = Fraction(0)
    for r in range(1, m + 2):
        coef = Fraction((-1) ** (r - 1) * factorial(m), factorial(m - r + 1))
        coef *= _antiderivative_factor(power, r) / a**r
        total += coef * box_integral_rational(power + r, rest, offset + a, m_rest)
    coef0 = -((-1) ** m) * factorial(m) * _antiderivative_factor(power, m + 1) / a ** (m + 1)
    return total + coef0 * box_integral_rational(power + m + 1, rest, offset, m_rest)


def _unit(d: int, *pos: int) -> tuple[int, ...]:
    out = [0] * d
    for p in pos:
        out[p] += 1
    return tuple(out)


def _exact_inputs(
    W: Any, b: Any, density: Any, importance: Any
) -> tuple[list[list[Fraction]], list[Fraction], list[Fraction], list[Fraction]]:
    w, bias, p, imp = prepare_inputs(W, b, density, importance)
    if w.ndim != 2:
        raise ValueError(
            f"the rational reference takes one model: W of shape (m, n), got {w.shape}"
        )
    n = w.shape[1]
    wf = [[Fraction(float(v)) for v in row] for row in w]
    gram = [
        [sum((wf[k][i] * wf[k][j] for k in range(len(wf))), Fraction(0)) for j in range(n)]
        for i in range(n)
    ]
    return (
        gram,
        [Fraction(float(v)) for v in bias],
        [Fraction(float(v)) for v in p],
        [Fraction(float(v)) for v in imp],
    )


def _patterns(n: int) -> list[tuple[int, ...]]:
    return [s for d in range(n + 1) for s in combinations(range(n), d)]


def _probability(active: tuple[int, ...], p: list[Fraction]) -> Fraction:
    out = Fraction(1)
    for j, pj in enumerate(p):
        out *= pj if j in active else 1 - pj
    return out


def expected_loss_rational(W: Any, b: Any, density: Any, importance: Any) -> Fraction:
    """The exact loss E[Σ_i I_i (x_i − ReLU(WᵀWx + b)_i)²] of one model, as a Fraction.

    ``W`` (m, n), ``b`` (n,), ``density`` and ``importance`` scalar or (n,); all floats are taken
    at their exact binary values. Cost ~ n·3^n big-rational operations (n <= 6 is quick).
    """
    gram, bias, p, imp = _exact_inputs(W, b, density, importance)
    n = len(bias)
    total = Fraction(0)
    for active in _patterns(n):
        prob = _probability(active, p)
        if prob == 0:
            continue
        d = len(active)
        for i in range(n):
            slopes = tuple(gram[i][j] for j in active)
            value = box_integral_rational(2, slopes, bias[i], _unit(d))
            if i in active:
                pos = active.index(i)
                value += Fraction(1, 3) - 2 * box_integral_rational(
                    1, slopes, bias[i], _unit(d, pos)
                )
            total += prob * imp[i] * value
    return total


def gradient_rational(
    W: Any, b: Any, density: Any, importance: Any
) -> tuple[list[list[Fraction]], list[Fraction]]:
    """Exact gradient of the loss with respect to the Gram matrix entries and b.

    Returns ``(g, g_b)``: ``g[i][j]`` = ∂L/∂(coefficient of x_j in feature i's pre-activation),
    so that ∂L/∂W = W (g + gᵀ); ``g_b[i]`` = ∂L/∂b_i. One model, as in
    :func:`expected_loss_rational`.
    """
    gram, bias, p, imp = _exact_inputs(W, b, density, importance)
    n = len(bias)
    g = [[Fraction(0)] * n for _ in range(n)]
    g_b = [Fraction(0)] * n
    for active in _patterns(n):
        prob = _probability(active, p)
        if prob == 0:
            continue
        d = len(active)
        for i in range(n):
            weight = prob * imp[i]
            slopes = tuple(gram[i][j] for j in active)
            own = active.index(i) if i in active else None
            d_c = 2 * box_integral_rational(1, slopes, bias[i], _unit(d))
            if own is not None:
                d_c -= 2 * box_integral_rational(0, slopes, bias[i], _unit(d, own))
            g_b[i] += weight * d_c
            for pos, j in enumerate(active):
                d_a = 2 * box_integral_rational(1, slopes, bias[i], _unit(d, pos))
                if own is not None:
                    d_a -= 2 * box_integral_rational(0, slopes, bias[i], _unit(d, own, pos))
                g[i][j] += weight * d_a
    return g, g_b


def to_float_gradient(
    W: Any, g: list[list[Fraction]], g_b: list[Fraction]
) -> tuple[np.ndarray, np.ndarray]:
    """(∂L/∂W, ∂L/∂b) as floats from :func:`gradient_rational`'s exact output (rounded once)."""
    w = np.asarray(W, dtype=np.float64)
    wf = [[Fraction(float(v)) for v in row] for row in w]
    n = len(g_b)
    sym = [[g[i][j] + g[j][i] for j in range(n)] for i in range(n)]
    grad_w = np.array(
        [
            [float(sum((wf[k][i] * sym[i][j] for i in range(n)), Fraction(0))) for j in range(n)]
            for k in range(len(wf))
        ]
    )
    return grad_w, np.array([float(v) for v in g_b])
