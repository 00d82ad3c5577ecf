"""The general training step: one batched pass, forward and backward, for any model of the family.

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
checks in docs/training.md, "The general path"). The family is closed, so the backward pass is
written out (:meth:`GeneralStep.gradients`) and checked against autograd of a plain reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

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

    def add_penalty_gradients(
        self, W: Tensor, W_dec: Tensor | None, grad_W: Tensor, grad_W_dec: Tensor | None
    ) -> None:
        """Add the weight penalty's ``λ_W sign(W)`` (and ``sign(W_dec)``) to the gradients."""
        if self.l1_weights:
            grad_W.add_(torch.sign(W), alpha=self.l1_weights)
            if W_dec is not None and grad_W_dec is not None:
                grad_W_dec.add_(torch.sign(W_dec), alpha=self.l1_weights)

    def batch_penalty(self, W: Tensor, W_dec: Tensor | None, h: Tensor, batch: int) -> Tensor:
        """The batch's penalty per instance (I,): the weight penalty plus ``λ_h/B Σ|h|`` over the
        hidden activations ``h`` of its B examples (any layout with the instance first)."""
        penalty = self.weight_penalty(W, W_dec)
        if self.l1_hidden:
            penalty = penalty + self.l1_hidden / batch * h.abs().sum((1, 2))
        return penalty


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
    """Buffers for one block of instances, and its hand-derived gradients.

    ``weight`` (instances, n) is ``I / B`` (divided by n for the per-feature mean). The
    (instances, hidden, examples) and (instances, n, examples) work arrays are allocated on the
    first call (their hidden size comes from ``W``) and reused: each step views their start.
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
        self.c = 2.0 * weight  # ∂/∂x' of w (x' − t)² is 2 w (x' − t)
        big = n_instances * n_features * batch_size
        # The sampler's buffer: I·n·B entries and a spare (the row-sparse sampler's).
        self.x_flat = torch.empty(big + 1, dtype=dtype, device=device)
        self.z_flat = torch.empty(big, dtype=dtype, device=device)  # W_dec h + b
        self.d_flat = torch.empty(big, dtype=dtype, device=device)  # f(z) − t, then e
        self.target_flat = torch.empty(big if family.abs_target else 0, dtype=dtype, device=device)
        self.h_flat = torch.empty(0, dtype=dtype, device=device)  # h           (I, m, C)
        self.g_flat = torch.empty(0, dtype=dtype, device=device)  # ∂L/∂h_pre   (I, m, C)
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
        ``grad_b`` (and ``grad_W_dec``); when ``need_loss`` (the trainer asks on logged steps),
        keep the batch's loss and penalty per instance.

        With ``e = (f(z) − t) f'(z)`` (I, n, C) and ``c = 2w``: ``∂L/∂b = c ⊙ Σ_b e``,
        ``∂L/∂W_dec = diag(c) e hᵀ``, ``∂L/∂h = W_decᵀ diag(c) e`` (plus ``λ_h/B sign(h)``),
        masked by ``[h > 0]`` for the hidden ReLU, ``∂L/∂W = (∂L/∂h) xᵀ`` (plus the decoder's
        ``h eᵀ diag(c)`` when tied, and ``λ_W sign(W)``). ``c`` scales rows or columns of the
        small factors, never the (I, n, C) arrays.
        """
        family = self.family
        instances, n, width = x.shape
        m = W.shape[1]
        h, g, z, d = self._views(instances, n, m, width)
        c = self.c
        torch.bmm(W, x, out=h)  # W x                                             (I, m, C)
        if family.hidden_relu:
            h.clamp_min_(0.0)
        decoder = W.transpose(1, 2) if W_dec is None else W_dec  # (I, n, m)
        torch.baddbmm(b[:, :, None], decoder, h, out=z)  # z = W_dec h + b         (I, n, C)
        target = x
        if family.abs_target:
            target = torch.abs(x, out=self.target_flat[: x.numel()].view(x.shape))
        output_error(family, z, target, d)  # d = f(z) − t
        implicit = self.batch_size - width  # all-zero examples: z = b, t = 0
        f_b = family.output(b) if implicit or need_loss else None
        if need_loss:
            err = torch.linalg.vector_norm(d, dim=2).square_()  # Σ_b d²        (I, n)
            if implicit:
                err.add_(f_b.square(), alpha=implicit)  # type: ignore[union-attr]
            self.last_loss = (err * self.weight).sum(1)
        e = times_slope(
            family.activation, d, z
        )  # e = d f'(z)                                (I, n, C)
        torch.sum(e, 2, out=grad_b)
        if implicit:
            grad_b.add_(times_slope(family.activation, f_b.clone(), b), alpha=implicit)  # type: ignore[union-attr]
        grad_b.mul_(c)
        if W_dec is None:  # tied: the decoder's part of ∂L/∂W is h eᵀ diag(c)
            torch.bmm(h, e.transpose(1, 2), out=grad_W)
            grad_W.mul_(c[:, None, :])
            scaled = W * c[:, None, :]  # W_decᵀ diag(c) = W diag(c)                 (I, m, n)
        else:
            assert grad_W_dec is not None
            torch.bmm(e, h.transpose(1, 2), out=grad_W_dec)  # e hᵀ                  (I, n, m)
            grad_W_dec.mul_(c[:, :, None])
            scaled = (W_dec * c[:, :, None]).transpose(1, 2)  # W_decᵀ diag(c)       (I, m, n)
        torch.bmm(scaled, e, out=g)  # ∂L/∂h                                        (I, m, C)
        if family.l1_hidden:
            g.add_(torch.sign(h), alpha=family.l1_hidden / self.batch_size)
        if family.hidden_relu:
            _threshold_backward(g, h, 0.0, grad_input=g)  # [h > 0] = [W x > 0]
        if W_dec is None:
            grad_W.baddbmm_(g, x.transpose(1, 2))  # + (∂L/∂h) xᵀ                  (I, m, n)
        else:
            torch.bmm(g, x.transpose(1, 2), out=grad_W)
        family.add_penalty_gradients(W, W_dec, grad_W, grad_W_dec)
        if need_loss and (family.l1_hidden or family.l1_weights):
            self.last_penalty = family.batch_penalty(W, W_dec, h, self.batch_size)

    def _views(self, instances: int, n: int, m: int, width: int) -> tuple[Tensor, ...]:
        """``h``, ``∂L/∂h`` (I, m, C) and ``z``, ``d`` (I, n, C): views of the work buffers."""
        small = instances * m * self.batch_size
        if self.h_flat.numel() < small:
            self.h_flat = self.z_flat.new_empty(small)
            self.g_flat = self.z_flat.new_empty(small)
        hidden = (instances, m, width)
        wide = (instances, n, width)
        return (
            self.h_flat[: instances * m * width].view(hidden),
            self.g_flat[: instances * m * width].view(hidden),
            self.z_flat[: instances * n * width].view(wide),
            self.d_flat[: instances * n * width].view(wide),
        )

    def loss(self, importance: Tensor, b: Tensor) -> Tensor:
        """Per-instance loss (without penalty) of the last batch computed with ``need_loss``,
        shape (instances,)."""
        del importance, b  # computed with the gradients
        return self.last_loss

    def penalty(self) -> Tensor:
        """Per-instance penalty of the last batch computed with ``need_loss``, shape
        (instances,)."""
        return self.last_penalty


