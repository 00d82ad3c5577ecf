"""A small thread-safe progress report on stderr.

On a terminal it is a bar redrawn in place. Anywhere else (a log file, a cluster job's output,
a notebook) it writes a plain line every ``line_interval_s`` seconds (and one at the end), so
long runs show they are alive without flooding the log. ``enabled=False`` silences it.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

#: Seconds between two progress lines where the stream is not a terminal.
LINE_INTERVAL_S = 5.0


class Progress:
    """Progress over ``total`` units of work, labelled ``desc``.

    ``enabled``: ``None`` reports (a bar on a terminal, periodic lines elsewhere, and a final line
    if any was due); ``True`` also always writes the final line; ``False`` is silent. ``bar=None``
    chooses the bar only if ``stream`` is a terminal.
    """

    def __init__(
        self,
        total: int,
        *,
        desc: str = "",
        enabled: bool | None = None,
        stream: TextIO | None = None,
        bar: bool | None = None,
        min_interval_s: float = 0.2,
        line_interval_s: float = LINE_INTERVAL_S,
        unit: str = "",
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        is_terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled is not False
        self._always_final = enabled is True
        self.bar = is_terminal if bar is None else bar
        self.total = max(total, 1)
        self.desc = desc
        self.unit = unit
        self.done = 0
        self.start = time.perf_counter()
        self._last_draw = self.start
        self._interval = min_interval_s if self.bar else line_interval_s
        self.note = ""
        self._lock = threading.Lock()
        self._closed = False
        self._drawn: int | None = None  # the count of the last line written

    def update(self, units: int) -> None:
        with self._lock:
            self.done += units
            if not self.enabled:
                return
            now = time.perf_counter()
            if now - self._last_draw >= self._interval or (self.bar and self.done >= self.total):
                self._last_draw = now
                self._draw(now)

    def set_note(self, note: str) -> None:
        """A short status shown after the counts (e.g. the workers in use)."""
        with self._lock:
            self.note = note

    def _text(self, now: float) -> str:
        frac = min(self.done / self.total, 1.0)
        elapsed = now - self.start
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        unit = f" {self.unit}" if self.unit else ""
        count = f"{min(self.done, self.total)}/{self.total}{unit}"
        note = f", {self.note}" if self.note else ""
        return f"{100 * frac:5.1f}% ({count}), {elapsed:.1f} s elapsed, eta {eta:.1f} s{note}"

    def _draw(self, now: float) -> None:
        frac = min(self.done / self.total, 1.0)
        if self.bar:
            width = 30
            filled = round(width * frac)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{self.desc} [{bar}] {self._text(now)} ")
        else:
            self.stream.write(f"{self.desc}: {self._text(now)}\n")
        self._drawn = self.done
        self.stream.flush()

    def close(self) -> None:
        """Finish the report: the final state (bar) or a last line if any line was written or the
        run took longer than one interval (lines), unless the last line written already showed
        the final count."""
        with self._lock:
            if not self.enabled or self._closed:
                return
            self._closed = True
            now = time.perf_counter()
            if self.bar:
                self._draw(now)
                self.stream.write("\n")
                self.stream.flush()
            elif self._drawn != self.done and (
                self._always_final or now - self.start >= self._interval
            ):  # not again when the last line already showed the final count
                self._draw(now)
