"""Optimum of the linear toy model ``x' = WᵀWx + b`` (paper: "Demonstrating Superposition").

With ``A = WᵀW`` (``n × n``, positive semi-definite, rank ≤ m), the best bias for any ``W`` is
``b = (I − A) E[x]``, and the loss becomes ``tr(D_I (I − A) Σ (I − A))`` with
``Σ = diag(Var x_i)`` for independent features: importance-weighted PCA with a tied decoder. By
Eckart–Young the optimum keeps the ``m`` features with the largest ``I_i Var(x_i)``
(``Var x = p/3 − p²/4``), each with a unit column on its own hidden dimension, and loses
``Σ_{i outside} I_i Var(x_i)``. With equal densities this is "top-m by importance". Proof:
docs/theory_bounds.md §1.

Shapes: ``W`` is ``(m, n)`` (feature i's direction is the column ``W[:, i]``) or ``(..., m, n)``;
``b`` is ``(n,)`` or ``(..., n)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._validation import check_bounded, check_importance
from theory.bounds import _scores, no_superposition_loss, no_superposition_solution

__all__ = ["expected_loss", "optimal_loss", "optimal_solution"]

FloatArray = NDArray[np.float64]


def _one_model(importance: Any) -> None:
    imp = check_importance("importance", importance)
    if imp.ndim != 1:
        raise ValueError(f"importance must have shape (n_features,), got shape {imp.shape}")


def optimal_loss(importance: Any, density: Any, m: int) -> float:
    """Least expected loss of the linear model ``x' = WᵀWx + b``.

    ``Σ_{i ∉ top-m} I_i (p_i/3 − p_i²/4)``, top-m ranked by ``I_i Var(x_i)``; 0 when ``m ≥ n``.

    Args:
        importance: ``I_i ≥ 0``, shape ``(n,)``.
        density: ``p_i ∈ (0, 1]``, a scalar or shape ``(n,)``.
        m: hidden dimensions, a positive integer.
    """
    _one_model(importance)
    loss = no_superposition_loss(importance, density, m)
    return float(loss)


def optimal_solution(importance: Any, density: Any, m: int) -> tuple[FloatArray, FloatArray]:
    """An optimal ``(W, b)`` of the linear model, shapes ``(m, n)`` and ``(n,)``.

    ``W`` has a unit column ``e_k`` for each of the top-m features (by ``I_i Var x_i``, ties to
    the lower index) and zero columns elsewhere; ``b = (I − WᵀW) E[x]``, i.e. ``p_i/2`` for the
    dropped features and 0 for the kept ones. The optimum is unique up to ``W → QW`` (``Q``
    orthogonal) when the m-th and (m+1)-th scores differ and all scores are positive; with a tie
    any orthonormal basis of the tied features' span is optimal too.
    """
    _one_model(importance)
    return no_superposition_solution(importance, density, m)


def expected_loss(W: Any, b: Any, importance: Any, density: Any) -> float | FloatArray:
    """Exact expected loss ``E[Σ_i I_i (x_i − (WᵀWx + b)_i)²]`` of a linear model.

    From the first two moments: with ``R = I − WᵀW``, ``μ = p/2`` and ``S = E[xxᵀ]``
    (``S_ii = p_i/3``, ``S_ij = μ_i μ_j``), ``E[e_i²] = (R S Rᵀ)_ii − 2 b_i (Rμ)_i + b_i²``.

    Args:
        W: shape ``(..., m, n)``.
        b: shape ``(..., n)`` (broadcast against ``W``'s batch axes).
        importance: shape ``(n,)`` or broadcastable to ``(..., n)``.
        density: scalar, ``(n,)`` or broadcastable to ``(..., n)``.

    Returns:
        A float for a single model, else an array of the batch shape.
    """
    w = check_bounded("W", W)
    bias = check_bounded("b", b)
    imp, p, _ = _scores(importance, density)
    if w.ndim < 2:
        raise ValueError(f"W must have shape (..., m, n), got shape {w.shape}")
    n = w.shape[-1]
    if bias.ndim == 0 or bias.shape[-1] != n:
        raise ValueError(
            f"b must have shape (..., {n}) to match W of shape {w.shape}, got {bias.shape}"
        )
    if imp.shape[-1] != n:
        raise ValueError(
            f"importance must have {n} features to match W of shape {w.shape}, got {imp.shape}"
        )
    mu = p / 2  # (..., n)
    second = mu[..., :, None] * mu[..., None, :]  # (..., n, n)
    idx = np.arange(n)
    second[..., idx, idx] = p / 3
    r = np.eye(n) - np.swapaxes(w, -1, -2) @ w  # (..., n, n)
    rsr = np.einsum("...ij,...jk,...ik->...i", r, second, r)  # diag(R S Rᵀ), (..., n)
    r_mu = np.einsum("...ij,...j->...i", r, mu)  # (..., n)
    per_feature = rsr - 2 * bias * r_mu + bias**2
    loss = np.sum(imp * per_feature, axis=-1)
    return float(loss) if loss.ndim == 0 else loss
