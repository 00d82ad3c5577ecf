"""Tests for theory.n2m1: the exact n=2, m=1 loss, its candidates, phases and exact optimum.

Every numeric comparison states its tolerance and why. References are independent of the code
under test: adaptive quadrature (scipy), Monte Carlo with a fixed seed, the sympy expression
evaluated in high-precision arithmetic (mpmath), finite differences, and closed forms from
the paper (Elhage et al. 2022, "Superposition as a Phase Change").
"""

from __future__ import annotations

import functools
import json
import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import integrate, optimize

from theory import n2m1
from theory.n2m1 import exact as _n2m1_exact
from theory.n2m1.candidates import _antipodal_feature_loss
from theory.n2m1.kernels import loss_terms

# ---------------------------------------------------------------- references


def _relu(z: float) -> float:
    return z if z > 0 else 0.0


def _quad(f, lo: float, hi: float, points: list[float]) -> float:
    inside = sorted({x for x in points if lo < x < hi})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return integrate.quad(
            f, lo, hi, points=inside or None, epsabs=1e-17, epsrel=1e-12, limit=200
        )[0]


def _root(num: float, den: float) -> list[float]:
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        x = -num / den if den != 0 else math.inf
    return [float(x)] if math.isfinite(x) else []


def _feature_quadrature(a: float, c: float, bi: float, pi: float, pj: float) -> float:
    """One feature's squared error by quadrature over the four activity patterns."""
    none = _relu(bi) ** 2
    only_j = _quad(lambda v: _relu(c * v + bi) ** 2, 0, 1, _root(bi, c))
    only_i = _quad(lambda u: (u - _relu(a * u + bi)) ** 2, 0, 1, _root(bi, a))

    def inner(u: float) -> float:
        s = a * u + bi
        return _quad(lambda v: (u - _relu(s + c * v)) ** 2, 0, 1, _root(s, c))

    both = _quad(inner, 0, 1, _root(bi, a) + _root(bi + c, a))
    return (
        (1 - pi) * (1 - pj) * none
        + (1 - pi) * pj * only_j
        + pi * (1 - pj) * only_i
        + pi * pj * both
    )


def quadrature_loss(w, b, p, imp) -> float:
    """The loss by adaptive quadrature, split at every kink of the integrand."""
    total = 0.0
    for i in range(2):
        j = 1 - i
        a, c = w[i] ** 2, w[i] * w[j]
        total += imp[i] * _feature_quadrature(a, c, b[i], p[i], p[j])
    return total


def _scale(w, b, imp) -> float:
    """Typical size of the loss's terms, for absolute tolerances."""
    w, b = np.asarray(w), np.asarray(b)
    return float(np.sum(np.asarray(imp) * (1 + b**2 + (w**2 + abs(w[0] * w[1])) ** 2)))


@functools.lru_cache(maxsize=1)
def _mp_function():
    sym = n2m1.symbolic_loss()
    return sp.lambdify(sym.symbols, sym.expr, modules="mpmath")


@pytest.fixture(scope="module")
def mp_loss():
    """The sympy expression, evaluated with mpmath at 80 significant digits."""
    f = _mp_function()

    def evaluate(values, dps: int = 80):
        with mpmath.workdps(dps):
            return f(*[mpmath.mpf(float(v)) for v in values])

    return evaluate


# ---------------------------------------------------------------- strategies


@st.composite
def landscape_points(draw):
    """(w, b, density, importance) across the whole domain, with the degenerate cases."""
    weight = st.one_of(
        st.floats(-3, 3),
        st.just(0.0),
        st.floats(-1e-6, 1e-6),
        st.sampled_from([1.0, -1.0, 0.5, -0.5]),
    )
    w = [draw(weight), draw(weight)]
    b = []
    for i in range(2):
        a, c = w[i] ** 2, w[i] * w[1 - i]
        # Breakpoints exactly at 0 or 1: b = 0, −a, −c, −(a + c); plus large biases.
        b.append(
            draw(
                st.one_of(
                    st.floats(-2, 2),
                    st.floats(-60, 60),
                    st.sampled_from([0.0, -a, -c, -(a + c)]),
                )
            )
        )
    density = st.one_of(st.floats(-3, 0).map(lambda e: 10.0**e), st.just(1.0))
    p = [draw(density), draw(density)]
    imp = [draw(st.floats(0, 3)), draw(st.floats(0, 3))]
    return np.array(w), np.array(b), np.array(p), np.array(imp)


