"""The exact n=2, m=1 ReLU-output loss landscape (Elhage et al. 2022, "The Phase Change").

Model: x' = ReLU(WᵀW x + b) with W = [w_1, w_2] (one hidden dimension, two features), so
h = w_1 x_1 + w_2 x_2 and x'_i = ReLU(w_i h + b_i). Features: x_i = 0 with probability 1 − p_i,
else Uniform[0, 1], independent. Loss L = E[Σ_i I_i (x_i − x'_i)²] (summed over features, mean over
examples). Feature 1 (index 0) is the "first" feature (importance 1 in the phase diagram), feature 2
(index 1) the "extra" one with importance r. Derivations: docs/theory.md.

Exact loss (optionally with L1 penalties ``l1_hidden`` · E|h| + ``l1_weights`` · (|w_1| + |w_2|))
    ``symbolic_loss()``, ``symbolic_penalty()``: the sympy expressions (symbolic integration).
    ``expected_loss``, ``expected_loss_and_grad``: fast, vectorised, exact numeric versions.
Candidates (the paper's hand-built solutions)
    ``candidate_theory``, ``candidate_losses``, ``candidate_boundary``, ``candidate_phase_map``,
    ``antipodal_optimal_bias``, ``CANDIDATE_WEIGHTS``.
Phases
    ``phase_label``, ``REPRESENTED_THRESHOLD``, ``PHASES``.
Candidates under penalties (docs/control_theory.md)
    ``penalised_candidates``, ``penalised_candidate_boundary``, ``penalised_candidate_theory``,
    ``optimal_norm``, ``PENALISED_CANDIDATES``, ``DROP_THRESHOLD``, ``SPARSE_LIMIT_L1_HIDDEN``.
Exact optimum (every function takes ``l1_hidden`` and ``l1_weights``)
    ``exact_optimum``, ``exact_phase_map``, ``exact_boundary``, ``exact_transition``,
    ``penalty_to_remove_superposition``; ``CacheWarning`` (a bad cache entry being rebuilt).
"""

from __future__ import annotations

from theory.n2m1.boundary import ExactTransition, exact_boundary, exact_transition
from theory.n2m1.cache import CacheWarning
from theory.n2m1.candidates import (
    CANDIDATE_WEIGHTS,
    AntipodalBias,
    CandidateTheory,
    antipodal_optimal_bias,
    candidate_boundary,
    candidate_losses,
    candidate_phase_map,
    candidate_theory,
)
from theory.n2m1.control import SuperpositionRemoval, penalty_to_remove_superposition
from theory.n2m1.exact import ExactOptimum, ExactPhaseMap, exact_optimum, exact_phase_map
from theory.n2m1.numeric import expected_loss, expected_loss_and_grad
from theory.n2m1.penalised_candidates import (
    DROP_THRESHOLD,
    PENALISED_CANDIDATES,
    SPARSE_LIMIT_L1_HIDDEN,
    PenalisedCandidates,
    PenalisedCandidateTheory,
    optimal_norm,
    penalised_candidate_boundary,
    penalised_candidate_theory,
    penalised_candidates,
)
from theory.n2m1.phase import PHASES, REPRESENTED_THRESHOLD, phase_label
from theory.n2m1.symbolic import SymbolicLoss, SymbolicPenalty, symbolic_loss, symbolic_penalty

__all__ = [
    "CANDIDATE_WEIGHTS",
    "DROP_THRESHOLD",
    "PENALISED_CANDIDATES",
    "PHASES",
    "REPRESENTED_THRESHOLD",
    "SPARSE_LIMIT_L1_HIDDEN",
    "AntipodalBias",
    "CacheWarning",
    "CandidateTheory",
    "ExactOptimum",
    "ExactPhaseMap",
    "ExactTransition",
    "PenalisedCandidateTheory",
    "PenalisedCandidates",
    "SuperpositionRemoval",
    "SymbolicLoss",
    "SymbolicPenalty",
    "antipodal_optimal_bias",
    "candidate_boundary",
    "candidate_losses",
    "candidate_phase_map",
    "candidate_theory",
    "exact_boundary",
    "exact_optimum",
    "exact_phase_map",
    "exact_transition",
    "expected_loss",
    "expected_loss_and_grad",
    "optimal_norm",
    "penalised_candidate_boundary",
    "penalised_candidate_theory",
    "penalised_candidates",
    "penalty_to_remove_superposition",
    "phase_label",
    "symbolic_loss",
    "symbolic_penalty",
]
