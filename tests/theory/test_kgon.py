"""theory.kgon: regular k-gons in m = 2, exact and as p → 0, and the best k per density."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from theory import kgon, landscape, n2m1, n3m2


def test_symmetric_shortcut_equals_the_full_loss():
    # kgon_loss computes feature 0 only and multiplies by k (rotation by 2π/k permutes the
    # features): it must equal the loss summed over every feature, to rounding.
    for k in (3, 5):
        w = kgon.kgon_weights(k, 1.1)
        full = landscape.expected_loss(w, np.full(k, -0.2), 0.2, 1.0)
        assert kgon.kgon_loss(k, 0.2, 1.1, -0.2) == pytest.approx(full, rel=1e-13)


def test_square_is_two_antipodal_pairs():
    # The square is two orthogonal antipodal pairs: its optimum is twice the n = 2, m = 1 optimum
    # at r = 1 (theory.n2m1, an independent computation) while that optimum is the symmetric
    # pair (p <= 0.5; the lopsided pair takes over near p = 0.7).
    p = np.array([0.05, 0.3])
    square = kgon.kgon_optimum(4, p)
    pair = n2m1.exact_optimum(1.0, p)
    assert np.allclose(square.loss, 2 * pair.loss, rtol=1e-9, atol=0)
    assert np.allclose(square.radius, np.abs(pair.w[:, 0]), rtol=0, atol=1e-5)


def test_triangle_is_the_n3m2_optimum_at_r1_p07():
    # At r = 1, p = 0.7 the exact n = 3, m = 2 optimum is a regular triangle (labelled "other"):
    # the k-gon family's optimum must reach the same loss.
    tri = kgon.kgon_optimum(3, np.array([0.7]))
    opt = n3m2.exact_optimum(1.0, 0.7)
    assert tri.loss[0] == pytest.approx(float(opt.loss), rel=1e-9)


@pytest.mark.parametrize(
    "k", [3, 4, pytest.param(5, marks=pytest.mark.slow), pytest.param(6, marks=pytest.mark.slow)]
)
def test_leading_order_matches_the_exact_loss_as_density_falls(k):
    # L*(p) = C p^q (1 + O(p)): the relative gap must be small at p = 1e-4 and shrink ~10× per
    # decade (first-order correction), checked between p = 1e-3 and 1e-4.
    lead = kgon.kgon_leading_order(k)
    p = np.array([1e-3, 1e-4])
    exact = kgon.kgon_optimum(k, p)
    gap = np.abs(exact.loss / (lead.coefficient * p**lead.order) - 1)
    assert gap[1] <= 50 * p[1]
    assert gap[1] <= 0.2 * gap[0] + 1e-6
    assert exact.radius[1] == pytest.approx(lead.radius, abs=0.01)
    assert exact.bias[1] == pytest.approx(lead.bias, abs=0.01)


def test_first_order_coefficient_against_a_numeric_minimum():
    # Independent of the sympy derivation: minimise L(ρ, β; p)/p at p = 1e-7 numerically with
    # the exact loss; it equals the first-order coefficient up to O(p).
    k = 5
    p = 1e-7

    def per_p(theta):
        return float(kgon.kgon_loss(k, p, theta[0], theta[1])) / p

    res = minimize(
        per_p,
        np.array([1.1, -0.25]),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000},
    )
    lead = kgon.kgon_leading_order(k)
    assert lead.order == 1
    assert res.fun == pytest.approx(lead.coefficient, rel=1e-5)


@pytest.mark.slow
def test_optimal_k_grows_as_density_falls():
    choice = kgon.optimal_kgon(5, np.array([1.0, 0.3, 0.01]))
    assert list(choice.ks) == [2, 3, 4, 5]
    # Dense: two dedicated features, or the triangle, which beats them by a hair at p = 1
    # (0.2498 against 0.25; the n = 3, m = 2 exact optimum at r = 1, p = 1 is a triangle too).
    assert choice.best_k[0] in (2, 3)
    assert abs(choice.loss[0, 0] - 0.25) <= 1e-15 and choice.loss[0, 1] < 0.25
    assert np.all(np.diff(choice.best_k[::-1]) <= 0)  # more features stored at lower density
    assert choice.best_k[-1] == 5  # sparse: the pentagon (paper: n = 5, m = 2, p = 0.05)
    assert np.all(choice.loss[:, 1:] >= 0) and choice.loss.shape == (3, 4)


def test_optimal_k_small():
    choice = kgon.optimal_kgon(4, np.array([1.0, 0.01]))
    assert list(choice.ks) == [2, 3, 4] and choice.loss.shape == (2, 3)
    assert choice.best_k[-1] == 4  # sparse: the square (two antipodal pairs)
    # Dense (p = 1): two dedicated features lose 2 × (1/3 − 1/4) for the two dropped ones.
    assert choice.loss[0, 0] == pytest.approx(2 / 12, rel=1e-15)


def test_bad_arguments():
    with pytest.raises(ValueError, match="k must be between 3 and 12"):
        kgon.kgon_loss(2, 0.1, 1.0, 0.0)
    with pytest.raises(TypeError, match="k must be a positive integer"):
        kgon.kgon_optimum(3.0, [0.1])
    with pytest.raises(ValueError, match="density must be 1-D"):
        kgon.kgon_optimum(3, np.ones((2, 2)) * 0.1)
    with pytest.raises(ValueError, match="n_features must be between 3 and 12"):
        kgon.optimal_kgon(13, [0.1])
