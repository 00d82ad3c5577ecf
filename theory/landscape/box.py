"""Exact integrals of monomials times powers of ReLU(affine) over the unit cube (numpy, batched).

For each element e (shapes: ``power`` (E,), ``slopes`` (E, D), ``offset`` (E,), ``moments`` (E, D))
this module computes

    Ψ_e = E_U[ Π_j U_j^{m_j} · R(c + a·U)^K ],   U ~ Uniform[0, 1]^D,  R = ReLU,

with R(z)^0 := 1{z > 0} and, for K = −1, R(z)^{−1} := δ(z) (a surface integral over the hyperplane
c + a·U = 0, used by the Hessian). Exact up to rounding: no quadrature, no sampling (derivation:
docs/landscape.md, "The identity" and "A stable scheme"). One coordinate at a time is integrated
out with the identity (F_r the r-th antiderivative of R^K: F_r = K!/(K+r)! R^{K+r}, or
R^{r−1}/(r−1)! for K = −1)

    ∫₀¹ t^m R(s + a t)^K dt = Σ_{r=1}^{m+1} (−1)^{r−1} m!/(m−r+1)! · a^{−r} F_r(s + a)
                              − (−1)^m m! · a^{−(m+1)} F_{m+1}(s),

where "F_r(s + a)" stands for the same kind of integral over the remaining coordinates at the
shifted offset (Fubini). Applied to every coordinate this is the classical alternating sum over the
cube's vertices, which cancels catastrophically when a slope is small. Three rules make it stable:

1. a sub-cube on which c + a·U does not change sign is finished in closed form: zero, or (if
   c + a·U >= 0 there) a polynomial moment computed as a sum of positive terms;
2. the coordinate integrated out next is the one with the largest |slope| (so the division by
   a^r is by the largest slope left, at most D times smaller than the sub-cube's range);
3. every straddling sub-cube is rescaled to unit range first (no overflow or underflow of a^{−r}).

The sub-cubes that still straddle the hyperplane have a range comparable to the slope just
removed, so each level loses at most a bounded factor in relative accuracy, however small any
slope is; zero slopes are never divided by.
"""

from __future__ import annotations

