"""The Dask engines: a cluster started here (a scheduler and two worker processes on 127.0.0.1)
gives bit for bit the arrays of the in-process engine; an unreachable scheduler fails within its
timeout; asking for Dask without it installed says how to install it."""

from __future__ import annotations

import logging
import os
import socket
import sys
import time

import pytest

from toysup.sweep import SchedulerUnreachableError, load_arrays, run_sweep
from toysup.sweep.store import read_manifest

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two single-threaded worker processes on 127.0.0.1, for this module."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    ) as started:
        yield started


def test_cluster_gives_the_same_bits_as_in_process(small_sweep, tmp_path, cluster, same_arrays):
    sweep = small_sweep(task_size=2)  # 6 tasks
    run_sweep(sweep, tmp_path / "threads.zarr", workers=2, progress=False)
    report = run_sweep(
        sweep, tmp_path / "dask.zarr", scheduler=cluster.scheduler_address, progress=False
    )
    assert (report.tasks_run, report.workers) == (6, 2)
    assert report.scheduler == cluster.scheduler_address
    same_arrays(load_arrays(tmp_path / "dask.zarr"), load_arrays(tmp_path / "threads.zarr"))
    # the worker processes trained, this process only wrote
    with distributed.Client(cluster, set_as_default=False) as client:
        workers = set(client.run(os.getpid).values())
    trained_by = {r["info"]["pid"] for r in read_manifest(tmp_path / "dask.zarr").values()}
    assert trained_by <= workers and os.getpid() not in trained_by


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_scheduler_fails_within_the_timeout(small_sweep, tmp_path):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    with pytest.raises(SchedulerUnreachableError, match=rf"{address}.*within 2 s"):
        run_sweep(small_sweep(), tmp_path / "s.zarr", scheduler=address, connect_timeout=2)
    assert time.monotonic() - started < 10  # 2 s and the client's shutdown
    assert not (tmp_path / "s.zarr").exists()  # nothing written before the scheduler answered


@pytest.mark.parametrize(
    ("scheduler", "workers", "match"),
    [
        ("127.0.0.1:8786", None, "such as 'tcp://10.0.0.5:8786'"),
        ("tcp://127.0.0.1:8786", 4, "workers=4 applies to 'threads' and 'local'"),
    ],
)
def test_bad_scheduler_options(small_sweep, tmp_path, scheduler, workers, match):
    with pytest.raises(ValueError, match=match):
        run_sweep(small_sweep(), tmp_path / "s.zarr", scheduler=scheduler, workers=workers)
    assert not (tmp_path / "s.zarr").exists()


def test_dask_missing_says_how_to_install(small_sweep, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ImportError, match=r"pip install -e '\.\[dask\]'"):
        run_sweep(small_sweep(), tmp_path / "s.zarr", scheduler="local", workers=2)


@pytest.mark.slow
def test_local_cluster_started_by_the_run(small_sweep, tmp_path, same_arrays):
    sweep = small_sweep(task_size=2)
    report = run_sweep(sweep, tmp_path / "local.zarr", scheduler="local", workers=2)
    assert (report.scheduler, report.workers, report.tasks_run) == ("local", 2, 6)
    run_sweep(sweep, tmp_path / "threads.zarr", workers=1, progress=False)
    same_arrays(load_arrays(tmp_path / "local.zarr"), load_arrays(tmp_path / "threads.zarr"))
