"""theory.landscape against independent references: quadrature, quasi-Monte Carlo, exact rationals.

References (tests/theory/landscape/references.py) share no code with the package: nested adaptive
quadrature of the definition (scipy.integrate.quad, the integrand's kinks as breakpoints) for every
pattern with at most 3 active features; scrambled Sobol QMC beyond; the loss in exact rational
arithmetic (theory.landscape.rational: the same identity, but no rounding at all) for accuracy.
"""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import landscape, n2m1

_spec = importlib.util.spec_from_file_location(
    "landscape_refs", Path(__file__).with_name("references.py")
)
assert _spec is not None and _spec.loader is not None
refs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refs)
models = refs.models


def _pattern_args(w, b, active, i):
    gram = w.T @ w
    coeffs = [float(gram[i, j]) for j in active]
    own = active.index(i) if i in active else None
    return coeffs, own, float(b[i])


def _check_patterns_by_quadrature(w, b, patterns):
    for active in patterns:
        exact = landscape.pattern_loss(w, b, active)
        for i in range(w.shape[1]):
            ref = refs.quad_pattern(*_pattern_args(w, b, list(active), i))
            # 1e-9 relative (the required agreement; quad is asked for 1e-13), plus 1e-15
            # absolute for patterns whose error is exactly or almost zero.
            assert abs(exact[i] - ref) <= 1e-9 * abs(ref) + 1e-15, (active, i, exact[i], ref)


@settings(max_examples=4)
@given(models(n_min=3, n_max=4, m_max=3))
def test_patterns_up_to_three_active_match_quadrature(model):
    w, b, _, _ = model
    n = w.shape[1]
    rng = np.random.default_rng(n)
    small = [s for d in (0, 1, 2) for s in combinations(range(n), d)]
    triples = list(combinations(range(n), 3))
    chosen = [
        triples[i] for i in rng.choice(len(triples), size=min(2, len(triples)), replace=False)
    ]
    _check_patterns_by_quadrature(w, b, small + chosen)


@pytest.mark.slow
@settings(max_examples=8)
@given(models(n_min=3, n_max=6))
def test_every_pattern_up_to_three_active_matches_quadrature(model):
    w, b, _, _ = model
    n = w.shape[1]
    _check_patterns_by_quadrature(w, b, [s for d in range(4) for s in combinations(range(n), d)])


def _check_patterns_by_qmc(w, b, patterns, log2_points):
    for active in patterns:
        exact = landscape.pattern_loss(w, b, active)
        for i in range(w.shape[1]):
            coeffs, own, bias = _pattern_args(w, b, list(active), i)
            mean, se = refs.qmc_pattern(
                coeffs, own, bias, log2_points=log2_points, reps=16, seed=17 * i + len(active)
            )
            # 8 standard errors of 16 independently randomised replicates (Student t with 15 df:
            # two-sided false-alarm rate ~1e-6 per check, and a margin for the heavier tails of
            # kinked integrands), plus 1/N² (rounding of the averages, and integrands so smooth
            # that the replicates agree to that level).
            floor = 4.0**-log2_points * (1 + abs(mean))
            assert abs(exact[i] - mean) <= 8 * se + floor, (active, i, exact[i], mean, se)
            assert se <= 5e-2 * max(abs(mean), 1e-3)  # the reference is sharp enough to matter


@settings(max_examples=3)
@given(models(n_min=4, n_max=5, m_max=3))
def test_patterns_beyond_three_active_match_quasi_monte_carlo(model):
    w, b, _, _ = model
    n = w.shape[1]
    patterns = [s for d in range(4, n + 1) for s in combinations(range(n), d)][:3]
    _check_patterns_by_qmc(w, b, patterns, log2_points=13)


@pytest.mark.slow
@settings(max_examples=10)
@given(models(n_min=4, n_max=6))
def test_every_pattern_beyond_three_active_matches_quasi_monte_carlo(model):
    w, b, _, _ = model
    n = w.shape[1]
    patterns = [s for d in range(4, n + 1) for s in combinations(range(n), d)]
    _check_patterns_by_qmc(w, b, patterns, log2_points=16)


