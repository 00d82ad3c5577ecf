"""The exact expected loss of the tied ReLU-output model and its gradient (public entry points).

Model (Elhage et al. 2022, "Demonstrating Superposition"): x' = ReLU(WᵀW x + b), W (m, n),
x_i = 0 with probability 1 − p_i, else Uniform[0, 1], independently. Loss
L = E[Σ_i I_i (x_i − x'_i)²] (summed over features, mean over examples; docs/conventions.md).
L is a finite sum over activity patterns of exact box integrals (docs/landscape.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from theory.landscape.box import box_integrals
from theory.landscape.patterns import (
    Plan,
    count_patterns,
    pattern_probabilities,
    plan_for,
    plan_for_pattern,
    tail_probability,
)
from theory.landscape.validate import (
    MAX_PATTERNS,
    check_max_active,
    prepare_inputs,
)

Array = NDArray[np.float64]

#: Elements (rows × box integrals) evaluated per chunk; bounds the working memory (~100 MB).
_CHUNK_ELEMENTS = 1 << 19


@dataclass(frozen=True)
class TruncatedLoss:
    """The loss summed over the activity patterns with at most ``max_active`` active features.

    ``value`` (...,): that partial sum, a lower bound on the loss (every omitted term is >= 0).
    ``bound`` (...,): a rigorous upper bound on the omitted terms, Σ_i I_i B_i · P(more than
    ``max_active`` active) with B_i = max(1, ReLU(b_i + Σ_j max(G_ij, 0)))², the largest squared
    error feature i can make (docs/landscape.md, "Truncation"). The loss lies in
    [``value``, ``value + bound``] = [``lower``, ``upper``]; ``bound`` is 0 when nothing is omitted.
    """

    value: Array
    bound: Array
    max_active: int

    @property
    def lower(self) -> Array:
        return self.value

    @property
    def upper(self) -> Array:
        return self.value + self.bound


def _box_values(plan: Plan, w: Array, b: Array) -> Array:
    """Every box integral of ``plan`` for rows w (k, m, n), b (k, n): (k, E)."""
    k = b.shape[0]
    gram = np.einsum("bki,bkj->bij", w, w)  # (k, n, n) = WᵀW
    out = np.empty((k, plan.feature.size))
    for width, idx in plan.groups:  # elements of patterns with `width` active features
        feat = plan.feature[idx]
        slopes = gram[:, feat[:, None], plan.cols[idx, :width]]  # (k, e, width)
        out[:, idx] = box_integrals(
            np.tile(plan.power[idx], k),
            slopes.reshape(k * idx.size, width),
            b[:, feat].reshape(-1),
            np.tile(plan.moments[idx, :width], (k, 1)),
        ).reshape(k, idx.size)
    return out


def _evaluate(plan: Plan, w: Array, b: Array, p: Array, imp: Array) -> Array:
    """Output slots (B, plan.n_slots) for flat inputs w (B, m, n), b, p, imp (B, n)."""
    rows = b.shape[0]
    out = np.empty((rows, plan.n_slots))
    per_chunk = max(1, _CHUNK_ELEMENTS // max(plan.feature.size, 1))
    for start in range(0, rows, per_chunk):
        sl = slice(start, min(rows, start + per_chunk))
        psi = _box_values(plan, w[sl], b[sl])
        prob = pattern_probabilities(p[sl], plan.masks)  # (k, P)
        weight = prob[:, plan.pattern] * imp[sl][:, plan.feature]  # (k, E)
        block = np.asarray((plan.routing.T @ (psi * weight).T).T)
        # The constant [i∈S]/3 of every pattern: Σ_i I_i/3 Σ_{S∋i} prob(S).
        block[:, 0] += np.sum((prob @ plan.masks) * imp[sl] * plan.features, axis=1) / 3.0
        out[sl] = block
    return out


def _flat(w: Array, b: Array, p: Array, imp: Array) -> tuple[tuple[int, ...], tuple[Array, ...]]:
    lead = b.shape[:-1]
    n = b.shape[-1]
    m = w.shape[-2]
    return lead, (
        np.ascontiguousarray(w.reshape(-1, m, n)),
        np.ascontiguousarray(b.reshape(-1, n)),
        np.ascontiguousarray(p.reshape(-1, n)),
        np.ascontiguousarray(imp.reshape(-1, n)),
    )


def _plan(
    n: int, max_active: int | None, order: int, features: tuple[int, ...] | None = None
) -> Plan:
    k = n if max_active is None else max_active
    count = count_patterns(n, k)
    if count > MAX_PATTERNS:
        raise ValueError(
            f"max_active={max_active} with n = {n} features means {count} activity patterns, "
            f"more than the {MAX_PATTERNS} one evaluation may enumerate; lower max_active"
        )
    return plan_for(n, k, order, features)


def _check_features(features: Any, n: int) -> tuple[int, ...] | None:
    """``None`` (all features) or a sorted tuple of distinct feature indices in [0, n)."""
    if features is None:
        return None
    try:
        idx = tuple(sorted(int(j) for j in features))
        bad_type = any(isinstance(j, (bool, np.bool_, float)) for j in features)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"features must be a sequence of feature indices, got {features!r}"
        ) from exc
    if bad_type:
        raise TypeError(f"features must be integer feature indices, got {features!r}")
    if not idx or len(set(idx)) != len(idx) or idx[0] < 0 or idx[-1] >= n:
        raise ValueError(
            f"features must be distinct feature indices in [0, {n - 1}], got {features!r}"
        )
    return idx


def _linear_tail(w: Array, b: Array, p: Array, max_active: int) -> Array:
    """T_i = Σ_{|S| > k} prob(S) E[(x_i − ℓ_i)² | S] per feature, (B, n), exact (up to rounding).

    ℓ_i = b_i + Σ_{j∈S} G_ij x_j is the pre-activation; x_i − ℓ_i = −b_i + Σ_{j∈S} c_ij x_j with
    c_ij = δ_ij − G_ij, so E[· | S] = (−b_i + X_S)² + Y_S with X_S = Σ_{j∈S} c_ij/2 and
    Y_S = Σ_{j∈S} c_ij²/12. A dynamic program over features, indexed by the number of active
    features, accumulates Σ prob, Σ prob·X, Σ prob·X² and Σ prob·Y for every count.
    """
    rows, n = b.shape
    c = np.eye(n) - np.einsum("bki,bkj->bij", w, w)  # (B, i, j)
    shape = (rows, n, n + 1)
    mass, m1, m2, my = np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape)
    mass[:, :, 0] = 1.0
    for j in range(n):
        pj = p[:, j, None, None]  # (B, 1, 1)
        half = 0.5 * c[:, :, j, None]  # (B, n, 1)
        var = c[:, :, j, None] ** 2 / 12.0

        def step(on: Array, off: Array, pj: Array = pj) -> Array:
            shifted = np.concatenate([np.zeros_like(on[..., :1]), on[..., :-1]], axis=-1)
            return off * (1.0 - pj) + shifted * pj

        m2 = step(m2 + 2 * half * m1 + half**2 * mass, m2)
        m1 = step(m1 + half * mass, m1)
        my = step(my + var * mass, my)
        mass = step(mass, mass)
    tail = slice(max_active + 1, None)
    beta = b[:, :, None]
    terms = beta**2 * mass[..., tail] - 2 * beta * m1[..., tail] + m2[..., tail] + my[..., tail]
    return np.maximum(np.sum(terms, axis=-1), 0.0)


def _truncation_bound(w: Array, b: Array, p: Array, imp: Array, max_active: int) -> Array:
    """An upper bound on the omitted patterns' contribution, (B,) (docs/landscape.md).

    Per feature the smaller of two valid bounds: (i) (x_i − R(ℓ))² <= (x_i − ℓ)² for x_i >= 0
    (the linear model's error on the omitted patterns, :func:`_linear_tail`, plus a relative
    rounding allowance of 1e-12); (ii) (x_i − R(ℓ))² <= max(1, R(max ℓ))² times P(> k active).
    """
    gram = np.einsum("bki,bkj->bij", w, w)
    top = b + np.sum(np.maximum(gram, 0.0), axis=2)  # max of ℓ_i over the cube, (B, n)
    worst = np.maximum(1.0, np.maximum(top, 0.0)) ** 2 * tail_probability(p, max_active)[:, None]
    linear = _linear_tail(w, b, p, max_active)
    scale = (b**2 + np.sum(np.abs(np.eye(b.shape[1]) - gram), axis=2) ** 2) * np.max(
        p, axis=1, keepdims=True
    )
    linear = linear * (1 + 1e-12) + 1e-15 * scale
    return np.sum(imp * np.minimum(worst, linear), axis=1)


def _masked_bound(plan: Plan, flat: tuple[Array, ...], max_active: int) -> Array:
    """``_truncation_bound`` over the plan's features only."""
    w, b, p, imp = flat
    return _truncation_bound(w, b, p, imp * plan.features, max_active)


