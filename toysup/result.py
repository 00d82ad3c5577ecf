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

SCHEMA = 1
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
        info: device, workers, blocks, samplers, runtime and versions (JSON-friendly).
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
            np.savez(tmp / "arrays.npz", **{name: getattr(self, name) for name in _ARRAYS})
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
        if meta.get("schema") != SCHEMA:
            raise ValueError(f"unsupported result schema {meta.get('schema')!r}; expected {SCHEMA}")
        with np.load(arrays_path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in _ARRAYS}
        return cls(
            features=FeatureConfig.from_dict(meta["features"]),
            model=ModelConfig.from_dict(meta["model"]),
            training=TrainConfig.from_dict(
                {k: tuple(v) if k == "betas" else v for k, v in meta["training"].items()}
            ),
            info=meta["info"],
            **arrays,
        )
