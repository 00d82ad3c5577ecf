"""Batched orthant-wise Newton: minimise smooth + L1-type penalties with kinks at x_k = 0.

The objective is Φ(x) = S(x) + P(x_kink), where S is smooth (here the reconstruction loss) and P
(the penalties) is convex, depends only on the first ``n_kink`` coordinates and is smooth inside
every closed sign orthant {s_k x_k >= 0} (its "orthant extension"). This is the setting of
orthant-wise methods (Andrew & Gao 2007, "Scalable training of L1-regularized log-linear models",
OWL-QN); here with exact Newton steps instead of quasi-Newton ones. No smoothing is used:

* a coordinate at x_k = 0 is examined through the two one-sided derivatives d⁺ (along +e_k) and
  d⁻ (along −e_k) of Φ. If both are >= 0 the coordinate is **pinned** at 0 for this iteration
  (0 is stationary in it); otherwise it is released into the orthant where Φ decreases;
* the step is the saddle-free Newton step of :mod:`theory.n2m1.newton` for the orthant's smooth
  extension, on the free coordinates, along the pseudo-gradient (the minimum-norm subgradient).
  A released coordinate whose step points out of its orthant is held at 0; a non-zero one within
  1e-6 of 0 whose step would cross 0 is moved to exactly 0 and the other coordinates re-solve the
  Newton system with it fixed there (projected Newton with an ε-active set, Bertsekas 1982,
  "Projected Newton methods for optimization problems with simple constraints"). If the result
  is not a descent direction for the pseudo-gradient, a steepest-descent step is taken instead;
* the line search projects every trial point onto the current orthant: a coordinate whose sign
  would flip is set to exactly 0 (so exact zeros, the hallmark of L1 solutions, are reached in
  finitely many steps), with the Armijo test on Φ itself.

Each row of ``x`` is an independent problem; converged rows leave the active set.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from theory.n2m1.newton import NewtonResult, saddle_free_step
from theory.n2m1.penalty import orthant_signs

Array = NDArray[np.float64]
Rows = NDArray[np.intp]
# A kink coordinate this close to 0 whose Newton step crosses 0 is moved to exactly 0
# (Bertsekas' ε-active set for projected Newton methods); farther ones are projected in the
# line search.
_NEAR_ZERO = 1e-6
# smooth_fgh(x, rows) -> S (k,), ∇S (k, d), ∇²S (k, d, d); smooth_f(x, rows) -> S (k,).
SmoothFGH = Callable[[Array, Rows], tuple[Array, Array, Array]]
SmoothF = Callable[[Array, Rows], Array]
# kink_fgh(x, rows, signs) -> P, ∇P, ∇²P of the extension into orthant ``signs`` (k, n_kink),
# derivatives in the first n_kink coordinates; kink_f(x, rows) -> P (k,).
KinkFGH = Callable[[Array, Rows, Array], tuple[Array, Array, Array]]
KinkF = Callable[[Array, Rows], Array]


def _pseudo_gradient(
    x: Array, g_smooth: Array, g_plus: Array, g_minus: Array, n_kink: int
) -> tuple[Array, Array, NDArray[np.bool_]]:
    """(pseudo-gradient (k, d), step orthant signs (k, n_kink), pinned (k, n_kink)).

    ``g_plus`` / ``g_minus``: penalty gradients of the extensions with +1 / −1 at zeros.
    """
    w = x[:, :n_kink]
    zero = w == 0
    d_plus = g_smooth[:, :n_kink] + g_plus
    d_minus = -(g_smooth[:, :n_kink] + g_minus)
    up = zero & (d_plus < 0)
    down = zero & ~up & (d_minus < 0)
    pinned = zero & ~up & ~down
    pg = g_smooth.copy()
    pg[:, :n_kink] = np.where(up, d_plus, np.where(down, -d_minus, np.where(zero, 0.0, d_plus)))
    signs = np.where(down, -1.0, orthant_signs(w, 1.0))
    return pg, signs, pinned


def _reduced_step(hess: Array, grad: Array, fixed: NDArray[np.bool_], target: Array) -> Array:
    """Saddle-free Newton step (k, d) of the quadratic model g·δ + δᵀHδ/2 with δ = ``target``
    on the ``fixed`` coordinates: the free ones solve H_ff δ_f = −(g_f + H_fx target_x)."""
    free = ~fixed
    shift = np.einsum("kij,kj->ki", hess, np.where(fixed, target, 0.0))
    g = np.where(fixed, 0.0, grad + shift)
    h = hess * (free[:, :, None] & free[:, None, :])
    idx = np.arange(hess.shape[-1])
    h[:, idx, idx] = np.where(fixed, 1.0, h[:, idx, idx])
    step = saddle_free_step(h, g, np.inf)
    return np.where(fixed, target, step)


def minimize_orthant(
    smooth_fgh: SmoothFGH,
    smooth_f: SmoothF,
    kink_fgh: KinkFGH,
    kink_f: KinkF,
    x0: Array,
    n_kink: int,
    *,
    max_iter: int = 80,
    step_tol: float = 1e-11,
    loss_tol: float = 1e-15,
    max_step: float = 0.5,
) -> NewtonResult:
    """Minimise N independent problems Φ = S + P from starts ``x0`` (N, d); see the module
    docstring. Stopping rules as :func:`theory.n2m1.newton.minimize`. ``NewtonResult.loss`` is Φ
    and ``grad`` the pseudo-gradient (zero at a stationary point, kinks included).
    """
    x = np.array(x0, dtype=np.float64, copy=True)
    n, d = x.shape
    rows_all = np.arange(n)
    s_val, s_grad, s_hess = smooth_fgh(x, rows_all)
    n_iter = np.zeros(n, dtype=np.int64)
    converged = np.zeros(n, dtype=bool)
    loss = s_val + kink_f(x, rows_all)
    active = rows_all.copy()
    for _ in range(max_iter):
        if active.size == 0:
            break
        xa, rows = x[active], active
        w = xa[:, :n_kink]
        s_plus = orthant_signs(w, 1.0)
        _, g_plus, hess_k = kink_fgh(xa, rows, s_plus)
        # One-sided slopes along −e_k are needed only in rows with a coordinate at 0.
        at_zero = np.flatnonzero(np.any(w == 0, axis=1))
        g_minus = g_plus
        if at_zero.size:
            g_minus = g_plus.copy()
            s_minus = orthant_signs(w[at_zero], -1.0)
            g_minus[at_zero] = kink_fgh(xa[at_zero], rows[at_zero], s_minus)[1]
        pg, signs, pinned = _pseudo_gradient(xa, s_grad[active], g_plus, g_minus, n_kink)
        redo = np.flatnonzero(np.any(signs != s_plus, axis=1))  # released towards −e_k
        if redo.size:
            hess_k = hess_k.copy()
            hess_k[redo] = kink_fgh(xa[redo], rows[redo], signs[redo])[2]
        hess = s_hess[active].copy()
        hess[:, :n_kink, :n_kink] += hess_k
        # Pinned coordinates stay at 0; a released one may only move into its orthant; a
        # non-zero one next to 0 whose Newton step would leave its orthant is moved to exactly
        # 0 (the others then solve the Newton system with it fixed there: projected Newton).
        fixed = np.zeros((active.size, d), dtype=bool)
        fixed[:, :n_kink] = pinned
        target = np.zeros((active.size, d))
        step = saddle_free_step(hess, pg, np.inf)
        some = np.flatnonzero(np.any(pinned, axis=1))
        if some.size:
            step[some] = _reduced_step(hess[some], pg[some], fixed[some], target[some])
        held = fixed.copy()
        sw = step[:, :n_kink] * signs
        released = (w == 0) & ~pinned
        near = (w != 0) & (signs * w <= _NEAR_ZERO)
        leave = (released & (sw <= 0)) | (near & (signs * w + sw < 0))
        redo = np.flatnonzero(np.any(leave, axis=1))
        if redo.size:
            fixed[redo, :n_kink] |= leave[redo]
            target[redo, :n_kink] = np.where(leave[redo], -w[redo], 0.0)
            step[redo] = _reduced_step(hess[redo], pg[redo], fixed[redo], target[redo])
        norm = np.max(np.abs(step), axis=1, keepdims=True)
        step = step * np.minimum(1.0, max_step / np.maximum(norm, 1e-300))
        slope = np.sum(step * pg, axis=1)
        uphill = slope >= 0
        if np.any(uphill):  # fall back to steepest descent on the pseudo-gradient
            sd = -np.where(held, 0.0, pg)
            norm = np.max(np.abs(sd), axis=1, keepdims=True)
            sd = sd * np.minimum(1.0, max_step / np.maximum(norm, 1e-300))
            step = np.where(uphill[:, None], sd, step)
            slope = np.sum(step * pg, axis=1)
        la = loss[active]
        flat = -slope <= loss_tol * np.abs(la)
        alpha = np.ones(active.size)
        accepted = flat.copy()
        new_x = xa.copy()
        todo = np.flatnonzero(~flat)
        for _ls in range(40):
            trial = xa[todo] + alpha[todo, None] * step[todo]
            tw = trial[:, :n_kink]
            trial[:, :n_kink] = np.where(tw * signs[todo] < 0, 0.0, tw)  # project on the orthant
            lt = smooth_f(trial, rows[todo]) + kink_f(trial, rows[todo])
            decrease = np.sum(pg[todo] * (trial - xa[todo]), axis=1)
            ok = lt <= la[todo] + 1e-4 * decrease
            hit = todo[ok]
            new_x[hit] = trial[ok]
            accepted[hit] = True
            todo = todo[~ok]
            if todo.size == 0:
                break
            alpha[todo] *= 0.25
        moved = np.max(np.abs(new_x - xa), axis=1)
        scale = np.maximum(1.0, np.max(np.abs(xa), axis=1))
        done = flat | ~accepted | (moved <= step_tol * scale)
        x[active] = new_x
        n_iter[active] += 1
        sv, sg, sh = smooth_fgh(new_x, active)
        s_grad[active], s_hess[active] = sg, sh
        loss[active] = sv + kink_f(new_x, active)
        converged[active[done]] = True
        active = active[~done]
    w = x[:, :n_kink]
    g_p = kink_fgh(x, rows_all, orthant_signs(w, 1.0))[1]
    g_m = kink_fgh(x, rows_all, orthant_signs(w, -1.0))[1]
    grad = _pseudo_gradient(x, s_grad, g_p, g_m, n_kink)[0]
    return NewtonResult(x=x, loss=loss, grad=grad, n_iter=n_iter, converged=converged)
