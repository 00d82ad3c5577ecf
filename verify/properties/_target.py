"""What the suite runs against, read from environment variables (see the package docstring)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toysup.config import check_device

TRAINER_VAR = "TOYSUP_TRAINER"
CHECKPOINT_VAR = "TOYSUP_CHECKPOINT"
PROFILE_VAR = "TOYSUP_HYPOTHESIS_PROFILE"
FALLBACK_PROFILE_VAR = "HYPOTHESIS_PROFILE"
DEVICE_VAR = "TOYSUP_DEVICE"
DEFAULT_TRAINER = "toysup:train"
PROFILES = ("dev", "ci")

#: Error probability of each statistical comparison. A correct trainer fails a dev run with
#: probability below ~1e-4 (at most a few hundred comparisons), a ci run below ~1e-3.
DELTA = 1e-6


@dataclass(frozen=True)
class Budget:
    """How hard one profile works. ``examples``: hypothesis examples of the trainer-free
    properties; ``train_examples``: of the training properties (each trains 3 instances);
    ``steps``/``seeds``: per training run; ``mc_samples``: active Monte Carlo examples per
    instance; ``all_seeds``: re-estimate every seed of a checkpoint, not only the kept one."""

    examples: int
    train_examples: int
    steps: int
    seeds: int
    mc_samples: int
    all_seeds: bool


BUDGETS = {
    "dev": Budget(
        examples=25, train_examples=3, steps=400, seeds=8, mc_samples=2**15, all_seeds=False
    ),
    "ci": Budget(
        examples=100, train_examples=10, steps=1500, seeds=10, mc_samples=2**17, all_seeds=True
    ),
}


def profile_name() -> str:
    """``TOYSUP_HYPOTHESIS_PROFILE``, else ``HYPOTHESIS_PROFILE``, else ``"dev"``."""
    name = os.environ.get(PROFILE_VAR) or os.environ.get(FALLBACK_PROFILE_VAR) or "dev"
    if name not in PROFILES:
        var = PROFILE_VAR if os.environ.get(PROFILE_VAR) else FALLBACK_PROFILE_VAR
        raise ValueError(f"{var}={name!r} is not a profile of this suite; use one of {PROFILES}")
    return name


def budget() -> Budget:
    return BUDGETS[profile_name()]


def device() -> str:
    return check_device(os.environ.get(DEVICE_VAR, "cpu"))


def trainer_spec() -> str | None:
    """The trainer to test, or None when only checkpoints are to be checked."""
    spec = os.environ.get(TRAINER_VAR)
    if spec:
        return spec
    return None if os.environ.get(CHECKPOINT_VAR) else DEFAULT_TRAINER


def load_trainer(spec: str) -> Callable[..., Any]:
    """Import ``package.module:function`` and return the callable."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(
            f"{TRAINER_VAR} must look like 'package.module:function' (e.g. {DEFAULT_TRAINER!r}), "
            f"got {spec!r}"
        )
    module = importlib.import_module(module_name)
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ValueError(f"{TRAINER_VAR}={spec!r}: {module_name} has no attribute {attr!r}")
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{TRAINER_VAR}={spec!r} is not callable (got {type(target).__name__})")
    return target  # type: ignore[no-any-return]


def checkpoint_paths() -> list[Path]:
    """The directories in ``TOYSUP_CHECKPOINT`` (``os.pathsep``-separated), each checked."""
    raw = os.environ.get(CHECKPOINT_VAR, "")
    paths = [Path(p).expanduser() for p in raw.split(os.pathsep) if p]
    for path in paths:
        if not (path / "result.json").is_file() or not (path / "arrays.npz").is_file():
            raise FileNotFoundError(
                f"{CHECKPOINT_VAR}: {path} is not a directory written by TrainResult.save "
                "(it needs result.json and arrays.npz)"
            )
    return paths
