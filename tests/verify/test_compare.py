"""verify.compare: agreement, Cohen's κ, boundaries and seed selection on hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest

from verify import compare

S, N, D = "superposition", "not_represented", "dedicated"


def test_agreement_and_kappa_by_hand():
    a = np.array([[S, S], [N, D]])
    b = np.array([[S, N], [N, D]])
    assert compare.agreement(a, b) == 0.75
    # p_o = 3/4; label frequencies a: S 1/2, N 1/4, D 1/4; b: S 1/4, N 1/2, D 1/4
    p_e = 0.5 * 0.25 + 0.25 * 0.5 + 0.25 * 0.25
    assert compare.cohen_kappa(a, b) == pytest.approx((0.75 - p_e) / (1 - p_e), abs=1e-15)
    assert compare.cohen_kappa(a, a) == 1.0
    assert np.isnan(compare.cohen_kappa(np.full((2, 2), S), np.full((2, 2), S)))  # undefined


def test_maps_must_match():
    with pytest.raises(ValueError, match=r"same shape, got \(2, 2\) and \(2, 3\)"):
        compare.agreement(np.full((2, 2), S), np.full((2, 3), S))
    with pytest.raises(ValueError, match="2-D array of phase labels"):
        compare.agreement(np.zeros((2, 2)), np.zeros((2, 2)))


def test_cell_edges_are_geometric_midpoints():
    edges = compare.cell_edges([0.01, 0.1, 1.0])
    np.testing.assert_allclose(edges, [10**-2.5, 10**-1.5, 10**-0.5, 10**0.5], rtol=1e-12)
    with pytest.raises(ValueError, match="increasing"):
        compare.cell_edges([1.0, 0.5])


def test_boundary_from_labels():
    density = np.geomspace(0.01, 1, 5)
    edges = compare.cell_edges(density)
    labels = np.array(
        [
            [S, S, N, S],
            [S, S, N, S],
            [S, N, N, S],
            [N, N, N, S],
            [N, S, N, S],  # one stray cell in column 1
        ]
    )
    b = compare.boundary_from_labels(labels, density)
    np.testing.assert_allclose(b.density, [edges[3], edges[2], edges[0], edges[5]])
    assert b.censored.tolist() == ["", "", "below", "above"]
    assert b.misfit.tolist() == [0, 1, 0, 0]
    both = compare.boundary_from_labels(
        np.where(labels == S, "superposition_pair", N),
        density,
        phase=("superposition_pair", "superposition_extra"),
    )
    np.testing.assert_array_equal(both.density, b.density)


def test_select_labels_best_and_drop_worst():
    labels = np.array([[S, N, N, S]])  # one cell, four seeds
    loss = np.array([[0.1, 0.3, 0.2, 0.9]])
    best, share = compare.select_labels(labels, loss, select="best")
    assert best.tolist() == [S] and share.tolist() == [0.5]
    # drop the worst (seed 3, S): kept S, N, N -> majority N with 2/3
    maj, share = compare.select_labels(labels, loss, select="drop_worst")
    assert maj.tolist() == [N] and share.tolist() == pytest.approx([2 / 3])
    # a tie among the kept goes to the lowest-loss seed's label
    tie, _ = compare.select_labels(
        np.array([[N, S, S, N, D]]), np.array([[0.2, 0.1, 0.5, 0.3, 0.9]]), select="drop_worst"
    )
    assert tie.tolist() == [S]
    with pytest.raises(ValueError, match="select"):
        compare.select_labels(labels, loss, select="vote")


def test_bootstrap_spread():
    density = np.geomspace(0.01, 1, 6)
    rng = np.random.default_rng(0)
    same = np.array([[S] * 3] * 3 + [[N] * 3] * 3)[:, None, :]  # (6, 1, 3): seeds agree
    loss = rng.random(same.shape)
    boot = compare.bootstrap_labels(same, loss, n_boot=20, rng=rng)
    assert boot.shape == (20, 6, 1)
    assert compare.boundary_spread(boot, density)[0] == pytest.approx(0.0, abs=1e-12)
    mixed = same.copy()
    mixed[2, 0, 0] = N  # one seed disagrees in row 2: its selection varies across resamples
    loss[2, 0] = [0.0, 1.0, 1.0]
    spread = compare.boundary_spread(
        compare.bootstrap_labels(mixed, loss, n_boot=200, rng=rng), density
    )
    assert 0 < spread[0] < np.log10(density[1] / density[0])


def test_decades():
    np.testing.assert_allclose(compare.decades([1.0, 0.1], [0.1, 0.1]), [1.0, 0.0])
