"""Sampler statistics: both samplers draw x_i = 0 w.p. 1 - p, else Uniform[0, 1), independently.

Tolerances: every moment is compared with 5 standard errors of its estimator (fixed seeds), so a
correct sampler fails with probability < 1e-6 per check, while a wrong distribution (a shared
mask, a value drawn as u instead of u/p, a mask per batch) misses by far more.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from toysup.data import SparseSampler, sample_features

DENSITIES = [1.0, 0.5, 0.1, 0.01, 0.001]


def _draw(method, density, batch, seed, **kw):
    gen = torch.Generator().manual_seed(seed)
    dens = torch.tensor(density, dtype=torch.float64)
    if kw:
        out = torch.empty(*dens.shape, batch, dtype=torch.float64)
        return SparseSampler(dens, batch, **kw).sample_into(out, gen).transpose(1, 2).numpy()
    return sample_features(dens, batch, generator=gen, method=method, dtype=torch.float64).numpy()


@pytest.mark.parametrize("method", ["dense", "sparse"])
@pytest.mark.parametrize("p", DENSITIES)
def test_moments_match_p_p2_p3(method, p):
    n_total = 400_000
    x = _draw(method, [[p, p]], n_total // 2, seed=11).reshape(-1)
    nonzero = x > 0
    # fraction non-zero ~ Binomial(N, p)/N
    se_p = np.sqrt(p * (1 - p) / n_total) or 1e-12
    assert abs(nonzero.mean() - p) <= 5 * se_p + 1e-12
    # E[x] = p/2 with Var x = p/3 - p²/4;  E[x²] = p/3 with Var x² = p/5 - p²/9
    se_mean = np.sqrt((p / 3 - p**2 / 4) / n_total)
    assert abs(x.mean() - p / 2) <= 5 * se_mean
    se_sq = np.sqrt((p / 5 - p**2 / 9) / n_total)
    assert abs((x**2).mean() - p / 3) <= 5 * se_sq
    assert x.min() >= 0 and x.max() < 1


@pytest.mark.parametrize("method", ["dense", "sparse"])
def test_masks_independent_across_features_and_examples(method):
    """Per-feature and per-example independence: a mask shared by two features, or drawn once per
    batch, would give correlation ≈ 1; independent masks give |r| < 5/sqrt(N)."""
    p, batch = 0.3, 50_000
    x = _draw(method, [[p, p, 0.05]], batch, seed=3)[0]  # (batch, 3)
    mask = (x > 0).astype(float)
    bound = 5 / np.sqrt(batch)
    assert abs(np.corrcoef(mask[:, 0], mask[:, 1])[0, 1]) < bound
    assert abs(np.corrcoef(mask[:, 0], mask[:, 2])[0, 1]) < bound
    assert abs(np.corrcoef(mask[:-1, 0], mask[1:, 0])[0, 1]) < bound  # lag-1 along examples
    nz = x[:, 0][x[:, 0] > 0]
    assert abs(np.corrcoef(nz[:-1], nz[1:])[0, 1]) < 5 / np.sqrt(nz.size)


@pytest.mark.parametrize("method", ["dense", "sparse"])
def test_values_uniform_and_row_counts_binomial(method):
    """Non-zero values ~ U[0, 1) (KS test) and non-zeros per row ~ Binomial(B, p) (chi-square on
    the count distribution), at α = 1e-4 with a fixed seed."""
    p, batch, rows = 0.05, 256, 4000
    x = _draw(method, [[p] * rows], batch, seed=5)[0]  # (batch, rows)
    assert stats.kstest(x[x > 0], "uniform").pvalue > 1e-4
    counts = (x > 0).sum(0)
    edges = np.arange(0, 31)
    observed = np.histogram(counts, bins=np.append(edges, batch + 1))[0]
    expected = rows * np.diff(stats.binom.cdf(np.append(edges, batch + 1) - 1, batch, p))
    keep = expected > 5
    observed = np.append(observed[keep], observed[~keep].sum())
    expected = np.append(expected[keep], expected[~keep].sum())
    assert stats.chisquare(observed, expected).pvalue > 1e-4


def test_sparse_sampler_exact_when_budget_runs_out():
    """With almost no budget the sampler continues rows in extra rounds: same distribution."""
    p, batch = 0.2, 100_000
    x = _draw("sparse", [[p, 0.02]], batch, seed=9, sigmas=0.0, slack=1.0)[0]
    for j, pj in enumerate([p, 0.02]):
        col = x[:, j]
        assert abs((col > 0).mean() - pj) <= 5 * np.sqrt(pj * (1 - pj) / batch)
        assert abs(col.mean() - pj / 2) <= 5 * np.sqrt((pj / 3 - pj**2 / 4) / batch)
    assert abs(np.corrcoef(x[:-1, 0] > 0, x[1:, 0] > 0)[0, 1]) < 5 / np.sqrt(batch)


def test_same_seed_same_bits_and_shapes():
    a = _draw("sparse", [[0.1, 0.2, 0.3]] * 4, 33, seed=1)
    b = _draw("sparse", [[0.1, 0.2, 0.3]] * 4, 33, seed=1)
    assert a.shape == (4, 33, 3) and np.array_equal(a, b)
    gen = torch.Generator().manual_seed(0)
    fm = sample_features(np.full((2, 3), 0.5), 7, generator=gen, feature_major=True)
    assert fm.shape == (2, 3, 7) and fm.dtype == torch.float32


@pytest.mark.parametrize(
    ("density", "match"),
    [([[0.0, 0.5]], "density must lie in \\(0, 1\\]"), ([[1.5]], "1.5"), ([0.5, 0.5], "shape")],
)
def test_bad_density_is_rejected(density, match):
    with pytest.raises(ValueError, match=match):
        sample_features(density, 4, generator=torch.Generator())


def test_bad_arguments():
    with pytest.raises(TypeError, match="generator"):
        sample_features([[0.5]], 4, generator=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="method"):
        sample_features([[0.5]], 4, generator=torch.Generator(), method="magic")
    with pytest.raises(ValueError, match="batch_size"):
        sample_features([[0.5]], 0, generator=torch.Generator())


def test_zeros_are_positive_zeros():
    x = _draw("dense", [[0.3, 1.0]], 1000, seed=2)
    assert not np.signbit(x).any()
