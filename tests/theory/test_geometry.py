"""theory.geometry: feature dimensionality of polytopes and tight frames; Σ D_i ≤ rank W."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from theory import geometry as g


def reference_dimensionality(w: np.ndarray) -> np.ndarray:
    """The paper's formula, literally: D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)² (0 for zero columns)."""
    out = np.zeros(w.shape[1])
    for i in range(w.shape[1]):
        norm = np.linalg.norm(w[:, i])
        if norm > 0:
            unit = w[:, i] / norm
            out[i] = norm**2 / sum((unit @ w[:, j]) ** 2 for j in range(w.shape[1]))
    return out


# --- polytopes and tight frames ------------------------------------------------------------------
@pytest.mark.parametrize(("name", "expected"), sorted(g.POLYTOPE_DIMENSIONALITY.items()))
def test_polytopes_exact(name, expected):
    # Exact values d/N; float rounding only (1e-12).
    w = getattr(g, name)()
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), 1.0, atol=1e-15)
    np.testing.assert_allclose(g.feature_dimensionality(w), expected, atol=1e-12)
    np.testing.assert_allclose(reference_dimensionality(w), expected, atol=1e-12)
    # Unit columns: D* = m/‖W‖²_F = d/N as well.
    assert g.dimensions_per_feature(w) == pytest.approx(expected, abs=1e-12)


def test_named_values():
    assert g.POLYTOPE_DIMENSIONALITY == {
        "dedicated": 1.0,
        "digon": 0.5,
        "triangle": 2 / 3,
        "tetrahedron": 0.75,
        "pentagon": 0.4,
        "square_antiprism": 0.375,
    }
    assert g.tight_frame_dimensionality(5, 2) == 0.4
    assert g.tight_frame_dimensionality(8, 3) == 0.375


@pytest.mark.parametrize(("n", "d"), [(2, 1), (3, 3), (7, 3), (10, 4), (9, 2), (12, 5), (30, 7)])
def test_harmonic_frames(n, d):
    w = g.harmonic_frame(n, d)
    assert w.shape == (d, n)
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), 1.0, atol=1e-13)
    np.testing.assert_allclose(w @ w.T, n / d * np.eye(d), atol=1e-12)  # tight
    np.testing.assert_allclose(g.feature_dimensionality(w), d / n, atol=1e-12)
    assert g.feature_dimensionality(w).sum() == pytest.approx(d, abs=1e-11)  # equality case


def test_uniform_square_antiprism_is_not_a_tight_frame():
    # Equal edges need h² = 1/(1 + 2√2); by symmetry every D_i = 1/(4ρ⁴ + 8h⁴) (docs §4.3),
    # 0.366421 < 3/8. The tight-frame antiprism needs h² = 1/3.
    h2 = 1 / (1 + 2 * np.sqrt(2))
    w = g.square_antiprism(height=np.sqrt(h2))
    edges = np.linalg.norm(w[:, :, None] - w[:, None, :], axis=0)
    shortest = np.sort(edges, axis=1)[:, 1:5]  # each vertex has 4 nearest neighbours at one length
    np.testing.assert_allclose(shortest, shortest[0, 0], rtol=1e-12)
    expected = 1 / (4 * (1 - h2) ** 2 + 8 * h2**2)
    np.testing.assert_allclose(g.feature_dimensionality(w), expected, atol=1e-12)
    assert expected == pytest.approx(0.3664213562, abs=1e-10)


# --- off the unit circle -------------------------------------------------------------------------
def test_pentagon_radius_changes_d_star_not_d_i():
    for radius in (0.5, 0.9, 1.3):
        w = g.pentagon(radius=radius)
        np.testing.assert_allclose(g.feature_dimensionality(w), 0.4, atol=1e-12)
        assert g.dimensions_per_feature(w) == pytest.approx(2 / (5 * radius**2), rel=1e-12)


def test_one_longer_vertex_raises_its_own_dimensionality():
    # Column 0 of the unit pentagon scaled by s: D_0 = 1/(1 + (3/2)/s²), since
    # Σ_{j≠0} cos²(2πj/5) = 5/2 − 1. The others drop. Exact: 1e-12.
    for s in (0.5, 2.0):
        w = g.pentagon()
        w[:, 0] *= s
        d = g.feature_dimensionality(w)
        assert d[0] == pytest.approx(1 / (1 + 1.5 / s**2), abs=1e-12)
        np.testing.assert_allclose(d, reference_dimensionality(w), atol=1e-12)
        assert (d[1:] < 0.4).all() if s > 1 else (d[1:] > 0.4).all()
        assert d.sum() < 2 - 1e-3  # no longer tight: strict inequality


