"""``python -m verify.control``: controlling superposition, theory and training side by side.

Elhage et al. (2022), "Strategic Picture" / open questions: "can we change the phase diagram such
that features don't fall into the superposition regime? ... L1 regularization of activations ...
and changing the activation function all seem promising." This job measures both on the n = 2,
m = 1 phase diagram against the exact penalised landscape (:mod:`theory.n2m1`,
docs/control_theory.md), and the loss it costs at n = 20, m = 5.

- :mod:`~verify.control_job.settings`: :class:`ControlSettings` and the checks of typed values;
- :mod:`~verify.control_job.options`: the command line;
- :mod:`~verify.control_job.training`: every training task and :func:`train_tasks`, the one
  place the job trains;
- :mod:`~verify.control_job.diagrams`: trained and exact n = 2 diagrams, the paired bootstrap;
- :mod:`~verify.control_job.findings`: agreement, κ, boundary shift, loss cost;
- :mod:`~verify.control_job.wide`: the n = 20, m = 5 sweep and its tests;
- :mod:`~verify.control_job.run`: the computation; :mod:`~verify.control_job.output`: files and
  table; :mod:`~verify.control_job.figures`: figures.
"""

from verify.control_job.run import ControlResult, compute
from verify.control_job.settings import ControlSettings

__all__ = ["ControlResult", "ControlSettings", "compute"]
