"""Engines: where a sweep's tasks run. Each yields ``(task, output)`` as tasks finish; the caller
(this process, the only writer) stores them.

- :class:`ThreadEngine`: worker threads of this process (the default; no Dask import).
- :class:`DaskEngine`: a Dask cluster, either a ``LocalCluster`` of worker processes started here
  (``"local"``), an existing scheduler by address (``"tcp://host:port"``), or a
  ``distributed.Client``/cluster object (e.g. from dask-jobqueue); docs/sweeps.md has recipes.

A task's result does not depend on the engine: each task is one :func:`toysup.train` call whose
results do not depend on its worker threads (docs/training.md), with a seed derived from its key.
"""

from __future__ import annotations

import ctypes
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any, Protocol

from toysup.sweep.sweep import Task
from toysup.sweep.task import run_task

INSTALL_DASK = (
    "pip install -e '.[dask]' in a checkout of toysup, or pip install 'dask[distributed]'"
)


class SchedulerUnreachableError(ConnectionError):
    """No Dask scheduler answered at the address within the timeout."""


class Engine(Protocol):
    description: str  # "threads", "local" or the scheduler's address
    workers: int

    def results(self, tasks: list[Task], *, history: bool) -> Iterator[tuple[Task, dict[str, Any]]]:
        """Run ``tasks``; yield each with its output as it finishes; raise a task's error."""
        ...

    def close(self) -> None: ...


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _Cancelled(BaseException):
    """Raised inside a worker thread to stop its task (the run was interrupted or failed)."""


def _cancel(threads: list[threading.Thread], *, grace_s: float = 5.0) -> None:
    """Stop worker threads within about one training step: raise :class:`_Cancelled` in each
    (CPython's ``PyThreadState_SetAsyncExc``; the trainer's loop runs Python code every step),
    then wait up to ``grace_s`` for them. Joined threads cannot outlive the interpreter (torch
    aborts the process when a thread is killed at exit in the middle of its work)."""
    for thread in threads:
        if thread.is_alive() and thread.ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(thread.ident), ctypes.py_object(_Cancelled)
            )
    deadline = time.monotonic() + grace_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


class ThreadEngine:
    """Tasks on ``workers`` threads of this process, each task trained with one intra-op thread
    (or, when there are fewer tasks than workers, with the spare threads as trainer workers).
    When the caller stops early (Ctrl-C, a failed task), running tasks are cancelled within
    about a training step and their results dropped."""

    description = "threads"

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def results(self, tasks: list[Task], *, history: bool) -> Iterator[tuple[Task, dict[str, Any]]]:
        if not tasks:
            return
        import torch

        slots = min(self.workers, len(tasks))
        per_task = max(1, self.workers // slots)
        pending, take = iter(tasks), threading.Lock()
        done: queue.Queue[tuple[Task, dict[str, Any] | None, BaseException | None]] = queue.Queue()
        stop = threading.Event()

        def work() -> None:
            try:
                while not stop.is_set():
                    with take:
                        task = next(pending, None)
                    if task is None:
                        return
                    try:
                        out = run_task(
                            task.features, task.model, task.training,
                            threads=per_task, history=history,
                        )  # fmt: skip
                    except Exception as exc:  # handed to the caller, which raises it
                        done.put((task, None, exc))
                        return
                    done.put((task, out, None))
            except _Cancelled:
                return

        # One intra-op thread for all: trainers running side by side each set and restore
        # torch's (process-wide) thread count, which must stay 1 while any of them runs.
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        threads = [
            threading.Thread(target=work, name=f"toysup-sweep-{i}", daemon=True)
            for i in range(slots)
        ]
        try:
            for thread in threads:
                thread.start()
            for _ in range(len(tasks)):
                while True:
                    try:
                        task, out, error = done.get(timeout=0.1)
                        break
                    except queue.Empty:
                        continue
                if error is not None or out is None:
                    raise error or RuntimeError(f"task {task.index} returned nothing")
                yield task, out
        finally:
            stop.set()
            _cancel(threads)
            torch.set_num_threads(before)

    def close(self) -> None:
        pass


def import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            f"a Dask scheduler was asked for, but dask.distributed is not installed: {INSTALL_DASK}"
        ) from exc
    return distributed


class DaskEngine:
    """Tasks on a Dask cluster. ``scheduler``: ``"local"`` (a ``LocalCluster`` of ``workers``
    single-threaded processes on 127.0.0.1), an address (``"tcp://host:port"``; the cluster's
    own workers), a ``distributed.Client`` or a cluster object. Workers compute and return
    arrays; nothing but this process writes the store."""

    def __init__(self, scheduler: Any, workers: int | None, *, connect_timeout: float) -> None:
        distributed = import_distributed()
        self._cluster: Any = None
        self._own_client = True
        if scheduler == "local":
            self.workers = workers or usable_cores()
            self._cluster = distributed.LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
            )
            self.client = distributed.Client(self._cluster)
            self.description = "local"
        elif isinstance(scheduler, str):
            try:
                self.client = distributed.Client(
                    scheduler, timeout=connect_timeout, set_as_default=False
                )
            except (OSError, TimeoutError) as exc:
                raise SchedulerUnreachableError(
                    f"could not reach a Dask scheduler at {scheduler!r} within "
                    f"{connect_timeout:g} s ({type(exc).__name__}: {exc}); check the address "
                    "(tcp://HOST:PORT, as printed by `dask scheduler`), that the scheduler runs "
                    "and that this machine can reach its port"
                ) from None
            self.description = scheduler
            self.workers = len(self.client.scheduler_info().get("workers", {}))
        elif isinstance(scheduler, distributed.Client):
            self.client, self._own_client = scheduler, False
            self.description = str(scheduler.scheduler.address)
            self.workers = len(scheduler.scheduler_info().get("workers", {}))
        elif hasattr(scheduler, "scheduler_address"):  # a cluster object (dask-jobqueue, ...)
            self.client = distributed.Client(scheduler, set_as_default=False)
            self.description = str(scheduler.scheduler_address)
            self.workers = len(self.client.scheduler_info().get("workers", {}))
        else:
            raise TypeError(f"not a Dask scheduler: {scheduler!r}")

    def results(self, tasks: list[Task], *, history: bool) -> Iterator[tuple[Task, dict[str, Any]]]:
        distributed = import_distributed()
        run = uuid.uuid4().hex[:8]
        futures = {}
        for task in tasks:
            future = self.client.submit(
                run_task, task.features, task.model, task.training,
                threads=1, history=history, in_worker=True,
                key=f"toysup-task-{task.index}-{run}", pure=False,
            )  # fmt: skip
            futures[future.key] = (future, task)
        try:
            pending = [f for f, _ in futures.values()]
            for future in distributed.as_completed(pending, loop=self.client.loop):
                _, task = futures.pop(future.key)
                out = future.result()  # raises the task's error here
                future.release()
                yield task, out
        finally:
            if futures:
                self.client.cancel([f for f, _ in futures.values()])

    def close(self) -> None:
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
