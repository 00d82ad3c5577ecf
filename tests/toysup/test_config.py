"""Configurations: validation with clear messages, and a lossless JSON round trip."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from toysup import FeatureConfig, ModelConfig, TrainConfig


@given(
    n=st.integers(1, 6),
    instances=st.integers(1, 4),
    density=st.floats(1e-4, 1.0),
    decay=st.floats(0.1, 1.0),
)
def test_feature_config_round_trips_and_broadcasts(n, instances, density, decay):
    cfg = FeatureConfig(
        n_features=n, n_instances=instances, density=density, importance=decay ** np.arange(n)
    )
    assert cfg.density_array.shape == (instances, n)
    assert np.all(cfg.importance_array == decay ** np.arange(n))
    again = FeatureConfig.from_json(cfg.to_json())
    assert again == cfg and hash(again) == hash(cfg)


def test_model_and_train_configs_round_trip():
    model = ModelConfig(n_features=5, n_hidden=2, activation="linear", init="xavier_uniform")
    assert ModelConfig.from_json(model.to_json()) == model
    training = TrainConfig(optimizer="adam", schedule="cosine", n_seeds=3, steps=10)
    data = json.loads(training.to_json())
    assert data["weight_decay"] == 0.0 and data["log_every"] == 1
    assert TrainConfig.from_dict({**data, "betas": tuple(data["betas"])}) == training
    assert TrainConfig().weight_decay == 0.01  # AdamW default, as the reference notebook


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_features": 0}, ValueError, "n_features must be an integer >= 1, got 0"),
        ({"n_features": 2.5}, TypeError, "n_features"),
        ({"n_features": 2, "density": 0.0}, ValueError, r"density must lie in \(0, 1\]"),
        ({"n_features": 2, "density": [0.5, 1.2]}, ValueError, "1.2"),
        ({"n_features": 2, "importance": -1.0}, ValueError, "importance must be finite and >= 0"),
        ({"n_features": 2, "importance": float("nan")}, ValueError, "nan"),
        ({"n_features": 2, "importance": [1.0, 1.0, 1.0]}, ValueError, r"got shape \(3,\)"),
        ({"n_features": 2, "n_instances": -3}, ValueError, "n_instances"),
        ({"n_features": 2, "density": "dense"}, TypeError, "density"),
    ],
)
def test_feature_config_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        FeatureConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"optimizer": "sgd"}, "optimizer must be one of 'adamw', 'adam'; got 'sgd'"),
        ({"device": "tpu"}, "device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got 'tpu'"),
        ({"lr": -1.0}, "lr must be a finite number > 0.0, got -1.0"),
        ({"lr": float("inf")}, "lr"),
        ({"steps": 0}, "steps must be an integer >= 1, got 0"),
        ({"schedule": "exp"}, "schedule"),
        ({"loss_reduction": "max"}, "loss_reduction"),
        ({"betas": (0.9,)}, "betas"),
        ({"betas": (0.9, 1.0)}, "betas"),
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"sampler": "magic"}, "sampler"),
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_train_config_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_model_config_rejects_bad_input():
    with pytest.raises(ValueError, match="n_hidden must be an integer >= 1, got 0"):
        ModelConfig(n_features=3, n_hidden=0)
    with pytest.raises(
        ValueError,
        match="activation must be one of 'relu', 'linear', 'gelu', 'softplus'; got 'tanh'",
    ):
        ModelConfig(n_features=3, n_hidden=1, activation="tanh")
    with pytest.raises(ValueError, match="unknown ModelConfig keys"):
        ModelConfig.from_dict({"n_features": 3, "n_hidden": 1, "width": 4})


def test_configs_are_frozen():
    cfg = ModelConfig(n_features=3, n_hidden=1)
    with pytest.raises(AttributeError):
        cfg.n_hidden = 2  # type: ignore[misc]


def test_family_fields_round_trip_through_json():
    feats = FeatureConfig(
        n_features=6, density=0.2, values="signed", structure="anticorrelated", set_size=3
    )
    model = ModelConfig(n_features=6, n_hidden=2, hidden_activation="relu", tied=False,
                        activation="softplus", bias_init=0.25, decoder_init="encoder_abs")  # fmt: skip
    training = TrainConfig(steps=50, target="abs", l1_hidden=0.1, l1_weights=1e-3,
                           snapshot_steps=[50, 0, 10])  # fmt: skip
    assert training.snapshot_steps == (0, 10, 50)  # sorted, a tuple
    assert FeatureConfig.from_json(feats.to_json()) == feats
    assert ModelConfig.from_json(model.to_json()) == model
    assert json.loads(model.to_json())["bias_init"] == 0.25
    assert TrainConfig.from_json(training.to_json()) == training
    # configurations saved before bias_init and decoder_init existed load with the defaults
    old = {k: v for k, v in model.to_dict().items() if k not in ("bias_init", "decoder_init")}
    assert ModelConfig.from_dict(old) == replace(model, bias_init=0.0, decoder_init="random")
    np.testing.assert_allclose(feats.set_density_array, [[0.6, 0.6]])
    assert FeatureConfig(n_features=4, density=[0.1, 0.1, 0.3, 0.3],
                         structure="correlated").set_density_array.tolist() == [[0.1, 0.3]]  # fmt: skip
    # set_size is unused, and need not divide n, for independent features
    assert FeatureConfig(n_features=5, set_size=2).n_sets == 5


@pytest.mark.parametrize(
    ("cls", "kwargs", "error", "match"),
    [
        (FeatureConfig, {"values": "binary"}, ValueError,
         "values must be one of 'unit', 'signed'; got 'binary'"),
        (FeatureConfig, {"structure": "nested"}, ValueError,
         "structure must be one of 'independent', 'correlated', 'anticorrelated'; got 'nested'"),
        (FeatureConfig, {"structure": "correlated", "set_size": 4}, ValueError,
         r"set_size \(4\) must divide n_features \(6\) for structure 'correlated'"),
        (FeatureConfig, {"structure": "correlated", "set_size": 0}, ValueError,
         "set_size must be an integer >= 1, got 0"),
        (FeatureConfig, {"structure": "correlated", "set_size": True}, TypeError, "set_size"),
        (FeatureConfig, {"structure": "anticorrelated", "set_size": 3, "density": 0.4},
         ValueError, r"set_size · p ≤ 1 .* summing to 1.2 with set_size 3"),
        (FeatureConfig, {"structure": "correlated", "density": [0.1, 0.2, 0.3, 0.3, 0.1, 0.1]},
         ValueError, r"set 0 \(features 0..1\) of instance 0 has densities \[0.1, 0.2\]"),
        (ModelConfig, {"hidden_activation": "gelu"}, ValueError,
         "hidden_activation must be one of 'none', 'relu'; got 'gelu'"),
        (ModelConfig, {"tied": "yes"}, TypeError, "tied must be True or False, got 'yes'"),
        (ModelConfig, {"tied": 1}, TypeError, "tied must be True or False, got 1"),
        (ModelConfig, {"bias_init": True}, TypeError, "bias_init must be a real number, got True"),
        (ModelConfig, {"bias_init": "0.1"}, TypeError, "bias_init must be a real number"),
        (ModelConfig, {"bias_init": float("nan")}, ValueError,
         "bias_init must be a finite number, got nan"),
        (ModelConfig, {"bias_init": -float("inf")}, ValueError, "bias_init must be a finite"),
        (ModelConfig, {"decoder_init": "zeros", "tied": False}, ValueError,
         "decoder_init must be one of 'random', 'encoder_abs'; got 'zeros'"),
        (ModelConfig, {"decoder_init": "encoder_abs"}, ValueError,
         r"decoder_init='encoder_abs' needs an untied decoder \(tied=False\)"),
        (TrainConfig, {"target": "square"}, ValueError,
         "target must be one of 'identity', 'abs'; got 'square'"),
        (TrainConfig, {"l1_hidden": -0.1}, ValueError,
         r"l1_hidden must be a finite number >= 0.0, got -0.1"),
        (TrainConfig, {"l1_weights": float("inf")}, ValueError, "l1_weights must be a finite"),
        (TrainConfig, {"l1_hidden": True}, TypeError, "l1_hidden must be a real number"),
        (TrainConfig, {"steps": 10, "snapshot_steps": (0, 11)}, ValueError,
         r"snapshot step 11 is outside \[0, steps\] = \[0, 10\]"),
        (TrainConfig, {"snapshot_steps": (-1,)}, ValueError, "snapshot step -1 is outside"),
        (TrainConfig, {"snapshot_steps": (3, 3)}, ValueError, "snapshot_steps must be distinct"),
        (TrainConfig, {"snapshot_steps": (2.5,)}, TypeError, "snapshot_steps entries"),
        (TrainConfig, {"snapshot_steps": 5}, TypeError, "snapshot_steps must be a tuple"),
    ],
)  # fmt: skip
def test_family_fields_reject_bad_input(cls, kwargs, error, match):
    sizes = {FeatureConfig: {"n_features": 6}, ModelConfig: {"n_features": 6, "n_hidden": 2}}
    with pytest.raises(error, match=match):
        cls(**sizes.get(cls, {}), **kwargs)
