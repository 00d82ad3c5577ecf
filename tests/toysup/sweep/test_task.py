"""A task's output: TrainResult's per-configuration arrays with named dimensions, including arrays
the table of known names does not list (outputs the trainer may gain), which the store then holds
with those dimensions."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

import toysup.sweep.engines as engines
from toysup import TrainResult, train
from toysup.sweep import open_sweep, run_sweep
from toysup.sweep.task import infer_dims, result_arrays


@dataclass(frozen=True, eq=False)
class _Extended(TrainResult):
    """A result with outputs the table does not know."""

    seed_gain: np.ndarray | None = None
    penalty: np.ndarray | None = None
    other: np.ndarray | None = None


def _extend(result: TrainResult) -> _Extended:
    c, k = result.seed_W.shape[:2]
    m = result.seed_W.shape[2]
    return _Extended(
        **{f.name: getattr(result, f.name) for f in fields(result)},
        seed_gain=np.zeros((c, k, m)),
        penalty=np.arange(c, dtype=np.float64),
        other=np.zeros((c, 7)),
    )


def test_arrays_and_dimensions(small_sweep):
    task = small_sweep().tasks()[0]
    result = train(task.features, task.model, task.training, progress=False, workers=1)
    out = result_arrays(_extend(result))
    dims = {name: d for name, (d, _) in out["arrays"].items()}
    assert dims["W"] == ("hidden", "feature") and dims["seed_b"] == ("seed", "feature")
    assert dims["history_loss"] == ("seed", "log_step")
    assert dims["seed_gain"] == ("seed", "hidden")  # inferred: seed_ prefix, then m
    assert dims["penalty"] == () and dims["other"] == ("other_dim0",)
    np.testing.assert_array_equal(
        out["arrays"]["history_loss"][1][2, 1], result.history_loss[:, 2, 1]
    )
    assert out["info"]["device"] == "cpu" and out["info"]["pid"] > 0
    assert result_arrays(result, history=False)["coords"] == {}


def test_infer_dims_prefers_hidden_then_feature_when_m_equals_n():
    assert infer_dims("x", (3, 3), k=2, m=3, n=3) == ("hidden", "feature")
    assert infer_dims("x", (3,), k=2, m=3, n=3) == ("feature",)
    assert infer_dims("seed_x", (2, 3), k=2, m=1, n=3) == ("seed", "feature")
    assert infer_dims("x", (5, 4), k=2, m=1, n=3) == ("x_dim0", "x_dim1")


def test_store_holds_arrays_it_did_not_know(small_sweep, tmp_path, monkeypatch):
    def extended_task(features, model, training, **kwargs):
        result = train(features, model, training, progress=False, workers=1)
        return result_arrays(_extend(result), history=kwargs.get("history", True))

    monkeypatch.setattr(engines, "run_task", extended_task)
    run_sweep(small_sweep(), tmp_path / "s.zarr", workers=1, progress=False)
    ds = open_sweep(tmp_path / "s.zarr", verify=True)
    assert ds.seed_gain.dims == ("density", "importance", "seed", "hidden")
    np.testing.assert_array_equal(ds.penalty.values, [[0, 1, 2, 3]] * 3)


def test_the_model_familys_outputs_are_stored(tmp_path):
    """An untied ReLU-hidden model with an L1 penalty and snapshots: the decoder, the penalised
    losses, the penalty's history and the snapshots land in the store with their dimensions and
    the trainer's values."""
    from toysup import FeatureConfig, ModelConfig, TrainConfig
    from toysup.sweep import Axis, Sweep

    sweep = Sweep(
        features=FeatureConfig(n_features=3, density=0.3),
        model=ModelConfig(n_features=3, n_hidden=2, tied=False, hidden_activation="relu"),
        training=TrainConfig(
            steps=40, batch_size=32, eval_samples=128, n_seeds=2, l1_hidden=0.01,
            snapshot_steps=(0, 20, 39),
        ),
        axes=[Axis("importance", [0.5, 2.0], feature=0)],
        task_size=1,
    )  # fmt: skip
    run_sweep(sweep, tmp_path / "s.zarr", workers=2, progress=False)
    ds = open_sweep(tmp_path / "s.zarr", verify=True)
    assert ds.W_dec.dims == ("importance", "feature", "hidden")
    assert ds.seed_W_dec.dims == ("importance", "seed", "feature", "hidden")
    assert ds.history_penalty.dims == ("importance", "seed", "log_step")
    assert ds.snapshot_W.dims == ("importance", "snapshot", "hidden", "feature")
    assert list(ds.snapshot.values) == [0, 20, 39]
    task = sweep.tasks()[1]
    direct = train(task.features, task.model, task.training, progress=False, workers=1)
    np.testing.assert_array_equal(ds.W_dec.values[1], direct.W_dec[0])
    np.testing.assert_array_equal(ds.loss_penalized.values[1], direct.loss_penalized[0])
    np.testing.assert_array_equal(ds.snapshot_W.values[1], direct.snapshots["W"][0])
    np.testing.assert_array_equal(ds.history_penalty.values[1], direct.history_penalty[:, 0].T)
    assert (ds.loss_penalized > ds.loss).all()  # a positive penalty adds to the loss
