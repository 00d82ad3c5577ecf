"""Exact integrals of monomials times powers of ReLU(affine) over the unit cube (numpy, batched).

For each element e (shapes: ``power`` (E,), ``slopes`` (E, D), ``offset`` (E,), ``moments`` (E, D))
this module computes

    Ψ_e = E_U[ Π_j U_j^{m_j} · R(c + a·U)^K ],   U ~ Uniform[0, 1]^D,  R = ReLU,  R(z)^0 := 1{z > 0},

exactly up to rounding, with no quadrature and no sampling (derivation: docs/landscape.md, "The
identity" and "A stable scheme"). One coordinate at a time is integrated out with the identity

    ∫₀¹ t^m R(s + a t)^K dt = Σ_{r=1}^{m+1} (−1)^{r−1} m!/(m−r+1)! · K!/(K+r)! · a^{−r} R(s + a)^{K+r}
                              − (−1)^m m! · K!/(K+m+1)! · a^{−(m+1)} R(s)^{K+m+1},

where "R(s + a)^{K+r}" stands for the same kind of integral over the remaining coordinates at the
shifted offset (Fubini). Applied to every coordinate this is the classical alternating sum over the
cube's vertices, which cancels catastrophically when a slope is small. Three rules make it stable:

1. a sub-cube on which c + a·U does not change sign is finished in closed form: zero, or (if
   c + a·U >= 0 there) a polynomial moment computed as a sum of positive terms;
2. the coordinate integrated out next is the one with the largest |slope| (so the division by
   a^r is by the largest slope left, at most 2D times smaller than the sub-cube's range);
3. every straddling sub-cube is rescaled to unit range first (no overflow or underflow of a^{−r}).

The sub-cubes that still straddle the hyperplane c + a·U = 0 have a range comparable to the slope
just removed, so each level loses at most a factor ~(2D)^{m+1} in relative accuracy, independent of
how small any slope is; zero slopes never get divided by.
"""

from __future__ import annotations

from math import factorial

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: m!/(m − r + 1)! for moment m ∈ {0, 1, 2} and r = 1..m+1 (0 where r > m + 1).
_FALLING = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 2.0, 2.0]])
MAX_MOMENT = 2
#: (−1)^(r−1) m!/(m−r+1)!: the coefficient of the far vertex's term r; −(−1)^m m!: the near one.
_SIGNED_FALLING = _FALLING * np.array([0.0, 1.0, -1.0, 1.0])
_VERTEX0 = np.array([-1.0, 1.0, -2.0])


_Q_MAX = 64  # largest power + 1 the tables cover (K <= 2 + D + 2 <= 20 for D <= 16)
_FACT = np.array([float(factorial(k)) for k in range(_Q_MAX + MAX_MOMENT + 2)])
_QS = np.arange(_Q_MAX)
#: Rows m (a_j >= 0) and 3 + m (a_j < 0): E[U'^q U^m]/q! as described in _polynomial_moment.
_EGF_COEF = np.concatenate(
    [
        1.0 / (_FACT[_QS][None, :] * (_QS[None, :] + np.arange(3)[:, None] + 1)),
        _FACT[np.arange(3)][:, None] / _FACT[_QS[None, :] + np.arange(3)[:, None] + 1],
    ]
)


def _polynomial_moment(power: IntArray, slopes: Array, low: Array, moments: IntArray) -> Array:
    """E[Π U_j^{m_j} (low + Σ|a_j| U'_j)^K] where c + a·U >= 0 on the whole cube.

    ``low`` (E,) is the minimum of c + a·U over the cube (>= 0); U'_j = U_j for a_j >= 0 and
    1 − U_j for a_j < 0 (both uniform), so every term of the multinomial expansion is positive.
    With the exponential generating sequences s_j(q) = |a_j|^q E[U'^q U^{m_j}] / q!:
    E[...] = K! Σ_q low^{K−q}/(K−q)! · (s_1 * ... * s_D)(q)  (* = convolution).
    E[U^{q+m}] = 1/(q+m+1) and E[(1−U)^m U^q] = q! m!/(q+m+1)!.
    """
    n_q = int(power.max()) + 1
    n_elem, width = slopes.shape
    if width == 0:  # a vertex: R(low)^K with low >= 0 here
        with np.errstate(under="ignore"):
            return np.where(power > 0, low ** np.maximum(power, 1), 1.0)
    table = _EGF_COEF[:, :n_q].take(moments + 3 * (slopes < 0), axis=0)  # (E, D, Q)
    mag = np.abs(slopes)[..., None]
    with np.errstate(under="ignore"):
        for q in range(1, n_q):  # column q picks up |a|^q
            table[..., q:] *= mag
        seq = table[:, 0, :]
        for j in range(1, width):
            egf = table[:, j, :]
            nxt = seq * egf[:, :1]
            for t in range(1, n_q):
                nxt[:, t:] += seq[:, : n_q - t] * egf[:, t : t + 1]
            seq = nxt
        # K! Σ_q low^(K−q)/(K−q)! · seq[q] (every term >= 0).
        gap = np.maximum(power[:, None] - _QS[None, :n_q], 0)  # (E, Q)
        term = seq * (low[:, None] ** gap / _FACT[gap])
        value = np.sum(np.where(power[:, None] >= _QS[None, :n_q], term, 0.0), axis=1)
    return _FACT[power] * value


