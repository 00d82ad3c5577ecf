"""The fused training step: forward pass and hand-derived gradients of the tied toy model.

Feature-major layout (instances, features, batch) throughout, which keeps every batched product
contiguous. With ``h = W x`` (m × B), ``z = Wᵀ h + b`` (n × B), ``x' = ReLU(z)`` and per-instance loss
``L = Σ_i I_i mean_b (x_ib - x'_ib)²`` (paper §"Demonstrating Superposition", the loss):

    δ_ib  = ∂L/∂z_ib = c_i (z_ib - x_ib) [z_ib > 0],   c_i = 2 I_i / B   (/ n for the mean)
    ∂L/∂b = Σ_b δ_ib
    ∂L/∂W = h δᵀ + (W δ) xᵀ          (W appears twice: encoder and tied decoder)

The column weights ``c`` are folded into the small factors (``c`` scales ``∂L/∂W``'s columns and
``W`` before ``W δ``), so each step makes three elementwise passes over the (n × B) arrays
(``z - x``, the ReLU mask, ``Σ_b``) besides the five batched products. The linear model drops the
mask.

For tiny products (n·m·C ≤ 512: the phase diagrams' n=2, m=1 and n=3, m=2 with a compact batch
of a few hundred examples) the products are written as n·m broadcast multiply-adds instead: MKL's
batched product is several times slower there (measured: 1.3 ms against 0.5 ms for 337 instances
of n=2, m=1, C=148; the other way round from C ≈ 350). The choice depends only on the sizes, so
results stay reproducible.

Only C ≤ B examples may be explicit (the compact sampler); the other B - C are all-zero examples,
for which h = 0 and z = b, so each adds ``c_i ReLU(b_i)`` to ∂L/∂b_i (``c_i b_i`` for the linear
model), nothing to ∂L/∂W, and ``I_i ReLU(b_i)² / B`` to the loss. The derivation is in
docs/training.md; tests/toysup/test_step.py checks it against autograd.
"""

from __future__ import annotations

import torch
from torch import Tensor

_threshold_backward = torch.ops.aten.threshold_backward.grad_input

#: Products with n·m·C at most this use broadcast multiply-adds instead of batched matrix products.
SMALL_PRODUCT = 512