@settings(max_examples=6)
@given(models(n_min=2, n_max=4))
def test_loss_matches_exact_rational_arithmetic(model):
    # The rational reference is exact for the given floats; the float scheme's error bound is a
    # few hundred ulps of the loss scale Σ I_i p_i (docs/landscape.md, "Accuracy"): 1e-13 of it.
    w, b, p, imp = model
    exact = float(landscape.expected_loss_rational(w, b, p, imp))
    value = float(landscape.expected_loss(w, b, p, imp))
    assert abs(value - exact) <= 1e-13 * max(abs(exact), float(np.sum(imp * p)))


def test_near_orthogonal_weights_defeat_the_naive_formula_not_this_one():
    # Couplings of 1e-7 and 1e-9: the plain vertex sum divides fourth differences by them and
    # loses half its digits; the stable scheme stays at rounding level: a few ulps of the
    # pattern's scale E[x_i²] = 1/3 (1e-15 absolute).
    w = np.array([[1.0, 1e-7, 0.3], [1e-9, 1.0, -0.8]])
    b = np.array([0.05, -0.1, 0.1])
    gram = w.T @ w
    exact = landscape.pattern_loss(w, b, (0, 1))
    for i in range(3):
        coeffs = [float(gram[i, 0]), float(gram[i, 1])]
        slopes, offset = tuple(Fraction(c) for c in coeffs), Fraction(float(b[i]))
        own = i if i < 2 else None
        truth_q = landscape.box_integral_rational(2, slopes, offset, (0, 0))
        if own is not None:
            mom = (1, 0) if own == 0 else (0, 1)
            truth_q += Fraction(1, 3) - 2 * landscape.box_integral_rational(1, slopes, offset, mom)
        truth = float(truth_q)
        naive = refs.naive_pattern(coeffs, own, float(b[i]))
        assert abs(exact[i] - truth) <= 1e-15
        if i == 0:
            assert abs(naive - truth) >= 1e-8 * abs(truth)  # the naive formula fails here


@settings(max_examples=25)
@given(models(n_min=2, n_max=2, m_max=1))
def test_two_features_equal_theory_n2m1(model):
    # Two independent exact evaluations (theory.n2m1: Gauss–Legendre on piecewise cubics);
    # both are at rounding level, so 1e-12 relative (densities >= 1e-3 keep the loss >= ~1e-9
    # of its scale, where rounding stays below this).
    w, b, p, imp = model
    ours = landscape.expected_loss(w, b, p, imp)
    theirs = n2m1.expected_loss(w[0], b, p, imp)
    assert abs(ours - theirs) <= 1e-12 * max(abs(theirs), 1e-3 * float(np.sum(imp * p)))


@settings(max_examples=40)
@given(
    st.integers(0, 4),
    st.integers(-1, 3),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["normal", "tiny", "zeros", "vertex"]),
)
def test_box_integrals_match_exact_rationals(d, power, seed, kind):
    # The core primitive E[Π U_j^{m_j} R(c + a·U)^K] (K = −1: δ) for every moment pattern the loss,
    # gradient and Hessian use (total moment <= 3), against exact rational arithmetic. Values are
    # compared relative to the element's natural scale (|c| + Σ|a_j|)^K: 1e-13.
    rng = np.random.default_rng(seed)
    a = rng.normal(size=d)
    if kind == "tiny":
        a *= 10.0 ** rng.uniform(-12, 0, d)
    elif kind == "zeros":
        a[rng.random(d) < 0.5] = 0.0
    c = float(rng.normal()) * 0.5
    if kind == "vertex" and d:  # the hyperplane through a cube vertex: c = −a·v
        c = -float(np.sum(a[rng.random(d) < 0.5]))
    moments = np.zeros(d, dtype=np.int64)
    for _ in range(rng.integers(0, 4) if d else 0):
        moments[rng.integers(d)] += 1
    value = landscape.box_integrals(np.array([power]), a[None, :], np.array([c]), moments[None, :])[
        0
    ]
    exact = landscape.box_integral_rational(
        power, tuple(Fraction(float(x)) for x in a), Fraction(c), tuple(int(x) for x in moments)
    )
    scale = (abs(c) + float(np.sum(np.abs(a)))) ** power if power > 0 else 1.0
    if power == -1:  # a density: scale 1/(largest slope)
        scale = 1.0 / max(float(np.max(np.abs(a))) if d else 1.0, 1e-300)
        if kind == "vertex":
            return  # δ on a hyperplane through a vertex is defined by a one-sided limit only
    assert abs(value - float(exact)) <= 1e-13 * scale + 1e-300
