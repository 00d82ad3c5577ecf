"""theory.bounds: the least loss without superposition, against exact integrals and Monte Carlo."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from theory import bounds, linear


# --- independent references ----------------------------------------------------------------------
def feature_loss_exact(scale: float, bias: float, density: float) -> float:
    """E[(x − ReLU(scale·x + bias))²] for one feature, by quadrature (the ReLU kink is a break
    point). With orthogonal columns, output i is ReLU(‖W_i‖² x_i + b_i) (scale 0 if unrepresented)."""
    zero_part = (1 - density) * max(bias, 0.0) ** 2
    kink = [-bias / scale] if scale != 0 and 0 < -bias / scale < 1 else None
    value, _ = integrate.quad(
        lambda x: (x - max(scale * x + bias, 0.0)) ** 2, 0, 1, points=kink, epsabs=1e-14
    )
    return zero_part + density * value


def mc_relu_loss(w, b, importance, density, n_samples: int, seed: int) -> tuple[float, float]:
    """Monte Carlo loss of x' = ReLU(WᵀWx + b) on the full model (no decoupling assumed)."""
    rng = np.random.default_rng(seed)
    imp = np.asarray(importance, float)
    p = np.broadcast_to(np.asarray(density, float), imp.shape)
    x = rng.random((n_samples, imp.size)) * (rng.random((n_samples, imp.size)) < p)
    out = np.maximum(x @ (w.T @ w) + b, 0.0)
    per_example = ((x - out) ** 2) @ imp
    return float(per_example.mean()), float(per_example.std(ddof=1) / np.sqrt(n_samples))


@st.composite
def orthogonal_models(draw):
    """A problem (importance, density, m) and a random model without superposition on it."""
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 5))
    importance = np.array(draw(st.lists(st.floats(0.0, 3.0), min_size=n, max_size=n)))
    density = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n)))
    k = draw(st.integers(0, min(m, n)))  # number of represented features
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    represented = rng.permutation(n)[:k]
    q, _ = np.linalg.qr(rng.normal(size=(m, m)))  # orthonormal directions
    w = np.zeros((m, n))
    w[:, represented] = q[:, :k] * rng.uniform(0.3, 1.5, size=k)
    b = rng.uniform(-0.5, 0.8, size=n)
    return importance, density, m, w, b


# --- the bound -----------------------------------------------------------------------------------
@given(orthogonal_models())
def test_no_orthogonal_model_beats_the_bound(case):
    # Exact loss of a random orthogonal-column ReLU model (per-feature quadrature, |error| < 1e-13
    # per feature) is never below the bound; 1e-12 absorbs the quadrature error.
    importance, density, m, w, b = case
    gram = w.T @ w
    np.testing.assert_allclose(gram - np.diag(np.diag(gram)), 0.0, atol=1e-12)  # no superposition
    exact = sum(
        importance[i] * feature_loss_exact(gram[i, i], b[i], density[i])
        for i in range(importance.size)
    )
    assert exact >= bounds.no_superposition_loss(importance, density, m) - 1e-12


def test_decoupling_matches_full_model_monte_carlo():
    # The per-feature decomposition used above equals the full model's loss: 4 standard errors
    # of a 300k-sample Monte Carlo mean (two-sided false-alarm rate 6e-5, seeds fixed).
    rng = np.random.default_rng(7)
    importance = rng.uniform(0.2, 2.0, size=5)
    density = rng.uniform(0.05, 1.0, size=5)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    w = np.zeros((3, 5))
    w[:, [0, 2, 4]] = q * np.array([0.8, 1.0, 1.3])
    b = np.array([-0.1, 0.2, 0.05, 0.6, -0.2])
    gram = w.T @ w
    exact = sum(importance[i] * feature_loss_exact(gram[i, i], b[i], density[i]) for i in range(5))
    mean, se = mc_relu_loss(w, b, importance, density, 300_000, seed=8)
    assert abs(mean - exact) <= 4 * se


