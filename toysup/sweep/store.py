"""The sweep store: a Zarr (v3) group, one chunk per task, a manifest of finished tasks.

Layout (docs/sweeps.md, "The store")::

    sweep.zarr/
      zarr.json               group; attribute "toysup_sweep": schema, the sweep's settings, tasks
      density/, importance/   coordinates: each axis's labels (and seed, hidden, feature, ...)
      feature_density/, ...   per-point density and importance, (axes..., feature)
      W/, b/, loss/, ...      results, (axes..., seed, hidden, feature): one chunk per task
      complete/               (axes...) True where the task's chunks are all written
      toysup-manifest/T.json  one record per finished task: its key digest and checksum
      toysup-writer.lock      while a writer runs

A task is finished when its manifest record exists (written by rename after all its chunks);
the record's checksum (SHA-256 of the task's values) finds corrupt or partial chunks, which are
then cleared and run again. Only the process holding the lock writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from toysup.sweep.lock import WriterLock
from toysup.sweep.sweep import Sweep, Task

SCHEMA = 1
ATTRIBUTE = "toysup_sweep"
MANIFEST = "toysup-manifest"
LOCK = "toysup-writer.lock"


class StoreExistsError(FileExistsError):
    """The store holds a sweep and neither resume nor overwrite was asked."""


class SweepMismatchError(ValueError):
    """The store holds another sweep (a setting differs)."""


def fill_value(dtype: np.dtype) -> Any:
    """What an unwritten entry reads as: NaN, -1, False or ""."""
    return {"f": np.nan, "c": np.nan, "b": False, "U": "", "T": "", "O": ""}.get(dtype.kind, -1)


def zarr_dtype(dtype: np.dtype) -> Any:
    """The Zarr dtype for a numpy dtype: strings are stored as variable-length UTF-8."""
    return str if dtype.kind in "OUT" else dtype


def _dtype_name(dtype: np.dtype) -> str:
    return "str" if dtype.kind in "OUT" else dtype.str


def create_filled(group: Any, name: str, values: np.ndarray, dims: list[str], **kwargs: Any) -> Any:
    """A whole (coordinate) array, strings included."""
    values = np.asarray(values)
    array = group.create_array(
        name, shape=values.shape, dtype=zarr_dtype(values.dtype), dimension_names=dims, **kwargs
    )
    array[...] = values
    return array


def checksum(values: dict[str, np.ndarray]) -> str:
    """SHA-256 over each array's name, dtype, shape and values, in name order."""
    digest = hashlib.sha256()
    for name in sorted(values):
        a = np.ascontiguousarray(values[name])
        text = a.dtype.kind in "OUT"  # strings: however they were read back (U, T or objects)
        digest.update(f"{name}|{'str' if text else a.dtype.str}|{a.shape}|".encode())
        if text:
            digest.update("\0".join(str(v) for v in a.ravel()).encode())
        else:
            digest.update(a.tobytes())
    return digest.hexdigest()


def settings_of(sweep: Sweep) -> dict[str, Any]:
    """What a store records about its sweep, and what resuming compares."""
    tasks = hashlib.sha256("".join(t.digest for t in sweep.tasks()).encode()).hexdigest()
    return {
        "schema": SCHEMA,
        "sweep": sweep.to_dict(),
        "dims": list(sweep.dims),
        "shape": list(sweep.shape),
        "task_shape": list(sweep.task_shape),
        "n_tasks": sweep.n_tasks,
        "tasks_digest": tasks,
    }


