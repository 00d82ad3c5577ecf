"""``run_sweep``: run a sweep's tasks on an engine into its store, reusing finished ones.

Order of events: validate everything (the sweep's configurations, the options); open the store
(create it, or check a resumed one's settings, take the lock); check the finished tasks'
checksums and clear what is corrupt or unfinished; run the remaining tasks, writing each as it
finishes; release the lock. Ctrl-C or SIGTERM (a batch system's time limit) stops at once: the
task being written is completed first, so the store holds whole tasks only, and the lock is
released (docs/sweeps.md, "Interrupting and resuming").
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toysup._progress import Progress
from toysup.sweep.engines import DaskEngine, Engine, ThreadEngine, import_distributed, usable_cores
from toysup.sweep.store import SweepStore
from toysup.sweep.sweep import Sweep, Task

#: Where stderr is not a terminal (a batch job's log), a progress line this often (seconds).
PROGRESS_LINE_S = 5.0


@dataclass(frozen=True)
class SweepReport:
    """What a run did. ``run``: the indices of the tasks trained by this run, in the order they
    finished; ``repaired``: finished tasks found corrupt and trained again."""

    store: Path
    tasks: int
    tasks_run: int
    tasks_reused: int
    scheduler: str
    workers: int
    wall_s: float
    run: tuple[int, ...]
    repaired: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """For a job's ``summary.json``: ``{tasks, tasks_run, tasks_reused, scheduler, ...}``."""
        return {
            "tasks": self.tasks,
            "tasks_run": self.tasks_run,
            "tasks_reused": self.tasks_reused,
            "tasks_repaired": len(self.repaired),
            "scheduler": self.scheduler,
            "workers": self.workers,
            "store": str(self.store),
            "wall_s": self.wall_s,
        }


def run_sweep(
    sweep: Sweep,
    store: str | Path,
    *,
    scheduler: Any = None,
    workers: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
    connect_timeout: float = 10.0,
) -> SweepReport:
    """Run ``sweep`` into the Zarr store at ``store``.

    Args:
        sweep: the grid and its tasks.
        store: the store's directory (e.g. ``OUT/sweep.zarr``).
        scheduler: ``None`` or ``"threads"`` (this process), ``"local"`` (a Dask ``LocalCluster``
            of ``workers`` processes), a scheduler address ``"tcp://host:port"``, or a
            ``distributed.Client`` / cluster object.
        workers: threads or local worker processes (default: the usable cores; 1 thread when
            training on CUDA). Not for an address: the cluster has its own workers.
        resume: reuse the store's finished tasks and run only the rest (the store's settings
            must match the sweep's); a missing store is created.
        overwrite: replace a store that holds a sweep.
        progress: ``None``: a bar on a terminal, a line every few seconds elsewhere; ``False``:
            nothing.
        connect_timeout: seconds to wait for a scheduler at an address.

    Returns:
        A :class:`SweepReport`. Read the results with :func:`toysup.sweep.open_sweep`.

    Raises:
        ValueError, TypeError: bad options or configurations (before anything is written).
        StoreExistsError, SweepMismatchError, StoreLockedError: see
            :meth:`toysup.sweep.store.SweepStore.open`.
        SchedulerUnreachableError: no scheduler at the address within ``connect_timeout``.
        ImportError: a Dask scheduler without dask.distributed installed (says how to install).
        KeyboardInterrupt: Ctrl-C or SIGTERM; finished tasks stay in the store.
    """
    if not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be a toysup.sweep.Sweep, got {type(sweep).__name__}")
    kind = _check_options(scheduler, workers, resume, overwrite, progress, connect_timeout)
    tasks = sweep.tasks()  # validates every configuration before anything is written
    history = not any(
        sweep.varies(f) for f in ("training.steps", "training.log_every", "training.snapshot_steps")
    )
    started = time.perf_counter()
    engine: Engine | None = None
    if kind in ("address", "client"):  # connect first: an unreachable scheduler writes nothing
        engine = DaskEngine(scheduler, workers, connect_timeout=connect_timeout)
    elif kind == "local":
        import_distributed()  # say how to install Dask before writing anything
    run: list[int] = []
    try:
        with _Signals() as signals:
            opened = SweepStore.open(store, sweep, resume=resume, overwrite=overwrite)
            try:
                finished = opened.finished()
                repaired = opened.corrupt(finished)
                opened.forget(repaired)
                for i in repaired:
                    del finished[i]
                opened.clear_unfinished(finished)
                # longest first, so that no long task starts last (results do not depend on order)
                todo = sorted((t for t in tasks if t.index not in finished), key=lambda t: -t.cost)
                if todo:
                    opened.drop_extras()
                    engine = engine or _engine(kind, scheduler, workers, sweep, connect_timeout)
                    _run(engine, todo, history, opened, signals, run, progress)
            finally:
                opened.close()
    finally:
        if engine is not None:
            engine.close()
    return SweepReport(
        store=Path(store),
        tasks=len(tasks),
        tasks_run=len(run),
        tasks_reused=len(finished),
        scheduler=engine.description if engine is not None else _describe(kind, scheduler),
        workers=engine.workers if engine is not None else 0,
        wall_s=time.perf_counter() - started,
        run=tuple(run),
        repaired=tuple(repaired),
    )


