"""Speed must not change what is learned: toysup's trainer and the reference notebook's loop
(toysup.reference), trained with the same settings on the same configuration, reach final losses
that are statistically indistinguishable over seeds.

Set-up: n=5, m=2, importance 0.9^i, density 0.1, AdamW lr 1e-3 constant, batch 512, 1,500 steps,
the notebook's per-feature-mean loss for both; 12 seeds each. Each trained model's loss is measured
on the same 65,536 fresh examples (so the comparison has no evaluation noise between the two
groups). Test: two-sided Mann–Whitney U at α = 0.01 (losses are multimodal across seeds — some
runs end in worse local optima — so a rank test, not a t-test). To show the test can fail, the same
test must separate the reference loop stopped after a tenth of the steps.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from toysup import FeatureConfig, ModelConfig, TrainConfig, sample_features, train
from toysup.models import loss_per_instance
from toysup.reference import reference_weights

N, M, SEEDS, STEPS, BATCH = 5, 2, 12, 1500, 512
IMPORTANCE = 0.9 ** np.arange(N)
DENSITY = 0.1


def _loss(W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-model loss (sum over features) on one fixed set of 65,536 examples."""
    x = sample_features(
        np.full((1, N), DENSITY),
        65536,
        generator=torch.Generator().manual_seed(99),
        dtype=torch.float64,
    ).expand(len(W), -1, -1)
    imp = torch.as_tensor(np.tile(IMPORTANCE, (len(W), 1)))
    return loss_per_instance(
        torch.as_tensor(W, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64), x, imp
    ).numpy()


def test_toysup_learns_what_the_reference_loop_learns():
    ours = train(
        FeatureConfig(n_features=N, importance=IMPORTANCE, density=DENSITY),
        ModelConfig(n_features=N, n_hidden=M),
        TrainConfig(steps=STEPS, batch_size=BATCH, lr=1e-3, n_seeds=SEEDS, loss_reduction="mean"),
    )
    W_ours, b_ours = ours.seed_W[0], ours.seed_b[0]  # (seeds, m, n), (seeds, n)
    W_ref, b_ref = reference_weights(
        np.full((SEEDS, N), DENSITY),
        np.tile(IMPORTANCE, (SEEDS, 1)),
        M,
        steps=STEPS,
        batch_size=BATCH,
        seed=1,
    )  # the reference trains its 12 seeds as 12 instances of one model, as the notebook would
    loss_ours, loss_ref = _loss(W_ours, b_ours), _loss(W_ref, b_ref)
    assert stats.mannwhitneyu(loss_ours, loss_ref).pvalue > 0.01, (loss_ours, loss_ref)

    W_short, b_short = reference_weights(
        np.full((SEEDS, N), DENSITY),
        np.tile(IMPORTANCE, (SEEDS, 1)),
        M,
        steps=STEPS // 10,
        batch_size=BATCH,
        seed=1,
    )
    assert stats.mannwhitneyu(loss_ours, _loss(W_short, b_short)).pvalue < 0.01


@pytest.mark.slow
def test_gram_step_learns_what_the_reference_loop_learns():
    """The same test for the Gram step (forced: n = 40, m = 5, density 0.02, importance 0.95^i,
    batch 512, 3,000 steps, 12 seeds): its gradients are exact (tests/toysup/test_step_gram.py), so
    only the sampler's entries and the block machinery could make it learn something else."""
    n, m, density, steps = 40, 5, 0.02, 3000
    importance = 0.95 ** np.arange(n)
    ours = train(
        FeatureConfig(n_features=n, importance=importance, density=density),
        ModelConfig(n_features=n, n_hidden=m),
        TrainConfig(
            steps=steps, batch_size=BATCH, lr=1e-3, n_seeds=SEEDS, loss_reduction="mean",
            sampler="gram",
        ),
    )  # fmt: skip
    assert ours.info["samplers"] == ["gram"]

    def reference(run_steps: int) -> tuple[np.ndarray, np.ndarray]:
        return reference_weights(
            np.full((SEEDS, n), density), np.tile(importance, (SEEDS, 1)), m,
            steps=run_steps, batch_size=BATCH, seed=1,
        )  # fmt: skip

    def loss(W: np.ndarray, b: np.ndarray) -> np.ndarray:
        x = sample_features(
            np.full((1, n), density), 65536, generator=torch.Generator().manual_seed(98),
            dtype=torch.float64,
        ).expand(len(W), -1, -1)  # fmt: skip
        imp = torch.as_tensor(np.tile(importance, (len(W), 1)))
        W64, b64 = torch.as_tensor(W, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
        return loss_per_instance(W64, b64, x, imp).numpy()

    loss_ours = loss(ours.seed_W[0], ours.seed_b[0])
    loss_ref = loss(*reference(steps))
    assert stats.mannwhitneyu(loss_ours, loss_ref).pvalue > 0.01, (loss_ours, loss_ref)
    assert stats.mannwhitneyu(loss_ours, loss(*reference(steps // 10))).pvalue < 0.01
