"""The least loss a toy model can reach without superposition, and its dense limit.

A model uses *no superposition* when the non-zero columns of ``W`` (shape ``(m, n)``) are pairwise
orthogonal. For the ReLU-output model ``x' = ReLU(WᵀWx + b)`` and the linear model ``x' = WᵀWx + b``
every output then depends on its own feature only, at most ``m`` features are represented, and the
least expected loss is the sum of the ``n − m`` smallest per-feature scores ``I_i Var(x_i)``,
``Var(x_i) = p_i/3 − p_i²/4``. The bound is attained (``no_superposition_solution``) and, for
independent features, equals the optimum of the linear model (``theory.linear``). Derivation and the
exact scope of the null hypothesis: docs/theory_bounds.md §2 (paper: "Demonstrating Superposition",
"Basic Results").

Loss convention: ``L = E[Σ_i I_i (x_i − x'_i)²]``, summed over features, mean over examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._validation import check_density, check_importance, check_memory, check_positive_int

__all__ = [
    "dense_relu_loss",
    "feature_variance",
    "no_superposition_loss",
    "no_superposition_solution",
    "represented_features",
]

FloatArray = NDArray[np.float64]


def feature_variance(density: Any) -> FloatArray:
    """``Var(x) = p/3 − p²/4`` for ``x = 0`` w.p. ``1 − p`` else ``Uniform[0, 1]``.

    ``density``: any shape, values in (0, 1]. Returns the same shape. Not monotone in ``p``: it
    peaks at ``p = 2/3`` (value 1/9) and falls to 1/12 at ``p = 1``.
    """
    p = check_density("density", density)
    return p / 3 - p**2 / 4


def _scores(importance: Any, density: Any) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validated ``(importance, density, I·Var x)``, all broadcast to shape ``(..., n)``.

    ``density`` may be a scalar (shared by every feature) or broadcast against ``importance``.
    """
    imp = check_importance("importance", importance)
    p = check_density("density", density)
    if imp.ndim == 0:
        raise ValueError(
            f"importance must have a feature axis (shape (..., n_features)), got the scalar {imp!r}"
        )
    try:
        shape = np.broadcast_shapes(imp.shape, p.shape)
    except ValueError:
        raise ValueError(
            f"density must be a scalar or broadcast against importance of shape {imp.shape} "
            f"(one density per feature), got density of shape {p.shape}"
        ) from None
    if shape[-1] != imp.shape[-1]:
        raise ValueError(
            f"density has {p.shape[-1]} entries on the feature axis but importance has "
            f"{imp.shape[-1]} features (density must be a scalar or have one entry per feature)"
        )
    imp = np.broadcast_to(imp, shape)
    p = np.broadcast_to(p, shape)
    return imp, p, imp * (p / 3 - p**2 / 4)


def _as_result(value: FloatArray) -> float | FloatArray:
    return float(value) if value.ndim == 0 else value


def represented_features(importance: Any, density: Any, m: int) -> NDArray[np.intp]:
    """Indices (sorted ascending) of the ``min(m, n)`` features with the largest ``I_i Var(x_i)``.

    ``importance``: shape ``(n,)``; ``density``: scalar or ``(n,)``. Ties are broken towards the
    lower index, so the result is deterministic; any tied choice reaches the same loss.
    """
    imp, _, score = _scores(importance, density)
    m = check_positive_int("m", m)
    if imp.ndim != 1:
        raise ValueError(f"importance must have shape (n_features,), got shape {imp.shape}")
    order = np.argsort(-score, kind="stable")  # stable: ties keep the lower index first
    return np.sort(order[:m])


def no_superposition_loss(importance: Any, density: Any, m: int) -> float | FloatArray:
    """Least expected loss of any model without superposition (docs/theory_bounds.md §2).

    ``min_{|T| ≤ m} Σ_{i ∉ T} I_i (p_i/3 − p_i²/4)``: the sum of the ``n − m`` smallest scores
    ``I_i Var(x_i)`` (zero when ``m ≥ n``).

    Args:
        importance: ``I_i ≥ 0``, shape ``(..., n)``; leading axes are a batch.
        density: ``p_i ∈ (0, 1]``, a scalar or broadcastable to ``importance``.
        m: number of hidden dimensions, a positive integer.

    Returns:
        A float for 1-D input, else an array of the batch shape ``(...)``.
    """
    _, _, score = _scores(importance, density)
    m = check_positive_int("m", m)
    n = score.shape[-1]
    if m >= n:
        return _as_result(np.zeros(score.shape[:-1]))
    smallest = np.sort(score, axis=-1)[..., : n - m]
    return _as_result(smallest.sum(axis=-1))


def no_superposition_solution(
    importance: Any, density: Any, m: int
) -> tuple[FloatArray, FloatArray]:
    """A model that attains ``no_superposition_loss``: ``(W, b)`` with shapes ``(m, n)``, ``(n,)``.

    The represented features (``represented_features``) get orthonormal columns ``W_i = e_k``
    (``k``-th hidden dimension in index order) and bias 0; the others get ``W_i = 0`` and
    ``b_i = E[x_i] = p_i/2``. Rows beyond ``n`` (when ``m > n``) are zero. The same ``(W, b)`` is
    optimal for the ReLU-output model (among models without superposition) and for the linear
    model (among all linear models), since ``b = (I − WᵀW) E[x]``.
    """
    imp, p, _ = _scores(importance, density)
    keep = represented_features(imp, p, m)
    n = imp.shape[-1]
    check_memory("m", m, 8.0 * m * n, "W of shape (m, n)")
    w = np.zeros((m, n))
    w[np.arange(keep.size), keep] = 1.0
    b = p / 2
    b[keep] = 0.0
    return w, b


def dense_relu_loss(importance: Any, m: int) -> float | FloatArray:
    """The dense (``p = 1``) value ``(1/12) Σ_{n − m smallest} I_i``.

    This is ``no_superposition_loss(importance, 1.0, m)``: exactly the optimum of the linear model
    and of the no-superposition models at ``p = 1``. The paper ("Basic Results") reports that dense
    ReLU-output models reach it (n=20, m=5, I=0.7^i gives 0.046463); it is an upper bound on the
    ReLU optimum, not always equal to it: with equal importances the ReLU model can do slightly
    better (docs/theory_bounds.md §2.4).
    """
    return no_superposition_loss(importance, 1.0, m)