def _run(
    engine: Engine,
    todo: list[Task],
    history: bool,
    store: SweepStore,
    signals: _Signals,
    run: list[int],
    progress: bool | None,
) -> None:
    """Run ``todo`` on ``engine``, writing each task as it finishes (appended to ``run``)."""
    bar = Progress(
        len(todo), desc="sweep", enabled=progress, line_interval_s=PROGRESS_LINE_S, unit="tasks"
    )
    bar.set_note(f"{engine.workers} workers ({engine.description})")
    try:
        for task, output in engine.results(todo, history=history):
            with signals.deferred():  # a task is written whole, even on Ctrl-C
                store.write_task(task, output)
            run.append(task.index)
            bar.update(1)
    finally:
        bar.close()


def _check_options(
    scheduler: Any, workers: Any, resume: Any, overwrite: Any, progress: Any, timeout: Any
) -> str:
    """Validate the options; return the engine kind: "threads", "local", "address", "client"."""
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
    for name, value in (("resume", resume), ("overwrite", overwrite)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {value!r}")
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"connect_timeout must be a positive number of seconds, got {timeout!r}")
    if scheduler is None or scheduler == "threads":
        return "threads"
    if scheduler == "local":
        return "local"
    if isinstance(scheduler, str):
        if "://" not in scheduler:
            raise ValueError(
                f"scheduler must be 'threads', 'local' or a Dask scheduler address such as "
                f"'tcp://10.0.0.5:8786', got {scheduler!r}"
            )
        if workers is not None:
            raise ValueError(
                f"workers={workers} applies to 'threads' and 'local'; the scheduler at "
                f"{scheduler} has the workers started with it"
            )
        return "address"
    return "client"


def _engine(kind: str, scheduler: Any, workers: int | None, sweep: Sweep, timeout: float) -> Engine:
    if kind == "threads":
        return ThreadEngine(workers or (1 if _on_cuda(sweep) else usable_cores()))
    return DaskEngine(scheduler, workers, connect_timeout=timeout)


def _describe(kind: str, scheduler: Any) -> str:
    return kind if kind in ("threads", "local") else str(scheduler)


def _on_cuda(sweep: Sweep) -> bool:
    """Whether the tasks train on a GPU (then one at a time: each fills the device)."""
    device = sweep.training.device
    if device.startswith("cuda"):
        return True
    if device != "auto":
        return False
    import torch

    return bool(torch.cuda.is_available())


class _Signals:
    """In the main thread: SIGINT and SIGTERM stop the run, except inside :meth:`deferred` (a task
    being written), where they take effect when it ends. Stopping calls the handler that was in
    place before (e.g. a job's SIGTERM handler that raises its own exception), else raises
    KeyboardInterrupt."""

    def __init__(self) -> None:
        self._old: dict[int, Any] = {}
        self._writing = False
        self._pending: int | None = None

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is not signal.SIG_IGN:  # e.g. under nohup: keep ignoring
                    self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self._writing:
            self._pending = signum
            return
        self._stop(signum, frame)

    def _stop(self, signum: int, frame: Any) -> None:
        previous = self._old.get(signum)
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signum, frame)
        raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")

    @contextmanager
    def deferred(self) -> Iterator[None]:
        self._writing = True
        try:
            yield
        finally:
            self._writing = False
            if self._pending is not None:
                signum, self._pending = self._pending, None
                self._stop(signum, None)
