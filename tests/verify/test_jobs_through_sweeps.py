"""The jobs train through toysup.sweep: ``kill -9`` mid-sweep then ``--resume`` loses no finished
task, runs none twice and gives the maps of an uninterrupted run bit for bit; a Dask cluster of
two worker processes gives the same bits; a corrupted chunk is trained again; bad sweep options
exit 2 naming the value, before anything is written."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from toysup.sweep.store import MANIFEST, read_manifest
from verify import compressed_sensing, phase_boundary

ROOT = Path(__file__).resolve().parents[2]
#: 4 × 4 cells, one per task (16 tasks), 2 seeds: a second or two of training per run.
TINY = ["--resolution", "4", "--seeds", "2", "--steps", "150", "--batch", "128",
        "--bootstrap", "10", "--task-size", "1", "--quiet"]  # fmt: skip
#: The bridge at n = 6: two δ values (m = 2, 3) over k = 1..6, few trials.
CS_TINY = ["--n", "6", "--deltas", "0.34,0.5", "--densities", "4", "--seeds", "2", "--steps",
           "100", "--batch", "128", "--trials", "40", "--lp-trials", "10", "--gaussian-trials",
           "0", "--task-size", "2", "--quiet"]  # fmt: skip
#: Everything maps.npz holds, compared bit for bit.
MAPS = ("empirical", "candidate", "exact", "vote_share", "seed_labels", "selection_loss", "W", "b")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def _assert_same_maps(a: Path, b: Path) -> None:
    with np.load(a / "maps.npz") as x, np.load(b / "maps.npz") as y:
        for name in MAPS:
            assert x[name].dtype == y[name].dtype and x[name].shape == y[name].shape, name
            assert x[name].tobytes() == y[name].tobytes(), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted in-process run every other run is compared with."""
    out = tmp_path_factory.mktemp("reference") / "out"
    assert phase_boundary.main([*TINY, "--out", str(out), "--workers", "2"]) == 0
    return out


def test_the_store_is_the_source_of_the_outputs(reference):
    s = _summary(reference)
    assert s["sweep"] == {
        "tasks": 16, "tasks_run": 16, "tasks_reused": 0, "scheduler": "threads", "workers": 2,
        "store": str(reference / "sweep.zarr"), "tasks_repaired": 0,
    }  # fmt: skip
    from toysup.sweep import open_sweep

    ds = open_sweep(reference / "sweep.zarr", verify=True)
    with np.load(reference / "maps.npz") as maps:
        np.testing.assert_array_equal(maps["W"], ds.seed_W.values)  # (P, R, K, m, n)
        np.testing.assert_array_equal(maps["density"], ds.density.values)
        np.testing.assert_array_equal(maps["importance"], ds.importance.values)
    assert "sweep.zarr" not in s["files"]  # the files list stays the files of the run


def test_kill_9_mid_sweep_then_resume(tmp_path, reference):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "verify.phase_boundary", *TINY, "--out", str(out)]
    proc = subprocess.Popen([*cmd, "--workers", "1"], env=_env(), cwd=ROOT)
    manifest = out / "sweep.zarr" / MANIFEST
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if manifest.is_dir() and len(list(manifest.glob("*.json"))) >= 2:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    before = read_manifest(out / "sweep.zarr")
    assert 2 <= len(before) < 16, len(before)
    assert not (out / "summary.json").exists()  # nothing else of the killed run is visible

    assert phase_boundary.main([*TINY, "--out", str(out), "--resume"]) == 0  # this process
    s = _summary(out)["sweep"]
    after = read_manifest(out / "sweep.zarr")
    # no finished task lost or trained again: its record (pid, time) is the killed run's
    assert (s["tasks_reused"], s["tasks_run"]) == (len(before), 16 - len(before))
    assert all(after[i] == before[i] for i in before) and len(after) == 16
    assert {after[i]["info"]["pid"] for i in set(after) - set(before)} == {os.getpid()}
    assert {r["info"]["pid"] for r in before.values()} == {proc.pid}
    _assert_same_maps(out, reference)


