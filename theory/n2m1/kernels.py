"""Closed-form kernels of the n=2, m=1 ReLU-output loss (numpy, vectorised, exact).

The expected loss of feature i splits over the four activity patterns of (x_i, x_j) (derivation in
docs/theory.md, "The exact landscape"). With a = w_i², c = w_i w_j, b = b_i and u, v ~ U[0, 1]:

    none       R(b)²                                   (x_i = x_j = 0)
    only x_j   J(c, b)    = ∫ R(c v + b)² dv            (x_i = 0, x_j = v)
    only x_i   K1(a, b)   = ∫ (u − R(a u + b))² du      (x_i = u, x_j = 0)
    both       K2(a, c, b) = ∫∫ (u − R(a u + c v + b))² du dv

where R = ReLU. Every kernel returns its value and its partial derivatives. The one-dimensional
kernels are closed forms: on the interval [lo, hi] where the ReLU is active the integrand is a
quadratic, integrated exactly around the interval's midpoint m (length L):
∫_lo^hi (g + s t)² dt = L (g² + s² L² / 12), with g the integrand's root at m.

K2 is integrated over v in the same closed form; what is left, as a function of u, is a piecewise
cubic polynomial whose only breakpoints are u = −b/a and u = −(b + c)/a (where the ReLU's zero line
crosses v = 0 and v = 1). On each of the (at most three) pieces, the two-point Gauss–Legendre rule
integrates a cubic *exactly* (an algebraic identity, not an approximation), so K2 costs six
evaluations of the inner closed form and is exact to rounding error. Nothing divides by a or c
without a guard, so w = 0, w_j = 0 and breakpoints exactly at 0 or 1 are ordinary cases.

Derivatives: the integrand (x − R(ℓ))² is continuous across the ReLU's zero line, so moving the line
adds no boundary term; ∂/∂θ ∫ (x − R(ℓ))² = −2 ∫_{ℓ>0} (x − ℓ) ∂ℓ/∂θ, again exact.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

# Two-point Gauss–Legendre nodes on [0, 1]: exact for polynomials of degree <= 3.
_G_LO = 0.5 - 0.5 / np.sqrt(3.0)
_G_HI = 0.5 + 0.5 / np.sqrt(3.0)


def active_interval(slope: Array, offset: Array) -> tuple[Array, Array]:
    """The interval [lo, hi] ⊂ [0, 1] where ``slope * t + offset > 0`` (lo = hi if empty).

    Shapes broadcast. ``slope == 0`` gives [0, 1] if offset > 0 else [0, 0].
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        root = np.clip(-offset / np.where(slope == 0, 1.0, slope), 0.0, 1.0)
    pos = slope > 0
    lo = np.where(pos, root, 0.0)
    hi = np.where(pos, 1.0, np.where(slope < 0, root, (offset > 0).astype(np.float64)))
    return lo, hi


def _sym2(xx: Array, xy: Array, yy: Array) -> Array:
    """Stack a symmetric 2 × 2 matrix from its entries: (..., 2, 2)."""
    return np.stack([np.stack([xx, xy], -1), np.stack([xy, yy], -1)], -2)


def relu_sq(b: Array, order: int = 1) -> tuple[Array, ...]:
    """N(b) = R(b)²; then dN/db = 2 R(b); then d²N/db² = 2·[b > 0]."""
    rb = np.maximum(b, 0.0)
    out: tuple[Array, ...] = (rb * rb,)
    if order >= 1:
        out += (2.0 * rb,)
    if order >= 2:
        out += (np.where(b > 0, 2.0, 0.0),)
    return out


def kernel_j(c: Array, b: Array, order: int = 1) -> tuple[Array, ...]:
    """J(c, b) = ∫₀¹ R(c v + b)² dv; then (∂J/∂c, ∂J/∂b); then the Hessian in (c, b), (..., 2, 2).

    R² is C¹, so the Hessian is 2 ∫_{ℓ>0} (v, 1)(v, 1)ᵀ with no boundary term.
    """
    lo, hi = active_interval(c, b)
    length = hi - lo
    mid = 0.5 * (lo + hi)
    # Where the active interval is empty, the midpoint value g and the slope (which only ever
    # multiply the interval's length) are set to 0: a huge inactive argument (b = −1e300, say)
    # then contributes exactly 0 instead of 0 · inf = NaN. Likewise in K1 and K2.
    live = length > 0
    g = np.where(live, c * mid + b, 0.0)  # ℓ at the midpoint of the active interval
    c = np.where(live, c, 0.0)
    l2 = length * length / 12.0
    out: tuple[Array, ...] = (length * (g * g + c * c * l2),)
    if order >= 1:
        out += (2.0 * length * (g * mid + c * l2), 2.0 * length * g)
    if order >= 2:
        out += (2.0 * _sym2(length * (mid * mid + l2), length * mid, length),)
    return out


