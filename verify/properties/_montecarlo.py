"""An independent Monte Carlo estimate of a toy model's expected loss (numpy only).

The suite does not trust a trainer's own loss estimate, nor toysup's samplers: it re-estimates
``L = E[Σ_i I_i (x_i − x'_i)²]`` with this small, separate implementation.

Variance reduction (exact, no bias): an example with no active feature (``x = 0``, probability
``q0 = Π_i (1 − p_i)``) has the deterministic loss ``L0 = Σ_i I_i act(b_i)²``, so only *active*
examples are sampled::

    L = q0 · L0 + (1 − q0) · E[loss | at least one feature active].

An active example is drawn by inversion of its first active feature J
(``P(J = j | active) = p_j Π_{i<j} (1 − p_i) / (1 − q0)``): features before J are zero, feature J
is ``Uniform[0, 1]``, features after J are drawn independently. At low density this removes the
rare-event skew that makes a plain mean's normal interval unreliable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

#: Examples per chunk (bounds memory at ``CHUNK × n`` floats per instance).
CHUNK = 8192


@dataclass(frozen=True)
class LossEstimate:
    """Per-instance estimate of the expected loss: ``mean`` (C,), its standard error ``stderr``
    (C,), the standard deviation ``sd_example`` (C,) of one example's loss (what a trainer's
    estimate on N examples would have as standard error ``sd_example / √N``), and ``n_samples``."""

    mean: Array
    stderr: Array
    sd_example: Array
    n_samples: int


def _activate(z: Array, activation: str) -> Array:
    return np.maximum(z, 0.0) if activation == "relu" else z


def _active_examples(density: Array, count: int, rng: np.random.Generator) -> Array:
    """``count`` examples conditioned on at least one active feature: (count, n)."""
    n = density.size
    with np.errstate(divide="ignore"):
        log_keep = np.cumsum(np.log1p(-density))  # log Π_{i≤j} (1 − p_i)
    cum = -np.expm1(log_keep)  # P(first active feature ≤ j), increasing, ends at 1 − q0
    first = np.searchsorted(cum, rng.random(count) * cum[-1], side="right")
    first = np.minimum(first, n - 1)  # guards the measure-zero draw u·(1 − q0) = cum[-1]
    cols = np.arange(n)
    on = rng.random((count, n)) < density  # independent activity after J
    on = np.where(cols[None, :] < first[:, None], False, on)
    on[np.arange(count), first] = True
    return np.where(on, rng.random((count, n)), 0.0)


def estimate_loss(
    W: Any,
    b: Any,
    density: Any,
    importance: Any,
    *,
    activation: str = "relu",
    n_samples: int = 32768,
    rng: np.random.Generator,
    reduction: str = "sum",
) -> LossEstimate:
    """Estimate the expected loss of each instance.

    Args:
        W: (C, m, n) weights (any array-like, torch tensors included; computed in float64).
        b: (C, n) biases.
        density: feature densities p ∈ (0, 1], broadcastable to (C, n).
        importance: importances I ≥ 0, broadcastable to (C, n).
        activation: ``"relu"`` (x' = ReLU(WᵀWx + b)) or ``"linear"``.
        n_samples: active examples per instance.
        rng: the numpy Generator to draw from (explicit, for reproducibility).
        reduction: ``"sum"`` over features (the paper's convention) or ``"mean"`` (divided by n).
    """
    W_ = _to_numpy(W)
    b_ = _to_numpy(b)
    if W_.ndim != 3 or b_.shape != (W_.shape[0], W_.shape[2]):
        raise ValueError(
            f"W must have shape (C, m, n) and b shape (C, n); got {W_.shape} and {b_.shape}"
        )
    C, _, n = W_.shape
    p = np.broadcast_to(np.asarray(density, dtype=np.float64), (C, n))
    imp = np.broadcast_to(np.asarray(importance, dtype=np.float64), (C, n))
    mean, stderr, sd = np.empty(C), np.empty(C), np.empty(C)
    for c in range(C):
        G = W_[c].T @ W_[c]  # (n, n)
        q0 = float(np.exp(np.sum(np.log1p(-p[c])))) if np.all(p[c] < 1) else 0.0
        zero_loss = float(np.sum(imp[c] * _activate(b_[c], activation) ** 2))
        total, total_sq, done = 0.0, 0.0, 0
        while done < n_samples:
            k = min(CHUNK, n_samples - done)
            x = _active_examples(p[c], k, rng)  # (k, n)
            out = _activate(x @ G + b_[c], activation)  # (k, n); G is symmetric
            loss = np.sum(imp[c] * (x - out) ** 2, axis=1)  # (k,)
            total += float(loss.sum())
            total_sq += float(np.sum(loss**2))
            done += k
        m_active = total / n_samples
        var_active = max(total_sq / n_samples - m_active**2, 0.0) * n_samples / (n_samples - 1)
        mean[c] = q0 * zero_loss + (1 - q0) * m_active
        stderr[c] = (1 - q0) * np.sqrt(var_active / n_samples)
        # One plain example's loss: a mixture of L0 (prob. q0) and an active example's loss.
        var_plain = (1 - q0) * (var_active + m_active**2) + q0 * zero_loss**2 - mean[c] ** 2
        sd[c] = np.sqrt(max(var_plain, 0.0))
    if reduction == "mean":
        mean, stderr, sd = mean / n, stderr / n, sd / n
    return LossEstimate(mean=mean, stderr=stderr, sd_example=sd, n_samples=n_samples)


def _to_numpy(value: Any) -> Array:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)
