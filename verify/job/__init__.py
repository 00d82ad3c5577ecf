"""The scaffold every job CLI shares (docs/conventions.md, "Jobs").

- :mod:`verify.job.options`: the common options (``--out``, ``--seed``, ``--quiet``,
  ``--device``, ``--workers``) and the checks made before any computation (counts, memory).
- :mod:`verify.job.outdir`: the output directory: checked first, locked against a second writer,
  written in a temporary sibling and swapped into place atomically; temporaries of killed runs
  cleaned by the next run.
- :mod:`verify.job.runner`: :class:`Job` and :func:`run`: parse, check, lock, compute, write,
  swap, report; exit codes 0, 1 (the run failed), 2 (bad options), 130 (Ctrl-C), 143 (SIGTERM).
- :mod:`verify.job.sweep`: ``--store``, ``--resume``, ``--scheduler`` for jobs that train through
  :mod:`toysup.sweep`; their checks; running the sweeps into a store kept in ``--out``.
- :mod:`verify.job.files`: strict JSON, figures in PNG, PDF and SVG, versions.
"""

from verify.job.files import FIGURE_FORMATS, json_ready, save_figure, versions, write_json
from verify.job.options import (
    HelpFormatter,
    add_common_options,
    check_count,
    check_device_available,
    check_memory,
)
from verify.job.outdir import MARKER, OutputDir, OutputDirBusy, OutputDirError
from verify.job.runner import Job, progress_option, run

__all__ = [
    "FIGURE_FORMATS",
    "MARKER",
    "HelpFormatter",
    "Job",
    "OutputDir",
    "OutputDirBusy",
    "OutputDirError",
    "add_common_options",
    "check_count",
    "check_device_available",
    "check_memory",
    "json_ready",
    "progress_option",
    "run",
    "save_figure",
    "versions",
    "write_json",
]
