"""The trivial model's loss (W = 0, best constant bias) and the divergence check built on it."""

from __future__ import annotations

import numpy as np
import pytest

from theory.bounds import feature_variance
from toysup import FeatureConfig, ModelConfig, TrainConfig, TrainingDivergedError, train
from toysup.divergence import RATIO, SIGMAS, trivial_loss, worse_than


@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_trivial_loss_is_the_best_constant_by_monte_carlo(activation, reduction):
    """Against an independent reference: the loss of every constant output c on a grid, by Monte
    Carlo on 400,000 examples. The best constant's loss (the least over the grid) must match the
    closed form to 5 standard errors of the sample variances, plus the grid's step, whose effect
    is second order: (Δc/2)² Σ I ≤ 1e-6 here."""
    density = np.array([[0.05, 0.3, 1.0], [0.5, 0.5, 0.01]])
    importance = np.array([[1.0, 0.7, 0.49], [2.0, 0.1, 1.0]])
    features = FeatureConfig(n_features=3, density=density, importance=importance)
    model = ModelConfig(n_features=3, n_hidden=1, activation=activation)
    expected = trivial_loss(features, model, loss_reduction=reduction)

    rng = np.random.default_rng(0)
    n = 400_000
    grid = np.linspace(-0.2, 0.8, 1001)  # step 1e-3; ReLU clips the negative constants to 0
    scale = 1 / 3 if reduction == "mean" else 1.0
    for c in range(2):
        u = rng.random((n, 3))
        x = np.where(u < density[c], u / density[c], 0.0)
        best_total = 0.0
        for i in range(3):
            out = np.maximum(grid, 0.0) if activation == "relu" else grid
            # E[(x - o)²] = E[x²] - 2 o E[x] + o², from the sample moments of feature i
            m1, m2 = x[:, i].mean(), (x[:, i] ** 2).mean()
            best_total += importance[c, i] * np.min(m2 - 2 * out * m1 + out**2)
        # standard error of Σ I_i × (sample variance of x_i): features independent
        sq = (x - x.mean(axis=0)) ** 2
        se = np.sqrt(np.sum(importance[c] ** 2 * sq.var(axis=0)) / n)
        assert scale * best_total == pytest.approx(expected[c], abs=5 * se * scale + 1e-6)
    # and it is Σ I Var(x), the variance of the paper's features (theory.bounds.feature_variance)
    reference = np.sum(importance * feature_variance(density), axis=1) * scale
    np.testing.assert_allclose(expected, reference, rtol=1e-12)


def test_margins():
    """Both margins must be passed: 4 standard errors and 1 % of the reference."""
    reference = np.array([1.0, 1.0, 1.0, 0.0])
    loss = np.array([1.05, 1.005, 1.05, 0.0])
    stderr = np.array([0.01, 0.0001, 0.02, 0.0])
    assert worse_than(loss, stderr, reference).tolist() == [True, False, False, False]
    assert (SIGMAS, RATIO) == (4.0, 1.01)


def test_a_diverging_run_raises_with_instance_loss_and_trivial_loss():
    """lr = 1e6 with Adam: every step moves each weight by about 1e6, and the loss ends finite but
    near 1e15; it must not come back as a result."""
    features = FeatureConfig(n_features=2, density=[[0.5, 0.5], [1.0, 1.0]], importance=[1, 0.5])
    training = TrainConfig(steps=50, lr=1e6, optimizer="adam", batch_size=64, eval_samples=256)
    with pytest.raises(TrainingDivergedError) as info:
        train(features, ModelConfig(n_features=2, n_hidden=1), training, progress=False)
    message = str(info.value)
    trivial = trivial_loss(features, ModelConfig(n_features=2, n_hidden=1))
    assert f"instance {info.value.instance}" in message and "lr = 1e+06" in message
    assert f"{trivial[info.value.config]:.4g}" in message and info.value.step == 50
    loss = float(message.split("ended with loss ")[1].split(",")[0])
    assert loss > 1e6 * trivial.max()


@pytest.mark.parametrize(
    ("density", "steps", "why"),
    [
        (1e-5, 100, "so sparse that W = 0 is (almost) optimal: the loss sits at the trivial one"),
        (1.0, 1, "one step from initialisation: above the trivial loss, but not diverged"),
        (1.0, 5, "a few steps from initialisation"),
    ],
)
def test_legitimate_runs_near_or_above_the_trivial_loss_never_trip(density, steps, why):
    features = FeatureConfig(n_features=20, density=density, importance=0.7 ** np.arange(20))
    model = ModelConfig(n_features=20, n_hidden=5)
    result = train(
        features, model, TrainConfig(steps=steps, n_seeds=3, batch_size=256, eval_samples=2048),
        progress=False,
    )  # fmt: skip
    trivial = trivial_loss(features, model)
    if density == 1.0:  # the point of comparing with the initialisation too: these runs are
        # clearly worse than the trivial model (a check against it alone would raise)
        assert np.all(worse_than(result.seed_loss, result.seed_loss_stderr, trivial)), why
    else:  # returned, at or below the trivial loss within noise
        assert not np.any(worse_than(result.seed_loss, result.seed_loss_stderr, trivial)), why


def test_output_ranges_of_other_activations():
    """GELU's least value, against scipy's bounded minimisation of b·Φ(b) (to 1e-10: the
    minimiser's tolerance 1e-12 moves a quadratic minimum by far less)."""
    from scipy.optimize import minimize_scalar
    from scipy.stats import norm

    from toysup.divergence import GELU_MIN, output_range

    found = minimize_scalar(
        lambda b: b * norm.cdf(b), bounds=(-2, 0), method="bounded", options={"xatol": 1e-12}
    )
    assert GELU_MIN == pytest.approx(found.fun, abs=1e-10)
    assert output_range(ModelConfig(n_features=2, n_hidden=1, activation="relu")) == (0.0, np.inf)


@pytest.mark.parametrize(
    ("values", "target", "structure"),
    [("signed", "identity", "independent"), ("signed", "abs", "anticorrelated"),
     ("unit", "identity", "correlated")],
)  # fmt: skip
def test_trivial_loss_of_the_family_by_monte_carlo(values, target, structure):
    """Signed values, |x| targets and set structures: the best constant output's loss matches a
    Monte Carlo over 400,000 examples within 5 standard errors (E[t] = 0 for signed x, p/2 for
    |x| and unit values; E[t²] = p/3)."""
    import torch

    from toysup import sample_features

    features = FeatureConfig(n_features=4, density=[0.1, 0.1, 0.4, 0.4], importance=[1, 2, 1, 0.5],
                             values=values, structure=structure)  # fmt: skip
    model = ModelConfig(n_features=4, n_hidden=2)
    expected = trivial_loss(features, model, target=target)
    x = sample_features(features.density_array, 400_000, generator=5, dtype=torch.float64,
                        values=values, structure=structure).numpy()[0]  # fmt: skip
    t = np.abs(x) if target == "abs" else x
    per_example = ((t - np.maximum(t.mean(0), 0.0)) ** 2 * features.importance_array[0]).sum(1)
    se = per_example.std() / np.sqrt(per_example.size)
    assert abs(per_example.mean() - expected[0]) <= 5 * se, (per_example.mean(), expected)
