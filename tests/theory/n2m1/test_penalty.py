"""Tests for the L1 penalties of theory.n2m1: closed form, symbolic form, gradient, kinks, inputs.

The penalised objective is L + l1_hidden · E|h| + l1_weights · (|w_1| + |w_2|), h = w_1 x_1 + w_2 x_2
(docs/control_theory.md). References independent of the code under test: adaptive quadrature
(scipy) split at the kink of |h|, Monte Carlo with a fixed seed, the sympy expression in mpmath,
and finite differences. Each tolerance is stated with its reason.
"""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from theory import n2m1
from theory.n2m1.penalty import abs_pair_mean, orthant_signs

# ---------------------------------------------------------------- references


def _quad(f, lo: float, hi: float, points: list[float]) -> float:
    inside = sorted({x for x in points if lo < x < hi})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return integrate.quad(
            f, lo, hi, points=inside or None, epsabs=1e-17, epsrel=1e-12, limit=200
        )[0]


def quadrature_abs_pair(w1: float, w2: float) -> float:
    """∫∫ |w1 u + w2 v| du dv over the unit square, the inner integral split at its kink."""

    def inner(u: float) -> float:
        kink = [-w1 * u / w2] if w2 != 0 else []
        return _quad(lambda v: abs(w1 * u + w2 * v), 0.0, 1.0, kink)

    return _quad(inner, 0.0, 1.0, [])


def quadrature_penalty(w, p, l1_hidden: float, l1_weights: float) -> float:
    """l1_hidden · E|h| + l1_weights · (|w_1| + |w_2|) by quadrature over the activity patterns."""
    (w1, w2), (p1, p2) = w, p
    e_abs = (
        p1 * (1 - p2) * _quad(lambda u: abs(w1 * u), 0.0, 1.0, [])
        + (1 - p1) * p2 * _quad(lambda v: abs(w2 * v), 0.0, 1.0, [])
        + p1 * p2 * quadrature_abs_pair(w1, w2)
    )
    return l1_hidden * e_abs + l1_weights * (abs(w1) + abs(w2))


# ---------------------------------------------------------------- strategies


@st.composite
def penalised_points(draw):
    """(w, b, density, importance, l1_hidden, l1_weights), degenerate cases included."""
    weight = st.one_of(
        st.floats(-3, 3),
        st.just(0.0),
        st.floats(-1e-6, 1e-6),
        st.sampled_from([1.0, -1.0, 0.5, -0.5]),
    )
    w = np.array([draw(weight), draw(weight)])
    if draw(st.booleans()):  # |w_1| = |w_2|: where the two branches of F meet
        w[1] = math.copysign(abs(w[0]), w[1] if w[1] != 0 else -1.0)
    b = np.array([draw(st.one_of(st.floats(-2, 2), st.floats(-60, 60))) for _ in range(2)])
    density = st.one_of(st.floats(-3, 0).map(lambda e: 10.0**e), st.just(1.0))
    p = np.array([draw(density), draw(density)])
    imp = np.array([draw(st.floats(0, 3)), draw(st.floats(0, 3))])
    penalty = st.one_of(st.just(0.0), st.floats(0, 1), st.just(1.0))
    return w, b, p, imp, draw(penalty), draw(penalty)


# ---------------------------------------------------------------- closed form


@given(penalised_points())
def test_penalty_matches_adaptive_quadrature(point):
    w, b, p, imp, lh, lw = point
    got = float(n2m1.expected_loss(w, b, p, imp, l1_hidden=lh, l1_weights=lw))
    base = float(n2m1.expected_loss(w, b, p, imp))  # checked against quadrature elsewhere
    ref = quadrature_penalty(w, p, lh, lw)
    # Quadrature split at the kink of |h| is accurate to ~1e-12 relative; the closed form is
    # exact. 1e-8 relative to the penalty, plus rounding on the scale of the whole objective.
    assert abs((got - base) - ref) <= 1e-8 * ref + 1e-14 * (abs(base) + ref) + 1e-300


@pytest.mark.parametrize(
    ("w1", "w2"),
    [(1.0, -1.0), (2.0, -1.0), (-0.3, 1.7), (0.7, 0.4), (1e-9, -2.0), (0.0, -1.5), (1.0, 0.0)],
)
def test_abs_pair_mean_matches_quadrature(w1, w2):
    w = np.array([w1, w2])
    got = float(abs_pair_mean(w, orthant_signs(w), order=0)[0])
    # Quadrature with the kink line v = −w1 u / w2 as a breakpoint: ~1e-12 relative.
    assert got == pytest.approx(quadrature_abs_pair(w1, w2), rel=1e-10, abs=1e-15)