# --- Σ D_i ≤ rank W ≤ m (hypothesis) -------------------------------------------------------------
entries = st.one_of(st.just(0.0), st.floats(-3, 3).filter(lambda v: abs(v) > 1e-3))


@st.composite
def low_rank(draw):
    m = draw(st.integers(1, 5))
    n = draw(st.integers(1, 8))
    k = draw(st.integers(1, min(m, n)))  # rank W ≤ k
    a = draw(hnp.arrays(np.float64, (m, k), elements=entries))
    b = draw(hnp.arrays(np.float64, (k, n), elements=entries))
    return a @ b, k


@given(low_rank())
def test_sum_of_dimensionalities_at_most_rank(case):
    # Σ_i D_i ≤ Σ_i P_ii = rank (docs §4.2); 1e-9 absorbs rounding in near-degenerate draws.
    w, k = case
    d = g.feature_dimensionality(w)
    assert np.all((d >= 0) & (d <= 1 + 1e-12))
    assert d.sum() <= k + 1e-9
    assert d.sum() <= w.shape[0] + 1e-9
    np.testing.assert_allclose(d, reference_dimensionality(w), rtol=1e-9, atol=1e-12)


@given(low_rank(), st.integers(0, 2**32 - 1), st.floats(0.01, 100))
def test_invariances(case, seed, c):
    # Rotation W → QW, global scale W → cW, column sign flips: unchanged; a column permutation
    # permutes D. Equal to rounding (1e-9 relative).
    w, _ = case
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(w.shape[0],) * 2))
    d = g.feature_dimensionality(w)
    np.testing.assert_allclose(g.feature_dimensionality(q @ w), d, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g.feature_dimensionality(c * w), d, rtol=1e-9, atol=1e-12)
    signs = rng.choice([-1.0, 1.0], size=w.shape[1])
    np.testing.assert_allclose(g.feature_dimensionality(w * signs), d, rtol=1e-9, atol=1e-12)
    perm = rng.permutation(w.shape[1])
    np.testing.assert_allclose(g.feature_dimensionality(w[:, perm]), d[perm], rtol=1e-9, atol=1e-12)


def test_dedicated_column_has_dimensionality_one_and_zero_column_zero():
    w = np.array([[1.0, 0.0, 0.0, 2.0], [0.0, 3.0, 0.0, 0.0]])  # cols 0 and 3 overlap
    np.testing.assert_allclose(g.feature_dimensionality(w), [1 / 5, 1.0, 0.0, 4 / 5], atol=1e-15)
    assert g.dimensions_per_feature(np.zeros((2, 3))) == np.inf


def test_batched():
    rng = np.random.default_rng(4)
    w = rng.normal(size=(3, 2, 4, 6))
    d = g.feature_dimensionality(w)
    assert d.shape == (3, 2, 6)
    np.testing.assert_allclose(d[1, 0], reference_dimensionality(w[1, 0]), rtol=1e-12)
    dstar = g.dimensions_per_feature(w)
    assert dstar.shape == (3, 2)
    assert dstar[2, 1] == pytest.approx(4 / np.sum(w[2, 1] ** 2), rel=1e-14)


def test_bad_input():
    with pytest.raises(ValueError, match=r"W must have shape \(\.\.\., m, n\).*\(3,\)"):
        g.feature_dimensionality(np.ones(3))
    with pytest.raises(ValueError, match="W must be finite"):
        g.feature_dimensionality([[1.0, np.nan]])
    with pytest.raises(ValueError, match="n_vectors=2 < dim=3"):
        g.tight_frame_dimensionality(2, 3)
    with pytest.raises(ValueError, match="dim must be a positive integer, got 0"):
        g.harmonic_frame(3, 0)
    with pytest.raises(ValueError, match=r"radius must be > 0, got -1\.0"):
        g.pentagon(radius=-1.0)
    with pytest.raises(ValueError, match=r"height must lie in \(0, 1\).*1\.5"):
        g.square_antiprism(height=1.5)
    with pytest.raises(ValueError, match="n_vertices must be at least 2, got 1"):
        g.regular_polygon(1)
