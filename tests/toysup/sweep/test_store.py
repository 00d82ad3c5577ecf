"""The store: what it holds (checked against toysup.train run on each task directly), how it is
read (xarray, numpy, pandas), and how it refuses what would mix or lose results: an existing
store, a store of another sweep, a file, a second writer; and how a corrupt chunk is re-run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from toysup import train
from toysup.metrics import N2M1_LABELS, phase_label_n2m1
from toysup.sweep import (
    StoreExistsError,
    StoreLockedError,
    SweepMismatchError,
    load_arrays,
    open_sweep,
    run_sweep,
    to_dataframe,
    write_variable,
)
from toysup.sweep.lock import WriterLock
from toysup.sweep.store import LOCK, MANIFEST, SweepStore


def test_store_holds_what_train_returns_for_each_task(small_sweep, tmp_path):
    """Each task's stored arrays are bit for bit what toysup.train returns for that task's
    configurations and derived seed; the labelled arrays are shaped by the grid."""
    sweep = small_sweep()
    report = run_sweep(sweep, tmp_path / "s.zarr", workers=2, progress=False)
    assert (report.tasks, report.tasks_run, report.tasks_reused) == (3, 3, 0)
    assert sorted(report.run) == [0, 1, 2] and report.to_dict()["scheduler"] == "threads"
    ds = open_sweep(tmp_path / "s.zarr", verify=True)
    assert ds.attrs["tasks_finished"] == 3 and bool(ds.complete.all())
    assert ds.W.dims == ("density", "importance", "hidden", "feature")
    assert ds.seed_W.dims == ("density", "importance", "seed", "hidden", "feature")
    assert ds.history_loss.dims == ("density", "importance", "seed", "log_step")
    np.testing.assert_array_equal(ds.importance, [0.5, 1.0, 2.0, 4.0])
    for task in sweep.tasks():
        direct = train(task.features, task.model, task.training, progress=False, workers=1)
        rows = task.shape  # (1, 4): one density, four importances
        for name in ("W", "b", "loss", "loss_stderr", "best_seed", "seed_W", "seed_loss"):
            got = ds[name].values[task.slices]
            want = getattr(direct, name).reshape(*rows, *getattr(direct, name).shape[1:])
            assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), name
        history = np.moveaxis(direct.history_loss, 0, -1).reshape(*rows, 3, -1)
        np.testing.assert_array_equal(ds.history_loss.values[task.slices], history)
        np.testing.assert_array_equal(ds.log_step, direct.history_steps)


def test_raw_xarray_numpy_and_pandas_views_agree(small_sweep, tmp_path):
    path = tmp_path / "s.zarr"
    run_sweep(small_sweep(), path, workers=2, progress=False)
    raw = xr.open_zarr(path)  # the plain Zarr reader: same values, same labels
    ours = open_sweep(path)
    np.testing.assert_array_equal(raw.W.values, ours.W.values)
    np.testing.assert_array_equal(raw.density.values, [0.05, 0.3, 1.0])
    arrays = load_arrays(path)
    assert arrays["seed_loss"].shape == (3, 4, 3) and arrays["W"].shape == (3, 4, 1, 2)
    table = to_dataframe(path)
    assert len(table) == 3 * 4 * 3
    assert list(table.columns[:3]) == ["density", "importance", "seed"]
    row = table[(table.density == 0.3) & (table.importance == 2.0) & (table.seed == 1)]
    assert row["loss"].item() == arrays["seed_loss"][1, 2, 1]
    assert table.groupby(["density", "importance"])["best"].sum().eq(1).all()
    per_config = to_dataframe(ours, per="config", weights=True)
    assert len(per_config) == 12
    assert list(per_config.columns) == [
        "density", "importance", "best_seed", "loss", "loss_penalized", "loss_penalized_stderr",
        "loss_stderr", "W_0_0", "W_0_1", "b_0", "b_1",
    ]  # fmt: skip
    picked = per_config[(per_config.density == 1.0) & (per_config.importance == 4.0)]
    assert picked["W_0_1"].item() == arrays["W"][2, 3, 0, 1]
    assert picked["loss"].item() == arrays["loss"][2, 3]


def test_existing_store_needs_resume_or_overwrite(small_sweep, tmp_path):
    path = tmp_path / "s.zarr"
    run_sweep(small_sweep(), path, workers=2, progress=False)
    with pytest.raises(StoreExistsError, match=r"3 of 3 tasks finished.*resume"):
        run_sweep(small_sweep(), path, progress=False)
    again = run_sweep(small_sweep(), path, resume=True, progress=False)
    assert (again.tasks_run, again.tasks_reused) == (0, 3)
    other = run_sweep(small_sweep(lr=3e-3), path, overwrite=True, progress=False, workers=2)
    assert other.tasks_run == 3
    assert open_sweep(path).attrs["toysup_sweep"]["sweep"]["training"]["lr"] == 3e-3


def test_resume_with_another_sweep_names_the_setting(small_sweep, tmp_path):
    path = tmp_path / "s.zarr"
    run_sweep(small_sweep(), path, workers=2, progress=False)
    with pytest.raises(
        SweepMismatchError, match=r"training\.lr: store has 0\.01, this sweep has 0\.003"
    ):
        run_sweep(small_sweep(lr=3e-3), path, resume=True, progress=False)
    with pytest.raises(SweepMismatchError, match=r"task_shape"):
        run_sweep(small_sweep(task_size=2), path, resume=True, progress=False)


def test_store_path_that_is_a_file_or_a_foreign_directory(small_sweep, tmp_path):
    file = tmp_path / "results.zarr"
    file.write_text("not a store")
    with pytest.raises(ValueError, match="is a file"):
        run_sweep(small_sweep(), file, progress=False)
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("...")
    for flags in ({}, {"resume": True}, {"overwrite": True}):
        with pytest.raises(ValueError, match="holds no toysup sweep store"):
            run_sweep(small_sweep(), folder, progress=False, **flags)
    assert (folder / "chapter1.tex").read_text() == "..."  # never deleted


@pytest.mark.parametrize("damage", ["garbage", "truncated", "deleted"])
def test_corrupt_chunk_is_found_and_trained_again(small_sweep, tmp_path, same_arrays, damage):
    path = tmp_path / "s.zarr"
    sweep = small_sweep()
    run_sweep(sweep, path, workers=2, progress=False)
    before = load_arrays(path)
    chunk = path / "seed_W" / "c" / "1" / "0" / "0" / "0" / "0"  # task 1: density row 1
    assert chunk.is_file()
    if damage == "garbage":
        chunk.write_bytes(os.urandom(chunk.stat().st_size))
    elif damage == "truncated":
        chunk.write_bytes(chunk.read_bytes()[:10])
    else:
        chunk.unlink()
    with pytest.raises(ValueError, match=r"tasks \[1\] do not match their checksums"):
        open_sweep(path, verify=True)
    report = run_sweep(sweep, path, resume=True, progress=False)
    assert report.repaired == (1,) and report.run == (1,) and report.tasks_reused == 2
    same_arrays(load_arrays(path), before)  # the task trains again to the same bits


def test_second_writer_is_refused_while_the_first_holds_the_lock(small_sweep, tmp_path):
    path = tmp_path / "s.zarr"
    first = SweepStore.open(path, small_sweep())
    try:
        with pytest.raises(StoreLockedError, match=rf"process {os.getpid()} on host"):
            run_sweep(small_sweep(), path, resume=True, progress=False)
        with pytest.raises(StoreLockedError):
            run_sweep(small_sweep(), path, overwrite=True, progress=False)
    finally:
        first.close()
    assert not (path / LOCK).exists()
    assert run_sweep(small_sweep(), path, resume=True, progress=False, workers=2).tasks_run == 3


def test_stale_lock_of_a_dead_process_is_taken_over(small_sweep, tmp_path):
    path = tmp_path / "s.zarr"
    SweepStore.open(path, small_sweep()).close()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    record = {"pid": dead.pid, "host": socket.gethostname(), "process_start": None, "token": "x"}
    (path / LOCK).write_text(json.dumps(record))
    assert run_sweep(small_sweep(), path, resume=True, progress=False, workers=2).tasks_run == 3
    # a lock from another host cannot be checked from here: refused, saying how to remove it
    (path / LOCK).write_text(json.dumps({**record, "pid": 1, "host": "node-17"}))
    with pytest.raises(StoreLockedError, match=r"host 'node-17'.*remove .*toysup-writer.lock"):
        run_sweep(small_sweep(), path, resume=True, progress=False)


def test_a_writer_that_lost_its_lock_stops(small_sweep, tmp_path):
    path = tmp_path / "s.zarr"
    store = SweepStore.open(path, small_sweep())
    (path / LOCK).unlink()
    WriterLock(path / LOCK).acquire()  # another writer took the store
    task = small_sweep().tasks()[0]
    with pytest.raises(StoreLockedError, match="lost the lock"):
        store.write_task(task, {"arrays": {}, "coords": {}})
    assert not any((path / MANIFEST).iterdir())


def test_a_job_adds_labels_next_to_the_results(small_sweep, tmp_path):
    path = tmp_path / "s.zarr"
    run_sweep(small_sweep(), path, workers=2, progress=False)
    ds = open_sweep(path)
    labels = xr.DataArray(phase_label_n2m1(ds.seed_W.values), dims=ds.seed_W.dims[:3])
    write_variable(path, "label", labels, attrs={"description": "phase label per seed"})
    again = open_sweep(path)
    assert again.label.dims == ("density", "importance", "seed")
    np.testing.assert_array_equal(again.label.values, labels.values)
    table = to_dataframe(again)
    assert set(table["label"]) <= set(N2M1_LABELS) and len(table) == 36
    # derived from the results: a run that writes a task again drops it
    (path / MANIFEST / "0.json").unlink()
    run_sweep(small_sweep(), path, resume=True, progress=False)
    assert "label" not in open_sweep(path)
    with pytest.raises(ValueError, match="must start with the sweep's axes"):
        write_variable(path, "label", labels.transpose("importance", "density", "seed"))


def test_string_labels_and_zipped_fields(tmp_path):
    """Axes over a model field (strings) and a zipped pair of training fields: one task per
    point, labels and the zipped fields as coordinates, readable by xarray and pandas."""
    from toysup import FeatureConfig, ModelConfig, TrainConfig
    from toysup.sweep import Axis, Sweep

    sweep = Sweep(
        features=FeatureConfig(n_features=2, density=0.3),
        model=ModelConfig(n_features=2, n_hidden=1),
        training=TrainConfig(steps=30, batch_size=32, eval_samples=128, n_seeds=2),
        axes=[
            Axis("activation", ["relu", "linear"]),
            Axis.zip("run", ["a", "b"], {"lr": [1e-3, 1e-2], "schedule": ["constant", "cosine"]}),
        ],
    )
    assert sweep.n_tasks == 4
    run_sweep(sweep, tmp_path / "s.zarr", workers=2, progress=False)
    ds = open_sweep(tmp_path / "s.zarr", verify=True)
    assert list(ds.activation.values) == ["relu", "linear"] and list(ds.run.values) == ["a", "b"]
    assert list(ds.lr.values) == [1e-3, 1e-2] and ds.lr.dims == ("run",)
    assert list(ds.schedule.values) == ["constant", "cosine"]
    table = to_dataframe(ds)
    assert len(table) == 2 * 2 * 2
    linear_b = table[(table.activation == "linear") & (table.run == "b")]
    assert set(linear_b["lr"]) == {1e-2} and set(linear_b["schedule"]) == {"cosine"}
    np.testing.assert_array_equal(
        linear_b["loss"].to_numpy(), ds.seed_loss.sel(activation="linear", run="b").values
    )