@given(orthogonal_models())
def test_constructed_model_attains_the_bound(case):
    importance, density, m, _, _ = case
    w, b = bounds.no_superposition_solution(importance, density, m)
    gram = w.T @ w
    np.testing.assert_array_equal(gram - np.diag(np.diag(gram)), 0.0)
    exact = sum(
        importance[i] * feature_loss_exact(gram[i, i], b[i], density[i])
        for i in range(importance.size)
    )
    # Quadrature of polynomials on [0, 1]: exact to rounding; 1e-12 absolute.
    assert exact == pytest.approx(bounds.no_superposition_loss(importance, density, m), abs=1e-12)


def test_constructed_model_attains_the_bound_monte_carlo():
    # 4 standard errors of a 400k-sample mean, as above.
    importance = 0.7 ** np.arange(8)
    density = np.linspace(0.05, 1.0, 8)
    w, b = bounds.no_superposition_solution(importance, density, 3)
    mean, se = mc_relu_loss(w, b, importance, density, 400_000, seed=9)
    assert abs(mean - bounds.no_superposition_loss(importance, density, 3)) <= 4 * se


# --- relations to the linear optimum and to superposition ----------------------------------------
@given(
    st.integers(1, 8).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(0.0, 5.0), min_size=n, max_size=n),
            st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n),
            st.integers(1, 9),
        )
    )
)
def test_linear_optimum_equals_the_bound(args):
    # For independent features both are Σ of the n − m smallest I_i Var x_i (docs §2.3):
    # equal to rounding (1e-15 relative).
    importance, density, m = args
    assert linear.optimal_loss(importance, density, m) == pytest.approx(
        bounds.no_superposition_loss(importance, density, m), rel=1e-15, abs=0
    )


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_numerical_linear_optimum_is_the_bound(seed):
    # Independent route: minimise the exact linear loss (theory.linear.expected_loss, itself checked
    # against Monte Carlo in test_linear.py) over W with b = (I − WᵀW)E[x], best of 8 BFGS starts.
    # It can neither beat the bound (linear models ⊇ orthogonal ones, and Eckart–Young) nor miss
    # it by more than the optimiser's tolerance (1e-9 absolute on losses of order 0.1).
    from scipy.optimize import minimize

    rng = np.random.default_rng(100 + seed)
    n, m = 4, 2
    importance = rng.uniform(0.1, 2.0, size=n)
    density = rng.uniform(0.05, 1.0, size=n)

    def loss(theta: np.ndarray) -> float:
        w = theta.reshape(m, n)
        b = (np.eye(n) - w.T @ w) @ (density / 2)
        return float(linear.expected_loss(w, b, importance, density))

    best = min(
        minimize(
            loss, rng.normal(scale=0.7, size=m * n), method="BFGS", options={"gtol": 1e-10}
        ).fun
        for _ in range(8)
    )
    bound = bounds.no_superposition_loss(importance, density, m)
    assert best >= bound - 1e-12
    assert best == pytest.approx(bound, abs=1e-9)


def test_superposition_beats_the_bound_when_sparse():
    # n=2, m=1, equal importance, p = 0.1: the antipodal pair W = [1, −1], b = 0 has loss
    # 2p²/6 = 0.00333 (REFERENCE), far below the bound Var x = 0.0308. 4 standard errors of MC.
    p = 0.1
    w, b = np.array([[1.0, -1.0]]), np.zeros(2)
    mean, se = mc_relu_loss(w, b, [1.0, 1.0], p, 400_000, seed=11)
    assert abs(mean - 2 * p**2 / 6) <= 4 * se
    assert mean + 4 * se < bounds.no_superposition_loss([1.0, 1.0], p, 1)


def test_dense_relu_model_can_beat_the_bound_with_equal_importance():
    # At p = 1, n=2, m=1, I = (1, 1) the bound is 1/12 (also the linear optimum). A ReLU model with
    # superposition found by numerical search, W = (−0.93565, 0.36745), b = (0.23255, 0.60439),
    # reaches 0.0832542: 7.9e-5 below it. Exact double integral (dblquad, error < 1e-10).
    a, c, b1, b2 = -0.93564835, 0.36745474, 0.23255155, 0.60439272

    def integrand(x2: float, x1: float) -> float:
        h = a * x1 + c * x2
        return (x1 - max(a * h + b1, 0.0)) ** 2 + (x2 - max(c * h + b2, 0.0)) ** 2

    value, err = integrate.dblquad(integrand, 0, 1, 0, 1, epsabs=1e-11, epsrel=1e-11)
    assert err < 1e-10
    assert value == pytest.approx(0.0832542430, abs=1e-9)
    assert value < bounds.dense_relu_loss([1.0, 1.0], 1) - 7e-5