def differences(stored: Any, wanted: Any, path: str = "") -> list[str]:
    """Where two settings trees differ, as ``"path: store has X, this sweep has Y"``."""
    if isinstance(stored, dict) and isinstance(wanted, dict):
        out = []
        for key in sorted(set(stored) | set(wanted), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in stored or key not in wanted:
                side = "this sweep" if key not in stored else "the store"
                out.append(f"{where}: only {side} has it")
            else:
                out.extend(differences(stored[key], wanted[key], where))
        return out
    if isinstance(stored, list) and isinstance(wanted, list) and len(stored) == len(wanted):
        return [
            d
            for i, (s, w) in enumerate(zip(stored, wanted))
            for d in differences(s, w, f"{path}[{i}]")
        ]
    if stored != wanted:
        return [f"{path}: store has {_short(stored)}, this sweep has {_short(wanted)}"]
    return []


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def read_settings(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The store's recorded settings, or None if ``path`` holds no sweep store."""
    meta = Path(path) / "zarr.json"
    try:
        data = json.loads(meta.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{meta} is not readable JSON: {exc}") from exc
    settings = data.get("attributes", {}).get(ATTRIBUTE) if isinstance(data, dict) else None
    return settings if isinstance(settings, dict) else None


def read_manifest(path: str | os.PathLike[str]) -> dict[int, dict[str, Any]]:
    """The finished tasks' records, by task index (unreadable records are left out)."""
    out = {}
    folder = Path(path) / MANIFEST
    for file in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(file.read_text())
            out[int(record["task"])] = record
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


def consolidate(path: Path) -> None:
    """Rewrite the consolidated metadata (readers then need no directory listing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # v3 consolidation is not in the spec; non-Zarr entries
        zarr.consolidate_metadata(str(path))


def _versions() -> dict[str, str]:
    import torch

    import toysup

    return {
        "toysup": getattr(toysup, "__version__", "unknown"),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "zarr": zarr.__version__,
        "python": platform.python_version(),
    }


class SweepStore:
    """A store opened for writing by this process (it holds the lock). Use :meth:`open`."""

    def __init__(self, path: Path, sweep: Sweep, lock: WriterLock) -> None:
        self.path, self.sweep, self.lock = path, sweep, lock
        self.group = zarr.open_group(str(path), mode="r+", use_consolidated=False)
        self.settings = read_settings(path) or {}
        self.variables: dict[str, dict[str, Any]] = dict(self.settings.get("variables", {}))
        self._arrays: dict[str, Any] = {}
        self._coords: dict[str, np.ndarray] = {}  # the results' own coordinates (log_step, ...)

    # --- opening ----------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        sweep: Sweep,
        *,
        resume: bool = False,
        overwrite: bool = False,
    ) -> SweepStore:
        """Create the store, or reopen it to resume (settings must match), or replace it.

        Raises:
            ValueError: ``path`` is a file, or a non-empty directory that is not a sweep store.
            StoreExistsError: the store holds a sweep and neither ``resume`` nor ``overwrite``.
            SweepMismatchError: ``resume`` on a store of another sweep (names what differs).
            StoreLockedError: another process writes to it.
        """
        if resume and overwrite:
            raise ValueError("give resume=True or overwrite=True, not both")
        path = Path(path)
        wanted = settings_of(sweep)
        if path.exists() and not path.is_dir():
            raise ValueError(f"store path {path} is a file; give a directory (e.g. out/sweep.zarr)")
        stored = read_settings(path) if path.is_dir() else None
        if path.is_dir() and stored is None and any(path.iterdir()):
            raise ValueError(
                f"{path} is a non-empty directory that holds no toysup sweep store; choose "
                "another store path"
            )
        if stored is None:
            return cls._create(path, sweep, wanted)
        lock = WriterLock(path / LOCK).acquire()
        try:
            if overwrite:
                return cls._create(path, sweep, wanted, replacing=lock)
            if not resume:
                done = len(read_manifest(path))
                raise StoreExistsError(
                    f"{path} holds a sweep ({done} of {stored.get('n_tasks')} tasks finished); "
                    "resume it (resume=True, --resume) or replace it (overwrite=True)"
                )
            if stored.get("schema") != SCHEMA:
                raise SweepMismatchError(
                    f"{path} has store schema {stored.get('schema')!r}; this toysup writes schema "
                    f"{SCHEMA}: resume it with the toysup that wrote it, or start a new store"
                )
            stored_core = {k: v for k, v in stored.items() if k in wanted}
            diff = differences(stored_core, wanted)
            if diff:
                shown = "; ".join(diff[:6]) + (
                    f"; and {len(diff) - 6} more" if len(diff) > 6 else ""
                )
                raise SweepMismatchError(
                    f"{path} holds another sweep, so it cannot be resumed with this one. "
                    f"Settings that differ: {shown}"
                )
            store = cls(path, sweep, lock)
            consolidate(path)  # in case an earlier writer died between creating and consolidating
            return store
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _create(
        cls, path: Path, sweep: Sweep, settings: dict[str, Any], replacing: WriterLock | None = None
    ) -> SweepStore:
        """Write the empty store in a temporary sibling (holding the lock) and rename it into
        place, so it appears whole, already locked by this process."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        lock = WriterLock(tmp / LOCK)
        try:
            _write_skeleton(tmp, sweep, {**settings, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                         "versions": _versions(), "variables": {}})  # fmt: skip
            lock.acquire()  # after the skeleton: creating the group empties the directory
            if replacing is not None:
                old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
                os.replace(path, old / "store")
                replacing.held = False
                shutil.rmtree(old, ignore_errors=True)
            try:
                os.rename(tmp, path)  # replaces an empty directory; fails on a non-empty one
            except OSError as exc:
                raise ValueError(
                    f"{path} appeared while this store was being created: {exc}"
                ) from exc
        except BaseException:
            lock.release()
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        lock.path = path / LOCK
        return cls(path, sweep, lock)

    # --- the manifest -----------------------------------------------------------------------
    def finished(self) -> dict[int, dict[str, Any]]:
        """Records of the finished tasks whose digest matches this sweep's task."""
        tasks = self.sweep.tasks()
        return {
            i: r for i, r in read_manifest(self.path).items()
            if 0 <= i < len(tasks) and r.get("digest") == tasks[i].digest
        }  # fmt: skip

    def corrupt(self, records: dict[int, dict[str, Any]]) -> list[int]:
        """The finished tasks whose stored values no longer match their checksum."""
        if not records:
            return []
        if not self.variables:  # records without arrays: nothing to check them against
            return sorted(records)
        tasks = self.sweep.tasks()
        whole: dict[str, np.ndarray | None] = {}
        for name in self.variables:
            try:
                whole[name] = self._array(name)[...]
            except Exception:  # a chunk that does not decode: check task by task
                whole[name] = None
        bad = []
        for i, record in records.items():
            values = {}
            try:
                for name in self.variables:
                    full = whole[name]
                    where = tasks[i].slices
                    values[name] = full[where] if full is not None else self._array(name)[where]
            except Exception:
                bad.append(i)
                continue
            if checksum(values) != record.get("checksum"):
                bad.append(i)
        return sorted(bad)

    def forget(self, indices: Iterable[int]) -> None:
        """Drop tasks from the manifest (they will run again)."""
        for i in indices:
            (self.path / MANIFEST / f"{i}.json").unlink(missing_ok=True)

    def clear_unfinished(self, finished: Iterable[int]) -> int:
        """Delete every chunk file of a task that is not finished (left by a writer that died
        mid-task, or corrupt), so readers see those tasks as absent. Returns the files deleted."""
        keep = set(finished)
        grid, d = self.sweep.task_grid, len(self.sweep.dims)
        removed = 0
        for name in [*self.variables, "complete"]:
            root = self.path / name / "c"
            for folder, _, files in os.walk(root):
                for file in files:
                    parts = Path(folder, file).relative_to(root).parts
                    try:
                        position = tuple(int(p) for p in parts[:d])
                        task = int(np.ravel_multi_index(position, grid))
                    except ValueError:
                        continue
                    if task not in keep:
                        Path(folder, file).unlink(missing_ok=True)
                        removed += 1
        return removed

    def drop_extras(self) -> None:
        """Delete the variables a job added (:func:`toysup.sweep.write_variable`): they were
        derived from results about to change."""
        extras = self.settings.get("extras", {})
        if not extras:
            return
        for name in extras:
            if name in self.group:
                del self.group[name]
        self.settings = {**self.settings, "extras": {}}
        self.group.attrs[ATTRIBUTE] = self.settings
        consolidate(self.path)

    # --- writing a task ---------------------------------------------------------------------
    def write_task(self, task: Task, output: dict[str, Any]) -> dict[str, Any]:
        """Write a finished task's arrays (one chunk each), mark it complete, then record it in
        the manifest (atomically: a record file renamed into place). Returns the record."""
        self.lock.check()
        arrays = output["arrays"]
        if not self.variables:
            self._create_variables(task, output)
        self._check_output(task, output)
        values = {}
        for name, spec in self.variables.items():
            _, value = arrays[name]
            values[name] = np.asarray(value, dtype=spec["dtype"]).reshape(
                *task.shape, *spec["trailing"]
            )
        for name in sorted(values):
            self._array(name)[task.slices] = values[name]
        self._array("complete")[task.slices] = True
        record = {
            "task": task.index,
            "digest": task.digest,
            "checksum": checksum(values),
            "region": [list(r) for r in task.region],
            "seed": task.training.seed,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "info": output.get("info", {}),
        }
        folder = self.path / MANIFEST
        tmp = folder / f".{task.index}.json.tmp"
        tmp.write_text(json.dumps(record, default=str))
        os.replace(tmp, folder / f"{task.index}.json")
        return record

    def _array(self, name: str) -> Any:
        if name not in self._arrays:
            self._arrays[name] = self.group[name]
        return self._arrays[name]

    def _create_variables(self, task: Task, output: dict[str, Any]) -> None:
        """Create every result array, shaped by the grid and the first task's trailing shapes."""
        sweep, coords = self.sweep, output.get("coords", {})
        for name, (dims, values) in coords.items():
            create_filled(self.group, name, values, list(dims))
        names = set(sweep.coords()) | {"seed", "hidden", "feature", *coords}
        non_dim = ["feature_density", "feature_importance"] + [
            c for c in sweep.coords() if c not in sweep.dims
        ]
        variables = {}
        for name, (dims, value) in output["arrays"].items():
            if name in names:
                raise ValueError(f"result array {name!r} has the name of a coordinate of the sweep")
            value = np.asarray(value)
            trailing = list(value.shape[1:])
            dtype = value.dtype
            all_dims = [*sweep.dims, *dims]
            attrs: dict[str, Any] = {
                "coordinates": " ".join(
                    c for c in non_dim if _dims_of(self.group, c) <= set(all_dims)
                )
            }
            self.group.create_array(
                name,
                shape=(*sweep.shape, *trailing),
                chunks=(*sweep.task_shape, *trailing),
                dtype=zarr_dtype(dtype),
                fill_value=fill_value(dtype),
                dimension_names=all_dims,
                attributes=attrs if attrs["coordinates"] else {},
            )
            variables[name] = {"dims": all_dims, "dtype": _dtype_name(dtype), "trailing": trailing}
        self.variables = variables
        self.group.attrs[ATTRIBUTE] = {**self.settings, "variables": variables}
        self.settings = read_settings(self.path) or {}
        consolidate(self.path)

    def _check_output(self, task: Task, output: dict[str, Any]) -> None:
        arrays = output["arrays"]
        missing = sorted(set(self.variables) - set(arrays))
        if missing:
            raise ValueError(f"task {task.index} returned no {missing}; the store holds them")
        for name, spec in self.variables.items():
            dims, value = arrays[name]
            shape = tuple(np.shape(value))
            expected = (task.n_configs, *spec["trailing"])
            if shape != expected or [*self.sweep.dims, *dims] != spec["dims"]:
                raise ValueError(
                    f"task {task.index}: {name} has shape {shape} and dims {dims}; the store "
                    f"holds shape {expected} and dims {spec['dims'][len(self.sweep.dims) :]}"
                )
        for name, (_, values) in output.get("coords", {}).items():
            if name not in self._coords:
                self._coords[name] = self._array(name)[...]
            if not np.array_equal(self._coords[name], np.asarray(values)):
                raise ValueError(f"task {task.index}: coordinate {name} differs from the store's")

    def close(self) -> None:
        self.lock.release()


def _dims_of(group: Any, name: str) -> set[str]:
    return set(group[name].metadata.dimension_names or ())


def _write_skeleton(path: Path, sweep: Sweep, settings: dict[str, Any]) -> None:
    """The group, its settings, the coordinates, the per-point densities and importances, the
    ``complete`` flags and the manifest folder."""
    group = zarr.open_group(str(path), mode="w", zarr_format=3, attributes={ATTRIBUTE: settings})
    for name, (dims, values) in sweep.coords().items():
        create_filled(group, name, values, list(dims))
    n, m, k = sweep.model.n_features, sweep.model.n_hidden, sweep.n_seeds
    for name, size in (("seed", k), ("hidden", m), ("feature", n)):
        create_filled(group, name, np.arange(size), [name])
    for name, grid in (
        ("feature_density", sweep.density),
        ("feature_importance", sweep.importance),
    ):
        create_filled(group, name, grid, [*sweep.dims, "feature"])
    group.create_array(
        "complete",
        shape=sweep.shape,
        chunks=sweep.task_shape,
        dtype=bool,
        fill_value=False,
        dimension_names=list(sweep.dims),
        attributes={"description": "True where the task's results are all written"},
    )
    (path / MANIFEST).mkdir()
    consolidate(path)
