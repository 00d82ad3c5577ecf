"""Snapshots of the parameters during training (``TrainConfig.snapshot_steps``).

Each block copies its flat parameter buffer ``[W | b | W_dec]`` into a preallocated buffer on its
device at each snapshot step (no host read, so CUDA runs do not synchronise); after training the
kept seed's snapshots are cut out and put back in the caller's order.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from toysup._blocks import Block
from toysup.config import ModelConfig, TrainConfig


def snapshot_buffer(blk: Block, training: TrainConfig) -> Tensor | None:
    """(k, parameters) on the block's device for the k snapshot steps, or None."""
    k = len(training.snapshot_steps)
    return blk.params.new_zeros(k, blk.params.numel()) if k else None


def kept_snapshots(
    blocks: list[Block],
    buffers: dict[int, Tensor | None],
    training: TrainConfig,
    model: ModelConfig,
    inverse: np.ndarray,
    best: np.ndarray,
) -> dict[str, np.ndarray]:
    """The kept seed's snapshots: ``step`` (k,), ``W`` (C, k, m, n), ``b`` (C, k, n) and, untied,
    ``W_dec`` (C, k, n, m); an empty dict without snapshot steps."""
    steps = training.snapshot_steps
    if not steps:
        return {}
    n, m, k = model.n_features, model.n_hidden, len(steps)
    names = ["W", "b"] + ([] if model.tied else ["W_dec"])
    shapes = {"W": (m, n), "b": (n,), "W_dec": (n, m)}
    pieces: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for blk in blocks:
        flat = buffers[blk.index]
        assert flat is not None  # k > 0
        size = blk.stop - blk.start
        split = flat.split([size * m * n, size * n, flat.shape[1] - size * (m * n + n)], dim=1)
        for name, part in zip(names, split):
            pieces[name].append(part.reshape(k, size, *shapes[name]).cpu().numpy())
    n_configs, n_seeds = best.size, training.n_seeds
    rows = np.arange(n_configs)
    out: dict[str, np.ndarray] = {"step": np.asarray(steps, dtype=np.int64)}
    for name in names:
        every = np.concatenate(pieces[name], axis=1)[:, inverse]  # (k, C·seeds, ...)
        every = every.reshape(k, n_configs, n_seeds, *shapes[name])[:, rows, best]
        out[name] = np.moveaxis(every, 0, 1)  # (C, k, ...)
    return out
