"""theory.landscape: symmetries, derivatives, truncation, batching and bad input."""

from __future__ import annotations

import importlib.util
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import landscape

_spec = importlib.util.spec_from_file_location(
    "landscape_refs", Path(__file__).with_name("references.py")
)
assert _spec is not None and _spec.loader is not None
refs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refs)
models = refs.models


def _scale(p, imp):
    """The loss scale Σ_i I_i p_i / 3 (the loss of W = 0, b = 0): rounding is relative to it."""
    return float(np.sum(np.asarray(imp) * np.asarray(p))) / 3 + 1e-300


# ---------------------------------------------------------------- symmetries


@settings(max_examples=15)
@given(models(n_min=3, n_max=6), st.integers(0, 2**32 - 1))
def test_symmetries(model, seed):
    # Exact symmetries of the model (the loss depends on W through WᵀW, and features are
    # exchangeable with their densities and importances); the two sides round differently, so
    # agreement to 1e-12 of the loss scale.
    w, b, p, imp = model
    rng = np.random.default_rng(seed)
    ref = landscape.expected_loss(w, b, p, imp)
    tol = 1e-12 * max(abs(ref), _scale(p, imp))
    perm = rng.permutation(w.shape[1])
    assert abs(landscape.expected_loss(w[:, perm], b[perm], p[perm], imp[perm]) - ref) <= tol
    q, _ = np.linalg.qr(rng.standard_normal((w.shape[0], w.shape[0])))
    assert abs(landscape.expected_loss(q @ w, b, p, imp) - ref) <= tol
    assert landscape.expected_loss(-w, b, p, imp) == ref  # WᵀW is bit-for-bit the same


def test_pattern_losses_sum_to_the_loss():
    rng = np.random.default_rng(3)
    w, b = rng.normal(size=(2, 4)), rng.normal(size=4) * 0.3
    p, imp = rng.uniform(0.05, 1, 4), rng.uniform(0.1, 2, 4)
    total = 0.0
    for d in range(5):
        for active in combinations(range(4), d):
            mask = np.isin(np.arange(4), active)
            prob = np.prod(np.where(mask, p, 1 - p))
            total += prob * float(imp @ landscape.pattern_loss(w, b, active))
    assert abs(total - landscape.expected_loss(w, b, p, imp)) <= 1e-14


def test_known_closed_forms():
    # Identity W with b = 0 reconstructs every x exactly; the antipodal pair at b = 0 loses
    # p²/6 per feature (E[min(U1, U2)²] = 1/6); a dropped feature at b = p/2 loses p/3 − p²/4.
    p = 0.3
    assert landscape.expected_loss(np.eye(3), np.zeros(3), p, 1.0) <= 1e-16
    pair = landscape.expected_loss(np.array([[1.0, -1.0]]), np.zeros(2), p, 1.0)
    assert abs(pair - 2 * p**2 / 6) <= 1e-15
    dropped = landscape.expected_loss(np.array([[1.0, 0.0]]), np.array([0.0, p / 2]), p, 1.0)
    assert abs(dropped - (p / 3 - p**2 / 4)) <= 1e-15


# ---------------------------------------------------------------- derivatives


def _theta(w, b):
    return np.concatenate([w.ravel(), b])


@settings(max_examples=5)
@given(models(n_min=2, n_max=4, m_max=3))
def test_gradient_matches_central_differences(model):
    # Central differences of the exact loss at steps h and h/2 (h = 1e-5). Where a tiny weight
    # makes the loss curve on a short scale the difference quotient itself is inaccurate, so the
    # tolerance is 10 × |D(h) − D(h/2)| (an estimate of its truncation error) plus 1e-7 of the
    # gradient scale (rounding: ε·L/h ~ 1e-11); a wrong term would be off by O(1). L is not
    # differentiable where a feature has W_i = 0 and b_i = 0 (docs/landscape.md, "Gradient"), so
    # exact zero biases are moved off 0.
    w, b, p, imp = model
    b = np.where(b == 0, 0.0123, b)
    m, n = w.shape
    _, g_w, g_b = landscape.expected_loss_and_grad(w, b, p, imp)
    grad = _theta(g_w, g_b)
    th = _theta(w, b)

    def loss(t):
        return landscape.expected_loss(t[: m * n].reshape(m, n), t[m * n :], p, imp)

    def central(h):
        return np.array([(loss(th + h * e) - loss(th - h * e)) / (2 * h) for e in np.eye(th.size)])

    d1, d2 = central(1e-5), central(5e-6)
    tol = 10 * np.abs(d1 - d2) + 1e-7 * max(np.max(np.abs(grad)), _scale(p, imp))
    assert np.all(np.abs(d2 - grad) <= tol)