@overload
def expected_loss(
    W: Any, b: Any, density: Any, importance: Any, *, features: Any = None
) -> Array: ...


@overload
def expected_loss(
    W: Any, b: Any, density: Any, importance: Any, *, max_active: None, features: Any = None
) -> Array: ...


@overload
def expected_loss(
    W: Any, b: Any, density: Any, importance: Any, *, max_active: int, features: Any = None
) -> TruncatedLoss: ...


def expected_loss(
    W: Any,
    b: Any,
    density: Any,
    importance: Any,
    *,
    max_active: int | None = None,
    features: Any = None,
) -> Array | TruncatedLoss:
    """Exact L = E[Σ_i I_i (x_i − ReLU(WᵀWx + b)_i)²] of the tied ReLU-output model.

    Shapes: ``W`` (..., m, n), ``b`` (..., n), ``density`` p_i ∈ (0, 1] and ``importance``
    I_i >= 0 scalar or (..., n); leading axes broadcast. Returns (...,) float64 (a 0-d array for
    one model): the loss summed over features. Exact — a finite sum of closed-form integrals, no
    sampling or quadrature — for n <= 12 (docs/landscape.md states the achieved accuracy).

    With ``max_active=k`` only the activity patterns with at most k active features are summed
    (any n; cost ~ Σ_{d<=k} C(n, d) 2^d per feature) and a :class:`TruncatedLoss` is returned:
    the partial sum and a rigorous bound on the rest.

    ``features`` (a sequence of feature indices): sum over these features only (the same as
    zero importance for the others, but only their terms are computed — e.g. one feature of a
    symmetric configuration).
    """
    w, bias, p, imp = prepare_inputs(W, b, density, importance)
    n = bias.shape[-1]
    k = check_max_active(max_active, n)
    chosen = _check_features(features, n)
    lead, flat = _flat(w, bias, p, imp)
    plan = _plan(n, k, 0, chosen)
    value = _evaluate(plan, *flat)[:, 0].reshape(lead)
    if k is None:
        return value
    bound = np.zeros(lead) if k >= n else _masked_bound(plan, flat, k).reshape(lead)
    return TruncatedLoss(value=value, bound=bound, max_active=k)