from math import factorial

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Largest moment m_j supported (total moment <= 3: the Hessian's E[U_i U_j U_k δ(ℓ)]).
MAX_MOMENT = 3
_MOM = np.arange(MAX_MOMENT + 1)
#: (−1)^(r−1) m!/(m−r+1)! for r = 1..m+1 (0 elsewhere): the far vertex's term r.
_FAR = np.array(
    [
        [
            (-1.0) ** (r - 1) * factorial(m) / factorial(m - r + 1) if 1 <= r <= m + 1 else 0.0
            for r in range(MAX_MOMENT + 2)
        ]
        for m in range(MAX_MOMENT + 1)
    ]
)
#: −(−1)^m m!: the near vertex's single term, r = m + 1.
_NEAR = np.array([-((-1.0) ** m) * factorial(m) for m in range(MAX_MOMENT + 1)])

_Q_MAX = 64  # largest power + 1 the tables cover
_FACT = np.array([float(factorial(k)) for k in range(_Q_MAX + MAX_MOMENT + 2)])
_QS = np.arange(_Q_MAX)
#: Rows m (a_j >= 0) and MAX_MOMENT + 1 + m (a_j < 0): E[U'^q U^m]/q! (see _polynomial_moment).
_EGF_COEF = np.concatenate(
    [
        1.0 / (_FACT[_QS][None, :] * (_QS[None, :] + _MOM[:, None] + 1)),
        _FACT[_MOM][:, None] / _FACT[_QS[None, :] + _MOM[:, None] + 1],
    ]
)


def _polynomial_moment(power: IntArray, slopes: Array, low: Array, moments: IntArray) -> Array:
    """E[Π U_j^{m_j} (low + Σ|a_j| U'_j)^K] (K >= 0) where c + a·U >= 0 on the whole cube.

    Coordinate-major shapes: ``slopes``, ``moments`` (D, E); ``power``, ``low`` (E,). ``low`` is
    the minimum of c + a·U over the cube (>= 0); U'_j = U_j for a_j >= 0 and 1 − U_j for a_j < 0
    (both uniform), so every term of the multinomial expansion is positive. With the exponential
    generating sequences s_j(q) = |a_j|^q E[U'^q U^{m_j}] / q!:
    E[...] = K! Σ_q low^{K−q}/(K−q)! · (s_1 * ... * s_D)(q)  (* = convolution),
    E[U^{q+m}] = 1/(q+m+1) and E[(1−U)^m U^q] = q! m!/(q+m+1)!.
    """
    n_q = int(power.max()) + 1
    width, n_elem = slopes.shape
    with np.errstate(under="ignore"):
        seq = [np.ones(n_elem)] + [np.zeros(n_elem) for _ in range(n_q - 1)]
        if width:
            row = moments + (MAX_MOMENT + 1) * (slopes < 0)  # (D, E) row of _EGF_COEF
            mag = np.abs(slopes)
            power_q = np.ones_like(mag)
            egf = []
            for q in range(n_q):  # egf[q] (D, E) = |a|^q · coefficient
                egf.append(_EGF_COEF[:, q].take(row) * power_q)
                power_q = power_q * mag
            for j in range(width):
                nxt = []
                for q in range(n_q):
                    acc = seq[q] * egf[0][j]
                    for t in range(1, q + 1):
                        acc += seq[q - t] * egf[t][j]
                    nxt.append(acc)
                seq = nxt
        # K! Σ_q low^(K−q)/(K−q)! · seq[q] (every term >= 0).
        value = np.zeros(n_elem)
        for q in range(n_q):
            gap = np.maximum(power - q, 0)
            value += np.where(power >= q, seq[q] * low**gap / _FACT[gap], 0.0)
        return _FACT[power] * value


def box_integrals(power: IntArray, slopes: Array, offset: Array, moments: IntArray) -> Array:
    """Ψ_e = E[Π_j U_j^{m_j} R(c + a·U)^K] for every element (module docstring); returns (E,).

    ``power`` K >= −1 (int), ``slopes`` a (E, D), ``offset`` c (E,), ``moments`` m (E, D) in
    {0, .., 3}. Zero slopes (padding) are allowed and cost nothing. Inputs must be finite. For
    K = −1 (δ) the value on a hyperplane through a cube vertex or along a face is one of the
    one-sided limits (the Hessian is discontinuous there).
    """
    n_elem = offset.shape[0]
    out = np.zeros(n_elem)
    owner = np.arange(n_elem)
    coef = np.ones(n_elem)
    k = np.asarray(power, dtype=np.int64)
    c = np.asarray(offset, dtype=np.float64)
    a = np.ascontiguousarray(np.asarray(slopes, dtype=np.float64).T)  # (D, E): coordinate-major
    m = np.ascontiguousarray(np.asarray(moments, dtype=np.int64).T)
    while owner.size:
        low = c + np.minimum(a, 0.0).sum(axis=0)
        high = c + np.maximum(a, 0.0).sum(axis=0)
        # Sub-cubes where c + a·U keeps one sign: 0, or a polynomial moment (0 for δ).
        flat = np.flatnonzero((high > 0) & (low >= 0) & (k >= 0))
        if flat.size:
            value = _polynomial_moment(k[flat], a[:, flat], low[flat], m[:, flat])
            out += np.bincount(owner[flat], weights=coef[flat] * value, minlength=n_elem)
        keep = np.flatnonzero((high > 0) & (low < 0))
        width = a.shape[0]
        if keep.size == 0 or width == 0:
            break
        owner, coef, k, c = owner[keep], coef[keep], k[keep], c[keep]
        a, m = a[:, keep], m[:, keep]
        # Rescale to unit range: Ψ(K; a, c) = scale^K Ψ(K; a/scale, c/scale).
        scale = high[keep] - low[keep]  # = Σ|a_j| > 0
        a /= scale
        c = c / scale
        with np.errstate(under="ignore"):
            coef = coef * scale ** k.astype(np.float64)
        # Peel the coordinate with the largest |slope|.
        cols = np.arange(owner.size)
        j = np.argmax(np.abs(a), axis=0)
        aj = a[j, cols]
        mj = m[j, cols]
        a[j, cols] = a[width - 1]
        m[j, cols] = m[width - 1]
        a, m = a[: width - 1], m[: width - 1]
        # rise[r] = F_r's factor: (K+1)...(K+r), the factor K+1 = 0 dropped for K = −1.
        rise = [np.ones(owner.size)]
        for r in range(1, MAX_MOMENT + 2):
            rise.append(rise[-1] * np.where(k + r == 0, 1.0, k + r))
        inv = [np.ones(owner.size), 1.0 / aj]  # inv[r] = a^{−r}
        for _ in range(MAX_MOMENT):
            inv.append(inv[-1] * inv[1])
        srcs, factors, incs, shifts = [], [], [], []
        for r in range(1, MAX_MOMENT + 2):  # the far vertex (t = 1): terms r = 1..m+1
            src = cols if r == 1 else np.flatnonzero(mj >= r - 1)
            if src.size == 0:
                continue
            srcs.append(src)
            factors.append(_FAR[mj[src], r] * (inv[r] / rise[r])[src])
            incs.append(np.full(src.size, r))
            shifts.append(aj[src])
        r0 = mj + 1  # the near vertex (t = 0): one term, r = m + 1
        srcs.append(cols)
        if np.any(mj):
            near = np.choose(mj, [inv[r] / rise[r] for r in range(1, MAX_MOMENT + 2)])
        else:
            near = inv[1] / rise[1]
        factors.append(_NEAR[mj] * near)
        incs.append(r0)
        shifts.append(np.zeros_like(aj))
        src = np.concatenate(srcs)
        owner = owner[src]
        coef = coef[src] * np.concatenate(factors)
        k = k[src] + np.concatenate(incs)
        c = c[src] + np.concatenate(shifts)
        a = a[:, src]
        m = m[:, src]
    return out
