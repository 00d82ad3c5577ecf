"""The trainer's result: parameters, losses and history, saved as ``.npz`` arrays plus JSON.

Loading never runs code: arrays are read with ``allow_pickle=False`` and configurations are rebuilt
from JSON by their validating constructors.
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

from toysup.config import FeatureConfig, ModelConfig, TrainConfig

#: 2: the model family's fields (W_dec, penalised losses, history_penalty, snapshots); schema-1
#: results (the basic models) still load.
SCHEMA = 2
_READABLE_SCHEMAS = (1, 2)
#: Saved by schema 2 (not by schema 1; filled in on loading one).
_ARRAYS_V2 = (
    "loss_penalized",
    "loss_penalized_stderr",
    "seed_loss_penalized",
    "seed_loss_penalized_stderr",
    "history_penalty",
)
_OPTIONAL = ("W_dec", "seed_W_dec")
_ARRAYS = (
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


@dataclass(frozen=True, eq=False)
class TrainResult:
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
        info: device, workers, blocks, samplers, paths (``"fast"``: the hand-derived steps,
            ``"general"``: autograd), runtime and versions (JSON-friendly).
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

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write ``path/arrays.npz`` and ``path/result.json`` atomically; return ``path``.

        Refuses to replace an existing ``path`` unless ``overwrite=True``. Nothing half-written is
        left behind: files go to a temporary directory that is renamed into place.
        """
        target = Path(path)
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            arrays = {name: getattr(self, name) for name in (*_ARRAYS, *_ARRAYS_V2, *_OPTIONAL)}
            arrays.update({f"snapshot_{key}": value for key, value in self.snapshots.items()})
            np.savez(tmp / "arrays.npz", **{k: v for k, v in arrays.items() if v is not None})
            meta = {
                "schema": SCHEMA,
                "features": self.features.to_dict(),
                "model": self.model.to_dict(),
                "training": self.training.to_dict(),
                "info": self.info,
            }
            (tmp / "result.json").write_text(json.dumps(meta, indent=2))
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainResult:
        """Read a result written by :meth:`save` (no pickle)."""
        source = Path(path)
        meta_path, arrays_path = source / "result.json", source / "arrays.npz"
        if not meta_path.is_file() or not arrays_path.is_file():
            raise FileNotFoundError(
                f"{source} is not a saved TrainResult (needs result.json and arrays.npz)"
            )
        meta = json.loads(meta_path.read_text())
        schema = meta.get("schema")
        if schema not in _READABLE_SCHEMAS:
            raise ValueError(
                f"{meta_path}: unsupported result schema {schema!r}; this version of toysup "
                f"reads schemas {', '.join(map(str, _READABLE_SCHEMAS))} (a newer toysup wrote it?)"
            )
        wanted = _ARRAYS if schema == 1 else (*_ARRAYS, *_ARRAYS_V2)
        with np.load(arrays_path, allow_pickle=False) as data:
            missing = sorted(set(wanted) - set(data.files))
            if missing:
                raise ValueError(f"{arrays_path}: schema {schema} needs the arrays {missing}")
            arrays = {name: data[name] for name in (*wanted, *_OPTIONAL) if name in data.files}
            snapshots = {
                key[len("snapshot_") :]: data[key]
                for key in data.files
                if key.startswith("snapshot_")
            }
        return cls(
            snapshots=snapshots,
            features=FeatureConfig.from_dict(meta["features"]),
            model=ModelConfig.from_dict(meta["model"]),
            training=TrainConfig.from_dict(
                {k: tuple(v) if k == "betas" else v for k, v in meta["training"].items()}
            ),
            info=meta["info"],
            **arrays,
        )
