"""How much L1 penalty removes superposition, and what it costs (n=2, m=1, exact).

Elhage et al. (2022), "Superposition as a Phase Change" and the open question "can we change the
phase diagram such that features don't fall into the superposition regime? ... L1 regularization
of activations ... seem[s] promising". At a point (r, p) where the exact optimum is in
superposition, λ* is the smallest penalty at which the global optimum of the penalised objective
is no longer in superposition; the *loss cost* is the reconstruction loss (unpenalised) of that
optimum minus the optimal loss without penalty. docs/control_theory.md has the derivation and
the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from theory._validation import (
    check_density,
    check_importance,
    check_n_random,
    check_positive_int,
    check_seed,
)
from theory.n2m1.exact import (
    optimum_flat,
    reconstruction_loss,
    split_x,
)
from theory.n2m1.penalty import penalty_terms
from theory.n2m1.phase import phase_label

Array = NDArray[np.float64]
Penalty = Literal["l1_hidden", "l1_weights"]


@dataclass(frozen=True)
class SuperpositionRemoval:
    """λ* and its cost at broadcast (importance, density) points (shape S).

    ``penalty``: which penalty ("l1_hidden" or "l1_weights"). ``value``: λ* (0 where the
    unpenalised optimum is not in superposition; NaN where superposition survives up to
    ``lambda_max``), to relative precision ~1e-10. ``loss_before``: the optimal loss at λ = 0;
    ``loss_after`` / ``objective_after``: the reconstruction loss / penalised objective of the
    optimum just above λ* (the upper end of the final bracket); ``loss_cost`` = ``loss_after`` −
    ``loss_before`` (>= 0). ``w_before``, ``b_before``, ``w_after``, ``b_after``: (S, 2);
    ``labels_after``: the phase just above λ*.
    """

    importance: Array
    density: Array
    penalty: Penalty
    value: Array
    loss_before: Array
    loss_after: Array
    objective_after: Array
    loss_cost: Array
    w_before: Array
    b_before: Array
    w_after: Array
    b_after: Array
    labels_after: NDArray[np.str_]


def penalty_to_remove_superposition(
    importance: Any,
    density: Any,
    which: Penalty = "l1_hidden",
    *,
    seed: int = 0,
    n_random: int = 4,
    n_bisect: int = 36,
    lambda_max: float = 100.0,
) -> SuperpositionRemoval:
    """The smallest ``which`` penalty λ* at which the exact optimum at (r, p) leaves
    superposition, and the reconstruction loss it costs (see :class:`SuperpositionRemoval`).

    Vectorised over broadcast ``importance`` (r > 0) and ``density`` (p). Method: the optimum is
    found as in :func:`theory.n2m1.exact_optimum`; an upper bracket is found by multiplying λ by
    4 from 1/16 until superposition is gone (up to ``lambda_max``), a lower one by dividing by 4,
    and log λ is bisected ``n_bisect`` times on the superposition label, each step re-optimised
    from the standard starts plus the optima at both bracket ends (continuation). This assumes
    superposition, once gone, does not return at larger λ (observed on every (r, p) examined;
    docs/control_theory.md). Setting the density to p*(r, 0)/10 gives the λ that moves the
    boundary down by one decade.
    """
    if which not in ("l1_hidden", "l1_weights"):
        raise ValueError(f"which must be 'l1_hidden' or 'l1_weights', got {which!r}")
    seed = check_seed(seed)
    n_random = check_n_random(n_random)
    check_positive_int("n_bisect", n_bisect)
    if isinstance(lambda_max, bool) or not (
        isinstance(lambda_max, (int, float)) and np.isfinite(lambda_max) and lambda_max > 0
    ):
        raise ValueError(f"lambda_max must be a finite number > 0, got {lambda_max!r}")
    r = check_importance("importance", importance)
    if np.any(r == 0):
        raise ValueError(f"importance must be > 0, got {importance!r}")
    p = check_density("density", density)
    r, p = np.broadcast_arrays(r, p)
    shape = r.shape
    rf, pf = r.ravel().astype(np.float64), p.ravel().astype(np.float64)
    n = rf.size

    def solve(lam: Array, extra: Array | None = None, step: int = 0) -> Array:
        kw = {which: lam}
        x, _, _ = optimum_flat(rf, pf, True, n_random, seed + step, extra, **kw)
        return x

    def is_sup(x: Array) -> NDArray[np.bool_]:
        return np.asarray(phase_label(x[:, :2]) == "superposition")

    x0 = solve(np.zeros(n))
    needed = is_sup(x0)
    # Upper bracket: λ = 4^k / 16 until superposition is gone everywhere it was present.
    hi = np.full(n, 1.0 / 16.0)
    x_hi = solve(hi)
    pending = needed & is_sup(x_hi)
    while np.any(pending) and np.max(hi[pending]) < lambda_max:
        hi = np.where(pending, np.minimum(4.0 * hi, lambda_max), hi)
        x_hi = np.where(pending[:, None], solve(hi), x_hi)
        pending = needed & is_sup(x_hi)
    survives = pending
    # Lower bracket: where superposition is already gone at hi / 4, move the bracket down.
    lo = hi / 4.0
    x_lo = solve(lo)
    down = needed & ~survives & ~is_sup(x_lo)
    while np.any(down) and np.min(lo[down]) > 1e-12:
        hi, x_hi = np.where(down, lo, hi), np.where(down[:, None], x_lo, x_hi)
        lo = np.where(down, lo / 4.0, lo)
        x_lo = np.where(down[:, None], solve(lo), x_lo)
        down = needed & ~survives & ~is_sup(x_lo)
    log_lo, log_hi = np.log(lo), np.log(hi)
    for step in range(n_bisect):
        mid = 0.5 * (log_lo + log_hi)
        x_mid = solve(np.exp(mid), np.stack([x_lo, x_hi]), step + 1)
        sup = is_sup(x_mid)
        log_lo, log_hi = np.where(sup, mid, log_lo), np.where(sup, log_hi, mid)
        x_lo = np.where(sup[:, None], x_mid, x_lo)
        x_hi = np.where(sup[:, None], x_hi, x_mid)
    lam_star = np.exp(0.5 * (log_lo + log_hi))
    lam_hi = np.exp(log_hi)
    # Points already outside superposition at λ = 0: λ* = 0, nothing changes.
    x_after = np.where(needed[:, None], x_hi, x0)
    value = np.where(needed, np.where(survives, np.nan, lam_star), 0.0)
    w0, b0 = split_x(x0, True)
    w1, b1 = split_x(x_after, True)
    loss_before = reconstruction_loss(rf, pf, w0, b0)
    loss_after = reconstruction_loss(rf, pf, w1, b1)
    lam_after = np.where(needed, lam_hi, 0.0)
    zeros = np.zeros(n)
    lh, lw = (lam_after, zeros) if which == "l1_hidden" else (zeros, lam_after)
    objective_after = loss_after + penalty_terms(w1, np.stack([pf, pf], -1), lh, lw, order=0)[0]
    cost = np.where(survives, np.nan, loss_after - loss_before)

    def out(a: NDArray[Any]) -> Any:
        return a.reshape(*shape, *a.shape[1:])

    return SuperpositionRemoval(
        importance=r.copy(),
        density=p.copy(),
        penalty=which,
        value=out(value),
        loss_before=out(loss_before),
        loss_after=out(np.where(survives, np.nan, loss_after)),
        objective_after=out(np.where(survives, np.nan, objective_after)),
        loss_cost=out(cost),
        w_before=out(w0),
        b_before=out(b0),
        w_after=out(w1),
        b_after=out(b1),
        labels_after=out(phase_label(w1)),
    )
