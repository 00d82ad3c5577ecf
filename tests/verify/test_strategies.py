"""verify.strategies: every drawn value is valid; edge values are reachable; bad arguments raise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from theory.bounds import no_superposition_loss
from theory.geometry import feature_dimensionality
from theory.linear import expected_loss as linear_loss
from theory.n2m1 import expected_loss
from toysup import FeatureConfig, ModelConfig, TrainConfig
from toysup.metrics import dimensionality, n_represented
from verify.strategies import (
    ModelExample,
    biases,
    densities,
    feature_configs,
    importances,
    model_configs,
    n2m1_parameters,
    no_superposition_models,
    superposition_models,
    train_configs,
    weights,
)

# Reachability: generate only (shrinking the found example would only cost time).
FIND = settings(max_examples=2000, database=None, phases=[Phase.generate])


# ----------------------------------------------------------------------------- validity


@given(densities())
def test_densities_are_valid(p):
    assert isinstance(p, float)
    assert 1e-3 <= p <= 1.0
    FeatureConfig(n_features=1, density=p)


@given(densities(min_value=0.2, max_value=0.5))
def test_density_bounds_are_respected(p):
    assert 0.2 <= p <= 0.5


@given(st.integers(1, 6).flatmap(lambda n: st.tuples(st.just(n), importances(n))))
def test_importances_are_valid(args):
    n, imp = args
    assert imp.shape == (n,) and imp.dtype == np.float64
    assert np.all(np.isfinite(imp)) and np.all(imp >= 0) and np.all(imp <= 10)
    FeatureConfig(n_features=n, importance=imp)


@given(importances(5, kind="decaying"))
def test_decaying_importances_decay(imp):
    assert np.all(np.diff(imp) <= 0) and imp[0] > 0


@given(importances(4, kind="uniform"))
def test_uniform_importances_are_equal(imp):
    assert np.all(imp == imp[0]) and imp[0] > 0


@given(model_configs())
def test_model_configs_are_narrow_by_default(model):
    assert isinstance(model, ModelConfig)
    assert 1 <= model.n_hidden <= model.n_features <= 8
    ModelConfig.from_dict(model.to_dict())


@given(model_configs(max_features=3, max_hidden=6, allow_wider=True, activations=["linear"]))
def test_model_configs_wider(model):
    assert model.n_hidden <= 6 and model.activation == "linear"


@given(feature_configs())
def test_feature_configs_are_valid(features):
    assert isinstance(features, FeatureConfig)
    assert features.density_array.shape == (features.n_instances, features.n_features)
    FeatureConfig.from_dict(features.to_dict())  # re-validates


@given(feature_configs(n_features=3, n_instances=2))
def test_feature_config_sizes_can_be_fixed(features):
    assert (features.n_instances, features.n_features) == (2, 3)


@given(train_configs())
def test_train_configs_are_short_and_valid(training):
    assert isinstance(training, TrainConfig)
    assert training.steps <= 50 and training.batch_size <= 64 and training.eval_samples <= 512
    TrainConfig.from_dict(
        {k: tuple(v) if k == "betas" else v for k, v in training.to_dict().items()}
    )


@given(st.integers(1, 4), st.integers(1, 5), st.data())
def test_weights_and_biases_shapes_and_bounds(m, n, data):
    W = data.draw(weights(m, n))
    b = data.draw(biases(n, max_value=3.0))
    assert W.shape == (m, n) and b.shape == (n,)
    nonzero = np.abs(W[W != 0])
    assert np.all((nonzero >= 1e-3) & (nonzero <= 2.0))
    assert np.all(np.abs(b) <= 3.0)


@given(n2m1_parameters())
def test_n2m1_parameters_are_accepted_by_the_closed_form(params):
    w, b, density, importance = params
    assert w.shape == b.shape == importance.shape == (2,)
    loss = float(expected_loss(w, b, density, importance))
    assert math.isfinite(loss) and loss >= 0


@given(superposition_models())
def test_superposition_models_beat_the_bound(ex):
    assert isinstance(ex, ModelExample)
    m, n = ex.W.shape
    assert n == 2 * m
    # Exact ReLU loss of antipodal pairs with b = 0 (module docstring): Σ I p²/6.
    loss = ex.importance.sum() * ex.density**2 / 6
    bound = no_superposition_loss(ex.importance, ex.density, m)
    assert loss <= 0.5 * bound * (1 + 1e-9)
    # In superposition: every feature shares its direction with its antipode (D_i = 1/2).
    np.testing.assert_allclose(feature_dimensionality(ex.W), 0.5, atol=1e-9)
    if n == 2:  # cross-check the loss against the exact n=2, m=1 landscape
        exact = float(expected_loss(ex.W[0], ex.b, ex.density, ex.importance))
        assert exact == pytest.approx(loss, rel=1e-9)


@given(no_superposition_models())
def test_no_superposition_models_are_orthogonal_and_obey_the_bound(ex):
    m = ex.W.shape[0]
    G = ex.W.T @ ex.W
    off = G - np.diag(np.diag(G))
    assert np.all(np.abs(off) <= 1e-9)
    D = dimensionality(ex.W)
    assert np.all(np.isclose(D, 0) | np.isclose(D, 1))
    assert n_represented(ex.W) <= m
    bound = no_superposition_loss(ex.importance, ex.density, m)
    assert linear_loss(ex.W, ex.b, ex.importance, ex.density) >= bound - 1e-9


# ----------------------------------------------------------------------------- coverage


def test_density_endpoints_are_reachable():
    assert find(densities(), lambda p: p == 1.0, settings=FIND) == 1.0
    assert find(densities(), lambda p: p < 1.2e-3, settings=FIND) >= 1e-3
    assert find(densities(), lambda p: 0.01 < p < 0.1, settings=FIND)


def test_importance_kinds_and_zeros_are_reachable():
    find(importances(3), lambda v: np.any(v == 0), settings=FIND)
    find(importances(3), lambda v: v[0] > v[1] > v[2] > 0, settings=FIND)
    find(importances(3), lambda v: v[0] == v[1] == v[2] > 0, settings=FIND)


def test_weights_reach_zero_columns_and_negative_entries():
    find(weights(2, 3), lambda W: np.any(np.all(W == 0, axis=0)) and np.any(W < 0), settings=FIND)


def test_n2m1_parameters_reach_negative_weights_and_large_biases():
    find(
        n2m1_parameters(),
        lambda t: t[0][0] * t[0][1] < 0 and np.any(np.abs(t[1]) > 2),
        settings=FIND,
    )
    find(n2m1_parameters(), lambda t: t[2] == 1.0, settings=FIND)


def test_configs_reach_every_form():
    find(
        feature_configs(),
        lambda f: f.n_instances > 1 and len(set(f.density_array.ravel())) > 1,
        settings=FIND,
    )
    find(train_configs(), lambda t: t.n_seeds == 2 and t.optimizer == "adam", settings=FIND)
    find(model_configs(), lambda m: m.n_hidden == m.n_features > 1, settings=FIND)
    find(no_superposition_models(), lambda e: 0 < n_represented(e.W) == e.W.shape[0], settings=FIND)
    find(superposition_models(), lambda e: e.W.shape[0] == 3, settings=FIND)


# ----------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: densities(min_value=0.0), ValueError, r"min_value must be a finite number > 0\.0"),
        (lambda: densities(max_value=1.5), ValueError, r"max_value .* <= 1\.0, got 1\.5"),
        (lambda: densities(min_value=0.5, max_value=0.1), ValueError, "must not exceed"),
        (lambda: importances(0), ValueError, "n must be an integer >= 1, got 0"),
        (lambda: importances(2, kind="zipf"), ValueError, r"kind must be .*'zipf'"),
        (lambda: importances(2, max_value=-1), ValueError, "max_value"),
        (lambda: weights(2, 2.5), TypeError, "n must be an integer"),
        (lambda: weights(2, 2, min_magnitude=3.0), ValueError, "min_magnitude"),
        (lambda: model_configs(min_features=5, max_features=2), ValueError, "must not exceed"),
        (lambda: model_configs(activations=["tanh"]), ValueError, "activations"),
        (lambda: train_configs(max_steps=0), ValueError, "max_steps"),
        (lambda: superposition_models(min_density=0.5), ValueError, "min_density must be <="),
        (lambda: n2m1_parameters(max_bias=float("nan")), ValueError, "max_bias"),
    ],
)
def test_bad_arguments_raise_at_creation(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_defaulted_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        densities(1e-3)  # type: ignore[misc]
    with pytest.raises(TypeError):
        importances(3, "uniform")  # type: ignore[misc]
