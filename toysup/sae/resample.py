"""Dead-latent resampling (Bricken et al. 2023, *Towards Monosemanticity*, "Neuron Resampling").

A latent is *dead* at a resampling step when it has not fired on any training example since the
previous one. Each dead latent gets a new direction: an input drawn from the current batch with
probability proportional to the square of its reconstruction loss ``‖ĥ − h‖²`` (poorly
reconstructed inputs are the ones no live latent covers), centred (``h − b_dec``) and normalised.
That direction becomes the decoder column; the encoder row is the same direction scaled to 0.2 ×
the mean norm of the live encoder rows; the encoder bias is reset to 0 (and the JumpReLU threshold
to its initial value); the Adam moments of every reset entry are zeroed.

Everything is a masked tensor operation: no host synchronisation, so CUDA runs never wait.
"""

from __future__ import annotations

import torch
from torch import Tensor

from toysup.data import UniformSource
from toysup.sae.step import Params

#: The new encoder row's norm, as a fraction of the live rows' mean norm (Bricken et al. 2023).
ENCODER_SCALE = 0.2


class DeadLatents:
    """Which latents fired since the last resampling, for one block of I instances × w latents."""

    def __init__(self, instances: int, width: int, device: torch.device) -> None:
        self.fired = torch.zeros((instances, width), dtype=torch.bool, device=device)
        self.resampled = torch.zeros(instances, dtype=torch.int64, device=device)

    def record(self, grad_W_dec: Tensor) -> None:
        """Mark the latents that fired on this batch. Latent j fired iff its code was non-zero on
        some example, iff its decoder gradient column ``c Σ_b E_b z_bj`` is non-zero (a zero code
        gives an exactly zero column; a non-zero one a non-zero column but for a measure-zero
        coincidence), which costs a pass over (I, m, w) instead of (I, w, B)."""
        self.fired |= (grad_W_dec != 0).any(1)

    def resample(
        self,
        params: Params,
        moments: tuple[Params, Params],
        centred: Tensor,
        error: Tensor,
        source: UniformSource,
        *,
        log_threshold_init: float,
    ) -> None:
        """Resample the dead latents in place (module docstring). ``centred`` (I, m, B) holds
        ``h − b_dec`` of the last batch and ``error`` (I, m, B) its ``ĥ − h``; ``moments`` are the
        views of Adam's first and second moments."""
        instances, m, batch = centred.shape
        width = self.fired.shape[1]
        loss = error.square().sum(1)  # per-example loss ‖ĥ − h‖²                       (I, B)
        cumulative = torch.cumsum(loss.square(), 1)  # sampling weight ∝ loss²
        total = cumulative[:, -1:]
        u = source.fill(torch.empty((instances, width), dtype=centred.dtype, device=centred.device))
        pick = torch.searchsorted(cumulative, u * total, right=True).clamp_(max=batch - 1)  # (I, w)
        candidate = centred.gather(2, pick[:, None, :].expand(instances, m, width))  # (I, m, w)
        norm = torch.linalg.vector_norm(candidate, dim=1, keepdim=True)  # (I, 1, w)
        dead = ~self.fired & (norm[:, 0, :] > 0) & (total > 0)  # (I, w)
        direction = candidate / norm.clamp(min=1e-30)
        alive = (~dead).to(centred.dtype)
        row_norm = torch.linalg.vector_norm(params.W_enc, dim=2)  # (I, w)
        mean_alive = (row_norm * alive).sum(1) / alive.sum(1).clamp(min=1.0)  # (I,)
        mean_alive = torch.where(alive.sum(1) > 0, mean_alive, torch.ones_like(mean_alive))
        new_row = direction.transpose(1, 2) * (ENCODER_SCALE * mean_alive)[:, None, None]
        params.W_dec.copy_(torch.where(dead[:, None, :], direction, params.W_dec))
        params.W_enc.copy_(torch.where(dead[:, :, None], new_row, params.W_enc))
        params.b_enc.masked_fill_(dead, 0.0)
        if params.log_threshold is not None:
            params.log_threshold.masked_fill_(dead, log_threshold_init)
        for moment in moments:
            moment.W_dec.mul_(~dead[:, None, :])
            moment.W_enc.mul_(~dead[:, :, None])
            moment.b_enc.mul_(~dead)
            if moment.log_threshold is not None:
                moment.log_threshold.mul_(~dead)
        self.resampled += dead.sum(1)
        self.fired.zero_()
