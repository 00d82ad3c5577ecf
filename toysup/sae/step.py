"""The SAE's fused training step: forward pass and hand-derived gradients, batched over instances.

Feature-major layout: inputs ``h`` (I, m, B), codes (I, w, B), every product a contiguous batched
matrix product. Per instance, with ``s`` = 1 (``1/m`` for the per-dimension mean), ``c = 2s/B``
and ``λ`` the sparsity coefficient (docs/sae.md, "Gradients"):

    h̄ = h − b_dec                    π = W_enc h̄ + b_enc            (pre-activations, w × B)
    z = σ(π)                          ĥ = W_dec z + b_dec,   E = ĥ − h
    L = (s/B) Σ_b ‖E_b‖² + λ/B · Σ_b Σ_j ρ(z_bj)      ρ = z (relu), [π > θ] (jumprelu), 0 (topk)

    ∂L/∂W_dec = c E zᵀ                ∂L/∂z = c W_decᵀ E (+ λ/B for relu)
    ∂L/∂π     = ∂L/∂z ⊙ σ'(π)         σ' = [π > 0] (relu), the top-k mask (topk), [π > θ] (jumprelu)
    ∂L/∂W_enc = (∂L/∂π) h̄ᵀ            ∂L/∂b_enc = Σ_b ∂L/∂π
    ∂L/∂b_dec = c Σ_b E − W_encᵀ Σ_b ∂L/∂π

TopK (Gao et al. 2024) is differentiable almost everywhere: its derivative is the selection
mask, so the gradient flows through the k kept pre-activations only, no estimator needed.
JumpReLU (Rajamanoharan et al. 2024, eqs. 11–12) uses pseudo-derivatives for its threshold, with
the rectangle kernel ``K(u) = [|u| < 1/2]`` and bandwidth ε:

    ð z/ð θ = −(θ/ε) K((π − θ)/ε),      ð H(π − θ)/ð θ = −(1/ε) K((π − θ)/ε)

so ``∂L/∂θ_j = −(1/ε) Σ_b K((π_bj − θ_j)/ε) (θ_j ∂L/∂z_bj + λ/B)``; the threshold is stored as
``log θ`` (``∂L/∂log θ = θ ∂L/∂θ``). The L0 term sends no gradient to π, as in the paper.
tests/toysup/sae/test_step.py checks every kind against autograd of a plain implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

_threshold_backward = torch.ops.aten.threshold_backward.grad_input

#: TopK with k at most this finds the k-th largest pre-activation by rounds of max-and-mask.
SMALL_K = 8
#: Subtracted from a masked maximum: far below any pre-activation, finite in float32.
_PUSH_DOWN = 1e30


@dataclass(frozen=True)
class Params:
    """Views of one block's flat parameter (or gradient) buffer; I instances, w latents, m
    inputs. ``log_threshold`` is present for JumpReLU only."""

    W_enc: Tensor  # (I, w, m)
    b_enc: Tensor  # (I, w)
    W_dec: Tensor  # (I, m, w), unit-norm columns
    b_dec: Tensor  # (I, m)
    log_threshold: Tensor | None  # (I, w)


def param_count(instances: int, width: int, n_inputs: int, kind: str) -> int:
    """Entries of the flat buffer: ``[W_enc | b_enc | W_dec | b_dec (| log θ)]``."""
    per = 2 * width * n_inputs + width + n_inputs + (width if kind == "jumprelu" else 0)
    return instances * per


def param_views(flat: Tensor, instances: int, width: int, n_inputs: int, kind: str) -> Params:
    """Split ``flat`` (:func:`param_count` entries) into :class:`Params` views."""
    n_inst, w, m = instances, width, n_inputs
    sizes = [
        n_inst * w * m,
        n_inst * w,
        n_inst * m * w,
        n_inst * m,
        n_inst * w if kind == "jumprelu" else 0,
    ]
    parts = torch.split(flat, sizes)
    return Params(
        W_enc=parts[0].view(n_inst, w, m),
        b_enc=parts[1].view(n_inst, w),
        W_dec=parts[2].view(n_inst, m, w),
        b_dec=parts[3].view(n_inst, m),
        log_threshold=parts[4].view(n_inst, w) if kind == "jumprelu" else None,
    )


class SAEStep:
    """Preallocated buffers for one block of SAEs of one kind, and its gradient computation.

    A batch of ``batch_size`` examples may arrive as ``C ≤ batch_size`` explicit columns, the
    other ``batch_size − C`` examples being all zero (the compact sampler, :mod:`toysup.data`):
    ``h = 0`` gives the same code and error for every such example, so their gradient is
    ``batch_size − C`` times that of one zero example, computed on a one-column batch.
    """

    def __init__(
        self,
        kind: str,
        instances: int,
        width: int,
        n_inputs: int,
        batch_size: int,
        *,
        k: int | None = None,
        penalty: float = 0.0,
        bandwidth: float = 0.0,
        scale: float = 1.0,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
        capacity: int | None = None,
    ) -> None:
        n_inst, w, m, B = instances, width, n_inputs, batch_size
        cap = B if capacity is None else capacity  # explicit columns the buffers hold
        self.kind, self.k, self.penalty, self.bandwidth = kind, k, penalty, bandwidth
        self.sizes = (n_inst, w, m)
        self.c = 2.0 * scale / B  # ∂(s/B Σ‖E‖²)/∂E = c E, for every column
        self.scale, self.batch_size = scale, B
        self.dtype, self.device = dtype, device

        def new(*shape: int) -> Tensor:
            return torch.empty(shape, dtype=dtype, device=device)

        self._flat = {
            "centred": new(n_inst * m * cap),  # h̄ = h − b_dec
            "pre": new(n_inst * w * cap),  # π
            "z": new(n_inst * w * cap),  # codes
            "dz": new(n_inst * w * cap),  # ∂L/∂z, then ∂L/∂π
            "error": new(n_inst * m * cap),  # E = ĥ − h
        }
        # Masks are 0/1 floats: comparisons into float buffers and float products are several
        # times faster than boolean ones on CPU.
        self._active_flat = (  # [π > θ] (jumprelu), the kept latents (topk)
            new(n_inst * w * cap) if kind in ("jumprelu", "topk") else None
        )
        self._work_flat = new(
            n_inst * w * cap if kind != "relu" else 0
        )  # TopK's selection, θ window
        self._views(cap)
        self._zero: SAEStep | None = None  # the one-column step for implicit zero examples
        self._zero_grads: Tensor | None = None
        self.implicit = 0

    def _views(self, columns: int) -> None:
        """Point the working tensors at the first ``columns`` examples of the buffers."""
        n_inst, w, m = self.sizes
        f = self._flat
        self.centred = f["centred"][: n_inst * m * columns].view(n_inst, m, columns)
        self.pre = f["pre"][: n_inst * w * columns].view(n_inst, w, columns)
        self.z = f["z"][: n_inst * w * columns].view(n_inst, w, columns)
        self.dz = f["dz"][: n_inst * w * columns].view(n_inst, w, columns)
        self.error = f["error"][: n_inst * m * columns].view(n_inst, m, columns)
        self.active = (
            self._active_flat[: n_inst * w * columns].view(n_inst, w, columns)
            if self._active_flat is not None
            else None
        )
        self.work = self._work_flat[: n_inst * w * columns].view(-1, w, columns)

    def forward(self, h: Tensor, p: Params) -> Tensor:
        """Codes ``z`` (I, w, C) of the inputs ``h`` (I, m, C); fills the buffers the backward
        pass reads. Returns a view of an internal buffer."""
        self._views(h.shape[2])
        torch.sub(h, p.b_dec[:, :, None], out=self.centred)
        torch.baddbmm(p.b_enc[:, :, None], p.W_enc, self.centred, out=self.pre)
        if self.kind == "relu":
            torch.clamp(self.pre, min=0.0, out=self.z)
        elif self.kind == "topk":
            assert self.active is not None
            # kept: among the k largest and positive (the ReLU after the selection), in one
            # comparison with max(k-th largest, smallest positive normal number)
            kth = self._kth_largest().clamp_(min=torch.finfo(self.pre.dtype).tiny)  # (I, 1, C)
            torch.ge(self.pre, kth, out=self.active)
            torch.mul(self.pre, self.active, out=self.z)
        else:
            assert p.log_threshold is not None and self.active is not None
            theta = p.log_threshold.exp()[:, :, None]
            torch.gt(self.pre, theta, out=self.active)
            torch.mul(self.pre, self.active, out=self.z)
        return self.z

    def _kth_largest(self) -> Tensor:
        """The k-th largest pre-activation of every example, (I, 1, C). For k ≤ :data:`SMALL_K`
        by k − 1 rounds of "mask the maximum" and a last maximum (``amax`` is tens of times
        faster than ``torch.topk`` or an arg-max along the strided latent axis), else from
        ``torch.topk``. Latents at or above it are kept: exactly k, but for ties at the k-th
        value (probability zero for continuous pre-activations), which are all kept."""
        k = int(self.k or 0)
        if k > SMALL_K:
            return torch.topk(self.pre, k, dim=1).values[:, k - 1 : k, :]
        work, mask = self.work, self.active
        assert mask is not None
        work.copy_(self.pre)
        for _ in range(k - 1):
            top = torch.amax(work, dim=1, keepdim=True)
            torch.ge(work, top, out=mask)
            work.add_(mask, alpha=-_PUSH_DOWN)  # the maximum drops below every other value
        return torch.amax(work, dim=1, keepdim=True)

    def gradients(self, h: Tensor, p: Params, g: Params, *, implicit: int = 0) -> None:
        """Write ∂L/∂(every parameter) into ``g`` for the batch ``h`` (I, m, C) plus ``implicit``
        all-zero examples (``C + implicit`` = ``batch_size``). ``L`` is summed over instances, so
        each instance's gradient is its own loss's."""
        z = self.forward(h, p)
        E = self.error
        torch.baddbmm(p.b_dec[:, :, None], p.W_dec, z, out=E)
        E.sub_(h)  # E = ĥ − h                                              (I, m, C)
        torch.bmm(E, z.transpose(1, 2), out=g.W_dec)
        g.W_dec.mul_(self.c)  # ∂L/∂W_dec = c E zᵀ                           (I, m, w)
        dz = self.dz
        torch.bmm((p.W_dec * self.c).transpose(1, 2), E, out=dz)  # c W_decᵀ E   (I, w, C)
        if self.kind == "relu":
            dz.add_(self.penalty / self.batch_size)
            _threshold_backward(dz, z, 0.0, grad_input=dz)  # ∂L/∂π = ∂L/∂z [π > 0]
        elif self.kind == "topk":
            assert self.active is not None
            dz.mul_(self.active)  # ∂L/∂π = ∂L/∂z on the kept latents (the selection mask)
        else:
            assert g.log_threshold is not None and p.log_threshold is not None
            assert self.active is not None
            self._threshold_gradient(dz, p.log_threshold, g.log_threshold)
            dz.mul_(self.active)  # ∂L/∂π = ∂L/∂z [π > θ]
        torch.bmm(dz, self.centred.transpose(1, 2), out=g.W_enc)  # (I, w, m)
        torch.sum(dz, 2, out=g.b_enc)
        torch.sum(E, 2, out=g.b_dec)
        g.b_dec.mul_(self.c)
        g.b_dec[:, :, None].baddbmm_(p.W_enc.transpose(1, 2), g.b_enc[:, :, None], alpha=-1.0)
        self.implicit = implicit
        if implicit:
            self._add_zero_examples(p, g, implicit)

    def _add_zero_examples(self, p: Params, g: Params, implicit: int) -> None:
        """``g += implicit ×`` the gradient of one all-zero example (class docstring)."""
        n_inst, w, m = self.sizes
        if self._zero is None:
            self._zero = SAEStep(
                self.kind, n_inst, w, m, self.batch_size, k=self.k, penalty=self.penalty,
                bandwidth=self.bandwidth, scale=self.scale, dtype=self.dtype,
                device=self.device, capacity=1,
            )  # fmt: skip
            self._zero_grads = torch.empty(
                param_count(n_inst, w, m, self.kind), dtype=self.dtype, device=self.device
            )
            self._zero_h = torch.zeros((n_inst, m, 1), dtype=self.dtype, device=self.device)
        assert self._zero_grads is not None
        g0 = param_views(self._zero_grads, n_inst, w, m, self.kind)
        self._zero.gradients(self._zero_h, p, g0)
        for ours, zero in zip(_fields(g), _fields(g0)):
            ours.add_(zero, alpha=float(implicit))

    def _threshold_gradient(self, dz: Tensor, log_threshold: Tensor, out: Tensor) -> None:
        """∂L/∂log θ = θ ∂L/∂θ with the rectangle-kernel pseudo-derivatives (module docstring)."""
        theta = log_threshold.exp()
        eps = self.bandwidth
        window = self.work
        torch.sub(self.pre, theta[:, :, None], out=window).abs_()
        torch.lt(window, eps / 2, out=window)  # K((π − θ)/ε) as 0/1             (I, w, C)
        weighted = (dz * theta[:, :, None]).add_(self.penalty / self.batch_size).mul_(window)
        torch.sum(weighted, 2, out=out)
        out.mul_(theta).mul_(-1.0 / eps)

    def loss(self, h: Tensor, p: Params) -> tuple[Tensor, Tensor]:
        """(reconstruction, penalty) per instance, shape (I,) each, of the last batch (call after
        :meth:`gradients`, which leaves ``E`` and ``z`` in place), implicit zero examples
        included."""
        recon = self.error.square().sum((1, 2)).mul_(self.scale / self.batch_size)
        if self.kind == "relu":
            penalty = self.z.sum((1, 2)).mul_(self.penalty / self.batch_size)
        elif self.kind == "jumprelu":
            assert self.active is not None
            penalty = self.active.sum((1, 2)).mul_(self.penalty / self.batch_size)
        else:
            penalty = torch.zeros_like(recon)
        if self.implicit and self._zero is not None:
            zero_recon, zero_penalty = self._zero.loss(self._zero_h, p)
            recon.add_(zero_recon, alpha=float(self.implicit))
            penalty.add_(zero_penalty, alpha=float(self.implicit))
        return recon, penalty


def _fields(p: Params) -> list[Tensor]:
    return [t for t in (p.W_enc, p.b_enc, p.W_dec, p.b_dec, p.log_threshold) if t is not None]


def project_decoder_gradient(W_dec: Tensor, grad: Tensor) -> None:
    """Remove from ``grad`` (I, m, w) its component along each unit decoder column (in place), so
    that the step moves along the unit sphere to first order (Bricken et al. 2023)."""
    along = (grad * W_dec).sum(1, keepdim=True)  # (I, 1, w)
    grad.sub_(W_dec * along)


def normalise_decoder(W_dec: Tensor) -> None:
    """Rescale each decoder column (I, m, w) to unit norm, in place."""
    W_dec.div_(torch.linalg.vector_norm(W_dec, dim=1, keepdim=True).clamp_(min=1e-12))
