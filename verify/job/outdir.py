"""A job's output directory: checked before any computation, locked against a second writer,
written in a temporary sibling and swapped into place atomically.

The rules (docs/conventions.md, "Jobs"):

- ``--out`` must be a directory path whose parent can be created and written; an existing
  directory is replaced only if it is empty or holds an earlier run (its ``summary.json``).
  All of this is checked, and the temporary directory created, before the job computes anything.
- A lock file ``.<name>.lock`` beside the directory, held with ``flock`` for the whole run: a
  second run into the same ``--out`` is refused at once. The kernel releases the lock when its
  process dies, even by ``kill -9``.
- Files are written into ``.<name>.new-<pid>/``; the job's marker (``summary.json``) is written
  last, so a temporary directory holding it is complete. The new directory then replaces the
  old one with one atomic exchange (Linux ``renameat2(RENAME_EXCHANGE)``); elsewhere with two
  renames, and the next run repairs an interruption between them: a complete new directory is
  moved into place, or else the previous run is put back.
- Temporaries left by a killed run are removed by the next run (it holds the lock, so nobody
  else can be writing them).
- *Kept entries* (``keep=["sweep.zarr"]``): written in the final directory in place, not in the
  temporary one, because they must outlive a killed run (a resumable store,
  :mod:`verify.job.sweep`). A directory holding only kept entries counts as an earlier run; at
  the swap they move into the new directory; a run killed between that move and the swap gets
  them back from the temporary directory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

MARKER = "summary.json"  # an earlier (complete) run's directory holds it

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputDirError(ValueError):
    """``--out`` cannot be used: not a directory path, not writable, or not an earlier run."""


class OutputDirBusy(OutputDirError):
    """Another run holds the lock on this ``--out``."""


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with ``renameat2(RENAME_EXCHANGE)``; False where unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


class OutputDir:
    """The output directory of one run. Use as a context manager::

    with OutputDir(out) as target:      # checks, lock, cleanup, temporary directory
        ...compute..., write files into target.tmp
        target.commit(["summary.json", ...])   # swap into place
    # leaving the block without commit (an error, Ctrl-C) removes the temporary directory
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        option: str = "--out",
        keep: Sequence[str] = (),
    ) -> None:
        text = os.fspath(path)
        if not isinstance(text, str) or not text.strip():
            raise OutputDirError(f"{option} must name a directory, got {text!r}")
        self.option = option
        self.path = Path(text).expanduser().absolute()
        if self.path.name in ("", ".", ".."):
            raise OutputDirError(f"{option} {text!r} must name a directory of its own")
        self.parent = self.path.parent
        self.tmp = self.parent / f".{self.path.name}.new-{os.getpid()}"
        self._lock_path = self.parent / f".{self.path.name}.lock"
        self._lock_fd: int | None = None
        self._committed = False
        self.keep = tuple(keep)
        for name in self.keep:
            if not isinstance(name, str) or name in ("", ".", "..", MARKER) or "/" in name:
                raise ValueError(f"keep must name entries of {option}, got {name!r}")

    # -------------------------------------------------------------------------- checks
    def check(self) -> None:
        """Refuse a path that is a file, a directory holding something other than an earlier
        run, or a parent that cannot be created or written. Writes nothing."""
        out, option = self.path, self.option
        if out.exists() and not out.is_dir():
            raise OutputDirError(f"{option} {out} exists and is not a directory")
        foreign = out.is_dir() and any(not self._kept(p.name) for p in out.iterdir())
        if foreign and not (out / MARKER).is_file():
            raise OutputDirError(
                f"{option} {out} is not empty and holds no earlier run (no {MARKER}); "
                "choose another directory"
            )
        ancestor = self.parent
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise OutputDirError(f"{option} {out}: {ancestor} is a file, not a directory")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise OutputDirError(f"{option} {out}: cannot write in {ancestor}")

    def _kept(self, name: str) -> bool:
        """A kept entry, or a temporary its writer left beside it (``.<entry>.*``)."""
        return any(name == k or name.startswith(f".{k}.") for k in self.keep)

    # -------------------------------------------------------------------------- lifecycle
    def __enter__(self) -> OutputDir:
        if self._lock_fd is None:
            self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Check, create the parent, take the lock, repair or clean what a killed run left, and
        create the temporary directory."""
        self.check()
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputDirError(
                f"{self.option} {self.path}: cannot create {self.parent}: {exc}"
            ) from None
        self._lock()
        try:
            self._recover()
            self.check()  # the repaired directory may differ from what was checked
            shutil.rmtree(self.tmp, ignore_errors=True)
            try:
                self.tmp.mkdir()
            except OSError as exc:
                raise OutputDirError(
                    f"{self.option} {self.path}: cannot write in {self.parent}: {exc.strerror}"
                ) from None
        except BaseException:
            self._unlock()
            raise

    def commit(self, names: list[str]) -> list[Path]:
        """Move the temporary directory into place (it must hold ``summary.json``); return the
        paths of ``names`` in the final directory."""
        if not (self.tmp / MARKER).is_file():
            raise RuntimeError(f"{self.tmp} has no {MARKER}: the run is incomplete")
        out = self.path
        for name in self.keep:  # kept entries move with the new directory
            if (out / name).exists() and not (self.tmp / name).exists():
                os.replace(out / name, self.tmp / name)
        if out.exists():
            if _exchange(self.tmp, out):  # out is now the new run, tmp the previous one
                shutil.rmtree(self.tmp, ignore_errors=True)
            else:
                old = self.parent / f".{out.name}.old-{os.getpid()}"
                shutil.rmtree(old, ignore_errors=True)
                os.replace(out, old)
                os.replace(self.tmp, out)
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, out)
        self._committed = True
        return [out / name for name in names]

    def close(self) -> None:
        """Remove the temporary directory if it was not committed; release the lock."""
        if self._lock_fd is None:
            return
        try:
            if not self._committed:
                shutil.rmtree(self.tmp, ignore_errors=True)
        finally:
            self._unlock()

    # -------------------------------------------------------------------------- internals
    def _lock(self) -> None:
        while True:
            try:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise OutputDirError(
                    f"{self.option} {self.path}: cannot write in {self.parent}: {exc.strerror}"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                raise OutputDirBusy(
                    f"{self.option} {self.path} is being written by another run"
                    f"{f' (pid {holder})' if holder else ''}; wait for it to finish or choose "
                    "another directory"
                ) from None
            # The previous holder may have removed the lock file after we opened it: then the
            # lock we hold is on a deleted file. Start again on the current one.
            try:
                same = os.stat(self._lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
                self._lock_fd = fd
                return
            os.close(fd)

    def _unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is None:
            return
        try:
            os.unlink(self._lock_path)
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)

    def _temporaries(self) -> list[Path]:
        """Every directory ``.<name>.*`` beside the output: names in that namespace are this
        output's temporaries (``.new-<pid>``, ``.old-<pid>``, and older releases' ``.XXXXXXXX``
        and ``.old.XXXXXXXX``)."""
        return sorted(p for p in self.parent.glob(f".{self.path.name}.*") if p.is_dir())

    def _recover(self) -> None:
        """With the lock held: finish a swap a killed run left half done, then remove every
        temporary directory of this ``--out`` (no other run can be writing them)."""
        temporaries = self._temporaries()
        if not self.path.exists():
            old = [p for p in temporaries if p.name.startswith(f".{self.path.name}.old")]
            complete = [p for p in temporaries if p not in old and (p / MARKER).is_file()]
            previous = [p for p in old if _holds_run(p)]
            if complete:  # killed between the two renames: the new run is complete
                newest = max(complete, key=lambda p: (p / MARKER).stat().st_mtime)
                os.replace(newest, self.path)
            elif previous:  # killed after the first rename of an older layout: put it back
                src = previous[0] / "run" if (previous[0] / "run").is_dir() else previous[0]
                os.replace(src, self.path)
        for name in self.keep:  # killed after moving a kept entry, before the swap: put it back
            if (self.path / name).exists():
                continue
            holders = [p for p in self._temporaries() if (p / name).exists()]
            if holders:
                self.path.mkdir(exist_ok=True)
                newest = max(holders, key=lambda p: (p / name).stat().st_mtime)
                os.replace(newest / name, self.path / name)
        for p in self._temporaries():
            shutil.rmtree(p, ignore_errors=True)


def _holds_run(path: Path) -> bool:
    return (path / MARKER).is_file() or (path / "run" / MARKER).is_file()


def _read_pid(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