def box_integrals(power: IntArray, slopes: Array, offset: Array, moments: IntArray) -> Array:
    """Ψ_e = E[Π_j U_j^{m_j} R(c + a·U)^K] for every element (module docstring); returns (E,).

    ``power`` K >= 0 (int), ``slopes`` a (E, D), ``offset`` c (E,), ``moments`` m (E, D) in
    {0, 1, 2}. Zero slopes (padding) are allowed and cost nothing. Inputs must be finite.
    """
    n_elem = offset.shape[0]
    out = np.zeros(n_elem)
    owner = np.arange(n_elem)
    coef = np.ones(n_elem)
    k = np.asarray(power, dtype=np.int64)
    c = np.asarray(offset, dtype=np.float64)
    a = np.asarray(slopes, dtype=np.float64)
    m = np.asarray(moments, dtype=np.int64)
    while owner.size:
        if a.shape[1] == 0:  # vertices: R(c)^K
            with np.errstate(under="ignore"):
                value = np.where(c > 0, c ** np.maximum(k, 1), 0.0)
            value = np.where((k == 0) & (c > 0), 1.0, value)
            out += np.bincount(owner, weights=coef * value, minlength=n_elem)
            break
        low = c + np.sum(np.minimum(a, 0.0), axis=1)
        high = c + np.sum(np.maximum(a, 0.0), axis=1)
        flat = np.flatnonzero((high > 0) & (low >= 0))
        if flat.size:
            value = _polynomial_moment(k[flat], a[flat], low[flat], m[flat])
            out += np.bincount(owner[flat], weights=coef[flat] * value, minlength=n_elem)
        keep = np.flatnonzero((high > 0) & (low < 0))
        if keep.size == 0:
            break
        owner, coef, k, c, a, m = (x[keep] for x in (owner, coef, k, c, a, m))
        # Rescale to unit range: Ψ(K; a, c) = scale^K Ψ(K; a/scale, c/scale).
        scale = high[keep] - low[keep]  # = Σ|a_j| > 0
        a = a / scale[:, None]
        c = c / scale
        with np.errstate(under="ignore"):
            coef = coef * scale**k
        # Peel the coordinate with the largest |slope|.
        rows = np.arange(owner.size)
        j = np.argmax(np.abs(a), axis=1)
        aj = a[rows, j]
        mj = m[rows, j]
        a[rows, j] = a[:, -1]
        m[rows, j] = m[:, -1]
        a, m = a[:, :-1], m[:, :-1]
        inv_a = 1.0 / aj
        rise1 = k + 1.0
        rise = [None, rise1, rise1 * (k + 2), rise1 * (k + 2) * (k + 3)]
        srcs, factors, incs, shifts = [], [], [], []
        for r in (1, 2, 3):  # the far vertex (t = 1): terms r = 1..m+1
            src = rows if r == 1 else np.flatnonzero(mj >= r - 1)
            if src.size == 0:
                continue
            ia = inv_a[src]
            srcs.append(src)
            factors.append(_SIGNED_FALLING[mj[src], r] / rise[r][src] * ia ** r)
            incs.append(np.full(src.size, r))
            shifts.append(aj[src])
        r0 = mj + 1  # the near vertex (t = 0): one term, r = m + 1
        rise0 = np.where(mj == 0, rise[1], np.where(mj == 1, rise[2], rise[3]))
        srcs.append(rows)
        factors.append(_VERTEX0[mj] / rise0 * inv_a**r0)
        incs.append(r0)
        shifts.append(np.zeros_like(aj))
        src = np.concatenate(srcs)
        owner = owner[src]
        coef = coef[src] * np.concatenate(factors)
        k = k[src] + np.concatenate(incs)
        c = c[src] + np.concatenate(shifts)
        a = a[src]
        m = m[src]
    return out
