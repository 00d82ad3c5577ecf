"""verify.kgon: polygon detection, intervals, the family's choice, and trained k-gons against
theory (slow)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from theory.kgon import kgon_weights, optimal_kgon
from verify.kgon import (
    KGonSettings,
    clopper_pearson,
    family_choice,
    polygon_shape,
    run_kgon,
)


def _rotation(angle: float) -> np.ndarray:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


@pytest.mark.parametrize("k", [3, 4, 5, 6, 7, 8])
def test_regular_polygons_are_recognised_in_any_orientation(k):
    rng = np.random.default_rng(k)
    W = _rotation(rng.uniform(0, 2 * np.pi)) @ kgon_weights(k, 1.2)
    W = W[:, rng.permutation(k)]  # feature order does not matter
    count, regular = polygon_shape(W)
    assert count == k and regular
    padded = np.concatenate([W, np.zeros((2, 2))], axis=1)  # two dropped features
    assert polygon_shape(padded) == (k, True)
    bent = W.copy()
    bent[:, 0] = _rotation(0.2) @ bent[:, 0]  # one vertex moved by 0.2 rad > ANGLE_TOL
    assert polygon_shape(bent) == (k, False)
    stretched = W.copy()
    stretched[:, 1] *= 1.3  # one norm 30% off
    assert polygon_shape(stretched) == (k, False)


def test_other_configurations():
    pair_and_dedicated = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    assert polygon_shape(pair_and_dedicated) == (3, False)
    assert polygon_shape(np.array([[1.0, 0.0, 0.1], [0.0, 1.0, 0.0]])) == (2, True)
    assert polygon_shape(np.array([[1.0, 0.7], [0.0, 0.7]])) == (2, False)  # 45°, not orthogonal
    assert polygon_shape(np.array([[1.0, 0.2], [0.0, 0.0]])) == (1, False)
    mixed = np.concatenate([pair_and_dedicated, np.zeros((2, 2))], axis=1)
    count, regular = polygon_shape(np.stack([kgon_weights(5), mixed]))
    assert count.tolist() == [5, 3] and regular.tolist() == [True, False]
    with pytest.raises(ValueError, match=r"W must have shape \(\.\.\., 2, n\), got \(3, 4\)"):
        polygon_shape(np.zeros((3, 4)))


@pytest.mark.parametrize("successes", [0, 1, 4, 7, 8])
def test_clopper_pearson_is_scipys_exact_interval(successes):
    ours = clopper_pearson(successes, 8, 0.95)
    ci = binomtest(successes, 8).proportion_ci(confidence_level=0.95, method="exact")
    np.testing.assert_allclose(ours, [ci.low, ci.high], rtol=1e-10, atol=1e-12)


def test_family_choice_equals_optimal_kgon_for_each_n():
    # One optimal_kgon for the largest n, dropped features added back for the smaller ones,
    # against optimal_kgon run for every n (docs/kgon.md §3; exact: the losses add).
    density = np.array([0.6, 0.08])
    best_k, loss, gap = family_choice((3, 4), density)
    for row, n in enumerate((3, 4)):
        direct = optimal_kgon(n, density)
        assert best_k[row].tolist() == direct.best_k.tolist()
        np.testing.assert_allclose(loss[row], direct.loss.min(axis=1), rtol=1e-12)
        ordered = np.sort(direct.loss, axis=1)
        np.testing.assert_allclose(gap[row], ordered[:, 1] / ordered[:, 0] - 1, rtol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(ks=(2, 3)), r"ks must be a tuple of distinct integers in \[3, 12\], got \(2, 3\)"),
        (dict(ks=[3]), "ks must be a tuple"),
        (dict(densities=(0.0,)), r"densities must be a tuple of numbers in \(0, 1\]"),
        (dict(seeds=0), "seeds must be an integer >= 1, got 0"),
        (dict(loss_rtol=True), r"loss_rtol must be a number in \(0, 1\), got True"),
        (dict(confidence=1.0), r"confidence must be a number in \(0, 1\)"),
        (dict(lr=-1.0), "lr"),
    ],
)
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KGonSettings(**kwargs)


def test_run_contract_with_tiny_settings():
    s = KGonSettings(ks=(3, 4), densities=(0.3, 0.05), seeds=2, steps=40, batch=128, device="cpu")
    c = run_kgon(s, progress=False)
    assert c.seed_loss.shape == c.seed_count.shape == c.seed_regular.shape == (2, 2, 2)
    assert c.W[1].shape == (2, 2, 2, 4) and c.b[0].shape == (2, 2, 3)
    assert np.all(c.seed_loss > 0) and np.all(c.best_loss == c.seed_loss.min(-1))
    np.testing.assert_allclose(c.best_ratio, c.best_loss / c.theory_loss)
    for key in ("reach", "count_match", "match"):
        interval = getattr(c, f"{key}_interval")
        assert np.all((interval[..., 0] <= getattr(c, key)) & (getattr(c, key) <= interval[..., 1]))
    assert np.all(c.match <= c.count_match)
    rows = c.rows()
    assert len(rows) == 4 and rows[0]["k"] == 3 and rows[0]["density"] == 0.3
    table = c.markdown().splitlines()
    assert len(table) == 4 + 4 and table[2].startswith("| n | p |")


@pytest.mark.slow
def test_trained_kgons_against_the_family():
    """The default comparison (docs/kgon.md §4: k = 3..8, 10 densities 1 … 0.005, best of 16
    seeds, 4,000 steps). The bars, and why (measured values in docs/kgon.md §4):

    - n = 4, 5 (where the family's polygons are the optimum of their kind): the best seed reaches
      the family's optimal loss within 1% in every cell (measured: within 0.2%), represents
      theory's number of features in every decisive cell (runner-up >= 5% worse), and at p <= 0.1
      at least half the seeds reach that loss with 95% confidence (Clopper–Pearson lower bound
      above 1/2; measured 15-16 of 16 everywhere).
    - n = 3 below the triangle region (p <= 0.31): the family is *not* optimal — the best seed
      beats the triangle by at least 5% (measured 10-11%) and reaches the exact n = 3, m = 2
      optimum at r = 1 (theory.n3m2, an independent computation: a dedicated feature plus an
      antipodal pair) within 1%.
    - every n: the best seed represents theory's number of features in >= 80% of the decisive
      cells (measured 32 of 33; the miss: n = 6 at p = 0.009, where no seed of 16 leaves a
      pentagon with a weak sixth feature, 27% above the hexagon — a local minimum whose basin
      takes 80-95% of the seeds at p <= 0.05).
    """
    from theory.n3m2 import exact_optimum

    c = run_kgon(KGonSettings(), progress=False)
    table = c.markdown()
    k = list(c.ks)
    decisive = c.decisive
    assert decisive.sum() >= 25, table
    for n in (4, 5):
        i = k.index(n)
        assert np.all(c.best_ratio[i] <= 1.01), table
        assert np.all(c.best_count[i][decisive[i]] == c.theory_k[i][decisive[i]]), table
        sparse = c.density <= 0.1
        assert np.all(c.reach_interval[i][sparse, 0] > 0.5), table
    i3 = k.index(3)
    below = c.density <= 0.31
    assert np.all(c.best_ratio[i3][below] <= 0.95), table
    global_opt = exact_optimum(1.0, c.density[below]).loss
    np.testing.assert_array_less(c.best_loss[i3][below], global_opt * 1.01)
    assert np.all(c.best_loss[i3][below] >= global_opt * (1 - 1e-9))  # never below the optimum
    assert np.mean(c.best_count[decisive] == c.theory_k[decisive]) >= 0.8, table