@overload
def expected_loss_and_grad(
    W: Any, b: Any, density: Any, importance: Any, *, features: Any = None
) -> tuple[Array, Array, Array]: ...


@overload
def expected_loss_and_grad(
    W: Any, b: Any, density: Any, importance: Any, *, max_active: None, features: Any = None
) -> tuple[Array, Array, Array]: ...


@overload
def expected_loss_and_grad(
    W: Any, b: Any, density: Any, importance: Any, *, max_active: int, features: Any = None
) -> tuple[TruncatedLoss, Array, Array]: ...


def expected_loss_and_grad(
    W: Any,
    b: Any,
    density: Any,
    importance: Any,
    *,
    max_active: int | None = None,
    features: Any = None,
) -> tuple[Array | TruncatedLoss, Array, Array]:
    """``expected_loss`` and its exact gradient: (loss (...,), ∂L/∂W (..., m, n), ∂L/∂b (..., n)).

    L depends on W through G = WᵀW; with g_ij = ∂L/∂G_ij (G_ij read as the coefficient of x_j in
    feature i's pre-activation), ∂L/∂W = W (g + gᵀ). The integrand is continuous across the ReLU's
    kink, so no boundary terms arise (docs/landscape.md, "Gradient"). With ``max_active`` the
    first item is a :class:`TruncatedLoss` and the gradient is that of its ``value``.
    ``features``: as in ``expected_loss``.
    """
    w, bias, p, imp = prepare_inputs(W, b, density, importance)
    n = bias.shape[-1]
    m = w.shape[-2]
    k = check_max_active(max_active, n)
    chosen = _check_features(features, n)
    lead, flat = _flat(w, bias, p, imp)
    plan = _plan(n, k, 1, chosen)
    slots = _evaluate(plan, *flat)
    g = slots[:, 1 + n :].reshape(-1, n, n)
    grad_w = flat[0] @ (g + np.swapaxes(g, 1, 2))
    grad_b = slots[:, 1 : 1 + n]
    value = slots[:, 0].reshape(lead)
    shaped = (grad_w.reshape(*lead, m, n), grad_b.reshape(*lead, n))
    if k is None:
        return value, *shaped
    bound = np.zeros(lead) if k >= n else _masked_bound(plan, flat, k).reshape(lead)
    return TruncatedLoss(value=value, bound=bound, max_active=k), *shaped