# --- dense limit ---------------------------------------------------------------------------------
def test_dense_paper_check():
    # n=20, m=5, I = 0.7^i, p = 1: (1/12) Σ_{i=5}^{19} 0.7^i = 0.0464644659..., exact rational
    # arithmetic as the reference (1e-15). The six-digit value 0.046463 is 1.47e-6 below the exact
    # one, so the check against it allows 2e-6; the exact value is checked to rounding.
    importance = 0.7 ** np.arange(20)
    exact = float(sum(Fraction(7, 10) ** i for i in range(5, 20)) / 12)
    value = bounds.dense_relu_loss(importance, 5)
    assert value == pytest.approx(exact, rel=1e-14)
    assert value == pytest.approx(0.046463, abs=2e-6)
    assert value / 20 == pytest.approx(0.0023232233, abs=1e-10)  # the notebook's per-feature mean


def test_dense_limit_is_a_twelfth_of_the_dropped_importance():
    importance = np.array([3.0, 1.0, 2.0, 0.5])
    assert bounds.dense_relu_loss(importance, 2) == pytest.approx((1.0 + 0.5) / 12, rel=1e-15)
    assert bounds.no_superposition_loss(importance, 1.0, 2) == bounds.dense_relu_loss(importance, 2)


# --- shapes --------------------------------------------------------------------------------------
def test_batched_matches_loop():
    rng = np.random.default_rng(12)
    importance = rng.uniform(0, 2, size=(3, 4, 6))
    density = rng.uniform(0.01, 1, size=(4, 6))
    batched = bounds.no_superposition_loss(importance, density, 2)
    assert batched.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert batched[i, j] == bounds.no_superposition_loss(importance[i, j], density[j], 2)
    scalar_density = bounds.no_superposition_loss(importance, 0.3, 7)
    np.testing.assert_array_equal(scalar_density, np.zeros((3, 4)))


def test_feature_variance_peaks_at_two_thirds():
    p = np.linspace(0.01, 1, 1000)
    assert bounds.feature_variance(2 / 3) == pytest.approx(1 / 9, rel=1e-15)
    assert bounds.feature_variance(p).max() <= 1 / 9 + 1e-16
    assert bounds.feature_variance(1.0) == pytest.approx(1 / 12, rel=1e-15)


# --- bad input -----------------------------------------------------------------------------------
def test_bad_input():
    with pytest.raises(ValueError, match=r"density must lie in \(0, 1\].*1\.2"):
        bounds.no_superposition_loss([1.0, 1.0], [0.5, 1.2], 1)
    with pytest.raises(ValueError, match=r"density must lie in \(0, 1\].*0\.0"):
        bounds.no_superposition_loss([1.0, 1.0], 0.0, 1)
    with pytest.raises(ValueError, match=r"importance must be finite and >= 0.*-0\.5"):
        bounds.no_superposition_loss([1.0, -0.5], 0.5, 1)
    with pytest.raises(ValueError, match="m must be a positive integer, got -2"):
        bounds.no_superposition_loss([1.0, 1.0], 0.5, -2)
    with pytest.raises(TypeError, match=r"m must be a positive integer, got 2\.0"):
        bounds.no_superposition_loss([1.0, 1.0], 0.5, 2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*density of shape \(4,\)"):
        bounds.no_superposition_loss(np.ones((2, 3)), np.full(4, 0.5), 1)
    with pytest.raises(ValueError, match=r"feature axis.*scalar"):
        bounds.no_superposition_loss(1.0, 0.5, 1)
    with pytest.raises(ValueError, match=r"importance must have shape \(n_features,\)"):
        bounds.no_superposition_solution(np.ones((2, 3)), 0.5, 1)
