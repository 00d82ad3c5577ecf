"""verify.job.outdir: checks before any work, the lock, the atomic swap, and repair after kills."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from verify.job import MARKER, OutputDir, OutputDirBusy, OutputDirError


def _write_run(directory, tag):
    (directory / "data.txt").write_text(tag)
    (directory / MARKER).write_text(json.dumps({"tag": tag}))


def _commit(out, tag):
    with OutputDir(out) as target:
        _write_run(target.tmp, tag)
        return target.commit(["data.txt", MARKER])


def _listing(path):
    return sorted(p.name for p in path.iterdir())


def test_first_run_then_replacement_leave_only_the_output(tmp_path):
    out = tmp_path / "out"
    files = _commit(out, "one")
    assert files == [out / "data.txt", out / MARKER]
    _commit(out, "two")
    assert (out / "data.txt").read_text() == "two"
    assert _listing(tmp_path) == ["out"]  # no temporaries, no lock file


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda tmp: "", "must name a directory"),
        (lambda tmp: tmp / "file" / "sub", "is a file"),
        (lambda tmp: tmp / "file", "exists and is not a directory"),
        (lambda tmp: "/proc/toysup-out", "cannot write"),
        (lambda tmp: tmp / "foreign", "holds no earlier run"),
    ],
)
def test_unusable_paths_are_refused_before_anything_is_written(tmp_path, make, words):
    (tmp_path / "file").write_text("x")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("keep")
    before = _listing(tmp_path)
    with pytest.raises(OutputDirError, match=words):
        OutputDir(make(tmp_path)).open()
    assert _listing(tmp_path) == before
    assert _listing(tmp_path / "foreign") == ["notes.txt"]


def test_a_failed_run_leaves_the_previous_output_and_no_temporaries(tmp_path):
    out = tmp_path / "out"
    _commit(out, "one")
    with pytest.raises(RuntimeError, match="boom"):
        with OutputDir(out) as target:
            _write_run(target.tmp, "two")
            raise RuntimeError("boom")
    assert (out / "data.txt").read_text() == "one"
    assert _listing(tmp_path) == ["out"]


def test_an_incomplete_directory_is_never_committed(tmp_path):
    with OutputDir(tmp_path / "out") as target:
        (target.tmp / "data.txt").write_text("no summary")
        with pytest.raises(RuntimeError, match="incomplete"):
            target.commit(["data.txt"])
    assert _listing(tmp_path) == []


def test_a_second_writer_is_refused_and_the_first_is_unaffected(tmp_path):
    out = tmp_path / "out"
    with OutputDir(out) as first:
        with pytest.raises(OutputDirBusy, match=f"pid {os.getpid()}"):
            OutputDir(out).open()
        _write_run(first.tmp, "first")
        first.commit(["data.txt", MARKER])
    assert (out / "data.txt").read_text() == "first"
    _commit(out, "after")  # the lock was released


def test_the_lock_is_released_when_its_process_is_killed(tmp_path):
    out = tmp_path / "out"
    code = (
        "import sys, time; from verify.job import OutputDir; "
        f"t = OutputDir({str(out)!r}); t.open(); print('locked', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(OutputDirBusy):
            OutputDir(out).open()
        proc.kill()
        proc.wait(timeout=10)
        _commit(out, "after the kill")  # the kernel released the lock; the temporary is cleaned
    finally:
        proc.kill()
    assert _listing(tmp_path) == ["out"]


@pytest.mark.parametrize("legacy", [False, True])
def test_a_kill_between_the_two_renames_is_repaired(tmp_path, legacy):
    """Killed after the previous run was moved aside and before the new one took its place:
    the next run finds no ``out`` and puts the complete new run in place (or, with none, the
    previous run back), then removes every temporary."""
    out = tmp_path / "out"
    new = tmp_path / (".out.k3j9x2la" if legacy else ".out.new-999999")
    old = tmp_path / (".out.old.x81mzq0p" if legacy else ".out.old-999999")
    new.mkdir()
    _write_run(new, "new")
    (old / "run" if legacy else old).mkdir(parents=True)
    _write_run(old / "run" if legacy else old, "old")
    with OutputDir(out) as target:
        assert (out / "data.txt").read_text() == "new"
        assert _listing(tmp_path) == [".out.lock", target.tmp.name, "out"]
    assert _listing(tmp_path) == ["out"]


def test_without_a_complete_new_run_the_previous_one_is_put_back(tmp_path):
    out = tmp_path / "out"
    partial = tmp_path / ".out.new-999999"
    partial.mkdir()
    (partial / "data.txt").write_text("half written")
    old = tmp_path / ".out.old-999999"
    old.mkdir()
    _write_run(old, "old")
    OutputDir(out).open()
    assert (out / "data.txt").read_text() == "old"


def test_stale_temporaries_beside_an_existing_output_are_cleaned(tmp_path):
    out = tmp_path / "out"
    _commit(out, "one")
    for name in (".out.new-999999", ".out.abc12345", ".out.old.zz9"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "junk").write_text("x")
    _commit(out, "two")
    assert _listing(tmp_path) == ["out"]
    assert (out / "data.txt").read_text() == "two"
