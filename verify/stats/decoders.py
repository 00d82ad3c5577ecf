"""Held-out linear decoding of features from hidden activations, with exact permutation p-values.

Shapes: ``hidden`` ``(N, m)``, ``features`` ``(N, n)``. Rows are split once into a training part
(fit) and a test part (evaluate). For feature i, ordinary least squares with intercept on the
training rows gives ``x̂_i = β_0i + h β_i``; on the test rows the statistic is the centred inner
product

    T_i = Σ_j (x̂_ji − mean x̂_i)(x_ji − mean x_i) = Σ_j (h_j · β_i) (x_ji − mean x_i),

i.e. the held-out correlation times a permutation-invariant scale. If ``x_i`` is independent of
``h`` and rows are i.i.d., then conditionally on the training rows and on the test ``h``'s, the
test values of ``x_i`` are i.i.d. and independent of the predictions, so every permutation of the
test rows is equally likely and the Monte Carlo permutation p-value
``(1 + #{π : T_i(π) ≥ T_i}) / (P + 1)`` is exact (super-uniform). One draw of permutations is
shared by all features (each p-value is still exact marginally, which is all Holm needs).

Early stopping (Besag & Clifford 1991, *Sequential Monte Carlo p-values*, Biometrika 78): a
feature stops once ``stop_after`` permutations reach its statistic; after ``L`` permutations its
p-value is ``stop_after / L``, also exact. Null features stop after ~``stop_after / p`` draws, so
the cost is dominated by the decodable ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: Entries of one batch of permuted hidden rows ``(batch, N_test, m)``, to bound memory.
_BATCH_ENTRIES = 1 << 21


@dataclass(frozen=True)
class Fit:
    """Least-squares decoders and their held-out quality; arrays over features, shape (n,)."""

    coef: FloatArray  # (m + 1, n): intercept row, then one row per hidden unit
    statistic: FloatArray  # (n,) T_i on the test rows
    correlation: FloatArray  # (n,) held-out Pearson correlation of x̂_i and x_i
    r2: FloatArray  # (n,) held-out R² = 1 − SSE / SST (can be negative)


def fit_decoders(
    h_train: FloatArray, x_train: FloatArray, h_test: FloatArray, x_test: FloatArray
) -> Fit:
    """OLS with intercept on the training rows, evaluated on the test rows."""
    design = np.column_stack([np.ones(h_train.shape[0]), h_train])
    # (m + 1, n); the minimum-norm solution if the design is rank-deficient
    solution, *_ = np.linalg.lstsq(design, x_train, rcond=None)
    coef = np.asarray(solution, dtype=np.float64)
    pred = coef[0] + h_test @ coef[1:]  # (N_test, n)
    xc = x_test - x_test.mean(axis=0)
    pc = pred - pred.mean(axis=0)
    statistic = _statistic(h_test, xc, coef[1:])
    norms = np.linalg.norm(pc, axis=0) * np.linalg.norm(xc, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = np.where(norms > 0, np.sum(pc * xc, axis=0) / norms, 0.0)
        sst = np.sum(xc**2, axis=0)
        sse = np.sum((x_test - pred) ** 2, axis=0)
        r2 = np.where(sst > 0, 1.0 - sse / sst, 0.0)
    return Fit(coef, statistic, correlation, r2)


def _statistic(h: FloatArray, xc: FloatArray, beta: FloatArray) -> FloatArray:
    """``T_i = Σ_j (h_j · β_i) xc_ji`` for ``h`` (N, m), ``xc`` (N, a), ``beta`` (m, a)."""
    return np.einsum("ka,ka->a", h.T @ xc, beta)


def permutation_p_values(
    h_test: FloatArray,
    x_test: FloatArray,
    fit: Fit,
    *,
    n_permutations: int,
    stop_after: int,
    rng: np.random.Generator,
) -> tuple[FloatArray, NDArray[np.int64]]:
    """One-sided permutation p-values ``(n,)`` and the number of permutations each used ``(n,)``."""
    n_test, n = x_test.shape
    xc = x_test - x_test.mean(axis=0)
    beta = fit.coef[1:]
    observed = _statistic(h_test, xc, beta)
    # Ties (e.g. a feature that is constant on the test rows gives T ≡ 0) count as exceedances:
    # conservative, and the tolerance absorbs rounding differences between orderings.
    tol = 1e-10 * np.linalg.norm(h_test @ beta, axis=0) * np.linalg.norm(xc, axis=0)
    exceed = np.zeros(n, dtype=np.int64)
    used = np.full(n, n_permutations, dtype=np.int64)
    stopped = np.zeros(n, dtype=bool)
    batch = max(1, min(n_permutations, _BATCH_ENTRIES // max(1, n_test * h_test.shape[1])))
    done = 0
    base = np.broadcast_to(np.arange(n_test), (batch, n_test))
    while done < n_permutations and not stopped.all():
        size = min(batch, n_permutations - done)
        perms = rng.permuted(base[:size], axis=1)  # (size, N_test)
        active = np.flatnonzero(~stopped)
        hp = h_test[perms]  # (size, N_test, m)
        moments = np.swapaxes(hp, 1, 2) @ xc[:, active]  # (size, m, a)
        t_perm = np.einsum("bka,ka->ba", moments, beta[:, active])  # (size, a)
        hits = t_perm >= (observed[active] - tol[active])
        running = exceed[active][None, :] + np.cumsum(hits, axis=0)  # (size, a)
        reached = running >= stop_after
        now = reached.any(axis=0)
        first = np.argmax(reached, axis=0)  # index of the permutation that reached stop_after
        stop_idx = active[now]
        used[stop_idx] = done + first[now] + 1
        exceed[stop_idx] = stop_after
        stopped[stop_idx] = True
        exceed[active[~now]] = running[-1, ~now]
        done += size
    p = np.where(stopped, stop_after / used, (1.0 + exceed) / (n_permutations + 1.0))
    return np.minimum(p, 1.0), used


def holm_adjust(p: FloatArray) -> FloatArray:
    """Holm's step-down adjusted p-values (shape (n,)): FWER ≤ α under any dependence.

    With ``p_(1) ≤ … ≤ p_(n)``: ``p̃_(k) = max_{j ≤ k} min(1, (n − j + 1) p_(j))``.
    """
    n = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (n - np.arange(n)) * p[order])
    adjusted = np.empty(n)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted
