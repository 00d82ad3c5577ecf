"""``ModelConfig.bias_init`` and ``ModelConfig.decoder_init``: every training path (the fast
path's samplers, the general path's, the dispatch overridden, CUDA) and ``ToyModel`` start from
the same initial parameters, and the options travel with a saved result (docs/training.md,
"Initialisation")."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

from toysup import FeatureConfig, ModelConfig, TrainConfig, TrainResult, train
from toysup.models import ToyModel, init_weights

train_module = importlib.import_module("toysup.train")

BIAS = 0.375  # exact in float32 and float64: the initial b must equal it bit for bit


def _initial(features, model, **training):
    """The kept seed's parameters at step 0, from the snapshots: (b, W, W_dec or None) per
    configuration."""
    r = train(features, model, TrainConfig(steps=2, batch_size=32, snapshot_steps=(0,),
                                           **training))  # fmt: skip
    s = r.snapshots
    return s["b"][:, 0], s["W"][:, 0], (s["W_dec"][:, 0] if "W_dec" in s else None), r


@pytest.mark.parametrize("sampler", ["dense", "sparse", "compact", "gram"])
def test_bias_init_on_every_fast_path_sampler(sampler):
    """The tied basic model (fast path, each sampler): b starts at bias_init, and W is the
    same draw as with the default b = 0 (the option draws nothing)."""
    feats = FeatureConfig(n_features=5, n_instances=2, density=[[0.05], [0.3]])
    model = ModelConfig(n_features=5, n_hidden=2, bias_init=BIAS)
    b, W, W_dec, r = _initial(feats, model, sampler=sampler)
    assert set(r.info["paths"]) == {"fast"} and set(r.info["samplers"]) == {sampler}
    assert W_dec is None
    np.testing.assert_array_equal(b, np.full((2, 5), BIAS))
    _, W_default, _, _ = _initial(feats, ModelConfig(n_features=5, n_hidden=2), sampler=sampler)
    np.testing.assert_array_equal(W, W_default)


@pytest.mark.parametrize("sampler", ["dense", "sparse", "compact"])
def test_bias_init_on_the_general_path_and_the_fast_path_alike(sampler, monkeypatch):
    """The same configuration through the fast path and, dispatch overridden, the general path
    (each sampler; the untied absolute-value model is general only): identical initial b and W."""
    feats = FeatureConfig(n_features=6, n_instances=2, density=[[0.02], [0.5]])
    model = ModelConfig(n_features=6, n_hidden=3, bias_init=-BIAS)
    fast = _initial(feats, model, sampler=sampler)
    monkeypatch.setattr(train_module, "is_fast", lambda *args: False)
    general = _initial(feats, model, sampler=sampler)
    assert fast[3].info["paths"] == ["fast"] * 2 and general[3].info["paths"] == ["general"] * 2
    np.testing.assert_array_equal(general[0], np.full((2, 6), -BIAS))
    np.testing.assert_array_equal(general[0], fast[0])
    np.testing.assert_array_equal(general[1], fast[1])
    monkeypatch.undo()
    signed = FeatureConfig(n_features=6, n_instances=2, density=[[0.02], [0.5]], values="signed")
    untied = ModelConfig(n_features=6, n_hidden=3, hidden_activation="relu", tied=False,
                         bias_init=BIAS)  # fmt: skip
    b, _, W_dec, r = _initial(signed, untied, sampler=sampler, target="abs")
    assert r.info["paths"] == ["general"] * 2 and W_dec is not None
    np.testing.assert_array_equal(b, np.full((2, 6), BIAS))


def test_decoder_init_encoder_abs_starts_at_abs_w_transposed():
    """``decoder_init="encoder_abs"``: W_dec = |W|ᵀ at step 0 exactly, W the same draw as with a
    random decoder (drawn first from the same stream), on the trainer and in ToyModel; every
    single-feature output then starts non-negative on both signs."""
    feats = FeatureConfig(n_features=7, n_instances=3, density=[[0.01], [0.1], [1.0]],
                          values="signed")  # fmt: skip
    kwargs = dict(n_features=7, n_hidden=3, hidden_activation="relu", tied=False)
    _, W, W_dec, r = _initial(feats, ModelConfig(**kwargs, decoder_init="encoder_abs"),
                              target="abs")  # fmt: skip
    _, W_random, W_dec_random, _ = _initial(feats, ModelConfig(**kwargs), target="abs")
    assert r.info["paths"] == ["general"] * 3
    np.testing.assert_array_equal(W, W_random)
    np.testing.assert_array_equal(W_dec, np.abs(W).transpose(0, 2, 1))
    assert (W_dec_random < 0).any()  # the default decoder is a signed draw
    v = np.array([-1.0, 1.0])
    out = np.einsum("kim,kmiv->kiv", W_dec, np.maximum(W[..., None] * v, 0))  # (3, n, ±1)
    assert np.all(out >= 0)

    config = ModelConfig(**kwargs, decoder_init="encoder_abs", bias_init=BIAS)
    model = ToyModel(config, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert model.W_dec is not None
    torch.testing.assert_close(model.W_dec, model.W.abs().transpose(1, 2), rtol=0, atol=0)
    torch.testing.assert_close(model.b, torch.full((4, 7), BIAS, dtype=torch.float64))
    expected = init_weights(config, 4, generator=torch.Generator().manual_seed(1),
                            dtype=torch.float64)  # fmt: skip
    torch.testing.assert_close(model.W.detach(), expected, rtol=0, atol=0)


def test_options_travel_with_a_saved_result(tmp_path):
    feats = FeatureConfig(n_features=4, density=0.2, values="signed")
    model = ModelConfig(n_features=4, n_hidden=2, hidden_activation="relu", tied=False,
                        bias_init=0.1, decoder_init="encoder_abs")  # fmt: skip
    r = train(feats, model, TrainConfig(steps=3, batch_size=16, target="abs"))
    back = TrainResult.load(r.save(tmp_path / "run"))
    assert back.model == model and back.model.decoder_init == "encoder_abs"
    assert back.model.bias_init == 0.1
    assert "untied decoder starting at |W|ᵀ, b starting at 0.1" in str(back)


@pytest.mark.gpu
def test_init_options_on_cuda():
    """On CUDA (one block, dense sampler): b starts at bias_init and W_dec at |W|ᵀ, for both
    paths."""
    feats = FeatureConfig(n_features=5, n_instances=2, density=[[0.1], [1.0]], values="signed")
    untied = ModelConfig(n_features=5, n_hidden=2, hidden_activation="relu", tied=False,
                         bias_init=BIAS, decoder_init="encoder_abs")  # fmt: skip
    b, W, W_dec, r = _initial(feats, untied, device="cuda", target="abs")
    assert r.info["device"].startswith("cuda")
    np.testing.assert_array_equal(b, np.full((2, 5), BIAS))
    np.testing.assert_array_equal(W_dec, np.abs(W).transpose(0, 2, 1))
    tied = ModelConfig(n_features=5, n_hidden=2, bias_init=BIAS)
    b, _, _, r = _initial(FeatureConfig(n_features=5, density=0.1), tied, device="cuda")
    assert r.info["paths"] == ["fast"]
    np.testing.assert_array_equal(b, np.full((1, 5), BIAS))