_QUIET = np.errstate(over="ignore", divide="ignore", invalid="ignore")


@_QUIET
def kernel_k1(a: Array, b: Array, order: int = 1) -> tuple[Array, ...]:
    """K1(a, b) = ∫₀¹ (u − R(a u + b))² du; then (∂K1/∂a, ∂K1/∂b); then the Hessian in (a, b).

    Hessian: 2 ∫_{ℓ>0} (u, 1)(u, 1)ᵀ du − (2/a) u* (u*, 1)(u*, 1)ᵀ, the second term from the
    moving kink u* = −b/a when it lies inside (0, 1) (the integrand's slope jumps there).
    """
    lo, hi = active_interval(a, b)
    length = hi - lo
    mid = 0.5 * (lo + hi)
    live = length > 0
    alpha = np.where(live, 1.0 - a, 0.0)
    g = np.where(live, alpha * mid - b, 0.0)  # residual u − ℓ at the midpoint
    l2 = length * length / 12.0
    outside = (1.0 - hi * hi * hi + lo * lo * lo) / 3.0  # ∫ u² where the ReLU is off
    out: tuple[Array, ...] = (outside + length * (g * g + alpha * alpha * l2),)
    if order >= 1:
        out += (-2.0 * length * (g * mid + alpha * l2), -2.0 * length * g)
    if order >= 2:
        interior = 2.0 * _sym2(length * (mid * mid + l2), length * mid, length)
        safe_a = np.where(a > 0, a, 1.0)
        kink = np.where(a > 0, -b / safe_a, -1.0)
        inside = (kink > 0) & (kink < 1)
        coef = np.where(inside, -2.0 * kink / safe_a, 0.0)
        kink = np.clip(kink, 0.0, 1.0)  # finite products where the kink is outside (0, 1)
        out += (interior + coef[..., None, None] * _sym2(kink * kink, kink, np.ones_like(kink)),)
    return out


