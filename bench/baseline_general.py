"""The baseline for bench_general.py: a plain autograd training loop for the model family, written
the way the reference notebook writes its loop (toysup/reference.py does the same for the basic
model).

As in the notebook: parameters with a leading instance axis (``W`` (instances, m, n), an untied
decoder ``W_dec`` (instances, n, m) when asked, ``b_final`` (instances, n)), an einsum forward pass
on features laid out (batch, instances, features), two uniform draws per entry (one for the value,
one for the mask; signed values as ``2u − 1``), AdamW with the learning rate set every step, an
importance-weighted squared error (against ``|x|`` for the absolute-value task) averaged over the
batch and summed over features and instances, the L1 penalty on the hidden activations added when
asked, and autograd for the backward pass. Only independent features (the notebook's); each
instance's Xavier scale is its own (toysup.reference explains why).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from toysup.models import xavier_std

OUTPUTS = {"relu": F.relu, "linear": lambda z: z, "gelu": F.gelu, "softplus": F.softplus}


class NotebookFamilyModel(nn.Module):
    """``h = act_h(W x)``, ``x' = f(W_dec h + b_final)`` (``W_dec = Wᵀ`` when tied)."""

    def __init__(
        self,
        density: Tensor,
        importance: Tensor,
        n_hidden: int,
        *,
        hidden_relu: bool,
        tied: bool = True,
        activation: str = "relu",
        signed: bool = False,
        abs_target: bool = False,
        l1_hidden: float = 0.0,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        instances, n = density.shape
        gen = torch.Generator(device=device).manual_seed(seed)
        std = xavier_std(n, n_hidden)
        self.W = nn.Parameter(torch.empty(instances, n_hidden, n, device=device))
        self.W_dec = (
            None if tied else nn.Parameter(torch.empty(instances, n, n_hidden, device=device))
        )
        with torch.no_grad():
            self.W.normal_(0.0, std, generator=gen)
            if self.W_dec is not None:
                self.W_dec.normal_(0.0, std, generator=gen)
        self.b_final = nn.Parameter(torch.zeros(instances, n, device=device))
        self.feature_probability = density.to(device)
        self.importance = importance.to(device)
        self.hidden_relu, self.activation = hidden_relu, activation
        self.signed, self.abs_target, self.l1_hidden = signed, abs_target, l1_hidden
        self.generator = gen

    def hidden(self, features: Tensor) -> Tensor:
        hidden = torch.einsum("...if,ihf->...ih", features, self.W)
        return F.relu(hidden) if self.hidden_relu else hidden

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        hidden = self.hidden(features)
        if self.W_dec is None:
            out = torch.einsum("...ih,ihf->...if", hidden, self.W)
        else:
            out = torch.einsum("...ih,ifh->...if", hidden, self.W_dec)
        return OUTPUTS[self.activation](out + self.b_final), hidden

    def generate_batch(self, n_batch: int) -> Tensor:
        shape = (n_batch, self.W.shape[0], self.W.shape[2])
        device = self.W.device
        dtype = self.W.dtype
        feat = torch.rand(shape, generator=self.generator, device=device, dtype=dtype)
        if self.signed:
            feat = 2 * feat - 1
        keep = (
            torch.rand(shape, generator=self.generator, device=device, dtype=dtype)
            <= self.feature_probability
        )
        return torch.where(keep, feat, torch.zeros((), device=device, dtype=dtype))

    def objective(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        """Per-instance loss (sum over features, mean over the batch) and penalty."""
        out, hidden = self(batch)
        target = batch.abs() if self.abs_target else batch
        error = self.importance * (target - out) ** 2
        loss = error.sum(dim=2).mean(dim=0)
        penalty = self.l1_hidden * hidden.abs().sum(dim=2).mean(dim=0)
        return loss, penalty


def train_notebook_loop(
    model: NotebookFamilyModel, *, steps: int, batch_size: int, lr: float = 1e-3
) -> Tensor:
    """Train in place with the notebook's loop; returns the last step's per-instance loss."""
    opt = torch.optim.AdamW(list(model.parameters()), lr=lr)
    loss = torch.full((model.W.shape[0],), float("nan"), device=model.W.device)
    for _step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr  # constant schedule, set every step as the notebook does
        opt.zero_grad(set_to_none=True)
        batch = model.generate_batch(batch_size)
        loss, penalty = model.objective(batch)
        (loss + penalty).sum().backward()
        opt.step()
    return loss.detach()