def test_gradient_matches_exact_rational_gradient():
    # The rational gradient is exact for the given floats: agreement to rounding (1e-13).
    rng = np.random.default_rng(11)
    w, b = rng.normal(size=(2, 4)), rng.normal(size=4) * 0.3
    w[0, 1] = 1e-9  # a tiny coupling, where alternating sums cancel
    p, imp = rng.uniform(0.05, 1, 4), rng.uniform(0.1, 2, 4)
    _, g_w, g_b = landscape.expected_loss_and_grad(w, b, p, imp)
    from theory.landscape.rational import to_float_gradient

    exact_w, exact_b = to_float_gradient(w, *landscape.gradient_rational(w, b, p, imp))
    assert np.max(np.abs(g_w - exact_w)) <= 1e-13
    assert np.max(np.abs(g_b - exact_b)) <= 1e-13


@settings(max_examples=6)
@given(models(n_min=2, n_max=4, m_max=2))
def test_hessian_matches_differences_of_the_gradient(model):
    # Central differences (h = 1e-6) of the exact gradient; 1e-4 of the Hessian's scale. The
    # Hessian jumps where the ReLU's hyperplane passes through a corner of a pattern's cube —
    # in particular at b_i = 0, where R(b_i)² has a kink in its slope — so exact zeros in b are
    # moved off the kink (the derivative there is one-sided by definition, docs/landscape.md).
    w, b, p, imp = model
    b = np.where(b == 0, 0.0123, b)
    m, n = w.shape
    loss, g_w, g_b, hess = landscape.expected_loss_grad_hess(w, b, p, imp)
    th = _theta(w, b)
    h = 1e-6

    def grad(t):
        _, gw, gb = landscape.expected_loss_and_grad(t[: m * n].reshape(m, n), t[m * n :], p, imp)
        return _theta(gw, gb)

    fd = np.stack([(grad(th + h * e) - grad(th - h * e)) / (2 * h) for e in np.eye(th.size)], 1)
    assert np.allclose(hess, hess.T, atol=1e-13)
    assert np.max(np.abs(fd - hess)) <= 1e-4 * max(np.max(np.abs(hess)), _scale(p, imp))
    assert loss == landscape.expected_loss(w, b, p, imp)
    assert np.array_equal(_theta(g_w, g_b), grad(th))


def test_density_gradient_matches_differences():
    rng = np.random.default_rng(5)
    w, b = rng.normal(size=(2, 3)), rng.normal(size=3) * 0.3
    p, imp = rng.uniform(0.1, 0.9, 3), rng.uniform(0.1, 2, 3)
    g = landscape.expected_loss_density_grad(w, b, p, imp)
    # L is multilinear in the densities: a central difference is exact up to rounding.
    h = 1e-4
    fd = [
        (
            landscape.expected_loss(w, b, p + h * e, imp)
            - landscape.expected_loss(w, b, p - h * e, imp)
        )
        / (2 * h)
        for e in np.eye(3)
    ]
    assert np.allclose(g, fd, rtol=0, atol=1e-10)  # rounding: ε·L/h ~ 1e-11


# ---------------------------------------------------------------- truncation


def test_truncated_loss_brackets_the_exact_loss():
    rng = np.random.default_rng(7)
    w, b = rng.normal(size=(3, 7)) * 0.7, rng.normal(size=7) * 0.2
    p, imp = rng.uniform(0.01, 0.3, 7), rng.uniform(0.5, 1.5, 7)
    exact = landscape.expected_loss(w, b, p, imp)
    for k in range(8):
        t = landscape.expected_loss(w, b, p, imp, max_active=k)
        assert t.max_active == k and t.bound >= 0
        assert t.lower <= exact + 1e-15 <= t.upper + 2e-15
    assert landscape.expected_loss(w, b, p, imp, max_active=7).bound == 0.0
    loss, g_w, g_b = landscape.expected_loss_and_grad(w, b, p, imp, max_active=7)
    assert abs(loss.value - exact) <= 1e-15 and g_w.shape == w.shape and g_b.shape == b.shape