@pytest.mark.parametrize(
    ("w", "b", "p", "imp", "lh", "lw"),
    [
        ([1.0, -1.0], [0.0, 0.0], [0.3, 0.3], [1.0, 0.5], 1.0, 0.0),
        ([0.8, -1.3], [-0.2, 0.1], [0.05, 0.6], [1.0, 2.0], 0.4, 0.1),
        ([-1.2, -0.7], [0.3, -0.4], [1.0, 1.0], [0.7, 1.3], 0.7, 0.0),
        ([0.0, 1.5], [2.5, -3.0], [0.5, 0.2], [1.0, 1.0], 1.0, 1.0),
        ([2.0, -0.4], [-1.0, 40.0], [0.9, 0.8], [1.0, 0.3], 0.25, 0.5),
    ],
)
def test_penalised_objective_matches_monte_carlo(w, b, p, imp, lh, lw):
    """The whole penalised objective, sampled: x' = ReLU(WᵀWx + b), h = Wx."""
    rng = np.random.default_rng(2024)
    n = 400_000
    x = rng.uniform(size=(n, 2)) * (rng.uniform(size=(n, 2)) < np.asarray(p))  # (n, 2)
    w_, b_ = np.asarray(w), np.asarray(b)
    h = x @ w_  # (n,)
    out = np.maximum(h[:, None] * w_ + b_, 0.0)
    per_example = np.sum(np.asarray(imp) * (x - out) ** 2, axis=1) + lh * np.abs(h)
    mean = per_example.mean() + lw * np.sum(np.abs(w_))
    se = per_example.std(ddof=1) / math.sqrt(n)
    got = float(n2m1.expected_loss(w, b, p, imp, l1_hidden=lh, l1_weights=lw))
    # Fixed seed; 5 standard errors is a two-sided 99.99994 % interval for the sample mean.
    assert abs(got - mean) <= 5 * se + 1e-15


@given(penalised_points(), st.integers(0, 2**32 - 1))
def test_penalised_objective_matches_monte_carlo_at_drawn_points(point, seed):
    w, b, p, imp, lh, lw = point
    rng = np.random.default_rng(seed)
    n = 50_000
    x = rng.uniform(size=(n, 2)) * (rng.uniform(size=(n, 2)) < p)  # (n, 2)
    h = x @ w
    out = np.maximum(h[:, None] * w + b, 0.0)
    per_example = np.sum(imp * (x - out) ** 2, axis=1) + lh * np.abs(h)
    mean = per_example.mean() + lw * np.sum(np.abs(w))
    se = per_example.std(ddof=1) / math.sqrt(n)
    got = float(n2m1.expected_loss(w, b, p, imp, l1_hidden=lh, l1_weights=lw))
    # 6 standard errors: over the ~25-60 drawn examples the chance of a false alarm is < 1e-7
    # (the seed is drawn too); the rounding term covers examples whose samples are all equal.
    assert abs(got - mean) <= 6 * se + 1e-12 * (1 + abs(mean))


def test_symbolic_penalty_equals_numeric():
    pen = n2m1.symbolic_penalty()
    f = sp.lambdify(pen.symbols, pen.hidden, modules="mpmath")
    rng = np.random.default_rng(3)
    for k in range(24):
        w = rng.normal(size=2) * 1.5
        if k % 6 == 1:
            w[0] = 0.0
        if k % 6 == 2:
            w[1] = -w[0]  # |w_1| = |w_2|
        p = 10 ** rng.uniform(-3, 0, size=2)
        with mpmath.workdps(50):
            ref = float(f(*[mpmath.mpf(float(v)) for v in (*w, *p)]))
        got = float(n2m1.expected_loss(w, [-5.0, -5.0], p, [0.0, 0.0], l1_hidden=1.0))
        # Same exact function; float64 rounding of a handful of terms (~1e-16 each).
        assert got == pytest.approx(ref, rel=1e-13, abs=1e-300)
    # The symbolic loss with penalty=True is the loss plus both penalties.
    sym = n2m1.symbolic_loss(penalty=True)
    assert len(sym.symbols) == 10
    g = sp.lambdify(sym.symbols, sym.expr, modules="mpmath")
    point = (0.9, -0.6, 0.1, -0.2, 0.3, 0.7, 1.0, 0.5, 0.4, 0.2)
    with mpmath.workdps(50):
        ref = float(g(*[mpmath.mpf(v) for v in point]))
    got = n2m1.expected_loss(
        point[:2], point[2:4], point[4:6], point[6:8], l1_hidden=0.4, l1_weights=0.2
    )
    assert float(got) == pytest.approx(ref, rel=1e-13)


