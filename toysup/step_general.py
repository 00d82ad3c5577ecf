"""The general training step: autograd through one batched forward pass of any model of the family.

Every toy model of :mod:`toysup.models` (hidden activation none or ReLU; output ReLU, linear, GELU
or softplus; tied or untied; target ``x`` or ``|x|``; L1 penalties on the hidden activations and
on the weights) and any feature structure trains through :class:`GeneralStep`. Like the
hand-derived steps (:mod:`toysup.step`) it works on a whole block of instances at once, in the
feature-major layout ``(instances, features, batch)`` the samplers produce, with batched products
(``bmm``/``baddbmm``) and no loop over instances, and it writes its gradients into the block's
flat gradient buffer (views ``grad_W``, ``grad_b``, ``grad_W_dec``), so the fused Adam(W) update,
the divergence checks and the worker threads work unchanged. Only C ≤ B examples may be explicit
(the compact sampler); the other ``B − C`` are all zero, for which ``h = 0`` (``W·0 = 0`` and
``ReLU(0) = 0``) and ``x' = f(b)``: each adds ``Σ_i I_i f(b_i)² / B`` to the loss (the target of
``x = 0`` is 0 for both targets) and nothing to the hidden penalty, in closed form.

Per instance, with ``w_i = I_i / B`` (divided by n for the per-feature mean), the objective is

    L = Σ_b Σ_i w_i (t_ib − x'_ib)² + λ_h / B · Σ_b Σ_j |h_jb| + λ_W (Σ|W| + Σ|W_dec|)

and the instances' objectives are summed, so each instance's gradient is its own (derivation and
checks in docs/training.md, "The general path").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch
from torch import Tensor

from toysup.config import FeatureConfig, ModelConfig, TrainConfig
from toysup.models import output_activation


@dataclass(frozen=True)
class Family:
    """One member of the model family, with its training target and penalties."""

    hidden_relu: bool
    activation: str
    tied: bool
    abs_target: bool
    l1_hidden: float
    l1_weights: float

    @classmethod
    def of(cls, model: ModelConfig, training: TrainConfig) -> Family:
        return cls(
            hidden_relu=model.hidden_activation == "relu",
            activation=model.activation,
            tied=model.tied,
            abs_target=training.target == "abs",
            l1_hidden=training.l1_hidden,
            l1_weights=training.l1_weights,
        )

    @cached_property
    def output(self) -> Callable[[Tensor], Tensor]:
        """The output activation f."""
        return output_activation(self.activation)

    def forward(
        self, W: Tensor, b: Tensor, W_dec: Tensor | None, x: Tensor
    ) -> tuple[Tensor, Tensor]:
        """``(h, x')`` for x (I, n, C): h (I, m, C) after the hidden activation, x' (I, n, C)."""
        h, z = self.pre_activations(W, b, W_dec, x)
        return h, self.output(z)

    def pre_activations(
        self, W: Tensor, b: Tensor, W_dec: Tensor | None, x: Tensor
    ) -> tuple[Tensor, Tensor]:
        """``(h, z)``: h (I, m, C) after the hidden activation, ``z = W_dec h + b`` (I, n, C)."""
        h = torch.bmm(W, x)  # W x                                             (I, m, C)
        if self.hidden_relu:
            h = torch.relu(h)
        decoder = W.transpose(1, 2) if W_dec is None else W_dec  # (I, n, m)
        return h, torch.baddbmm(b[:, :, None], decoder, h)  # W_dec h + b       (I, n, C)

    def per_example(
        self, W: Tensor, b: Tensor, W_dec: Tensor | None, x: Tensor, importance: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Per example: the loss ``Σ_i I_i (t_i − x'_i)²`` and ``Σ_j |h_j|``, each (I, C)."""
        h, out = self.forward(W, b, W_dec, x)
        target = x.abs() if self.abs_target else x
        loss = ((out - target).square_() * importance[:, :, None]).sum(1)
        return loss, h.abs().sum(1)

    def zero_example(self, b: Tensor, importance: Tensor) -> Tensor:
        """The loss of the all-zero example, ``Σ_i I_i f(b_i)²``, per instance (I,)."""
        return (self.output(b).square() * importance).sum(1)

    def weight_penalty(self, W: Tensor, W_dec: Tensor | None) -> Tensor:
        """``λ_W (Σ|W| + Σ|W_dec|)`` per instance (I,)."""
        total = W.abs().sum((1, 2))
        if W_dec is not None:
            total = total + W_dec.abs().sum((1, 2))
        return self.l1_weights * total


class WeightedSquaredError(torch.autograd.Function):
    """``Σ_{i,b} w_i (f(z_ib) − t_ib)²`` per instance, for pre-activations z (I, n, C), targets
    t (I, n, C) and weights w (I, n), with the output activation f ReLU or linear folded in.

    One function instead of autograd's activation, subtract, square, weight and sum: forward
    ``d = f(z) − t`` in place on one new array, masked by ``f'(z)`` after the loss is taken;
    backward one contiguous pass, ``2 w d`` times the incoming gradient (autograd's own chain
    through a broadcast weight ran several times slower on CPU). The loss itself is only
    computed when ``need_loss`` (zeros otherwise: the gradient does not need it)."""

    @staticmethod
    def forward(
        ctx: Any, z: Tensor, target: Tensor, weight: Tensor, relu: bool, need_loss: bool
    ) -> Tensor:
        # d = f(z) - t                                                         (I, n, C)
        diff = torch.clamp_min(z, 0.0).sub_(target) if relu else torch.sub(z, target)
        if need_loss:
            norm = torch.linalg.vector_norm(diff, dim=2)  # one pass, no temporary      (I, n)
            loss = (norm.square_() * weight).sum(1)
        else:
            loss = weight.new_zeros(weight.shape[0])
        if relu:  # f'(z) = [z > 0]
            _threshold_backward(diff, z, 0.0, grad_input=diff)
        ctx.save_for_backward(diff, weight)
        return loss

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        diff, weight = ctx.saved_tensors
        return diff.mul_((2.0 * weight * grad[:, None])[:, :, None]), None, None, None, None


#: ``threshold_backward(grad, input, 0)``: grad where input > 0, else 0 (torch.ops.aten).
_threshold_backward = torch.ops.aten.threshold_backward.grad_input


def is_fast(features: FeatureConfig, model: ModelConfig, training: TrainConfig) -> bool:
    """Whether the hand-derived steps (:mod:`toysup.step`, :mod:`toysup.step_gram`) cover this
    configuration: tied, no hidden activation, ReLU or linear output, target ``x`` (``|x|`` with
    unit values is the same), no penalty, independent unit features."""
    return (
        model.tied
        and model.hidden_activation == "none"
        and model.activation in ("relu", "linear")
        and (training.target == "identity" or features.values == "unit")
        and training.l1_hidden == 0.0
        and training.l1_weights == 0.0
        and features.structure == "independent"
        and features.values == "unit"
    )


class GeneralStep:
    """Buffers for one block of instances, and its gradients by autograd.

    ``weight`` (instances, n) is ``I / B`` (divided by n for the per-feature mean).
    """

    def __init__(
        self,
        family: Family,
        n_instances: int,
        n_features: int,
        batch_size: int,
        *,
        weight: Tensor,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        self.family = family
        self.batch_size = batch_size
        self.weight = weight
        # The sampler's buffer: I·n·B entries and a spare (the row-sparse sampler's).
        self.x_flat = torch.empty(
            n_instances * n_features * batch_size + 1, dtype=dtype, device=device
        )
        self.target_flat = torch.empty(
            n_instances * n_features * batch_size if family.abs_target else 0,
            dtype=dtype,
            device=device,
        )  # fmt: skip (|x|, written in place each step)
        self.last_loss = torch.zeros(n_instances, dtype=dtype, device=device)
        self.last_penalty = torch.zeros_like(self.last_loss)

    def gradients(
        self,
        x: Tensor,
        W: Tensor,
        b: Tensor,
        W_dec: Tensor | None,
        grad_W: Tensor,
        grad_b: Tensor,
        grad_W_dec: Tensor | None,
        *,
        need_loss: bool = True,
    ) -> None:
        """Write the objective's gradients for the batch ``x`` (instances, n, C) into ``grad_W``,
        ``grad_b`` (and ``grad_W_dec``); keep the batch's penalty per instance and, when
        ``need_loss`` (the trainer asks on logged steps), its loss."""
        family = self.family
        leaves = [W.detach().requires_grad_(), b.detach().requires_grad_()]
        if W_dec is not None:
            leaves.append(W_dec.detach().requires_grad_())
        target = x
        if family.abs_target:
            target = torch.abs(x, out=self.target_flat[: x.numel()].view(x.shape))
        with torch.enable_grad():
            W_, b_ = leaves[0], leaves[1]
            W_dec_ = leaves[2] if W_dec is not None else None
            if family.activation in ("relu", "linear"):  # folded into the loss function
                h, z = family.pre_activations(W_, b_, W_dec_, x)
                relu = family.activation == "relu"
                loss = WeightedSquaredError.apply(z, target, self.weight, relu, need_loss)
            else:
                h, out = family.forward(W_, b_, W_dec_, x)
                loss = WeightedSquaredError.apply(out, target, self.weight, False, need_loss)
            implicit = self.batch_size - x.shape[2]
            if implicit:  # all-zero examples: x' = f(b), target 0
                loss = loss + implicit * family.zero_example(b_, self.weight)
            objective = loss
            penalty = None
            if family.l1_hidden:
                penalty = family.l1_hidden / self.batch_size * h.abs().sum((1, 2))
            if family.l1_weights:
                weights = family.weight_penalty(W_, W_dec_)
                penalty = weights if penalty is None else penalty + weights
            if penalty is not None:
                objective = loss + penalty
            grads = torch.autograd.grad(objective.sum(), leaves)
        grad_W.copy_(grads[0])
        grad_b.copy_(grads[1])
        if grad_W_dec is not None:
            grad_W_dec.copy_(grads[2])
        if need_loss:
            self.last_loss = loss.detach()
        if penalty is not None:
            self.last_penalty = penalty.detach()

    def loss(self, importance: Tensor, b: Tensor) -> Tensor:
        """Per-instance loss (without penalty) of the last batch computed with ``need_loss``,
        shape (instances,)."""
        del importance, b  # computed with the gradients
        return self.last_loss

    def penalty(self) -> Tensor:
        """Per-instance penalty of the last batch, shape (instances,)."""
        return self.last_penalty
