"""Tests for theory.compressed_sensing: weak thresholds, bounds, convex recovery.

Every comparison states its tolerance and why. References are computed independently of the
module (dense-grid maximisation, quadrature + scalar minimisation, published values, closed-form
recovery probabilities of small W, scipy's binomial intervals).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq, minimize_scalar
from scipy.special import ndtr
from scipy.stats import binomtest, norm

from theory import compressed_sensing as cs

SQRT_2PI = np.sqrt(2.0 * np.pi)


# ----------------------------------------------------------------------------------------------
# Independent references
# ----------------------------------------------------------------------------------------------


def brute_force_weak_threshold(delta: np.ndarray, *, signed: bool) -> np.ndarray:
    """ρ_W by direct maximisation of the Donoho–Maleki–Montanari formula on a dense grid (coarse
    then fine; docs/compressed_sensing.md §2).

    Coarse step 2e-3 on [0, 8] (z* < 4 for δ >= 1e-4), then 4001 points within ±2 coarse steps
    of the coarse argmax: the discretisation error is below f'' h²/8 ~ 1e-12.
    """
    kappa = 2.0 if signed else 1.0

    def objective(z: np.ndarray, d: np.ndarray) -> np.ndarray:
        j = (1 + z * z) * ndtr(-z) - z * np.exp(-0.5 * z * z) / SQRT_2PI
        with np.errstate(divide="ignore", invalid="ignore"):
            f = (1 - kappa / d * j) / (1 + z * z - kappa * j)
        return np.where(np.isfinite(f), f, -np.inf)

    d = np.asarray(delta)[:, None]
    coarse = np.linspace(0.0, 8.0, 4001)[None, :]
    i = np.argmax(objective(coarse, d), axis=1)
    step = 8.0 / 4000
    fine = np.clip(coarse[0, i][:, None] + np.linspace(-2 * step, 2 * step, 4001)[None, :], 0, None)
    return np.max(objective(fine, d), axis=1)


def almt_statistical_dimension(eps: float, *, signed: bool) -> float:
    """ψ(ε) = inf_τ ε(1+τ²) + (1−ε)·κ∫_τ^∞ (u−τ)² φ(u) du by quadrature + bounded minimisation.

    Amelunxen, Lotz, McCoy & Tropp 2014 (Prop. 4.5 / eq. for the ℓ1 descent cone); κ = 2 counts
    both tails (signed), κ = 1 one tail (nonnegative orthant + ℓ1). No closed form for J is used.
    """
    kappa = 2.0 if signed else 1.0

    def tail(tau: float) -> float:
        return quad(lambda u: (u - tau) ** 2 * norm.pdf(u), tau, np.inf, epsabs=1e-14)[0]

    res = minimize_scalar(
        lambda tau: eps * (1 + tau * tau) + (1 - eps) * kappa * tail(tau),
        bounds=(0.0, 12.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(res.fun)


# ----------------------------------------------------------------------------------------------
# Weak threshold
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "signed", "published", "tol"),
    [
        # Donoho–Tanner's published tables (Donoho & Tanner 2009); tolerance: half a unit in the last printed digit.
        (0.5, True, 0.3857, 5e-5),
        (0.5, False, 0.5582, 5e-5),
        (0.19, True, 0.238, 5e-4),
        (0.19, False, 0.318, 5e-4),
    ],
)
def test_weak_threshold_published_values(delta, signed, published, tol):
    assert abs(cs.weak_threshold(delta, signed=signed) - published) <= tol


@pytest.mark.parametrize("signed", [True, False])
def test_weak_threshold_matches_brute_force_maximisation(signed):
    # 400 δ log-spaced over [1e-4, 0.5] and linearly over [0.5, 1 − 1e-4]. 1e-4 would be enough
    # for any figure; the brute force is good to ~1e-12 and we measure ~1e-11, so assert 1e-9 to catch
    # any regression in the bisection far before it matters.
    delta = np.concatenate([np.logspace(-4, np.log10(0.5), 200), np.linspace(0.5, 1 - 1e-4, 200)])
    err = np.abs(
        cs.weak_threshold(delta, signed=signed) - brute_force_weak_threshold(delta, signed=signed)
    )
    assert err.max() <= 1e-9, f"max error {err.max():.3e} at δ = {delta[err.argmax()]}"


@pytest.mark.parametrize("signed", [True, False])
def test_weak_threshold_equals_statistical_dimension_curve(signed):
    # Independent formulation (ALMT 2014): δ = ψ(ρ_W(δ) δ). Quadrature ~1e-14 and the bounded
    # minimiser's xatol 1e-10 enter ψ at second order (ψ is stationary in τ), so 1e-9 is safe;
    # the identity is exact (docs), a real discrepancy between the formulations would be >> 1e-6.
    for delta in (1e-3, 0.19, 0.5, 0.97):
        rho = cs.weak_threshold(delta, signed=signed)
        assert abs(almt_statistical_dimension(rho * delta, signed=signed) - delta) <= 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("signed", [True, False])
def test_weak_threshold_solves_the_statistical_dimension_equation(signed):
    # The inverse direction: solve ψ(ρ δ) = δ for ρ by brentq (xtol 1e-12) on the quadrature ψ;
    # agreement 1e-8 (ψ error 1e-9 divided by dψ/dρ = δ ψ' >= 0.1 here).
    for delta in (0.05, 0.1, 0.5, 0.8):
        rho_almt = brentq(
            lambda r, d=delta: almt_statistical_dimension(r * d, signed=signed) - d,
            1e-3,
            1 - 1e-9,
            xtol=1e-12,
        )
        assert abs(rho_almt - cs.weak_threshold(delta, signed=signed)) <= 1e-8


@pytest.mark.parametrize("signed", [True, False])
def test_statistical_dimension_rate_matches_quadrature(signed):
    # Same reference as above, for the public ψ; tolerance as above.
    for eps in (1e-4, 0.2, 0.95):
        assert (
            abs(
                cs.statistical_dimension_rate(eps, signed=signed)
                - almt_statistical_dimension(eps, signed=signed)
            )
            <= 1e-9
        )
    assert cs.statistical_dimension_rate(1.0, signed=signed) == pytest.approx(1.0, abs=1e-12)


def test_weak_threshold_shape_monotonicity_and_ordering():
    delta = np.linspace(1e-4, 1 - 1e-6, 2001)
    signed = cs.weak_threshold(delta, signed=True)
    nonneg = cs.weak_threshold(delta, signed=False)
    assert signed.shape == delta.shape
    assert np.all(np.diff(signed) > 0) and np.all(np.diff(nonneg) > 0)
    # Knowing the sign helps: the simplex curve lies above the cross-polytope curve.
    assert np.all(nonneg > signed)
    assert np.all((signed > 0) & (signed < 1)) and np.all((nonneg > 0) & (nonneg < 1))
    # ρ_W → 1 as δ → 1 (δ = 1 − 1e-6: 1e-2 margin).
    assert cs.weak_threshold(1 - 1e-6, signed=True) > 0.99
    assert isinstance(cs.weak_threshold(0.3), float)


@pytest.mark.parametrize("signed", [True, False])
def test_parametric_form_inverts_the_solver(signed):
    # (δ(z), ρ(z)) is the curve; solving for z from δ(z) must return ρ(z). Bisection to float
    # precision in z, so 1e-12.
    z = np.linspace(0.01, 6.0, 300)
    delta, rho = cs.weak_threshold_parametric(z, signed=signed)
    assert np.max(np.abs(cs.weak_threshold(delta, signed=signed) - rho)) <= 1e-12
    assert np.max(np.abs(cs.weak_threshold_argmax(delta, signed=signed) - z)) <= 1e-9


def test_weak_threshold_is_fast():
    # A 1,000-point curve should take well under a second; we measure ~7 ms. The bound
    # of 0.5 s leaves a 70x margin for a loaded shared CI machine.
    delta = np.linspace(1e-4, 1 - 1e-4, 1000)
    start = time.perf_counter()
    cs.weak_threshold(delta, signed=True)
    cs.weak_threshold(delta, signed=False)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("signed", [True, False])
def test_asymptote_ratio_tends_to_one_at_the_predicted_rate(signed):
    kappa = 2.0 if signed else 1.0
    exponents = np.array([8, 16, 32, 64, 128, 256])
    delta = 10.0**-exponents
    rel = (
        cs.weak_threshold_asymptotic(delta, signed=signed) / cs.weak_threshold(delta, signed=signed)
        - 1
    )
    # 1/(2 ln(1/δ)) approaches from below, slowly, and |error| shrinks monotonically from 1e-8.
    assert np.all(rel < 0) and np.all(np.diff(np.abs(rel)) < 0)
    assert abs(rel[-1]) < 0.006  # measured 0.34% (signed), 0.50% (nonnegative) at δ = 1e-256
    # Measured rate vs the derived one, −[ln(2L) + ln(2π/κ²) − 3]/(2L), L = ln(1/δ): the next
    # term is O(ln L / L²), 10% of the leading one at L = 18 and < 2% for L >= 37 (δ <= 1e-16).
    L = np.log(1 / delta)
    predicted = -(np.log(2 * L) + np.log(2 * np.pi / kappa**2) - 3) / (2 * L)
    assert np.all(np.abs(rel[1:] / predicted[1:] - 1) < 0.02)
    # Measured values quoted in the docstring (δ = 1e-4): −2.5% signed, −9.6% nonnegative (±0.1%).
    r4 = (
        cs.weak_threshold_asymptotic(1e-4, signed=signed) / cs.weak_threshold(1e-4, signed=signed)
        - 1
    )
    assert r4 == pytest.approx(-0.0247 if signed else -0.0962, abs=1e-3)


@pytest.mark.parametrize("signed", [True, False])
def test_second_order_asymptote(signed):
    # ρ(√W₀(κ²/(2πδ²))) drops a term of relative size O(δ/ln(1/δ)): measured 2.7e-4 at δ = 1e-2
    # and 7e-7 at 1e-4; bounds 1e-3 and 1e-5 leave a margin of >= 3.
    for delta, tol in ((1e-2, 1e-3), (1e-4, 1e-5), (1e-30, 1e-12)):
        exact = cs.weak_threshold(delta, signed=signed)
        approx = cs.weak_threshold_asymptotic(delta, signed=signed, order=2)
        assert abs(approx / exact - 1) <= tol


# ----------------------------------------------------------------------------------------------
# Bounds
# ----------------------------------------------------------------------------------------------


def test_order_bound_values_and_density_form():
    # Exact formulas (rounding only): rel 1e-12.
    assert cs.measurements_order(10, 1000) == pytest.approx(10 * np.log(100), rel=1e-12)
    assert cs.measurements_order(10, 1000, constant=2) == pytest.approx(20 * np.log(100), rel=1e-12)
    p, n = 0.01, 1000
    assert cs.measurements_order_density(p, n) == pytest.approx(
        cs.measurements_order(p * n, n), rel=1e-12
    )
    assert cs.features_per_dimension(p) == pytest.approx(1 / (p * np.log(1 / p)), rel=1e-12)
    assert cs.max_features(50, p) == pytest.approx(50 / (p * np.log(1 / p)), rel=1e-12)
    assert cs.features_per_dimension(1.0) == np.inf  # the order bound is vacuous at p = 1
    # Fixed k: n_max = k exp(m / k), exponential in m.
    assert cs.max_features_fixed_k(20, 4) == pytest.approx(4 * np.exp(5), rel=1e-12)


@pytest.mark.parametrize("name", list(cs.BOUNDS))
def test_every_bound_inverts(name):
    # max_features is the inverse of measurements_density in n: round trip to rel 1e-10.
    bound = cs.BOUNDS[name]
    density = np.array([1e-3, 0.01, 0.1, 0.3])
    m = np.array([10.0, 50.0, 200.0, 1000.0])
    n = np.asarray(bound.max_features(m, density))
    assert np.allclose(bound.measurements_density(density, n), m, rtol=1e-10)
    assert np.allclose(bound.measurements(density * n, n), m, rtol=1e-10)
    assert (
        bound.source
        and bound.formula
        and bound.kind in ("order", "necessary", "sufficient", "threshold")
    )


def test_donoho_tanner_asymptotic_bound_solves_its_equation():
    # m = 2k W₀(n/(2k)) must satisfy m = 2k ln(n/m); Lambert W is exact to ~1e-15, rel 1e-12.
    k, n = 7.0, 1e5
    m = cs.BOUNDS["donoho_tanner_asymptotic"].measurements(k, n)
    assert m == pytest.approx(2 * k * np.log(n / m), rel=1e-12)


@pytest.mark.parametrize("signed", [True, False])
def test_weak_threshold_bound_is_the_weak_threshold(signed):
    # m = n ψ(k/n) means k/m = ρ_W(m/n): both solved to float precision, rel 1e-10.
    name = "weak_threshold_signed" if signed else "weak_threshold_nonnegative"
    n, k = 1000.0, np.array([5.0, 50.0, 200.0])
    m = np.asarray(cs.BOUNDS[name].measurements(k, n))
    assert np.allclose(k / m, cs.weak_threshold(m / n, signed=signed), rtol=1e-10)


def test_bounds_are_mutually_consistent():
    # Theorems that must agree: the sufficient Gaussian-width bound (CRPW 2012) is >= the sharp
    # ℓ1 transition ψ₂ at every density (measured min ratio 1.22, so no tolerance is needed), and
    # the DT asymptote is within 3% of ψ₂ for ε <= 1e-4 (measured <= 2.9%: the O(ln L/L) rate).
    eps = np.logspace(-12, -0.01, 400)
    psi = cs.statistical_dimension_rate(eps, signed=True)
    assert np.all(cs.BOUNDS["chandrasekaran"].rate(eps) >= psi)
    assert np.all(cs.statistical_dimension_rate(eps, signed=False) <= psi)
    small = eps <= 1e-4
    assert np.all(
        np.abs(cs.BOUNDS["donoho_tanner_asymptotic"].rate(eps[small]) / psi[small] - 1) < 0.03
    )


# ----------------------------------------------------------------------------------------------
# Convex recovery
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("nonnegative", [False, True])
@pytest.mark.parametrize("method", ["cvxpy", "linprog"])
def test_very_sparse_recovers_and_square_always_recovers(nonnegative, method):
    # k = 2 of n = 60 with m = 30 (ρ = 0.067 vs ρ_W(0.5) >= 0.386): the failure probability is
    # astronomically small, so every seed must succeed; errors ~1e-13, tolerance 1e-4 (module).
    for seed in range(5):
        res = cs.recovery_trial(60, 30, 2, seed=seed, nonnegative=nonnegative, method=method)
        assert res.success and res.relative_error < 1e-8
    # m = n: A is invertible almost surely, so recovery is certain even for a dense x.
    res = cs.recovery_trial(20, 20, 20, seed=3, nonnegative=nonnegative, method=method)
    assert res.success


@pytest.mark.parametrize("nonnegative", [False, True])
def test_more_nonzeros_than_measurements_always_fails(nonnegative):
    # k = m + 1: x cannot be the unique LP optimum (a unique optimum is a vertex, with <= m
    # non-zeros for generic A), so recovery fails with certainty. Errors are O(1).
    for seed in range(5):
        res = cs.recovery_trial(40, 10, 11, seed=seed, nonnegative=nonnegative)
        assert not res.success and res.relative_error > 1e-3


@pytest.mark.parametrize("nonnegative", [False, True])
def test_cvxpy_and_linprog_agree(nonnegative):
    # Same LP, two front ends to HiGHS: identical verdicts in every cell of a small grid that
    # spans the transition, and identical x̂ (to 1e-8 relative) on a successful instance.
    kwargs = dict(trials=4, seed=11, nonnegative=nonnegative)
    a = cs.phase_transition_grid(30, [0.3, 0.6], [0.2, 0.4, 0.6, 0.8], method="cvxpy", **kwargs)
    b = cs.phase_transition_grid(30, [0.3, 0.6], [0.2, 0.4, 0.6, 0.8], method="linprog", **kwargs)
    assert np.array_equal(a.successes, b.successes)
    assert a.successes.min() < kwargs["trials"] and a.successes.max() > 0  # spans the transition
    rng = np.random.default_rng(5)
    A = cs.gaussian_matrix(15, 30, rng)
    x = cs.sparse_vector(30, 3, rng, value_distribution="uniform")
    x1 = cs.recover_l1(A, A @ x, nonnegative=nonnegative)
    x2 = cs.recover_l1(A, A @ x, nonnegative=nonnegative, method="linprog")
    x3 = cs.recover_l1(A, A @ x, nonnegative=nonnegative, solver="CLARABEL")
    assert cs.relative_error(x1, x2) < 1e-8
    assert cs.relative_error(x3, x) < 1e-6  # interior point: gap tolerance 1e-8


@pytest.mark.parametrize("signed", [True, False])
def test_empirical_transition_small_n(signed):
    # n = 40, δ = 0.5 (m = 20), 30 trials per k, every k/m within ±0.25 of ρ_W.
    # Reference: ρ_W(0.5), the n → ∞ line. At n = 40 small problems are easier: over 20 seeds
    # (2024..2043) this exact estimator gave ρ_50 − ρ_W = +0.031 ± 0.019 (signed) and
    # +0.033 ± 0.017 (nonnegative), range [−0.019, +0.071]. Tolerance: the mean shift ±0.07
    # (3.5 sd of the seed-to-seed spread: binomial noise with ρ steps of 1/m = 0.05).
    m, n = 20, 40
    rho_w = cs.weak_threshold(m / n, signed=signed)
    ks = np.arange(1, m + 1)
    ks = ks[np.abs(ks / m - rho_w) <= 0.25]
    grid = cs.phase_transition_grid(
        n, [m / n], ks / m, trials=30, seed=2024, nonnegative=not signed, method="linprog"
    )
    _, rho50 = grid.contour_50()
    assert abs(rho50[0] - (rho_w + 0.03)) <= 0.07, (rho50, rho_w)
    assert grid.solver_failures.sum() == 0
    # Values bounded away from 0 (the default ±1 / ones) keep failures far from the tolerance.
    errors = grid.relative_errors
    assert errors[errors > grid.tolerance].min() > 1e-2
    assert errors[errors <= grid.tolerance].max() < 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("signed", [True, False])
def test_empirical_transition_n200(signed):
    # n = 200, δ ∈ {0.25, 0.5, 0.75}, 40 trials per k. The bench (docs/compressed_sensing.md §4)
    # measured ρ_50 − ρ_W between −0.004 and +0.023 at n = 200 over δ ∈ [0.1, 0.9], both classes;
    # binomial noise on the interpolated point is ~0.01 at 40 trials with ρ steps <= 0.02.
    # Tolerance 0.04 = largest measured shift + ~2 noise sd.
    n = 200
    for i, delta in enumerate((0.25, 0.5, 0.75)):
        m = round(delta * n)
        rho_w = cs.weak_threshold(m / n, signed=signed)
        ks = np.arange(1, m + 1)
        ks = ks[np.abs(ks / m - rho_w) <= 0.15]
        grid = cs.phase_transition_grid(
            n, [m / n], ks / m, trials=40, seed=100 + i, nonnegative=not signed
        )
        _, rho50 = grid.contour_50()
        assert abs(rho50[0] - rho_w) <= 0.04, (delta, rho50, rho_w)


def test_grid_result_is_reproducible_and_frozen():
    g1 = cs.phase_transition_grid(20, [0.5], [0.3, 0.9], trials=3, seed=7, method="linprog")
    g2 = cs.phase_transition_grid(20, [0.5], [0.3, 0.9], trials=3, seed=7, method="linprog")
    assert np.array_equal(g1.relative_errors, g2.relative_errors)
    assert g1.m.tolist() == [10] and g1.k.tolist() == [[3, 9]]
    with pytest.raises(ValueError):
        g1.successes[0, 0] = 5  # read-only arrays
    # Every trial is re-runnable from (seed, i, j, t): rebuild cell (0, 1) trial 2 by hand.
    rng = cs.trial_rng(7, 0, 1, 2)
    A = cs.gaussian_matrix(10, 20, rng)
    x = cs.sparse_vector(20, 9, rng, value_distribution=g1.value_distribution)
    x_hat = cs.recover_l1(A, A @ x, method="linprog")
    assert cs.relative_error(x_hat, x) == pytest.approx(
        g1.relative_errors[0, 1, 2], rel=1e-9, abs=1e-12
    )


def test_contour_interpolation():
    # Hand-made probabilities: row 0 goes 1.0, 0.75, 0.25 at ρ = 0.2, 0.4, 0.6 → 50% at 0.5.
    g = cs.phase_transition_grid(20, [0.5], [0.2, 0.4, 0.6], trials=1, seed=0, method="linprog")
    fake = cs.PhaseTransitionGrid(**{**g.__dict__, "successes": np.array([[4, 3, 1]]), "trials": 4})
    _, rho50 = fake.contour_50()
    assert rho50[0] == pytest.approx(0.5, abs=1e-12)
    none = cs.PhaseTransitionGrid(**{**g.__dict__, "successes": np.array([[4, 4, 4]]), "trials": 4})
    assert np.isnan(none.contour_50()[1][0])


# ----------------------------------------------------------------------------------------------
# Recovery with a given matrix
# ----------------------------------------------------------------------------------------------


def test_recovery_rate_antipodal_pair_matches_closed_form():
    # W = [1, −1] (the paper's n = 2, m = 1 antipodal pair). The LP min x₁ + x₂ s.t.
    # x₁ − x₂ = y, x ≥ 0 returns (y₊, y₋): right iff at most one feature is active, so the
    # success probability is 1 − p². With 400 trials the 95% Wilson interval must cover it
    # (fixed seed: a deterministic check; a 5% miss would show as a failure of this seed).
    p = 0.5
    res = cs.recovery_rate(np.array([[1.0, -1.0]]), density=p, trials=400, seed=1)
    assert res.low <= 1 - p**2 <= res.high
    assert res.solver_failures == 0 and res.n == 2 and res.m == 1


def test_recovery_rate_pentagon_matches_closed_form():
    # Pentagon (n = 5, m = 2, unit vectors at angles 2πi/5), nonnegative LP: min Σx over
    # nonnegative combinations is the gauge of the pentagon, which uses the edge whose cone holds
    # y. So x is recovered iff <= 1 feature is active or 2 adjacent ones are (5 of the 10 pairs);
    # 3+ active never: P = (1−p)⁵ + 5p(1−p)⁴ + 5p²(1−p)³. Clopper–Pearson 95%, fixed seed.
    angles = 2 * np.pi * np.arange(5) / 5
    W = np.stack([np.cos(angles), np.sin(angles)])
    p = 0.3
    exact = (1 - p) ** 5 + 5 * p * (1 - p) ** 4 + 5 * p**2 * (1 - p) ** 3
    res = cs.recovery_rate(W, density=p, trials=300, seed=3, interval="clopper-pearson")
    assert res.low <= exact <= res.high, (res.rate, exact)
    # With exactly k = 1 non-zero recovery is certain.
    assert cs.recovery_rate(W, k=1, trials=20, seed=0).rate == 1.0


def test_binomial_intervals_match_scipy():
    # scipy.stats.binomtest(...).proportion_ci implements both; float agreement 1e-10.
    for s, t in ((0, 10), (3, 10), (10, 10), (57, 200)):
        ci = binomtest(s, t).proportion_ci(confidence_level=0.9, method="wilson")
        assert cs.wilson_interval(s, t, confidence=0.9) == pytest.approx(
            (ci.low, ci.high), abs=1e-10
        )
        ci = binomtest(s, t).proportion_ci(confidence_level=0.9, method="exact")
        assert cs.clopper_pearson_interval(s, t, confidence=0.9) == pytest.approx(
            (ci.low, ci.high), abs=1e-10
        )


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: cs.weak_threshold(1.0), r"delta must lie in the open interval \(0, 1\).*1\.0"),
        (lambda: cs.weak_threshold(0.0), r"\(0, 1\).*0\.0"),
        (lambda: cs.weak_threshold([0.2, -0.1]), r"-0\.1"),
        (lambda: cs.weak_threshold(np.nan), r"\(0, 1\)"),
        (lambda: cs.weak_threshold_asymptotic(0.1, order=3), r"order must be 1 or 2, got 3"),
        (lambda: cs.statistical_dimension_rate(1.5), r"density must lie in \(0, 1\].*1\.5"),
        (lambda: cs.measurements_order(20, 10), r"k must be <= n.*k = 20.*n = 10"),
        (lambda: cs.measurements_order(0, 10), r"k must be finite and > 0.*0"),
        (lambda: cs.measurements_order_density(0.0, 10), r"density must lie in \(0, 1\]"),
        (lambda: cs.max_features(10, 0.1, bound="nope"), r"bound must be one of .*'nope'"),
        (
            lambda: cs.phase_transition_grid(50, [1.2], [0.5], trials=1, seed=0),
            r"deltas .*\(0, 1\).*1\.2",
        ),
        (
            lambda: cs.phase_transition_grid(50, [0.5], [0.0], trials=1, seed=0),
            r"rhos must lie in \(0, 1\].*0\.0",
        ),
        (lambda: cs.phase_transition_grid(50, [0.5], [1.5], trials=1, seed=0), r"rhos.*1\.5"),
        (
            lambda: cs.phase_transition_grid(50.5, [0.5], [0.5], trials=1, seed=0),
            r"n must be an integer >= 2.*50\.5",
        ),
        (
            lambda: cs.phase_transition_grid(0, [0.5], [0.5], trials=1, seed=0),
            r"n must be an integer >= 2, got 0",
        ),
        (
            lambda: cs.phase_transition_grid(50, [0.5], [0.5], trials=0, seed=0),
            r"trials must be an integer >= 1, got 0",
        ),
        (lambda: cs.phase_transition_grid(50, [0.5], [0.5], trials=2.0, seed=0), r"trials .*2\.0"),
        (
            lambda: cs.phase_transition_grid(50, [0.5], [0.5], trials=1, seed=-1),
            r"seed must be an integer >= 0, got -1",
        ),
        (
            lambda: cs.phase_transition_grid(50, [0.6, 0.5], [0.5], trials=1, seed=0),
            r"deltas must be strictly increasing",
        ),
        (
            lambda: cs.phase_transition_grid(10, [0.01], [0.5], trials=1, seed=0),
            r"round\(delta \* n\) must lie in \[1, n − 1\]",
        ),
        (
            lambda: cs.phase_transition_grid(10, [0.5], [0.05], trials=1, seed=0),
            r"round\(rho \* m\) must be >= 1",
        ),
        (lambda: cs.recovery_trial(10, 5, 11, seed=0), r"k must be <= n, got k = 11, n = 10"),
        (lambda: cs.recovery_trial(10, -5, 2, seed=0), r"m must be an integer >= 1, got -5"),
        (
            lambda: cs.recovery_trial(
                10, 5, 2, seed=0, nonnegative=True, value_distribution="gaussian"
            ),
            r"gaussian",
        ),
        (
            lambda: cs.recovery_trial(10, 5, 2, seed=0, method="magic"),
            r"method must be one of .*'magic'",
        ),
        (
            lambda: cs.recovery_trial(10, 5, 2, seed=0, tolerance=0.0),
            r"tolerance must be finite and > 0",
        ),
        (lambda: cs.recover_l1(np.ones((3, 4)), np.ones(2)), r"y must have shape \(3,\).*\(2,\)"),
        (lambda: cs.recover_l1(np.ones(4), np.ones(4)), r"A must be a non-empty 2-D matrix"),
        (
            lambda: cs.recover_l1(np.ones((2, 4)), np.ones(2), method="linprog", solver="HIGHS"),
            r"solver applies to method='cvxpy' only",
        ),
        (
            lambda: cs.recovery_rate(np.ones((2, 4)), trials=5, seed=0),
            r"exactly one of density .* and k",
        ),
        (
            lambda: cs.recovery_rate(np.ones((2, 4)), density=0.5, k=2, trials=5, seed=0),
            r"exactly one",
        ),
        (
            lambda: cs.recovery_rate(np.ones((2, 4)), k=5, trials=5, seed=0),
            r"k must be <= n = 4.*5",
        ),
        (
            lambda: cs.recovery_rate(np.ones((2, 4)), density=1.5, trials=5, seed=0),
            r"density must lie in \(0, 1\].*1\.5",
        ),
        (
            lambda: cs.recovery_rate(
                np.ones((2, 4)), density=0.5, trials=5, seed=0, interval="bayes"
            ),
            r"interval must be one of",
        ),
        (lambda: cs.wilson_interval(5, 3), r"0 <= successes <= trials"),
        (
            lambda: cs.wilson_interval(1, 3, confidence=1.0),
            r"confidence must be a scalar in \(0, 1\)",
        ),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="signed must be True or False"):
        cs.weak_threshold(0.5, signed="yes")
    with pytest.raises(TypeError, match="delta must be a number"):
        cs.weak_threshold("0.5")
    with pytest.raises(TypeError, match="n must be an integer"):
        cs.recovery_trial("10", 5, 2, seed=0)


def test_wilson_interval_reaches_its_exact_ends():
    from theory.compressed_sensing import wilson_interval

    low, _ = wilson_interval(0, 37)
    _, high = wilson_interval(37, 37)
    assert low == 0.0 and high == 1.0