def test_symbolic_both_pattern_closed_form():
    """E|w1 u + w2 v| = (|w1 + w2|³ − |w1|³ − |w2|³) / (6 w1 w2) for w1 w2 ≠ 0."""
    pen = n2m1.symbolic_penalty()
    w1, w2 = pen.symbols[:2]
    both = pen.patterns[3]
    for a, c in ((1, -1), (2, -1), (sp.Rational(1, 3), 5), (-3, -2)):
        expected = (abs(a + c) ** 3 - abs(a) ** 3 - abs(c) ** 3) / (6 * a * c)
        assert sp.nsimplify(both.subs({w1: a, w2: c})) == sp.nsimplify(expected)
    assert n2m1.symbolic_penalty().weights == sp.Abs(w1) + sp.Abs(w2)


# ---------------------------------------------------------------- gradient and kinks


@given(penalised_points())
def test_penalised_gradient_matches_finite_differences(point):
    w, b, p, imp, lh, lw = point
    # Away from the kinks: |w_i| and E|h| kink at w_i = 0; L at w_i = b_i = 0 (curvature
    # ~ 1/(w_i² + |b_i|)); F's curvature is 2/(3 max|w_i|).
    if np.any(np.abs(w) < 1e-2) or np.any(w**2 + np.abs(b) < 1e-3):
        return
    x = np.concatenate([w, b])
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    kw = {"l1_hidden": lh, "l1_weights": lw}
    _, g_w, g_b = n2m1.expected_loss_and_grad(w, b, p, imp, **kw)
    ref = np.empty(4)
    for k in range(4):
        up, down = x.copy(), x.copy()
        up[k] += h[k]
        down[k] -= h[k]
        lu = n2m1.expected_loss(up[:2], up[2:], p, imp, **kw)
        ld = n2m1.expected_loss(down[:2], down[2:], p, imp, **kw)
        ref[k] = (lu - ld) / (2 * h[k])
    scale = float(np.sum(imp * (1 + b**2 + (w**2 + abs(w[0] * w[1])) ** 2))) + lh + lw
    # Central differences: truncation ~h² · third derivative (the Hessian may jump inside the
    # stencil, error ~ h · jump) and rounding ~1e-16 · scale / h: both below 1e-5 · scale.
    np.testing.assert_allclose(np.concatenate([g_w, g_b]), ref, rtol=1e-6, atol=1e-5 * scale)


def test_gradient_at_kinks_is_the_minimum_norm_subgradient():
    p, imp = 0.4, [1.0, 0.5]
    # W = [1, 0], b = (0, p/2) (the paper's dropped candidate) is stationary without penalty:
    # with a penalty, w_2 = 0 stays stationary (both one-sided slopes are +κ_2 > 0).
    kw = {"l1_hidden": 0.3, "l1_weights": 0.05}
    _, g_w, _ = n2m1.expected_loss_and_grad([1.0, 0.0], [0.0, p / 2], p, imp, **kw)
    assert g_w[1] == 0.0
    # The one-sided slopes along ±e_2 are κ_2 ± s: the kink's half-width
    # κ_2 = l1_hidden · p (1 − p)/2 + l1_weights (from p (1 − p)|w_2|/2 and |w_2|) and the smooth
    # slope s = l1_hidden · p² · sign(w_1)/2 of the "both active" term E|w_1 u + w_2 v|.
    kappa = 0.3 * p * (1 - p) / 2 + 0.05
    smooth = 0.3 * p * p / 2
    at = n2m1.expected_loss([1.0, 0.0], [0.0, p / 2], p, imp, **kw)
    for sign in (1.0, -1.0):
        eps = 1e-7
        up = n2m1.expected_loss([1.0, sign * eps], [0.0, p / 2], p, imp, **kw)
        # L is stationary in w_2 there (its slope is O(eps)), F's curvature 2/3 gives O(eps).
        assert float((up - at) / eps) == pytest.approx(kappa + sign * smooth, rel=1e-5)
    # A pull larger than κ: at W = [1, 0] with b_2 = 0.001 < E[x_2] (so L is smooth there: its
    # own kink is at w_2 = b_2 = 0), ∂L/∂w_2 = −2 E[x_1] (E[x_2] − b_2) = −1.2e-3 outweighs
    # κ_2 ~ 2e-5: the min-norm subgradient is the one-sided slope d⁺ < 0, not zero.
    small, p, b = {"l1_hidden": 1e-3}, 0.05, [0.0, 0.001]
    _, g_w, _ = n2m1.expected_loss_and_grad([1.0, 0.0], b, p, [1.0, 1.0], **small)
    eps = 1e-8
    at = n2m1.expected_loss([1.0, 0.0], b, p, [1.0, 1.0], **small)
    d_plus = (n2m1.expected_loss([1.0, eps], b, p, [1.0, 1.0], **small) - at) / eps
    d_minus = (n2m1.expected_loss([1.0, -eps], b, p, [1.0, 1.0], **small) - at) / eps
    assert d_plus < 0 < d_minus
    # One-sided differences: O(eps · curvature) ~ 1e-8.
    assert float(g_w[1]) == pytest.approx(float(d_plus), abs=1e-7)
    assert float(g_w[1]) == pytest.approx(-2 * (p / 2) * (p / 2 - 0.001) + 1e-3 * p / 2, rel=1e-9)
    # Both weights zero: every one-sided slope is positive, so the subgradient is exactly 0.
    _, g_w, _ = n2m1.expected_loss_and_grad([0.0, 0.0], [0.1, 0.1], 0.2, [1.0, 1.0], **small)
    np.testing.assert_array_equal(g_w, [0.0, 0.0])


