"""The sweep options of jobs that train through :mod:`toysup.sweep` (docs/sweeps.md, "Jobs").

``--store PATH`` (default ``OUT/sweep.zarr``), ``--resume``, ``--scheduler ADDRESS|local`` and
``--workers N`` (the common option, :mod:`verify.job.options`). A job

1. adds them with :func:`add_sweep_options`;
2. checks them with :func:`check_sweep_options` once its sweeps are known (in its ``settings``
   step, so a bad value exits with code 2 before anything is written);
3. trains with :func:`run_sweeps`, and computes its outputs from the arrays it returns (read back
   from the store), adding ``summary["sweep"]`` to its ``summary.json``;
4. declares ``keep=kept_entries`` on its :class:`~verify.job.runner.Job`.

Where the store lives. The job's files are written in a temporary directory and swapped into
``--out`` at the end (:mod:`verify.job.outdir`), but the store must outlive a run killed by
``kill -9`` so that ``--resume`` finds its finished tasks. So the default store is written in
place, in ``OUT/sweep.zarr``, never in the temporary directory; ``--out`` treats it as a *kept
entry*: it moves into the new directory with the swap, a directory holding only it counts as an
earlier run, and a run killed during the swap gets it back. Without ``--resume`` a kept store is
replaced, like the rest of ``--out``; a store elsewhere (``--store /scratch/pd.zarr``) is never
replaced silently: a second run needs ``--resume`` or a new path.

A job with several sweeps (e.g. one per hidden size) keeps them in one Zarr group: ``--store``
holds one sweep store per name (``xarray.open_zarr(store, group=name)``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from verify.job.options import check_count

#: The default store, inside ``--out``.
STORE_NAME = "sweep.zarr"
#: Seconds to wait for a scheduler at an address before refusing it.
CONNECT_TIMEOUT_S = 10.0
#: Root attribute of a store that groups several sweeps.
GROUP_ATTRIBUTE = "toysup_sweeps"


def add_sweep_options(parser: argparse.ArgumentParser) -> None:
    """``--store``, ``--resume``, ``--scheduler``, and ``--workers`` unless the parser has it
    (:func:`~verify.job.options.add_common_options` adds it)."""
    add = parser.add_argument
    add(
        "--store",
        help="the training results' Zarr store (default: OUT/sweep.zarr, kept across runs)",
    )
    add(
        "--resume",
        action="store_true",
        help="reuse the store's finished tasks (same settings) and train only the rest",
    )
    add(
        "--scheduler",
        metavar="ADDRESS|local",
        help="run the training tasks on Dask: 'local' (a cluster of --workers processes on this "
        "machine) or a scheduler's address, tcp://HOST:PORT (default: threads of this process)",
    )
    add(
        "--task-size",
        type=int,
        metavar="N",
        help="configurations per training task, the unit of resuming and of distribution "
        "(default: about one trainer block, docs/sweeps.md)",
    )
    if "--workers" not in parser._option_string_actions:
        add("--workers", type=int, help="worker threads or processes (default: the usable cores)")


@dataclass(frozen=True)
class SweepOptions:
    """The parsed sweep options. ``store``: absolute path; ``kept``: its name when it lies
    directly in ``--out`` (moved with the output directory), else None; ``scheduler``: None
    (threads), ``"local"`` or an address; ``task_size``: for the job's ``Sweep(task_size=...)``
    (None: the default)."""

    store: Path
    resume: bool
    scheduler: str | None
    workers: int | None
    kept: str | None
    task_size: int | None = None

    def paths(self, names: Sequence[str]) -> dict[str, Path]:
        """The store of each sweep: the store itself for one unnamed sweep (``[""]``), else one
        group per name."""
        if list(names) == [""]:
            return {"": self.store}
        return {name: self.store / name for name in names}


def sweep_options(args: argparse.Namespace) -> SweepOptions:
    """Parse the options (no I/O; ``--task-size`` checked)."""
    out = Path(args.out).expanduser().absolute()
    store = out / STORE_NAME if args.store is None else Path(args.store).expanduser().absolute()
    scheduler = None if args.scheduler in (None, "threads") else args.scheduler
    kept = store.name if store.parent == out else None
    task_size = getattr(args, "task_size", None)
    if task_size is not None:
        check_count("--task-size", task_size, minimum=1)
    return SweepOptions(store, bool(args.resume), scheduler, args.workers, kept, task_size)


def kept_entries(args: argparse.Namespace) -> list[str]:
    """What ``--out`` keeps across runs (the default store): for ``Job(keep=...)``."""
    kept = sweep_options(args).kept
    return [] if kept is None else [kept]


def check_sweep_options(
    args: argparse.Namespace,
    sweeps: Mapping[str, Any] | None = None,
    *,
    timeout: float = CONNECT_TIMEOUT_S,
) -> SweepOptions:
    """Check the options before anything is computed; raise ValueError naming the value.

    - ``--store``: not a file, not ``--out`` or a folder above it, not deeper inside ``--out``
      than one level; an existing directory must be a store of these sweeps.
    - ``--resume`` with a store of other sweeps (names the settings that differ); a store outside
      ``--out`` that holds a sweep, without ``--resume``.
    - ``--task-size``: a positive integer.
    - ``--scheduler``: ``local`` needs dask.distributed; an address must answer within
      ``timeout`` seconds; ``--workers`` is not for an address.

    ``sweeps``: ``{name: toysup.sweep.Sweep}`` (``{"": sweep}`` for a job with one).
    """
    opts = sweep_options(args)
    out = Path(args.out).expanduser().absolute()
    store = opts.store
    if store == out or store in out.parents:
        raise ValueError(f"--store {store} must not be --out ({out}) or a folder above it")
    if out in store.parents and store.parent != out:
        raise ValueError(
            f"--store {store} lies inside --out {out} but not directly in it; give "
            f"{out / STORE_NAME} (the default) or a path outside --out"
        )
    if store.exists() and not store.is_dir():
        raise ValueError(f"--store {store} is a file; give a directory such as {out / STORE_NAME}")
    if sweeps is not None:
        _check_stores(opts, sweeps)
    _check_scheduler(opts, timeout)
    return opts


def _check_stores(opts: SweepOptions, sweeps: Mapping[str, Any]) -> None:
    from toysup.sweep.store import SCHEMA, differences, read_manifest, read_settings, settings_of

    names = list(sweeps)
    if not opts.store.is_dir() or not any(opts.store.iterdir()):
        return
    single = names == [""]
    if (read_settings(opts.store) if single else _group_names(opts.store)) is None:
        raise ValueError(
            f"--store {opts.store} is a non-empty directory that holds no toysup sweep store; "
            "choose another path"
        )
    grouped = None if single else _group_names(opts.store)
    if opts.resume and grouped is not None and sorted(grouped) != sorted(names):
        raise ValueError(
            f"--store {opts.store} holds the sweeps {grouped}, this run has {names}, so --resume "
            "cannot continue it; use the options of the run that wrote it, or drop --resume"
        )
    for name, path in opts.paths(names).items():
        stored = read_settings(path) if path.is_dir() else None
        if stored is None:
            continue
        if not opts.resume:
            if opts.kept is None:
                done = len(read_manifest(path))
                raise ValueError(
                    f"--store {opts.store} holds a sweep ({done} of {stored.get('n_tasks')} "
                    "tasks finished); add --resume to continue it, or give a new --store"
                )
            continue  # a kept store is replaced with the rest of --out
        where = f"--store {opts.store}" + (f" (sweep {name!r})" if name else "")
        if stored.get("schema") != SCHEMA:
            raise ValueError(
                f"{where} has store schema {stored.get('schema')!r}, this toysup writes "
                f"{SCHEMA}; --resume needs a store of this version: drop --resume or give "
                "another --store"
            )
        wanted = settings_of(sweeps[name])
        diff = differences({k: v for k, v in stored.items() if k in wanted}, wanted)
        if diff:
            shown = "; ".join(diff[:6]) + (f"; and {len(diff) - 6} more" if len(diff) > 6 else "")
            raise ValueError(
                f"{where} holds another sweep, so --resume cannot continue it with these "
                f"options. Settings that differ: {shown}. Use the options of the run that wrote "
                "it, or drop --resume to start again"
            )


def _check_scheduler(opts: SweepOptions, timeout: float) -> None:
    scheduler = opts.scheduler
    if scheduler is None:
        return
    if scheduler == "local":
        try:
            import distributed  # noqa: F401
        except ImportError:
            from toysup.sweep.engines import INSTALL_DASK

            raise ValueError(
                f"--scheduler local needs dask.distributed, which is not installed: {INSTALL_DASK}"
            ) from None
        return
    parts = urlsplit(scheduler)
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or parts.port is None:
        raise ValueError(
            f"--scheduler must be 'local' or a Dask scheduler address tcp://HOST:PORT (or "
            f"tls://), got {scheduler!r}"
        )
    if opts.workers is not None:
        raise ValueError(
            f"--workers {opts.workers} applies to threads and --scheduler local; the scheduler "
            f"at {scheduler} has the workers started with it"
        )
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=timeout).close()
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
        raise ValueError(
            f"--scheduler {scheduler}: no Dask scheduler answered within {timeout:g} s "
            f"({reason}); check the address (as printed by `dask scheduler`), that the "
            "scheduler runs and that this machine can reach its port"
        ) from None


def _group_names(path: Path) -> list[str] | None:
    """The sweeps a group store holds, or None if ``path`` is not one."""
    try:
        meta = json.loads((path / "zarr.json").read_text())
        names = meta["attributes"][GROUP_ATTRIBUTE]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return [str(n) for n in names] if isinstance(names, list) else None


def _write_group(path: Path, names: Sequence[str]) -> None:
    """The root of a store of several sweeps: a Zarr v3 group naming them."""
    path.mkdir(parents=True, exist_ok=True)
    meta = {"zarr_format": 3, "node_type": "group", "attributes": {GROUP_ATTRIBUTE: list(names)}}
    tmp = path / f".zarr.json.{os.getpid()}"
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, path / "zarr.json")


@dataclass(frozen=True)
class SweepRun:
    """What :func:`run_sweeps` did. ``arrays[name]``: every variable and coordinate of that
    sweep read back from the store (:func:`toysup.sweep.load_arrays`); ``summary``: for
    ``summary.json``'s ``sweep`` key; ``reports``: :class:`toysup.sweep.SweepReport` per name;
    ``info[name]``: ``device`` and ``dtype`` the tasks trained with (from the manifest)."""

    arrays: dict[str, dict[str, Any]]
    summary: dict[str, Any]
    reports: dict[str, Any]
    info: dict[str, dict[str, Any]]


def run_sweeps(
    sweeps: Mapping[str, Any],
    options: SweepOptions | argparse.Namespace,
    *,
    progress: bool | None = None,
    timeout: float = CONNECT_TIMEOUT_S,
) -> SweepRun:
    """Run ``{name: Sweep}`` (``{"": sweep}`` for one) into the store, in order, reusing
    finished tasks with ``--resume``; return the arrays read back from the store and the summary
    ``{"tasks", "tasks_run", "tasks_reused", "scheduler"}`` (sums over the sweeps).

    A run that fails or is interrupted before any task finished removes the store it created
    (nothing to resume); otherwise the finished tasks stay in the store."""
    opts = options if isinstance(options, SweepOptions) else sweep_options(options)
    names = list(sweeps)
    if not names:
        raise ValueError("run_sweeps needs at least one sweep")
    new_parent = not opts.store.parent.exists()
    new_store = not opts.store.exists()
    if "" in names and len(names) > 1:
        raise ValueError(f"a sweep named '' must be the only one, got names {names}")
    if names != [""]:
        for name in names:
            if not name or "/" in name or name.startswith("."):
                raise ValueError(f"sweep names must be plain folder names, got {name!r}")
    try:
        if names != [""]:
            stale = set(_group_names(opts.store) or ()) - set(names)
            for name in stale if not opts.resume else ():
                shutil.rmtree(opts.store / name, ignore_errors=True)
            _write_group(opts.store, names)
        opts.store.parent.mkdir(parents=True, exist_ok=True)
        return _run(sweeps, opts, names, progress, timeout)
    except BaseException:
        _discard_if_empty(opts, names, new_store=new_store, new_parent=new_parent)
        raise


def _discard_if_empty(
    opts: SweepOptions, names: list[str], *, new_store: bool, new_parent: bool
) -> None:
    """After a failed or interrupted run: a store this run created that holds no finished task
    has nothing to resume, so it goes (and the folder created for it, if empty), leaving no
    trace; a store with finished tasks stays for ``--resume``."""
    from toysup.sweep.store import read_manifest

    if not new_store:
        return
    for path in opts.paths(names).values():
        if path.is_dir() and read_manifest(path):
            return
    shutil.rmtree(opts.store, ignore_errors=True)
    if new_parent:
        try:
            opts.store.parent.rmdir()
        except OSError:
            pass


def _run(
    sweeps: Mapping[str, Any],
    opts: SweepOptions,
    names: list[str],
    progress: bool | None,
    timeout: float,
) -> SweepRun:
    from toysup.sweep import load_arrays, run_sweep

    scheduler: Any = opts.scheduler
    client = None
    if scheduler is not None and len(names) > 1:  # one cluster for every sweep
        from toysup.sweep.engines import DaskEngine

        client = DaskEngine(scheduler, opts.workers, connect_timeout=timeout)
        scheduler = client.client
    reports: dict[str, Any] = {}
    arrays: dict[str, dict[str, Any]] = {}
    info: dict[str, dict[str, Any]] = {}
    try:
        for name, path in opts.paths(names).items():
            reports[name] = run_sweep(
                sweeps[name],
                path,
                scheduler=scheduler,
                workers=None if client is not None else opts.workers,
                resume=opts.resume,
                overwrite=not opts.resume,
                progress=progress,
                connect_timeout=timeout,
            )
            arrays[name] = load_arrays(path)
            info[name] = _training_info(path)
    finally:
        if client is not None:
            client.close()
    summary = {
        "tasks": sum(r.tasks for r in reports.values()),
        "tasks_run": sum(r.tasks_run for r in reports.values()),
        "tasks_reused": sum(r.tasks_reused for r in reports.values()),
        "scheduler": "threads" if opts.scheduler is None else opts.scheduler,
        "workers": max(r.workers for r in reports.values()),
        "store": str(opts.store),
        "tasks_repaired": sum(len(r.repaired) for r in reports.values()),
    }
    return SweepRun(arrays=arrays, summary=summary, reports=reports, info=info)


def _training_info(path: Path) -> dict[str, Any]:
    """``device`` and ``dtype`` of the finished tasks (joined with ', ' where they differ)."""
    from toysup.sweep.store import read_manifest

    records = read_manifest(path).values()
    return {
        key: ", ".join(sorted({str(r.get("info", {}).get(key)) for r in records}))
        for key in ("device", "dtype")
    }