# ---------------------------------------------------------------- the closed form


@given(landscape_points())
def test_closed_form_matches_adaptive_quadrature(point):
    w, b, p, imp = point
    got = float(n2m1.expected_loss(w, b, p, imp))
    ref = quadrature_loss(w, b, p, imp)
    # The closed form is exact; quadrature split at every kink is accurate to ~1e-12 relative,
    # so 1e-8 relative (plus rounding on the terms' scale for losses that cancel to ~0) is safe.
    assert abs(got - ref) <= 1e-8 * abs(ref) + 1e-14 * _scale(w, b, imp)


@pytest.mark.parametrize(
    ("w", "b", "p", "imp"),
    [
        ([1.0, -1.0], [0.0, 0.0], [0.3, 0.3], [1.0, 0.5]),
        ([0.8, -1.3], [-0.2, 0.1], [0.05, 0.6], [1.0, 2.0]),
        ([-1.2, -0.7], [0.3, -0.4], [1.0, 1.0], [0.7, 1.3]),
        ([0.0, 1.5], [2.5, -3.0], [0.5, 0.2], [1.0, 1.0]),
        ([2.0, 0.4], [-1.0, 0.05], [0.001, 0.001], [1.0, 0.3]),
    ],
)
def test_closed_form_matches_monte_carlo(w, b, p, imp):
    rng = np.random.default_rng(12345)
    n = 400_000
    x = rng.uniform(size=(n, 2)) * (rng.uniform(size=(n, 2)) < np.asarray(p))  # (n, 2)
    w_, b_ = np.asarray(w), np.asarray(b)
    h = x @ w_  # (n,)
    out = np.maximum(h[:, None] * w_ + b_, 0.0)  # (n, 2)
    per_example = np.sum(np.asarray(imp) * (x - out) ** 2, axis=1)
    mean = per_example.mean()
    se = per_example.std(ddof=1) / math.sqrt(n)
    got = float(n2m1.expected_loss(w, b, p, imp))
    # Fixed seed; 5 standard errors is a two-sided 99.99994 % interval for the sample mean.
    assert abs(got - mean) <= 5 * se + 1e-15


def test_symbolic_expression_equals_numeric(mp_loss):
    rng = np.random.default_rng(7)
    points = []
    for k in range(30):
        w = rng.normal(size=2) * 1.5
        if k % 6 == 1:
            w[0] = 0.0
        if k % 6 == 2:
            w[1] = 0.0
        b = rng.normal(size=2) * (0.4 if k % 3 else 5.0)
        p = 10 ** rng.uniform(-3, 0, size=2)
        imp = rng.uniform(0, 2, size=2)
        points.append((w, b, p, imp))
    for w, b, p, imp in points:
        ref = float(mp_loss([*w, *b, *p, *imp]))
        got = float(n2m1.expected_loss(w, b, p, imp))
        # Same exact function; the numeric path rounds in float64 (~1e-15 per term).
        assert got == pytest.approx(ref, rel=1e-12, abs=1e-15 * _scale(w, b, imp))


def test_symbolic_patterns_are_the_four_activity_integrals():
    sym = n2m1.symbolic_loss()
    w1, w2, b1 = sym.symbols[:3]
    none, only_2, only_1, both = sym.patterns
    vals = {w1: 0.9, w2: -0.6, b1: 0.1}
    # Each pattern against its own quadrature (1e-10: quadrature accuracy).
    assert float(none.subs(vals)) == pytest.approx(0.01, rel=1e-14)
    ref2 = _quad(lambda v: _relu(-0.54 * v + 0.1) ** 2, 0, 1, [0.1 / 0.54])
    assert float(only_2.subs(vals)) == pytest.approx(ref2, rel=1e-10)
    ref1 = _quad(lambda u: (u - _relu(0.81 * u + 0.1)) ** 2, 0, 1, [])
    assert float(only_1.subs(vals)) == pytest.approx(ref1, rel=1e-10)
    ref12 = quadrature_loss([0.9, -0.6], [0.1, -100.0], [1.0, 1.0], [1.0, 0.0])
    assert float(both.subs(vals)) == pytest.approx(ref12, rel=1e-10)


