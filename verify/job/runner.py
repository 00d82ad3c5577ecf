"""How every job runs: parse, check, lock the output, compute, write, swap, report.

Exit codes (docs/conventions.md, "Jobs"):

- 0: done; the output directory holds the new run.
- 2: bad options, or an output directory that cannot be used (not writable, a file, a
  foreign directory, another run writing it), refused with one line before any computation;
  nothing is written.
- 1: the run failed (training diverged, a numerical failure, out of memory), with one line
  saying what happened and what to change; the output directory is unchanged.
- 130 (Ctrl-C) and 143 (SIGTERM): stopped with one line; the output directory is unchanged and
  the temporary one removed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from verify import _interrupts
from verify.job.options import check_common, check_memory
from verify.job.outdir import OutputDir, OutputDirError

S = TypeVar("S")
R = TypeVar("R")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that the run unwinds and cleans up."""


@dataclass(frozen=True)
class Job(Generic[S, R]):
    """What makes one job: its parser, its settings, its computation and its files.

    - ``parser()``: the argparse parser (with :func:`~verify.job.options.add_common_options`).
    - ``settings(args)``: validated settings; raise ``ValueError``/``TypeError`` on bad options.
    - ``memory(settings)``: optional planned memory per option, in bytes (refused if too large).
    - ``compute(settings, args)``: the work (``args.quiet`` silences progress).
    - ``write(result, directory, argv)``: write every file into ``directory``, ``summary.json``
      last; return the names written.
    - ``report(result, out, files)``: the text printed at the end (unless ``--quiet``).
    - ``failure_hint``: appended to the one-line message when training diverges.
    - ``keep(args)``: entries of ``--out`` kept across runs and written in place (a resumable
      store, :func:`verify.job.sweep.kept_entries`); see :class:`~verify.job.outdir.OutputDir`.
    """

    prog: str
    parser: Callable[[], argparse.ArgumentParser]
    settings: Callable[[argparse.Namespace], S]
    compute: Callable[[S, argparse.Namespace], R]
    write: Callable[[R, Path, list[str]], list[str]]
    report: Callable[[R, Path, list[Path]], str]
    memory: Callable[[S], Mapping[str, float]] | None = None
    failure_hint: str = "lower --lr, or check the densities and importances"
    keep: Callable[[argparse.Namespace], Sequence[str]] | None = None


def progress_option(args: argparse.Namespace) -> bool | None:
    """What to pass as ``progress=``: silent with ``--quiet``, else automatic (a bar on a
    terminal, a line every few seconds in a log)."""
    return False if getattr(args, "quiet", False) else None


def run(job: Job[S, R], argv: list[str] | None = None) -> int:
    """Run ``job`` on ``argv`` (default ``sys.argv[1:]``); return the exit code."""

    def fail(code: int, message: str) -> int:
        print(f"{job.prog}: {message}", file=sys.stderr)
        return code

    def stopped(code: int, message: str) -> int:
        """Ctrl-C or SIGTERM after the temporaries are gone: one line, then exit at once."""
        fail(code, message)
        _interrupts.exit_if_job_process(code)
        return code

    parser = job.parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        _interrupts.resume()  # from here on, Ctrl-C raises KeyboardInterrupt
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, message already printed)
        return int(exc.code or 0)
    except KeyboardInterrupt:
        return fail(EXIT_INTERRUPTED, "interrupted before anything was computed")
    try:
        check_common(args)
        settings = job.settings(args)
        if job.memory is not None:
            check_memory(job.memory(settings))
        target = OutputDir(args.out, keep=job.keep(args) if job.keep is not None else ())
        target.open()
    except (ValueError, TypeError) as exc:  # OutputDirError is a ValueError
        return fail(EXIT_USAGE, f"error: {exc}")
    except KeyboardInterrupt:
        return fail(EXIT_INTERRUPTED, "interrupted before anything was computed")

    from toysup import TrainingDivergedError

    try:
        with target, _sigterm_raises():
            result = job.compute(settings, args)
            names = job.write(result, target.tmp, argv)
            files = target.commit(names)
    except KeyboardInterrupt:
        return stopped(EXIT_INTERRUPTED, f"interrupted; {_unchanged(target)}")
    except _Terminated:
        return stopped(EXIT_TERMINATED, f"terminated; {_unchanged(target)}")
    except TrainingDivergedError as exc:
        return fail(EXIT_FAILED, f"error: {exc}; {job.failure_hint}. {_unchanged(target)}")
    except (FloatingPointError, OverflowError) as exc:
        return fail(EXIT_FAILED, f"error: numerical failure: {exc}. {_unchanged(target)}")
    except MemoryError:
        return fail(
            EXIT_FAILED, f"error: out of memory; use smaller settings. {_unchanged(target)}"
        )
    except OutputDirError as exc:
        return fail(EXIT_FAILED, f"error: {exc}")
    print(target.path if args.quiet else job.report(result, target.path, files))
    return EXIT_OK


def _unchanged(target: OutputDir) -> str:
    if target.path.exists():
        return f"{target.path} still holds the previous run"
    return f"nothing was written to {target.path}"


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into an exception in the main thread for the duration (so ``finally`` blocks
    run and temporaries are removed); elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
