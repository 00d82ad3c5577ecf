"""Per-example losses of one toy model on fresh samples, and a bound on their range.

Model (paper §"Demonstrating Superposition"): ``x' = f(WᵀW x + b)`` with ``f`` = ReLU or the
identity, ``W`` shape ``(m, n)``, ``b`` shape ``(n,)``. Per-example loss
``ℓ(x) = Σ_i I_i (x_i − x'_i)²`` (summed over features). Features: ``x_i = 0`` w.p. ``1 − p_i``
else ``Uniform[0, 1)``, independent per example and per feature.

At low density most examples are all-zero, with the known loss ``ℓ(0) = Σ_i I_i f(b_i)²``. So the
samples are drawn *conditionally on at least one active feature* (probability
``q = 1 − Π_i (1 − p_i)``) and ``E[ℓ] = (1 − q) ℓ(0) + q E[ℓ | active]`` (docs/statistics.md §1.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from theory.bounds import no_superposition_loss

FloatArray = NDArray[np.float64]

#: Rows per chunk when sampling, to bound memory (chunk × n float64 values, a few times).
CHUNK_ROWS = 1 << 16


def sample_features(density: FloatArray, n_samples: int, rng: np.random.Generator) -> FloatArray:
    """``x`` of shape ``(n_samples, n)`` for densities of shape ``(n,)``.

    One uniform ``u`` per entry: ``x = u / p`` if ``u < p`` else 0 (given ``u < p``, ``u / p`` is
    uniform on [0, 1)), the same trick as toysup's dense sampler.
    """
    u = rng.random((n_samples, density.size))
    return np.where(u < density, u / density, 0.0)


def active_probability(density: FloatArray) -> float:
    """``q = 1 − Π_i (1 − p_i)``, the probability that at least one feature is non-zero."""
    with np.errstate(divide="ignore"):
        return float(-np.expm1(np.sum(np.log1p(-density))))


def sample_active(density: FloatArray, n_samples: int, rng: np.random.Generator) -> FloatArray:
    """``x`` of shape ``(n_samples, n)`` drawn from the feature law conditioned on ``x ≠ 0``.

    The first active feature ``J`` has ``P(J = j) = Π_{i<j} (1 − p_i) · p_j / q``; it is drawn by
    inversion, ``x_J ~ Uniform[0, 1)``, features before ``J`` are 0 and those after ``J`` follow
    the unconditional law (independence). This is the law of ``x`` given ``x ≠ 0``.
    """
    n = density.size
    none_before = np.concatenate(([1.0], np.cumprod(1.0 - density)[:-1]))  # P(x_i = 0 for i < j)
    first = none_before * density  # (n,) ∝ P(J = j)
    cdf = np.cumsum(first) / np.sum(first)
    j = np.minimum(np.searchsorted(cdf, rng.random(n_samples), side="right"), n - 1)  # (N,)
    x = sample_features(density, n_samples, rng)
    x[np.arange(n)[None, :] < j[:, None]] = 0.0
    x[np.arange(n_samples), j] = rng.random(n_samples)
    return x


def zero_input_loss(b: FloatArray, importance: FloatArray, *, relu: bool) -> float:
    """``ℓ(0) = Σ_i I_i f(b_i)²``, the loss of the all-zero example."""
    out = np.maximum(b, 0.0) if relu else b
    return float(importance @ out**2)


def per_example_loss(
    gram: FloatArray, b: FloatArray, importance: FloatArray, x: FloatArray, *, relu: bool
) -> FloatArray:
    """``ℓ`` of shape ``(N,)`` for ``x`` of shape ``(N, n)`` and ``gram = WᵀW`` of shape ``(n, n)``."""
    out = x @ gram + b  # (N, n); gram is symmetric, so row j is (WᵀW x_j)ᵀ + bᵀ
    if relu:
        np.maximum(out, 0.0, out=out)
    return ((x - out) ** 2) @ importance


def loss_samples(
    W: FloatArray,
    b: FloatArray,
    density: FloatArray,
    importance: FloatArray,
    n_samples: int,
    rng: np.random.Generator,
    *,
    relu: bool,
    active: bool = False,
) -> FloatArray:
    """``n_samples`` i.i.d. per-example losses, shape ``(n_samples,)``, drawn in chunks.

    ``active=True``: conditionally on at least one active feature (:func:`sample_active`).
    """
    gram = W.T @ W
    out = np.empty(n_samples)
    draw = sample_active if active else sample_features
    for start in range(0, n_samples, CHUNK_ROWS):
        stop = min(n_samples, start + CHUNK_ROWS)
        x = draw(density, stop - start, rng)
        out[start:stop] = per_example_loss(gram, b, importance, x, relu=relu)
    return out


def loss_range(W: FloatArray, b: FloatArray, importance: FloatArray, *, relu: bool) -> float:
    """An upper bound ``U`` on the per-example loss over all ``x ∈ [0, 1]^n``.

    For feature i write ``x'_i = f(a t + b_i + r)`` with ``t = x_i``, ``a = G_ii = ‖W_i‖²`` and the
    interference ``r = Σ_{j≠i} G_ij x_j ∈ [r_lo, r_hi]``, ``r_lo = Σ_{j≠i} min(G_ij, 0)``,
    ``r_hi = Σ_{j≠i} max(G_ij, 0)``. Since ``f`` is monotone, ``t − x'_i`` is monotone in ``r`` and
    its square is largest at ``r ∈ {r_lo, r_hi}``; for fixed ``r`` it is piecewise linear in ``t``
    with one kink (where ``a t + b_i + r = 0``), so its square is largest at ``t ∈ {0, 1, kink}``.
    The maximum of each term is therefore exact, and ``U = Σ_i I_i max_i`` bounds the sum (it
    treats the features' worst cases as simultaneous, so it may exceed the true maximum).
    """
    gram = W.T @ W
    diag = np.diag(gram)
    off = gram - np.diag(diag)
    r_ends = np.stack(
        [np.minimum(off, 0.0).sum(axis=1), np.maximum(off, 0.0).sum(axis=1)]
    )  # (2, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        kink = np.where(diag > 0, -(b + r_ends) / diag, 0.0)  # (2, n)
    kink = np.clip(np.nan_to_num(kink), 0.0, 1.0)
    worst = np.zeros_like(diag)
    for t in (np.zeros_like(r_ends), np.ones_like(r_ends), kink):
        pre = diag * t + b + r_ends
        out = np.maximum(pre, 0.0) if relu else pre
        worst = np.maximum(worst, np.max((t - out) ** 2, axis=0))
    return float(worst @ importance)


@dataclass(frozen=True, eq=False)
class LossProblem:
    """One model and feature law, ready for the loss-bound test (validated arrays).

    ``W`` (m, n), ``b`` (n,), ``density`` (n,), ``importance`` (n,). Derived: ``bound`` ``B``,
    ``loss_range`` ``U``, ``active_probability`` ``q``, ``zero_loss`` ``ℓ(0)``, and
    ``conditional_bound = (B − (1 − q) ℓ(0)) / q``: ``E[ℓ] ≥ B`` iff
    ``E[ℓ | active] ≥ conditional_bound``.
    """

    W: FloatArray
    b: FloatArray
    density: FloatArray
    importance: FloatArray
    relu: bool

    @property
    def bound(self) -> float:
        return float(no_superposition_loss(self.importance, self.density, self.W.shape[0]))

    @property
    def loss_range(self) -> float:
        return loss_range(self.W, self.b, self.importance, relu=self.relu)

    @property
    def active_probability(self) -> float:
        return active_probability(self.density)

    @property
    def zero_loss(self) -> float:
        return zero_input_loss(self.b, self.importance, relu=self.relu)

    @property
    def conditional_bound(self) -> float:
        q = self.active_probability
        return (self.bound - (1 - q) * self.zero_loss) / q

    def unconditional(self, value: float) -> float:
        """``(1 − q) ℓ(0) + q · value``: a conditional mean (or bound) as an unconditional one."""
        q = self.active_probability
        return float((1 - q) * self.zero_loss + q * value)

    def sample(self, n_samples: int, rng: np.random.Generator) -> FloatArray:
        """``n_samples`` losses of examples with at least one active feature, shape (N,)."""
        return loss_samples(
            self.W,
            self.b,
            self.density,
            self.importance,
            n_samples,
            rng,
            relu=self.relu,
            active=True,
        )
