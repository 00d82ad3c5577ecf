"""Closed-form L1 penalties of the n=2, m=1 model: E|h| (hidden activation) and |w_1| + |w_2|.

With h = w_1 x_1 + w_2 x_2 and x_i = 0 with probability 1 − p_i, else Uniform[0, 1] (derivation in
docs/control_theory.md, "The penalties in closed form"), splitting over the four activity patterns:

    E|h| = p_1 (1 − p_2) |w_1|/2 + (1 − p_1) p_2 |w_2|/2 + p_1 p_2 F(w_1, w_2),
    F(w_1, w_2) = E|w_1 u + w_2 v|   (u, v ~ U[0, 1] independent)
                = (|w_1| + |w_2|)/2                 if w_1 w_2 >= 0,
                = (M − m)/2 + m²/(3M)               if w_1 w_2 < 0, M = max|w_i|, m = min|w_i|.

Both penalties are convex in w and smooth inside each closed sign orthant {s_i w_i >= 0}, where
|w_i| = s_i w_i; F is C¹ away from w = 0 (and C² except on the axes). So the kinks of the
penalised loss are exactly at w_i = 0 (where the one-sided slopes differ by 2κ_i, with
κ_i = l1_hidden · p_i (1 − p_j)/2 + l1_weights when w_j ≠ 0). The functions here return the value
and the derivatives of the *orthant extension*: the smooth function that agrees with the penalty
on the closed orthant ``signs``; the optimiser (:mod:`theory.n2m1.orthant`) and the public gradient
(:mod:`theory.n2m1.numeric`) combine the two one-sided extensions at w_i = 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def orthant_signs(w: Array, at_zero: float = 1.0) -> Array:
    """sign(w) with ``at_zero`` (±1) where w == 0: the closed orthant a point is evaluated in."""
    return np.where(w > 0, 1.0, np.where(w < 0, -1.0, at_zero))


def abs_pair_mean(w: Array, signs: Array, order: int = 1) -> tuple[Array, ...]:
    """F(w) = E|w_1 u + w_2 v| on the closed orthant ``signs``; ``w``, ``signs``: (..., 2).

    Returns F (...,); then dF/dw (..., 2); then the Hessian (..., 2, 2). At w = 0 the gradient is
    the axis slope s_i/2 in each coordinate and the Hessian is set to 0 (F is positively
    homogeneous of degree 1, so its curvature ~ 1/|w| is unbounded there).
    """
    aw = signs * w  # |w_i| inside the orthant
    s1, s2 = signs[..., 0], signs[..., 1]
    a1, a2 = aw[..., 0], aw[..., 1]
    opposite = s1 * s2 < 0
    first_big = a1 >= a2
    big = np.maximum(a1, a2)
    small = np.minimum(a1, a2)
    safe_big = np.where(big > 0, big, 1.0)
    t = np.where(big > 0, small / safe_big, 0.0)  # m/M in [0, 1]
    value = np.where(opposite, 0.5 * big - 0.5 * small + small * t / 3.0, 0.5 * a1 + 0.5 * a2)
    out: tuple[Array, ...] = (value,)
    if order < 1:
        return out
    # Opposite signs: dF/dM = 1/2 − t²/3, dF/dm = −1/2 + 2t/3 (both 1/2 at the origin).
    d_big = 0.5 - t * t / 3.0
    d_small = np.where(big > 0, -0.5 + 2.0 * t / 3.0, 0.5)
    d_a1 = np.where(opposite, np.where(first_big, d_big, d_small), 0.5)
    d_a2 = np.where(opposite, np.where(first_big, d_small, d_big), 0.5)
    out += (np.stack([s1 * d_a1, s2 * d_a2], axis=-1),)
    if order < 2:
        return out
    # Opposite signs: d²F/dM² = 2t²/(3M), d²F/dMdm = −2t/(3M), d²F/dm² = 2/(3M).
    inv = np.where(opposite & (big > 0), 2.0 / (3.0 * safe_big), 0.0)
    h_bb, h_bs, h_ss = inv * t * t, -inv * t, inv
    h_11 = np.where(first_big, h_bb, h_ss)
    h_22 = np.where(first_big, h_ss, h_bb)
    h_12 = s1 * s2 * h_bs
    out += (np.stack([np.stack([h_11, h_12], -1), np.stack([h_12, h_22], -1)], -2),)
    return out


def hidden_abs_mean(w: Array, density: Array, signs: Array, order: int = 1) -> tuple[Array, ...]:
    """E|h| (h = w_1 x_1 + w_2 x_2) on the closed orthant ``signs``; value, gradient, Hessian.

    Shapes: ``w``, ``density``, ``signs`` (..., 2); returns (...,), (..., 2), (..., 2, 2).
    """
    p1, p2 = density[..., 0], density[..., 1]
    single = np.stack([p1 * (1.0 - p2), (1.0 - p1) * p2], axis=-1) * 0.5  # (..., 2)
    both = p1 * p2
    f = abs_pair_mean(w, signs, order)
    out: tuple[Array, ...] = (np.sum(single * signs * w, axis=-1) + both * f[0],)
    if order >= 1:
        out += (single * signs + both[..., None] * f[1],)
    if order >= 2:
        out += (both[..., None, None] * f[2],)
    return out


def penalty_value(w: Array, density: Array, l1_hidden: Array, l1_weights: Array) -> Array:
    """l1_hidden · E|h| + l1_weights · (|w_1| + |w_2|), the value only (the line search's
    fast path; equal to ``penalty_terms(..., order=0)[0]``). Shapes as there."""
    a1, a2 = np.abs(w[..., 0]), np.abs(w[..., 1])
    p1, p2 = density[..., 0], density[..., 1]
    big, small = np.maximum(a1, a2), np.minimum(a1, a2)
    ratio = small / np.where(big > 0, big, 1.0)
    pair = np.where(
        w[..., 0] * w[..., 1] < 0,
        0.5 * big - 0.5 * small + small * ratio / 3.0,
        0.5 * a1 + 0.5 * a2,
    )
    hidden = 0.5 * (p1 * (1.0 - p2) * a1 + (1.0 - p1) * p2 * a2) + p1 * p2 * pair
    lh = np.asarray(l1_hidden, dtype=np.float64)
    lw = np.asarray(l1_weights, dtype=np.float64)
    return np.where(lh > 0, lh * hidden, 0.0) + np.where(lw > 0, lw * (a1 + a2), 0.0)


def penalty_terms(
    w: Array,
    density: Array,
    l1_hidden: Array,
    l1_weights: Array,
    signs: Array | None = None,
    order: int = 1,
) -> tuple[Array, ...]:
    """l1_hidden · E|h| + l1_weights · (|w_1| + |w_2|) on the closed orthant ``signs``.

    Shapes: ``w``, ``density`` (..., 2); ``l1_hidden``, ``l1_weights`` (...) (broadcast);
    ``signs`` (..., 2) in {−1, +1}, default sign(w) with +1 at 0. Returns the value (...), then
    the gradient in w (..., 2), then the Hessian in w (..., 2, 2), up to ``order``.
    """
    if signs is None:
        signs = orthant_signs(w)
    hid = hidden_abs_mean(w, density, signs, order)
    # a·b written as where(a > 0, a·b, 0): a zero penalty contributes exactly 0 (and never
    # 0 · inf = NaN for weights whose E|h| overflows).
    lh = np.asarray(l1_hidden, dtype=np.float64)
    lw = np.asarray(l1_weights, dtype=np.float64)
    on_h, on_w = lh > 0, lw > 0
    value = np.where(on_h, lh * hid[0], 0.0) + np.where(on_w, lw * np.sum(signs * w, -1), 0.0)
    out: tuple[Array, ...] = (value,)
    if order >= 1:
        grad = np.where(on_h[..., None], lh[..., None] * hid[1], 0.0) + lw[..., None] * signs
        out += (grad,)
    if order >= 2:
        out += (np.where(on_h[..., None, None], lh[..., None, None] * hid[2], 0.0),)
    return out


def kink_slopes(
    w: Array,
    density: Array,
    l1_hidden: Array,
    l1_weights: Array,
    grad_smooth: Array,
) -> tuple[Array, Array]:
    """One-sided derivatives (d⁺, d⁻) of smooth + penalty along +e_i and −e_i, for w_i = 0.

    ``grad_smooth`` (..., 2) is the gradient in w of the smooth part (the reconstruction loss).
    d⁺_i = ∂_i(smooth + ext₊) and d⁻_i = −∂_i(smooth + ext₋), where ext± is the penalty's
    extension into the orthant with s_i = ±1 (s = sign(w) elsewhere). Only meaningful where
    w_i = 0; there d⁺ + d⁻ = 2κ_i >= 0 since the penalty is convex.
    """
    g_plus = penalty_terms(w, density, l1_hidden, l1_weights, orthant_signs(w, 1.0), order=1)[1]
    g_minus = penalty_terms(w, density, l1_hidden, l1_weights, orthant_signs(w, -1.0), order=1)[1]
    return grad_smooth + g_plus, -(grad_smooth + g_minus)


def min_norm_subgradient(w: Array, grad_ext: Array, d_plus: Array, d_minus: Array) -> Array:
    """The minimum-norm element of the subdifferential, coordinatewise (..., 2).

    Where w_i ≠ 0 it is the ordinary derivative ``grad_ext``; where w_i = 0 the subdifferential
    in that coordinate is the interval [−d⁻, d⁺], whose smallest element in magnitude is d⁺ if
    d⁺ < 0, −d⁻ if d⁻ < 0, else 0 (w_i = 0 is then stationary in that coordinate).
    """
    at_kink = np.where(d_plus < 0, d_plus, np.where(d_minus < 0, -d_minus, 0.0))
    return np.where(w == 0, at_kink, grad_ext)
