"""A batched saddle-free Newton minimiser (numpy), for many small smooth problems at once.

Each row of ``x`` is an independent problem of dimension d (here 2 or 4). Per iteration: the exact
gradient and Hessian, a step along the Hessian's eigenvectors scaled by 1/|eigenvalue| (so saddles
are escaped, not sought), a step-length cap, and a backtracking (Armijo) line search. Rows that
have converged leave the active set, so the cost tracks the hard rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
# fun_grad_hess(x, rows) -> loss (k,), grad (k, d), hess (k, d, d); fun(x, rows) -> loss (k,).
# ``rows`` indexes the per-problem data for each row of x.
FunGradHess = Callable[[Array, NDArray[np.intp]], tuple[Array, Array, Array]]
Fun = Callable[[Array, NDArray[np.intp]], Array]


@dataclass(frozen=True)
class NewtonResult:
    """Final points (N, d), losses (N,), gradients (N, d), iterations used (N,), converged (N,)."""

    x: Array
    loss: Array
    grad: Array
    n_iter: NDArray[np.int64]
    converged: NDArray[np.bool_]


def saddle_free_step(hess: Array, grad: Array, max_step: float) -> Array:
    """−Σ_k v_k v_kᵀ g / |λ_k| over the eigenpairs of each Hessian (k, d, d), capped at
    ``max_step`` in the max-norm; eigenvalues below 1e-8 of the largest are raised to it."""
    lam, vec = np.linalg.eigh(hess)  # (k, d), (k, d, d)
    scale = np.max(np.abs(lam), axis=1, keepdims=True)
    lam_abs = np.maximum(np.abs(lam), 1e-8 * scale + 1e-300)
    coef = np.einsum("kij,ki->kj", vec, grad) / lam_abs  # (k, d)
    step = -np.einsum("kij,kj->ki", vec, coef)  # (k, d)
    norm = np.max(np.abs(step), axis=1, keepdims=True)
    return step * np.minimum(1.0, max_step / np.maximum(norm, 1e-300))


def minimize(
    fun_grad_hess: FunGradHess,
    fun: Fun,
    x0: Array,
    *,
    max_iter: int = 80,
    step_tol: float = 1e-11,
    loss_tol: float = 1e-15,
    max_step: float = 0.5,
) -> NewtonResult:
    """Minimise N independent problems from starts ``x0`` (N, d); see the module docstring.

    A row stops when its step moves it by less than ``step_tol`` (relative), when the predicted
    decrease of a full step is below ``loss_tol`` times its loss, or when no step length lowers
    the loss.
    """
    x = np.array(x0, dtype=np.float64, copy=True)
    n = x.shape[0]
    rows_all = np.arange(n)
    loss, grad, hess_all = fun_grad_hess(x, rows_all)
    n_iter = np.zeros(n, dtype=np.int64)
    converged = np.zeros(n, dtype=bool)
    active = rows_all.copy()
    for _ in range(max_iter):
        if active.size == 0:
            break
        xa, ga, la = x[active], grad[active], loss[active]
        k = active.size
        step = saddle_free_step(hess_all[active], ga, max_step)
        slope = np.sum(step * ga, axis=1)  # directional derivative (<= 0)
        # Nothing left to gain: the full step's predicted decrease is below rounding of the loss.
        flat = -slope <= loss_tol * np.abs(la)
        alpha = np.ones(k)
        accepted = np.zeros(k, dtype=bool)
        new_x = xa.copy()
        new_l = la.copy()
        todo = np.flatnonzero(~flat)
        accepted[flat] = True
        for _ls in range(40):
            trial = xa[todo] + alpha[todo, None] * step[todo]
            lt = fun(trial, active[todo])
            ok = lt <= la[todo] + 1e-4 * alpha[todo] * slope[todo]
            idx = todo[ok]
            new_x[idx] = trial[ok]
            new_l[idx] = lt[ok]
            accepted[idx] = True
            todo = todo[~ok]
            if todo.size == 0:
                break
            alpha[todo] *= 0.25
        moved = np.max(np.abs(new_x - xa), axis=1)
        done = (
            flat | (~accepted) | (moved <= step_tol * np.maximum(1.0, np.max(np.abs(xa), axis=1)))
        )
        x[active] = new_x
        n_iter[active] += 1
        lx, gx, hx = fun_grad_hess(new_x, active)
        loss[active] = lx
        grad[active] = gx
        hess_all[active] = hx
        converged[active[done]] = True
        active = active[~done]
    return NewtonResult(x=x, loss=loss, grad=grad, n_iter=n_iter, converged=converged)
