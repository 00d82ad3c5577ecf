"""The public model functions (toysup.models) for every member of the family, against a plain
per-instance loop (float64, agreement to rounding)."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from toysup import ModelConfig, ToyModel, loss_per_instance, reconstruct
from toysup.models import init_weights, penalty_per_instance

DT = torch.float64
OUTPUT = {"relu": torch.relu, "linear": lambda z: z, "gelu": F.gelu, "softplus": F.softplus}


@pytest.mark.parametrize(
    ("hidden", "activation", "tied", "target"),
    list(itertools.product(["none", "relu"], OUTPUT, [True, False], ["identity", "abs"])),
)
def test_family_functions_match_a_per_instance_loop(hidden, activation, tied, target):
    gen = torch.Generator().manual_seed(2)
    instances, batch, n, m = 3, 11, 5, 2
    W = torch.randn(instances, m, n, generator=gen, dtype=DT)
    W_dec = None if tied else torch.randn(instances, n, m, generator=gen, dtype=DT)
    b = torch.randn(instances, n, generator=gen, dtype=DT)
    x = 2 * torch.rand(instances, batch, n, generator=gen, dtype=DT) - 1
    importance = torch.rand(instances, n, generator=gen, dtype=DT)
    out = reconstruct(W, b, x, activation, hidden_activation=hidden, W_dec=W_dec)
    loss = loss_per_instance(W, b, x, importance, activation, "mean", hidden_activation=hidden,
                             W_dec=W_dec, target=target)  # fmt: skip
    penalty = penalty_per_instance(W, x, hidden_activation=hidden, W_dec=W_dec, l1_hidden=0.3,
                                   l1_weights=0.02)  # fmt: skip
    for i in range(instances):
        h = x[i] @ W[i].T
        h = torch.relu(h) if hidden == "relu" else h
        want = OUTPUT[activation](h @ (W[i] if tied else W_dec[i].T) + b[i])
        torch.testing.assert_close(out[i], want, rtol=1e-13, atol=1e-13)
        t = x[i].abs() if target == "abs" else x[i]
        torch.testing.assert_close(loss[i], (importance[i] * (t - want) ** 2).mean(), rtol=1e-13,
                                   atol=0)  # fmt: skip
        weights = W[i].abs().sum() + (0 if tied else W_dec[i].abs().sum())
        torch.testing.assert_close(
            penalty[i], 0.3 * h.abs().sum(1).mean() + 0.02 * weights, rtol=1e-13, atol=0
        )


def test_toy_model_untied_has_its_own_decoder_and_tied_is_unchanged():
    config = ModelConfig(n_features=4, n_hidden=2, tied=False, hidden_activation="relu")
    model = ToyModel(config, 3, generator=torch.Generator().manual_seed(0), dtype=DT)
    assert model.W_dec is not None and model.W_dec.shape == (3, 4, 2)
    assert {name for name, _ in model.named_parameters()} == {"W", "b", "W_dec"}
    x = torch.rand(3, 7, 4, dtype=DT)
    torch.testing.assert_close(
        model(x), reconstruct(model.W, model.b, x, hidden_activation="relu", W_dec=model.W_dec)
    )
    tied = ToyModel(ModelConfig(n_features=4, n_hidden=2), 3,
                    generator=torch.Generator().manual_seed(0), dtype=DT)  # fmt: skip
    assert tied.W_dec is None
    expected = init_weights(ModelConfig(n_features=4, n_hidden=2), 3,
                            generator=torch.Generator().manual_seed(0), dtype=DT)  # fmt: skip
    torch.testing.assert_close(tied.W.detach(), expected, rtol=0, atol=0)


def test_bad_names_are_rejected():
    W, b, x = torch.zeros(1, 2, 3), torch.zeros(1, 3), torch.zeros(1, 4, 3)
    with pytest.raises(ValueError, match=r"activation must be one of .*; got 'tanh'"):
        reconstruct(W, b, x, "tanh")
    with pytest.raises(ValueError, match="hidden_activation must be one of 'none', 'relu'"):
        reconstruct(W, b, x, hidden_activation="sigmoid")
    with pytest.raises(ValueError, match="target must be one of 'identity', 'abs'"):
        loss_per_instance(W, b, x, torch.ones(1, 3), target="square")
