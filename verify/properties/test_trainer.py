"""Properties of the trainer under test (``TOYSUP_TRAINER``, default ``toysup.train``).

Every example trains 3 configurations (instances) of a tiny model with ``budget.seeds`` seeds for
``budget.steps`` steps (Adam(W) at lr 1e-2, batch 256: the reference notebook's lr 1e-3 for 10,000
steps is too slow for a test), then evaluates each kept model's loss independently: exactly where
theory has it (every model drawn here: ReLU with n <= 6 through theory.landscape, linear through
theory.linear; no sampling error), by the suite's Monte Carlo estimate otherwise. Several
seeds are needed: one run at low density ends in a no-superposition local minimum (the dropped
feature's ReLU dead, or the less important feature kept) 10-30% of the time (measured for
n=2/m=1 at 400 steps); the best of 8 (``dev``) misses with probability ~1e-4 per instance.
Checks:

- **Reported loss** agrees with a fresh estimate of the returned W, b (Bernstein bounds, error
  probability ``DELTA`` each; the reported value is taken to average ``eval_samples`` examples as
  ``TrainConfig`` asks, or to be within z·``loss_stderr`` when the result reports a larger one).
- **ReLU models reach the no-superposition bound** in the superposition regime (density ≤ 0.05,
  importances within a factor 0.7 per feature): the exact loss (theory.landscape; a Monte Carlo
  estimate and its half-width only where n > 12) is at most
  ``theory.bounds.no_superposition_loss`` × (1 + ``OPT_RTOL``). The
  bound is attained by a model that keeps the best m features, so a trainer that does worse has
  failed to optimise. ``OPT_RTOL`` = 2%: a run that lands in the no-superposition local minimum
  converges to the bound itself, from above, and AdamW's weight decay and the short run leave it
  slightly off (measured: at most 0.1% above); runs that find superposition sit ~20-99% below.
- **Linear models never beat it** (the bound is the linear optimum, theory.linear): the exact loss
  of W, b is ≥ the bound (float64 rounding only) and the reported loss is ≥ the bound minus its
  Bernstein half-width. And they learn: at least ``LINEAR_CAPTURE`` = 75% of the loss reduction
  from W = 0 (loss Σ I Var x) to the optimum. (Not "within x% of the optimum": when two features'
  scores nearly tie, the loss is flat along their mixing direction and a short run may stop
  anywhere along it; measured ≥ 90% captured.)
- **n=2, m=1 against the exact landscape** (theory.n2m1): the exact loss of the trained W, b is
  never below the exact global optimum (rtol 1e-6: the optimum is found by Newton's method in
  float64), and where the paper predicts superposition (p ≤ p*(r)/2) never above the bound ×
  (1 + ``OPT_RTOL``). (Not at every density: in the dense phase a short run can still be
  rotating out of a mixed solution — at p = 1, r = 1.65, 400 steps leave 40% excess, 1500 steps
  0.4%.)
- The metric invariants hold on every trained W.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from theory.bounds import no_superposition_loss
from theory.linear import expected_loss as linear_expected_loss
from theory.n2m1 import candidate_boundary, exact_optimum
from theory.n2m1 import expected_loss as n2m1_expected_loss
from toysup import FeatureConfig, ModelConfig, TrainConfig
from verify.properties import _target
from verify.properties._checks import (
    assert_loss_consistent,
    assert_metric_invariants,
    reported_stderr,
    reported_tolerance,
    result_arrays,
)
from verify.properties._exact import SOURCE, exact_loss
from verify.properties._montecarlo import LossEstimate, estimate_loss
from verify.strategies import densities, importances

pytestmark = pytest.mark.trainer

INSTANCES = 3
BATCH = 256
LR = 1e-2
EVAL_SAMPLES = 8192
OPT_RTOL = 0.02
LINEAR_CAPTURE = 0.75

BUDGET = _target.budget()
# No shrinking: every example trains models, so minimising a failure could take many minutes; the
# first failing example is reported as found (its seed and sizes are in the message).
train_settings = settings(
    max_examples=BUDGET.train_examples, phases=[Phase.explicit, Phase.reuse, Phase.generate]
)


def _train(
    trainer: Callable[..., Any], features: FeatureConfig, model: ModelConfig, seed: int
) -> tuple[TrainConfig, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    training = TrainConfig(
        steps=BUDGET.steps,
        batch_size=BATCH,
        lr=LR,
        n_seeds=BUDGET.seeds,
        seed=seed,
        eval_samples=EVAL_SAMPLES,
        device=_target.device(),
    )
    result = trainer(features, model, training)
    W, b, loss = result_arrays(result, features, model)
    return training, W, b, loss, reported_stderr(result, loss.shape)


def _estimate(
    W: np.ndarray, b: np.ndarray, features: FeatureConfig, activation: str, seed: int
) -> LossEstimate:
    return estimate_loss(
        W,
        b,
        features.density_array,
        features.importance_array,
        activation=activation,
        n_samples=BUDGET.mc_samples,
        rng=np.random.default_rng(seed),
        delta=_target.DELTA,
    )


def _exact_or_estimate(
    W: np.ndarray, b: np.ndarray, features: FeatureConfig, activation: str, seed: int
) -> tuple[LossEstimate, str]:
    """The suite's Monte Carlo estimate, with its mean replaced by the exact loss (and its
    half-width by 0) where theory has one; and what the value is, for failure messages. The
    estimate is still drawn: its variance bound sets the tolerance of the trainer's own
    (sampled) loss."""
    est = _estimate(W, b, features, activation, seed)
    exact = exact_loss(
        W, b, features.density_array, features.importance_array, activation=activation
    )
    if exact is None:
        return est, "Monte Carlo estimate (no exact loss for this n)"
    return dataclasses.replace(est, mean=exact, halfwidth=np.zeros_like(exact)), SOURCE[activation]


@st.composite
def sizes(draw: st.DrawFn, *, max_features: int, max_hidden: int) -> tuple[int, int]:
    """(n, m) with 1 <= m < n: the bound is only informative when some feature must go."""
    n = draw(st.integers(2, max_features))
    return n, draw(st.integers(1, min(max_hidden, n - 1)))


def _normalised(importance: np.ndarray) -> np.ndarray:
    top = float(importance.max())
    return importance / top if top > 0 else np.ones_like(importance)


@train_settings
@given(
    size=sizes(max_features=6, max_hidden=3),
    density=st.lists(
        densities(min_value=0.003, max_value=0.05), min_size=INSTANCES, max_size=INSTANCES
    ),
    data=st.data(),
    seed=st.integers(0, 2**31 - 1),
)
def test_relu_reaches_the_no_superposition_bound(trainer, size, density, data, seed):
    n, m = size
    importance = _normalised(
        data.draw(importances(n, kind=("uniform", "decaying"), min_decay=0.7), label="importance")
    )
    features = FeatureConfig(
        n_features=n,
        n_instances=INSTANCES,
        density=np.array(density)[:, None] * np.ones(n),
        importance=importance,
    )
    model = ModelConfig(n_features=n, n_hidden=m, activation="relu")
    training, W, b, loss, stderr = _train(trainer, features, model, seed)
    est, source = _exact_or_estimate(W, b, features, "relu", seed)
    assert_loss_consistent(
        loss, est, training.eval_samples, f"ReLU model (against the {source})", stderr=stderr
    )
    bound = no_superposition_loss(features.importance_array, features.density_array, m)
    excess = est.mean - est.halfwidth - bound * (1 + OPT_RTOL)
    assert np.all(excess <= 0), (
        f"trained ReLU loss ({source}) {est.mean} ± {est.halfwidth} is above the "
        f"no-superposition bound {bound} (+{OPT_RTOL:.0%}) at densities {density}, importance "
        f"{importance.tolist()}, n={n}, m={m}: the trainer did worse than keeping the best m "
        "features"
    )
    assert_metric_invariants(W, np.random.default_rng(seed), "trained ReLU W")


@train_settings
@given(
    size=sizes(max_features=6, max_hidden=4),
    density=st.lists(densities(min_value=0.01), min_size=INSTANCES, max_size=INSTANCES),
    data=st.data(),
    seed=st.integers(0, 2**31 - 1),
)
def test_linear_never_beats_the_no_superposition_bound(trainer, size, density, data, seed):
    n, m = size
    importance = _normalised(data.draw(importances(n), label="importance"))
    dens = np.array(density)[:, None] * np.ones(n)
    features = FeatureConfig(
        n_features=n, n_instances=INSTANCES, density=dens, importance=importance
    )
    model = ModelConfig(n_features=n, n_hidden=m, activation="linear")
    training, W, b, loss, stderr = _train(trainer, features, model, seed)
    bound = no_superposition_loss(features.importance_array, dens, m)
    exact = linear_expected_loss(W, b, features.importance_array, dens)
    assert np.all(exact >= bound * (1 - 1e-9) - 1e-12), (
        f"{SOURCE['linear']} {exact} of the trained linear model is below the linear optimum "
        f"{bound}"
    )
    est = _estimate(W, b, features, "linear", seed)
    exact_est = dataclasses.replace(est, mean=np.asarray(exact), halfwidth=np.zeros(INSTANCES))
    assert_loss_consistent(loss, exact_est, training.eval_samples, "linear model", stderr=stderr)
    floor = bound - reported_tolerance(exact_est, training.eval_samples, stderr)
    assert np.all(loss >= floor), (
        f"reported linear loss {loss} beats the linear optimum {bound} by more than its "
        f"Monte Carlo tolerance (floor {floor})"
    )
    trivial = np.sum(features.importance_array * (dens / 3 - dens**2 / 4), axis=-1)  # W = 0
    ceiling = bound + (1 - LINEAR_CAPTURE) * (trivial - bound)
    assert np.all(exact <= ceiling + 1e-12), (
        f"trained linear models' exact loss {exact} keeps more than {1 - LINEAR_CAPTURE:.0%} of "
        f"the reducible loss (W = 0: {trivial}, optimum: {bound}) at densities {density}, "
        f"importance {importance.tolist()}, n={n}, m={m}"
    )
    assert_metric_invariants(W, np.random.default_rng(seed), "trained linear W")


@train_settings
@given(
    log_r=st.lists(st.floats(np.log(0.1), np.log(10.0)), min_size=INSTANCES, max_size=INSTANCES),
    density=st.lists(densities(min_value=0.01), min_size=INSTANCES, max_size=INSTANCES),
    seed=st.integers(0, 2**31 - 1),
)
def test_n2m1_against_the_exact_landscape(trainer, log_r, density, seed):
    r, p = np.exp(log_r), np.array(density)
    importance = np.stack([np.ones(INSTANCES), r], axis=1)  # (C, 2): first feature, extra one
    dens = p[:, None] * np.ones(2)
    features = FeatureConfig(
        n_features=2, n_instances=INSTANCES, density=dens, importance=importance
    )
    model = ModelConfig(n_features=2, n_hidden=1, activation="relu")
    training, W, b, loss, stderr = _train(trainer, features, model, seed)
    exact = np.asarray(n2m1_expected_loss(W[:, 0, :], b, dens, importance))  # (C,)
    optimum = exact_optimum(r, p).loss
    assert np.all(exact >= optimum * (1 - 1e-6)), (
        f"trained models reach {exact}, below the exact global optimum {optimum} at r={r}, "
        f"p={p}: theory.n2m1.exact_optimum missed the minimum (or the loss is wrong)"
    )
    bound = np.asarray(no_superposition_loss(importance, dens, 1))  # (C,)
    regime = p <= 0.5 * candidate_boundary(r)  # well inside the predicted superposition phase
    above = regime & (exact > bound * (1 + OPT_RTOL))
    assert not above.any(), (
        f"trained n=2/m=1 exact loss {exact[above]} is above the no-superposition bound "
        f"{bound[above]} (+{OPT_RTOL:.0%}) at r={r[above]}, p={p[above]}"
    )
    est = _estimate(W, b, features, "relu", seed)
    exact_est = dataclasses.replace(est, mean=exact, halfwidth=np.zeros(INSTANCES))
    assert_loss_consistent(loss, exact_est, training.eval_samples, "n=2/m=1 model", stderr=stderr)
    assert_metric_invariants(W, np.random.default_rng(seed), "trained n=2/m=1 W")
