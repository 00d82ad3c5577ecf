"""Feature dimensionality and the uniform polytopes of superposition (paper: "The Geometry of
Superposition").

Feature dimensionality of feature ``i`` (column ``W_i`` of ``W``, shape ``(m, n)``)::

    D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)²      (j = i included; D_i = 0 for a zero column)

and the model's dimensions per feature ``D* = m / ‖W‖²_F``. For a unit-norm tight frame of ``N``
vectors in ``d`` dimensions every ``D_i = d/N``: digon 1/2, triangle 2/3, tetrahedron 3/4,
pentagon 2/5, square antiprism 3/8, a dedicated feature 1. In general ``Σ_i D_i ≤ rank W ≤ m``,
with equality exactly for frames that are tight on their span (docs/theory_bounds.md §4).

``D_i`` is invariant under ``W → QW`` (``Q`` orthogonal), ``W → cW`` (``c ≠ 0``), column sign
flips, and permutes with the columns. It is *not* invariant when one column alone is rescaled:
``D_i = 1 / (1 + Σ_{j≠i} (Ŵ_i · Ŵ_j)² ‖W_j‖² / ‖W_i‖²)`` grows with ``‖W_i‖`` relative to the
others. ``D*`` is not scale-invariant at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._validation import (
    check_finite,
    check_finite_scalar,
    check_memory,
    check_positive_int,
)

__all__ = [
    "POLYTOPE_DIMENSIONALITY",
    "dedicated",
    "digon",
    "dimensions_per_feature",
    "feature_dimensionality",
    "harmonic_frame",
    "pentagon",
    "regular_polygon",
    "square_antiprism",
    "tetrahedron",
    "tight_frame_dimensionality",
    "triangle",
]

FloatArray = NDArray[np.float64]

POLYTOPE_DIMENSIONALITY: dict[str, float] = {
    "dedicated": 1.0,
    "digon": 1 / 2,
    "triangle": 2 / 3,
    "tetrahedron": 3 / 4,
    "pentagon": 2 / 5,
    "square_antiprism": 3 / 8,
}
"""``D_i`` of every vertex of each configuration built by this module (``d/N``)."""


def _check_w(W: Any) -> FloatArray:
    w = check_finite("W", W)
    if w.ndim < 2:
        raise ValueError(f"W must have shape (..., m, n) (hidden × features), got shape {w.shape}")
    if w.shape[-1] == 0 or w.shape[-2] == 0:
        raise ValueError(f"W must have at least one row and one column, got shape {w.shape}")
    return w


def feature_dimensionality(W: Any) -> FloatArray:
    """``D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)²`` for every feature: shape ``(..., n)`` from ``(..., m, n)``.

    Zero columns (all entries exactly 0) get 0. Computed as ``1 / Σ_j (Ŵ_i · W_j / ‖W_i‖)²`` after
    scaling ``W`` by its largest entry (``D`` is invariant under global scaling), which avoids
    under- and overflow: a column far smaller than another it overlaps gets ``D_i → 0``.
    """
    w = _check_w(W)
    scale = np.max(np.abs(w), axis=(-2, -1), keepdims=True)
    w = w / np.where(scale > 0, scale, 1.0)
    colmax = np.max(np.abs(w), axis=-2)  # (..., n); the norm below is scaled so it cannot underflow
    nonzero = colmax > 0
    norms = colmax * np.linalg.norm(w / np.where(nonzero, colmax, 1.0)[..., None, :], axis=-2)
    safe = np.where(nonzero, norms, 1.0)
    unit = w / safe[..., None, :]  # Ŵ, columns (..., m, n)
    overlap = np.swapaxes(unit, -1, -2) @ w  # (Ŵ_i · W_j), (..., n, n)
    ratio = overlap / safe[..., :, None]  # row i divided by ‖W_i‖; diagonal = 1
    with np.errstate(over="ignore"):
        total = np.sum(ratio**2, axis=-1)  # (..., n), >= 1 for non-zero columns
    return np.where(nonzero, 1.0 / np.where(nonzero, total, 1.0), 0.0)


def dimensions_per_feature(W: Any) -> float | FloatArray:
    """``D* = m / ‖W‖²_F`` (the paper's "dimensions per feature"): a float, or shape ``(...)``.

    ``inf`` for ``W = 0``. Depends on the scale of ``W``: a pentagon of radius ``ρ`` gives
    ``2 / (5ρ²)`` while each of its ``D_i`` stays 2/5.
    """
    w = _check_w(W)
    m = w.shape[-2]
    frob = np.sum(w**2, axis=(-2, -1))
    with np.errstate(divide="ignore"):
        out = np.where(frob > 0, m / np.where(frob > 0, frob, 1.0), np.inf)
    return float(out) if out.ndim == 0 else out


def tight_frame_dimensionality(n_vectors: int, dim: int) -> float:
    """``d / N``: the ``D_i`` of every vector of a unit-norm tight frame of ``N`` vectors in ``R^d``.

    Such a frame exists exactly when ``N ≥ d`` (``harmonic_frame`` builds one).
    """
    n_vectors = check_positive_int("n_vectors", n_vectors)
    dim = check_positive_int("dim", dim)
    if n_vectors < dim:
        raise ValueError(
            f"a tight frame needs at least as many vectors as dimensions: got n_vectors="
            f"{n_vectors} < dim={dim}"
        )
    return dim / n_vectors


# --- constructors: each returns W of shape (d, N), unit columns -------------------------------


def dedicated(dim: int = 1) -> FloatArray:
    """One feature with its own hidden dimension: ``W = e_1 ∈ R^dim``, shape ``(dim, 1)``; D = 1."""
    dim = check_positive_int("dim", dim)
    check_memory("dim", dim, 8.0 * dim, "W of shape (dim, 1)")
    w = np.zeros((dim, 1))
    w[0, 0] = 1.0
    return w


def digon() -> FloatArray:
    """Antipodal pair in 1-D: ``W = [[1, −1]]``, shape ``(1, 2)``; D = 1/2."""
    return np.array([[1.0, -1.0]])


def regular_polygon(n_vertices: int, *, radius: float = 1.0) -> FloatArray:
    """Vertices ``radius·(cos 2πk/N, sin 2πk/N)``, shape ``(2, N)``; ``D_i = 2/N`` for ``N ≥ 3``.

    ``N = 2`` gives a digon embedded in 2-D (D = 1/2, rank 1).
    """
    n_vertices = check_positive_int("n_vertices", n_vertices)
    if n_vertices < 2:
        raise ValueError(f"n_vertices must be at least 2, got {n_vertices}")
    rho = check_finite_scalar("radius", radius)
    if rho <= 0:
        raise ValueError(f"radius must be > 0, got {radius!r}")
    check_memory("n_vertices", n_vertices, 32.0 * n_vertices, "the vertices")
    angle = 2 * np.pi * np.arange(n_vertices) / n_vertices
    return rho * np.stack([np.cos(angle), np.sin(angle)])


def triangle() -> FloatArray:
    """Equilateral triangle in 2-D, shape ``(2, 3)``; D = 2/3."""
    return regular_polygon(3)


def pentagon(*, radius: float = 1.0) -> FloatArray:
    """Regular pentagon in 2-D, shape ``(2, 5)``; D = 2/5 for every radius."""
    return regular_polygon(5, radius=radius)


def tetrahedron() -> FloatArray:
    """Regular tetrahedron in 3-D, ``(±1, ±1, ±1)/√3`` with an even number of minus signs,
    shape ``(3, 4)``; D = 3/4."""
    v = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64)
    return v.T / np.sqrt(3)


def square_antiprism(*, height: float | None = None) -> FloatArray:
    """Square antiprism on the unit sphere, shape ``(3, 8)``.

    Two squares at ``z = ±h`` (radius ``√(1 − h²)``), the lower one turned by 45°. The default
    ``h = 1/√3`` is the one height at which the eight vectors form a tight frame, so D = 3/8
    exactly. The *uniform* antiprism (all edges equal, ``h² = 1/(1 + 2√2)``) is not tight: its
    vertices all have D ≈ 0.3664 < 3/8.
    """
    h = 1 / np.sqrt(3) if height is None else check_finite_scalar("height", height)
    if not 0 < h < 1:
        raise ValueError(f"height must lie in (0, 1) (points on the unit sphere), got {height!r}")
    rho = np.sqrt(1 - h**2)
    top = np.pi / 2 * np.arange(4)
    bottom = top + np.pi / 4
    angle = np.concatenate([top, bottom])
    z = np.concatenate([np.full(4, h), np.full(4, -h)])
    return np.stack([rho * np.cos(angle), rho * np.sin(angle), z])


def harmonic_frame(n_vectors: int, dim: int) -> FloatArray:
    """A unit-norm tight frame of ``N`` vectors in ``R^d`` (``N ≥ d``), shape ``(d, N)``.

    The real harmonic frame: vector ``k`` has coordinates ``√(2/d)(cos 2πjk/N, sin 2πjk/N)`` for
    ``j = 1 … ⌊d/2⌋`` and, for odd ``d``, a constant ``1/√d``; ``N = d`` gives the identity.
    Every ``D_i`` is ``d/N``.
    """
    d_over_n = tight_frame_dimensionality(n_vectors, dim)  # validates N >= d
    del d_over_n
    check_memory("n_vectors", n_vectors, 16.0 * n_vectors * dim, "the frame of shape (d, N)")
    if n_vectors == dim:
        return np.eye(dim)
    k = np.arange(n_vectors)
    rows = []
    if dim % 2 == 1:
        rows.append(np.full(n_vectors, 1 / np.sqrt(dim)))
    for j in range(1, dim // 2 + 1):
        angle = 2 * np.pi * j * k / n_vectors
        rows += [np.sqrt(2 / dim) * np.cos(angle), np.sqrt(2 / dim) * np.sin(angle)]
    return np.stack(rows)