@given(landscape_points())
@example((np.array([0.0, 0.125]), np.array([1.0, -1 / 64]), np.ones(2), np.array([0.0, 1.0])))
def test_gradient_matches_finite_differences(point):
    w, b, p, imp = point
    x = np.concatenate([w, b])
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    # The loss's only kink is at w_i = b_i = 0, and its curvature grows like 1/(w_i² + |b_i|)
    # next to it; keep that scale above 1e-3 so the differences' truncation error stays small.
    if np.any(w**2 + np.abs(b) < 1e-3):
        return
    # Where the ReLU's zero crossing meets a corner of the unit square (b_i at a breakpoint 0,
    # −a, −c, −(a + c) with a = w_i², c = w_i w_j) the loss has a kink whose one-sided curvature
    # grows like 1/slope: a central difference across it is off by ~h / slope (e.g. −3e-5 at
    # slope 1/64), while the gradient returned is a one-sided one. Differences can only check
    # the gradient away from these kinks.
    for i in range(2):
        a, c = w[i] ** 2, w[i] * w[1 - i]
        if min(abs(b[i] - t) for t in (0.0, -a, -c, -(a + c))) <= 2 * h[2 + i]:
            return
    _, g_w, g_b = n2m1.expected_loss_and_grad(w, b, p, imp)
    got = np.concatenate([g_w, g_b])
    ref = np.empty(4)
    for k in range(4):
        up, down = x.copy(), x.copy()
        up[k] += h[k]
        down[k] -= h[k]
        lu = n2m1.expected_loss(up[:2], up[2:], p, imp)
        ld = n2m1.expected_loss(down[:2], down[2:], p, imp)
        ref[k] = (lu - ld) / (2 * h[k])
    # Central differences: the Hessian may jump inside [x − h, x + h] (error ~ h · jump), and
    # rounding contributes ~1e-16 · scale / h; both are below 1e-5 · scale.
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-5 * _scale(w, b, imp) + 1e-300)


@pytest.mark.parametrize(
    ("w", "b", "p", "imp"),
    [
        ([0.8, -1.1], [-0.1, 0.05], [0.3, 0.6], [1.0, 0.7]),
        ([1.4, 0.3], [-0.5, 0.2], [0.01, 1.0], [0.4, 2.0]),
        ([-0.6, -0.9], [0.3, -0.2], [1.0, 1.0], [1.0, 1.0]),
        ([0.0, 1.2], [0.2, -0.3], [0.5, 0.5], [1.0, 0.5]),
        ([1.0, 0.0], [-0.2, 0.25], [0.2, 0.7], [1.0, 1.0]),
        ([2.5, -0.4], [4.0, -3.0], [0.001, 0.05], [2.0, 1.0]),
    ],
)
def test_gradient_matches_symbolic_derivative(w, b, p, imp):
    """Exact gradient vs the derivative of the sympy expression, by central differences in
    150-digit arithmetic (an independent path: symbolic integration, then mpmath)."""
    f = _mp_function()
    x = [*w, *b]
    _, g_w, g_b = n2m1.expected_loss_and_grad(w, b, p, imp)
    # Next to w_i = 0 the generic branch divides by up to w_i⁵ w_j: perturbing a zero weight by
    # h = 1e-12 cancels ~60 digits, the difference quotient ~12 more; 150 digits leave plenty.
    with mpmath.workdps(150):
        h = mpmath.mpf("1e-12")
        base = [mpmath.mpf(float(v)) for v in (*x, *p, *imp)]
        ref = []
        for k in range(4):
            up, down = list(base), list(base)
            up[k] += h
            down[k] -= h
            ref.append(float((f(*up) - f(*down)) / (2 * h)))
    # Truncation ~ h² · L''' ~ 1e-24; the float64 gradient rounds at ~1e-15 of its terms.
    np.testing.assert_allclose(np.concatenate([g_w, g_b]), ref, rtol=1e-10, atol=1e-13)


