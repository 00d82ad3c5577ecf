"""Tiny-config factories shared by the toysup tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from toysup import FeatureConfig, ModelConfig, TrainConfig


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors are fastest (and least noisy) with one intra-op thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny():
    """A factory for small, fast configurations."""

    def make(n=5, m=2, instances=3, density=0.3, importance=None, steps=50, **train):
        importance = 0.9 ** np.arange(n) if importance is None else importance
        feats = FeatureConfig(
            n_features=n, n_instances=instances, density=density, importance=importance
        )
        model = ModelConfig(n_features=n, n_hidden=m, activation=train.pop("activation", "relu"))
        training = TrainConfig(steps=steps, batch_size=train.pop("batch_size", 64), **train)
        return feats, model, training

    return make
