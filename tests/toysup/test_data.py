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

from toysup.data import (
    CompactSampler,
    DenseSampler,
    NumpyUniforms,
    SparseSampler,
    TorchUniforms,
    sample_features,
)

DENSITIES = [1.0, 0.5, 0.1, 0.01, 0.001]
SAMPLERS = {"dense": DenseSampler, "sparse": SparseSampler, "compact": CompactSampler}
ALL = [(m, src) for m in SAMPLERS for src in ("torch", "numpy")]


def _draw(method, density, batch, seed, source="torch", **kw):
    """A full batch (instances, batch, features) as numpy. The compact sampler's implicit all-zero
    examples are appended (its examples are exchangeable, so their order is immaterial)."""
    dens = torch.tensor(density, dtype=torch.float64)
    uniforms = (
        TorchUniforms(torch.Generator().manual_seed(seed))
        if source == "torch"
        else NumpyUniforms(seed)
    )
    flat = torch.empty(
        dens.numel() * batch + 1, dtype=torch.float64
    )  # + the sparse sampler's spare
    x = SAMPLERS[method](dens, batch, **kw).draw(flat, uniforms)  # (I, n, C)
    full = torch.zeros(*dens.shape, batch, dtype=torch.float64)
    full[:, :, : x.shape[2]] = x
    return full.transpose(1, 2).numpy()