@given(landscape_points())
def test_hessian_matches_differences_of_the_gradient(point):
    w, b, p, imp = point
    b = np.clip(b, -5, 5)
    a, c = w**2, w * w[::-1]
    corners = np.stack([b, b + a, b + c, b + a + c])
    # The Hessian jumps where the ReLU's zero line crosses a corner of the unit square (a corner
    # value is 0), and blows up at the kink w_i = b_i = 0; keep 1e-4 away from both.
    if np.any(np.abs(corners) < 1e-4) or np.any(np.abs(w) < 1e-2):
        return
    *_, hess = loss_terms(w, b, p, imp, order=2)
    x = np.concatenate([w, b])
    h = 1e-7
    ref = np.zeros((4, 4))
    for k in range(4):
        e = np.zeros(4)
        e[k] = h
        gp = np.concatenate(loss_terms((x + e)[:2], (x + e)[2:], p, imp, order=1)[1:])
        gm = np.concatenate(loss_terms((x - e)[:2], (x - e)[2:], p, imp, order=1)[1:])
        ref[:, k] = (gp - gm) / (2 * h)
    # Central differences of the exact gradient: truncation ~h² · L'''' and rounding
    # ~1e-16 · scale / h ~ 1e-9 · scale.
    np.testing.assert_allclose(hess, ref, rtol=1e-6, atol=1e-8 * _scale(w, b, imp) + 1e-300)


def test_vectorised_broadcasting_and_shapes():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 1, 2))
    b = rng.normal(size=(1, 4, 2)) * 0.3
    p = rng.uniform(0.1, 1, size=(4, 1))  # one density per cell, shared by both features
    loss, g_w, g_b = n2m1.expected_loss_and_grad(w, b, p, [1.0, 0.5])
    assert loss.shape == (3, 4)
    assert g_w.shape == g_b.shape == (3, 4, 2)
    for i in range(3):
        for j in range(4):
            one = n2m1.expected_loss(w[i, 0], b[0, j], p[j, 0], [1.0, 0.5])
            assert loss[i, j] == pytest.approx(float(one), rel=1e-14)  # same arithmetic
    assert np.shape(n2m1.expected_loss([1.0, 0.0], [0.0, 0.1], 0.5, 1.0)) == ()


# ---------------------------------------------------------------- symmetries and limits


@given(landscape_points())
def test_swapping_features_with_their_importance_and_density(point):
    w, b, p, imp = point
    a = n2m1.expected_loss(w, b, p, imp)
    s = n2m1.expected_loss(w[::-1], b[::-1], p[::-1], imp[::-1])
    # Same terms summed in the other order: equal up to one rounding.
    assert float(s) == pytest.approx(float(a), rel=1e-14, abs=1e-300)


@given(landscape_points())
def test_sign_flip_of_w_is_exact(point):
    w, b, p, imp = point
    # The loss depends on WᵀW only: w_i² and w_1 w_2 are bitwise identical under W → −W.
    assert n2m1.expected_loss(-w, b, p, imp) == n2m1.expected_loss(w, b, p, imp)


@given(landscape_points())
def test_sparse_limit(point):
    w, b, _, imp = point
    # L is a polynomial in (p_1, p_2): L(p) = Σ_i I_i R(b_i)² + p (Σ_i I_i [K1_i + J_i − 2 R(b_i)²])
    # + O(p²). At p = 1e-9 the O(p) term is below 1e-8 relative of the scale.
    tiny = n2m1.expected_loss(w, b, 1e-9, imp)
    floor = float(np.sum(imp * np.maximum(b, 0) ** 2))
    assert float(tiny) == pytest.approx(floor, rel=1e-8, abs=1e-8 * _scale(w, b, imp))


