"""Statistical tests for superposition (paper §"Superposition as a Phase Change").

Three tests, each answering "does this model use superposition?" from different evidence.
Derivations, validity arguments and calibration tables: docs/statistics.md.

* :func:`superposition_test` — from the **loss** of one model ``x' = f(WᵀWx + b)`` (arrays, or one
  configuration of a :class:`toysup.TrainResult`). Without superposition the expected loss is at least ``B = theory.bounds.no_superposition_loss``
  (docs/theory_bounds.md §2). The model's loss is estimated on fresh samples and
  ``H0: E[ℓ] ≥ B`` is tested one-sidedly with a finite-sample-valid betting test for bounded
  variables (default) or a t-test (asymptotic).
* :func:`represented_count_test` — from **several seeds** of one configuration: is the number of
  represented features (``‖W_i‖ > 0.5``) typically above ``m``? Exact binomial (sign) test.
* :func:`decodability_test` — from **hidden activations and features only**: are more than ``m``
  features linearly decodable from ``h``? Held-out least squares, exact permutation p-values, Holm.

Conventions (docs/conventions.md): ``W`` shape ``(m, n)``, ``b`` shape ``(n,)``, density ``p = 1 − S``,
``x_i = 0`` w.p. ``1 − p_i`` else ``Uniform[0, 1]``, loss ``L = E[Σ_i I_i (x_i − x'_i)²]``.
"""

from verify.stats.decodability import DecodabilityResult, decodability_test, min_permutations
from verify.stats.from_result import sample_activations
from verify.stats.loss_bound import SuperpositionTestResult, superposition_test
from verify.stats.seed_count import (
    RepresentedCountResult,
    UnderpoweredWarning,
    represented_count_test,
)

__all__ = [
    "DecodabilityResult",
    "RepresentedCountResult",
    "SuperpositionTestResult",
    "UnderpoweredWarning",
    "decodability_test",
    "min_permutations",
    "represented_count_test",
    "sample_activations",
    "superposition_test",
]