@pytest.mark.parametrize(("method", "source"), ALL)
@pytest.mark.parametrize("p", DENSITIES)
def test_moments_match_p_p2_p3(method, source, p):
    n_total = 400_000
    x = _draw(method, [[p, p]], n_total // 2, seed=11, source=source).reshape(-1)
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


@pytest.mark.parametrize(("method", "source"), ALL)
def test_masks_independent_across_features_and_examples(method, source):
    """Per-feature and per-example independence: a mask shared by two features, or drawn once per
    batch, would give correlation ≈ 1; independent masks give |r| < 5/sqrt(N). (The compact
    sampler puts active examples first, so for it the lag-1 checks run on a fixed shuffle.)"""
    p, batch = 0.3, 50_000
    x = _draw(method, [[p, p, 0.05]], batch, seed=3, source=source)[0]  # (batch, 3)
    if method == "compact":
        x = x[np.random.default_rng(0).permutation(batch)]
    mask = (x > 0).astype(float)
    bound = 5 / np.sqrt(batch)
    assert abs(np.corrcoef(mask[:, 0], mask[:, 1])[0, 1]) < bound
    assert abs(np.corrcoef(mask[:, 0], mask[:, 2])[0, 1]) < bound
    assert abs(np.corrcoef(mask[:-1, 0], mask[1:, 0])[0, 1]) < bound  # lag-1 along examples
    nz = x[:, 0][x[:, 0] > 0]
    assert abs(np.corrcoef(nz[:-1], nz[1:])[0, 1]) < 5 / np.sqrt(nz.size)


@pytest.mark.parametrize(("method", "source"), ALL)
def test_values_uniform_and_row_counts_binomial(method, source):
    """Non-zero values ~ U[0, 1) (KS test) and non-zeros per row ~ Binomial(B, p) (chi-square on
    the count distribution), at α = 1e-4 with a fixed seed."""
    p, batch, rows = 0.05, 256, 4000
    x = _draw(method, [[p] * rows], batch, seed=5, source=source)[0]  # (batch, rows)
    assert stats.kstest(x[x > 0], "uniform").pvalue > 1e-4
    counts = (x > 0).sum(0)
    edges = np.arange(0, 31)
    observed = np.histogram(counts, bins=np.append(edges, batch + 1))[0]
    expected = rows * np.diff(stats.binom.cdf(np.append(edges, batch + 1) - 1, batch, p))
    keep = expected > 5
    observed = np.append(observed[keep], observed[~keep].sum())
    expected = np.append(expected[keep], expected[~keep].sum())
    assert stats.chisquare(observed, expected).pvalue > 1e-4


@pytest.mark.parametrize("source", ["torch", "numpy"])
def test_sparse_sampler_exact_when_budget_runs_out(source):
    """With almost no budget the sampler continues rows in extra rounds: same distribution."""
    p, batch = 0.2, 100_000
    x = _draw("sparse", [[p, 0.02]], batch, seed=9, source=source, sigmas=0.0, slack=1.0)[0]
    for j, pj in enumerate([p, 0.02]):
        col = x[:, j]
        assert abs((col > 0).mean() - pj) <= 5 * np.sqrt(pj * (1 - pj) / batch)
        assert abs(col.mean() - pj / 2) <= 5 * np.sqrt((pj / 3 - pj**2 / 4) / batch)
    assert abs(np.corrcoef(x[:-1, 0] > 0, x[1:, 0] > 0)[0, 1]) < 5 / np.sqrt(batch)


@pytest.mark.parametrize(("method", "source"), ALL)
def test_same_seed_same_bits_and_shapes(method, source):
    a = _draw(method, [[0.1, 0.2, 0.3]] * 4, 33, seed=1, source=source)
    b = _draw(method, [[0.1, 0.2, 0.3]] * 4, 33, seed=1, source=source)
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
        sample_features([[0.5]], 4, generator="0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="generator"):
        sample_features([[0.5]], 4, generator=-1)
    with pytest.raises(ValueError, match="method"):
        sample_features([[0.5]], 4, generator=torch.Generator(), method="magic")
    with pytest.raises(ValueError, match="batch_size"):
        sample_features([[0.5]], 0, generator=torch.Generator())


@pytest.mark.parametrize(("method", "source"), ALL)
def test_zeros_are_positive_zeros(method, source):
    x = _draw(method, [[0.3, 1.0]], 1000, seed=2, source=source)
    assert not np.signbit(x).any()


@pytest.mark.parametrize("density", [[0.01, 0.01], [0.3, 0.02, 0.6], [1.0, 0.1], [0.05]])
def test_compact_sampler_pattern_law(density):
    """Among active examples, each pattern of non-zero features has probability
    Π_{i∈S} p_i Π_{i∉S} (1 - p_i) / q (chi-square, α = 1e-4), and the active count per instance is
    Binomial(B, q) (5 standard errors)."""
    p = np.array(density)
    batch, instances = 4096, 64
    x = _draw("compact", [list(p)] * instances, batch, seed=4)
    active = x.any(axis=2)  # (instances, batch)
    q = 1 - np.prod(1 - p)
    counts = active.sum(1)
    assert abs(counts.mean() - batch * q) <= 5 * np.sqrt(batch * q * (1 - q) / instances)
    patterns = (x[active] > 0) @ (1 << np.arange(p.size))  # pattern code per active example
    observed = np.bincount(patterns, minlength=1 << p.size)[1:]
    codes = np.arange(1, 1 << p.size)
    bits = (codes[:, None] >> np.arange(p.size)) & 1
    prob = np.prod(np.where(bits == 1, p, 1 - p), axis=1) / q
    expected = prob * observed.sum()
    keep = expected > 0
    if keep.sum() > 1:
        assert stats.chisquare(observed[keep], expected[keep]).pvalue > 1e-4
    assert observed[~keep].sum() == 0


def test_sparse_sampler_needs_a_spare_element():
    sampler = SparseSampler(torch.full((1, 2), 0.1), 8)
    with pytest.raises(ValueError, match="more than 16 elements"):
        sampler.draw(torch.empty(16), NumpyUniforms(0))


@pytest.mark.parametrize("source", ["torch", "numpy"])
@pytest.mark.parametrize("budget", [{}, {"sigmas": 0.0, "slack": 1.0}])  # 2nd: extra rounds
def test_sparse_entries_are_the_same_draw(source, budget):
    """``draw_entries`` (the Gram step's input) returns exactly the batch ``draw`` writes for the
    same random numbers, so the distribution checks above cover it; entries come in row order."""
    density = torch.tensor([[1.0, 0.3, 0.001], [0.05, 0.5, 0.02]], dtype=torch.float64)
    batch = 500

    def uniforms():
        return (
            TorchUniforms(torch.Generator().manual_seed(8))
            if source == "torch"
            else (NumpyUniforms(8))
        )

    sampler = SparseSampler(density, batch, **budget)
    x = sampler.draw(torch.empty(density.numel() * batch + 1, dtype=torch.float64), uniforms())
    entries = sampler.draw_entries(uniforms())
    assert torch.equal(entries.to_dense(), x)
    key = entries.rows * batch + entries.examples
    assert torch.all(key[1:] > key[:-1])  # row order, no duplicates
    assert torch.all(entries.values > 0)
