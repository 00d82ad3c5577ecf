"""A faithful re-implementation of the reference notebook's training loop, as a baseline.

As in the toy-models notebook: one weight tensor ``W`` (instances, m, n) with a leading instance
axis, einsum forward pass on features laid out (batch, instances, features), two uniform draws per
entry (one for the value, one for the mask), AdamW at lr 1e-3 with the learning rate set every step,
importance-weighted squared error averaged over batch and features and summed over instances,
autograd for the backward pass. bench/bench_trainer.py times it against :func:`toysup.train`, and
tests/toysup/test_reference.py checks that both learn the same thing.

One deliberate difference: the notebook initialises with ``nn.init.xavier_normal_`` on the 3-D
tensor, whose scale then depends on the number of instances (REFERENCE pitfall); here each instance
gets the per-instance Xavier scale so that both trainers start from the same distribution.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from toysup.models import xavier_std


class ReferenceModel(nn.Module):
    """The notebook's model: ``W`` (instances, m, n), ``b_final`` (instances, n)."""

    def __init__(
        self,
        density: Tensor,
        importance: Tensor,
        n_hidden: int,
        *,
        seed: int,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        instances, n = density.shape
        gen = torch.Generator(device=device).manual_seed(seed)
        self.W = nn.Parameter(torch.empty(instances, n_hidden, n, device=device))
        with torch.no_grad():
            self.W.normal_(0.0, xavier_std(n, n_hidden), generator=gen)
        self.b_final = nn.Parameter(torch.zeros(instances, n, device=device))
        self.feature_probability = density.to(device)
        self.importance = importance.to(device)
        self.generator = gen

    def forward(self, features: Tensor) -> Tensor:
        hidden = torch.einsum("...if,ihf->...ih", features, self.W)
        out = torch.einsum("...ih,ihf->...if", hidden, self.W)
        return F.relu(out + self.b_final)

    def generate_batch(self, n_batch: int) -> Tensor:
        shape = (n_batch, self.W.shape[0], self.W.shape[2])
        device = self.W.device
        feat = torch.rand(shape, generator=self.generator, device=device)
        keep = (
            torch.rand(shape, generator=self.generator, device=device) <= self.feature_probability
        )
        return torch.where(keep, feat, torch.zeros((), device=device))


def train_reference(
    model: ReferenceModel, *, steps: int, batch_size: int, lr: float = 1e-3
) -> Tensor:
    """Train in place with the notebook's loop; returns the last step's per-instance loss
    (mean over batch and features)."""
    opt = torch.optim.AdamW(list(model.parameters()), lr=lr)
    loss_per_instance = torch.full((model.W.shape[0],), float("nan"), device=model.W.device)
    for _step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr  # constant schedule, set every step as the notebook does
        opt.zero_grad(set_to_none=True)
        batch = model.generate_batch(batch_size)
        out = model(batch)
        error = model.importance * (batch.abs() - out) ** 2
        loss_per_instance = error.mean(dim=(0, 2))
        loss_per_instance.sum().backward()
        opt.step()
    return loss_per_instance.detach()


def reference_weights(
    density: np.ndarray,
    importance: np.ndarray,
    n_hidden: int,
    *,
    steps: int,
    batch_size: int,
    lr: float = 1e-3,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Train the notebook's loop on ``density``/``importance`` (instances, n); return (W, b)."""
    model = ReferenceModel(
        torch.as_tensor(density, dtype=torch.float32),
        torch.as_tensor(importance, dtype=torch.float32),
        n_hidden,
        seed=seed,
    )
    train_reference(model, steps=steps, batch_size=batch_size, lr=lr)
    return model.W.detach().numpy().copy(), model.b_final.detach().numpy().copy()
