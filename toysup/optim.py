"""Adam / AdamW on one flat parameter buffer, and the learning-rate schedules.

The update is torch's own fused kernel (``torch._fused_adamw_`` / ``torch._fused_adam_``, one call
per block instead of eight element-wise operations), so results agree bit for bit with
``torch.optim.AdamW(..., fused=True)`` / ``torch.optim.Adam(..., fused=True)``
(tests/toysup/test_optim.py). Where the fused kernel is unavailable (old torch, other devices) an
operation-for-operation copy of torch's single-tensor implementation is used instead, which agrees
bit for bit with ``torch.optim.AdamW()`` without ``fused``. Keeping W and b in one flat buffer makes
the update one call per block.
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


def _fused_kernel(decoupled: bool, params: Tensor) -> object | None:
    """torch's fused Adam(W) kernel if it runs on this device and dtype, else None."""
    kernel = getattr(torch, "_fused_adamw_" if decoupled else "_fused_adam_", None)
    if kernel is None:
        return None
    probe = [torch.zeros(2, dtype=params.dtype, device=params.device) for _ in range(4)]
    step = torch.ones((), dtype=torch.float32, device=params.device)
    try:
        kernel(
            [probe[0]], [probe[1]], [probe[2]], [probe[3]], [], [step],
            lr=1e-3, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8,
            amsgrad=False, maximize=False,
        )  # fmt: skip
    except (RuntimeError, NotImplementedError):
        return None
    return kernel


class Adam:
    """Adam (``decoupled=False``) or AdamW (``decoupled=True``) state for a flat parameter tensor."""

    def __init__(self, params: Tensor, config: TrainConfig, *, fused: bool = True) -> None:
        self.params = params
        self.exp_avg = torch.zeros_like(params)
        self.exp_avg_sq = torch.zeros_like(params)
        self.beta1, self.beta2 = config.betas
        self.eps = config.eps
        assert config.weight_decay is not None  # resolved by TrainConfig
        self.weight_decay = config.weight_decay
        self.decoupled = config.optimizer == "adamw"
        self.step_count = 0
        self.kernel = _fused_kernel(self.decoupled, params) if fused else None
        self.state_step = torch.zeros((), dtype=torch.float32, device=params.device)

    def step(self, grad: Tensor, lr: float) -> None:
        """One update with learning rate ``lr``; ``grad`` may be overwritten."""
        self.step_count += 1
        self.state_step += 1  # the fused kernels expect the caller to advance the step first
        if self.kernel is not None:
            self.kernel(  # type: ignore[operator]
                [self.params], [grad], [self.exp_avg], [self.exp_avg_sq], [], [self.state_step],
                lr=lr, beta1=self.beta1, beta2=self.beta2, weight_decay=self.weight_decay,
                eps=self.eps, amsgrad=False, maximize=False,
            )  # fmt: skip
            return
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
