"""What the suite runs against, read from environment variables (see the package docstring)."""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
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
DATABASE_VAR = "TOYSUP_HYPOTHESIS_DB"
CACHE_VAR = "TOYSUP_CACHE_DIR"
STORAGE_VAR = "HYPOTHESIS_STORAGE_DIRECTORY"
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


def _import_from_cwd(module_name: str) -> Any:
    """Import ``module_name``; if its top-level package is not importable, look for it in the
    current working directory as well (where ``python -m pytest`` would have found it: the
    ``pytest`` command does not put the current directory on ``sys.path``)."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.partition(".")[0]
        cwd = os.getcwd()
        if exc.name != top or cwd in sys.path:
            raise
    sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != top:
            raise
        raise ModuleNotFoundError(
            f"{TRAINER_VAR}: cannot import {module_name!r}: no package or module {top!r} in the "
            f"current directory ({cwd}) or on sys.path; run pytest from the folder that holds "
            f"{top}/ (or {top}.py), add that folder to PYTHONPATH, or install the package",
            name=top,
        ) from None


def load_trainer(spec: str) -> Callable[..., Any]:
    """Import ``package.module:function`` and return the callable.

    The module is imported from ``sys.path`` or, failing that, from the current working directory,
    so ``TOYSUP_TRAINER=mylab.toy:train pytest --pyargs verify.properties`` works from the folder
    that holds ``mylab/``.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(
            f"{TRAINER_VAR} must look like 'package.module:function' (e.g. {DEFAULT_TRAINER!r}), "
            f"got {spec!r}"
        )
    module = _import_from_cwd(module_name)
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ValueError(f"{TRAINER_VAR}={spec!r}: {module_name} has no attribute {attr!r}")
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{TRAINER_VAR}={spec!r} is not callable (got {type(target).__name__})")
    return target  # type: ignore[no-any-return]


def default_hypothesis_dir() -> Path:
    """``$HYPOTHESIS_STORAGE_DIRECTORY`` if set, else ``$TOYSUP_CACHE_DIR/hypothesis``, else
    ``~/.cache/toysup/hypothesis``: never the current directory."""
    env = os.environ.get(STORAGE_VAR)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get(CACHE_VAR)
    base = Path(cache).expanduser() if cache else Path.home() / ".cache" / "toysup"
    return base / "hypothesis"


def database_setting() -> tuple[str, Path]:
    """Where hypothesis keeps its example database and its small caches.

    From ``TOYSUP_HYPOTHESIS_DB``: a directory (the database is ``<dir>/examples``, hypothesis's
    caches sit beside it), ``memory`` (examples kept for this run only) or ``none`` (no
    database). Returns ``(kind, directory)`` with kind ``"directory"``, ``"memory"`` or
    ``"none"`` and the directory hypothesis may write to. Default: ``("directory",``
    :func:`default_hypothesis_dir` ``)``; if that cannot be created, ``memory`` with a fresh
    temporary directory. An explicit directory that cannot be created is a ``ValueError``.
    """
    raw = os.environ.get(DATABASE_VAR, "").strip()
    kind = raw.lower() if raw.lower() in ("memory", "none") else "directory"
    path = Path(raw).expanduser() if kind == "directory" and raw else default_hypothesis_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if kind == "directory" and raw:
            raise ValueError(
                f"{DATABASE_VAR}={raw!r}: cannot create that directory ({exc.strerror}); give a "
                "writable directory, 'memory' (examples kept for this run only) or 'none'"
            ) from None
        return ("memory" if kind == "directory" else kind), Path(
            tempfile.mkdtemp(prefix="toysup-hypothesis-")
        )
    return kind, path


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
