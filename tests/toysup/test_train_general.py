"""The trainer on the general (autograd) path: reproducibility, snapshots, penalties, saving,
divergence, and agreement with the fast path where both apply."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
import torch

from toysup import FeatureConfig, ModelConfig, TrainConfig, TrainResult, sample_features, train
from toysup.models import penalty_per_instance
from toysup.train import TrainingDivergedError

train_module = importlib.import_module("toysup.train")

FAMILY_ARRAYS = (
    "seed_W", "seed_b", "seed_W_dec", "seed_loss", "seed_loss_stderr", "seed_loss_penalized",
    "seed_loss_penalized_stderr", "history_loss", "history_penalty",
)  # fmt: skip


def _family(n=6, m=3, instances=6, density=None, steps=30, **train):
    density = np.geomspace(0.01, 0.5, instances)[:, None] if density is None else density
    feats = FeatureConfig(
        n_features=n, n_instances=instances, density=density, importance=0.8 ** np.arange(n),
        values=train.pop("values", "signed"), structure=train.pop("structure", "anticorrelated"),
    )  # fmt: skip
    model = ModelConfig(
        n_features=n, n_hidden=m, hidden_activation="relu", tied=train.pop("tied", False),
        activation=train.pop("activation", "relu"),
    )  # fmt: skip
    training = TrainConfig(
        steps=steps, batch_size=train.pop("batch_size", 128), target=train.pop("target", "abs"),
        **train,
    )  # fmt: skip
    return feats, model, training


def test_bitwise_reproducible_for_any_worker_count(monkeypatch):
    """Several blocks of different samplers, untied, structured signed features, penalties and
    snapshots: the same bits with one or two workers; another seed gives other bits."""
    monkeypatch.setattr("toysup._blocks.BLOCK_ELEMENTS", 2048)
    feats, model, training = _family(
        n_seeds=2, l1_hidden=0.01, l1_weights=0.001, snapshot_steps=(0, 7, 30), log_every=5
    )
    a = train(feats, model, training, workers=1)
    b = train(feats, model, training, workers=2)
    assert a.info["blocks"] > 1 and set(a.info["paths"]) == {"general"}
    assert len(set(a.info["samplers"])) > 1, a.info["samplers"]
    for name in FAMILY_ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    for key in ("W", "b", "W_dec", "step"):
        assert np.array_equal(a.snapshots[key], b.snapshots[key]), key
    c = train(feats, model, TrainConfig(**{**training.to_dict(), "seed": 3}), workers=1)
    assert not np.array_equal(a.seed_W, c.seed_W)


@pytest.mark.parametrize("hidden", ["none", "relu"])
def test_snapshot_at_step_s_is_the_s_step_run(hidden):
    """With a constant learning rate the first s steps of a T-step run are an s-step run (same
    streams): its snapshot at s equals that run's final weights bit for bit; step 0 is the
    initialisation, the same in both; the last snapshot is the kept seed's final weights. Both
    paths (hidden "none" is the fast path)."""
    feats = FeatureConfig(n_features=5, n_instances=2, density=[[0.2], [0.6]])
    model = ModelConfig(n_features=5, n_hidden=2, hidden_activation=hidden)
    long = train(feats, model, TrainConfig(steps=12, batch_size=64, snapshot_steps=(0, 5, 12)))
    short = train(feats, model, TrainConfig(steps=5, batch_size=64, snapshot_steps=(0,)))
    snaps = long.snapshots
    assert snaps["W"].shape == (2, 3, 2, 5) and snaps["b"].shape == (2, 3, 5)
    assert "W_dec" not in snaps and long.W_dec is None and long.seed_W_dec is None
    np.testing.assert_array_equal(snaps["step"], [0, 5, 12])
    np.testing.assert_array_equal(snaps["W"][:, 0], short.snapshots["W"][:, 0])
    np.testing.assert_array_equal(snaps["W"][:, 1], short.W)
    np.testing.assert_array_equal(snaps["b"][:, 1], short.b)
    np.testing.assert_array_equal(snaps["W"][:, 2], long.W)
    assert not np.array_equal(snaps["W"][:, 0], snaps["W"][:, 1])


def test_general_path_matches_fast_path_where_both_apply(monkeypatch):
    """The basic model trained through the general step (dispatch overridden) follows the fast
    path's trajectory: same batches (dense sampler, one block each, float64), gradients equal to
    rounding, so after 40 Adam steps the weights agree to 1e-9 relative (measured ~1e-14)."""
    feats = FeatureConfig(n_features=6, n_instances=3, density=[[0.1], [0.4], [1.0]])
    model = ModelConfig(n_features=6, n_hidden=2)
    training = TrainConfig(steps=40, batch_size=64, sampler="dense", dtype="float64", n_seeds=2)
    fast = train(feats, model, training)
    monkeypatch.setattr(train_module, "is_fast", lambda *args: False)
    general = train(feats, model, training)
    assert fast.info["paths"] == ["fast"] * 3 and general.info["paths"] == ["general"] * 3
    assert fast.info["blocks"] == general.info["blocks"] == 1
    np.testing.assert_allclose(general.seed_W, fast.seed_W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(general.history_loss, fast.history_loss, rtol=1e-9)
    np.testing.assert_allclose(general.seed_loss, fast.seed_loss, rtol=1e-9)


def test_reported_loss_with_and_without_penalty():
    """``loss_penalized − loss`` is the penalty: exactly ``λ_W (Σ|W| + Σ|W_dec|)`` for the weight
    penalty; for the hidden one ``λ_h E[Σ_j |h_j|]``, which an independent Monte Carlo
    (sample_features + penalty_per_instance, 200,000 examples) matches within 5 standard errors.
    Seeds are selected by the penalised loss."""
    feats, model, training = _family(instances=2, density=[[0.1], [0.3]], n_seeds=3,
                                     l1_weights=0.002, steps=40, eval_samples=20_000)  # fmt: skip
    r = train(feats, model, training)
    weights = 0.002 * (np.abs(r.W).sum((1, 2)) + np.abs(r.W_dec).sum((1, 2)))
    np.testing.assert_allclose(r.loss_penalized - r.loss, weights, rtol=1e-5)
    np.testing.assert_array_equal(r.loss_penalized_stderr, r.loss_stderr)
    np.testing.assert_array_equal(r.best_seed, np.argmin(r.seed_loss_penalized, axis=1))

    feats, model, training = _family(instances=2, density=[[0.1], [0.3]], l1_hidden=0.05,
                                     steps=40, eval_samples=20_000)  # fmt: skip
    r = train(feats, model, training)
    x = sample_features(
        feats.density_array, 200_000, generator=torch.Generator().manual_seed(5),
        dtype=torch.float64, values="signed", structure="anticorrelated",
    )  # fmt: skip
    W = torch.as_tensor(r.W, dtype=torch.float64)
    h_l1 = torch.relu(torch.einsum("imn,ibn->ibm", W, x)).abs().sum(-1)  # (instances, batch)
    mc = 0.05 * h_l1.mean(1).numpy()
    se = 0.05 * h_l1.std(1).numpy() / np.sqrt(200_000)
    np.testing.assert_allclose(
        penalty_per_instance(W, x, hidden_activation="relu", l1_hidden=0.05).numpy(), mc
    )
    combined = np.hypot(se, r.loss_penalized_stderr + r.loss_stderr)
    assert np.all(np.abs(r.loss_penalized - r.loss - mc) <= 5 * combined), (r.loss_penalized, mc)
    assert np.all(r.history_penalty > 0)


def test_save_and_load_family_result(tmp_path):
    feats, model, training = _family(instances=2, n_seeds=2, steps=12, snapshot_steps=(0, 12),
                                     l1_hidden=0.01)  # fmt: skip
    r = train(feats, model, training)
    back = TrainResult.load(r.save(tmp_path / "run"))
    assert back.features == feats and back.model == model and back.training == training
    for name in (*FAMILY_ARRAYS, "W_dec", "loss_penalized", "loss_penalized_stderr"):
        np.testing.assert_array_equal(getattr(back, name), getattr(r, name), err_msg=name)
    assert sorted(back.snapshots) == ["W", "W_dec", "b", "step"]
    for key, value in r.snapshots.items():
        np.testing.assert_array_equal(back.snapshots[key], value)
    with np.load(tmp_path / "run" / "arrays.npz", allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)


def test_schema_one_results_still_load_and_unknown_schemas_do_not(tmp_path):
    """A result written before the model family (schema 1: no penalised losses, decoders or
    snapshots) loads with the penalised losses equal to the losses and a zero penalty history."""
    feats = FeatureConfig(n_features=3, density=0.3)
    r = train(feats, ModelConfig(n_features=3, n_hidden=2), TrainConfig(steps=5, batch_size=32))
    path = r.save(tmp_path / "old")
    meta = json.loads((path / "result.json").read_text())
    meta["schema"] = 1
    for key in ("values", "structure", "set_size"):
        del meta["features"][key]
    for key in ("hidden_activation", "tied"):
        del meta["model"][key]
    for key in ("target", "l1_hidden", "l1_weights", "snapshot_steps"):
        del meta["training"][key]
    (path / "result.json").write_text(json.dumps(meta))
    with np.load(path / "arrays.npz") as data:
        old = {k: data[k] for k in data.files if "penal" not in k}
    np.savez(path / "arrays.npz", **old)
    back = TrainResult.load(path)
    np.testing.assert_array_equal(back.loss_penalized, r.loss)
    np.testing.assert_array_equal(back.seed_loss_penalized_stderr, r.seed_loss_stderr)
    assert back.W_dec is None and back.snapshots == {} and not back.history_penalty.any()
    meta["schema"] = 7
    (path / "result.json").write_text(json.dumps(meta))
    with pytest.raises(
        ValueError, match=r"result.json has result schema 7; this version reads schema 1, 2"
    ):
        TrainResult.load(path)


def test_divergence_names_instance_and_step_on_general_path():
    importance = np.ones((3, 6))
    importance[1] = 3.4e38  # float32's maximum: configuration 1's loss overflows
    feats = FeatureConfig(n_features=6, n_instances=3, density=0.3, importance=importance)
    model = ModelConfig(n_features=6, n_hidden=3, hidden_activation="relu")
    with pytest.raises(
        TrainingDivergedError,
        match=r"instance 2 \(configuration 1, seed 0\) has a non-finite (gradient|loss|final)",
    ) as info:
        train(feats, model, TrainConfig(steps=10, batch_size=32, n_seeds=2))
    assert (info.value.config, info.value.seed) == (1, 0)
    feats = FeatureConfig(n_features=6, n_instances=3, density=0.3)
    with pytest.raises(
        TrainingDivergedError, match=r"step 1: instance 0 .* non-finite (gradient|loss)"
    ):
        train(feats, model, TrainConfig(steps=10, batch_size=32, lr=1e30))  # W explodes


def test_bad_combinations():
    feats, model, _ = _family()
    with pytest.raises(ValueError, match=r"sampler 'gram' needs the fast path .* 'compact'"):
        train(feats, model, TrainConfig(sampler="gram", steps=2))
    unit = FeatureConfig(n_features=6, density=0.3)
    with pytest.warns(UserWarning, match=r"target='abs' with values='unit'"):
        r = train(unit, ModelConfig(n_features=6, n_hidden=2), TrainConfig(steps=3, target="abs"))
    assert r.info["paths"] == ["fast"]  # |x| = x: the fast path


def test_entries_step_follows_the_dense_layout_step(monkeypatch):
    """Independent signed features from the row-sparse sampler train through the step that takes
    the batch's non-zero entries (info["steps"]); with the dense-layout step put in its place
    (same sampler, same random numbers, same batches) the trajectory is the same to rounding:
    float64, 40 AdamW steps, 1e-9 relative (both compute the same sums in another order)."""
    feats, model, training = _family(
        n=8, m=4, instances=3, density=np.array([[0.02], [0.1], [0.3]]), structure="independent",
        steps=40, sampler="sparse", dtype="float64", n_seeds=2, l1_hidden=0.01, log_every=10,
    )  # fmt: skip
    entries = train(feats, model, training)
    assert entries.info["steps"] == ["general_entries"] * 3
    monkeypatch.setattr("toysup._blocks.takes_entries", lambda kind, structure: False)
    dense = train(feats, model, training)
    assert dense.info["steps"] == ["general"] * 3
    for name in ("seed_W", "seed_W_dec", "seed_b", "history_loss", "seed_loss_penalized"):
        np.testing.assert_allclose(
            getattr(entries, name), getattr(dense, name), rtol=1e-9, atol=1e-12, err_msg=name
        )


def test_entries_step_bitwise_reproducible_for_any_worker_count(monkeypatch):
    """The row-sparse general step in several blocks: the same bits with one or two workers."""
    monkeypatch.setattr("toysup._blocks.BLOCK_ELEMENTS", 2048)
    feats, model, training = _family(
        instances=4, structure="independent", sampler="sparse", n_seeds=2, l1_hidden=0.01,
        log_every=5,
    )  # fmt: skip
    a = train(feats, model, training, workers=1)
    b = train(feats, model, training, workers=2)
    assert a.info["blocks"] > 1 and set(a.info["steps"]) == {"general_entries"}
    for name in FAMILY_ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
