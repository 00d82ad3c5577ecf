"""The SAE as plain functions of its parameters (batch-major; for users and for evaluation).

Shapes: leading axes ``...`` are instances (any number, broadcast together); ``h`` is
``(..., batch, m)``, codes ``(..., batch, width)``. Parameters as in
:class:`toysup.sae.SAEResult`: ``W_enc (..., width, m)``, ``b_enc (..., width)``,
``W_dec (..., m, width)``, ``b_dec (..., m)``, ``threshold (..., width)`` (JumpReLU θ). The
training step (:mod:`toysup.sae.step`) computes the same forward pass feature-major, with its
gradients.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: Hidden activations of the toy models an SAE reads: ``h = W x`` ("none") or ``h = ReLU(W x)``
#: ("relu", the paper's §"Superposition in a Privileged Basis" model).
HIDDEN_ACTIVATIONS = ("none", "relu")


def hidden(W: Tensor, x: Tensor, activation: str = "none") -> Tensor:
    """The toy model's hidden activations: ``W (..., m, n)``, ``x (..., batch, n)`` ->
    ``(..., batch, m)``; ``h = W x``, or ``ReLU(W x)`` for ``activation="relu"``."""
    h = torch.einsum("...mn,...bn->...bm", W, x)
    return h.clamp_(min=0.0) if activation == "relu" else h


def pre_activations(W_enc: Tensor, b_enc: Tensor, b_dec: Tensor, h: Tensor) -> Tensor:
    """``π = W_enc (h − b_dec) + b_enc``: (..., batch, width)."""
    centred = h - b_dec[..., None, :]
    return torch.einsum("...wm,...bm->...bw", W_enc, centred) + b_enc[..., None, :]


def activate(
    pre: Tensor, kind: str, *, k: int | None = None, threshold: Tensor | None = None
) -> Tensor:
    """Codes from pre-activations ``(..., batch, width)``: ReLU; ReLU of the ``k`` largest
    (TopK, Gao et al. 2024); or ``π [π > θ]`` (JumpReLU, Rajamanoharan et al. 2024)."""
    if kind == "relu":
        return torch.relu(pre)
    if kind == "topk":
        if k is None:
            raise ValueError("kind='topk' needs k")
        values, index = pre.topk(k, dim=-1)
        return torch.zeros_like(pre).scatter_(-1, index, values.relu_())
    if kind == "jumprelu":
        if threshold is None:
            raise ValueError("kind='jumprelu' needs threshold (..., width)")
        return pre * (pre > threshold[..., None, :])
    raise ValueError(f"kind must be 'relu', 'topk' or 'jumprelu'; got {kind!r}")


def decode(W_dec: Tensor, b_dec: Tensor, z: Tensor) -> Tensor:
    """``ĥ = W_dec z + b_dec``: codes (..., batch, width) -> (..., batch, m)."""
    return torch.einsum("...mw,...bw->...bm", W_dec, z) + b_dec[..., None, :]