def test_truncated_loss_of_a_large_model_brackets_monte_carlo():
    # n = 16 (beyond exact evaluation) at density 0.02: patterns with <= 3 active features and
    # the bound on the rest must contain the Monte Carlo loss (2e5 examples; 5 standard errors).
    rng = np.random.default_rng(2)
    n, m, p = 16, 6, 0.02
    w, b = rng.normal(size=(m, n)) / np.sqrt(m), rng.uniform(-0.2, 0.05, n)
    imp = 0.95 ** np.arange(n)
    t = landscape.expected_loss(w, b, p, imp, max_active=3)
    x = rng.random((200_000, n)) * (rng.random((200_000, n)) < p)
    err = ((x - np.maximum(x @ (w.T @ w) + b, 0.0)) ** 2) @ imp
    mean, se = err.mean(), err.std(ddof=1) / np.sqrt(err.size)
    assert t.lower - 5 * se <= mean <= t.upper + 5 * se
    assert t.bound <= 0.02 * t.value  # at this density the bound is tight enough to be useful


# ---------------------------------------------------------------- batching and options


def test_batched_evaluation_equals_one_by_one():
    rng = np.random.default_rng(9)
    w = rng.normal(size=(4, 3, 2, 3))
    b = rng.normal(size=(4, 3, 3)) * 0.2
    p = rng.uniform(0.05, 1, (4, 1, 1))  # one density per row of the batch, shared by features
    imp = np.array([1.0, 1.0, 0.5])
    batch = landscape.expected_loss(w, b, p, imp)
    assert batch.shape == (4, 3)
    one = [
        [landscape.expected_loss(w[i, j], b[i, j], p[i, 0, 0], imp) for j in range(3)]
        for i in range(4)
    ]
    # The same arithmetic per model, up to the summation order of batched products (4 ulp).
    assert np.allclose(batch, np.array(one), rtol=1e-15, atol=0)
    assert landscape.expected_loss(w[0, 0], b[0, 0], 0.3, 1.0).shape == ()


def test_features_option_sums_a_subset():
    rng = np.random.default_rng(4)
    w, b = rng.normal(size=(2, 4)), rng.normal(size=4) * 0.3
    p, imp = rng.uniform(0.05, 1, 4), rng.uniform(0.1, 2, 4)
    masked = imp * np.isin(np.arange(4), [1, 3])
    assert landscape.expected_loss(w, b, p, imp, features=[3, 1]) == pytest.approx(
        landscape.expected_loss(w, b, p, masked), rel=1e-15
    )


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(W=np.ones(3)), ValueError, r"W must have shape \(\.\.\., m, n\)"),
        (dict(b=np.zeros(2)), ValueError, r"b must have shape \(\.\.\., n\) with n = 3"),
        (dict(W=np.full((2, 3), np.nan)), ValueError, "W must be finite"),
        (dict(b=np.array([0.0, np.inf, 0.0])), ValueError, "b must be finite"),
        (dict(density=0.0), ValueError, r"density must lie in \(0, 1\]"),
        (dict(density=[0.5, 0.5]), ValueError, "density must be a scalar or an array"),
        (dict(importance=-1.0), ValueError, "importance must be finite and >= 0"),
        (dict(importance=True), TypeError, "not bool"),
        (dict(W=np.ones((2, 2, 3)), b=np.zeros((3, 3))), ValueError, "must broadcast"),
        (dict(max_active=-1), ValueError, "max_active must be None or an integer >= 0"),
        (dict(max_active=1.5), TypeError, "max_active must be None or an integer"),
        (dict(features=[0, 0]), ValueError, "distinct feature indices"),
        (dict(features=[5]), ValueError, r"in \[0, 2\]"),
    ],
)
def test_bad_input_is_named(kwargs, error, match):
    args = dict(W=np.ones((2, 3)), b=np.zeros(3), density=0.5, importance=1.0)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        landscape.expected_loss(**args)


def test_too_many_features_without_max_active():
    w, b = np.zeros((2, 13)), np.zeros(13)
    with pytest.raises(ValueError, match=r"n <= 12, got n = 13; pass max_active"):
        landscape.expected_loss(w, b, 0.1, 1.0)
    with pytest.raises(ValueError, match="activity patterns"):
        landscape.expected_loss(np.zeros((2, 40)), np.zeros(40), 0.1, 1.0, max_active=20)
    with pytest.raises(ValueError, match="active must hold distinct feature indices"):
        landscape.pattern_loss(np.ones((2, 3)), np.zeros(3), [0, 3])
