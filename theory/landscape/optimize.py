"""Local minima of the exact loss for many models at once: batched saddle-free Newton (numpy).

Each row is an independent model (its own W, b, densities and importances). Per iteration: the
exact gradient and Hessian (:func:`theory.landscape.expected_loss_grad_hess`), a step along the
Hessian's eigenvectors scaled by 1/|eigenvalue| (so saddles are escaped, not sought; Dauphin et
al. 2014), a step-length cap and an Armijo backtracking line search on the exact loss. Rows that
have converged leave the active set, so the cost tracks the hard rows. The loss depends on W only
through WᵀW: rotations of the hidden space are flat directions with zero gradient, which the
eigenvalue floor leaves alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory.landscape.loss import _chain_rule, _evaluate, _plan
from theory.landscape.validate import check_max_active, prepare_inputs

Array = NDArray[np.float64]


@dataclass(frozen=True)
class LocalMinimum:
    """Result of :func:`minimize_loss` for R models.

    ``W`` (R, m, n), ``b`` (R, n): the final point; ``loss`` (R,); ``grad_norm`` (R,): the largest
    |∂L/∂θ| there; ``n_iter`` (R,); ``converged`` (R,): the step or the predicted decrease fell
    to rounding level (relative to the loss scale Σ_i I_i p_i / 3).
    """

    W: Array
    b: Array
    loss: Array
    grad_norm: Array
    n_iter: NDArray[np.int64]
    converged: NDArray[np.bool_]


class _Problem:
    """Loss, gradient and Hessian of rows of x = (W.ravel(), b) (or W only, b fixed)."""

    def __init__(self, b0: Array, p: Array, imp: Array, m: int, fix_bias: bool) -> None:
        self.n = p.shape[1]
        self.m = m
        self.b0, self.p, self.imp = b0, p, imp
        self.fix_bias = fix_bias
        self.loss_plan = _plan(self.n, None, 0)
        self.hess_plan = _plan(self.n, None, 2)

    def split(self, x: Array, rows: NDArray[np.intp]) -> tuple[Array, Array]:
        mn = self.m * self.n
        w = x[:, :mn].reshape(-1, self.m, self.n)
        b = self.b0[rows] if self.fix_bias else x[:, mn:]
        return np.ascontiguousarray(w), np.ascontiguousarray(b)

    def loss(self, x: Array, rows: NDArray[np.intp]) -> Array:
        w, b = self.split(x, rows)
        return _evaluate(self.loss_plan, w, b, self.p[rows], self.imp[rows])[:, 0]

    def loss_grad_hess(self, x: Array, rows: NDArray[np.intp]) -> tuple[Array, Array, Array]:
        w, b = self.split(x, rows)
        slots = _evaluate(self.hess_plan, w, b, self.p[rows], self.imp[rows])
        grad_w, grad_b, hess = _chain_rule(w, slots)
        grad = grad_w.reshape(len(rows), -1)
        if self.fix_bias:
            mn = self.m * self.n
            return slots[:, 0], grad, hess[:, :mn, :mn]
        return slots[:, 0], np.concatenate([grad, grad_b], axis=1), hess


def minimize_loss(
    W0: Any,
    b0: Any,
    density: Any,
    importance: Any,
    *,
    fix_bias: bool = False,
    max_iter: int = 100,
    max_step: float = 0.5,
) -> LocalMinimum:
    """Minimise the exact loss from each start: ``W0`` (R, m, n), ``b0`` (R, n), n <= 12.

    ``density``, ``importance``: scalar, (n,) or (R, n), as in ``expected_loss``.
    ``fix_bias=True`` keeps b = ``b0`` and optimises W only. Deterministic (no randomness).
    A row stops when its step moves it by less than 1e-11 (relative), when the predicted
    decrease of a full step is below 1e-15 of the loss scale, or when no step length lowers it.
    """
    if not isinstance(fix_bias, (bool, np.bool_)):
        raise TypeError(f"fix_bias must be True or False, got {fix_bias!r}")
    w0, bias0, p, imp = prepare_inputs(W0, b0, density, importance)
    if w0.ndim != 3:
        raise ValueError(f"W0 must have shape (R, m, n) (one row per start), got {w0.shape}")
    rows_n, m, n = w0.shape
    check_max_active(None, n)
    prob = _Problem(
        np.ascontiguousarray(bias0, dtype=np.float64),
        np.ascontiguousarray(p, dtype=np.float64),
        np.ascontiguousarray(imp, dtype=np.float64),
        m,
        bool(fix_bias),
    )
    x = w0.reshape(rows_n, m * n).astype(np.float64)
    if not fix_bias:
        x = np.concatenate([x, prob.b0], axis=1)
    scale = np.maximum(np.sum(prob.imp * prob.p, axis=1) / 3.0, 1e-300)
    active = np.arange(rows_n)
    loss, grad, hess = prob.loss_grad_hess(x, active)
    n_iter = np.zeros(rows_n, dtype=np.int64)
    converged = np.zeros(rows_n, dtype=bool)
    for _ in range(max_iter):
        if active.size == 0:
            break
        xa, ga, la = x[active], grad[active], loss[active]
        lam, vec = np.linalg.eigh(hess[active])  # (k, d), (k, d, d)
        top = np.max(np.abs(lam), axis=1, keepdims=True)
        lam_abs = np.maximum(np.abs(lam), 1e-8 * top + 1e-300)
        step = -np.einsum("kij,kj->ki", vec, np.einsum("kij,ki->kj", vec, ga) / lam_abs)
        norm = np.max(np.abs(step), axis=1, keepdims=True)
        step *= np.minimum(1.0, max_step / np.maximum(norm, 1e-300))
        slope = np.sum(step * ga, axis=1)  # <= 0
        flat = -slope <= 1e-15 * scale[active]
        alpha = np.ones(active.size)
        new_x, new_l = xa.copy(), la.copy()
        accepted = flat.copy()
        todo = np.flatnonzero(~flat)
        for _ls in range(40):
            if todo.size == 0:
                break
            trial = xa[todo] + alpha[todo, None] * step[todo]
            lt = prob.loss(trial, active[todo])
            ok = lt <= la[todo] + 1e-4 * alpha[todo] * slope[todo]
            idx = todo[ok]
            new_x[idx], new_l[idx] = trial[ok], lt[ok]
            accepted[idx] = True
            todo = todo[~ok]
            alpha[todo] *= 0.25
        moved = np.max(np.abs(new_x - xa), axis=1)
        done = flat | ~accepted | (moved <= 1e-11 * np.maximum(1.0, np.max(np.abs(xa), axis=1)))
        x[active] = new_x
        n_iter[active] += 1
        loss[active], grad[active], hess[active] = prob.loss_grad_hess(new_x, active)
        converged[active[done]] = True
        active = active[~done]
    mn = m * n
    return LocalMinimum(
        W=x[:, :mn].reshape(rows_n, m, n),
        b=prob.b0.copy() if fix_bias else x[:, mn:],
        loss=loss,
        grad_norm=np.max(np.abs(grad), axis=1),
        n_iter=n_iter,
        converged=converged,
    )
