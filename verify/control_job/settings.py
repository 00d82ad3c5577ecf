"""The settings of ``python -m verify.control``: one frozen, validated dataclass with a JSON round
trip, and the checks of the values a user types (penalties, activations).

Defaults (the CPU run, a few minutes on two cores): penalties λ = 0, 0.1, 0.3 on the hidden
activation, chosen so that the exact boundary visibly moves (at r = 0.5 it falls from p* = 0.48 to
0.42 and 0.15, docs/control_theory.md §4) and so that λ = 0.3 lies below the sparse limit
0.7258 · min(r, 1) for r > 0.41 (the weaker feature survives there at low density) and above it
for r < 0.41 (the weaker feature is dropped at every density).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from toysup import TrainConfig
from toysup.config import ACTIVATIONS, OPTIMIZERS, SCHEDULES

DEFAULT_PENALTIES = (0.0, 0.1, 0.3)
DEFAULT_ACTIVATIONS = ("relu", "gelu", "softplus")
DEFAULT_WIDE_PENALTIES = (0.0, 0.03, 0.1, 0.3)
DEFAULT_WIDE_DENSITIES = (0.03, 0.1, 0.3)
#: The n=20, m=5 setting of the paper's §"Superposition as a Phase Change" (importance 0.7^i).
WIDE_FEATURES, WIDE_HIDDEN, WIDE_DECAY = 20, 5, 0.7
#: The lowest density of a grid (as the main job's: below it no feature is active in any run).
MIN_DENSITY = 1e-12
#: Level of the statistical tests of the n = 20 part, fixed before any run.
ALPHA = 0.01


def check_penalty_value(option: str, value: Any) -> float:
    """One L1 coefficient: a finite number >= 0 (a string from the command line is parsed)."""
    raw = value
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            raise ValueError(
                f"{option}: {value!r} is not a number; accepted: finite numbers >= 0"
            ) from None
        value = number
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{option}: {value!r} is not a number; accepted: finite numbers >= 0")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{option}: {raw!r} is not allowed; accepted: finite numbers >= 0")
    return number


def check_penalties(option: str, values: Any) -> tuple[float, ...]:
    """A non-empty list of distinct L1 coefficients, returned sorted. Strings may hold several
    values separated by commas (``"0,0.1,0.3"``)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise TypeError(f"{option} must be a list of numbers >= 0, got {values!r}")
    items: list[Any] = []
    for value in values:
        if isinstance(value, str):
            items += [part for part in value.split(",") if part.strip() != ""] or [value]
        else:
            items.append(value)
    if not items:
        raise ValueError(f"{option} needs at least one value (finite numbers >= 0), got none")
    numbers = [check_penalty_value(option, v) for v in items]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"{option} has repeated values: {numbers}; accepted: distinct numbers")
    return tuple(sorted(numbers))


