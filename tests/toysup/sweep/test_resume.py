"""Interrupting and resuming: Ctrl-C (SIGINT) stops promptly and leaves whole tasks and no lock;
kill -9 leaves whole tasks and a stale lock; resuming trains only the missing tasks, none twice,
and ends bit for bit where an uninterrupted run ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import toysup
from toysup.sweep import load_arrays, open_sweep, run_sweep
from toysup.sweep.store import LOCK, read_manifest

SCRIPT = """
import atexit, json, sys
from toysup.sweep import Sweep, run_sweep
# at exit (Ctrl-C included): which optional libraries the in-process engine loaded
atexit.register(lambda: print(json.dumps(sorted(
    m for m in sys.modules if m.split(".")[0] in ("dask", "distributed", "xarray", "pandas")))))
sweep = Sweep.from_json(open(sys.argv[1]).read())
run_sweep(sweep, sys.argv[2], resume=True, workers=1)
"""


def _start(spec: Path, store: Path) -> subprocess.Popen:
    env = dict(os.environ)
    root = str(Path(toysup.__file__).parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(spec), str(store)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(store: Path, finished: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Poll the manifest until ``finished`` tasks are recorded (the run must still be going)."""
    deadline = time.monotonic() + timeout
    while len(read_manifest(store)) < finished:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early: {proc.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError("the run made no progress")
        time.sleep(0.05)


def _pids(store: Path) -> dict[int, int]:
    return {i: r["info"]["pid"] for i, r in read_manifest(store).items()}


def test_sigint_then_kill_then_resume_loses_nothing_and_repeats_nothing(
    small_sweep, tmp_path, same_arrays
):
    sweep = small_sweep(steps=400, task_size=1)  # 12 tasks of a fraction of a second
    assert sweep.n_tasks == 12
    spec = tmp_path / "sweep.json"
    spec.write_text(sweep.to_json())
    reference = tmp_path / "reference.zarr"
    run_sweep(sweep, reference, workers=2, progress=False)
    store = tmp_path / "sweep.zarr"

    # 1. Ctrl-C: the process stops within a task's time, keeps whole tasks, releases the lock
    first = _start(spec, store)
    _wait_for(store, 2, first)
    first.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    out, err = first.communicate(timeout=60)
    assert json.loads(out) == []  # the in-process engine imports neither Dask nor xarray
    assert time.monotonic() - stopped < 5.0  # measured: 0.9-1.1 s, exit included, loaded machine
    assert first.returncode in (-signal.SIGINT, 130) and "KeyboardInterrupt" in err
    assert "terminate called" not in err
    assert not (store / LOCK).exists()
    after_sigint = _pids(store)
    assert 2 <= len(after_sigint) < 12
    assert open_sweep(store, verify=True).attrs["tasks_finished"] == len(after_sigint)

    # 2. kill -9 while resuming: the lock stays behind (stale), finished tasks stay
    second = _start(spec, store)
    _wait_for(store, len(after_sigint) + 2, second)
    second.kill()
    second.wait()
    assert (store / LOCK).exists()
    after_kill = _pids(store)
    assert len(after_kill) < 12
    # the second run trained none of the first run's tasks again
    assert {i: after_kill[i] for i in after_sigint} == after_sigint
    assert set(after_kill.values()) == {first.pid, second.pid}

    # 3. resume here: the stale lock is taken over, only the missing tasks run
    report = run_sweep(sweep, store, resume=True, workers=2, progress=False)
    assert report.tasks_reused == len(after_kill)
    assert sorted(report.run) == sorted(set(range(12)) - set(after_kill))
    final = _pids(store)
    assert {i: final[i] for i in after_kill} == after_kill
    assert {final[i] for i in report.run} == {os.getpid()}
    same_arrays(load_arrays(store), load_arrays(reference))
    assert (
        json.loads((store / "zarr.json").read_text())["attributes"]["toysup_sweep"]["n_tasks"] == 12
    )


def test_a_failing_task_stops_the_run_and_keeps_the_others(small_sweep, tmp_path, monkeypatch):
    """A task that raises (e.g. diverged training) ends the run with its error; tasks finished
    before it stay in the store and a resume trains the rest."""
    import toysup.sweep.engines as engines

    sweep = small_sweep(task_size=1)
    real = engines.run_task
    calls: list[int] = []

    def failing(features, model, training, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise FloatingPointError("training diverged at step 7")
        return real(features, model, training, **kwargs)

    monkeypatch.setattr(engines, "run_task", failing)
    with pytest.raises(FloatingPointError, match="diverged at step 7"):
        run_sweep(sweep, tmp_path / "s.zarr", workers=1, progress=False)
    assert len(read_manifest(tmp_path / "s.zarr")) == 2
    monkeypatch.setattr(engines, "run_task", real)
    report = run_sweep(sweep, tmp_path / "s.zarr", resume=True, workers=2, progress=False)
    assert (report.tasks_reused, report.tasks_run) == (2, 10)


def test_sigterm_goes_through_the_callers_handler(small_sweep, tmp_path, monkeypatch):
    """A batch system's SIGTERM mid-run: the handler in place before (here a job's, raising its
    own exception) decides what is raised; finished tasks stay and the lock is released."""
    import toysup.sweep.engines as engines

    class Terminated(BaseException):
        pass

    def handler(signum, frame):
        raise Terminated()

    real, calls = engines.run_task, []

    def signalling(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(engines, "run_task", signalling)
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with pytest.raises(Terminated):
            run_sweep(small_sweep(task_size=1), tmp_path / "s.zarr", workers=1, progress=False)
        assert signal.getsignal(signal.SIGTERM) is handler  # restored
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert 1 <= len(read_manifest(tmp_path / "s.zarr")) <= 3
    assert not (tmp_path / "s.zarr" / LOCK).exists()
    open_sweep(tmp_path / "s.zarr", verify=True)  # whole tasks only
