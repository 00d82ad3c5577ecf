"""The options every job shares, and the checks made before any computation.

``--out``, ``--seed``, ``--quiet``, ``--device`` and ``--workers`` mean the same in every job
(docs/conventions.md, "Jobs"). Sizes that could exhaust memory are refused up front, naming the
option, instead of dying of ``MemoryError`` after minutes of work.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from typing import Any

#: Fraction of the machine's memory a job may plan to use.
MEMORY_FRACTION = 0.8


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show (``None``: the help text
    says where the value comes from, e.g. a preset) and for on/off flags (off unless given)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.nargs == 0:
            return action.help or ""
        return super()._get_help_string(action) or ""


def add_common_options(parser: argparse.ArgumentParser, *, default_out: str) -> None:
    """``--out``, ``--seed``, ``--quiet``, ``--device``, ``--workers``."""
    add = parser.add_argument
    add(
        "--out",
        default=default_out,
        help="output directory (replaced if it holds an earlier run; locked while running)",
    )
    add("--seed", type=int, default=0, help="seed of every random step")
    add("--quiet", action="store_true", help="no progress and no table; print the directory")
    add("--device", default="auto", help="auto (CUDA if present, else CPU), cpu, cuda or cuda:N")
    add("--workers", type=int, help="CPU worker threads (default: the usable cores)")


def check_common(args: argparse.Namespace) -> None:
    """Check ``--seed``, ``--device`` (CUDA present if asked for) and ``--workers``."""
    check_count("--seed", args.seed, minimum=0)
    if args.workers is not None:
        check_count("--workers", args.workers, minimum=1, maximum=4096)
    check_device_available(args.device)


def check_count(option: str, value: Any, *, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer option in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{option} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and <= {maximum:,}" if maximum is not None else ""
        raise ValueError(f"{option} must be >= {minimum}{upper}, got {value:,}")
    return value


def check_device_available(device: str) -> str:
    """A device name toysup accepts, and CUDA present if it names CUDA."""
    from toysup.config import check_device

    try:
        check_device(device)
    except ValueError:
        raise ValueError(f"--device must be auto, cpu, cuda or cuda:N, got {device!r}") from None
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"--device {device} requested but CUDA is not available; use cpu")
    return device


def total_memory() -> int:
    """Bytes of physical memory (the machine's, or a cgroup limit when lower)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(limit_file).read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def check_memory(estimates: Mapping[str, float], *, budget: float | None = None) -> None:
    """Refuse a run whose planned memory exceeds the budget (default: 80% of the machine).

    ``estimates`` maps the option (or options) responsible for a cost to its bytes; the message
    names the largest.
    """
    budget = MEMORY_FRACTION * total_memory() if budget is None else budget
    total = sum(estimates.values())
    if not math.isfinite(total) or total > budget:
        worst = max(estimates, key=lambda k: estimates[k])
        raise ValueError(
            f"these settings need about {_size(total)} of memory, more than the "
            f"{_size(budget)} available, mostly for {worst} ({_size(estimates[worst])}); "
            f"reduce {worst}"
        )


def _size(n: float) -> str:
    if not math.isfinite(n):
        return "unbounded"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"  # pragma: no cover
