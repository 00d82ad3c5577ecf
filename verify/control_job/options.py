"""The command line of ``python -m verify.control``: options, and the settings they make.

Penalties, activations and densities are read as text and checked here (not by argparse), so
that a bad value gets one line naming it and exit code 2 before any computation.
"""

from __future__ import annotations

import argparse
from typing import Any

from toysup.config import ACTIVATIONS, DEFAULT_ADAMW_WEIGHT_DECAY
from verify import job
from verify.control_job.settings import (
    DEFAULT_ACTIVATIONS,
    DEFAULT_PENALTIES,
    DEFAULT_WIDE_DENSITIES,
    DEFAULT_WIDE_PENALTIES,
    ControlSettings,
    check_activations,
    check_penalties,
    check_penalty_value,
)
from verify.control_job.training import plan, store_task_size, task_sweeps
from verify.job.sweep import add_sweep_options, check_sweep_options

PROG = "python -m verify.control"
DEFAULT_OUT = "control_out"
DESCRIPTION = (
    "Controlling superposition: the n=2, m=1 phase diagram under an L1 penalty on the hidden "
    "activation (trained, best of k seeds, against the exact optimum), with other output "
    "activations, and the price of removing superposition at n=20, m=5."
)


def _numbers(values: tuple[float, ...]) -> list[str]:
    return [f"{v:g}" for v in values]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, formatter_class=job.HelpFormatter
    )
    job.add_common_options(parser, default_out=DEFAULT_OUT)
    add_sweep_options(parser)
    add = parser.add_argument
    add(
        "--penalties",
        nargs="*",
        default=_numbers(DEFAULT_PENALTIES),
        metavar="LAMBDA",
        help="l1_hidden values of the n=2 diagrams (numbers >= 0; 0 is always added)",
    )
    add(
        "--activations",
        nargs="*",
        default=list(DEFAULT_ACTIVATIONS),
        metavar="NAME",
        help=f"output activations of the unpenalised n=2 diagrams ({', '.join(ACTIVATIONS)}; "
        "relu is always included)",
    )
    add("--resolution", type=int, default=12, help="cells per axis of the n=2 diagrams")
    add("--seeds", type=int, default=4, help="training runs per cell (the best is kept)")
    add("--steps", type=int, default=1500, help="training steps")
    add("--batch", type=int, default=1024, help="batch size")
    add("--lr", type=float, default=1e-2, help="learning rate")
    add("--schedule", choices=("constant", "linear", "cosine"), default="cosine",
        help="learning-rate schedule")  # fmt: skip
    add(
        "--optimizer",
        choices=("adamw", "adam"),
        default="adamw",
        help=f"optimiser (AdamW with weight decay {DEFAULT_ADAMW_WEIGHT_DECAY}, or Adam)",
    )
    add("--importance-range", type=float, nargs=2, default=(0.1, 10.0), metavar=("LOW", "HIGH"),
        help="importance r of the extra feature, log-spaced")  # fmt: skip
    add("--density-range", type=float, nargs=2, default=(0.01, 1.0), metavar=("LOW", "HIGH"),
        help="feature density p = 1 - S, log-spaced")  # fmt: skip
    add("--bootstrap", type=int, default=200,
        help="bootstrap resamples of the seeds for the boundaries' uncertainty")  # fmt: skip
    add("--wide-penalties", nargs="*", default=_numbers(DEFAULT_WIDE_PENALTIES), metavar="LAMBDA",
        help="l1_hidden values of the n=20, m=5 sweep")  # fmt: skip
    add("--wide-densities", nargs="*", default=_numbers(DEFAULT_WIDE_DENSITIES), metavar="P",
        help="densities of the n=20, m=5 sweep, in (0, 1]")  # fmt: skip
    add("--wide-seeds", type=int, default=8,
        help="training runs per n=20 point (>= 7 lets the seed-count test reject at 0.01)")  # fmt: skip
    return parser


def _densities(values: Any) -> tuple[float, ...]:
    if not values:
        raise ValueError("--wide-densities needs at least one density in (0, 1], got none")
    out = []
    for value in values:
        for part in str(value).split(","):
            if part.strip():
                p = check_penalty_value("--wide-densities", part)
                if not 0 < p <= 1:
                    raise ValueError(
                        f"--wide-densities: {part!r} is not a density; accepted: (0, 1]"
                    )
                out.append(p)
    return tuple(out)


def settings_from_args(args: argparse.Namespace) -> ControlSettings:
    """Validated settings; ``ValueError``/``TypeError`` naming the option on a bad value."""
    for option in ("resolution", "seeds", "steps", "batch", "bootstrap", "wide_seeds"):
        minimum = {"resolution": 2, "bootstrap": 0}.get(option, 1)
        job.check_count("--" + option.replace("_", "-"), getattr(args, option), minimum=minimum)
    settings = ControlSettings(
        penalties=check_penalties("--penalties", list(args.penalties)),
        activations=check_activations("--activations", list(args.activations)),
        resolution=args.resolution,
        importance_range=tuple(args.importance_range),
        density_range=tuple(args.density_range),
        seeds=args.seeds,
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        schedule=args.schedule,
        optimizer=args.optimizer,
        device=args.device,
        seed=args.seed,
        bootstrap=args.bootstrap,
        wide_penalties=check_penalties("--wide-penalties", list(args.wide_penalties)),
        wide_densities=_densities(args.wide_densities),
        wide_seeds=args.wide_seeds,
    )
    job.check_memory(memory_estimate(settings))  # before the sweeps' grids are built
    # the store options, against the sweeps this run would write (exit 2 before any work)
    check_sweep_options(args, task_sweeps(plan(settings), store_task_size(args)))
    return settings


def memory_estimate(settings: ControlSettings) -> dict[str, float]:
    """Planned memory in bytes per responsible option (refused up front if too large)."""
    s = settings
    runs = s.resolution**2 * s.seeds
    groups = len(s.penalties) + len(s.activations)
    wide_runs = len(s.wide_densities) * s.wide_seeds
    return {
        "--steps": 48.0 * s.steps,
        "--batch": 24.0 * max(max(s.seeds, s.wide_seeds) * 20 * s.batch, 1 << 18) * 2,
        "--resolution / --seeds": 8.0 * runs * groups * 40 + 4.0 * runs * s.eval_samples / 32,
        "--resolution / --seeds / --bootstrap": 24.0 * runs * s.bootstrap,
        "--wide-seeds": 8.0 * wide_runs * len(s.wide_penalties) * 300,
    }