class TiedStep:
    """Preallocated buffers for one block of instances, and its gradient computation."""

    def __init__(
        self,
        n_instances: int,
        n_features: int,
        n_hidden: int,
        batch_size: int,
        *,
        relu: bool,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        big = n_instances * n_features * batch_size
        small = n_instances * n_hidden * batch_size
        self.sizes = (n_instances, n_features, n_hidden)
        self.batch_size = batch_size
        self.relu = relu
        # Flat storage; each step views the first I·n·C (or I·m·C) entries, contiguous.
        self.x_flat = torch.empty(big + 1, dtype=dtype, device=device)  # x, and a spare element
        self.z_flat = torch.empty(big, dtype=dtype, device=device)  # pre-activations z
        self.delta_flat = torch.empty(big, dtype=dtype, device=device)  # δ / c
        self.h_flat = torch.empty(small, dtype=dtype, device=device)  # hidden h = W x
        self.g_flat = torch.empty(small, dtype=dtype, device=device)  # W diag(c) δ
        self.x = self.x_flat[:big].view(n_instances, n_features, batch_size)
        self.z = self.z_flat.view(n_instances, n_features, batch_size)

    def gradients(
        self, x: Tensor, W: Tensor, b: Tensor, c: Tensor, grad_W: Tensor, grad_b: Tensor
    ) -> None:
        """Write ∂L/∂W (instances, m, n) and ∂L/∂b (instances, n) for the batch ``x``.

        ``x`` (instances, n, C) holds the explicit examples (a view of :attr:`x_flat`); the other
        ``batch_size - C`` examples are all zero. ``L`` is summed over instances, so each
        instance's gradient is its own loss's gradient. ``c`` (instances, n) is ``2 I / B``
        (divided by n for the per-feature mean).
        """
        instances, n, m = self.sizes
        width = x.shape[2]
        self.x = x
        z = self.z = self.z_flat[: instances * n * width].view(instances, n, width)
        delta = self.delta_flat[: instances * n * width].view(instances, n, width)
        h = self.h_flat[: instances * m * width].view(instances, m, width)
        g = self.g_flat[: instances * m * width].view(instances, m, width)
        if n * m * width <= SMALL_PRODUCT:
            self._products_small(x, W, b, c, z, delta, h, g, grad_W, grad_b)
            return
        torch.bmm(W, x, out=h)  # h = W x                                (I, m, C)
        torch.baddbmm(b[:, :, None], W.transpose(1, 2), h, out=z)  # z = Wᵀh + b   (I, n, C)
        self._delta(x, z, delta, b, c, grad_b)
        torch.bmm(W * c[:, None, :], delta, out=g)  # W δ                 (I, m, C)
        torch.bmm(h, delta.transpose(1, 2), out=grad_W)  # h (δ/c)ᵀ        (I, m, n)
        grad_W.mul_(c[:, None, :])
        grad_W.baddbmm_(g, x.transpose(1, 2))  # + (W δ) xᵀ               (I, m, n)

    def _delta(
        self, x: Tensor, z: Tensor, delta: Tensor, b: Tensor, c: Tensor, grad_b: Tensor
    ) -> None:
        """δ/c = (z − x)[z > 0] into ``delta``, and ∂L/∂b (with the implicit zero examples)."""
        torch.sub(z, x, out=delta)  # z - x                               (I, n, C)
        if self.relu:
            _threshold_backward(delta, z, 0.0, grad_input=delta)  # (z - x)[z > 0]
        torch.sum(delta, 2, out=grad_b)  # Σ_b over explicit examples       (I, n)
        implicit = self.batch_size - x.shape[2]
        if implicit:  # all-zero examples: δ = c ReLU(b)
            grad_b.add_(torch.relu(b) if self.relu else b, alpha=implicit)
        grad_b.mul_(c)

    def _products_small(
        self,
        x: Tensor,
        W: Tensor,
        b: Tensor,
        c: Tensor,
        z: Tensor,
        delta: Tensor,
        h: Tensor,
        g: Tensor,
        grad_W: Tensor,
        grad_b: Tensor,
    ) -> None:
        """The same gradients as the batched products, as n·m broadcast multiply-adds."""
        n, m = x.shape[1], h.shape[1]
        Wt = W.transpose(1, 2)  # (I, n, m)
        torch.mul(x[:, 0:1, :], W[:, :, 0:1], out=h)  # h_k = Σ_f W_kf x_f   (I, m, C)
        for f in range(1, n):
            h.addcmul_(x[:, f : f + 1, :], W[:, :, f : f + 1])
        torch.addcmul(b[:, :, None], h[:, 0:1, :], Wt[:, :, 0:1], out=z)  # z = Wᵀh + b
        for k in range(1, m):
            z.addcmul_(h[:, k : k + 1, :], Wt[:, :, k : k + 1])
        self._delta(x, z, delta, b, c, grad_b)
        Wc = W * c[:, None, :]
        torch.mul(delta[:, 0:1, :], Wc[:, :, 0:1], out=g)  # g = W diag(c) δ/c  (I, m, C)
        for f in range(1, n):
            g.addcmul_(delta[:, f : f + 1, :], Wc[:, :, f : f + 1])
        for k in range(m):  # ∂L/∂W_k· = c ⊙ Σ_b h_k (δ/c) + Σ_b g_k x
            torch.sum(h[:, k : k + 1, :] * delta, 2, out=grad_W[:, k, :])
            grad_W[:, k, :].mul_(c).add_((g[:, k : k + 1, :] * x).sum(2))

    def loss(self, importance: Tensor, b: Tensor) -> Tensor:
        """Per-instance loss ``Σ_i I_i mean_b (x - x')²`` of the last batch, shape (instances,).

        Call after :meth:`gradients` (it reads ``x`` and ``z``); ``importance`` (instances, n)
        already includes any 1/n of the mean reduction; ``b`` is the bias the batch was run with.
        """
        out = torch.relu(self.z) if self.relu else self.z.clone()
        err = out.sub_(self.x).square_().sum(2)  # (I, n)
        implicit = self.batch_size - self.x.shape[2]
        if implicit:
            err.add_((torch.relu(b) if self.relu else b).square(), alpha=implicit)
        return (err * importance).sum(1) / self.batch_size
