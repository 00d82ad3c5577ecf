"""Adam / AdamW on one flat parameter buffer, and the learning-rate schedules.

The update is written out to match ``torch.optim.Adam``/``AdamW`` (single-tensor implementation)
operation for operation, so results agree with torch's optimisers bit for bit on CPU
(tests/toysup/test_optim.py). Keeping W and b in one flat buffer makes the update a handful of
operations per block instead of a handful per parameter.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from toysup.config import TrainConfig


def lr_multiplier(schedule: str, step: int, steps: int) -> float:
    """Learning-rate multiplier at 0-based ``step`` of ``steps`` (reference notebook's schedules)."""
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        return 1.0 - step / steps
    if schedule == "cosine":
        return math.cos(0.5 * math.pi * step / (steps - 1)) if steps > 1 else 1.0
    raise ValueError(f"schedule must be 'constant', 'linear' or 'cosine'; got {schedule!r}")


class Adam:
    """Adam (``decoupled=False``) or AdamW (``decoupled=True``) state for a flat parameter tensor."""

    def __init__(self, params: Tensor, config: TrainConfig) -> None:
        self.params = params
        self.exp_avg = torch.zeros_like(params)
        self.exp_avg_sq = torch.zeros_like(params)
        self.beta1, self.beta2 = config.betas
        self.eps = config.eps
        assert config.weight_decay is not None  # resolved by TrainConfig
        self.weight_decay = config.weight_decay
        self.decoupled = config.optimizer == "adamw"
        self.step_count = 0

    def step(self, grad: Tensor, lr: float) -> None:
        """One update with learning rate ``lr``; ``grad`` may be overwritten."""
        self.step_count += 1
        params, beta1, beta2 = self.params, self.beta1, self.beta2
        if self.weight_decay != 0:
            if self.decoupled:
                params.mul_(1 - lr * self.weight_decay)
            else:
                grad = grad.add(params, alpha=self.weight_decay)
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1**self.step_count
        bias_correction2 = 1 - beta2**self.step_count
        step_size = lr / bias_correction1
        denom = (self.exp_avg_sq.sqrt() / bias_correction2**0.5).add_(self.eps)
        params.addcdiv_(self.exp_avg, denom, value=-step_size)
