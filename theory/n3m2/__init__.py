"""The n=3, m=2 ReLU-output model (Elhage et al. 2022, "The Phase Change", the 3-feature diagram).

Candidates (:mod:`theory.n3m2.candidates`): the paper's four hand-built solutions, named by what W
is orthogonal to, their losses in closed form, the predicted phase map and boundary, and their
symbolic forms (sympy symbols ``R``, ``P``, ``B``). Derivations: docs/theory_bounds.md §3.
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

__all__ = [
    "BIASES",
    "LABELS",
    "B",
    "P",
    "R",
    "antipodal_pair_loss",
    "candidate_losses",
    "candidate_phase_map",
    "candidate_solution",
    "optimal_antipodal_bias",
    "phase_boundary_density",
    "symbolic_antipodal_pair_loss",
    "symbolic_boundaries",
    "symbolic_losses",
]
