"""The tests take a TrainResult: superposition_test(result, config), sample_activations for the
decodability test, represented_count_test saying when it is underpowered; and the toysup
conveniences (integer seeds for sample_features, n_instances inferred, eval_samples >= 2)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from toysup import FeatureConfig, ModelConfig, TrainConfig, sample_features, train
from verify import stats


@pytest.fixture(scope="module")
def result():
    """Two configurations: sparse (superposition expected) and dense; linear and ReLU."""
    return train(
        FeatureConfig(n_features=5, density=[[0.05] * 5, [1.0] * 5], importance=0.8 ** np.arange(5)),
        ModelConfig(n_features=5, n_hidden=2),
        TrainConfig(steps=400, batch_size=256, n_seeds=2, lr=1e-2, eval_samples=512),
        progress=False,
    )  # fmt: skip


@pytest.mark.parametrize("config", [0, 1])
def test_superposition_test_of_a_result_is_the_test_of_its_arrays(result, config):
    """Same seed, same model, same law: the same numbers, bit for bit."""
    direct = stats.superposition_test(
        result.W[config], result.b[config], result.features.density_array[config],
        result.features.importance_array[config], n_samples=5000, seed=3, loss="monte_carlo",
    )  # fmt: skip
    for via in (
        stats.superposition_test(result, config, n_samples=5000, seed=3, loss="monte_carlo"),
        stats.superposition_test(result, config=config, n_samples=5000, seed=3, loss="monte_carlo"),
    ):
        assert (via.p_value, via.loss, via.bound) == (direct.p_value, direct.loss, direct.bound)


@pytest.mark.parametrize("config", [0, 1])
def test_exact_test_of_a_result_keeps_the_seed_of_least_exact_loss(result, config):
    """With the exact loss (the default here: ReLU, n = 5) the tested seed is the one of least
    exact expected loss — the trainer kept its seed by a Monte Carlo estimate."""
    from theory.landscape import expected_loss

    p = result.features.density_array[config]
    imp = result.features.importance_array[config]
    exact = [
        float(expected_loss(np.asarray(w, float), np.asarray(b, float), p, imp))
        for w, b in zip(result.seed_W[config], result.seed_b[config])
    ]
    via = stats.superposition_test(result, config)
    assert via.loss_source == "exact" and via.n_samples == 0
    assert via.loss == pytest.approx(min(exact), rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (dict(b=2), ValueError, r"\[0, 2\)"),
        (dict(), ValueError, "pass config"),
        (dict(b=0, density=0.5), ValueError, "density"),
        (dict(b=0, config=1), ValueError, "once"),
        (dict(b=0, activation="linear"), ValueError, "'relu'"),
        (dict(b=True), TypeError, "config"),
    ],
)
def test_superposition_test_of_a_result_refuses_contradictions(result, kwargs, error, words):
    with pytest.raises(error, match=words):
        stats.superposition_test(result, **kwargs)


def test_sample_activations_draws_the_configurations_law(result):
    """h = W x exactly; x has the configuration's density (5 standard errors of the fraction of
    non-zero entries, n·N = 100,000 Bernoulli draws) and Uniform[0, 1) values (mean 1/2 to 5
    standard errors); the same seed gives the same draw."""
    x, h = stats.sample_activations(result, 0, n_rows=20_000, seed=7)
    assert x.shape == (20_000, 5) and h.shape == (20_000, 2)
    np.testing.assert_array_equal(h, x @ result.W[0].T)
    p = 0.05
    nonzero = float(np.mean(x > 0))
    assert abs(nonzero - p) < 5 * math.sqrt(p * (1 - p) / x.size)
    values = x[x > 0]
    assert abs(values.mean() - 0.5) < 5 * math.sqrt(1 / 12 / values.size)
    again = stats.sample_activations(result, 0, n_rows=20_000, seed=7)
    np.testing.assert_array_equal(again[0], x)
    d = stats.decodability_test(h, x, n_permutations=199, alpha=0.05, seed=0)
    assert d.n_hidden == 2 and d.decodable.shape == (5,)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "words"),
    [
        ((np.ones((2, 3)),), {}, TypeError, "TrainResult"),
        ((None,), {}, TypeError, "TrainResult"),
        (("result", 5), {}, ValueError, r"\[0, 2\)"),
        (("result", 0), {"n_rows": 0}, ValueError, "n_rows"),
        (("result", 0), {"seed": -1}, ValueError, "seed"),
        (("result", 0), {"n_rows": 10**15}, ValueError, "n_rows"),
    ],
)
def test_sample_activations_bad_arguments(result, args, kwargs, error, words):
    args = tuple(result if isinstance(a, str) and a == "result" else a for a in args)
    with pytest.raises(error, match=words):
        stats.sample_activations(*args, **kwargs)


@pytest.mark.parametrize(("alpha", "null_fraction"), [(0.01, 0.5), (0.05, 0.5), (0.01, 0.2)])
def test_represented_count_test_says_when_it_cannot_reject(alpha, null_fraction):
    """With every seed above m the p-value is π0^k, its smallest possible value: underpowered iff
    it exceeds α, and seeds_needed is the smallest k for which it does not (found by counting)."""
    needed = next(k for k in range(1, 100) if null_fraction**k <= alpha)
    for k in (needed - 1, needed):
        weights = np.tile(np.array([[[1.0, -1.0]]]), (k, 1, 1))  # 2 features in m = 1: above m
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = stats.represented_count_test(weights, alpha=alpha, null_fraction=null_fraction)
        assert r.p_value == pytest.approx(null_fraction**k)
        assert r.underpowered == (k < needed) and r.seeds_needed == needed
        assert r.reject == (k >= needed)
        warned = [w for w in caught if issubclass(w.category, stats.UnderpoweredWarning)]
        assert len(warned) == (k < needed)
        if k < needed:
            assert f"at least {needed} seeds" in str(warned[0].message)
            assert f"cannot be shown with {k} seeds" in repr(r)


def test_sample_features_takes_an_integer_seed():
    """An integer seed is a fresh CPU generator seeded with it: bit for bit the same batch."""
    density = [[0.3, 0.7, 1.0]]
    by_seed = sample_features(density, 64, generator=5)
    by_generator = sample_features(density, 64, generator=torch.Generator().manual_seed(5))
    assert torch.equal(by_seed, by_generator)
    assert not torch.equal(by_seed, sample_features(density, 64, generator=6))


@pytest.mark.parametrize(
    ("density", "importance", "instances"),
    [
        (np.full((4, 3), 0.5), 1.0, 4),
        (0.5, np.ones((3, 3)), 3),
        (np.full((2, 3), 0.5), np.ones((2, 3)), 2),
        (np.full(3, 0.5), np.ones(3), 1),
    ],
)
def test_feature_config_infers_the_instances(density, importance, instances):
    config = FeatureConfig(n_features=3, density=density, importance=importance)
    assert config.n_instances == instances
    assert FeatureConfig.from_json(config.to_json()) == config


def test_feature_config_refuses_conflicting_rows():
    with pytest.raises(ValueError, match="density has 4 rows, importance has 3 rows"):
        FeatureConfig(n_features=2, density=np.full((4, 2), 0.5), importance=np.ones((3, 2)))


def test_eval_samples_needs_two_for_a_standard_error():
    with pytest.raises(ValueError, match="eval_samples must be an integer >= 2, got 1"):
        TrainConfig(eval_samples=1)
