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
    """Per-instance Monte Carlo estimate of the expected loss, shapes (C,).

    Attributes:
        mean: the estimate of ``L``.
        halfwidth: ``|mean − L| ≤ halfwidth`` with probability ≥ 1 − ``delta`` (empirical
            Bernstein bound, Maurer & Pontil 2009, Thm 4; valid for any loss distribution bounded
            by ``value_range``, however skewed).
        value_range: an upper bound on one example's loss (:func:`max_example_loss`).
        sd_upper: an upper confidence bound (probability ≥ 1 − ``delta``) on the standard
            deviation of one *plain* example's loss (what a trainer averages).
        n_samples: active examples drawn per instance; ``delta``: the error probability used.
    """

    mean: Array
    halfwidth: Array
    value_range: Array
    sd_upper: Array
    n_samples: int
    delta: float

    def plain_halfwidth(self, n_examples: int) -> Array:
        """Half-width of a two-sided ``1 − delta`` interval for a plain average of
        ``n_examples`` examples' losses (a trainer's own estimate), by Bernstein's inequality
        with this estimate's ``sd_upper`` and ``value_range`` (no normal approximation: at low
        density the loss comes from rare examples and a normal interval is far too narrow)."""
        return bernstein_halfwidth(self.sd_upper, self.value_range, n_examples, self.delta)


def bernstein_halfwidth(sd: Any, value_range: Any, n: int, delta: float) -> Array:
    """Two-sided Bernstein half-width for the mean of ``n`` i.i.d. values in ``[0, value_range]``
    with standard deviation at most ``sd``: ``P(|mean − E| ≥ t) ≤ delta``."""
    log_term = np.log(2 / delta)
    a = np.asarray(value_range, dtype=np.float64) * log_term / 3
    return np.asarray((a + np.sqrt(a**2 + 2 * n * np.square(sd) * log_term)) / n)


def empirical_bernstein_halfwidth(sample_var: Any, value_range: Any, n: int, delta: float) -> Array:
    """Two-sided empirical Bernstein half-width (Maurer & Pontil 2009, Thm 4) for the mean of
    ``n`` i.i.d. values in ``[0, value_range]`` with unbiased sample variance ``sample_var``."""
    log_term = np.log(4 / delta)
    spread = np.sqrt(2 * np.asarray(sample_var) * log_term / n)
    return np.asarray(spread + 7 * np.asarray(value_range) * log_term / (3 * (n - 1)))


def max_example_loss(W: Array, b: Array, importance: Array, activation: str) -> Array:
    """An upper bound on one example's loss ``Σ_i I_i (x_i − x'_i)²`` over ``x ∈ [0, 1]^n``.

    Per feature, ``f = x_i − act(z)`` with ``z = (WᵀW x)_i + b_i``; the maxima of the linear
    forms ``z − x_i`` and ``x_i − z`` over the unit box are ``M2 = b_i + Σ_k (G − 1)⁺_ik`` and
    ``M1 = −b_i + Σ_k (1 − G)⁺_ik``. ReLU: ``f ≤ min(x_i, x_i − z)`` and
    ``−f = max(z − x_i, −x_i)``, so ``|f| ≤ max(min(1, M1), M2, 0)``; linear: ``max(M1, M2)``.
    Shapes: W (C, m, n), b (C, n), importance (C, n) -> (C,).
    """
    G = np.swapaxes(W, -1, -2) @ W  # (C, n, n)
    A = G - np.eye(G.shape[-1])
    m2 = b + np.clip(A, 0, None).sum(-1)
    m1 = -b + np.clip(-A, 0, None).sum(-1)
    if activation == "relu":
        worst = np.maximum(np.maximum(np.minimum(1.0, m1), m2), 0.0)
    else:
        worst = np.maximum(np.maximum(m1, m2), 0.0)
    return np.asarray(np.sum(importance * worst**2, axis=-1))


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
    delta: float = 1e-6,
    reduction: str = "sum",
) -> LossEstimate:
    """Estimate the expected loss of each instance, with a rigorous error bound.

    Args:
        W: (C, m, n) weights (any array-like, torch tensors included; computed in float64).
        b: (C, n) biases.
        density: feature densities p ∈ (0, 1], broadcastable to (C, n).
        importance: importances I ≥ 0, broadcastable to (C, n).
        activation: ``"relu"`` (x' = ReLU(WᵀWx + b)) or ``"linear"``.
        n_samples: active examples per instance (at least 2).
        rng: the numpy Generator to draw from (explicit, for reproducibility).
        delta: error probability of each instance's ``halfwidth`` and ``sd_upper``.
        reduction: ``"sum"`` over features (the paper's convention) or ``"mean"`` (divided by n).
    """
    W_ = to_numpy(W)
    b_ = to_numpy(b)
    if W_.ndim != 3 or b_.shape != (W_.shape[0], W_.shape[2]):
        raise ValueError(
            f"W must have shape (C, m, n) and b shape (C, n); got {W_.shape} and {b_.shape}"
        )
    if activation not in ("relu", "linear"):
        raise ValueError(f"activation must be 'relu' or 'linear', got {activation!r}")
    C, _, n = W_.shape
    p = np.broadcast_to(np.asarray(density, dtype=np.float64), (C, n))
    imp = np.broadcast_to(np.asarray(importance, dtype=np.float64), (C, n))
    value_range = max_example_loss(W_, b_, imp, activation)
    mean, halfwidth, sd_upper = np.empty(C), np.empty(C), np.empty(C)
    for c in range(C):
        G = W_[c].T @ W_[c]  # (n, n)
        q0 = 0.0 if np.any(p[c] >= 1) else float(np.exp(np.sum(np.log1p(-p[c]))))
        zero_loss = float(np.sum(imp[c] * _activate(b_[c], activation) ** 2))
        sums = np.zeros(3)  # Σ L, Σ L², Σ L⁴ over active examples
        done = 0
        while done < n_samples:
            k = min(CHUNK, n_samples - done)
            x = _active_examples(p[c], k, rng)  # (k, n)
            out = _activate(x @ G + b_[c], activation)  # (k, n); G is symmetric
            loss = np.sum(imp[c] * (x - out) ** 2, axis=1)  # (k,)
            sums += [loss.sum(), (loss**2).sum(), (loss**4).sum()]
            done += k
        N = n_samples
        m1, m2 = sums[0] / N, sums[1] / N
        var1 = max(m2 - m1**2, 0.0) * N / (N - 1)  # sample variance of L
        var2 = max(sums[2] / N - m2**2, 0.0) * N / (N - 1)  # sample variance of L²
        R = float(value_range[c])
        mean[c] = q0 * zero_loss + (1 - q0) * m1
        halfwidth[c] = (1 - q0) * empirical_bernstein_halfwidth(var1, R, N, delta / 2)
        # Var(plain example) = E[L²] − E[L]², with E[L²] bounded above and E[L] below.
        m2_upper = m2 + empirical_bernstein_halfwidth(var2, R**2, N, delta / 2)
        second = (1 - q0) * m2_upper + q0 * zero_loss**2
        first = max(mean[c] - halfwidth[c], 0.0)
        sd_upper[c] = np.sqrt(max(second - first**2, 0.0))
    scale = 1 / n if reduction == "mean" else 1.0
    return LossEstimate(
        mean=mean * scale,
        halfwidth=halfwidth * scale,
        value_range=value_range * scale,
        sd_upper=sd_upper * scale,
        n_samples=n_samples,
        delta=delta,
    )


def to_numpy(value: Any) -> Array:
    """A float64 numpy copy of an array-like (torch tensors on any device included)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)
