"""verify.job.run: one line and the right exit code for every kind of failure, before any work
where possible, and the output directory never half-written.

One test per kind of failure: bad options and unusable outputs (2), sizes that would exhaust
memory (2, naming the option), a run that fails (1), Ctrl-C (130), SIGTERM (143), kill -9 (the
next run cleans up), and a second run into the same output (2)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toysup import TrainingDivergedError
from verify import job
from verify import phase_boundary as pb

FAST = ["--resolution", "3", "--seeds", "1", "--steps", "30", "--batch", "64", "--bootstrap", "2"]


def _fake_job(compute):
    def parser():
        p = argparse.ArgumentParser(prog="fake")
        job.add_common_options(p, default_out="fake_out")
        p.add_argument("--size", type=int, default=1)
        return p

    def write(result, tmp, argv):
        (tmp / "result.txt").write_text(str(result))
        return [job.write_json(tmp, "summary.json", {"result": result})]

    return job.Job(
        prog="fake",
        parser=parser,
        settings=lambda args: job.check_count("--size", args.size, maximum=100),
        memory=lambda size: {"--size": size * 1e6},
        compute=compute,
        write=write,
        report=lambda result, out, files: f"done: {result}",
    )


def _listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_success_prints_the_report_and_leaves_only_the_output(tmp_path, capsys):
    out = tmp_path / "out"
    assert job.run(_fake_job(lambda size, args: size * 2), ["--out", str(out), "--size", "3"]) == 0
    assert capsys.readouterr().out.strip() == "done: 6"
    assert json.loads((out / "summary.json").read_text()) == {"result": 6}
    assert _listing(tmp_path) == ["out"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--size", "0"], "--size must be >= 1"),
        (["--size", "1000"], "<= 100"),
        (["--workers", "0"], "--workers must be >= 1"),
        (["--seed", "-1"], "--seed must be >= 0"),
        (["--device", "tpu"], "--device must be auto"),
        (["--out", ""], "must name a directory"),
        (["--out", "/proc/toysup-job"], "cannot write"),
    ],
)
def test_bad_options_exit_2_with_one_line_and_nothing_computed(tmp_path, capsys, argv, words):
    calls = []
    fake = _fake_job(lambda size, args: calls.append(size))
    code = job.run(fake, ["--out", str(tmp_path / "out"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and calls == []
    assert words in err and err.count("\n") == 1 and err.startswith("fake: error: ")
    assert _listing(tmp_path) == []


@pytest.mark.parametrize(
    ("exc", "code", "words"),
    [
        (
            TrainingDivergedError("training diverged at step 3", instance=0, config=0, seed=0,
                                  step=3),
            1,
            "training diverged at step 3; lower --lr",
        ),
        (FloatingPointError("underflow in the sampler"), 1, "numerical failure"),
        (MemoryError(), 1, "out of memory"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)  # fmt: skip
def test_a_failing_run_exits_with_one_line_and_keeps_the_previous_output(
    tmp_path, capsys, exc, code, words
):
    out = tmp_path / "out"
    assert job.run(_fake_job(lambda size, args: "first"), ["--out", str(out)]) == 0
    capsys.readouterr()

    def compute(size, args):
        raise exc

    assert job.run(_fake_job(compute), ["--out", str(out)]) == code
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert "still holds the previous run" in err
    assert (out / "result.txt").read_text() == "first"
    assert _listing(tmp_path) == ["out"]


def test_a_second_run_into_the_same_output_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    with job.OutputDir(out):
        assert job.run(_fake_job(lambda size, args: 1), ["--out", str(out)]) == 2
    assert "being written by another run" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--steps", "10000000000000"),
        ("--batch", "100000000000"),
        ("--bootstrap", "100000000000"),
        ("--resolution", "1000000"),
    ],
)
def test_main_job_refuses_sizes_that_would_exhaust_memory(tmp_path, capsys, monkeypatch,
                                                          option, value):  # fmt: skip
    monkeypatch.setattr(pb, "run_diagram", lambda *a, **k: pytest.fail("computed anyway"))
    started = time.perf_counter()
    assert pb.main([*FAST, option, value, "--out", str(tmp_path / "out")]) == 2
    assert time.perf_counter() - started < 5  # refused up front, not after minutes of work
    err = capsys.readouterr().err
    assert "of memory" in err and option in err and err.count("\n") == 1
    assert _listing(tmp_path) == []


def test_main_job_refuses_densities_below_its_floor(tmp_path, capsys):
    assert pb.main([*FAST, "--density-range", "1e-300", "1", "--out", str(tmp_path / "o")]) == 2
    assert "density_range" in capsys.readouterr().err


def test_main_job_diverging_run_is_one_line_exit_1(tmp_path, capsys):
    out = tmp_path / "out"
    assert pb.main([*FAST, "--lr", "1e6", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "diverged" in err and "--lr" in err
    assert "Traceback" not in err
    assert _listing(tmp_path) == []


def _start_long_run(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    cmd = [sys.executable, "-m", "verify.phase_boundary", "--resolution", "6", "--seeds", "4",
           "--steps", "1000000", "--out", str(out), "--quiet"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    lock = tmp_path / ".out.lock"
    deadline = time.monotonic() + 60
    while not lock.exists():  # the lock is taken right before training starts
        assert time.monotonic() < deadline and proc.poll() is None, "the job did not start"
        time.sleep(0.05)
    time.sleep(1.5)  # well into training, worker threads busy
    return proc, out


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_training_stops_promptly_with_one_line(tmp_path, sig, code):
    """Ctrl-C (SIGINT) and kill (SIGTERM) while worker threads train: one line, the documented
    exit code, and nothing left behind. The workers check for a stop at every step, so the
    process ends within a second on a quiet machine; 10 s leaves room for a loaded one."""
    proc, _ = _start_long_run(tmp_path)
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    elapsed = time.monotonic() - sent
    assert proc.returncode == code, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert elapsed < 10
    assert _listing(tmp_path) == []


def test_after_kill_9_the_next_run_cleans_up(tmp_path):
    proc, out = _start_long_run(tmp_path)
    proc.kill()
    proc.communicate(timeout=60)
    assert ".out.lock" in _listing(tmp_path)  # left behind, but no longer locked
    assert pb.main([*FAST, "--out", str(out), "--quiet"]) == 0
    assert _listing(tmp_path) == ["out"]


def test_ctrl_c_while_the_job_is_starting_is_one_line(tmp_path):
    """Importing torch takes seconds; an interrupt in its C++ initialisation would abort the
    process. While a job starts, Ctrl-C prints one line and exits with 130 at once."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    cmd = [sys.executable, "-m", "verify.phase_boundary", "--out", str(tmp_path / "out")]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # past Python's own start-up, inside the imports (or later on a fast machine)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.count("\n") == 1 and "interrupted" in err and "Traceback" not in err
    assert _listing(tmp_path) == []


def test_help_shows_defaults_only_where_there_is_one():
    """A default of None (set later, e.g. by a preset) and an on/off flag's False say nothing;
    every other default is shown once."""
    parser = argparse.ArgumentParser(prog="x", formatter_class=job.HelpFormatter)
    job.add_common_options(parser, default_out="x_out")
    parser.add_argument("--steps", type=int, help="steps (default: from the preset)")
    text = " ".join(parser.format_help().split())
    assert "(default: x_out)" in text and "(default: 0)" in text and "(default: auto)" in text
    assert "default: None" not in text and "default: False" not in text
    # --out, --seed, --device, and the wording of --workers' and --steps' own help texts
    assert text.count("default:") == 5
