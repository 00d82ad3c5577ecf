"""Regular k-gons in two hidden dimensions: the uniform-superposition "energy levels".

Elhage et al. (2022), "The Geometry of Superposition" (§"Feature Dimensionality", uniform
superposition): with equally important features of equal density, the model stores k features
in m = 2 dimensions as a regular k-gon, and the number it stores jumps as density falls. Here the
regular k-gon of radius ρ with a shared bias β,

    W = ρ [cos 2πj/k, sin 2πj/k]_{j<k}  (2 × k),   b = β·1,

is evaluated exactly through :mod:`theory.landscape` (importance 1, density p for every feature),
its radius and bias optimised per density, its loss expanded as p → 0 in closed form (sympy), and
the best k chosen for n features (the k-gon plus n − k dropped features at their best bias p/2).
Derivations and tables: docs/kgon.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import sympy as sp
from numpy.typing import NDArray
from scipy.optimize import minimize

from theory._validation import check_density, check_finite, check_positive_int
from theory.landscape import MAX_EXACT_FEATURES, expected_loss, expected_loss_and_grad

__all__ = [
    "KGonChoice",
    "KGonLeadingOrder",
    "KGonOptimum",
    "kgon_leading_order",
    "kgon_loss",
    "kgon_optimum",
    "kgon_weights",
    "optimal_kgon",
]

Array = NDArray[np.float64]


def _check_k(k: Any) -> int:
    k = check_positive_int("k", k)
    if not 3 <= k <= MAX_EXACT_FEATURES:
        raise ValueError(
            f"k must be between 3 and {MAX_EXACT_FEATURES} (a polygon evaluated exactly), got {k}"
        )
    return k


def kgon_weights(k: int, radius: Any = 1.0) -> Array:
    """W of the regular k-gon: (..., 2, k) for ``radius`` of shape (...); column j at angle 2πj/k."""
    k = _check_k(k)
    rho = check_finite("radius", radius)
    angle = 2 * np.pi * np.arange(k) / k
    unit = np.stack([np.cos(angle), np.sin(angle)])  # (2, k)
    return rho[..., None, None] * unit


def _prepared(k: int, density: Any, radius: Any, bias: Any) -> tuple[Array, Array, Array]:
    p = check_density("density", density)
    rho = check_finite("radius", radius)
    beta = check_finite("bias", bias)
    try:
        return np.broadcast_arrays(p, rho, beta)  # type: ignore[return-value]
    except ValueError as exc:
        raise ValueError(
            f"density, radius and bias must broadcast together, got shapes {p.shape}, "
            f"{rho.shape} and {beta.shape}"
        ) from exc


def kgon_loss(k: int, density: Any, radius: Any, bias: Any) -> Array:
    """Exact loss of the regular k-gon (all k features, importance 1, density p): shape (...).

    ``density``, ``radius``, ``bias`` broadcast. By the polygon's symmetry (rotating by 2π/k
    permutes the features and leaves WᵀW invariant) every feature loses the same, so only
    feature 0's terms are computed and multiplied by k.
    """
    k = _check_k(k)
    p, rho, beta = _prepared(k, density, radius, bias)
    w = kgon_weights(k, rho)
    b = np.broadcast_to(beta[..., None], (*beta.shape, k))
    return k * np.asarray(expected_loss(w, b, p[..., None], 1.0, features=(0,)))


def _loss_and_grad(k: int, p: float, theta: Array) -> tuple[float, Array]:
    """Loss and (∂/∂ρ, ∂/∂β) at θ = (ρ, β) for one density (exact)."""
    rho, beta = float(theta[0]), float(theta[1])
    w = kgon_weights(k, rho)
    loss, g_w, g_b = expected_loss_and_grad(w, np.full(k, beta), p, 1.0, features=(0,))
    d_rho = float(np.sum(g_w * w)) / rho if rho != 0 else 0.0
    return k * float(loss), k * np.array([d_rho, float(np.sum(g_b))])


@dataclass(frozen=True)
class KGonOptimum:
    """The best radius and bias of the regular k-gon at each density (shapes (D,)).

    ``loss``: the k features' total loss there; ``loss_per_feature`` = ``loss / k``.
    """

    k: int
    density: Array
    radius: Array
    bias: Array
    loss: Array

    @property
    def loss_per_feature(self) -> Array:
        return self.loss / self.k


def kgon_optimum(k: int, density: Any) -> KGonOptimum:
    """Optimal (ρ, β) of the regular k-gon per density (1-D ``density``), exact loss.

    Minimised by L-BFGS-B with the exact gradient from three starts — (1, 0); (1, −cos(2π/k)),
    the bias that silences the nearest neighbours' interference; (0.9, 0.3), the dense regime —
    keeping the lowest loss.
    """
    k = _check_k(k)
    p = check_density("density", density)
    if p.ndim != 1:
        raise ValueError(f"density must be 1-D, got shape {p.shape}")
    starts = [(1.0, 0.0), (1.0, -np.cos(2 * np.pi / k)), (0.9, 0.3)]
    radius, bias, loss = np.empty(p.size), np.empty(p.size), np.empty(p.size)
    for idx, pi in enumerate(p):
        best: tuple[float, Array] | None = None
        for start in starts:
            theta0 = np.array(start)
            # L-BFGS-B's stopping rules are absolute below 1: work with L / L(start) ~ 1.
            unit = max(_loss_and_grad(k, float(pi), theta0)[0], 1e-300)

            def scaled(th: Array, pi: float = float(pi), unit: float = unit) -> tuple[float, Array]:
                value, grad = _loss_and_grad(k, pi, th)
                return value / unit, grad / unit

            res = minimize(
                scaled,
                theta0,
                jac=True,
                method="L-BFGS-B",
                bounds=[(1e-6, 10.0), (-10.0, 10.0)],
                options={"ftol": 1e-15, "gtol": 1e-13, "maxiter": 1000},
            )
            if best is None or res.fun * unit < best[0]:
                best = (float(res.fun * unit), res.x)
        assert best is not None
        loss[idx] = best[0]
        radius[idx], bias[idx] = best[1]
    return KGonOptimum(k=k, density=p.copy(), radius=radius, bias=bias, loss=loss)


# ---------------------------------------------------------------- p → 0 in closed form


@dataclass(frozen=True)
class KGonLeadingOrder:
    """L*(p) = ``coefficient`` · p^``order`` + O(p^(order+1)) for the optimal k-gon as p → 0.

    ``radius``, ``bias``: the limits of the optimal (ρ, β) as p → 0. ``per_feature``: the sympy
    expression whose minimum (over a = ρ², β) is the first-order coefficient per feature
    (order 1), or the exact rational second-order coefficient (order 2, k = 3, 4).
    """

    k: int
    order: int
    coefficient: float
    radius: float
    bias: float
    per_feature: sp.Expr


_A, _BETA, _U, _V = sp.symbols("a beta u v", real=True)


@cache
def kgon_leading_order(k: int) -> KGonLeadingOrder:
    """The leading term of the optimal k-gon's loss as p → 0 (derivation: docs/kgon.md).

    To first order in p only patterns with one active feature matter: feature 0 alone loses
    own(a, β) = E[(u − R(a u + β))²] and each other feature j loses E[R(a cos θ_j u + β)²]
    (a = ρ², θ_j = 2πj/k); the empty pattern forces β <= 0 (it costs R(β)² at order p⁰).
    For k = 3, 4 every cos θ_j <= 0, so (a, β) = (1, 0) makes the first order vanish and the
    leading term is p² Σ_{i<j} 2 E[(u − R(u + cos θ_ij v))²] (pairs of active features). For
    k >= 5 the nearest neighbours interfere (cos 2π/k > 0) and the leading term is p · k · c_k,
    c_k = min over (a, β) of the first-order loss per feature, found from the stationarity
    equations of each piece (which neighbours leak through the bias) in sympy/mpmath.
    """
    k = _check_k(k)
    cosines = [sp.cos(2 * sp.pi * j / k) for j in range(1, k)]
    a, beta, u = _A, _BETA, _U
    if k <= 4:
        pair_terms = []
        for i in range(k):
            for j in range(i + 1, k):
                c = sp.nsimplify(sp.cos(2 * sp.pi * (j - i) / k))
                pair_terms.append(2 * _pair_own_error(c))
        coef = sp.nsimplify(sum(pair_terms))
        return KGonLeadingOrder(
            k=k, order=2, coefficient=float(coef), radius=1.0, bias=0.0, per_feature=coef
        )
    # −a < β <= 0: feature 0 alone is active for u > −β/a.
    t0 = -beta / a
    own = sp.integrate(u**2, (u, 0, t0)) + sp.integrate(((1 - a) * u - beta) ** 2, (u, t0, 1))
    positive = sorted({sp.nsimplify(c) for c in cosines if float(c) > 0}, key=float, reverse=True)
    multiplicity = {c: sum(1 for d in cosines if sp.nsimplify(d) == c) for c in positive}
    best: tuple[float, float, float, sp.Expr] | None = None
    for leak in range(len(positive) + 1):
        # Neighbours with cos >= positive[leak - 1] leak through: a c + β > 0.
        f = own
        for c in positive[:leak]:
            f += multiplicity[c] * (a * c + beta) ** 3 / (3 * a * c)
        f = sp.simplify(f)
        lo = -a * positive[leak - 1] if leak else -a  # β range of this piece
        hi = -a * positive[leak] if leak < len(positive) else sp.Integer(0)
        for guess in ((1.0, -0.5 * float(positive[0])), (1.1, -0.8 * float(positive[0]))):
            try:
                sol = sp.nsolve([sp.diff(f, a), sp.diff(f, beta)], [a, beta], guess, prec=30)
            except (ValueError, ZeroDivisionError):
                continue
            a_s, b_s = float(sol[0]), float(sol[1])
            if a_s <= 0 or not float(lo.subs(a, a_s)) <= b_s <= float(hi.subs(a, a_s)):
                continue
            value = float(f.subs({a: sol[0], beta: sol[1]}))
            if best is None or value < best[0]:
                best = (value, a_s, b_s, f)
    if best is None:  # pragma: no cover - every k in range has an interior stationary point
        raise RuntimeError(f"no stationary point of the first-order k-gon loss for k = {k}")
    value, a_s, b_s, f = best
    return KGonLeadingOrder(
        k=k, order=1, coefficient=k * value, radius=float(np.sqrt(a_s)), bias=b_s, per_feature=f
    )


def _pair_own_error(c: sp.Expr) -> sp.Expr:
    """E[(u − R(u + c v))²] over u, v ~ U[0, 1] for c ∈ [−1, 0] (exact rational)."""
    u, v = _U, _V
    if c == 0:
        return sp.Integer(0)
    # R(u + c v) = 0 iff v > u / (−c); split at v = u/(−c) (inside [0, 1] iff u < −c).
    t = u / (-c)
    inner_low = sp.integrate((c * v) ** 2, (v, 0, t)) + sp.integrate(u**2, (v, t, 1))  # u < −c
    inner_high = sp.integrate((c * v) ** 2, (v, 0, 1))  # u >= −c: always active
    return sp.nsimplify(sp.integrate(inner_low, (u, 0, -c)) + sp.integrate(inner_high, (u, -c, 1)))


# ---------------------------------------------------------------- which k


@dataclass(frozen=True)
class KGonChoice:
    """The best number of features to place on a polygon, for n features in m = 2.

    ``ks`` (K,): the configurations compared — 2 (two dedicated, orthogonal features) and the
    regular k-gons k = 3..n; each with the other n − k features dropped at their best bias p/2
    (loss p/3 − p²/4 each). ``loss`` (D, K): total loss per density and configuration;
    ``best_k`` (D,): the argmin; ``radius``, ``bias`` (D, K): the polygon's optimal ρ, β (NaN for
    k = 2).
    """

    n_features: int
    density: Array
    ks: NDArray[np.int64]
    loss: Array
    radius: Array
    bias: Array
    best_k: NDArray[np.int64]


def optimal_kgon(n_features: int, density: Any) -> KGonChoice:
    """Which k-gon (k = 2..n, the rest dropped) has the least loss at each density (1-D)."""
    n = check_positive_int("n_features", n_features)
    if not 3 <= n <= MAX_EXACT_FEATURES:
        raise ValueError(f"n_features must be between 3 and {MAX_EXACT_FEATURES}, got {n}")
    p = check_density("density", density)
    if p.ndim != 1:
        raise ValueError(f"density must be 1-D, got shape {p.shape}")
    ks = np.arange(2, n + 1)
    dropped = p / 3 - p**2 / 4
    loss = np.empty((p.size, ks.size))
    radius = np.full((p.size, ks.size), np.nan)
    bias = np.full((p.size, ks.size), np.nan)
    loss[:, 0] = (n - 2) * dropped  # two dedicated features lose nothing
    for col, k in enumerate(ks[1:], start=1):
        opt = kgon_optimum(int(k), p)
        loss[:, col] = opt.loss + (n - k) * dropped
        radius[:, col], bias[:, col] = opt.radius, opt.bias
    return KGonChoice(
        n_features=n,
        density=p.copy(),
        ks=ks,
        loss=loss,
        radius=radius,
        bias=bias,
        best_k=ks[np.argmin(loss, axis=1)],
    )