@_QUIET
def kernel_k2(a: Array, c: Array, b: Array, order: int = 1) -> tuple[Array, ...]:
    """K2(a, c, b) = ∫₀¹∫₀¹ (u − R(a u + c v + b))² du dv (``a >= 0``; shapes broadcast).

    Returns the value; then (∂/∂a, ∂/∂c, ∂/∂b); then the Hessian in (a, c, b), (..., 3, 3):
    2 ∫_{ℓ>0} g gᵀ dA − 2 ∫_Γ u g gᵀ ds / |∇ℓ| with g = (u, v, 1), Γ the ReLU's zero line in the
    square (the region's moving edge). Γ is the graph v*(u) = −(a u + b)/c over the middle piece
    (ds/|∇ℓ| = du/|c|; the integrand is a cubic in u, so the same Gauss nodes are exact); for
    |c| <= 1e-9 a it is taken as the vertical line u = −b/a (error O(c/a), harmless for a Newton
    Hessian). The value and gradient are exact; see the module docstring.
    """
    a, c, b = np.broadcast_arrays(a, c, b)
    safe_a = np.where(a > 0, a, 1.0)
    q1 = np.where(a > 0, np.clip(-b / safe_a, 0.0, 1.0), 0.0)
    q2 = np.where(a > 0, np.clip(-(b + c) / safe_a, 0.0, 1.0), 0.0)
    k_lo = np.minimum(q1, q2)
    k_hi = np.maximum(q1, q2)
    zeros = np.zeros_like(a)
    start = np.stack([zeros, k_lo, k_hi], axis=-1)  # (..., 3) piece starts
    width = np.stack([k_lo, k_hi - k_lo, 1.0 - k_hi], axis=-1)  # (..., 3) piece widths
    u = np.concatenate([start + _G_LO * width, start + _G_HI * width], axis=-1)  # (..., 6)
    weight = 0.5 * np.concatenate([width, width], axis=-1)  # (..., 6)
    a_, c_, b_ = a[..., None], c[..., None], b[..., None]
    s = a_ * u + b_
    lo, hi = active_interval(c_, s)
    length = hi - lo
    mid = 0.5 * (lo + hi)
    live = length > 0
    c_live = np.where(live, c_, 0.0)
    g = np.where(live, u - s - c_live * mid, 0.0)  # residual u − ℓ at the active midpoint
    l2 = length * length / 12.0
    val = u * u * (1.0 - length) + length * (g * g + c_live * c_live * l2)
    out: tuple[Array, ...] = (np.sum(weight * val, axis=-1),)
    if order >= 1:
        lg = weight * length * g
        d_b = -2.0 * np.sum(lg, axis=-1)
        d_a = -2.0 * np.sum(lg * u, axis=-1)
        d_c = -2.0 * np.sum(lg * mid - weight * length * c_live * l2, axis=-1)
        out += (d_a, d_c, d_b)
    if order >= 2:
        wl = weight * length
        m_1 = np.sum(wl, -1)
        m_u = np.sum(wl * u, -1)
        m_v = np.sum(wl * mid, -1)
        m_uu = np.sum(wl * u * u, -1)
        m_uv = np.sum(wl * u * mid, -1)
        m_vv = np.sum(wl * (mid * mid + l2), -1)
        # Edge term, general case: Gauss nodes of the middle piece (indices 1 and 4).
        tilted = np.abs(c) > 1e-9 * a
        safe_c = np.where(tilted, c, 1.0)
        um = u[..., [1, 4]]
        vm = np.clip(-(a_ * um + b_) / safe_c[..., None], 0.0, 1.0)
        wm = (
            np.where(tilted, 1.0, 0.0)[..., None]
            * weight[..., [1, 4]]
            * um
            / np.abs(safe_c)[..., None]
        )
        e_uu = np.sum(wm * um * um, -1)
        e_uv = np.sum(wm * um * vm, -1)
        e_u = np.sum(wm * um, -1)
        e_vv = np.sum(wm * vm * vm, -1)
        e_v = np.sum(wm * vm, -1)
        e_1 = np.sum(wm, -1)
        # Edge term, vertical line u0 = −b/a (c ≈ 0): ∫₀¹ (u0, v, 1)(u0, v, 1)ᵀ dv · u0 / a.
        u0 = np.where(a > 0, -b / safe_a, -1.0)
        vert = (~tilted) & (u0 > 0) & (u0 < 1)
        f = np.where(vert, u0 / safe_a, 0.0)
        u0 = np.clip(u0, 0.0, 1.0)  # finite products where the line is outside (0, 1)
        e_uu = e_uu + f * u0 * u0
        e_uv = e_uv + f * u0 / 2
        e_u = e_u + f * u0
        e_vv = e_vv + f / 3
        e_v = e_v + f / 2
        e_1 = e_1 + f
        h_uu, h_uv, h_u = m_uu - e_uu, m_uv - e_uv, m_u - e_u
        h_vv, h_v, h_1 = m_vv - e_vv, m_v - e_v, m_1 - e_1
        hess = np.stack(
            [
                np.stack([h_uu, h_uv, h_u], -1),
                np.stack([h_uv, h_vv, h_v], -1),
                np.stack([h_u, h_v, h_1], -1),
            ],
            -2,
        )
        out += (2.0 * hess,)
    return out


def _weighted(q: Array, term: Array) -> Array:
    """q · term, exactly 0 where q = 0 (a pattern of probability or importance 0 contributes
    nothing, even where its integral overflows float64)."""
    return np.where(q > 0, q * term, 0.0)