def _chain_rule(w: Array, slots: Array) -> tuple[Array, Array, Array]:
    """(∂L/∂W (B, m, n), ∂L/∂b (B, n), Hessian (B, P, P)) from order-2 slots, P = m·n + n.

    Parameters are ordered (W.ravel() row-major, i.e. W[k, l] at k·n + l, then b). With
    A_ij = W_i·W_j (the coefficient of x_j in feature i's pre-activation), g = ∂L/∂A and H_i
    feature i's Hessian block over (A_i·, b_i): d²L = Σ_i dθ_iᵀ H_i dθ_i + Σ_ij g_ij d²A_ij with
    dA_ij = dW_i·W_j + W_i·dW_j and d²A_ij = 2 dW_i·dW_j.
    """
    rows, m, n = w.shape
    g = slots[:, 1 + n : 1 + n + n * n].reshape(rows, n, n)
    sym = g + np.swapaxes(g, 1, 2)
    grad_w = w @ sym
    blocks = slots[:, 1 + n + n * n :].reshape(rows, n, n + 1, n + 1)
    eye = np.eye(n)
    # J[i, j, k, l] = ∂A_ij/∂W_kl = δ_il W_kj + δ_jl W_ki; J[i, n, ·] selects b_i.
    jac_w = np.einsum("il,bkj->bijkl", eye, w) + np.einsum("jl,bki->bijkl", eye, w)
    jac = np.zeros((rows, n, n + 1, m * n + n))
    jac[:, :, :n, : m * n] = jac_w.reshape(rows, n, n, m * n)
    jac[:, np.arange(n), n, m * n + np.arange(n)] = 1.0
    hess = np.einsum("bixp,bixy,biyq->bpq", jac, blocks, jac)
    hw = hess[:, : m * n, : m * n].reshape(rows, m, n, m, n)
    hw += np.einsum("km,bln->bklmn", np.eye(m), sym)  # Σ_ij g_ij d²A_ij
    return grad_w, slots[:, 1 : 1 + n], hess


def expected_loss_grad_hess(
    W: Any, b: Any, density: Any, importance: Any
) -> tuple[Array, Array, Array, Array]:
    """Loss, gradient and exact Hessian: (loss (...,), ∂L/∂W (..., m, n), ∂L/∂b (..., n),
    ∂²L/∂θ² (..., P, P)) with θ = (W.ravel(), b), P = m·n + n, W[k, l] at index k·n + l.

    The Hessian has the moving kink's surface terms E[x_i x_j x_k δ(ℓ_i)] besides the active
    region's second moments (docs/landscape.md, "Hessian"); it jumps where the ReLU's hyperplane
    passes through a corner of an activity pattern's cube, and is defined by one-sided limits
    there. Exact for n <= 12; costs O(n²) times the gradient.
    """
    w, bias, p, imp = prepare_inputs(W, b, density, importance)
    n = bias.shape[-1]
    m = w.shape[-2]
    check_max_active(None, n)
    lead, flat = _flat(w, bias, p, imp)
    slots = _evaluate(_plan(n, None, 2), *flat)
    grad_w, grad_b, hess = _chain_rule(flat[0], slots)
    size = m * n + n
    return (
        slots[:, 0].reshape(lead),
        grad_w.reshape(*lead, m, n),
        grad_b.reshape(*lead, n),
        hess.reshape(*lead, size, size),
    )