def check_activations(option: str, values: Any) -> tuple[str, ...]:
    """A non-empty list of distinct output activations the trainer knows (toysup's
    ``ACTIVATIONS``); ``relu`` is always included (it is the model the exact theory is for)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise TypeError(f"{option} must be a list of activation names, got {values!r}")
    names: list[str] = []
    for value in values:
        parts = value.split(",") if isinstance(value, str) else [value]
        for part in parts:
            if not isinstance(part, str) or part.strip() not in ACTIVATIONS:
                raise ValueError(
                    f"{option}: unknown activation {part!r}; accepted: {', '.join(ACTIVATIONS)}"
                )
            names.append(part.strip())
    if not names:
        raise ValueError(f"{option} needs at least one activation; accepted: {ACTIVATIONS}")
    if len(set(names)) != len(names):
        raise ValueError(f"{option} has repeated names: {names}")
    return tuple(["relu", *[n for n in names if n != "relu"]])


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_range(name: str, value: Any, low: float, high: float) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) of numbers, got {value!r}") from None
    if not (low <= lo < hi <= high):
        raise ValueError(f"{name} must satisfy {low:g} <= low < high <= {high:g}, got {value!r}")
    return lo, hi


@dataclass(frozen=True, kw_only=True)
class ControlSettings:
    """Everything that decides a run of ``python -m verify.control``.

    n = 2, m = 1 diagrams: ``resolution`` × ``resolution`` cells over (importance r of the extra
    feature, density p), both log-spaced, ``seeds`` runs per cell (best kept by its exact
    penalised objective), one diagram per ``penalties`` value (``l1_hidden``, ReLU output) and one
    per ``activations`` entry besides ``relu`` (no penalty). n = 20, m = 5 (importance
    0.7^i): ``wide_seeds`` runs per (``wide_penalties`` × ``wide_densities``) point. Training:
    ``steps``, ``batch``, ``lr``, ``schedule``, ``optimizer`` (AdamW's default weight decay),
    ``device``, ``seed``. ``bootstrap``: resamples of the seeds for the boundaries' uncertainty.
    """

    penalties: tuple[float, ...] = DEFAULT_PENALTIES  # 0 is always added
    activations: tuple[str, ...] = DEFAULT_ACTIVATIONS
    resolution: int = 12
    importance_range: tuple[float, float] = (0.1, 10.0)
    density_range: tuple[float, float] = (0.01, 1.0)
    seeds: int = 4
    steps: int = 1500
    batch: int = 1024
    lr: float = 1e-2
    schedule: str = "cosine"
    optimizer: str = "adamw"
    device: str = "auto"
    seed: int = 0
    eval_samples: int = 4096
    bootstrap: int = 200
    wide_penalties: tuple[float, ...] = DEFAULT_WIDE_PENALTIES
    wide_densities: tuple[float, ...] = DEFAULT_WIDE_DENSITIES
    wide_seeds: int = 8
    wide_test_samples: int = 20_000

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        penalties = check_penalties("penalties", list(self.penalties))
        set_(self, "penalties", tuple(sorted({0.0, *penalties})))  # 0: every shift's reference
        set_(self, "wide_penalties", check_penalties("wide_penalties", list(self.wide_penalties)))
        set_(self, "activations", check_activations("activations", list(self.activations)))
        for name, minimum in (("resolution", 2), ("seeds", 1), ("steps", 1), ("batch", 1),
                              ("eval_samples", 2), ("bootstrap", 0), ("wide_seeds", 1),
                              ("wide_test_samples", 2), ("seed", 0)):  # fmt: skip
            set_(self, name, _check_int(name, getattr(self, name), minimum))
        set_(self, "importance_range",
             _check_range("importance_range", self.importance_range, 1e-12, 1e12))  # fmt: skip
        set_(self, "density_range",
             _check_range("density_range", self.density_range, MIN_DENSITY, 1.0))  # fmt: skip
        densities = self.wide_densities
        if isinstance(densities, (str, bytes)) or not isinstance(densities, (list, tuple)):
            raise TypeError(f"wide_densities must be a list of densities, got {densities!r}")
        if not densities:
            raise ValueError("wide_densities needs at least one density in (0, 1]")
        checked = []
        for p in densities:
            if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
                raise TypeError(f"wide_densities: {p!r} is not a number; accepted: (0, 1]")
            if not (MIN_DENSITY <= float(p) <= 1.0):
                raise ValueError(f"wide_densities: {p!r} is not a density in [1e-12, 1]")
            checked.append(float(p))
        if len(set(checked)) != len(checked):
            raise ValueError(f"wide_densities has repeated values: {checked}")
        set_(self, "wide_densities", tuple(sorted(checked)))
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        self.train_config(seeds=1)  # validates lr, device, ...

    # ------------------------------------------------------------------ derived
    def grid(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(importance (R,), density (P,)), both log-spaced, R = P = ``resolution``."""
        r = np.geomspace(*self.importance_range, self.resolution)
        p = np.geomspace(*self.density_range, self.resolution)
        return r, p

    def wide_importance(self) -> NDArray[np.float64]:
        """(20,): 0.7^i, i = 0..19."""
        return np.asarray(WIDE_DECAY ** np.arange(WIDE_FEATURES), dtype=np.float64)

    def train_config(self, *, seeds: int, l1_hidden: float = 0.0) -> TrainConfig:
        """The trainer's configuration for one group of runs. Every group uses the same ``seed``:
        the diagrams at different λ start from the same initialisations and see the same data
        (common random numbers), so their differences are the penalty's, not the seeds'."""
        return TrainConfig(
            steps=self.steps,
            batch_size=self.batch,
            lr=self.lr,
            schedule=self.schedule,
            optimizer=self.optimizer,
            n_seeds=seeds,
            seed=self.seed,
            eval_samples=self.eval_samples,
            device=self.device,
            l1_hidden=l1_hidden,
        )

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ControlSettings:
        if not isinstance(data, dict):
            raise TypeError(f"ControlSettings.from_dict needs a dict, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown ControlSettings fields {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> ControlSettings:
        return cls.from_dict(json.loads(text))