def test_sparse_limit_with_non_positive_bias_is_linear_in_density():
    w, b, imp = np.array([1.3, -0.7]), np.array([-0.1, 0.0]), np.array([1.0, 0.6])
    # With b <= 0 nothing is output when x = 0, so L → 0 and L/p → Σ_i I_i [K1_i + J_i]: the
    # single-active-feature errors. Check against quadrature (the O(p) remainder at p = 1e-7
    # is 1e-7 relative).
    slope = 0.0
    for i in range(2):
        a, c = w[i] ** 2, w[i] * w[1 - i]
        k1 = _quad(lambda u, a=a, i=i: (u - _relu(a * u + b[i])) ** 2, 0, 1, [-b[i] / a])
        jj = _quad(lambda v, c=c, i=i: _relu(c * v + b[i]) ** 2, 0, 1, [-b[i] / c])
        slope += imp[i] * (k1 + jj)
    p = 1e-7
    assert float(n2m1.expected_loss(w, b, p, imp)) / p == pytest.approx(slope, rel=1e-6)
    # ... and the limit p → 0 is exactly 0, approached linearly, down to the smallest densities.
    assert float(n2m1.expected_loss(w, b, 1e-300, imp)) == pytest.approx(slope * 1e-300, rel=1e-6)


def test_dense_limit_is_the_both_active_integral():
    w, b, imp = np.array([0.9, -1.1]), np.array([0.2, -0.3]), np.array([1.0, 0.8])
    # p = 1: every example has both features active; quadrature of that pattern only.
    ref = quadrature_loss(w, b, [1.0, 1.0], imp)
    assert float(n2m1.expected_loss(w, b, 1.0, imp)) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("r", [0.1, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("p", [0.001, 0.2, 0.7, 1.0])
def test_reference_closed_forms(r, p):
    # The paper's three candidates' losses (sum over features; docs/theory.md §2).
    imp = [1.0, r]
    var = p / 3 - p * p / 4
    assert float(n2m1.expected_loss([1, 0], [0, p / 2], p, imp)) == pytest.approx(r * var, 1e-13)
    assert float(n2m1.expected_loss([0, 1], [p / 2, 0], p, imp)) == pytest.approx(var, 1e-13)
    anti = (1 + r) * p * p / 6
    assert float(n2m1.expected_loss([1, -1], [0, 0], p, imp)) == pytest.approx(anti, 1e-13)
    # docs/theory.md §2: at W = [1, −1], b = 0 the bias gradient is −I_i p²/3.
    _, _, g_b = n2m1.expected_loss_and_grad([1, -1], [0, 0], p, imp)
    np.testing.assert_allclose(g_b, [-p * p / 3, -r * p * p / 3], rtol=1e-12)


# ---------------------------------------------------------------- candidates and boundaries


def test_candidate_theory_reproduces_the_paper():
    th = n2m1.candidate_theory()
    r, p = th.r, th.p
    var = p / 3 - p**2 / 4
    assert sp.simplify(th.losses["not_represented"] - r * var) == 0
    assert sp.simplify(th.losses["dedicated"] - var) == 0
    assert sp.simplify(th.losses["superposition"] - (1 + r) * p**2 / 6) == 0
    assert th.biases["not_represented"] == (0, p / 2)
    assert th.biases["dedicated"] == (p / 2, 0)
    expected = sp.Piecewise((4 * r / (2 + 5 * r), r <= 1), (4 / (5 + 2 * r), True))
    for value in (sp.Rational(1, 10), sp.Rational(1, 2), 1, 2, 10):
        assert sp.simplify(th.boundary.subs(r, value) - expected.subs(r, value)) == 0
    assert th.triple_point == (1, sp.Rational(4, 7))
    assert r"\frac{4 r}{5 r + 2}" in th.boundary_latex


def test_symbolic_boundary_equals_numeric_crossings():
    losses = n2m1.candidate_losses
    for r in (0.1, 0.3, 0.7, 1.0, 1.5, 4.0, 10.0):
        # brentq on the difference "best non-superposition candidate − antipodal pair".
        def gap(p, r=r):
            c = losses(r, p)
            return min(c["not_represented"], c["dedicated"]) - c["superposition"]

        root = optimize.brentq(gap, 1e-6, 1.0, xtol=1e-15, rtol=1e-15)
        # brentq's own tolerance is ~1e-15; the closed form is exact.
        assert float(n2m1.candidate_boundary(r)) == pytest.approx(root, rel=1e-12)
    np.testing.assert_allclose(n2m1.candidate_boundary([1.0]), [4 / 7], rtol=1e-15)


def test_candidate_phase_map_orientation_and_labels():
    r = np.array([0.2, 0.5, 2.0, 5.0])
    p = np.array([0.05, 0.5, 0.95])
    labels = n2m1.candidate_phase_map(r, p)
    assert labels.shape == (3, 4)  # one row per density, one column per importance
    assert list(labels[0]) == ["superposition"] * 4
    assert list(labels[2]) == ["not_represented", "not_represented", "dedicated", "dedicated"]
    # p = 0.5 lies above p*(0.2) = p*(5) = 0.267 and p*(0.5) = p*(2) = 4/9.
    assert list(labels[1]) == ["not_represented", "not_represented", "dedicated", "dedicated"]


def test_optimal_antipodal_bias():
    th = n2m1.candidate_theory(antipodal_bias="optimal")
    p = th.p
    beta_sym = th.biases["superposition"][0]
    for value in (0.01, 0.3, 0.8, 1.0):
        beta = float(n2m1.antipodal_optimal_bias(value))
        # The symbolic root (Cardano's formula) evaluated at 30 digits vs 64-step bisection.
        assert complex(beta_sym.subs(p, value).evalf(30)).real == pytest.approx(beta, rel=1e-12)
        # The hard-coded polynomial equals the exact loss at W = [1, −1], b = (β, β).
        exact = float(n2m1.expected_loss([1, -1], [beta, beta], value, [1.0, 0.0]))
        assert float(_antipodal_feature_loss(np.float64(beta), np.float64(value))) == (
            pytest.approx(exact, rel=1e-12)
        )
        # β* is the global minimiser over all biases (grid over [−2, 2], both signs).
        grid = np.linspace(-2, 2, 4001)
        scan = n2m1.expected_loss([1, -1], np.stack([grid, grid], -1), value, [1.0, 0.0])
        assert exact <= scan.min() + 1e-15
    # Small-density expansion: β* = p²/6 + O(p³).
    assert float(n2m1.antipodal_optimal_bias(1e-3)) == pytest.approx(1e-6 / 6, rel=2e-3)
    # The optimal bias can only lower the antipodal loss, so it moves the boundary up.
    r = np.array([0.1, 0.5, 1.0, 2.0, 10.0])
    assert np.all(n2m1.candidate_boundary(r, antipodal_bias="optimal") > n2m1.candidate_boundary(r))
    # Triple point of the biased variant: the symbolic nsolve vs the numeric bisection.
    assert float(th.triple_point[1]) == pytest.approx(
        float(n2m1.candidate_boundary(1.0, antipodal_bias="optimal")), rel=1e-12
    )


# ---------------------------------------------------------------- phase labels


def test_phase_label_rule():
    w = np.array(
        [[1.0, 0.1], [0.2, -0.9], [1.0, -1.0], [0.7, 0.7], [0.1, 0.0], [0.5, -1.0], [-0.6, -0.6]]
    )
    got = n2m1.phase_label(w)
    assert list(got) == [
        "not_represented",
        "dedicated",
        "superposition",
        "confused",
        "none",
        "dedicated",  # |w| = 0.5 exactly is not represented (strict inequality)
        "confused",
    ]
    assert n2m1.phase_label(np.zeros((3, 4, 2))).shape == (3, 4)
    assert n2m1.REPRESENTED_THRESHOLD == 0.5
    assert set(n2m1.PHASES) >= set(got)


# ---------------------------------------------------------------- the exact optimum


def test_exact_map_beats_every_candidate(tmp_path, monkeypatch):
    monkeypatch.setenv("TOYSUP_CACHE_DIR", str(tmp_path))
    r = np.array([0.1, 0.4, 0.9, 1.3, 3.0, 10.0])
    p = np.array([0.01, 0.1, 0.35, 0.6, 1.0])
    m = n2m1.exact_phase_map(r, p, cache=False)
    assert m.labels.shape == (5, 6) and m.w.shape == m.b.shape == (5, 6, 2)
    assert m.loss.shape == (5, 6) and np.all(m.converged)
    np.testing.assert_array_equal(m.importance, r)
    np.testing.assert_array_equal(m.density, p)
    cand = n2m1.candidate_losses(r[None, :], p[:, None], antipodal_bias="optimal")
    for name, value in cand.items():
        # The global minimum is at most any candidate's loss (rounding: 1e-13 relative).
        assert np.all(m.loss <= value * (1 + 1e-13)), name
    # The reported optimum is self-consistent.
    imp = np.stack([np.ones_like(m.loss), np.broadcast_to(r, m.loss.shape)], -1)
    np.testing.assert_allclose(
        n2m1.expected_loss(m.w, m.b, p[:, None, None], imp), m.loss, rtol=1e-14
    )
    assert list(m.labels[0]) == ["superposition"] * 6
    assert not any(tmp_path.iterdir())  # cache=False writes nothing


def test_exact_optimum_where_a_candidate_is_optimal():
    # At r = 0.5, p = 0.6 (above the boundary) the dropped candidate is the exact optimum.
    opt = n2m1.exact_optimum(0.5, 0.6)
    assert opt.labels == "not_represented"
    # Newton converges to ~1e-8 in w, the loss to rounding (its error is quadratic in that).
    assert float(opt.loss) == pytest.approx(0.5 * (0.2 - 0.09), rel=1e-12)
    np.testing.assert_allclose(opt.w, [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(opt.b, [0.0, 0.3], atol=1e-6)
    # Below the boundary the optimum is a pair with weights near ±1 and small positive biases.
    opt = n2m1.exact_optimum(0.5, 0.3)
    assert opt.labels == "superposition"
    assert float(opt.loss) < 1.5 * 0.3**2 / 6  # beats the antipodal candidate
    assert np.all(opt.b > 0)


def test_mirror_tie_at_equal_importance_is_broken_deterministically():
    # At r = 1 the lopsided optimum and its feature-swapped mirror have equal loss; the map
    # reports |w_first| >= |w_extra|, like candidate_phase_map's tie rule.
    opt = n2m1.exact_optimum(1.0, [0.8, 0.9, 1.0])
    assert list(opt.labels) == ["not_represented"] * 3
    assert np.all(np.abs(opt.w[:, 0]) >= np.abs(opt.w[:, 1]))


def test_bias_free_confused_phase():
    # T. McGrath: without biases, dense equally important features give W1 = W2 = 1/√2,
    # the least-squares fit of x_i on x_1 + x_2 (slope 1/2), loss 2 · (1/3 − 7/24) = 1/12.
    opt = n2m1.exact_optimum(1.0, 1.0, bias=False)
    np.testing.assert_allclose(opt.w, [2**-0.5, 2**-0.5], rtol=1e-8)
    assert float(opt.loss) == pytest.approx(1 / 12, rel=1e-12)
    assert opt.labels == "confused"
    m = n2m1.exact_phase_map([0.5, 1.0, 2.0], [0.05, 0.7, 1.0], bias=False, cache=False)
    assert list(m.labels[0]) == ["superposition"] * 3
    assert list(m.labels[2]) == ["confused"] * 3
    assert m.labels[1, 1] == "confused"
    np.testing.assert_array_equal(m.b, 0.0)
    # With biases the confused phase is gone at the same points.
    mb = n2m1.exact_phase_map([0.5, 1.0, 2.0], [0.05, 0.7, 1.0], cache=False)
    assert "confused" not in mb.labels


def test_exact_boundary_is_a_first_order_crossing():
    r = np.array([0.5, 2.0])
    p_star = n2m1.exact_boundary(r)
    # r ↔ 1/r with the features swapped is the same landscape scaled by r.
    assert p_star[0] == pytest.approx(p_star[1], rel=1e-9)
    assert p_star[0] > n2m1.candidate_boundary(0.5, antipodal_bias="optimal")
    tr = n2m1.exact_transition([0.5])
    assert tr.labels_below[0] == "superposition" and tr.labels_above[0] == "not_represented"
    # Above p*, the exact optimum is the dropped candidate, so at p* the superposition
    # minimum's loss must equal r (p/3 − p²/4) (continuity of the minimum; offset 1e-6).
    p = tr.density[0]
    assert tr.loss_below[0] == pytest.approx(0.5 * (p / 3 - p * p / 4), rel=1e-5)
    # First order: the weights jump and dL*/dp has a kink.
    assert abs(tr.w_below[0, 1] - tr.w_above[0, 1]) > 0.5
    assert tr.dloss_ddensity_below[0] - tr.dloss_ddensity_above[0] > 0.05


# ---------------------------------------------------------------- cache


def test_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("TOYSUP_CACHE_DIR", str(tmp_path))
    r, p = [0.5, 2.0], [0.1, 0.9]
    first = n2m1.exact_phase_map(r, p)
    files = sorted(f.name for f in tmp_path.iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".npz")
    record = json.loads((tmp_path / files[0]).read_text())
    assert record["description"]["importance"] == r
    with np.load(tmp_path / files[1], allow_pickle=False) as data:  # no pickle needed
        assert set(data.files) == {"w", "b", "loss", "objective", "converged", "labels"}

    def boom(*args, **kwargs):
        raise AssertionError("recomputed despite the cache")

    monkeypatch.setattr(_n2m1_exact, "_compute_map", boom)
    second = n2m1.exact_phase_map(r, p)
    np.testing.assert_array_equal(second.labels, first.labels)
    np.testing.assert_array_equal(second.w, first.w)
    with pytest.raises(AssertionError, match="recomputed"):
        n2m1.exact_phase_map(r, p, seed=1)  # another key


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"density": 0.0}, r"density must lie in \(0, 1\].*0\.0"),
        ({"density": 1.5}, r"density must lie in \(0, 1\].*1\.5"),
        ({"density": float("nan")}, "density must lie in"),
        ({"density": [0.1, 0.2, 0.3]}, r"feature axis.*shape \(3,\).*density\[\.\.\., None\]"),
        ({"importance": [-1.0, 1.0]}, r"importance must be finite and >= 0.*-1\.0"),
        ({"importance": float("inf")}, "importance must be finite"),
        ({"w": [1.0, 2.0, 3.0]}, r"w must have last axis of length 2.*\(3,\)"),
        ({"b": [[0.0, 0.0]] * 3, "w": [[1.0, 0.0]] * 2}, "must broadcast together"),
        ({"w": [float("nan"), 0.0]}, "w must be finite"),
    ],
)
def test_bad_input_raises(kwargs, match):
    args = {"w": [1.0, -1.0], "b": [0.0, 0.0], "density": 0.5, "importance": [1.0, 0.5]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        n2m1.expected_loss(**args)


def test_bad_options_raise():
    with pytest.raises(ValueError, match="antipodal_bias must be 'zero' or 'optimal'"):
        n2m1.candidate_boundary(1.0, antipodal_bias="best")
    with pytest.raises(ValueError, match="1-D grids"):
        n2m1.exact_phase_map([[1.0]], [0.5], cache=False)
    with pytest.raises(ValueError, match=r"density must lie in \(0, 1\]"):
        n2m1.exact_phase_map([1.0], [0.0], cache=False)
    with pytest.raises(TypeError, match="bias must be True or False"):
        n2m1.exact_optimum(1.0, 0.5, bias="yes")
    with pytest.raises(ValueError, match="importance must be > 0"):
        n2m1.exact_boundary([0.0])
    with pytest.raises(TypeError, match="must be a number"):
        n2m1.expected_loss("w", [0, 0], 0.5, 1.0)


# ---------------------------------------------------------------- slow tier


@pytest.mark.slow
def test_exact_map_agrees_with_exact_boundary():
    r = np.logspace(-1, 1, 15)
    p = np.logspace(-2, 0, 40)
    m = n2m1.exact_phase_map(r, p, cache=False)
    p_star = n2m1.exact_boundary(r)
    sup = m.labels == "superposition"
    below = p[:, None] < p_star[None, :] * (1 - 1e-9)
    above = p[:, None] > p_star[None, :] * (1 + 1e-9)
    # One crossing per column, where the bisection put it.
    assert np.all(sup[below]) and not np.any(sup[above])
