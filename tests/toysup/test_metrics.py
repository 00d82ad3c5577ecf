"""Metrics on weights with known answers (tight frames, antipodal pairs) and invariants."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from toysup import metrics


def _polygon(k, radius=1.0):
    angles = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)])  # (2, k)


@pytest.mark.parametrize(
    ("W", "expected"),
    [
        (np.array([[1.0, -1.0]]), 0.5),  # antipodal pair (digon)
        (_polygon(3), 2 / 3),  # triangle
        (_polygon(5), 2 / 5),  # pentagon
        (np.eye(3), 1.0),  # dedicated dimensions
    ],
)
def test_dimensionality_of_tight_frames(W, expected):
    # exact up to float rounding of cos/sin
    np.testing.assert_allclose(metrics.dimensionality(W), expected, rtol=1e-12)
    np.testing.assert_allclose(metrics.interference(W) + 1, 1 / expected, rtol=1e-12)


def test_dimensionality_of_zero_features_and_dstar():
    W = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(metrics.dimensionality(W), [1.0, 0.0, 0.0])
    assert metrics.dimensions_per_feature(W) == 2.0
    assert metrics.n_represented(W) == 1


# entries are 0 or of magnitude >= 1e-6: a column of norm 1e-23 has D_i = 1 exactly while a
# tolerance-based numerical rank would count it as zero
finite = st.floats(-3, 3, allow_nan=False).map(lambda v: 0.0 if abs(v) < 1e-6 else v)


@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 7)), elements=finite))
def test_sum_of_dimensionalities_at_most_rank(W):
    # Σ_i D_i ≤ rank W (paper §"Feature Dimensionality"); 1e-9 absorbs rounding.
    rank = np.linalg.matrix_rank(W) if np.any(W) else 0
    assert metrics.dimensionality(W).sum() <= rank + 1e-9


@given(arrays(np.float64, (3, 5), elements=finite), st.integers(0, 2**32 - 1))
def test_metrics_invariant_under_rotation(W, seed):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    for f in (metrics.dimensionality, metrics.interference, metrics.feature_norms):
        np.testing.assert_allclose(f(Q @ W), f(W), rtol=1e-7, atol=1e-9)


def test_phase_labels_n2m1():
    W = np.array([[[1.0, 0.0]], [[0.1, 0.9]], [[1.0, -1.0]], [[0.7, 0.7]], [[0.2, 0.1]]])
    assert metrics.phase_label_n2m1(W).tolist() == [
        "not_represented",
        "dedicated",
        "superposition",
        "confused",
        "none",
    ]
    assert metrics.phase_label_n2m1(torch.tensor(W)).tolist()[2] == "superposition"
    with pytest.raises(ValueError, match=r"\(\.\.\., 1, 2\)"):
        metrics.phase_label_n2m1(np.ones((2, 3)))


def test_phase_labels_n3m2():
    c, s = np.cos(2 * np.pi / 3), np.sin(2 * np.pi / 3)
    cases = {
        "not_represented": [[1, 0, 0], [0, 1, 0]],
        "dedicated": [[0, 1, 0], [0, 0, 1]],
        "superposition_extra": [[1, 0, 0], [0, 1, -1]],
        "superposition_pair": [[1, -1, 0], [0, 0, 1]],
        "superposition_other": [[1, c, c], [0, s, -s]],  # triangle: three in two dimensions
        "other": [[1, 0.3, 0], [0, 0, 0.2]],  # one feature represented
    }
    W = np.array(list(cases.values()), dtype=float)
    assert metrics.phase_label_n3m2(W).tolist() == list(cases)
    assert set(cases) == set(metrics.N3M2_LABELS)
    # A fan (all three represented in a half-plane, no antipodal pair) and both kinds of pair
    # at once are three features in two dimensions too.
    fan = [[0.36, 0.36, 0.92], [0.76, -0.76, 0.0]]
    both = [[1, -1, -1], [0, 0.1, 0.05]]
    assert metrics.phase_label_n3m2(np.array([fan, both])).tolist() == ["superposition_other"] * 2
    # The threshold moves a weak feature across the rule: a lopsided pair (0.45 < 0.5).
    lopsided = np.array([[1, -0.45, 0], [0, 0, 1]])
    assert metrics.phase_label_n3m2(lopsided) == "dedicated"
    assert metrics.phase_label_n3m2(lopsided, threshold=0.4) == "superposition_pair"


def test_neuron_monosemanticity_known_rows():
    W = np.array([[2.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [-3.0, 1.0, 0.0]])
    np.testing.assert_allclose(metrics.neuron_monosemanticity(W), [1.0, 0.5, np.nan, 0.9])
    # positive part: the inhibitory -3 does not count; row 3 then reads feature 1 alone
    np.testing.assert_allclose(
        metrics.neuron_monosemanticity(W, positive=True), [1.0, 0.5, np.nan, 1.0]
    )
    np.testing.assert_array_equal(metrics.neuron_features(W, positive=True)[[0, 3]], [0, 1])
    assert metrics.n_polysemantic(W) == 1  # row 1; row 2 is dead
    batch = np.stack([W, W[::-1]])
    np.testing.assert_array_equal(metrics.n_polysemantic(batch), [1, 1])
    # a second feature of relative weight w makes the neuron polysemantic from 1/(1+w²) < 3/4
    assert metrics.n_polysemantic(np.array([[1.0, 0.57]])) == 0
    assert metrics.n_polysemantic(np.array([[1.0, 0.59]])) == 1


@given(arrays(np.float64, (3, 4), elements=st.floats(-5, 5)))
def test_monosemanticity_is_between_one_over_n_and_one(W):
    mono = metrics.neuron_monosemanticity(W)
    live = np.abs(W).sum(1) > 0
    assert np.all(np.isnan(mono) == ~live)
    assert np.all((mono[live] >= 1 / 4 - 1e-12) & (mono[live] <= 1 + 1e-12))


def test_set_cosines():
    W = np.array([[1.0, -1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0, 0.0, 0.0]])
    cos = metrics.set_cosines(W, 2)
    assert cos.shape == (3, 2, 2)
    np.testing.assert_allclose(cos[0], [[1, -1], [-1, 1]])  # antipodal pair
    np.testing.assert_allclose(cos[1], [[1, 0], [0, 1]])  # orthogonal pair
    assert np.all(np.isnan(cos[2]))  # zero features
    with pytest.raises(ValueError, match=r"set_size \(4\) must divide the number of features"):
        metrics.set_cosines(W, 4)


def test_abs_fit_of_exact_and_one_sided_circuits():
    """h = (ReLU(x), ReLU(−x)), y = h₁ + h₂ = |x| exactly: fit 1. Only ReLU(x): the analytic
    value 1 − (1/6)/(1/12) = −1 on the continuum (here on a grid of 2001 points)."""
    W = np.array([[1.0], [-1.0]])  # (m=2, n=1)
    np.testing.assert_allclose(metrics.abs_fit(W, np.array([[1.0, 1.0]]), np.zeros(1)), [1.0])
    half = metrics.abs_fit(W, np.array([[1.0, 0.0]]), np.zeros(1), points=2001)
    np.testing.assert_allclose(half, [-1.0], atol=2e-3)
    assert metrics.n_abs_computed(W, np.array([[1.0, 1.0]]), np.zeros(1)) == 1


def test_abs_recovered_counts_each_sign():
    """Exact |x|: 1; one sign only: 1/2 (half of E[x²] from each sign); zero output: 0."""
    W = np.array([[1.0], [-1.0]])
    for W_dec, expected in (([[1.0, 1.0]], 1.0), ([[1.0, 0.0]], 0.5), ([[0.0, 0.0]], 0.0)):
        got = metrics.abs_recovered(W, np.array(W_dec), np.zeros(1), points=2001)
        np.testing.assert_allclose(got, [expected], atol=1e-12)


def test_abs_fit_by_sign_and_signs_computed():
    """Exact |x|: both signs 1. ReLU(x) alone: the positive side 1, the negative side a zero
    output, 1 − E[v²]/Var(v) = 1 − (1/3)/(1/12) = −3 on [0, 1] (grid of 2001 points). A constant
    output 1/2 (a bias, no neuron) fits neither side (exactly 0 on a symmetric grid: the mean of
    |v|). One neuron ReLU(x₀ − x₁) feeding both outputs computes x₀'s positive and x₁'s negative
    side: 2 signs from m = 1 neuron, more than a neuron per feature allows."""
    W = np.array([[1.0], [-1.0]])
    fits = metrics.abs_fit_by_sign(W, np.array([[1.0, 1.0]]), np.zeros(1))
    np.testing.assert_allclose(fits, [[1.0, 1.0]], atol=1e-12)
    fits = metrics.abs_fit_by_sign(W, np.array([[1.0, 0.0]]), np.zeros(1), points=2001)
    np.testing.assert_allclose(fits, [[1.0, -3.0]], atol=1e-2)  # the grid's O(1/1000) error
    fits = metrics.abs_fit_by_sign(W, np.zeros((1, 2)), np.array([0.5]), points=2001)
    np.testing.assert_allclose(fits, [[0.0, 0.0]], atol=1e-3)
    shared = (np.array([[1.0, -1.0]]), np.array([[1.0], [1.0]]), np.zeros(2))
    assert metrics.n_abs_signs_computed(*shared) == 2
    np.testing.assert_allclose(
        metrics.abs_fit_by_sign(*shared)[[0, 1], [0, 1]], [1.0, 1.0], atol=1e-12
    )
