"""The n=3, m=2 ReLU-output model (Elhage et al. 2022, "The Phase Change", the 3-feature diagram).

Candidates (:mod:`theory.n3m2.candidates`): the paper's four hand-built solutions, named by what W
is orthogonal to, their losses in closed form, the predicted phase map and boundary, and their
symbolic forms (sympy symbols ``R``, ``P``, ``B``). Derivations: docs/theory_bounds.md §3.

Exact optimum (:mod:`theory.n3m2.exact`): the global minimum of the exact loss
(:mod:`theory.landscape`), the exact phase map (cached on disk) and the boundary where it is well
defined; labels by :func:`phase_label` (:mod:`theory.n3m2.phase`), the trainer's rule. Results:
docs/n3m2_exact.md.
"""

from __future__ import annotations

from theory.n3m2.candidates import (
    BIASES,
    LABELS,
    B,
    P,
    R,
    antipodal_pair_loss,
    candidate_losses,
    candidate_phase_map,
    candidate_solution,
    optimal_antipodal_bias,
    phase_boundary_density,
    symbolic_antipodal_pair_loss,
    symbolic_boundaries,
    symbolic_losses,
)
from theory.n3m2.exact import (
    ExactOptimum,
    ExactPhaseMap,
    ExactTransition,
    canonical,
    exact_boundary,
    exact_optimum,
    exact_phase_map,
    exact_transition,
)
from theory.n3m2.phase import (
    ANTIPODAL_COSINE,
    ANTIPODAL_PHASES,
    PHASES,
    REPRESENTED_THRESHOLD,
    SUPERPOSITION_PHASES,
    phase_label,
)

__all__ = [
    "ANTIPODAL_COSINE",
    "ANTIPODAL_PHASES",
    "BIASES",
    "LABELS",
    "PHASES",
    "REPRESENTED_THRESHOLD",
    "SUPERPOSITION_PHASES",
    "B",
    "ExactOptimum",
    "ExactPhaseMap",
    "ExactTransition",
    "P",
    "R",
    "antipodal_pair_loss",
    "candidate_losses",
    "candidate_phase_map",
    "candidate_solution",
    "canonical",
    "exact_boundary",
    "exact_optimum",
    "exact_phase_map",
    "exact_transition",
    "optimal_antipodal_bias",
    "phase_boundary_density",
    "phase_label",
    "symbolic_antipodal_pair_loss",
    "symbolic_boundaries",
    "symbolic_losses",
]
