"""Checks of saved results (``TOYSUP_CHECKPOINT``: directories written by ``TrainResult.save``).

- Shapes agree with the saved configurations; every array is finite; losses are ≥ 0.
- The kept seed is the one with the lowest recorded loss, and W, b, loss are its entries.
- Recorded losses agree with a fresh, independent value for the saved W, b — the exact expected
  loss where theory has it (linear models: theory.linear; ReLU models with n <= 12:
  theory.landscape), the suite's own Monte Carlo estimate otherwise — within Bernstein bounds at
  error probability ``DELTA`` each (the exact value contributes no error of its own), for the kept
  seed (``dev``) or every seed (``ci``).
  The recorded loss is taken to average ``training.eval_samples`` fresh examples, or to be within
  z·``loss_stderr`` of the truth when its recorded standard error is larger.
- Linear checkpoints never beat the no-superposition bound (their optimum).
- The metric invariants hold on every seed's W.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from theory.bounds import no_superposition_loss
from toysup import TrainResult
from verify.properties import _target
from verify.properties._checks import assert_loss_consistent, assert_metric_invariants
from verify.properties._exact import SOURCE, exact_loss
from verify.properties._montecarlo import estimate_loss

pytestmark = pytest.mark.checkpoint


@pytest.fixture(scope="module")
def result(checkpoint_path: Path) -> TrainResult:
    return TrainResult.load(checkpoint_path)


def test_shapes_agree_with_the_configs(result):
    f, mdl, t = result.features, result.model, result.training
    assert f.n_features == mdl.n_features, (
        f"features.n_features={f.n_features} but model.n_features={mdl.n_features}"
    )
    C, k, m, n = f.n_instances, t.n_seeds, mdl.n_hidden, mdl.n_features
    expected = {
        "W": (C, m, n),
        "b": (C, n),
        "loss": (C,),
        "loss_stderr": (C,),
        "best_seed": (C,),
        "seed_W": (C, k, m, n),
        "seed_b": (C, k, n),
        "seed_loss": (C, k),
        "seed_loss_stderr": (C, k),
    }
    for name, shape in expected.items():
        got = np.shape(getattr(result, name))
        assert got == shape, f"{name} has shape {got}, expected {shape} from the configs"
    T = np.shape(result.history_steps)
    assert len(T) == 1, f"history_steps must be 1-D, got shape {T}"
    assert np.shape(result.history_loss) == (T[0], C, k), (
        f"history_loss has shape {np.shape(result.history_loss)}, expected {(T[0], C, k)}"
    )
    steps = np.asarray(result.history_steps)
    assert np.all(np.diff(steps) > 0) and (
        steps.size == 0 or (steps[0] >= 0 and steps[-1] < t.steps)
    ), f"history_steps must increase within [0, {t.steps}), got {steps}"


def test_arrays_are_finite(result):
    for name in (
        "W",
        "b",
        "loss",
        "loss_stderr",
        "seed_W",
        "seed_b",
        "seed_loss",
        "seed_loss_stderr",
        "history_loss",
    ):
        arr = np.asarray(getattr(result, name), dtype=np.float64)
        assert np.all(np.isfinite(arr)), f"{name} has non-finite entries"
    for name in ("loss", "loss_stderr", "seed_loss", "seed_loss_stderr"):
        arr = np.asarray(getattr(result, name))
        assert np.all(arr >= 0), f"{name} must be >= 0 (means and errors of squares), got {arr}"


def test_kept_seed_is_the_best(result):
    C, k = result.features.n_instances, result.training.n_seeds
    best = np.asarray(result.best_seed)
    assert np.all((best >= 0) & (best < k)), f"best_seed must lie in [0, {k}), got {best}"
    rows = np.arange(C)
    np.testing.assert_array_equal(result.W, result.seed_W[rows, best], "W is not seed_W[best]")
    np.testing.assert_array_equal(result.b, result.seed_b[rows, best], "b is not seed_b[best]")
    np.testing.assert_array_equal(result.loss, result.seed_loss[rows, best])
    np.testing.assert_array_equal(result.loss_stderr, result.seed_loss_stderr[rows, best])
    lowest = result.seed_loss.min(axis=1)
    assert np.all(result.loss == lowest), (
        f"the kept seed's loss {result.loss} is not the lowest recorded {lowest}"
    )


def _reference_mean(result, W, b):
    """Exact expected loss where theory has it (linear; ReLU with n <= 12), else None."""
    f, mdl = result.features, result.model
    return exact_loss(
        W,
        b,
        f.density_array,
        f.importance_array,
        activation=mdl.activation,
        reduction=result.training.loss_reduction,
    )


def test_recorded_losses_match_a_fresh_estimate(result, budget):
    f, mdl, t = result.features, result.model, result.training
    seeds = range(t.n_seeds) if budget.all_seeds else [None]
    rng = np.random.default_rng(0)
    for s in seeds:
        if s is None:
            W, b, loss, what = result.W, result.b, result.loss, "kept seed"
            stderr = result.loss_stderr
        else:
            W, b = result.seed_W[:, s], result.seed_b[:, s]
            loss, what = result.seed_loss[:, s], f"seed {s}"
            stderr = result.seed_loss_stderr[:, s]
        W, b = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)
        est = estimate_loss(
            W,
            b,
            f.density_array,
            f.importance_array,
            activation=mdl.activation,
            n_samples=budget.mc_samples,
            rng=rng,
            delta=_target.DELTA,
            reduction=t.loss_reduction,
        )
        exact = _reference_mean(result, W, b)
        if exact is not None:
            est = dataclasses.replace(est, mean=exact, halfwidth=np.zeros_like(exact))
            what = f"{what} (fresh value: the {SOURCE[mdl.activation]})"
        else:
            what = f"{what} (fresh value: Monte Carlo, no exact loss for n = {mdl.n_features})"
        assert_loss_consistent(
            np.asarray(loss, dtype=np.float64),
            est,
            t.eval_samples,
            what,
            stderr=np.asarray(stderr, dtype=np.float64),
        )


def test_linear_checkpoints_do_not_beat_the_bound(result):
    if result.model.activation != "linear":
        pytest.skip("the bound is a theorem for linear models only")
    f, mdl = result.features, result.model
    scale = 1 / mdl.n_features if result.training.loss_reduction == "mean" else 1.0
    bound = scale * no_superposition_loss(f.importance_array, f.density_array, mdl.n_hidden)
    for s in range(result.training.n_seeds):
        W = np.asarray(result.seed_W[:, s], dtype=np.float64)
        b = np.asarray(result.seed_b[:, s], dtype=np.float64)
        loss = _reference_mean(result, W, b)
        assert np.all(loss >= bound * (1 - 1e-9) - 1e-12), (
            f"seed {s}: {SOURCE['linear']} {loss} is below the linear optimum {bound}"
        )


def test_metric_invariants_on_every_seed(result):
    assert_metric_invariants(result.seed_W, np.random.default_rng(1), "checkpoint seed_W")
