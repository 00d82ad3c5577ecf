r"""Compressed sensing for toy models of superposition: bounds, Donoho–Tanner curves, recovery.

Elhage et al. (2022, "Related Work: Compressed sensing") compare the toy model, which embeds n
sparse features in m < n dimensions and decodes them with ReLU(Wᵀh + b), to compressed sensing,
which recovers a k-sparse x ∈ Rⁿ from y = A x ∈ Rᵐ by optimisation. This module holds the
compressed-sensing side (numpy, scipy, cvxpy; no torch):

Bounds (:mod:`theory.compressed_sensing.bounds`)
    m = Ω(k log(n/k)) and its density form m = Ω(−n p log p) (p = 1 − S, the feature density),
    explicit-constant bounds from the literature (``BOUNDS``), and the features per dimension
    n/m they imply at a given density (``features_per_dimension``, ``max_features``).

Donoho–Tanner weak threshold (:mod:`theory.compressed_sensing.threshold`)
    ρ_W(δ), δ = m/n, ρ = k/m, for signed vectors (ℓ1, κ = 2) and nonnegative vectors (LP with
    x ≥ 0, κ = 1); its small-δ forms; the equivalent statistical-dimension curve ψ(ε).
    **Which curve applies:** the toy model's features are nonnegative (x_i ∈ [0, 1]), so the
    nonnegative curve (``signed=False``) is the one to compare with it; the signed curve is the
    generic compressed-sensing one.

Convex recovery (:mod:`theory.compressed_sensing.recovery`, :mod:`theory.compressed_sensing.experiments`)
    basis pursuit and the nonnegative LP through cvxpy (HiGHS) or scipy's HiGHS directly;
    seeded Gaussian-matrix trials, the empirical phase-transition grid and its 50% contour;
    recovery rates with a given (e.g. learned) matrix W and binomial confidence intervals.

Derivations, sources and measured numbers: docs/compressed_sensing.md.
"""

from __future__ import annotations

from theory.compressed_sensing.bounds import (
    BOUNDS,
    MeasurementBound,
    features_per_dimension,
    max_features,
    max_features_fixed_k,
    measurement_bound,
    measurements_order,
    measurements_order_density,
)
from theory.compressed_sensing.experiments import (
    PhaseTransitionGrid,
    RecoveryRate,
    binomial_interval,
    clopper_pearson_interval,
    phase_transition_grid,
    recovery_rate,
    wilson_interval,
)
from theory.compressed_sensing.recovery import (
    DEFAULT_TOLERANCE,
    RecoveryError,
    TrialResult,
    default_solver,
    density_vector,
    gaussian_matrix,
    recover_l1,
    recovery_trial,
    relative_error,
    sparse_vector,
    trial_rng,
)
from theory.compressed_sensing.threshold import (
    statistical_dimension_rate,
    weak_threshold,
    weak_threshold_argmax,
    weak_threshold_asymptotic,
    weak_threshold_parametric,
)

__all__ = [
    "BOUNDS",
    "DEFAULT_TOLERANCE",
    "MeasurementBound",
    "PhaseTransitionGrid",
    "RecoveryError",
    "RecoveryRate",
    "TrialResult",
    "binomial_interval",
    "clopper_pearson_interval",
    "default_solver",
    "density_vector",
    "features_per_dimension",
    "gaussian_matrix",
    "max_features",
    "max_features_fixed_k",
    "measurement_bound",
    "measurements_order",
    "measurements_order_density",
    "phase_transition_grid",
    "recover_l1",
    "recovery_rate",
    "recovery_trial",
    "relative_error",
    "sparse_vector",
    "statistical_dimension_rate",
    "trial_rng",
    "weak_threshold",
    "weak_threshold_argmax",
    "weak_threshold_asymptotic",
    "weak_threshold_parametric",
    "wilson_interval",
]