def loss_terms(
    w: Array,
    b: Array,
    density: Array,
    importance: Array,
    order: int = 1,
    *,
    safe: bool = False,
    fast_hessian: bool = False,
) -> tuple[Array, ...]:
    """Total loss, then (if ``order >= 1``) its gradient w.r.t. w and b, then (if ``order >= 2``)
    the Hessian w.r.t. x = (w_1, w_2, b_1, b_2); inputs already broadcast.

    Shapes: ``w``, ``b``, ``density``, ``importance`` all (..., 2). Returns (loss (...,),
    dL/dw (..., 2), dL/db (..., 2), d²L/dx² (..., 4, 4)) up to ``order``. ``safe=True`` (the
    public functions, ``order <= 1``) makes patterns of weight 0 contribute exactly 0 even where
    their terms overflow; the optimiser's inner loop skips that cost. ``fast_hessian=True``
    contracts the Hessian's chain rule pairwise (several times faster; it rounds differently in
    the last bits, so the unpenalised optimiser keeps the original contraction and its results
    stay reproducible bit for bit).
    """
    if safe and order <= 1:
        return _loss_terms_safe(w, b, density, importance, order)
    w_other = w[..., ::-1]
    p_other = density[..., ::-1]
    a = w * w  # (..., 2): a_i = w_i²
    c = w * w_other  # (..., 2): c_i = w_i w_j (equal for both features)
    q_none = importance * (1.0 - density) * (1.0 - p_other)
    q_j = importance * (1.0 - density) * p_other
    q_i = importance * density * (1.0 - p_other)
    q_both = importance * density * p_other
    n = relu_sq(b, order)
    j = kernel_j(c, b, order)
    k1 = kernel_k1(a, b, order)
    k2 = kernel_k2(a, c, b, order)
    loss = np.sum(q_none * n[0] + q_j * j[0] + q_i * k1[0] + q_both * k2[0], axis=-1)
    if order < 1:
        return (loss,)
    d_a = q_i * k1[1] + q_both * k2[1]
    d_c = q_j * j[1] + q_both * k2[2]
    d_b = q_none * n[1] + q_j * j[2] + q_i * k1[2] + q_both * k2[3]
    # a_i = w_i² and c_0 = c_1 = w_0 w_1 (chain rule).
    d_w = 2.0 * w * d_a + np.sum(d_c, axis=-1, keepdims=True) * w_other
    if order < 2:
        return loss, d_w, d_b
    # Hessian of each feature's loss in θ_i = (a_i, c, b_i): (..., 2, 3, 3).
    h = q_both[..., None, None] * k2[4]
    h[..., 0::2, 0::2] += q_i[..., None, None] * k1[3]
    h[..., 1:, 1:] += q_j[..., None, None] * j[3]
    h[..., 2, 2] += q_none * n[2]
    # Jacobian dθ_i/dx, x = (w_0, w_1, b_0, b_1): (..., 2, 3, 4).
    jac = np.zeros((*w.shape[:-1], 2, 3, 4))
    jac[..., 0, 0, 0] = 2.0 * w[..., 0]
    jac[..., 1, 0, 1] = 2.0 * w[..., 1]
    jac[..., :, 1, 0] = w[..., 1:2]
    jac[..., :, 1, 1] = w[..., 0:1]
    jac[..., 0, 2, 2] = 1.0
    jac[..., 1, 2, 3] = 1.0
    if fast_hessian:
        hess = np.sum(np.swapaxes(jac, -1, -2) @ h @ jac, axis=-3)
    else:
        hess = np.einsum("...fti,...ftu,...fuj->...ij", jac, h, jac)
    # Curvature of the maps themselves: d²a_i/dw_i² = 2, d²c/dw_0 dw_1 = 1.
    hess[..., 0, 0] += 2.0 * d_a[..., 0]
    hess[..., 1, 1] += 2.0 * d_a[..., 1]
    cross = np.sum(d_c, axis=-1)
    hess[..., 0, 1] += cross
    hess[..., 1, 0] += cross
    return loss, d_w, d_b, hess


def _loss_terms_safe(
    w: Array, b: Array, density: Array, importance: Array, order: int
) -> tuple[Array, ...]:
    """``loss_terms`` (order 0 or 1) with every product by a pattern weight guarded."""
    w_other = w[..., ::-1]
    p_other = density[..., ::-1]
    with np.errstate(over="ignore", invalid="ignore"):
        a = w * w
        c = w * w_other
        q = (
            importance * (1.0 - density) * (1.0 - p_other),
            importance * (1.0 - density) * p_other,
            importance * density * (1.0 - p_other),
            importance * density * p_other,
        )
        n = relu_sq(b, order)
        j = kernel_j(c, b, order)
        k1 = kernel_k1(a, b, order)
        k2 = kernel_k2(a, c, b, order)
        terms = (
            _weighted(q[0], n[0])
            + _weighted(q[1], j[0])
            + _weighted(q[2], k1[0])
            + _weighted(q[3], k2[0])
        )
        loss = np.sum(terms, axis=-1)
        if order < 1:
            return (loss,)
        d_a = _weighted(q[2], k1[1]) + _weighted(q[3], k2[1])
        d_c = _weighted(q[1], j[1]) + _weighted(q[3], k2[2])
        d_b = (
            _weighted(q[0], n[1])
            + _weighted(q[1], j[2])
            + _weighted(q[2], k1[2])
            + _weighted(q[3], k2[3])
        )
        d_w = 2.0 * w * d_a + np.sum(d_c, axis=-1, keepdims=True) * w_other
    return loss, d_w, d_b
