"""Robustness of theory.n2m1 inputs: huge finite values, NaN weights, bools as numbers.

Huge inputs whose exact loss is representable in float64 must return it (never NaN); inputs
whose loss exceeds the float64 range raise an OverflowError naming the value.
"""

from __future__ import annotations

import numpy as np
import pytest

from theory import n2m1


def _inactive_cases() -> list[tuple[list[float], float]]:
    """(w, b) with |b| above the largest |w_i h| on the support: the ReLU is never active."""
    cases = []
    for w in ([1.0, -1.0], [3.0, 2.0], [1e100, 1.0], [1e150, -1e150]):
        reach = max(abs(v) for v in w) * sum(abs(v) for v in w)
        cases += [(w, b) for b in (-1e155, -1e200, -1e300, -1.7e308) if reach < abs(b)]
    return cases


@pytest.mark.parametrize(("w", "bias"), _inactive_cases())
def test_huge_negative_biases_give_the_exact_finite_loss(w, bias):
    # x' = 0 everywhere, so the loss is E[Σ I_i x_i²] = Σ I_i p/3 exactly.
    p, imp = 0.1, np.array([1.0, 0.7])
    loss, g_w, g_b = n2m1.expected_loss_and_grad(w, [bias, bias], p, imp)
    assert float(loss) == pytest.approx(float(np.sum(imp)) * p / 3, rel=1e-15)
    assert float(n2m1.expected_loss(w, [bias, bias], p, imp)) == float(loss)
    # Nothing depends on w or b while the ReLU stays off: the gradient is exactly 0.
    np.testing.assert_array_equal(np.abs(g_w), 0.0)
    np.testing.assert_array_equal(np.abs(g_b), 0.0)


@pytest.mark.parametrize(
    ("w", "b"),
    [
        ([1e200, -1e200], [0.0, 0.0]),  # the example: w⁴ ~ 1e800
        ([1e80, 0.5], [0.0, 0.0]),  # w_1⁴ p/3 ~ 1e319
        ([1.0, -1.0], [1e160, 0.0]),  # R(b)² ~ 1e320
        ([1e154, 1e154], [-1e308, -1e308]),  # ReLU active where u + v > 1
    ],
)
def test_overflowing_loss_raises_naming_the_value(w, b):
    for call in (n2m1.expected_loss, n2m1.expected_loss_and_grad):
        with pytest.raises(OverflowError, match=r"exceeds the float64 range.*w = \[.*e\+"):
            call(w, b, 0.1, [1.0, 1.0])


def test_huge_loss_that_still_fits_is_returned():
    # w = (1e70, 0), b = 0, p = 1: feature 1's loss is (1 − w²)² / 3 ≈ 1e280 / 3, representable.
    got = float(n2m1.expected_loss([1e70, 0.0], [0.0, 0.0], 1.0, [1.0, 0.0]))
    assert got == pytest.approx(1e280 / 3, rel=1e-12)
    # A pattern of probability 0 whose integral would overflow contributes exactly 0:
    # importance 0 for the huge feature.
    got = float(n2m1.expected_loss([1e200, 0.0], [0.0, 0.0], 0.5, [0.0, 1.0]))
    assert got == pytest.approx(0.5 / 3 - 0.0, rel=1e-12)


def test_huge_penalised_inputs():
    # E|h| itself is finite up to |w| ~ 1e308; the loss overflows far earlier.
    with pytest.raises(OverflowError):
        n2m1.expected_loss([1e200, -1e200], [0.0, 0.0], 0.1, [1.0, 1.0], l1_hidden=1.0)
    got = n2m1.expected_loss([1e100, -1e100], [-1e300, -1e300], 0.1, [1.0, 1.0], l1_hidden=1.0)
    # Loss 2 p/3; E|h| = p(1 − p) · 1e100 + p² · 1e100/3 for the antipodal pair.
    expected = 2 * 0.1 / 3 + 1e100 * (0.1 * 0.9 + 0.01 / 3)
    assert float(got) == pytest.approx(expected, rel=1e-14)


def test_phase_label_rejects_nan_and_inf_weights():
    for bad in ([np.nan, 0.0], [0.7, np.inf], [[0.7, -0.7], [np.nan, np.nan]]):
        with pytest.raises(ValueError, match=r"w must be finite"):
            n2m1.phase_label(bad)


@pytest.mark.parametrize("density", [True, False, np.bool_(True), [True, 0.5], np.array([True])])
def test_bool_is_not_a_density(density):
    with pytest.raises(TypeError, match=r"density must be a number.*bool"):
        n2m1.expected_loss([1.0, -1.0], [0.0, 0.0], density, [1.0, 1.0])
    with pytest.raises(TypeError, match=r"density must be a number.*bool"):
        n2m1.candidate_losses(1.0, density)


def test_bool_is_not_an_importance_or_weight():
    with pytest.raises(TypeError, match=r"importance must be a number.*bool"):
        n2m1.expected_loss([1.0, -1.0], [0.0, 0.0], 0.5, [True, 1.0])
    with pytest.raises(TypeError, match=r"w must be a number.*bool"):
        n2m1.expected_loss([True, False], [0.0, 0.0], 0.5, 1.0)
    with pytest.raises(TypeError, match=r"importance must be a number.*bool"):
        n2m1.exact_boundary([True])
