"""Running one task: one :func:`toysup.train` call, its result as per-configuration arrays.

This runs wherever the engine puts it (a thread of this process, or a Dask worker) and returns
plain data: ``{"arrays": {name: (dims, array)}, "coords": {name: (dims, array)}, "info": {...}}``,
each array with the task's configurations first and then the named dimensions below.
"""

from __future__ import annotations

import os
import socket
from dataclasses import fields
from typing import Any

import numpy as np

from toysup import FeatureConfig, ModelConfig, TrainConfig, TrainResult, train

#: The dimensions of :class:`~toysup.TrainResult`'s per-configuration arrays after the first
#: (configurations) axis. Arrays not listed here are stored too, with dimensions inferred from
#: their sizes (:func:`infer_dims`).
DIMS: dict[str, tuple[str, ...]] = {
    "W": ("hidden", "feature"),
    "b": ("feature",),
    "W_dec": ("feature", "hidden"),
    "loss": (),
    "loss_stderr": (),
    "best_seed": (),
    "seed_W": ("seed", "hidden", "feature"),
    "seed_b": ("seed", "feature"),
    "seed_W_dec": ("seed", "feature", "hidden"),
    "seed_loss": ("seed",),
    "seed_loss_stderr": ("seed",),
    "loss_penalized": (),
    "loss_penalized_stderr": (),
    "seed_loss_penalized": ("seed",),
    "seed_loss_penalized_stderr": ("seed",),
}
#: Result fields that are not per-configuration arrays, or are handled on their own. Fields named
#: ``history_*`` are ``(T, C, k)`` over the logged steps ``history_steps``.
_NOT_ARRAYS = {"features", "model", "training", "info", "history_steps", "snapshots"}


def run_task(
    features: FeatureConfig,
    model: ModelConfig,
    training: TrainConfig,
    *,
    threads: int = 1,
    history: bool = True,
    in_worker: bool = False,
) -> dict[str, Any]:
    """Train the task and return its arrays (see the module docstring).

    ``threads``: the trainer's worker threads (results do not depend on it). ``history``: keep
    the training-loss history and snapshots (off when their length varies across the sweep).
    ``in_worker``: the task runs in a Dask worker process: set that process up for training
    first (:func:`tune_worker_process`).
    """
    if in_worker:
        tune_worker_process()
    result = train(features, model, training, progress=False, workers=threads)
    return result_arrays(result, history=history)


def tune_worker_process() -> None:
    """Set up a Dask worker process for training (idempotent).

    - torch's intra-op threads: 1 for good (tasks may run in several threads of one worker, and
      each trainer sets and restores this process-wide count).
    - glibc's malloc: Dask starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also turns
      off glibc's adaptive mmap threshold, so every temporary above 128 KiB of every training
      step is mmapped and unmapped again, page faults included: 1.5-1.8 times the CPU time per
      task, measured with bench/bench_sweep.py's set-up. Large thresholds (32 MiB for mmap,
      128 MiB for trimming) bring it back to an ordinary process's cost.
    """
    import torch

    torch.set_num_threads(1)
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): nothing to undo
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 128 << 20)


def result_arrays(result: TrainResult, *, history: bool = True) -> dict[str, Any]:
    """A :class:`~toysup.TrainResult` as ``{"arrays", "coords", "info"}`` (module docstring)."""
    configs, k = result.features.n_instances, result.training.n_seeds
    m, n = result.model.n_hidden, result.model.n_features
    arrays: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    coords: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    for f in fields(result):
        value = getattr(result, f.name)
        if f.name in _NOT_ARRAYS or not isinstance(value, np.ndarray):
            continue
        if f.name.startswith("history_"):  # (T, C, k) -> (C, k, T)
            if history:
                arrays[f.name] = (("seed", "log_step"), np.moveaxis(value, 0, -1))
        elif value.ndim >= 1 and value.shape[0] == configs:
            dims = DIMS.get(f.name) or infer_dims(f.name, value.shape[1:], k, m, n)
            arrays[f.name] = (dims, value)
    if history:
        coords["log_step"] = (("log_step",), np.asarray(result.history_steps))
        snapshots = getattr(result, "snapshots", None)
        if isinstance(snapshots, dict) and len(snapshots.get("step", ())) > 0:
            coords["snapshot"] = (("snapshot",), np.asarray(snapshots["step"]))
            for name, value in snapshots.items():
                if name != "step" and isinstance(value, np.ndarray):
                    arrays[f"snapshot_{name}"] = (
                        (
                            "snapshot",
                            *(DIMS.get(name) or infer_dims(name, value.shape[2:], k, m, n)),
                        ),
                        value,
                    )
    info: dict[str, Any] = {
        key: result.info[key]
        for key in ("device", "dtype", "runtime_s", "torch", "samplers", "steps", "paths")
        if key in result.info
    }
    info.update(host=socket.gethostname(), pid=os.getpid())
    return {"arrays": arrays, "coords": coords, "info": info}


def infer_dims(name: str, trailing: tuple[int, ...], k: int, m: int, n: int) -> tuple[str, ...]:
    """Dimension names for an array the table :data:`DIMS` does not know, from its sizes:
    a leading ``seed`` for ``seed_*`` arrays, then ``(hidden, feature)``, ``(feature, hidden)``,
    ``(feature,)`` or ``(hidden,)``, else ``name_dim0, name_dim1, ...``."""
    dims: list[str] = []
    rest = tuple(trailing)
    if name.startswith("seed_") and rest[:1] == (k,):
        dims, rest = ["seed"], rest[1:]
    # later entries win where m == n: W-like (hidden, feature) and per-feature (feature,)
    known = {(n, m): ("feature", "hidden"), (m, n): ("hidden", "feature"), (m,): ("hidden",),
             (n,): ("feature",), (): ()}  # fmt: skip
    if rest in known:
        return (*dims, *known[rest])
    return (*dims, *(f"{name}_dim{j}" for j in range(len(rest))))
