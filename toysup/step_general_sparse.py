"""The general step for batches given as their non-zero entries (independent features).

The same model, objective and gradients as :class:`toysup.step_general.GeneralStep`, computed
without multiplying zeros in the two products that take x. With ``nnz ≈ p·n·C`` non-zero entries
per instance, ``h = W x`` and ``∂L/∂W = (∂L/∂h) xᵀ`` each cost ``m·nnz`` multiply-adds as gathers
of rows of length m (``torch.nn.functional.embedding_bag`` with per-sample weights, as in
:mod:`toysup.step_gram`) instead of ``m·n·C``; the other three products (``W_dec h``, ``e hᵀ`` and
``W_decᵀ e``) stay dense. The target is non-zero only at the entries, so ``f(z) − t`` is ``f(z)``
corrected there. Arrays are kept example-major, ``(instances, C, ·)``, so the gathers read and
write contiguous rows. Derivation and checks: docs/training.md, "The general path".

Only C ≤ B examples may be explicit; the other ``B − C`` are all zero and enter in closed form
(``z = b``), as in the dense-layout step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from toysup.data import SparseBatch
from toysup.step_general import Family, output_error, output_value, times_slope
from toysup.step_gram import _offsets, _stable_order


class GeneralSparseStep:
    """Buffers for one block of instances, and its gradients from the batch's non-zero entries.

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
        self.c = 2.0 * weight
        big = n_instances * n_features * batch_size
        self.z_flat = torch.empty(big, dtype=dtype, device=device)  # zᵀ           (I, C, n)
        self.d_flat = torch.empty(big, dtype=dtype, device=device)  # (f(z) − t)ᵀ  (I, C, n)
        self.g_flat = torch.empty(0, dtype=dtype, device=device)  # (∂L/∂h)ᵀ       (I, C, m)
        self.last_loss = torch.zeros(n_instances, dtype=dtype, device=device)
        self.last_penalty = torch.zeros_like(self.last_loss)

    def gradients(
        self,
        batch: SparseBatch,
        W: Tensor,
        b: Tensor,
        W_dec: Tensor | None,
        grad_W: Tensor,
        grad_b: Tensor,
        grad_W_dec: Tensor | None,
        *,
        need_loss: bool = True,
    ) -> None:
        """Write the objective's gradients for ``batch`` (entries in row order; its
        ``batch_size`` is the number C of explicit examples) into ``grad_W``, ``grad_b`` (and
        ``grad_W_dec``); when ``need_loss``, keep the batch's loss and penalty per instance.
        The formulas are :meth:`toysup.step_general.GeneralStep.gradients`', transposed."""
        family = self.family
        instances, n, width = batch.instances, batch.features, batch.batch_size
        m = W.shape[1]
        c = self.c
        rows, values = batch.rows, batch.values
        instance = torch.div(rows, n, rounding_mode="floor")
        example_row = instance * width + batch.examples  # row of the (I·C, ·) arrays
        entry = example_row * n + (rows - instance * n)  # position in zᵀ.view(-1)
        target = values.abs() if family.abs_target else values

        order = _stable_order(example_row, instances * width)  # entries by example
        encoder_t = W.transpose(1, 2).contiguous().view(instances * n, m)  # Wᵀ rows
        h = F.embedding_bag(
            rows[order], encoder_t, _offsets(example_row, instances * width), mode="sum",
            per_sample_weights=values[order],
        ).view(instances, width, m)  # hᵀ = (W x)ᵀ                                (I, C, m)  # fmt: skip
        if family.hidden_relu:
            h.clamp_min_(0.0)
        decoder_t = W if W_dec is None else W_dec.transpose(1, 2)  # W_decᵀ       (I, m, n)
        z = self.z_flat[: instances * width * n].view(instances, width, n)
        torch.baddbmm(b[:, None, :], h, decoder_t, out=z)  # zᵀ = hᵀ W_decᵀ + b   (I, C, n)
        d = self.d_flat[: instances * width * n].view(instances, width, n)
        z_at = z.view(-1)[entry]
        d_at = output_error(family, z_at, target, torch.empty_like(z_at))  # f(z) − t at entries
        output_value(family, z, d)  # f(z)
        d.view(-1).index_copy_(0, entry, d_at)  # f(z) − t                          (I, C, n)
        implicit = self.batch_size - width  # all-zero examples: z = b, t = 0
        f_b = family.output(b) if implicit or need_loss else None
        if need_loss:
            err = torch.linalg.vector_norm(d, dim=1).square_()  # Σ_b d²         (I, n)
            if implicit:
                err.add_(f_b.square(), alpha=implicit)  # type: ignore[union-attr]
            self.last_loss = (err * self.weight).sum(1)
        if family.activation == "relu":  # f(z) f'(z) = f(z): only the entries change
            d.view(-1).index_copy_(0, entry, times_slope("relu", d_at, z_at))
            e = d
        else:
            e = times_slope(family.activation, d, z)  # e = d f'(z)                 (I, C, n)
        torch.sum(e, 1, out=grad_b)
        if implicit:
            grad_b.add_(times_slope(family.activation, f_b.clone(), b), alpha=implicit)  # type: ignore[union-attr]
        grad_b.mul_(c)
        if W_dec is None:  # tied: the decoder's part of ∂L/∂W is h eᵀ diag(c)
            torch.bmm(h.transpose(1, 2), e, out=grad_W)
            grad_W.mul_(c[:, None, :])
            scaled = W.transpose(1, 2) * c[:, :, None]  # diag(c) W_dec              (I, n, m)
        else:
            assert grad_W_dec is not None
            torch.bmm(e.transpose(1, 2), h, out=grad_W_dec)  # e hᵀ                 (I, n, m)
            grad_W_dec.mul_(c[:, :, None])
            scaled = W_dec * c[:, :, None]
        g = self._hidden_buffer(instances, width, m)
        torch.bmm(e, scaled, out=g)  # (∂L/∂h)ᵀ = eᵀ diag(c) W_dec                 (I, C, m)
        if family.l1_hidden:
            g.add_(torch.sign(h), alpha=family.l1_hidden / self.batch_size)
        if family.hidden_relu:
            _threshold_backward(g, h, 0.0, grad_input=g)  # [h > 0] = [W x > 0]
        encoder_grad_t = F.embedding_bag(
            example_row, g.view(instances * width, m), _offsets(rows, instances * n),
            mode="sum", per_sample_weights=values,
        ).view(instances, n, m)  # ((∂L/∂h) xᵀ)ᵀ                                 (I, n, m)  # fmt: skip
        if W_dec is None:
            grad_W.add_(encoder_grad_t.transpose(1, 2))
        else:
            grad_W.copy_(encoder_grad_t.transpose(1, 2))
        family.add_penalty_gradients(W, W_dec, grad_W, grad_W_dec)
        if need_loss and (family.l1_hidden or family.l1_weights):
            self.last_penalty = family.batch_penalty(W, W_dec, h, self.batch_size)

    def _hidden_buffer(self, instances: int, width: int, m: int) -> Tensor:
        if self.g_flat.numel() < instances * self.batch_size * m:
            self.g_flat = self.z_flat.new_empty(instances * self.batch_size * m)
        return self.g_flat[: instances * width * m].view(instances, width, m)

    def loss(self, importance: Tensor, b: Tensor) -> Tensor:
        """Per-instance loss (without penalty) of the last batch computed with ``need_loss``,
        shape (instances,)."""
        del importance, b  # computed with the gradients
        return self.last_loss

    def penalty(self) -> Tensor:
        """Per-instance penalty of the last batch computed with ``need_loss``, shape
        (instances,)."""
        return self.last_penalty


#: ``threshold_backward(grad, input, 0)``: grad where input > 0, else 0 (torch.ops.aten).
_threshold_backward = torch.ops.aten.threshold_backward.grad_input
