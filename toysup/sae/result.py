"""What :func:`toysup.sae.train_sae` returns: parameters, losses and history of every SAE, saved
as ``arrays.npz`` plus ``sae.json`` (no pickle; loading validates and names the file)."""

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

from toysup._summary import Summarized, Summary, fmt, fmt_range
from toysup.config import FeatureConfig, ModelConfig, TrainConfig
from toysup.result import _swap_into_place
from toysup.sae.config import SAEConfig

SCHEMA = 1

#: name -> shape in symbols (C configurations, S seeds, w width, m hidden, n features, T logs).
_SHAPES: dict[str, tuple[str, ...]] = {
    "toy_W": ("C", "m", "n"),
    "toy_b": ("C", "n"),
    "W_enc": ("C", "w", "m"),
    "b_enc": ("C", "w"),
    "W_dec": ("C", "m", "w"),
    "b_dec": ("C", "m"),
    "threshold": ("C", "w"),
    "loss": ("C",),
    "mse": ("C",),
    "l0": ("C",),
    "best_seed": ("C",),
    "seed_W_enc": ("C", "S", "w", "m"),
    "seed_b_enc": ("C", "S", "w"),
    "seed_W_dec": ("C", "S", "m", "w"),
    "seed_b_dec": ("C", "S", "m"),
    "seed_threshold": ("C", "S", "w"),
    "seed_loss": ("C", "S"),
    "seed_mse": ("C", "S"),
    "seed_l0": ("C", "S"),
    "seed_dead": ("C", "S"),
    "seed_resampled": ("C", "S"),
    "history_steps": ("T",),
    "history_loss": ("T", "C", "S"),
}
_INTEGER = ("best_seed", "seed_dead", "seed_resampled", "history_steps")


#: per-seed arrays and the best-seed arrays taken from them
_BEST_OF = {
    "W_enc": "seed_W_enc", "b_enc": "seed_b_enc", "W_dec": "seed_W_dec", "b_dec": "seed_b_dec",
    "threshold": "seed_threshold", "loss": "seed_loss", "mse": "seed_mse", "l0": "seed_l0",
}  # fmt: skip


