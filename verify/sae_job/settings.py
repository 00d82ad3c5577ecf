"""What decides a recovery run (:class:`RecoverySettings`), and the two presets.

Two toy models can be read (:data:`TOY_MODELS`): ``"basic"``, the paper's ReLU-output model
``h = W x`` (§"Demonstrating Superposition"), and ``"privileged"``, the same model with a ReLU on
the hidden layer, ``h = ReLU(W x)`` (§"Superposition in a Privileged Basis"), trained on the same
features."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from toysup import FeatureConfig, ModelConfig, TrainConfig
from toysup.config import check_device
from toysup.sae import KINDS, SAEConfig

#: The toy models a run can read, and their hidden activation.
TOY_MODELS = {"basic": "none", "privileged": "relu"}
#: Which SAE settings the privileged-basis model gets: every one ("all"), the reference
#: setting of each kind ("reference"), or "auto": all when it is the only toy model, else the
#: reference settings (what keeps a run of both models near the single model's CPU time).
PRIVILEGED_SETTINGS = ("auto", "reference", "all")


@dataclass(frozen=True, kw_only=True)
class RecoverySettings:
    """Everything that decides a run. Defaults: the CPU run of the CLI (n=20, m=5).

    Attributes:
        toy_models: which toy models (:data:`TOY_MODELS`), in that order (the first is the
            primary one, the one summary.json's schema-1 fields describe); default the basic
            model alone.
        privileged_settings: the SAE settings of the privileged-basis model
            (:data:`PRIVILEGED_SETTINGS`).
        n_features, n_hidden: the toy model's n and m.
        importance_decay: importance ``decay^i`` (the paper's 0.7 for n=20, m=5).
        densities: the toy models' feature densities, one configuration each (decreasing).
        toy_steps, toy_seeds, toy_lr: toy-model training (AdamW, cosine schedule, batch 1024;
            best of ``toy_seeds`` by loss).
        kinds: SAE kinds; widths: SAE widths; l1, k, l0: the sparsity levels of the ReLU, TopK
            and JumpReLU SAEs. Every (kind, width, level) is one SAE setting.
        seeds, steps, batch, lr: SAE training (Adam, cosine schedule; ``seeds`` SAEs per
            configuration and setting).
        control: also train the reference setting of each kind on the orthogonal control (no
            superposition, same feature distribution).
        threshold: matched cosine for "recovered".
        eval_samples: fresh examples per configuration for the sample-based statistics.
        decodability_samples, alpha: examples and family-wise level of the decodability test.
        level: confidence level of the intervals over SAE seeds.
        seed: every random step derives from it.
        device: training device ("auto", "cpu", "cuda", "cuda:N").
    """

    toy_models: tuple[str, ...] = ("basic",)
    privileged_settings: str = "auto"
    n_features: int = 20
    n_hidden: int = 5
    importance_decay: float = 0.7
    densities: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)
    toy_steps: int = 4000
    toy_seeds: int = 3
    toy_lr: float = 3e-3
    kinds: tuple[str, ...] = KINDS
    widths: tuple[int, ...] = (20, 40)
    l1: tuple[float, ...] = (0.03, 0.1, 0.3)
    k: tuple[int, ...] = (1, 2, 4)
    l0: tuple[float, ...] = (0.03, 0.1, 0.3)
    seeds: int = 3
    steps: int = 2000
    batch: int = 256
    lr: float = 6e-3
    control: bool = True
    threshold: float = 0.9
    eval_samples: int = 4096
    decodability_samples: int = 4000
    alpha: float = 0.01
    level: float = 0.95
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if (
            not isinstance(self.toy_models, tuple)
            or not self.toy_models
            or any(t not in TOY_MODELS for t in self.toy_models)
            or len(set(self.toy_models)) != len(self.toy_models)
        ):
            raise ValueError(
                f"toy_models must be distinct names from {tuple(TOY_MODELS)}, got "
                f"{self.toy_models!r}"
            )
        if self.privileged_settings not in PRIVILEGED_SETTINGS:
            raise ValueError(
                f"privileged_settings must be one of {PRIVILEGED_SETTINGS}, got "
                f"{self.privileged_settings!r}"
            )
        for name in ("n_features", "n_hidden", "toy_steps", "toy_seeds", "steps", "batch"):
            _check_int(name, getattr(self, name), 1)
        _check_int("seeds", self.seeds, 2)  # an interval over seeds needs two
        _check_int("eval_samples", self.eval_samples, 2)
        _check_int("seed", self.seed, 0)
        _check_int("decodability_samples", self.decodability_samples, 2 * self.n_hidden + 8)
        if self.n_hidden >= self.n_features:
            raise ValueError(
                f"n_hidden must be < n_features (superposition needs more features than "
                f"dimensions), got m={self.n_hidden}, n={self.n_features}"
            )
        _check_open("importance_decay", self.importance_decay, 0.0, 1.0, upper_closed=True)
        for name in ("toy_lr", "lr"):
            _check_open(name, getattr(self, name), 0.0, math.inf)
        for name in ("alpha", "level"):
            _check_open(name, getattr(self, name), 0.0, 1.0)
        _check_open("threshold", self.threshold, 0.0, 1.0, upper_closed=True)
        d = np.asarray(self.densities, dtype=np.float64)
        if d.ndim != 1 or d.size < 2 or not np.all((d > 0) & (d <= 1)) or np.any(np.diff(d) >= 0):
            raise ValueError(
                f"densities must be at least two decreasing values in (0, 1], got "
                f"{list(self.densities)}"
            )
        if not self.kinds or any(kind not in KINDS for kind in self.kinds):
            raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {self.kinds!r}")
        if len(set(self.kinds)) != len(self.kinds):
            raise ValueError(f"kinds must not repeat, got {self.kinds!r}")
        if not self.widths:
            raise ValueError("widths must not be empty")
        for w in self.widths:
            _check_int("widths", w, 1)
        for name, owner in (("l1", "relu"), ("l0", "jumprelu")):
            if owner in self.kinds and not getattr(self, name):
                raise ValueError(f"{name} levels must not be empty")
            for value in getattr(self, name):
                _check_open(name, value, 0.0, math.inf, lower_closed=True)
        if "topk" in self.kinds and not self.k:
            raise ValueError("k levels must not be empty")
        for k in self.k:
            _check_int("k", k, 1)
            if "topk" in self.kinds and k > min(self.widths):
                raise ValueError(f"k must be <= every width ({min(self.widths)}), got k={k}")
        check_device(self.device)

    # --- what to train -------------------------------------------------------------------

    def toy_features(self) -> FeatureConfig:
        return FeatureConfig(
            n_features=self.n_features,
            n_instances=len(self.densities),
            density=np.asarray(self.densities)[:, None],
            importance=self.importance_decay ** np.arange(self.n_features),
        )

    def toy_model(self, name: str = "basic") -> ModelConfig:
        """The toy model ``name`` (:data:`TOY_MODELS`): ReLU output, tied, ``h = W x`` or
        ``h = ReLU(W x)``."""
        return ModelConfig(
            n_features=self.n_features, n_hidden=self.n_hidden,
            hidden_activation=TOY_MODELS[name],
        )  # fmt: skip

    def toy_training(self) -> TrainConfig:
        return TrainConfig(
            steps=self.toy_steps, batch_size=1024, lr=self.toy_lr, schedule="cosine",
            n_seeds=self.toy_seeds, seed=self.seed, device=self.device,
        )  # fmt: skip

    def sae_training(self) -> TrainConfig:
        return TrainConfig(
            steps=self.steps, batch_size=self.batch, lr=self.lr, optimizer="adam",
            schedule="cosine", n_seeds=self.seeds, seed=self.seed, device=self.device,
            eval_samples=min(self.eval_samples, 8192),
        )  # fmt: skip

    def levels(self, kind: str) -> tuple[Any, ...]:
        return {"relu": self.l1, "topk": self.k, "jumprelu": self.l0}[kind]

    def sae_configs(self, toy_model: str = "basic") -> list[SAEConfig]:
        """The SAE settings trained on ``toy_model``: kinds × widths × levels, in that order;
        the privileged-basis model's as :attr:`privileged_settings` says."""
        if toy_model == "privileged" and self.privileged_reference:
            return self.reference_configs()
        out = []
        for kind in self.kinds:
            for width in self.widths:
                for level in self.levels(kind):
                    out.append(_sae(kind, width, level))
        return out

    @property
    def privileged_reference(self) -> bool:
        """Whether the privileged-basis model gets only the reference settings."""
        if self.privileged_settings == "auto":
            return len(self.toy_models) > 1
        return self.privileged_settings == "reference"

    def reference_configs(self, width: int | None = None) -> list[SAEConfig]:
        """One setting per kind, for the control and the side-by-side with the decodability
        test: the largest width (or ``width``) and the middle sparsity level."""
        w = max(self.widths) if width is None else width
        out = []
        for kind in self.kinds:
            levels = self.levels(kind)
            out.append(_sae(kind, w, levels[(len(levels) - 1) // 2]))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _sae(kind: str, width: int, level: Any) -> SAEConfig:
    if kind == "relu":
        return SAEConfig(width=width, kind="relu", l1=float(level))
    if kind == "topk":
        return SAEConfig(width=width, kind="topk", k=int(level))
    return SAEConfig(width=width, kind="jumprelu", l0=float(level))


#: ``--large``: n=100, m=20 (the reference notebook's size), importance 0.9^i, SAE widths n and
#: 2n, two sparsity levels per kind. Meant for a GPU (tens of minutes on a 2-core CPU). The
#: decodability test runs at α = 0.05 on 2,000 examples: at α = 0.01 Holm needs 10,000
#: permutations per feature for n = 100, minutes of CPU per density.
LARGE = dict(
    n_features=100, n_hidden=20, importance_decay=0.9, widths=(100, 200), l1=(0.03, 0.1),
    k=(2, 4), l0=(0.03, 0.1), toy_steps=6000, alpha=0.05, decodability_samples=2000,
)  # fmt: skip


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_open(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    lower_closed: bool = False,
    upper_closed: bool = False,
) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.floating))
    ok = ok and math.isfinite(float(value)) if ok else False
    if ok:
        v = float(value)
        ok = (v >= low if lower_closed else v > low) and (v <= high if upper_closed else v < high)
    if not ok:
        interval = f"{'[' if lower_closed else '('}{low:g}, {high:g}{']' if upper_closed else ')'}"
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return float(value)