def output_error(family: Family, z: Tensor, target: Tensor, out: Tensor) -> Tensor:
    """``f(z) − t`` into ``out`` (same shape as z)."""
    if family.activation == "relu":
        return torch.clamp_min(z, 0.0, out=out).sub_(target)
    if family.activation == "linear":
        return torch.sub(z, target, out=out)
    return torch.sub(family.output(z), target, out=out)


def output_value(family: Family, z: Tensor, out: Tensor) -> Tensor:
    """``f(z)`` into ``out`` (same shape as z)."""
    if family.activation == "relu":
        return torch.clamp_min(z, 0.0, out=out)
    return out.copy_(family.output(z))


def times_slope(activation: str, grad: Tensor, z: Tensor) -> Tensor:
    """``grad · f'(z)`` for the output activation f: in place for ReLU and linear, a new array
    otherwise (autograd's own backward formulas: ``gelu_backward``, ``softplus_backward`` with
    torch's defaults β = 1, threshold 20)."""
    if activation == "relu":
        return _threshold_backward(grad, z, 0.0, grad_input=grad)
    if activation == "gelu":
        return torch.ops.aten.gelu_backward(grad, z)
    if activation == "softplus":
        return torch.ops.aten.softplus_backward(grad, z, 1.0, 20.0)
    return grad


#: ``threshold_backward(grad, input, 0)``: grad where input > 0, else 0 (torch.ops.aten).
_threshold_backward = torch.ops.aten.threshold_backward.grad_input