@dataclass(frozen=True, eq=False, repr=False)
class SAEResult(Summarized):
    """SAEs trained on one toy model's hidden activations: C = configurations of the toy model,
    S = SAE seeds per configuration (``training.n_seeds``), w = ``config.width``, m hidden.

    Attributes:
        config, training: the SAE and its training settings.
        features, model: the toy model's feature distribution and architecture.
        toy_W, toy_b: (C, m, n), (C, n) the toy model each configuration's SAEs read.
        W_enc, b_enc, W_dec, b_dec, threshold: (C, w, m), (C, w), (C, m, w), (C, m), (C, w) of
            the best seed of each configuration (lowest final objective); decoder columns have
            unit norm; ``threshold`` is the JumpReLU θ (0 for the other kinds, whose latents fire
            when their code is positive).
        loss, mse, l0: (C,) final objective, reconstruction error ``E‖ĥ − h‖²`` (the training
            reduction) and mean active latents per example of the best seed, on
            ``training.eval_samples`` fresh examples.
        best_seed: (C,) the kept seed.
        seed_*: the same for every seed, with an S axis after C; ``seed_dead`` (C, S) latents that
            never fired on the evaluation examples; ``seed_resampled`` (C, S) latents resampled
            during training (counted once per resampling).
        history_steps, history_loss: (T,) logged steps and (T, C, S) training-batch objective.
        info: device, dtype, workers, blocks, runtime, versions.

    Printed, it is a short summary: the settings, a verdict and one row per configuration.
    """

    config: SAEConfig
    training: TrainConfig
    features: FeatureConfig
    model: ModelConfig
    toy_W: NDArray[np.floating[Any]]
    toy_b: NDArray[np.floating[Any]]
    W_enc: NDArray[np.floating[Any]]
    b_enc: NDArray[np.floating[Any]]
    W_dec: NDArray[np.floating[Any]]
    b_dec: NDArray[np.floating[Any]]
    threshold: NDArray[np.floating[Any]]
    loss: NDArray[np.float64]
    mse: NDArray[np.float64]
    l0: NDArray[np.float64]
    best_seed: NDArray[np.int64]
    seed_W_enc: NDArray[np.floating[Any]]
    seed_b_enc: NDArray[np.floating[Any]]
    seed_W_dec: NDArray[np.floating[Any]]
    seed_b_dec: NDArray[np.floating[Any]]
    seed_threshold: NDArray[np.floating[Any]]
    seed_loss: NDArray[np.float64]
    seed_mse: NDArray[np.float64]
    seed_l0: NDArray[np.float64]
    seed_dead: NDArray[np.int64]
    seed_resampled: NDArray[np.int64]
    history_steps: NDArray[np.int64]
    history_loss: NDArray[np.float64]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_configs(self) -> int:
        return int(self.toy_W.shape[0])

    @property
    def n_seeds(self) -> int:
        return int(self.seed_loss.shape[1])

    def _summary(self) -> Summary:
        c, tr = self.config, self.training
        fvu = self.seed_mse / np.maximum(self.toy_variance()[:, None], 1e-30)
        verdict = (
            f"median fraction of variance unexplained {fmt(np.median(fvu))}, median L0 "
            f"{fmt(np.median(self.seed_l0))}, dead latents {fmt_range(self.seed_dead)} of {c.width}"
        )
        lines = [
            ("toy model", f"n = {self.model.n_features} features, m = {self.model.n_hidden} "
                          f"hidden, {self.n_configs} configurations"),
            ("training", f"{tr.steps} steps, batch {tr.batch_size}, {tr.optimizer} lr "
                         f"{fmt(tr.lr)} ({tr.schedule}), {self.n_seeds} seeds, best kept by "
                         f"objective on {tr.eval_samples} examples"),
        ]  # fmt: skip
        header = ["config", "density", "objective", "mse", "L0", "dead", "resampled"]
        density = self.features.density_array
        rows = [
            [
                str(i),
                fmt_range(density[i]),
                fmt(self.loss[i]),
                fmt(self.mse[i]),
                fmt(self.l0[i]),
                fmt_range(self.seed_dead[i]),
                str(int(self.seed_resampled[i].sum())),
            ]
            for i in range(self.n_configs)
        ]
        return Summary(f"SAEResult: {c.label}", verdict, lines, header, rows)

    def toy_variance(self) -> NDArray[np.float64]:
        """(C,) total variance ``E‖h − E h‖²`` of the linear hidden activations ``h = W x``, in
        closed form: ``Σ_i Var(x_i) ‖W_i‖²`` with ``Var x_i = p_i/3 − p_i²/4`` (independent
        Uniform[0, 1] features of density p). In the training reduction (divided by m for
        ``"mean"``). For ``h = ReLU(W x)`` this is only a scale, not the variance."""
        p = self.features.density_array
        var_x = p / 3 - p**2 / 4
        total = np.sum(var_x * np.sum(np.asarray(self.toy_W, np.float64) ** 2, axis=1), axis=1)
        return total / (self.model.n_hidden if self.training.loss_reduction == "mean" else 1)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write ``path/arrays.npz`` and ``path/sae.json`` atomically; return ``path``.

        Refuses to replace an existing ``path`` unless ``overwrite=True``; files go to a
        temporary directory renamed into place, so nothing half-written is left behind."""
        target = Path(path)
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            np.savez(tmp / "arrays.npz", **{name: getattr(self, name) for name in _SHAPES})
            meta = {
                "schema": SCHEMA,
                "kind": "toysup.sae.SAEResult",
                "config": self.config.to_dict(),
                "training": self.training.to_dict(),
                "features": self.features.to_dict(),
                "model": self.model.to_dict(),
                "info": self.info,
            }
            (tmp / "sae.json").write_text(json.dumps(meta, indent=2))
            _swap_into_place(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SAEResult:
        """Read a result written by :meth:`save` (no pickle); shapes, dtypes and finiteness are
        checked and a bad file is named."""
        source = Path(path)
        meta_path, arrays_path = source / "sae.json", source / "arrays.npz"
        if not meta_path.is_file() or not arrays_path.is_file():
            raise FileNotFoundError(
                f"{source} is not a saved SAEResult (needs sae.json and arrays.npz)"
            )
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{meta_path} is not valid JSON: {exc}") from None
        if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
            found = meta.get("schema") if isinstance(meta, dict) else None
            raise ValueError(f"{meta_path}: unsupported schema {found!r}; expected {SCHEMA}")
        try:
            config = SAEConfig.from_dict(meta["config"])
            training = TrainConfig.from_dict(
                {k: tuple(v) if isinstance(v, list) else v for k, v in meta["training"].items()}
            )
            features = FeatureConfig.from_dict(meta["features"])
            model = ModelConfig.from_dict(meta["model"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{meta_path}: invalid content: {exc}") from None
        try:
            with np.load(arrays_path, allow_pickle=False) as data:
                if not hasattr(data, "files"):
                    raise ValueError("it holds a single array, not an .npz archive")
                missing = sorted(set(_SHAPES) - set(data.files))
                if missing:
                    raise ValueError(f"missing arrays {missing}")
                arrays = {name: data[name] for name in _SHAPES}
        except Exception as exc:  # zipfile, zlib, struct, pickle refusals: all say "damaged"
            raise ValueError(
                f"{arrays_path} is damaged or not an arrays.npz written by SAEResult.save "
                f"({type(exc).__name__}: {exc})"
            ) from None
        sizes = {
            "C": features.n_instances,
            "S": training.n_seeds,
            "w": config.width,
            "m": model.n_hidden,
            "n": model.n_features,
            "T": arrays["history_steps"].shape[0] if arrays["history_steps"].ndim == 1 else -1,
        }
        for name, symbols in _SHAPES.items():
            arr = arrays[name]
            expected = tuple(sizes[s] for s in symbols)
            if arr.shape != expected:
                raise ValueError(
                    f"{arrays_path}: {name} has shape {arr.shape}, expected {expected} "
                    f"({', '.join(symbols)})"
                )
            integer = name in _INTEGER
            if integer != np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
                kind = "integer" if integer else "floating-point"
                raise ValueError(f"{arrays_path}: {name} must be {kind}, got dtype {arr.dtype}")
            if not integer and name != "history_loss" and not np.all(np.isfinite(arr)):
                raise ValueError(f"{arrays_path}: {name} holds NaN or infinite values")
        best, rows = arrays["best_seed"], np.arange(sizes["C"])
        if np.any((best < 0) | (best >= sizes["S"])) or np.any(
            arrays["seed_loss"][rows, np.clip(best, 0, sizes["S"] - 1)]
            != arrays["seed_loss"].min(axis=1)
        ):
            raise ValueError(
                f"{arrays_path}: best_seed {best.tolist()} is not the lowest-objective seed"
            )
        for name, per_seed in _BEST_OF.items():
            if not np.array_equal(arrays[name], arrays[per_seed][rows, best]):
                raise ValueError(f"{arrays_path}: {name} differs from {per_seed}[best_seed]")
        return cls(
            config=config,
            training=training,
            features=features,
            model=model,
            info=meta.get("info", {}),
            **arrays,
        )
