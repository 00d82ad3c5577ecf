"""Local minima of the exact loss for many models at once: batched BFGS on (W, b) (numpy).

Each row is an independent model (its own W, b, densities and importances). Per iteration: the
BFGS direction −H g (H the inverse-Hessian estimate, reset to a scaled identity when it stops
giving descent), a step-length cap, and an Armijo backtracking line search on the exact loss;
the exact gradient comes from :func:`theory.landscape.expected_loss_and_grad`. Rows that have
converged leave the active set, so the cost tracks the hard rows. The loss depends on W only
through WᵀW, so rotations of the hidden space are flat directions; BFGS is indifferent to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory.landscape.loss import _evaluate, _plan
from theory.landscape.validate import prepare_inputs

Array = NDArray[np.float64]


@dataclass(frozen=True)
class LocalMinimum:
    """Result of :func:`minimize_loss` for R models.

    ``W`` (R, m, n), ``b`` (R, n): the final point; ``loss`` (R,); ``grad_norm`` (R,): the largest
    |∂L/∂θ| there; ``n_iter`` (R,); ``converged`` (R,): the gradient test was met (``gtol``
    times the loss scale Σ_i I_i p_i/3) or the loss stopped changing at rounding level.
    """

    W: Array
    b: Array
    loss: Array
    grad_norm: Array
    n_iter: NDArray[np.int64]
    converged: NDArray[np.bool_]


class _Problem:
    """Loss (and gradient) of rows of x = (W.ravel(), b) for fixed densities and importances."""

    def __init__(self, b0: Array, p: Array, imp: Array, m: int, fix_bias: bool) -> None:
        self.n = p.shape[1]
        self.m = m
        self.b0 = b0
        self.p = p
        self.imp = imp
        self.fix_bias = fix_bias
        self.loss_plan = _plan(self.n, None, 0)
        self.grad_plan = _plan(self.n, None, 1)

    def split(self, x: Array, rows: NDArray[np.intp]) -> tuple[Array, Array]:
        mn = self.m * self.n
        w = x[:, :mn].reshape(-1, self.m, self.n)
        b = self.b0[rows] if self.fix_bias else x[:, mn:]
        return np.ascontiguousarray(w), np.ascontiguousarray(b)

    def loss(self, x: Array, rows: NDArray[np.intp]) -> Array:
        w, b = self.split(x, rows)
        return _evaluate(self.loss_plan, w, b, self.p[rows], self.imp[rows])[:, 0]

    def loss_grad(self, x: Array, rows: NDArray[np.intp]) -> tuple[Array, Array]:
        w, b = self.split(x, rows)
        n = self.n
        slots = _evaluate(self.grad_plan, w, b, self.p[rows], self.imp[rows])
        g = slots[:, 1 + n :].reshape(-1, n, n)
        grad_w = (w @ (g + np.swapaxes(g, 1, 2))).reshape(len(rows), -1)
        if self.fix_bias:
            return slots[:, 0], grad_w
        return slots[:, 0], np.concatenate([grad_w, slots[:, 1 : 1 + n]], axis=1)


def minimize_loss(
    W0: Any,
    b0: Any,
    density: Any,
    importance: Any,
    *,
    fix_bias: bool = False,
    max_iter: int = 400,
    gtol: float = 1e-9,
    max_step: float = 0.5,
) -> LocalMinimum:
    """Minimise the exact loss from each start: ``W0`` (R, m, n), ``b0`` (R, n) (n <= 12).

    ``density``, ``importance``: scalar or (R, n) (or (n,)), as in ``expected_loss``.
    ``fix_bias=True`` keeps b = ``b0`` and optimises W only. Deterministic (no randomness).
    """
    if not isinstance(fix_bias, (bool, np.bool_)):
        raise TypeError(f"fix_bias must be True or False, got {fix_bias!r}")
    w0, bias0, p, imp = prepare_inputs(W0, b0, density, importance)
    if w0.ndim != 3:
        raise ValueError(f"W0 must have shape (R, m, n) (one row per start), got {w0.shape}")
    rows_n, m, n = w0.shape
    p = np.ascontiguousarray(p, dtype=np.float64)
    imp = np.ascontiguousarray(imp, dtype=np.float64)
    bias0 = np.ascontiguousarray(bias0, dtype=np.float64)
    prob = _Problem(bias0, p, imp, m, bool(fix_bias))
    x = w0.reshape(rows_n, m * n).astype(np.float64)
    if not fix_bias:
        x = np.concatenate([x, bias0], axis=1)
    dim = x.shape[1]
    scale = np.maximum(np.sum(imp * p, axis=1) / 3.0, 1e-300)
    all_rows = np.arange(rows_n)
    loss, grad = prob.loss_grad(x, all_rows)
    inv_h = np.broadcast_to(np.eye(dim), (rows_n, dim, dim)).copy()
    n_iter = np.zeros(rows_n, dtype=np.int64)
    converged = np.max(np.abs(grad), axis=1) <= gtol * scale
    stall = np.zeros(rows_n, dtype=np.int64)
    active = np.flatnonzero(~converged)
    for _ in range(max_iter):
        if active.size == 0:
            break
        xa, ga, la, ha = x[active], grad[active], loss[active], inv_h[active]
        step = -np.einsum("rij,rj->ri", ha, ga)
        slope = np.sum(step * ga, axis=1)
        bad = ~(slope < 0)
        if np.any(bad):  # not a descent direction: restart from steepest descent
            ha[bad] = np.eye(dim)
            step[bad] = -ga[bad]
            slope[bad] = -np.sum(ga[bad] ** 2, axis=1)
        norm = np.max(np.abs(step), axis=1)
        cut = np.minimum(1.0, max_step / np.maximum(norm, 1e-300))
        step *= cut[:, None]
        slope *= cut
        # Armijo backtracking; the first trial is evaluated with its gradient (usually accepted).
        alpha = np.ones(active.size)
        trial = xa + step
        lt, gt = prob.loss_grad(trial, active)
        ok = lt <= la + 1e-4 * slope
        new_x, new_l, new_g = trial, lt, gt
        todo = np.flatnonzero(~ok)
        for _ls in range(40):
            if todo.size == 0:
                break
            alpha[todo] *= 0.25
            trial_t = xa[todo] + alpha[todo, None] * step[todo]
            lt_t = prob.loss(trial_t, active[todo])
            acc = lt_t <= la[todo] + 1e-4 * alpha[todo] * slope[todo]
            idx = todo[acc]
            new_x[idx] = trial_t[acc]
            new_l[idx] = lt_t[acc]
            ok[idx] = True
            todo = todo[~acc]
        redo = np.flatnonzero(ok & (alpha < 1.0))
        if redo.size:
            new_l[redo], new_g[redo] = prob.loss_grad(new_x[redo], active[redo])
        failed = ~ok
        new_x[failed], new_l[failed], new_g[failed] = xa[failed], la[failed], ga[failed]
        s = new_x - xa
        y = new_g - ga
        sy = np.sum(s * y, axis=1)
        upd = sy > 1e-12 * np.linalg.norm(s, axis=1) * np.linalg.norm(y, axis=1) + 1e-300
        first = upd & (n_iter[active] == 0)
        if np.any(first):  # scale the initial identity by sᵀy / yᵀy (Nocedal & Wright 6.20)
            ha[first] *= (sy[first] / np.sum(y[first] ** 2, axis=1))[:, None, None]
        rho = np.where(upd, 1.0 / np.where(upd, sy, 1.0), 0.0)
        hy = np.einsum("rij,rj->ri", ha, y)
        yhy = np.sum(y * hy, axis=1)
        ha = (
            ha
            + ((1.0 + rho * yhy) * rho)[:, None, None] * np.einsum("ri,rj->rij", s, s)
            - rho[:, None, None] * (np.einsum("ri,rj->rij", hy, s) + np.einsum("ri,rj->rij", s, hy))
        )
        x[active], loss[active], grad[active], inv_h[active] = new_x, new_l, new_g, ha
        n_iter[active] += 1
        gnorm = np.max(np.abs(new_g), axis=1)
        tiny = (la - new_l) <= 1e-15 * np.maximum(np.abs(la), 1e-300)
        stall[active] = np.where(tiny, stall[active] + 1, 0)
        done = (gnorm <= gtol * scale[active]) | (stall[active] >= 3) | failed
        converged[active[done & ~failed]] = True
        converged[active[failed & (gnorm <= 1e-6 * scale[active])]] = True
        active = active[~done]
    mn = m * n
    w_out = x[:, :mn].reshape(rows_n, m, n)
    b_out = bias0.copy() if fix_bias else x[:, mn:]
    return LocalMinimum(
        W=w_out,
        b=b_out,
        loss=loss,
        grad_norm=np.max(np.abs(grad), axis=1),
        n_iter=n_iter,
        converged=converged,
    )
