"""Reading a saved :class:`~toysup.result.TrainResult` and checking what was read.

Everything that can go wrong with the two files (unreadable, truncated, bit-flipped or random
bytes, JSON that is broken or not an object, missing arrays, arrays of the wrong shape or dtype,
NaN losses, a best seed that is not the lowest-loss one, configurations that contradict each
other or the arrays) ends in a ``ValueError`` (``FileNotFoundError`` for a missing file) whose
message names the file and the problem. Nothing is unpickled: arrays are read with
``allow_pickle=False``, configurations are rebuilt by their validating constructors.

The expected shapes are a table (:data:`SHAPES`) over named sizes (C configurations, k seeds,
m hidden, n features, T logged steps), so a new array needs one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from toysup.config import FeatureConfig, ModelConfig, TrainConfig

#: array -> (dtype kind: "f" float or "i" integer, shape in named sizes)
SHAPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "W": ("f", ("C", "m", "n")),
    "b": ("f", ("C", "n")),
    "loss": ("f", ("C",)),
    "loss_stderr": ("f", ("C",)),
    "best_seed": ("i", ("C",)),
    "seed_W": ("f", ("C", "k", "m", "n")),
    "seed_b": ("f", ("C", "k", "n")),
    "seed_loss": ("f", ("C", "k")),
    "seed_loss_stderr": ("f", ("C", "k")),
    "history_steps": ("i", ("T",)),
    "history_loss": ("f", ("T", "C", "k")),
    # schema 2: the model family (S = len(training.snapshot_steps))
    "loss_penalized": ("f", ("C",)),
    "loss_penalized_stderr": ("f", ("C",)),
    "seed_loss_penalized": ("f", ("C", "k")),
    "seed_loss_penalized_stderr": ("f", ("C", "k")),
    "history_penalty": ("f", ("T", "C", "k")),
    "W_dec": ("f", ("C", "n", "m")),
    "seed_W_dec": ("f", ("C", "k", "n", "m")),
    "snapshot_step": ("i", ("S",)),
    "snapshot_W": ("f", ("C", "S", "m", "n")),
    "snapshot_b": ("f", ("C", "S", "n")),
    "snapshot_W_dec": ("f", ("C", "S", "n", "m")),
}
#: best-seed arrays and the per-seed arrays they are taken from
BEST_OF = {
    "W": "seed_W",
    "b": "seed_b",
    "loss": "seed_loss",
    "loss_stderr": "seed_loss_stderr",
    "loss_penalized": "seed_loss_penalized",
    "loss_penalized_stderr": "seed_loss_penalized_stderr",
    "W_dec": "seed_W_dec",
}


_PENALISED = (
    "loss_penalized",
    "loss_penalized_stderr",
    "seed_loss_penalized",
    "seed_loss_penalized_stderr",
)


class DamagedResultError(ValueError):
    """A saved result that cannot be read or does not hold together (the message names the file)."""


def read_meta(path: Path, schema: int | tuple[int, ...]) -> dict[str, Any]:
    """``result.json`` as a dict with a readable schema (one of ``schema``) and the four
    sections."""
    schemas = (schema,) if isinstance(schema, int) else schema
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedResultError(f"{path} is not a readable JSON file: {exc}") from exc
    if not isinstance(meta, dict):
        raise DamagedResultError(
            f"{path} must hold a JSON object (schema, features, model, training, info), "
            f"got {type(meta).__name__}"
        )
    if meta.get("schema") not in schemas or isinstance(meta.get("schema"), bool):
        readable = ", ".join(map(str, schemas))
        raise DamagedResultError(
            f"{path} has result schema {meta.get('schema')!r}; this version reads schema "
            f"{readable} (a newer toysup wrote it?)"
        )
    for key in ("features", "model", "training", "info"):
        if not isinstance(meta.get(key), dict):
            raise DamagedResultError(
                f"{path} needs {key!r} to be a JSON object, got {meta.get(key)!r}"
            )
    return meta


def read_configs(
    path: Path, meta: dict[str, Any]
) -> tuple[FeatureConfig, ModelConfig, TrainConfig]:
    """The three configurations, rebuilt (and so validated) from ``meta``; checked for agreement."""
    try:
        features = FeatureConfig.from_dict(meta["features"])
        model = ModelConfig.from_dict(meta["model"])
        training_dict = dict(meta["training"])
        if isinstance(training_dict.get("betas"), list):
            training_dict["betas"] = tuple(training_dict["betas"])
        training = TrainConfig.from_dict(training_dict)
    except (TypeError, ValueError) as exc:
        raise DamagedResultError(f"{path} holds an invalid configuration: {exc}") from exc
    if features.n_features != model.n_features:
        raise DamagedResultError(
            f"{path}: features.n_features ({features.n_features}) and model.n_features "
            f"({model.n_features}) disagree"
        )
    return features, model, training


def read_arrays(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Every array in ``names`` from ``arrays.npz`` (no pickle)."""
    if not path.is_file():
        if path.exists():
            raise DamagedResultError(f"{path} must be a file (an .npz archive), not a folder")
        raise FileNotFoundError(f"{path} is missing (a saved TrainResult needs arrays.npz)")
    try:
        with np.load(path, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise ValueError("it holds a single array, not an .npz archive")
            missing = [name for name in names if name not in data.files]
            if missing:
                raise DamagedResultError(f"{path} lacks the arrays {missing}")
            return {name: data[name] for name in names}
    except DamagedResultError:
        raise
    except Exception as exc:  # zipfile, zlib, struct, pickle refusals: all say "damaged"
        raise DamagedResultError(
            f"{path} is damaged or not an arrays.npz written by TrainResult.save "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def check_arrays(
    path: Path,
    arrays: dict[str, np.ndarray],
    features: FeatureConfig,
    model: ModelConfig,
    training: TrainConfig,
) -> None:
    """Dtypes, shapes (against the configurations), finiteness and the best-seed bookkeeping."""
    sizes = {
        "C": features.n_instances,
        "k": training.n_seeds,
        "m": model.n_hidden,
        "n": model.n_features,
        "T": arrays["history_steps"].shape[0] if arrays["history_steps"].ndim == 1 else -1,
        "S": len(training.snapshot_steps),
    }

    def fail(problem: str) -> DamagedResultError:
        return DamagedResultError(f"{path}: {problem}")

    for name, arr in arrays.items():
        if name not in SHAPES:  # tests/toysup/test_result_files.py keeps SHAPES complete
            continue
        kind, dims = SHAPES[name]
        if arr.dtype.kind not in ("f" if kind == "f" else "iu"):
            wanted = "floating-point" if kind == "f" else "integer"
            raise fail(f"array {name!r} must be {wanted}, got dtype {arr.dtype}")
        shape = tuple(sizes[d] for d in dims)
        if arr.shape != shape:
            named = ", ".join(f"{d}={sizes[d]}" for d in dims)
            raise fail(
                f"array {name!r} has shape {arr.shape}; the configurations ({named}) give {shape}"
            )
        if kind == "f" and not np.all(np.isfinite(arr)):
            raise fail(f"array {name!r} holds NaN or infinite values")
    for name in ("loss", "loss_stderr", "seed_loss", "seed_loss_stderr", *_PENALISED):
        if name in arrays and np.any(arrays[name] < 0):
            raise fail(f"array {name!r} holds negative values (losses and errors are >= 0)")
    best, k = arrays["best_seed"], training.n_seeds
    if np.any((best < 0) | (best >= k)):
        raise fail(f"best_seed must lie in [0, {k}) (n_seeds = {k}), got {best.tolist()}")
    # seeds are selected by the objective trained: the loss plus penalty (schema 2)
    chosen_by = "seed_loss_penalized" if "seed_loss_penalized" in arrays else "seed_loss"
    by = arrays[chosen_by]
    lowest = np.argmin(by, axis=1)
    if np.any(by[np.arange(best.size), best] != by.min(axis=1)):
        raise fail(
            f"best_seed {best.tolist()} is not the lowest-loss seed of {chosen_by} "
            f"({lowest.tolist()})"
        )
    rows = np.arange(best.size)
    for name, per_seed in BEST_OF.items():
        if name in arrays and not np.array_equal(arrays[name], arrays[per_seed][rows, best]):
            raise fail(f"array {name!r} differs from {per_seed}[best_seed]")
    if "snapshot_step" in arrays and arrays["snapshot_step"].tolist() != list(
        training.snapshot_steps
    ):
        raise fail(
            f"snapshot_step {arrays['snapshot_step'].tolist()} differs from the training "
            f"configuration's snapshot_steps {list(training.snapshot_steps)}"
        )
    steps = arrays["history_steps"]
    if steps.size and (np.any(np.diff(steps) <= 0) or steps[0] < 0 or steps[-1] >= training.steps):
        raise fail(
            f"history_steps must increase within [0, {training.steps}) (steps = "
            f"{training.steps}), got {steps.tolist()[:8]}"
        )
