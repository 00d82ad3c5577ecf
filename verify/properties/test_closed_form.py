"""Closed forms against independent Monte Carlo estimates (no trainer involved).

These justify the suite's use of exact losses on trained models (theory.landscape for ReLU models
with n <= 12, theory.linear for linear ones): each is checked here against the suite's own
sampler at hypothesis-drawn parameters.

Tolerance: the Monte Carlo estimate's empirical Bernstein half-width at error probability
``DELTA`` per example (verify.properties._montecarlo): rigorous for any bounded loss distribution,
so low densities (rare, large losses) are not a source of false alarms. With 2^15 active examples
it is about 2% of the loss (2^17 under the ``ci`` profile: about 1%).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from theory.bounds import no_superposition_loss
from theory.landscape import expected_loss as landscape_expected_loss
from theory.linear import expected_loss as linear_expected_loss
from theory.n2m1 import expected_loss as n2m1_expected_loss
from verify.properties._montecarlo import estimate_loss
from verify.properties._target import DELTA
from verify.strategies import (
    biases,
    densities,
    importances,
    n2m1_parameters,
    no_superposition_models,
    superposition_models,
    weights,
)

seeds = st.integers(0, 2**32 - 1)


@given(params=n2m1_parameters(), seed=seeds)
def test_n2m1_expected_loss_matches_monte_carlo(params, seed, budget):
    """theory.n2m1.expected_loss (exact) = E[loss] of x' = ReLU(WᵀWx + b), n=2, m=1."""
    w, b, density, importance = params
    exact = float(n2m1_expected_loss(w, b, density, importance))
    est = estimate_loss(
        w[None, None, :],
        b[None, :],
        density,
        importance,
        n_samples=budget.mc_samples,
        rng=np.random.default_rng(seed),
        delta=DELTA,
    )
    assert abs(exact - est.mean[0]) <= est.halfwidth[0] + 1e-12 * (1 + exact), (
        f"closed form {exact} vs Monte Carlo {est.mean[0]} ± {est.halfwidth[0]} "
        f"at w={w.tolist()}, b={b.tolist()}, density={density}, importance={importance.tolist()}"
    )


@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 5)), data=st.data(), seed=seeds)
def test_linear_expected_loss_matches_monte_carlo(shape, data, seed, budget):
    """theory.linear.expected_loss (exact, from moments) = E[loss] of x' = WᵀWx + b."""
    m, n = shape
    W = data.draw(weights(m, n), label="W")
    b = data.draw(biases(n), label="b")
    density = data.draw(densities(), label="density")
    importance = data.draw(importances(n), label="importance")
    exact = float(linear_expected_loss(W, b, importance, density))
    est = estimate_loss(
        W[None],
        b[None],
        density,
        importance,
        activation="linear",
        n_samples=budget.mc_samples,
        rng=np.random.default_rng(seed),
        delta=DELTA,
    )
    assert abs(exact - est.mean[0]) <= est.halfwidth[0] + 1e-12 * (1 + exact), (
        f"closed form {exact} vs Monte Carlo {est.mean[0]} ± {est.halfwidth[0]}"
    )


@given(shape=st.tuples(st.integers(1, 3), st.integers(2, 5)), data=st.data(), seed=seeds)
def test_landscape_expected_loss_matches_monte_carlo(shape, data, seed, budget):
    """theory.landscape.expected_loss (exact, any n <= 12) = E[loss] of x' = ReLU(WᵀWx + b)."""
    m, n = shape
    W = data.draw(weights(m, n), label="W")
    b = data.draw(biases(n), label="b")
    density = data.draw(densities(), label="density")
    importance = data.draw(importances(n), label="importance")
    exact = float(landscape_expected_loss(W, b, density, importance))
    est = estimate_loss(
        W[None],
        b[None],
        density,
        importance,
        n_samples=budget.mc_samples,
        rng=np.random.default_rng(seed),
        delta=DELTA,
    )
    assert abs(exact - est.mean[0]) <= est.halfwidth[0] + 1e-12 * (1 + exact), (
        f"exact loss {exact} vs Monte Carlo {est.mean[0]} ± {est.halfwidth[0]} at W={W.tolist()}, "
        f"b={b.tolist()}, density={density}, importance={importance.tolist()}"
    )


@given(example=no_superposition_models(), seed=seeds)
def test_no_superposition_models_do_not_beat_the_bound(example, seed, budget):
    """A ReLU model with orthogonal columns never beats theory.bounds.no_superposition_loss."""
    W, b, density, importance = example
    bound = float(no_superposition_loss(importance, density, W.shape[0]))
    est = estimate_loss(
        W[None],
        b[None],
        density,
        importance,
        n_samples=budget.mc_samples,
        rng=np.random.default_rng(seed),
        delta=DELTA,
    )
    assert est.mean[0] >= bound - est.halfwidth[0] - 1e-12, (
        f"a model without superposition reached {est.mean[0]} ± {est.halfwidth[0]} "
        f"(Monte Carlo) below the bound {bound}"
    )
    # The same with the exact loss: no sampling tolerance, only rounding (1e-12 of the scale).
    exact = float(landscape_expected_loss(W, b, density, importance))
    scale = float(np.sum(importance * density)) / 3
    assert exact >= bound - 1e-12 * (1 + scale), (
        f"a model without superposition reached the exact expected loss (theory.landscape) "
        f"{exact}, below the bound {bound}"
    )


@given(example=superposition_models(), seed=seeds)
def test_antipodal_pairs_beat_the_bound(example, seed, budget):
    """Antipodal pairs at low density: Monte Carlo loss = Σ I p²/6 ≤ half the bound."""
    W, b, density, importance = example
    est = estimate_loss(
        W[None],
        b[None],
        density,
        importance,
        n_samples=budget.mc_samples,
        rng=np.random.default_rng(seed),
        delta=DELTA,
    )
    exact = importance.sum() * density**2 / 6
    assert abs(est.mean[0] - exact) <= est.halfwidth[0] + 1e-12
    assert est.mean[0] - est.halfwidth[0] <= 0.5 * no_superposition_loss(
        importance, density, W.shape[0]
    )