def test_a_corrupted_chunk_is_trained_again(tmp_path, reference):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    chunks = sorted((out / "sweep.zarr" / "seed_W" / "c").rglob("*"))
    victim = [c for c in chunks if c.is_file()][5]
    victim.write_bytes(victim.read_bytes()[::-1])  # same size, other bytes
    assert phase_boundary.main([*TINY, "--out", str(out), "--resume"]) == 0
    s = _summary(out)["sweep"]
    assert (s["tasks_repaired"], s["tasks_run"], s["tasks_reused"]) == (1, 1, 15)
    _assert_same_maps(out, reference)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dask_cluster(tmp_path):
    """``dask scheduler`` and two single-threaded ``dask worker`` processes on 127.0.0.1."""
    pytest.importorskip("distributed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"

    def start(*argv: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", *argv], env=_env(), cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    scheduler = ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port)]
    worker = ["distributed.cli.dask_worker", address, "--nthreads", "1", "--host", "127.0.0.1"]
    procs = [start(*scheduler, "--no-dashboard")]
    try:
        for _ in range(2):
            procs.append(start(*worker, "--no-dashboard"))
        import distributed

        with distributed.Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.slow  # starting three processes that import torch: 20-40 s here
def test_a_dask_cluster_gives_the_same_bits(tmp_path, reference, dask_cluster):
    out = tmp_path / "out"
    assert phase_boundary.main([*TINY, "--out", str(out), "--scheduler", dask_cluster]) == 0
    s = _summary(out)["sweep"]
    assert (s["scheduler"], s["workers"], s["tasks_run"]) == (dask_cluster, 2, 16)
    pids = {r["info"]["pid"] for r in read_manifest(out / "sweep.zarr").values()}
    assert len(pids) == 2 and os.getpid() not in pids  # both workers trained, this process wrote
    _assert_same_maps(out, reference)


def test_bad_sweep_options_exit_2_and_write_nothing(tmp_path, capsys, reference):
    (tmp_path / "afile").write_text("x")
    port = _free_port()  # nothing listens there
    cases = [
        (["--store", str(tmp_path / "afile")], f"--store {tmp_path / 'afile'} is a file"),
        (["--scheduler", f"tcp://127.0.0.1:{port}"], f"tcp://127.0.0.1:{port}: no Dask"),
        (["--scheduler", "somewhere:8786"], "'somewhere:8786'"),
        (["--task-size", "0"], "--task-size must be >= 1, got 0"),
        (["--store", str(reference / "sweep.zarr"), "--resume", "--steps", "151"],
         r"holds another sweep.*training\.steps"),
    ]  # fmt: skip
    for extra, message in cases:
        out = tmp_path / "out"
        started = time.monotonic()
        assert phase_boundary.main([*TINY, "--out", str(out), *extra]) == 2, extra
        assert message in capsys.readouterr().err or extra[-1] == "151"
        assert time.monotonic() - started < 15  # the scheduler check waits 10 s at most
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_resume_from_another_sweep_names_the_setting(tmp_path, capsys, reference):
    argv = [*TINY, "--out", str(reference), "--resume", "--lr", "0.02"]
    before = (reference / "summary.json").read_text()
    assert phase_boundary.main(argv) == 2
    err = capsys.readouterr().err
    assert "holds another sweep" in err and "training.lr" in err and "0.02" in err
    assert (reference / "summary.json").read_text() == before


@pytest.mark.filterwarnings("ignore:Object at toysup-manifest")  # the store's own files
def test_compressed_sensing_through_a_group_of_sweeps(tmp_path):
    out = tmp_path / "out"
    assert compressed_sensing.main([*CS_TINY, "--out", str(out)]) == 0
    first = _summary(out)
    assert first["sweep"]["tasks"] == first["sweep"]["tasks_run"] == 4  # 2 δ × 4 k / 2 per task
    import xarray as xr

    group = xr.open_zarr(out / "sweep.zarr", group="delta1_m3", consolidated=False)
    assert group.W.dims == ("density", "hidden", "feature") and group.W.shape == (4, 3, 6)
    assert compressed_sensing.main([*CS_TINY, "--out", str(out), "--resume"]) == 0
    again = _summary(out)
    assert (again["sweep"]["tasks_run"], again["sweep"]["tasks_reused"]) == (0, 4)
    for key in ("per_delta", "transitions", "represented"):
        if key in first:
            assert again[key] == first[key], key


@pytest.mark.slow  # a scheduler and two workers importing torch: 20-40 s here
@pytest.mark.filterwarnings("ignore:Object at toysup-manifest")  # the store's own files
def test_a_group_of_sweeps_on_a_dask_cluster_gives_the_same_bits(tmp_path, dask_cluster):
    """The compressed-sensing job (one sweep per δ, in groups of one store) on two worker
    processes: every group's arrays bit for bit those of the in-process run, and the same
    transitions."""
    import xarray as xr

    here, there = tmp_path / "here", tmp_path / "there"
    assert compressed_sensing.main([*CS_TINY, "--out", str(here)]) == 0
    assert (
        compressed_sensing.main([*CS_TINY, "--out", str(there), "--scheduler", dask_cluster]) == 0
    )
    s = _summary(there)["sweep"]
    assert (s["scheduler"], s["workers"], s["tasks_run"]) == (dask_cluster, 2, 4)
    for group in ("delta0_m2", "delta1_m3"):
        a = xr.open_zarr(here / "sweep.zarr", group=group, consolidated=False)
        b = xr.open_zarr(there / "sweep.zarr", group=group, consolidated=False)
        assert sorted(a.data_vars) == sorted(b.data_vars)
        for name in a.data_vars:
            x, y = a[name].values, b[name].values
            assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), (group, name)
    first, again = _summary(here), _summary(there)
    for key in ("per_delta", "transitions", "represented"):
        if key in first:
            assert again[key] == first[key], key
