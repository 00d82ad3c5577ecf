"""Reading a sweep store: a labelled xarray Dataset, plain numpy arrays, a tidy pandas table; and
writing a job's own variables (e.g. phase labels) next to the training results.

``xarray.open_zarr(path)`` reads a store directly; :func:`open_sweep` adds what the manifest
knows: a task the manifest does not list (a writer died mid-task, or is writing it now) reads as
absent, so a reader sees whole tasks only.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import zarr

from toysup.sweep.lock import WriterLock
from toysup.sweep.store import (
    ATTRIBUTE,
    LOCK,
    SCHEMA,
    checksum,
    consolidate,
    create_filled,
    fill_value,
    read_manifest,
    read_settings,
    zarr_dtype,
)
from toysup.sweep.sweep import Sweep

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr


def store_settings(store: str | os.PathLike[str]) -> dict[str, Any]:
    """The settings a store records; raises ValueError (naming the path) if it holds no store."""
    path = Path(store)
    settings = read_settings(path)
    if settings is None:
        raise ValueError(
            f"{path} holds no toysup sweep store (no zarr.json with the {ATTRIBUTE!r} attribute)"
        )
    if settings.get("schema") != SCHEMA:
        raise ValueError(
            f"{path}: store schema {settings.get('schema')!r}, this toysup reads schema {SCHEMA}"
        )
    return settings


def open_sweep(
    store: str | os.PathLike[str], *, complete_only: bool = True, verify: bool = False
) -> xr.Dataset:
    """The store as an in-memory :class:`xarray.Dataset`: dimensions = the sweep's axes, then
    ``seed``, ``hidden``, ``feature``, ``log_step``; coordinates = the axes' labels.

    ``complete_only``: tasks the manifest does not list read as absent (NaN, -1, False).
    ``verify``: check every finished task's checksum; a corrupt one raises ValueError (resuming
    the sweep runs such tasks again). ``attrs["tasks"]``/``attrs["tasks_finished"]`` count tasks.
    """
    import xarray as xr

    path = Path(store)
    settings = store_settings(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ds = xr.open_zarr(path, chunks=None)
    tasks = Sweep.from_dict(settings["sweep"]).tasks()
    manifest = read_manifest(path)
    finished = {
        i for i, r in manifest.items() if 0 <= i < len(tasks) and r.get("digest") == tasks[i].digest
    }
    variables = [v for v in settings.get("variables", {}) if v in ds]
    unreadable: set[int] = set()
    for v in variables:
        try:
            ds[v].load()
        except Exception:  # a chunk that does not decode: read task by task to find it
            array = zarr.open_array(str(path / v), mode="r")
            values = np.full(array.shape, fill_value(ds[v].dtype), dtype=ds[v].dtype)
            for task in tasks:
                try:
                    values[task.slices] = array[task.slices]
                except Exception:
                    unreadable.add(task.index)
            ds[v] = (ds[v].dims, values, ds[v].attrs)
    ds = ds.load()
    bad = sorted(unreadable & finished)
    if verify:
        bad = sorted(set(bad) | {
            i for i in finished
            if checksum({v: ds[v].values[tasks[i].slices] for v in variables}) != manifest[i]["checksum"]
        })  # fmt: skip
    if bad:
        raise ValueError(
            f"{path}: tasks {bad} do not match their checksums (corrupt or unreadable chunks); "
            "resume the sweep to train them again"
        )
    if complete_only:
        for task in tasks:
            if task.index not in finished:
                for v in variables:
                    ds[v].values[task.slices] = fill_value(ds[v].dtype)
                ds["complete"].values[task.slices] = False
    ds.attrs["tasks"] = len(tasks)
    ds.attrs["tasks_finished"] = len(finished)
    return ds


def load_arrays(store: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every variable and coordinate of :func:`open_sweep` as a numpy array shaped by the grid:
    e.g. ``W`` is ``(len(axis_1), ..., len(axis_d), m, n)`` and ``seed_loss`` ``(..., seeds)``."""
    ds = open_sweep(store)
    return {str(name): ds[name].values for name in ds.variables}


