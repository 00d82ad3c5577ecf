"""verify.compare: agreement, Cohen's κ, boundaries and seed selection on hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest

from theory import n2m1
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


def test_exact_seed_loss_is_the_n2m1_closed_form_and_ranks_seeds():
    # theory.landscape (any n) against theory.n2m1 (the hand-derived n = 2 loss, an independent
    # implementation) on (P, R, K) stacks of models, to 1e-12 (docs/landscape.md §5.3).
    rng = np.random.default_rng(4)
    W = rng.normal(size=(3, 2, 4, 1, 2))
    b = 0.2 * rng.normal(size=(3, 2, 4, 2))
    p = np.array([0.02, 0.3, 1.0])[:, None, None, None]
    imp = np.stack([np.ones(2), np.array([0.5, 3.0])], -1)[None, :, None, :]  # (1, R, 1, 2)
    ours = compare.exact_seed_loss(W, b, p, imp)
    theirs = n2m1.expected_loss(W[..., 0, :], b, p, imp)
    assert ours.shape == (3, 2, 4)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    labels = np.array(["a", "b", "c", "d"])[np.argsort(np.argsort(ours, axis=-1), axis=-1)]
    chosen, _ = compare.select_labels(labels, ours)
    assert np.all(chosen == "a")  # the seed of least exact loss


def test_exact_seed_loss_refuses_too_many_features():
    with pytest.raises(ValueError, match=r"n must be <= 12, got n = 13"):
        compare.exact_seed_loss(np.zeros((2, 13)), np.zeros(13), 0.1, 1.0)
