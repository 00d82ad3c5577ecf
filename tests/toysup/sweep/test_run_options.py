"""run_sweep's options and report, and progress where stderr is not a terminal (a batch log)."""

from __future__ import annotations

import io

import pytest

from toysup._progress import Progress
from toysup.sweep import run_sweep


def test_progress_note_follows_the_counts():
    log = io.StringIO()  # not a terminal: lines
    bar = Progress(4, desc="sweep", stream=log, line_interval_s=0.0, unit="tasks")
    bar.set_note("2 workers (threads)")
    bar.update(2)
    line = log.getvalue().splitlines()[0]
    assert line.startswith("sweep:  50.0% (2/4 tasks), ") and line.endswith(", 2 workers (threads)")


def test_run_prints_lines_to_a_log_and_nothing_when_quiet(
    small_sweep, tmp_path, capsys, monkeypatch
):
    import toysup.sweep.run as run

    monkeypatch.setattr(run, "PROGRESS_LINE_S", 0.0)  # a line per task (5 s in real runs)
    run_sweep(small_sweep(), tmp_path / "a.zarr", workers=2)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3  # one per task, the last one the final count (not repeated)
    assert lines[-1].startswith("sweep: 100.0% (3/3 tasks)") and "2 workers (threads)" in lines[-1]
    run_sweep(small_sweep(), tmp_path / "b.zarr", workers=2, progress=False)
    assert capsys.readouterr().err == ""


def test_report_for_a_jobs_summary(small_sweep, tmp_path):
    report = run_sweep(small_sweep(), tmp_path / "s.zarr", workers=2, progress=False)
    summary = report.to_dict()
    assert {k: summary[k] for k in ("tasks", "tasks_run", "tasks_reused", "scheduler")} == {
        "tasks": 3,
        "tasks_run": 3,
        "tasks_reused": 0,
        "scheduler": "threads",
    }
    assert summary["workers"] == 2 and summary["wall_s"] > 0


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"workers": 0}, ValueError, "workers must be a positive integer"),
        ({"workers": True}, ValueError, "workers must be a positive integer"),
        ({"resume": "yes"}, TypeError, "resume must be True or False"),
        ({"resume": True, "overwrite": True}, ValueError, "not both"),
        ({"progress": 1}, TypeError, "progress must be"),
        ({"connect_timeout": 0}, ValueError, "connect_timeout must be a positive"),
        ({"scheduler": "dask"}, ValueError, "'threads', 'local' or a Dask scheduler address"),
    ],
)
def test_bad_options_write_nothing(small_sweep, tmp_path, options, error, match):
    with pytest.raises(error, match=match):
        run_sweep(small_sweep(), tmp_path / "s.zarr", **options)
    assert not (tmp_path / "s.zarr").exists()


def test_not_a_sweep():
    with pytest.raises(TypeError, match=r"sweep must be a toysup\.sweep\.Sweep"):
        run_sweep({"density": [0.1]}, "s.zarr")  # type: ignore[arg-type]