@given(penalised_points())
def test_zero_penalty_reproduces_the_unpenalised_loss_exactly(point):
    w, b, p, imp, _, _ = point
    plain = n2m1.expected_loss_and_grad(w, b, p, imp)
    zero = n2m1.expected_loss_and_grad(w, b, p, imp, l1_hidden=0.0, l1_weights=0)
    for a, c in zip(plain, zero):
        np.testing.assert_array_equal(a, c)  # bit for bit: the penalty path is skipped


def test_penalties_broadcast_with_leading_axes():
    lam = np.array([0.0, 0.1, 0.5])
    w = np.array([[1.0, -1.0], [0.5, 0.2]])[:, None, :]  # (2, 1, 2)
    got = n2m1.expected_loss(w, [0.0, 0.0], 0.3, [1.0, 1.0], l1_hidden=lam)
    assert got.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            one = n2m1.expected_loss(w[i, 0], [0.0, 0.0], 0.3, [1.0, 1.0], l1_hidden=lam[j])
            assert got[i, j] == pytest.approx(float(one), rel=1e-15)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"l1_hidden": -0.1}, ValueError, r"l1_hidden must be a finite number >= 0.*-0\.1"),
        ({"l1_weights": float("nan")}, ValueError, r"l1_weights must be a finite number.*nan"),
        ({"l1_hidden": float("inf")}, ValueError, r"l1_hidden must be a finite.*inf"),
        ({"l1_hidden": "0.1"}, TypeError, r"l1_hidden must be a number.*'0\.1'"),
        ({"l1_weights": True}, TypeError, r"l1_weights must be a number.*True.*bool"),
        ({"l1_hidden": [0.1, np.bool_(True)]}, TypeError, r"l1_hidden.*bool"),
        ({"l1_hidden": [0.1, 0.2, 0.3]}, ValueError, r"broadcast with the leading"),
        ({"l1_hidden": None}, TypeError, r"l1_hidden must be a number.*None"),
    ],
)
def test_bad_penalties_raise(kwargs, error, match):
    args = {"w": [[1.0, -1.0]] * 2, "b": [0.0, 0.0], "density": 0.5, "importance": [1.0, 0.5]}
    with pytest.raises(error, match=match):
        n2m1.expected_loss(**args, **kwargs)
    with pytest.raises(error, match=match):
        n2m1.expected_loss_and_grad(**args, **kwargs)


def test_bad_penalties_raise_everywhere():
    with pytest.raises(ValueError, match=r"l1_hidden must be a finite number >= 0.*-1"):
        n2m1.exact_optimum(0.5, 0.3, l1_hidden=-1)
    with pytest.raises(ValueError, match=r"l1_weights must be a single number"):
        n2m1.exact_phase_map([0.5], [0.3], l1_weights=[0.1, 0.2], cache=False)
    with pytest.raises(TypeError, match=r"l1_hidden.*bool"):
        n2m1.exact_phase_map([0.5], [0.3], l1_hidden=False, cache=False)
    with pytest.raises(ValueError, match=r"l1_weights must be a finite.*inf"):
        n2m1.exact_boundary([0.5], l1_weights=float("inf"))
    with pytest.raises(TypeError, match=r"l1_hidden must be a number.*'a lot'"):
        n2m1.exact_transition([0.5], l1_hidden="a lot")
    with pytest.raises(ValueError, match=r"l1_hidden.*nan"):
        n2m1.penalised_candidates(0.5, 0.3, l1_hidden=float("nan"))
    with pytest.raises(ValueError, match=r"which must be 'l1_hidden' or 'l1_weights'.*'l2'"):
        n2m1.penalty_to_remove_superposition(0.5, 0.3, "l2")
    with pytest.raises(ValueError, match=r"edge must be 'upper', 'lower' or 'reentry'"):
        n2m1.exact_boundary([0.5], edge="middle")
    with pytest.raises(TypeError, match=r"penalty must be True or False"):
        n2m1.symbolic_loss(penalty=1)
