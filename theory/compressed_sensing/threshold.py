r"""Donoho–Tanner weak thresholds ρ_W(δ) and the ℓ1 statistical dimension ψ(ε).

Notation: n features (signal length), m measurements, k non-zeros; δ = m/n (undersampling),
ρ = k/m (sparsity per measurement), ε = k/n = ρ δ (density of non-zeros). φ, Φ are the standard
normal density and distribution function. κ = 2 for signed vectors (ℓ1 minimisation; the
cross-polytope), κ = 1 for nonnegative vectors (the LP with x ≥ 0; the simplex).

The weak threshold (Donoho–Maleki–Montanari 2009, eq. for ρ_MSE; Donoho–Johnstone–Montanari 2013
show it is the Donoho–Tanner weak threshold):

    ρ_W(δ) = max_{z ≥ 0} [1 − (κ/δ) J(z)] / [1 + z² − κ J(z)],
    J(z)   = (1 + z²) Φ(−z) − z φ(z)  = E[(U − z)_+²],  U ~ N(0, 1).

Solving the stationarity condition in closed form (docs/compressed_sensing.md, "The weak
threshold") gives the curve parametrically in the maximiser z > 0, with the Mills ratio
R(z) = Φ(−z)/φ(z):

    ρ(z) = 1 − z R(z),                 (independent of κ)
    δ(z) = κ / (z/φ(z) + κ ρ(z)),      (decreasing from 1 at z = 0 to 0 as z → ∞)

so ρ_W(δ) = ρ(z*(δ)) where z* solves δ(z*) = δ; we find z* by vectorised bisection on
log(z/φ(z) + κ ρ(z)) = log(κ/δ), which is monotone in z. The same z parametrises the ℓ1
statistical dimension (Amelunxen–Lotz–McCoy–Tropp 2014, the "ψ" curve):

    ψ_κ(ε) = min_{τ ≥ 0} ε (1 + τ²) + (1 − ε) κ J(τ),

whose minimiser τ = z gives ε(z) = κ ρ(z) / (z/φ(z) + κ ρ(z)) and ψ_κ(ε(z)) = δ(z). Hence
ψ_κ(ρ_W(δ) δ) = δ exactly: the two formulations are one curve.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import erfcx, lambertw

from theory._validation import _show, as_float_array
from theory.compressed_sensing.checks import (
    check_bool,
    check_half_open_unit_interval,
    check_open_unit_interval,
)

FloatArray = NDArray[np.float64]

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_SQRT_HALF_PI = np.sqrt(0.5 * np.pi)
_BISECTION_STEPS = 110  # from a bracket of width <= 40: 40 / 2**110 is far below float spacing


def _kappa(signed: Any) -> float:
    """κ = 2 (signed, ℓ1) or 1 (nonnegative LP)."""
    return 2.0 if check_bool("signed", signed) else 1.0


def _scalar_or_array(arr: FloatArray) -> FloatArray | float:
    """A float for 0-d results, the array otherwise."""
    return float(arr) if arr.ndim == 0 else arr


def mills_ratio(z: FloatArray) -> FloatArray:
    """R(z) = Φ(−z)/φ(z) = √(π/2) erfcx(z/√2), stable for large z (R ~ 1/z)."""
    return _SQRT_HALF_PI * erfcx(z / np.sqrt(2.0))


def _rho_of_z(z: FloatArray) -> FloatArray:
    """ρ(z) = 1 − z R(z) = G(z)/φ(z) with G(z) = φ(z) − z Φ(−z) = E[(U − z)_+]."""
    return 1.0 - z * mills_ratio(z)


def _log_h(z: FloatArray, kappa: float) -> FloatArray:
    """log h(z), h(z) = z/φ(z) + κ ρ(z); increasing in z for κ ≤ 2, h(0) = κ."""
    with np.errstate(divide="ignore"):
        log_z_over_phi = np.log(z) + _LOG_SQRT_2PI + 0.5 * z * z  # −inf at z = 0
        log_kappa_rho = np.log(kappa * _rho_of_z(z))
    return np.logaddexp(log_z_over_phi, log_kappa_rho)


def _bisect_increasing(
    fun: Callable[[FloatArray], FloatArray], target: FloatArray, hi: FloatArray
) -> FloatArray:
    """Vectorised bisection: z in [0, hi] with fun(z) = target, fun increasing, fun(hi) >= target."""
    lo = np.zeros_like(target)
    hi = hi.copy()
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        below = fun(mid) < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _upper_bracket(log_target: FloatArray) -> FloatArray:
    """z_hi with z_hi/φ(z_hi) >= exp(log_target): z_hi = max(1, √(2 log_target))."""
    return np.maximum(1.0, np.sqrt(2.0 * np.maximum(log_target, 0.0)))


def weak_threshold_argmax(delta: Any, *, signed: bool = True) -> FloatArray | float:
    """The maximiser z*(δ) of the weak-threshold objective (the soft threshold, in units of σ).

    Args:
        delta: δ = m/n in (0, 1), any shape.
        signed: True for signed vectors (κ = 2), False for nonnegative vectors (κ = 1).

    Returns:
        z* > 0, same shape as ``delta`` (a float for a scalar).
    """
    kappa = _kappa(signed)
    d = check_open_unit_interval("delta", delta, "δ = m/n, measurements per feature")
    log_target = np.log(kappa) - np.log(d)
    z = _bisect_increasing(lambda t: _log_h(t, kappa), log_target, _upper_bracket(log_target))
    return _scalar_or_array(z)


def weak_threshold(delta: Any, *, signed: bool = True) -> FloatArray | float:
    r"""Donoho–Tanner weak threshold ρ_W(δ): the n → ∞ 50% line of ℓ1 / LP recovery.

    For a Gaussian m × n matrix and a k-sparse x with k/m = ρ, m/n = δ, n → ∞: recovery by
    ℓ1 minimisation (``signed=True``; x of either sign) or by the LP min 1ᵀx, Ax = y, x ≥ 0
    (``signed=False``; x ≥ 0) succeeds with probability → 1 if ρ < ρ_W(δ) and → 0 if
    ρ > ρ_W(δ). The toy model's features are nonnegative, so ``signed=False`` is the curve that
    applies to them; ``signed=True`` is the generic compressed-sensing curve.

    ρ_W(δ) = max_{z≥0} [1 − (κ/δ) J(z)] / [1 + z² − κ J(z)], J(z) = (1+z²)Φ(−z) − zφ(z),
    κ = 2 (signed) or 1 (nonnegative), evaluated through its closed-form stationarity condition
    (module docstring). Agrees with a brute-force maximisation to ~1e-11 on [1e-4, 1 − 1e-4];
    works for δ down to 1e-300; a 1,000-point curve takes a few milliseconds.

    Check values: ρ_W(0.5) = 0.3857 (signed), 0.5582 (nonnegative); ρ_W(0.19) = 0.238, 0.318.

    Args:
        delta: δ = m/n in (0, 1), any shape.
        signed: True for ℓ1 / signed vectors, False for the nonnegative LP.

    Returns:
        ρ_W(δ) in (0, 1), same shape as ``delta`` (a float for a scalar).

    Sources: Donoho & Tanner, "Counting faces of randomly projected polytopes when the
    projection radically lowers dimension", J. AMS 22 (2009); Donoho, Maleki & Montanari,
    PNAS 106 (2009); Donoho, Johnstone & Montanari, IEEE Trans. Inf. Theory 59 (2013).
    """
    z = np.asarray(weak_threshold_argmax(delta, signed=signed), dtype=np.float64)
    return _scalar_or_array(_rho_of_z(z))


def weak_threshold_parametric(z: Any, *, signed: bool = True) -> tuple[FloatArray, FloatArray]:
    """The weak-threshold curve as (δ(z), ρ(z)) for maximisers z ≥ 0 (exact, no solve).

    ρ(z) = 1 − z Φ(−z)/φ(z), δ(z) = κ φ(z) / (z + κ(φ(z) − z Φ(−z))).

    Args:
        z: z ≥ 0, any shape.
        signed: κ = 2 if True, 1 if False.

    Returns:
        (delta, rho), arrays of the shape of ``z``.
    """
    kappa = _kappa(signed)
    zz = as_float_array("z", z)
    if zz.size == 0 or not np.all(np.isfinite(zz) & (zz >= 0)):
        raise ValueError(f"z must be finite and >= 0 (and not empty), got {_show(z)}")
    delta = np.exp(np.log(kappa) - _log_h(zz, kappa))
    return delta, _rho_of_z(zz)


def statistical_dimension_rate(density: Any, *, signed: bool = True) -> FloatArray | float:
    r"""ψ_κ(ε): the statistical dimension of the ℓ1 descent cone at an εn-sparse point, over n.

    ψ_κ(ε) = min_{τ≥0} ε(1 + τ²) + (1 − ε) κ J(τ), J(τ) = ∫_τ^∞ (u − τ)² φ(u) du.

    m = n ψ_κ(k/n) is where ℓ1 recovery (κ = 2) or the nonnegative LP (κ = 1) of a k-sparse
    vector from m Gaussian measurements switches from failing to succeeding, up to O(√n)
    (Amelunxen, Lotz, McCoy & Tropp, "Living on the edge", Inf. Inference 3 (2014), Thm II and
    §4; the nonnegative case is the descent cone of ‖x‖₁ + indicator(x ≥ 0), one-sided J).
    It inverts the weak threshold: ψ_κ(ρ_W(δ) δ) = δ.

    Args:
        density: ε = k/n in (0, 1], any shape (ε = 1 gives ψ = 1).
        signed: κ = 2 if True, 1 if False.

    Returns:
        ψ_κ(ε) in (0, 1], the shape of ``density`` (a float for a scalar).
    """
    kappa = _kappa(signed)
    eps = check_half_open_unit_interval("density", density, "ε = k/n, the fraction of non-zeros")

    # ε(z) = κ ρ(z) / h(z) decreases from 1 (z = 0) to 0; bisect −log ε(z) = −log ε.
    def neg_log_eps(t: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore"):
            return _log_h(t, kappa) - np.log(kappa * _rho_of_z(t))

    log_target = -np.log(eps)
    # ε(z) <= κ/(z/φ(z)), so z/φ(z) >= κ/ε suffices for the upper bracket.
    hi = _upper_bracket(np.log(kappa) + log_target)
    z = _bisect_increasing(neg_log_eps, log_target, hi)
    return _scalar_or_array(np.exp(np.log(kappa) - _log_h(z, kappa)))


def _lambertw_exp(x: FloatArray) -> FloatArray:
    """W₀(eˣ) for real x without overflow: solve u + log u = x."""
    x = np.asarray(x, dtype=np.float64)
    small = x < 600.0
    out = np.empty_like(x)
    out[small] = np.real(lambertw(np.exp(x[small])))
    big = ~small
    if np.any(big):
        u = x[big] - np.log(x[big])  # below the root; Newton on a concave function stays below
        for _ in range(8):
            u = u - (u + np.log(u) - x[big]) / (1.0 + 1.0 / u)
        out[big] = u
    return out


def weak_threshold_asymptotic(
    delta: Any, *, signed: bool = True, order: int = 1
) -> FloatArray | float:
    r"""Small-δ forms of the weak threshold.

    ``order=1``: ρ_W(δ) ~ 1 / (2 ln(1/δ)) as δ → 0, for both signed and nonnegative vectors
    (Donoho & Tanner, J. AMS 2009: m ≈ 2 k ln(n/m)). The approach is slow and from below: the
    relative error is ≈ −[ln(2 ln(1/δ)) + ln(2π/κ²) − 3] / (2 ln(1/δ)) = O(ln ln(1/δ) / ln(1/δ));
    measured −2.5% (signed) and −9.6% (nonnegative) at δ = 1e-4, −2.4% / −4.3% at δ = 1e-16,
    −0.8% / −1.1% at δ = 1e-100 (tests/theory/compressed_sensing/test_compressed_sensing.py).

    ``order=2``: ρ_W(δ) ≈ ρ(z₂) = 1 − z₂ Φ(−z₂)/φ(z₂) with z₂² = W₀(κ² / (2π δ²)) (Lambert W).
    It solves the stationarity condition δ = κ/(z/φ(z) + κρ(z)) with the κρ(z) term dropped,
    an error of relative size ~ κ ρ φ(z)/z, i.e. O(δ / ln(1/δ)); it depends on κ. Measured
    relative error below 1e-3 for δ <= 1e-2 and 1e-6 at δ = 1e-4 (tests).

    Args:
        delta: δ in (0, 1), any shape.
        signed: κ = 2 if True, 1 if False (only ``order=2`` depends on it).
        order: 1 or 2.

    Returns:
        The approximation, the shape of ``delta`` (a float for a scalar).
    """
    kappa = _kappa(signed)
    if isinstance(order, bool) or order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    d = check_open_unit_interval("delta", delta, "δ = m/n, measurements per feature")
    if order == 1:
        return _scalar_or_array(1.0 / (2.0 * np.log(1.0 / d)))
    w = _lambertw_exp(2.0 * np.log(kappa) - np.log(2.0 * np.pi) - 2.0 * np.log(d))
    return _scalar_or_array(_rho_of_z(np.sqrt(w)))
