"""toysup.optim.Adam reproduces torch.optim.Adam / AdamW bit for bit on CPU: the fused path against
torch's fused optimisers, the fallback path against torch's single-tensor optimisers."""

from __future__ import annotations

import math

import pytest
import torch

from toysup.config import TrainConfig
from toysup.optim import Adam, lr_multiplier


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize(
    ("optimizer", "weight_decay", "torch_cls"),
    [
        ("adamw", 0.01, torch.optim.AdamW),
        ("adam", 0.0, torch.optim.Adam),
        ("adam", 0.05, torch.optim.Adam),
    ],
)
def test_adam_matches_torch_bitwise(optimizer, weight_decay, torch_cls, fused):
    gen = torch.Generator().manual_seed(7)
    start = torch.randn(40, generator=gen)
    grads = [torch.randn(40, generator=gen) for _ in range(25)]
    lrs = [1e-2 * lr_multiplier("cosine", t, 25) for t in range(25)]

    config = TrainConfig(optimizer=optimizer, weight_decay=weight_decay, lr=1e-2)
    ours = start.clone()
    opt = Adam(ours, config, fused=fused)
    assert (opt.kernel is not None) == fused  # torch 2.13 has the CPU kernel
    for g, lr in zip(grads, lrs):
        opt.step(g.clone(), lr)

    ref = torch.nn.Parameter(start.clone())
    torch_opt = torch_cls([ref], lr=1e-2, weight_decay=weight_decay, fused=fused)
    for g, lr in zip(grads, lrs):
        for group in torch_opt.param_groups:
            group["lr"] = lr
        ref.grad = g.clone()
        torch_opt.step()
    assert torch.equal(ours, ref.detach())


def test_schedules_follow_the_reference_notebook():
    assert lr_multiplier("constant", 500, 1000) == 1.0
    assert lr_multiplier("linear", 250, 1000) == 0.75
    assert lr_multiplier("cosine", 0, 1000) == 1.0
    assert math.isclose(lr_multiplier("cosine", 999, 1000), 0.0, abs_tol=1e-15)
    with pytest.raises(ValueError, match="schedule"):
        lr_multiplier("step", 0, 10)
