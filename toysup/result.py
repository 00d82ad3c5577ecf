"""The trainer's result: parameters, losses and history, saved as ``.npz`` arrays plus JSON.

Loading never runs code: arrays are read with ``allow_pickle=False`` and configurations are rebuilt
from JSON by their validating constructors; what was read is checked (:mod:`toysup._result_files`).
Schema 2 adds the model family's arrays; schema-1 files still load (docs/training.md, "Saved
results").
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from toysup._result_files import check_arrays, read_arrays, read_configs, read_meta
from toysup._result_summary import train_result_summary
from toysup._summary import Summarized, Summary
from toysup.config import FeatureConfig, ModelConfig, TrainConfig

#: 2: the model family's arrays (penalised losses, history_penalty, decoders, snapshots);
#: schema-1 results (the basic models) still load.
SCHEMA = 2
READABLE_SCHEMAS = (1, 2)
_SCHEMA1_ARRAYS = (
    "W",
    "b",
    "loss",
    "loss_stderr",
    "best_seed",
    "seed_W",
    "seed_b",
    "seed_loss",
    "seed_loss_stderr",
    "history_steps",
    "history_loss",
)
#: Saved by schema 2 always (filled in on loading schema 1).
_SCHEMA2_ARRAYS = (
    "loss_penalized",
    "loss_penalized_stderr",
    "seed_loss_penalized",
    "seed_loss_penalized_stderr",
    "history_penalty",
)
#: Saved when present: untied decoders, and the snapshots as ``snapshot_<key>``.
_OPTIONAL_ARRAYS = (
    "W_dec",
    "seed_W_dec",
    "snapshot_step",
    "snapshot_W",
    "snapshot_b",
    "snapshot_W_dec",
)
_ARRAYS = (*_SCHEMA1_ARRAYS, *_SCHEMA2_ARRAYS, *_OPTIONAL_ARRAYS)


@dataclass(frozen=True, eq=False, repr=False)
class TrainResult(Summarized):
    """What :func:`toysup.train.train` returns. C = configurations (``features.n_instances``),
    k = seeds per configuration (``training.n_seeds``), m = hidden, n = features.

    Attributes:
        W: (C, m, n) weights of the best seed of each configuration (lowest final loss).
        b: (C, n) biases of the best seed.
        loss: (C,) final loss of the best seed, estimated on ``training.eval_samples`` fresh
            examples (same convention as training: summed over features unless
            ``loss_reduction="mean"``).
        loss_stderr: (C,) standard error of ``loss``.
        best_seed: (C,) index in [0, k) of the kept seed.
        seed_W, seed_b, seed_loss, seed_loss_stderr: the same for every seed, shapes
            (C, k, m, n), (C, k, n), (C, k), (C, k).
        history_steps: (T,) 0-based steps at which the training loss was logged.
        history_loss: (T, C, k) training-batch loss at those steps.
        info: device, workers, blocks, samplers, paths (``"fast"``: the basic models' steps,
            ``"general"``: the family's), steps (per configuration: ``"tied"``, ``"gram"``,
            ``"general"`` or ``"general_entries"``), runtime and versions (JSON-friendly).
        W_dec, seed_W_dec: untied models' decoders, (C, n, m) and (C, k, n, m); ``None`` when tied.
        loss_penalized, loss_penalized_stderr: (C,) the final objective, loss plus penalty
            (``l1_hidden · E[Σ_j |h_j|]`` estimated on the same examples, plus the exact
            ``l1_weights · Σ|W|``), and its standard error; equal to ``loss``, ``loss_stderr``
            without a penalty. Seeds are selected by it.
        seed_loss_penalized, seed_loss_penalized_stderr: the same per seed, (C, k).
        history_penalty: (T, C, k) training-batch penalty at the logged steps (zero without one).
        snapshots: the kept seed's parameters at ``training.snapshot_steps``: ``step`` (s,),
            ``W`` (C, s, m, n), ``b`` (C, s, n), and ``W_dec`` (C, s, n, m) when untied; empty
            without snapshot steps.

    Printed, it is a short summary: the settings and one row per configuration.
    """

    features: FeatureConfig
    model: ModelConfig
    training: TrainConfig
    W: NDArray[np.floating[Any]]
    b: NDArray[np.floating[Any]]
    loss: NDArray[np.float64]
    loss_stderr: NDArray[np.float64]
    best_seed: NDArray[np.int64]
    seed_W: NDArray[np.floating[Any]]
    seed_b: NDArray[np.floating[Any]]
    seed_loss: NDArray[np.float64]
    seed_loss_stderr: NDArray[np.float64]
    history_steps: NDArray[np.int64]
    history_loss: NDArray[np.float64]
    info: dict[str, Any] = field(default_factory=dict)
    W_dec: NDArray[np.floating[Any]] | None = None
    seed_W_dec: NDArray[np.floating[Any]] | None = None
    # Filled in from loss, loss_stderr and zeros when not given (basic models, schema-1 files).
    loss_penalized: NDArray[np.float64] = None  # type: ignore[assignment]
    loss_penalized_stderr: NDArray[np.float64] = None  # type: ignore[assignment]
    seed_loss_penalized: NDArray[np.float64] = None  # type: ignore[assignment]
    seed_loss_penalized_stderr: NDArray[np.float64] = None  # type: ignore[assignment]
    history_penalty: NDArray[np.float64] = None  # type: ignore[assignment]
    snapshots: dict[str, NDArray[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        defaults = {
            "loss_penalized": self.loss,
            "loss_penalized_stderr": self.loss_stderr,
            "seed_loss_penalized": self.seed_loss,
            "seed_loss_penalized_stderr": self.seed_loss_stderr,
            "history_penalty": np.zeros_like(self.history_loss),
        }
        for name, value in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)

    def _arrays(self) -> dict[str, Any]:
        """Every array to save, by name (absent optional ones left out)."""
        out = {name: getattr(self, name) for name in (*_SCHEMA1_ARRAYS, *_SCHEMA2_ARRAYS)}
        for name in ("W_dec", "seed_W_dec"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        out.update({f"snapshot_{key}": value for key, value in self.snapshots.items()})
        return out

    def _summary(self) -> Summary:
        return train_result_summary(self)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write ``path/arrays.npz`` and ``path/result.json`` atomically; return ``path``.

        Refuses to replace an existing ``path`` unless ``overwrite=True``. Nothing half-written is
        left behind: files go to a temporary directory that is renamed into place (an existing
        ``path`` is moved aside first and removed only once the new one is in place).
        """
        target = _check_path(path)
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        except OSError as exc:
            raise type(exc)(
                exc.errno, f"cannot write a result to {target}: {exc.strerror}"
            ) from exc
        try:
            np.savez(tmp / "arrays.npz", **self._arrays())
            meta = {
                "schema": SCHEMA,
                "features": self.features.to_dict(),
                "model": self.model.to_dict(),
                "training": self.training.to_dict(),
                "info": self.info,
            }
            (tmp / "result.json").write_text(json.dumps(meta, indent=2))
            _swap_into_place(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainResult:
        """Read a result written by :meth:`save` (no pickle) and check it.

        Raises:
            FileNotFoundError: ``path`` or one of its two files is missing.
            ValueError: a file is damaged or the result does not hold together (shapes against
                the configurations, dtypes, finite values, the best seed); the message names
                the file.
        """
        source = _check_path(path)
        if not source.is_dir():
            raise FileNotFoundError(
                f"{source} is not a folder holding a saved TrainResult (result.json and arrays.npz)"
            )
        meta_path, arrays_path = source / "result.json", source / "arrays.npz"
        if not meta_path.exists():
            raise FileNotFoundError(f"{meta_path} is missing (a saved TrainResult needs it)")
        meta = read_meta(meta_path, READABLE_SCHEMAS)
        features, model, training = read_configs(meta_path, meta)
        wanted = list(_SCHEMA1_ARRAYS)
        if meta["schema"] == 2:  # and what the configurations say must be there
            wanted += _SCHEMA2_ARRAYS
            wanted += ("W_dec", "seed_W_dec") if not model.tied else ()
            if training.snapshot_steps:
                wanted += ("snapshot_step", "snapshot_W", "snapshot_b")
                wanted += ("snapshot_W_dec",) if not model.tied else ()
        arrays = read_arrays(arrays_path, tuple(wanted))
        check_arrays(arrays_path, arrays, features, model, training)
        snapshots = {
            name[len("snapshot_") :]: arrays.pop(name)
            for name in list(arrays)
            if name.startswith("snapshot_")
        }
        return cls(
            features=features, model=model, training=training, info=meta["info"],
            snapshots=snapshots, **arrays,
        )  # fmt: skip


def _check_path(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike (a folder), got {path!r}")
    return Path(path)


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; an existing ``target`` is moved aside first and deleted
    last, so that at every moment one complete copy exists."""
    if not target.exists():
        os.replace(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent)) / "old"
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)
        raise
    finally:
        shutil.rmtree(old.parent, ignore_errors=True)
