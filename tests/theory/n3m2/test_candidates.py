"""theory.n3m2: the four n=3, m=2 candidates against Monte Carlo; boundaries and phase map."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from theory import n3m2
from theory.n3m2 import LABELS, P, R

NR, DED, SE, SP = LABELS


def mc_relu_loss(w, b, importance, density, n_samples: int, seed: int) -> tuple[float, float]:
    """Monte Carlo loss of x' = ReLU(WᵀWx + b) and its standard error (independent masks)."""
    rng = np.random.default_rng(seed)
    imp = np.asarray(importance, float)
    x = rng.random((n_samples, imp.size)) * (rng.random((n_samples, imp.size)) < density)
    out = np.maximum(x @ (w.T @ w) + b, 0.0)
    per_example = ((x - out) ** 2) @ imp
    return float(per_example.mean()), float(per_example.std(ddof=1) / np.sqrt(n_samples))


POINTS = [(0.3, 0.05), (0.5, 0.3), (1.0, 4 / 7), (2.0, 0.8), (5.0, 1.0), (0.1, 1.0)]
MC_POINTS = [
    (0.5, 0.3),
    (1.0, 4 / 7),
    (5.0, 1.0),
    pytest.param(0.3, 0.05, marks=pytest.mark.slow),
    pytest.param(2.0, 0.8, marks=pytest.mark.slow),
    pytest.param(0.1, 1.0, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("bias", n3m2.BIASES)
@pytest.mark.parametrize(("r", "p"), MC_POINTS)
def test_candidate_losses_match_monte_carlo(r, p, bias):
    # Tolerance: 4 standard errors of a 100k-sample Monte Carlo mean per candidate (two-sided
    # false-alarm rate 6e-5 each, 48 comparisons: < 0.3% overall, and the seeds are fixed).
    losses = n3m2.candidate_losses(r, p, bias=bias)
    for k, label in enumerate(LABELS):
        w, b = n3m2.candidate_solution(label, p, bias=bias)
        mean, se = mc_relu_loss(w, b, [1.0, 1.0, r], p, 100_000, seed=1000 * k + int(100 * r))
        assert abs(mean - losses[label]) <= 4 * se, (label, mean, se, losses[label])


def test_candidate_weights_are_orthogonal_to_their_named_vector():
    named = {NR: [0, 0, 1], DED: [1, 0, 0], SE: [0, 1, 1], SP: [1, 1, 0]}
    for label, v in named.items():
        w, b = n3m2.candidate_solution(label, 0.3)
        assert w.shape == (2, 3) and b.shape == (3,)
        np.testing.assert_array_equal(w @ np.array(v, float), 0.0)
        assert np.linalg.matrix_rank(w) == 2


def test_symbolic_losses_match_numeric():
    # The sympy derivation (integrals of the moments) and the numeric closed forms: exact
    # rational arithmetic vs float, agree to 1e-15.
    symbolic = n3m2.symbolic_losses()
    assert sp.simplify(symbolic[NR] - R * (P / 3 - P**2 / 4)) == 0
    assert sp.simplify(symbolic[SE] - (1 + R) * P**2 / 6) == 0
    for r, p in POINTS:
        numeric = n3m2.candidate_losses(r, p)
        for label in LABELS:
            value = float(symbolic[label].subs({R: r, P: p}))
            assert numeric[label] == pytest.approx(value, rel=1e-14, abs=1e-15)


def test_symbolic_boundaries_closed_forms():
    b = n3m2.symbolic_boundaries()
    expected = {
        (NR, DED): sp.Eq(R, 1),
        (NR, SE): sp.Eq(P, 4 * R / (2 + 5 * R)),
        (NR, SP): sp.Eq(P, 4 * R / (4 + 3 * R)),
        (DED, SE): sp.Eq(P, 4 / (5 + 2 * R)),
        (DED, SP): sp.Eq(P, sp.Rational(4, 7)),
        (SE, SP): sp.Eq(R, 1),
    }
    assert set(b) == set(expected)
    for pair, eq in expected.items():
        assert b[pair].lhs == eq.lhs
        assert sp.simplify(b[pair].rhs - eq.rhs) == 0, (pair, b[pair])
    # On each crossing the two losses tie (numerically, to rounding).
    for r in (0.2, 0.7, 1.5, 6.0):
        for (a, c), eq in b.items():
            if eq.lhs == P:
                p = float(eq.rhs.subs(R, r))
                if 0 < p <= 1:
                    losses = n3m2.candidate_losses(r, p)
                    assert losses[a] == pytest.approx(losses[c], rel=1e-13)


def test_all_four_tie_at_the_quadruple_point():
    losses = {
        k: sp.nsimplify(v.subs({R: 1, P: sp.Rational(4, 7)}))
        for k, v in n3m2.symbolic_losses().items()
    }
    assert set(losses.values()) == {sp.Rational(16, 147)}


def test_phase_map_orientation_and_regions():
    importance = np.geomspace(0.1, 10, 41)
    density = np.geomspace(0.01, 1, 37)
    labels = n3m2.candidate_phase_map(importance, density)
    assert labels.shape == (37, 41)  # one row per density, one column per importance
    for i, p in enumerate(density):
        for j, r in enumerate(importance):
            # The regions predicted by the pairwise crossings (docs §3.2), away from the lines.
            if abs(r - 1) < 1e-9:
                continue
            if r < 1:
                boundary = 4 * r / (2 + 5 * r)
                if abs(p - boundary) > 1e-9:
                    assert labels[i, j] == (SE if p < boundary else NR)
            else:
                if abs(p - 4 / 7) > 1e-9:
                    assert labels[i, j] == (SP if p < 4 / 7 else DED)


def test_phase_map_ties_take_the_first_label():
    labels = n3m2.candidate_phase_map([1.0], [0.2, 0.9])
    assert labels[:, 0].tolist() == [SE, NR]


def test_phase_boundary_density():
    r = np.array([0.1, 0.5, 1.0, 2.0, 10.0])
    np.testing.assert_allclose(
        n3m2.phase_boundary_density(r), [0.4 / 2.5, 2 / 4.5, 4 / 7, 4 / 7, 4 / 7], rtol=1e-15
    )
    assert n3m2.phase_boundary_density(0.0) == 0.0


def test_optimal_bias_phase_map_consistent_with_its_boundary():
    importance = np.array([0.2, 0.6, 1.5, 4.0])
    boundary = n3m2.phase_boundary_density(importance, bias="optimal")
    # The optimised pair loss is lower, so superposition wins over a larger region.
    assert np.all(boundary > n3m2.phase_boundary_density(importance))
    density = np.linspace(0.02, 1.0, 50)
    labels = n3m2.candidate_phase_map(importance, density, bias="optimal")
    superposed = np.isin(labels, [SE, SP])
    for j in range(importance.size):
        far = np.abs(density - boundary[j]) > 1e-9
        np.testing.assert_array_equal(superposed[far, j], density[far] < boundary[j])


# --- one antipodal pair with a bias ----------------------------------------------------------
def test_pair_loss_numeric_matches_symbolic():
    f = n3m2.symbolic_antipodal_pair_loss()
    rng = np.random.default_rng(3)
    for b, p in zip(rng.uniform(-1, 1, 20), rng.uniform(0.01, 1, 20)):
        exact = float(f.subs({n3m2.B: b, P: p}))
        assert n3m2.antipodal_pair_loss(p, b) == pytest.approx(exact, rel=1e-13, abs=1e-16)
    # Ends of the range: b = −1 never fires (loss E[x²] = p/3); b = 1 always fires (1 − 2p/3).
    np.testing.assert_allclose(n3m2.antipodal_pair_loss([0.2, 0.9], -1.0), [0.2 / 3, 0.3])
    np.testing.assert_allclose(n3m2.antipodal_pair_loss([0.2, 0.9], 1.0), [1 - 0.4 / 3, 0.4])
    # The slope at b = 0 is −p²/3 (REFERENCE: the bias gradient at the antipodal pair).
    # Both branches, exactly: the derivative is continuous there.
    for piece in f.args:
        assert sp.simplify(sp.diff(piece.expr, n3m2.B).subs(n3m2.B, 0) + P**2 / 3) == 0


@pytest.mark.parametrize(("p", "b"), [(0.3, -0.2), (0.3, 0.15), (0.9, 0.44), (1.0, 0.6)])
def test_pair_loss_monte_carlo(p, b):
    # 4 standard errors of a 400k-sample mean; unit importance on feature 0 only.
    w, bias = np.array([[1.0, -1.0]]), np.array([b, 0.0])
    mean, se = mc_relu_loss(w, bias, [1.0, 0.0], p, 400_000, seed=int(1000 * p + 10 * b))
    assert abs(mean - n3m2.antipodal_pair_loss(p, b)) <= 4 * se


def test_optimal_bias_is_the_minimiser():
    density = np.array([0.01, 0.1, 0.4, 0.7, 1.0])
    best = n3m2.optimal_antipodal_bias(density)
    grid = np.linspace(-1, 1, 20001)  # spacing 1e-4
    for p, b in zip(density, best):
        on_grid = n3m2.antipodal_pair_loss(p, grid)
        # The minimiser beats every grid point (up to rounding 1e-16) ...
        assert n3m2.antipodal_pair_loss(p, b) <= on_grid.min() + 1e-16
        # ... and sits within one grid spacing of the best one.
        assert abs(grid[np.argmin(on_grid)] - b) <= 1e-4
        assert n3m2.antipodal_pair_loss(p, b) < p**2 / 6
    # For small p the cubic is ≈ p² − 6(1 − p)b: b* ≈ p²/(6(1 − p)), error O(p⁴).
    assert best[0] == pytest.approx(0.01**2 / (6 * 0.99), rel=1e-5)


# --- bad input -------------------------------------------------------------------------------
def test_bad_input():
    with pytest.raises(ValueError, match=r"label must be one of.*'triangle'"):
        n3m2.candidate_solution("triangle", 0.5)
    with pytest.raises(ValueError, match=r"bias must be one of.*'best'"):
        n3m2.candidate_losses(1.0, 0.5, bias="best")
    with pytest.raises(ValueError, match=r"density must lie in \(0, 1\].*1\.5"):
        n3m2.candidate_losses(1.0, 1.5)
    with pytest.raises(ValueError, match=r"importance must be finite and >= 0.*-2"):
        n3m2.candidate_phase_map([-2.0, 1.0], [0.5])
    with pytest.raises(ValueError, match=r"1-D axes.*\(2, 2\)"):
        n3m2.candidate_phase_map(np.ones((2, 2)), [0.5])
    with pytest.raises(ValueError, match=r"bias must lie in \[-1, 1\].*1\.5"):
        n3m2.antipodal_pair_loss(0.5, 1.5)
    with pytest.raises(ValueError, match=r"must broadcast together"):
        n3m2.candidate_losses([1.0, 2.0], [0.1, 0.2, 0.3])
