"""verify.job.sweep: the jobs' sweep options, their checks, running sweeps into a store kept in
``--out`` across runs, and the output directory's kept entries."""

from __future__ import annotations

import argparse
import os
import socket
import time

import numpy as np
import pytest
import xarray as xr

from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from toysup.sweep import Axis, Sweep, open_sweep
from verify.job import MARKER, OutputDir, add_common_options
from verify.job.sweep import (
    STORE_NAME,
    add_sweep_options,
    check_sweep_options,
    kept_entries,
    run_sweeps,
    sweep_options,
)


def _sweep(*, steps: int = 30, n_hidden: int = 1, lr: float = 1e-2, seed: int = 0) -> Sweep:
    """2 densities × 2 importances, 2 seeds, a few steps: 4 one-cell tasks in about a second."""
    return Sweep(
        features=FeatureConfig(n_features=2),
        model=ModelConfig(n_features=2, n_hidden=n_hidden),
        training=TrainConfig(steps=steps, batch_size=32, n_seeds=2, eval_samples=128, lr=lr,
                             seed=seed),
        axes=[Axis("density", [0.1, 1.0]), Axis("importance", [0.5, 2.0], feature=-1)],
        task_size=1,
    )  # fmt: skip


def _parser(*, common: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    if common:
        add_common_options(parser, default_out="out")
    else:
        parser.add_argument("--out", default="out")
    add_sweep_options(parser)
    return parser


def _args(tmp_path, *argv: str) -> argparse.Namespace:
    return _parser().parse_args(["--out", str(tmp_path / "out"), *argv])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_options_and_their_defaults(tmp_path):
    args = _args(tmp_path)
    opts = sweep_options(args)
    assert opts.store == tmp_path / "out" / STORE_NAME and opts.kept == STORE_NAME
    assert (opts.resume, opts.scheduler, opts.workers) == (False, None, None)
    assert kept_entries(args) == [STORE_NAME]
    elsewhere = _args(tmp_path, "--store", str(tmp_path / "pd.zarr"), "--resume", "--workers", "3")
    opts = sweep_options(elsewhere)
    assert (opts.kept, opts.resume, opts.workers) == (None, True, 3)
    assert kept_entries(elsewhere) == []
    # --workers comes from the common options when present, and is added otherwise
    assert _parser(common=False).parse_args(["--workers", "2"]).workers == 2
    assert sum("--workers" in a.option_strings for a in _parser()._actions) == 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--store", "{tmp}/out/deep/s.zarr"], "inside --out"),
        (["--store", "{tmp}/out"], "must not be --out"),
        (["--store", "{tmp}"], "a folder above it"),
        (["--store", "{tmp}/afile"], "is a file"),
        (["--scheduler", "10.0.0.5:8786"], "tcp://HOST:PORT"),
        (["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"], "--workers 2 applies"),
    ],
)
def test_bad_options_name_the_value(tmp_path, argv, words):
    (tmp_path / "afile").write_text("x")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    with pytest.raises(ValueError, match=words) as info:
        check_sweep_options(_args(tmp_path, *argv), {"": _sweep()})
    assert argv[1].replace("{tmp}", str(tmp_path)) in str(info.value)