def to_dataframe(
    source: str | os.PathLike[str] | xr.Dataset,
    *,
    per: Literal["seed", "config"] = "seed",
    weights: bool = False,
) -> pd.DataFrame:
    """A tidy table of a sweep: one row per finished (configuration, seed) or configuration.

    Columns: the axes' labels (and other coordinates along them), then ``per="seed"``: ``seed``,
    ``loss``, ``loss_stderr``, ``best`` (the kept seed) and any variable over (axes, seed);
    ``per="config"``: the kept seed's ``loss``, ``loss_stderr``, ``best_seed`` and any variable
    over the axes. ``weights=True`` adds ``W_j_i`` (hidden j, feature i) and ``b_i``.
    """
    import xarray as xr

    if per not in ("seed", "config"):
        raise ValueError(f"per must be 'seed' or 'config', got {per!r}")
    ds = source if isinstance(source, xr.Dataset) else open_sweep(source)
    grid = list(store_settings_of(ds)["dims"])
    index = [*grid, "seed"] if per == "seed" else grid
    names = [v for v in ds.data_vars if list(ds[v].dims) == index and v != "complete"]
    table = ds[names]
    table = table.drop_vars([c for c in table.coords if not set(table[c].dims) <= set(index)])
    if per == "seed" and "best_seed" in ds:
        table["best"] = ds["best_seed"] == ds["seed"]
    if weights:
        prefix = "seed_" if per == "seed" else ""
        for name in ("W", "b"):
            if prefix + name not in ds:
                continue
            array = ds[prefix + name]
            extra = [d for d in array.dims if d not in index]
            for position in np.ndindex(*(array.sizes[d] for d in extra)):
                column = "_".join([name, *map(str, position)])
                table[column] = array.isel(dict(zip(extra, position))).reset_coords(drop=True)
    frame = table.to_dataframe()
    if "complete" in ds:
        done = ds["complete"].broadcast_like(table).to_series().reindex(frame.index)
        frame = frame[done.to_numpy(dtype=bool)]
    if per == "seed":
        frame = frame.rename(
            columns={
                c: c[5:]
                for c in frame.columns
                if c.startswith("seed_") and c[5:] not in frame.columns
            }
        )
    return frame.reset_index()


def store_settings_of(ds: xr.Dataset) -> dict[str, Any]:
    settings = ds.attrs.get(ATTRIBUTE)
    if not isinstance(settings, dict) or "dims" not in settings:
        raise ValueError(f"not a toysup sweep dataset (no {ATTRIBUTE!r} attribute)")
    return settings


def write_variable(
    store: str | os.PathLike[str],
    name: str,
    data: xr.DataArray,
    *,
    attrs: dict[str, Any] | None = None,
) -> None:
    """Store a job's own variable (e.g. phase labels over (axes..., seed)) with the results.

    ``data``'s first dimensions must be the sweep's axes (same lengths); later ones are existing
    dimensions of the store (``seed``, ``feature``, ...) or new ones (their coordinates are taken
    from ``data`` or numbered). Written whole, under the writer lock; replaced if it exists.
    Such variables are derived from the results, so a run that (re)writes any task drops them.
    """
    import xarray as xr

    if not isinstance(data, xr.DataArray):
        raise TypeError(f"data must be an xarray.DataArray, got {type(data).__name__}")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a variable name must be an identifier, got {name!r}")
    path = Path(store)
    settings = store_settings(path)
    dims, shape = list(settings["dims"]), tuple(settings["shape"])
    if list(data.dims[: len(dims)]) != dims or data.shape[: len(dims)] != shape:
        raise ValueError(
            f"{name}: dims {data.dims} and shape {data.shape} must start with the sweep's axes "
            f"{tuple(dims)} and shape {shape}"
        )
    extras = dict(settings.get("extras", {}))
    with WriterLock(path / LOCK):
        group = zarr.open_group(str(path), mode="r+", use_consolidated=False)
        if name in group and name not in extras:
            raise ValueError(
                f"{path} already holds {name!r} (a result or coordinate); choose another name"
            )
        for dim in map(str, data.dims[len(dims) :]):
            size = data.sizes[dim]
            if dim in group:
                held = group[dim]
                if not hasattr(held, "shape") or held.shape != (size,):
                    raise ValueError(
                        f"{name}: dimension {dim} has {size} entries; the store's {dim} does not"
                    )
            else:
                labels = data[dim].values if dim in data.coords else np.arange(size)
                create_filled(group, dim, labels, [dim])
        if name in extras:
            del group[name]
        values = np.asarray(data.values)
        array = group.create_array(
            name,
            shape=values.shape,
            chunks=(*settings["task_shape"], *values.shape[len(dims) :]),
            dtype=zarr_dtype(values.dtype),
            fill_value=fill_value(values.dtype),
            dimension_names=[str(d) for d in data.dims],
            attributes=attrs or {},
        )
        array[...] = values
        extras[name] = {"dims": [str(d) for d in data.dims]}
        group.attrs[ATTRIBUTE] = {**settings, "extras": extras}
        consolidate(path)
