"""The exact expected loss of any small tied ReLU-output model (Elhage et al. 2022).

Model x' = ReLU(WᵀWx + b), W (..., m, n), b (..., n); features x_i = 0 with probability 1 − p_i,
else Uniform[0, 1], independent; loss L = E[Σ_i I_i (x_i − x'_i)²] (summed over features). The loss
is a finite sum over activity patterns of closed-form integrals of polynomials times ReLU(affine)
over the unit cube, evaluated by a cancellation-free scheme (derivation, stability analysis and
measured accuracy: docs/landscape.md).

``expected_loss``, ``expected_loss_and_grad``: exact for n <= 12, vectorised over leading axes;
``max_active=k`` truncates to patterns with at most k active features and returns a
:class:`TruncatedLoss` (value and rigorous bound). ``expected_loss_grad_hess``: with the exact
Hessian; ``expected_loss_density_grad``: ∂L/∂p_k. ``pattern_loss``: the per-feature error given
one activity pattern. ``minimize_loss``: batched saddle-free Newton from many starts.
``expected_loss_rational``, ``gradient_rational``: the same in exact rational arithmetic (slow;
the accuracy reference).
"""

from __future__ import annotations

from theory.landscape.box import box_integrals
from theory.landscape.loss import (
    TruncatedLoss,
    expected_loss,
    expected_loss_and_grad,
    expected_loss_density_grad,
    expected_loss_grad_hess,
    pattern_loss,
)
from theory.landscape.optimize import LocalMinimum, minimize_loss
from theory.landscape.rational import (
    box_integral_rational,
    expected_loss_rational,
    gradient_rational,
)
from theory.landscape.validate import MAX_EXACT_FEATURES, MAX_PATTERNS

__all__ = [
    "MAX_EXACT_FEATURES",
    "MAX_PATTERNS",
    "LocalMinimum",
    "TruncatedLoss",
    "box_integral_rational",
    "box_integrals",
    "expected_loss",
    "expected_loss_and_grad",
    "expected_loss_density_grad",
    "expected_loss_grad_hess",
    "expected_loss_rational",
    "gradient_rational",
    "minimize_loss",
    "pattern_loss",
]
