"""A small thread-safe progress display on stderr.

On a terminal it is a bar redrawn in place. Elsewhere (a batch job's log file, a cluster's
captured stderr) it is silent, unless ``line_interval_s`` is given: then it writes one plain line
every that many seconds and a last one at the end, so logs show how far a long run got.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    """Progress over ``total`` units.

    ``enabled=None`` means: on a terminal, always; elsewhere only when ``line_interval_s`` is set
    (then as lines). ``unit`` (e.g. ``"tasks"``) adds ``done/total unit`` to what is shown;
    :meth:`set_note` adds a short status (e.g. the workers busy).
    """

    def __init__(
        self,
        total: int,
        *,
        desc: str = "",
        enabled: bool | None = None,
        stream: TextIO | None = None,
        min_interval_s: float = 0.2,
        line_interval_s: float | None = None,
        unit: str = "",
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        if enabled is None:
            enabled = terminal or line_interval_s is not None
        self.enabled = enabled
        self.lines = enabled and not terminal and line_interval_s is not None
        self.total = max(total, 1)
        self.desc = desc
        self.unit = unit
        self.note = ""
        self.done = 0
        self.start = time.perf_counter()
        self._last_draw = 0.0 if not self.lines else self.start
        self._min_interval = (
            line_interval_s if self.lines and line_interval_s is not None else min_interval_s
        )
        self._lock = threading.Lock()

    def update(self, units: int) -> None:
        with self._lock:
            self.done += units
            if not self.enabled:
                return
            now = time.perf_counter()
            last = self.done >= self.total and not self.lines  # lines: the last one in close()
            if now - self._last_draw >= self._min_interval or last:
                self._last_draw = now
                self._draw(now)

    def set_note(self, note: str) -> None:
        with self._lock:
            self.note = note

    def _text(self, now: float) -> str:
        frac = min(self.done / self.total, 1.0)
        elapsed = now - self.start
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        count = f" {self.done}/{self.total} {self.unit}" if self.unit else ""
        note = f", {self.note}" if self.note else ""
        eta_text = f"{eta:5.1f}s" if frac > 0 or not self.unit else "    ?"
        if self.lines:  # a log line: no padding
            return f"{100 * frac:.1f}%{count}, {elapsed:.1f}s elapsed, eta {eta_text.strip()}{note}"
        return f"{100 * frac:5.1f}%{count}  {elapsed:6.1f}s elapsed, eta {eta_text}{note}"

    def _draw(self, now: float) -> None:
        if self.lines:
            self.stream.write(f"{self.desc}: {self._text(now)}\n")
        else:
            frac = min(self.done / self.total, 1.0)
            width = 30
            filled = round(width * frac)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{self.desc} [{bar}] {self._text(now)} ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            with self._lock:
                self._draw(time.perf_counter())
                if not self.lines:
                    self.stream.write("\n")
                self.stream.flush()
