"""A small thread-safe progress bar on stderr that stays quiet when stderr is not a terminal."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    """Progress over ``total`` units. ``enabled=None`` means: only if ``stream`` is a terminal."""

    def __init__(
        self,
        total: int,
        *,
        desc: str = "",
        enabled: bool | None = None,
        stream: TextIO | None = None,
        min_interval_s: float = 0.2,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled
        self.total = max(total, 1)
        self.desc = desc
        self.done = 0
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._min_interval = min_interval_s
        self._lock = threading.Lock()

    def update(self, units: int) -> None:
        with self._lock:
            self.done += units
            if not self.enabled:
                return
            now = time.perf_counter()
            if now - self._last_draw >= self._min_interval or self.done >= self.total:
                self._last_draw = now
                self._draw(now)

    def _draw(self, now: float) -> None:
        frac = min(self.done / self.total, 1.0)
        elapsed = now - self.start
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        width = 30
        filled = round(width * frac)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(
            f"\r{self.desc} [{bar}] {100 * frac:5.1f}%  {elapsed:6.1f}s elapsed, eta {eta:5.1f}s "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            with self._lock:
                self._draw(time.perf_counter())
                self.stream.write("\n")
                self.stream.flush()
