"""The control that separates superposition from density: a toy model without superposition.

``W`` is a random orthogonal n × n matrix per configuration (m = n: every feature has a dimension
of its own, no interference), ``b = 0``, with the same features (n, densities) as the toy model.
Its hidden activations ``h = W x`` are a rotation of ``x``, so an SAE faces exactly the sparsity
of the toy model's inputs and nothing else: where SAEs fail on the toy model but succeed here,
superposition is the cause; where they fail on both, density is (docs/sae.md, "The control").
"""

from __future__ import annotations

import numpy as np

from toysup import FeatureConfig, ModelConfig, TrainConfig, TrainResult


def orthogonal_toy(features: FeatureConfig, *, seed: int) -> TrainResult:
    """A :class:`~toysup.TrainResult` holding a random orthogonal ``W`` (C, n, n) per
    configuration of ``features`` (QR of a Gaussian matrix, signs fixed so that the draw is
    uniform over the orthogonal group) and ``b = 0``; nothing is trained. Its loss is 0 (the
    linear readout ``Wᵀ W x = x`` is exact), recorded as such."""
    n, C = features.n_features, features.n_instances
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x0C7]))
    W = np.empty((C, n, n))
    for c in range(C):
        q, r = np.linalg.qr(rng.standard_normal((n, n)))
        W[c] = q * np.sign(np.diag(r))
    z = np.zeros
    return TrainResult(
        features=features,
        model=ModelConfig(n_features=n, n_hidden=n),
        training=TrainConfig(steps=1, n_seeds=1, seed=seed),
        W=W.astype(np.float32),
        b=z((C, n), dtype=np.float32),
        loss=z(C),
        loss_stderr=z(C),
        best_seed=z(C, dtype=np.int64),
        seed_W=W[:, None].astype(np.float32),
        seed_b=z((C, 1, n), dtype=np.float32),
        seed_loss=z((C, 1)),
        seed_loss_stderr=z((C, 1)),
        history_steps=np.zeros(1, dtype=np.int64),
        history_loss=z((1, C, 1)),
        info={"construction": "random orthogonal W, b = 0 (no training): the control"},
    )
