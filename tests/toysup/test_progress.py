"""toysup._progress: a bar on a terminal, a line every few seconds in a log, silence on demand."""

from __future__ import annotations

import io
import time

from toysup._progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_stream_gets_labelled_lines_at_the_interval_and_at_the_end():
    log = io.StringIO()
    bar = Progress(10, desc="δ = 2/8: training", stream=log, line_interval_s=0.05, unit="steps")
    bar.update(3)  # before the first interval: nothing yet
    assert log.getvalue() == ""
    time.sleep(0.06)
    bar.update(2)
    time.sleep(0.06)
    bar.update(5)  # a line at 10/10: close() does not repeat it
    bar.close()
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and all(line.startswith("δ = 2/8: training: ") for line in lines)
    assert "(5/10 steps)" in lines[0] and "100.0% (10/10 steps)" in lines[-1]
    assert "\r" not in log.getvalue()


def test_the_last_line_gives_the_final_count_once():
    """The final count is written by close() when the last update came before the interval, and
    only once when the last update already wrote it."""
    log = io.StringIO()
    bar = Progress(4, desc="sweep", stream=log, line_interval_s=0.05, unit="tasks")
    time.sleep(0.06)
    bar.update(3)  # a line at 3/4
    bar.update(1)  # too soon for a line
    bar.close()  # the final count
    assert [line.split(" (")[1].split(")")[0] for line in log.getvalue().splitlines()] == [
        "3/4 tasks",
        "4/4 tasks",
    ]
    bar.close()  # closing twice writes nothing more
    assert len(log.getvalue().splitlines()) == 2


def test_a_short_run_in_a_log_prints_nothing():
    log = io.StringIO()
    bar = Progress(10, desc="training", stream=log)
    bar.update(10)
    bar.close()
    assert log.getvalue() == ""


def test_terminal_gets_a_bar_redrawn_in_place_and_silence_when_disabled():
    term = _Terminal()
    bar = Progress(4, desc="training", stream=term)
    bar.update(4)
    bar.close()
    assert term.getvalue().startswith("\rtraining [") and term.getvalue().endswith("\n")
    quiet = _Terminal()
    off = Progress(4, stream=quiet, enabled=False)
    off.update(4)
    off.close()
    assert quiet.getvalue() == ""