def test_an_unreachable_scheduler_is_refused_within_the_timeout(tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    started = time.perf_counter()
    with pytest.raises(ValueError, match="no Dask scheduler answered within 2 s") as info:
        check_sweep_options(_args(tmp_path, "--scheduler", address), timeout=2.0)
    assert address in str(info.value)
    assert time.perf_counter() - started < 2.5
    # a listener that never speaks Dask passes this check (the run's own connect times out)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        reachable = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        assert check_sweep_options(_args(tmp_path, "--scheduler", reachable)).scheduler == reachable


def test_run_resume_and_a_store_of_another_sweep(tmp_path):
    sweep = _sweep()
    args = _args(tmp_path)
    done = run_sweeps({"": sweep}, check_sweep_options(args, {"": sweep}), progress=False)
    assert done.summary == {
        "tasks": 4, "tasks_run": 4, "tasks_reused": 0, "scheduler": "threads",
        "workers": done.summary["workers"], "store": str(tmp_path / "out" / STORE_NAME),
        "tasks_repaired": 0,
    }  # fmt: skip
    arrays = done.arrays[""]
    ds = open_sweep(tmp_path / "out" / STORE_NAME)
    np.testing.assert_array_equal(arrays["W"], ds.W.values)
    assert arrays["seed_W"].shape == (2, 2, 2, 1, 2)  # (density, importance, seed, m, n)
    # a task's numbers are the trainer's on that task's configuration and derived seed
    task = sweep.tasks()[3]
    direct = train(task.features, task.model, task.training, progress=False, workers=1)
    np.testing.assert_array_equal(arrays["seed_W"][1, 1], direct.seed_W[0])

    resumed = run_sweeps({"": sweep}, _args(tmp_path, "--resume"), progress=False)
    assert (resumed.summary["tasks_run"], resumed.summary["tasks_reused"]) == (0, 4)
    np.testing.assert_array_equal(resumed.arrays[""]["seed_W"], arrays["seed_W"])

    other = _sweep(lr=3e-2)
    with pytest.raises(ValueError, match=r"holds another sweep.*training\.lr") as info:
        check_sweep_options(_args(tmp_path, "--resume"), {"": other})
    assert str(tmp_path / "out" / STORE_NAME) in str(info.value)
    # without --resume the store in --out is replaced with the rest of the output
    assert check_sweep_options(args, {"": other}).store == tmp_path / "out" / STORE_NAME


def test_a_store_outside_out_is_never_replaced_silently(tmp_path):
    sweep, store = _sweep(), tmp_path / "pd.zarr"
    run_sweeps({"": sweep}, _args(tmp_path, "--store", str(store)), progress=False)
    with pytest.raises(ValueError, match=r"holds a sweep \(4 of 4 tasks finished\); add --resume"):
        check_sweep_options(_args(tmp_path, "--store", str(store)), {"": sweep})
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="holds no toysup sweep store"):
        check_sweep_options(_args(tmp_path, "--store", str(tmp_path / "junk")), {"": sweep})


@pytest.mark.filterwarnings("ignore:Object at toysup-manifest")  # the store's own files
def test_several_sweeps_in_one_group(tmp_path):
    sweeps = {"m1": _sweep(n_hidden=1), "m2": _sweep(n_hidden=2)}
    done = run_sweeps(sweeps, _args(tmp_path), progress=False)
    assert (done.summary["tasks"], done.summary["tasks_run"]) == (8, 8)
    assert done.arrays["m2"]["W"].shape == (2, 2, 2, 2)
    store = tmp_path / "out" / STORE_NAME
    group = xr.open_zarr(store, group="m2", consolidated=False)
    np.testing.assert_array_equal(group.W.values, done.arrays["m2"]["W"])
    again = run_sweeps(sweeps, check_sweep_options(_args(tmp_path, "--resume"), sweeps))
    assert (again.summary["tasks_run"], again.summary["tasks_reused"]) == (0, 8)
    with pytest.raises(ValueError, match=r"holds the sweeps \['m1', 'm2'\]"):
        check_sweep_options(_args(tmp_path, "--resume"), {"m1": sweeps["m1"]})
    with pytest.raises(ValueError, match=r"\(sweep 'm2'\) holds another sweep"):
        check_sweep_options(_args(tmp_path, "--resume"), {**sweeps, "m2": _sweep(n_hidden=2,
                                                                                  seed=5)})  # fmt: skip


def test_kept_entries_survive_the_swap_and_a_kill_during_it(tmp_path):
    out = tmp_path / "out"
    (out / STORE_NAME).mkdir(parents=True)  # a first run killed mid-sweep leaves only its store
    (out / STORE_NAME / "chunk").write_text("finished task")
    (out / f".{STORE_NAME}.abc123").mkdir()  # and perhaps the store's own temporary
    with pytest.raises(ValueError, match="holds no earlier run"):
        OutputDir(out).check()  # without keep: a foreign directory
    with OutputDir(out, keep=[STORE_NAME]) as target:
        (target.tmp / MARKER).write_text("{}")
        target.commit([MARKER])
    assert (out / STORE_NAME / "chunk").read_text() == "finished task"
    assert (out / MARKER).is_file()

    # killed after the store moved into the temporary directory, before the swap
    target = OutputDir(out, keep=[STORE_NAME])
    target.open()
    (target.tmp / MARKER).write_text('{"new": 1}')
    os.replace(out / STORE_NAME, target.tmp / STORE_NAME)
    os.close(target._lock_fd or -1)  # the process dies: the kernel drops the lock
    target._lock_fd = None
    with OutputDir(out, keep=[STORE_NAME]):
        assert (out / STORE_NAME / "chunk").read_text() == "finished task"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with pytest.raises(ValueError, match="keep must name entries"):
        OutputDir(out, keep=[MARKER])
