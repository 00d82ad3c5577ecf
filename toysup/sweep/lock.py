"""One writer per store: a lock file holding the writer's pid, host and start time.

The lock is created atomically (a complete file hard-linked into place, so it is either absent or
whole). A lock left by a process that died on this host (its pid gone, a zombie, or reused by a
later process) is stale and taken over; a lock from another host cannot be checked from here and is
refused with the command that removes it. The holder re-reads the lock before every write
(:meth:`WriterLock.check`), so a writer whose lock was taken stops instead of mixing its writes in.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from pathlib import Path
from typing import Any


class StoreLockedError(RuntimeError):
    """Another process writes to this store."""


def _process_start(pid: int) -> str | None:
    """The process's start time since boot (Linux ``/proc/PID/stat`` field 22), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, start: str | None) -> bool:
    """Whether process ``pid`` (started at ``start``, if known) still runs on this host."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.is_dir() and Path("/proc/self/stat").exists():
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        if state in ("Z", "X"):  # a zombie: dead, not yet reaped
            return False
        return start is None or _process_start(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _create_from(source: Path, target: Path) -> None:
    """Create ``target`` with ``source``'s content, failing with FileExistsError if it exists:
    a hard link (the file appears whole), or where the file system has none, an exclusive create
    (a reader may then briefly see it empty, and takes it as held)."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network or FUSE file systems)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(source.read_text())


class WriterLock:
    """The lock file ``path``. Use as a context manager, or :meth:`acquire`/:meth:`release`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.token = secrets.token_hex(8)
        self.held = False

    def record(self) -> dict[str, Any]:
        pid = os.getpid()
        return {
            "pid": pid,
            "host": socket.gethostname(),
            "process_start": _process_start(pid),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "token": self.token,
        }

    def acquire(self) -> WriterLock:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{self.token}")
        tmp.write_text(json.dumps(self.record()))
        try:
            for _ in range(5):
                try:
                    _create_from(tmp, self.path)
                except FileExistsError:
                    holder = self.holder()
                    if holder is not None and not self._stale(holder):
                        raise StoreLockedError(self._message(holder)) from None
                    self._remove_stale()
                    continue
                self.held = True
                return self
        finally:
            tmp.unlink(missing_ok=True)
        raise StoreLockedError(f"could not take the lock {self.path}: it keeps changing hands")

    def holder(self) -> dict[str, Any] | None:
        """The lock file's record, or None if it vanished or cannot be read."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"unreadable": True}
        return data if isinstance(data, dict) else {"unreadable": True}

    def _stale(self, holder: dict[str, Any]) -> bool:
        if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
            return False
        return not _alive(holder["pid"], holder.get("process_start"))

    def _remove_stale(self) -> None:
        aside = self.path.with_name(f".{self.path.name}.stale.{self.token}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        aside.unlink(missing_ok=True)

    def _message(self, holder: dict[str, Any]) -> str:
        if holder.get("unreadable"):
            who = "a process (the lock file is unreadable)"
        else:
            who = f"process {holder.get('pid')} on host {holder.get('host')!r} since {holder.get('since')}"
        return (
            f"{self.path.parent} is being written by {who}; one store takes one writer. Wait for "
            f"it to finish, or, if that process is gone (e.g. on another node), remove "
            f"{self.path} and resume"
        )

    def check(self) -> None:
        """Raise :class:`StoreLockedError` unless this object still holds the lock."""
        holder = self.holder()
        if not self.held or holder is None or holder.get("token") != self.token:
            raise StoreLockedError(
                f"lost the lock {self.path}"
                + (f" to {self._message(holder)}" if holder else " (the lock file was removed)")
                + "; stopped writing"
            )

    def release(self) -> None:
        if self.held:
            self.held = False
            holder = self.holder()
            if holder is not None and holder.get("token") == self.token:
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
