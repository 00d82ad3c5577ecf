"""``python -m verify.control``: the n = 2, m = 1 phase diagram under an L1 penalty on the hidden
activation and with other output activations, trained against the exact landscape, and the price
of removing superposition at n = 20, m = 5 (code: :mod:`verify.control_job`; contract and
numbers: docs/control_theory.md, "The job")."""

from __future__ import annotations

import argparse
import sys

from verify import job
from verify.control_job.options import PROG, build_parser, memory_estimate, settings_from_args
from verify.control_job.output import report, write_files
from verify.control_job.run import ControlResult, compute
from verify.control_job.settings import ControlSettings
from verify.job.sweep import kept_entries


def _compute(settings: ControlSettings, args: argparse.Namespace) -> ControlResult:
    return compute(settings, progress=job.progress_option(args), workers=args.workers, sweep=args)


JOB: job.Job[ControlSettings, ControlResult] = job.Job(
    prog=PROG,
    parser=build_parser,
    settings=settings_from_args,
    memory=memory_estimate,
    compute=_compute,
    write=write_files,
    report=report,
    failure_hint="lower --lr or the penalties",
    keep=kept_entries,
)


def main(argv: list[str] | None = None) -> int:
    """Run the job; returns the exit code (0 done, 1 failed, 2 bad options with nothing written,
    130 interrupted, 143 terminated; see :mod:`verify.job.runner`)."""
    return job.run(JOB, argv)


if __name__ == "__main__":
    sys.exit(main())