def _pattern_totals(plan: Plan, w: Array, b: Array, imp: Array) -> Array:
    """Λ_S = Σ_i I_i E[(x_i − x'_i)² | S] for every pattern of an order-0 plan: (B, P)."""
    psi = _box_values(plan, w, b)  # (B, E)
    coef = np.asarray(plan.routing[:, 0].todense()).ravel()
    contrib = psi * coef * imp[:, plan.feature]  # (B, E)
    totals = np.zeros((b.shape[0], plan.masks.shape[0]))
    np.add.at(totals.T, plan.pattern, contrib.T)
    return totals + ((imp * plan.features) @ plan.masks.T) / 3.0


def expected_loss_density_grad(W: Any, b: Any, density: Any, importance: Any) -> Array:
    """∂L/∂p_k at fixed (W, b): (..., n), exact (n <= 12).

    L = Σ_S prob(S) Λ_S is multilinear in the densities; ∂prob(S)/∂p_k = ±Π_{j≠k} (p_j or
    1 − p_j) (+ if k ∈ S). With all densities equal to p, dL/dp is the sum over k; at an optimum
    this is dL*/dp (envelope theorem), the slope whose jump marks a first-order transition.
    """
    w, bias, p, imp = prepare_inputs(W, b, density, importance)
    n = bias.shape[-1]
    check_max_active(None, n)
    lead, (fw, fb, fp, fi) = _flat(w, bias, p, imp)
    plan = _plan(n, None, 0)
    totals = _pattern_totals(plan, fw, fb, fi)  # (B, P)
    masks = plan.masks  # (P, n)
    factors = np.where(masks[None], fp[:, None, :], 1.0 - fp[:, None, :])  # (B, P, n)
    ones = np.ones_like(factors[..., :1])
    before = np.cumprod(np.concatenate([ones, factors[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, factors[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    dprob = before * after * np.where(masks[None], 1.0, -1.0)  # (B, P, n)
    return np.einsum("bp,bpk->bk", totals, dprob).reshape(*lead, n)


def pattern_loss(W: Any, b: Any, active: Any) -> Array:
    """Per-feature squared error given exactly the features ``active`` are non-zero.

    E[(x_i − ReLU(WᵀWx + b)_i)² | x_j ~ U[0, 1] for j ∈ active, x_j = 0 otherwise], exact, for
    ``W`` (..., m, n), ``b`` (..., n); ``active`` a sequence of distinct feature indices. Returns
    (..., n). The loss is Σ_S prob(S) Σ_i I_i ``pattern_loss(W, b, S)[i]`` (docs/landscape.md).
    """
    w, bias, _, _ = prepare_inputs(W, b, 1.0, 1.0)
    n = bias.shape[-1]
    try:
        idx = tuple(sorted(int(j) for j in active))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"active must be a sequence of feature indices, got {active!r}") from exc
    if len(set(idx)) != len(idx) or any(j < 0 or j >= n for j in idx):
        raise ValueError(
            f"active must hold distinct feature indices in [0, {n - 1}], got {active!r}"
        )
    plan = plan_for_pattern(n, idx, 0)
    lead = bias.shape[:-1]
    flat_w = np.ascontiguousarray(w.reshape(-1, w.shape[-2], n))
    flat_b = np.ascontiguousarray(bias.reshape(-1, n))
    psi = _box_values(plan, flat_w, flat_b)  # (B, E)
    coef = np.asarray(plan.routing[:, 0].todense()).ravel()  # (E,)
    out = np.zeros(flat_b.shape)
    for i in range(n):
        out[:, i] = psi[:, plan.feature == i] @ coef[plan.feature == i]
    out[:, list(idx)] += 1.0 / 3.0
    return out.reshape(*lead, n)
