"""Sweeps as grids and tasks: which configuration each grid point is, how the grid is cut, how a
task's seed is derived, and the errors for sweeps that cannot be run."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from toysup import FeatureConfig, ModelConfig, TrainConfig
from toysup.sweep import Axis, Sweep
from toysup.sweep.sweep import DEFAULT_TASK_ENTRIES, canonical_json

BASE = dict(features=FeatureConfig(n_features=2), model=ModelConfig(n_features=2, n_hidden=1))


def test_grid_points_are_the_base_with_each_axis_applied(small_sweep):
    sweep = small_sweep()
    assert sweep.dims == ("density", "importance") and sweep.shape == (3, 4)
    # density sets both features; importance sets the last one; the first keeps the base's 1.
    for i, p in enumerate([0.05, 0.3, 1.0]):
        for j, r in enumerate([0.5, 1.0, 2.0, 4.0]):
            assert sweep.density[i, j].tolist() == [p, p]
            assert sweep.importance[i, j].tolist() == [1.0, r]


def test_tasks_cover_the_grid_once_in_c_order(small_sweep):
    sweep = small_sweep(task_size=4)  # a whole importance row per task
    tasks = sweep.tasks()
    assert sweep.task_shape == (1, 4) and len(tasks) == 3
    seen = np.zeros(sweep.shape, dtype=int)
    for task in tasks:
        seen[task.slices] += 1
        # the task's stacked configurations are its region's grid points, C order
        region = sweep.density[task.slices].reshape(-1, 2)
        np.testing.assert_array_equal(task.features.density_array, region)
        np.testing.assert_array_equal(
            task.features.importance_array, sweep.importance[task.slices].reshape(-1, 2)
        )
        assert task.training.n_seeds == 3
    assert (seen == 1).all()


def test_task_seed_is_the_hash_of_the_task_key(small_sweep):
    """The seed depends only on what the task trains (the sweep's seed included): the SHA-256
    of its canonical JSON, computed here independently of toysup.sweep."""
    sweep = small_sweep()
    task = sweep.tasks()[1]
    key = {
        "features": FeatureConfig(
            n_features=2, n_instances=4, density=0.3, importance=[[1, 0.5], [1, 1], [1, 2], [1, 4]]
        ).to_dict(),
        "model": ModelConfig(n_features=2, n_hidden=1).to_dict(),
        "training": TrainConfig(
            steps=60, batch_size=64, n_seeds=3, eval_samples=256, lr=1e-2, seed=0
        ).to_dict(),
    }
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    assert canonical_json(key) == text
    digest = hashlib.sha256(text.encode()).hexdigest()
    assert task.digest == digest
    assert task.training.seed == int(digest[:16], 16) >> 1
    # same sweep again: same seeds; another sweep seed or another cut: different seeds
    assert [t.training.seed for t in small_sweep().tasks()] == [t.training.seed for t in sweep]
    assert small_sweep(seed=1).tasks()[1].training.seed != task.training.seed
    assert len({t.training.seed for t in sweep}) == len(sweep.tasks())


def test_default_task_size_is_about_two_trainer_blocks_of_expected_work():
    """DEFAULT_TASK_ENTRIES expected explicit entries per step and task, counted with the
    examples the trainer keeps (batch · q + 3 sd, q = 1 − (1 − p)² for n = 2), averaged over the
    grid, and computed here independently of toysup.sweep. The main job's grid (20 × 20, 6
    seeds, batch 1024) is cut into 4 tasks of 5 density rows, the paper's (50 × 50, 10 seeds)
    into its 50 rows."""
    for resolution, seeds, expected in ((20, 6, (5, 20)), (50, 10, (1, 50))):
        grid = np.geomspace(0.01, 1, resolution)
        q = 1 - (1 - grid) ** 2
        kept = np.minimum(1024, 1024 * q + 3 * np.sqrt(1024 * q * (1 - q)) + 1)
        size = int(DEFAULT_TASK_ENTRIES // (seeds * 2 * kept.mean()))
        assert size == {20: 118, 50: 71}[resolution]
        sweep = Sweep(
            **BASE,
            training=TrainConfig(n_seeds=seeds),
            axes=[Axis("density", grid), Axis("importance", grid * 10, feature=-1)],
        )
        assert sweep.task_shape == expected
        assert sweep.n_tasks == resolution * resolution // int(np.prod(expected))
    # at density 1 the whole batch counts: 2¹⁹ / (2 · 1024 · 4 seeds) = 64 points per task
    dense = Sweep(**BASE, training=TrainConfig(n_seeds=4), axes={"importance": np.arange(1, 129)})
    assert dense.task_shape == (64,)
    # at density 0.01 about 3.4% of the batch: 2¹⁹ / (2 · 34.8 · 4) = 1884 points per task
    sparse = Sweep(
        features=FeatureConfig(n_features=2, density=0.01),
        model=BASE["model"],
        training=TrainConfig(n_seeds=4),
        axes={"importance": np.arange(1, 3001)},
    )
    assert sparse.task_shape == (1500,)  # 3000 points, at most 1884 each: 2 balanced tasks


def test_task_shape_and_size_options(small_sweep):
    sweep = Sweep(
        **BASE,
        axes=[Axis("density", [0.1, 0.2, 0.3]), Axis("importance", [1, 2, 3, 4, 5], feature=1)],
        task_shape={"density": 2, "importance": 2},
    )
    assert sweep.task_shape == (2, 2) and sweep.task_grid == (2, 3)
    assert [t.shape for t in sweep][-1] == (1, 1)  # the corner task is the remainder
    assert Sweep(**BASE, axes={"density": [0.1, 0.2, 0.3]}, task_size=1).n_tasks == 3
    # 7 labels, at most 4 per task: the fewest tasks (2), balanced: 4 and 3 (not 4, 4 -> 4, 3
    # either way here; with at most 5 per task, 4 and 3 rather than 5 and 2)
    seven = {"density": list(np.linspace(0.1, 0.7, 7))}
    assert Sweep(**BASE, axes=seven, task_size=4).task_shape == (4,)
    assert Sweep(**BASE, axes=seven, task_size=5).task_shape == (4,)
    assert Sweep(**BASE, axes=seven, task_size=3).task_shape == (3,)  # 3, 3, 1
    assert Sweep(**BASE, axes=seven, task_size=100).task_shape == (7,)


def test_any_configuration_field_is_an_axis_and_splits_tasks():
    sweep = Sweep(
        **BASE,
        training=TrainConfig(steps=1000),
        axes=[
            Axis("lr", [1e-3, 1e-2]),
            Axis("activation", ["relu", "linear"]),
            Axis("density", [0.1, 1.0]),
            Axis.zip("run", [0, 1], {"steps": [500, 2000], "schedule": ["constant", "cosine"]}),
        ],
        task_size=100,
    )
    # only the density axis may span several configurations in a task
    assert sweep.task_shape == (1, 1, 2, 1) and sweep.n_tasks == 8
    last = sweep.tasks()[-1]
    assert last.training.lr == 1e-2 and last.model.activation == "linear"
    assert last.training.steps == 2000 and last.training.schedule == "cosine"
    # log_every was left at its derived default (steps // 100), so it is derived again
    assert last.training.log_every == 20 and sweep.tasks()[0].training.log_every == 5
    assert set(sweep.coords()) == {"lr", "activation", "density", "run", "steps", "schedule"}
    assert sweep.varies("training.steps") and not sweep.varies("training.batch_size")


def test_weight_decay_follows_the_optimizer_when_left_at_its_default():
    sweep = Sweep(**BASE, axes=[Axis("optimizer", ["adamw", "adam"])])
    decays = [t.training.weight_decay for t in sweep]
    assert decays == [0.01, 0.0]  # AdamW's default 0.01; Adam's L2 default 0


def test_per_feature_vectors_as_values():
    sweep = Sweep(
        **BASE, axes=[Axis("mix", [[0.1, 0.9], [0.5, 0.5]], field="density")], task_size=2
    )
    assert sweep.coords()["mix"][1].tolist() == [0, 1]  # vector values: numbered labels
    np.testing.assert_array_equal(sweep.tasks()[0].features.density_array, [[0.1, 0.9], [0.5, 0.5]])


def test_json_round_trip_keeps_the_tasks(small_sweep):
    sweep = Sweep(
        **BASE,
        training=TrainConfig(steps=100, n_seeds=2),
        axes=[Axis("density", [0.1, 1.0]), Axis.zip("run", ["a", "b"], {"lr": [1e-3, 1e-2]})],
    )
    again = Sweep.from_json(sweep.to_json())
    assert again == sweep
    assert [t.digest for t in again] == [t.digest for t in sweep]


@pytest.mark.parametrize(
    ("axes", "kwargs", "error", "match"),
    [
        ([Axis("density", [0.1])], {"task_size": 0}, ValueError, "task_size must be"),
        ([Axis("density", [0.1])], {"task_size": True}, TypeError, "task_size must be"),
        ([Axis("lr", [1e-3, 1e-2])], {"task_shape": {"lr": 2}}, ValueError, "cannot share a task"),
        ([Axis("density", [0.1])], {"task_shape": {"nope": 1}}, ValueError, "unknown axes"),
        ([Axis("density", [0.1]), Axis("d2", [0.2], field="density")], {}, ValueError, "both set"),
        (
            [Axis("density", [0.1]), Axis("i", [1.0], field="density", feature=0)],
            {},
            ValueError,
            "both set",
        ),
        ([Axis("density", [1.5])], {}, ValueError, r"density must lie in \(0, 1\]"),
        ([Axis("importance", [1.0], feature=2)], {}, ValueError, "out of range"),
        ([Axis("density", [[0.1, 0.2, 0.3]], labels=[0])], {}, ValueError, "2 numbers"),
        ([], {}, ValueError, "at least one axis"),
    ],
)
def test_sweeps_that_cannot_run_are_refused(axes, kwargs, error, match):
    with pytest.raises(error, match=match):
        Sweep(**BASE, axes=axes, **kwargs).tasks()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: Axis("n_hidden", [1, 2]), "same for the whole sweep"),
        (lambda: Axis("x", [1, 2], field="n_seeds"), "same for the whole sweep"),
        (lambda: Axis("x", [2, 3], field="n_features"), "several configurations"),
        (lambda: Axis("x", [1], field="nonsense"), "unknown configuration field"),
        (lambda: Axis("seed", [0, 1], field="training.seed"), "reserved"),
        (lambda: Axis("density", [0.1, 0.1]), "distinct"),
        (lambda: Axis("lr", [1e-3], feature=0), "feature= applies to"),
        (lambda: Axis("not a name", [1]), "identifier"),
        (lambda: Axis.zip("r", [0, 1], {"lr": [1e-3]}), "1 values for training.lr but 2 labels"),
    ],
)
def test_bad_axes_are_refused(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_base_configuration_is_checked():
    with pytest.raises(ValueError, match="n_instances=1"):
        Sweep(
            features=FeatureConfig(n_features=2, n_instances=2),
            model=ModelConfig(n_features=2, n_hidden=1),
            axes={"density": [0.1]},
        )
    with pytest.raises(ValueError, match=r"must equal model\.n_features"):
        Sweep(
            features=FeatureConfig(n_features=3),
            model=ModelConfig(n_features=2, n_hidden=1),
            axes={"density": [0.1]},
        )
    with pytest.raises(TypeError, match="model must be a ModelConfig"):
        Sweep(features=FeatureConfig(n_features=2), model={"n_features": 2}, axes={"lr": [1.0]})
