"""The trainer's penalty is the theory's: the penalised loss toysup reports for trained n = 2,
m = 1 models (Monte Carlo on fresh examples) equals theory.n2m1's closed form
L + l1_hidden · E|h| (docs/control_theory.md §2) for the same weights. Without this the job's
trained and exact maps would answer different questions."""

from __future__ import annotations

import numpy as np

from theory import n2m1
from toysup import FeatureConfig, ModelConfig, TrainConfig, train


def test_trained_penalised_loss_matches_closed_form():
    lam = 0.4
    r = np.array([0.3, 1.0, 3.0])
    p = np.array([0.05, 0.3, 0.9])
    rr, pp = np.meshgrid(r, p)
    importance = np.stack([np.ones(rr.size), rr.ravel()], axis=1)
    density = np.repeat(pp.reshape(-1, 1), 2, axis=1)
    features = FeatureConfig(n_features=2, n_instances=rr.size, density=density,
                             importance=importance)  # fmt: skip
    training = TrainConfig(steps=40, batch_size=256, lr=1e-2, n_seeds=2, seed=3, device="cpu",
                           eval_samples=40_000, l1_hidden=lam)  # fmt: skip
    result = train(features, ModelConfig(n_features=2, n_hidden=1), training, progress=False)
    W = np.asarray(result.seed_W, dtype=np.float64)[:, :, 0, :]  # (9, 2, 2)
    b = np.asarray(result.seed_b, dtype=np.float64)
    exact = n2m1.expected_loss(W, b, density[:, None, :], importance[:, None, :], l1_hidden=lam)
    exact_plain = n2m1.expected_loss(W, b, density[:, None, :], importance[:, None, :])
    # Monte Carlo with its own standard error: 5 SEs make a false alarm over these 18 estimates
    # improbable (two-sided normal tail 6e-7 each), while a penalty off by a factor (mean instead
    # of sum, a missing density factor) moves most estimates by many SEs (asserted below for
    # E|h| halved).
    se = np.asarray(result.seed_loss_penalized_stderr) + 1e-12
    z = (np.asarray(result.seed_loss_penalized) - exact) / se
    assert np.all(np.abs(z) < 5), z
    z_plain = (np.asarray(result.seed_loss) - exact_plain) / (
        np.asarray(result.seed_loss_stderr) + 1e-12
    )
    assert np.all(np.abs(z_plain) < 5), z_plain
    # the check has power: with E|h| halved most estimates would be more than 5 SEs off
    halved = exact_plain + 0.5 * (exact - exact_plain)
    z_halved = (np.asarray(result.seed_loss_penalized) - halved) / se
    assert np.mean(np.abs(z_halved) > 5) > 0.5, z_halved
