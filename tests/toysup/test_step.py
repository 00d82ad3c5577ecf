"""The hand-derived gradients of toysup.step against torch autograd (float64)."""

from __future__ import annotations

import pytest
import torch

from toysup.models import loss_per_instance
from toysup.step import TiedStep


@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize(
    ("instances", "n", "m", "batch", "explicit"),
    [
        (3, 5, 2, 17, 17),  # broadcast multiply-adds (n·m·C <= 512)
        (2, 2, 1, 640, 640),  # batched products (n·m·C > 512)
        (4, 3, 2, 33, 33),
        (1, 7, 7, 5, 5),
        (3, 4, 2, 40, 9),
        (2, 2, 1, 64, 1),
        (3, 6, 3, 30, 12),
        (2, 5, 3, 60, 50),  # batched products, compact batch
    ],
)
def test_gradients_match_autograd(activation, reduction, instances, n, m, batch, explicit):
    """Full batches, and compact batches where only ``explicit`` examples are stored and the
    rest are implied all-zero examples (handled in closed form)."""
    gen = torch.Generator().manual_seed(1234)
    dt = torch.float64
    W = torch.randn(instances, m, n, generator=gen, dtype=dt)
    b = 0.3 * torch.randn(instances, n, generator=gen, dtype=dt)
    importance = torch.rand(instances, n, generator=gen, dtype=dt) + 0.1
    x = torch.rand(instances, batch, n, generator=gen, dtype=dt)
    x = x * (torch.rand(instances, batch, n, generator=gen, dtype=dt) < 0.5)
    x[:, explicit:] = 0.0  # the implied examples are all zero

    Wg, bg = W.clone().requires_grad_(), b.clone().requires_grad_()
    loss = loss_per_instance(Wg, bg, x, importance, activation, reduction).sum()
    loss.backward()

    step = TiedStep(instances, n, m, batch, relu=activation == "relu", dtype=dt, device=W.device)
    xs = step.x_flat[: instances * n * explicit].view(instances, n, explicit)
    xs.copy_(x[:, :explicit].transpose(1, 2))
    scale = 1.0 / n if reduction == "mean" else 1.0
    grad_W, grad_b = torch.empty_like(W), torch.empty_like(b)
    step.gradients(xs, W, b, 2 * scale * importance / batch, grad_W, grad_b)
    # Same algebra in a different order of float64 operations: agreement to ~1e-15 relative.
    torch.testing.assert_close(grad_W, Wg.grad, rtol=1e-11, atol=1e-13)
    torch.testing.assert_close(grad_b, bg.grad, rtol=1e-11, atol=1e-13)
    torch.testing.assert_close(
        step.loss(scale * importance, b),
        loss_per_instance(W, b, x, importance, activation, reduction),
        rtol=1e-12,
        atol=1e-14,
    )
