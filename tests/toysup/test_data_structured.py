"""Feature structures and signed values (toysup.data.FeatureSampler, sample_features).

Every check is a test at α = 0.001 with a fixed seed (binomial tests for frequencies, χ² for
uniform member choice and for independence between sets, Kolmogorov–Smirnov for the values), so
a correct sampler passes by construction of the seed, and one with a wrong law fails: a marginal
density of s·p instead of p, a partly active correlated set, two active members of an
anticorrelated set, a biased member choice or values on the wrong interval all miss by many
standard errors at these sizes. Structural properties (all-or-none, at most one) are exact.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from toysup import FeatureConfig, sample_features
from toysup.data import FeatureSampler, NumpyUniforms, TorchUniforms

ALPHA = 1e-3
KINDS = [(k, src) for k in ("dense", "sparse", "compact") for src in ("torch", "numpy")]


def _draw(kind, source, density, batch, *, structure, values="unit", set_size=2, seed=0):
    """A full batch (instances, batch, n) as numpy (the compact sampler's implied all-zero
    examples appended: its examples are exchangeable, so their order does not matter)."""
    config = FeatureConfig(
        n_features=len(density[0]), n_instances=len(density), density=density,
        structure=structure, set_size=set_size, values=values,
    )  # fmt: skip
    dens = torch.tensor(config.density_array)
    uniforms = (
        TorchUniforms(torch.Generator().manual_seed(seed))
        if source == "torch"
        else NumpyUniforms(seed)
    )
    sampler = FeatureSampler(
        kind, dens, torch.tensor(config.set_density_array), batch, structure=structure,
        values=values,
    )  # fmt: skip
    flat = torch.empty(dens.numel() * batch + 1, dtype=torch.float64)
    x = sampler.draw(flat, uniforms)  # (I, n, C)
    full = torch.zeros(*dens.shape, batch, dtype=torch.float64)
    full[:, :, : x.shape[2]] = x
    return full.transpose(1, 2).numpy()


def _binomial_ok(successes: int, trials: int, p: float) -> bool:
    return stats.binomtest(int(successes), trials, p).pvalue > ALPHA


@pytest.mark.parametrize(("kind", "source"), KINDS)
@pytest.mark.parametrize("values", ["unit", "signed"])
def test_correlated_sets_are_all_or_none_with_marginal_density_p(kind, source, values):
    p, s, batch = 0.15, 3, 40_000
    x = _draw(kind, source, [[p] * 6], batch, structure="correlated", set_size=s, values=values,
              seed=1)[0]  # fmt: skip
    active = x != 0  # (batch, 6)
    per_set = active.reshape(batch, 2, s).sum(2)
    assert set(np.unique(per_set)) <= {0, s}  # exact: all or none
    for feature in range(6):
        assert _binomial_ok(active[:, feature].sum(), batch, p), feature
    set_on = per_set == s
    table = np.histogram2d(set_on[:, 0], set_on[:, 1], bins=2)[0]  # sets independent
    assert stats.chi2_contingency(table).pvalue > ALPHA
    # values of one active set: independent of each other, uniform on [0, 1) or [-1, 1)
    both = x[set_on[:, 0]][:, :s]
    r = np.corrcoef(both[:, 0], both[:, 1])[0, 1]
    assert abs(r) * np.sqrt(len(both)) < stats.norm.ppf(1 - ALPHA / 2)
    low = -1.0 if values == "signed" else 0.0
    assert stats.kstest(both.ravel(), stats.uniform(low, 1 - low).cdf).pvalue > ALPHA


@pytest.mark.parametrize(("kind", "source"), KINDS)
@pytest.mark.parametrize("values", ["unit", "signed"])
def test_anticorrelated_sets_have_at_most_one_active_member(kind, source, values):
    p, s, batch = 0.1, 3, 40_000
    x = _draw(kind, source, [[p] * 6], batch, structure="anticorrelated", set_size=s,
              values=values, seed=2)[0]  # fmt: skip
    active = x != 0
    per_set = active.reshape(batch, 2, s).sum(2)
    assert per_set.max() <= 1  # exact: at most one member
    for k in range(2):
        assert _binomial_ok(per_set[:, k].sum(), batch, s * p), k  # P(one active) = s·p
    for feature in range(6):
        assert _binomial_ok(active[:, feature].sum(), batch, p), feature
    member = np.argmax(active.reshape(batch, 2, s), axis=2)[per_set == 1]
    assert stats.chisquare(np.bincount(member, minlength=s)).pvalue > ALPHA  # uniform choice
    table = np.histogram2d(per_set[:, 0], per_set[:, 1], bins=2)[0]
    assert stats.chi2_contingency(table).pvalue > ALPHA
    low = -1.0 if values == "signed" else 0.0
    assert stats.kstest(x[active], stats.uniform(low, 1 - low).cdf).pvalue > ALPHA


def test_anticorrelated_unequal_densities_choose_member_i_with_probability_p_i():
    """Generalisation to unequal densities: member i with probability p_i / Σp, marginal p_i."""
    density = [[0.1, 0.3, 0.05, 0.5]]
    batch = 60_000
    x = _draw("dense", "numpy", density, batch, structure="anticorrelated", seed=3)[0]
    active = x != 0
    assert active.reshape(batch, 2, 2).sum(2).max() <= 1
    for feature, p in enumerate(density[0]):
        assert _binomial_ok(active[:, feature].sum(), batch, p), feature


@pytest.mark.parametrize(("kind", "source"), KINDS)
def test_signed_independent_values_are_uniform_on_minus_one_one(kind, source):
    p, batch = 0.2, 50_000
    x = _draw(kind, source, [[p, p, 0.05]], batch, structure="independent", values="signed",
              seed=4)[0]  # fmt: skip
    active = x != 0
    for feature, q in enumerate([p, p, 0.05]):
        assert _binomial_ok(active[:, feature].sum(), batch, q)
    assert stats.kstest(x[active], stats.uniform(-1, 2).cdf).pvalue > ALPHA
    table = np.histogram2d(active[:, 0], active[:, 1], bins=2)[0]
    assert stats.chi2_contingency(table).pvalue > ALPHA


@pytest.mark.parametrize("structure", ["independent", "correlated", "anticorrelated"])
@pytest.mark.parametrize("method", ["dense", "sparse"])
def test_sample_features_draws_structures(structure, method):
    """The public sampler: shapes, marginal densities, and the set laws."""
    x = sample_features(
        np.full((2, 4), 0.25), 30_000, generator=torch.Generator().manual_seed(9), method=method,
        structure=structure, values="signed", dtype=torch.float64,
    ).numpy()  # fmt: skip
    assert x.shape == (2, 30_000, 4) and x.min() >= -1 and x.max() <= 1
    active = x != 0
    for i in range(2):
        for f in range(4):
            assert _binomial_ok(active[i, :, f].sum(), 30_000, 0.25)
    per_set = active.reshape(2, 30_000, 2, 2).sum(3)
    if structure == "correlated":
        assert set(np.unique(per_set)) <= {0, 2}
    if structure == "anticorrelated":
        assert per_set.max() <= 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"structure": "clustered"}, "structure must be one of"),
        ({"values": "positive"}, "values must be one of 'unit', 'signed'; got 'positive'"),
        (
            {"structure": "correlated", "set_size": 3},
            r"set_size \(3\) must divide n_features \(4\)",
        ),
        ({"structure": "anticorrelated", "set_size": 4}, "set_size · p ≤ 1"),
    ],
)
def test_sample_features_rejects_bad_structures(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_features(np.full((1, 4), 0.3), 8, generator=torch.Generator(), **kwargs)


@pytest.mark.parametrize("values", ["unit", "signed"])
@pytest.mark.parametrize("source", ["torch", "numpy"])
def test_entries_are_the_batch_draw_gives(values, source):
    """The general path's row-sparse step reads the batch as entries (draw_entries): the same
    random numbers must give exactly the batch :meth:`FeatureSampler.draw` gives."""
    density = torch.tensor([[0.3, 0.02, 0.1], [0.05, 0.5, 0.01]], dtype=torch.float64)
    batch = 200

    def uniforms():
        return (
            TorchUniforms(torch.Generator().manual_seed(5))
            if source == "torch"
            else (NumpyUniforms(5))
        )

    sampler = FeatureSampler("sparse", density, density, batch, values=values)
    flat = torch.empty(density.numel() * batch + 1, dtype=torch.float64)
    x = sampler.draw(flat, uniforms())
    entries = sampler.draw_entries(uniforms())
    assert entries.values.numel() > 0 and bool((entries.values < 0).any()) == (values == "signed")
    assert torch.equal(entries.to_dense(), x)
    with pytest.raises(ValueError, match="'correlated'"):
        FeatureSampler("sparse", density[:, :2], density[:, :1], batch,
                       structure="correlated").draw_entries(uniforms())  # fmt: skip
