r"""Convex sparse recovery: basis pursuit and the nonnegative LP, via cvxpy or scipy's HiGHS.

Problems (A is m × n, y = A x has length m):

- signed (basis pursuit):  min ‖x‖₁        s.t. A x = y;
- nonnegative:             min 1ᵀx         s.t. A x = y, x ≥ 0.

Both are linear programs. The default path is cvxpy with the HiGHS LP solver (CLARABEL when
HiGHS is not installed), on a problem built once per (m, n, nonnegative) with A and y as
cvxpy Parameters (DPP: ``A @ x`` with a parameter A and a variable x is DPP, so re-solving only
re-fills the numbers; about 20 ms at m = 100, n = 200). ``method="linprog"`` calls
``scipy.optimize.linprog(method="highs")`` on the same LP directly (x = u − v, u, v ≥ 0 for the
signed case); the tests check the two paths agree.

Success criterion: ‖x̂ − x‖₂ ≤ tol ‖x‖₂ with tol = 1e-4 by default (for x = 0: ‖x̂‖₂ ≤ tol).
HiGHS returns a vertex (basic) solution: when recovery succeeds that vertex is x itself, found to
its feasibility tolerance 1e-7 (measured <= 8.6e-8 relative at n = 200); when it fails x̂ is another
vertex. With values bounded away from 0 (±1, ones: the grid's defaults) the smallest failure
error measured is 0.29; with continuous values a failure that misses only a tiny entry has an
error of the order of that entry (docs/compressed_sensing.md). CLARABEL (interior point, gap
tolerance 1e-8) lands within ~1e-8 of x. 1e-4 sits orders of magnitude from both.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linprog

from theory._validation import check_bounded, check_finite
from theory.compressed_sensing.checks import (
    check_bool,
    check_choice,
    check_half_open_unit_interval,
    check_matrix,
    check_memory,
    check_positive_real,
    check_seed,
    check_size,
)

FloatArray = NDArray[np.float64]
Method = Literal["cvxpy", "linprog"]
ValueDistribution = Literal["uniform", "ones", "gaussian", "sign"]

DEFAULT_TOLERANCE = 1e-4
_METHODS: tuple[str, ...] = ("cvxpy", "linprog")
_VALUE_DISTRIBUTIONS: tuple[str, ...] = ("uniform", "ones", "gaussian", "sign")
_OK_STATUSES = ("optimal", "optimal_inaccurate")  # cvxpy.OPTIMAL, cvxpy.OPTIMAL_INACCURATE


class RecoveryError(RuntimeError):
    """The LP solver did not return a solution (status other than optimal)."""


def _installed_solvers() -> list[str]:
    import cvxpy as cp  # imported lazily: ~0.3 s, and only the recovery functions need it

    return list(cp.installed_solvers())


def default_solver() -> str:
    """The cvxpy solver used when none is given: HIGHS if installed, else CLARABEL."""
    installed = _installed_solvers()
    for name in ("HIGHS", "CLARABEL"):
        if name in installed:
            return name
    raise RecoveryError(f"neither HIGHS nor CLARABEL is installed for cvxpy (have {installed})")


def _resolve_solver(method: str, solver: str | None) -> str:
    check_choice("method", method, _METHODS)
    if method == "linprog":
        if solver is not None:
            raise ValueError(f"solver applies to method='cvxpy' only, got solver={solver!r}")
        return "scipy-highs"
    if solver is None:
        return default_solver()
    installed = _installed_solvers()
    if not isinstance(solver, str) or solver.upper() not in installed:
        raise ValueError(f"solver must be one of {installed}, got {solver!r}")
    return solver.upper()


@dataclass(frozen=True)
class _ParametrizedLP:
    problem: Any  # cvxpy.Problem
    a: Any  # cvxpy.Parameter (m, n)
    y: Any  # cvxpy.Parameter (m,)
    x: Any  # cvxpy.Variable (n,)


@functools.lru_cache(maxsize=32)
def _cvxpy_problem(m: int, n: int, nonnegative: bool) -> _ParametrizedLP:
    """The LP for one shape, built once; A and y are Parameters (DPP)."""
    import cvxpy as cp

    a = cp.Parameter((m, n))
    y = cp.Parameter(m)
    x = cp.Variable(n, nonneg=nonnegative)
    objective = cp.sum(x) if nonnegative else cp.norm1(x)
    problem = cp.Problem(cp.Minimize(objective), [a @ x == y])
    return _ParametrizedLP(problem, a, y, x)


def _solve_cvxpy(a: FloatArray, y: FloatArray, nonnegative: bool, solver: str) -> FloatArray:
    import cvxpy as cp

    m, n = a.shape
    lp = _cvxpy_problem(m, n, nonnegative)
    lp.a.value = a
    lp.y.value = y
    try:
        lp.problem.solve(solver=solver)
    except cp.error.SolverError as exc:
        raise RecoveryError(f"cvxpy/{solver} failed: {exc}") from exc
    if lp.problem.status not in _OK_STATUSES or lp.x.value is None:
        raise RecoveryError(f"cvxpy/{solver} returned status {lp.problem.status!r}")
    return np.array(lp.x.value, dtype=np.float64)


def _solve_linprog(a: FloatArray, y: FloatArray, nonnegative: bool) -> FloatArray:
    n = a.shape[1]
    if nonnegative:
        res = linprog(np.ones(n), A_eq=a, b_eq=y, bounds=(0, None), method="highs")
    else:  # x = u − v, u, v >= 0, ‖x‖₁ = 1ᵀ(u + v) at the optimum
        res = linprog(
            np.ones(2 * n), A_eq=np.hstack([a, -a]), b_eq=y, bounds=(0, None), method="highs"
        )
    if res.status != 0 or res.x is None:
        raise RecoveryError(f"scipy linprog/HiGHS returned status {res.status}: {res.message}")
    sol = np.asarray(res.x, dtype=np.float64)
    return sol if nonnegative else sol[:n] - sol[n:]


def recover_l1(
    A: Any,
    y: Any,
    *,
    nonnegative: bool = False,
    solver: str | None = None,
    method: Method = "cvxpy",
) -> FloatArray:
    """Recover x from y = A x by ℓ1 minimisation (or the nonnegative LP).

    Args:
        A: measurement matrix, shape (m, n), finite.
        y: measurements, shape (m,).
        nonnegative: False: min ‖x‖₁ s.t. Ax = y (basis pursuit). True: min 1ᵀx s.t. Ax = y,
            x ≥ 0 (the LP for nonnegative signals, such as the toy model's features).
        solver: cvxpy solver name (default: HIGHS if installed, else CLARABEL); only with
            ``method="cvxpy"``.
        method: "cvxpy" (default) or "linprog" (scipy.optimize.linprog with HiGHS directly).

    Returns:
        x̂, shape (n,).

    Raises:
        RecoveryError: the solver reports no optimal solution (it cannot be infeasible when y
            comes from A x; this signals numerical trouble).
    """
    a = check_matrix("A", A)
    yy = check_bounded("y", y)
    if yy.shape != (a.shape[0],):
        raise ValueError(f"y must have shape ({a.shape[0]},) to match A {a.shape}, got {yy.shape}")
    nonneg = check_bool("nonnegative", nonnegative)
    resolved = _resolve_solver(method, solver)
    if method == "linprog":
        return _solve_linprog(a, yy, nonneg)
    return _solve_cvxpy(a, yy, nonneg, resolved)


def relative_error(x_hat: FloatArray, x: FloatArray) -> float:
    """‖x̂ − x‖₂ / ‖x‖₂, or ‖x̂‖₂ when x = 0. Both finite, of the same shape."""
    x_hat = check_finite("x_hat", x_hat)
    x = check_finite("x", x)
    if x_hat.shape != x.shape or x.ndim != 1:
        raise ValueError(
            f"x_hat and x must be vectors of the same length, got shapes {x_hat.shape} and "
            f"{x.shape}"
        )
    # scaled by the largest entry, so that squares of huge entries do not overflow
    scale = max(float(np.max(np.abs(x), initial=0.0)), float(np.max(np.abs(x_hat), initial=0.0)))
    if scale == 0.0:
        return 0.0
    norm_x = float(np.linalg.norm(x / scale))
    err = float(np.linalg.norm(x_hat / scale - x / scale))
    return err / norm_x if norm_x > 0 else err * scale


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (e.g. trial_rng(seed) or "
            f"numpy.random.default_rng(seed)), got {rng!r}"
        )
    return rng


def gaussian_matrix(m: int, n: int, rng: np.random.Generator) -> FloatArray:
    """A with i.i.d. N(0, 1/m) entries, shape (m, n) (columns of unit expected norm)."""
    mm, nn = check_size("m", m), check_size("n", n)
    check_memory(*(("m", mm) if mm >= nn else ("n", nn)), 8.0 * mm * nn, f"an {mm} × {nn} matrix")
    return _check_rng(rng).standard_normal((mm, nn)) / np.sqrt(mm)


def sparse_vector(
    n: int, k: int, rng: np.random.Generator, *, value_distribution: str = "uniform"
) -> FloatArray:
    """x of length n with exactly k non-zeros on a uniformly random support.

    Values: "uniform" Uniform[0, 1) (the toy model's), "ones" all 1, "gaussian" N(0, 1), "sign"
    ±1 with equal probability. Draws the support first (``rng.choice(n, k, replace=False)``),
    then the k values.
    """
    nn, kk = check_size("n", n), check_size("k", k)
    if kk > nn:
        raise ValueError(f"k must be <= n (at most n non-zeros), got k = {kk}, n = {nn}")
    check_choice("value_distribution", value_distribution, _VALUE_DISTRIBUTIONS)
    check_memory("n", nn, 16.0 * nn, "the vector")
    support = _check_rng(rng).choice(nn, size=kk, replace=False)
    x = np.zeros(nn)
    x[support] = _draw_values(kk, rng, value_distribution)
    return x


def density_vector(
    n: int, density: float, rng: np.random.Generator, *, value_distribution: str = "uniform"
) -> FloatArray:
    """x of length n with x_i ≠ 0 independently with probability ``density`` (the toy model's).

    Draws the n-long Bernoulli mask first (``rng.random(n) < density``), then the values of the
    non-zeros.
    """
    nn = check_size("n", n)
    p = check_half_open_unit_interval("density", density, "p = 1 − S")
    if p.ndim != 0:
        raise ValueError(f"density must be a scalar, got shape {p.shape}")
    check_choice("value_distribution", value_distribution, _VALUE_DISTRIBUTIONS)
    check_memory("n", nn, 16.0 * nn, "the vector")
    mask = _check_rng(rng).random(nn) < float(p)
    x = np.zeros(nn)
    x[mask] = _draw_values(int(mask.sum()), rng, value_distribution)
    return x


def _draw_values(count: int, rng: np.random.Generator, value_distribution: str) -> FloatArray:
    if value_distribution == "uniform":
        return rng.random(count)
    if value_distribution == "gaussian":
        return rng.standard_normal(count)
    if value_distribution == "sign":
        return (2 * rng.integers(0, 2, size=count) - 1).astype(np.float64)
    if value_distribution == "ones":
        return np.ones(count)
    raise ValueError(  # unreachable after check_choice; kept so no name falls through to "ones"
        f"value_distribution must be one of {_VALUE_DISTRIBUTIONS}, got {value_distribution!r}"
    )


def _check_distribution(value_distribution: Any, nonnegative: bool) -> str:
    dist = check_choice("value_distribution", value_distribution, _VALUE_DISTRIBUTIONS)
    if nonnegative and dist in ("gaussian", "sign"):
        raise ValueError(
            f"value_distribution={dist!r} draws negative values, which the nonnegative LP "
            "cannot recover; use 'uniform' or 'ones' with nonnegative=True"
        )
    return dist


@dataclass(frozen=True)
class TrialResult:
    """One recovery trial.

    Attributes:
        success: relative error <= tolerance (and the solver returned a solution).
        relative_error: ‖x̂ − x‖₂/‖x‖₂ (inf if the solver failed).
        solver_failed: the solver raised ``RecoveryError`` (counted as a failure).
    """

    success: bool
    relative_error: float
    solver_failed: bool = False


def _run_trial(
    a: FloatArray,
    x: FloatArray,
    *,
    nonnegative: bool,
    solver: str,
    method: str,
    tolerance: float,
) -> TrialResult:
    y = a @ x
    try:
        x_hat = (
            _solve_linprog(a, y, nonnegative)
            if method == "linprog"
            else _solve_cvxpy(a, y, nonnegative, solver)
        )
    except RecoveryError:
        return TrialResult(False, float("inf"), True)
    err = relative_error(x_hat, x)
    return TrialResult(err <= tolerance, err)


def trial_rng(seed: int, *key: int) -> np.random.Generator:
    """The generator of one trial: ``numpy.random.default_rng([seed, *key])``.

    ``phase_transition_grid`` uses key (i_delta, i_rho, trial); ``recovery_rate`` uses (trial,).
    Any single trial can be re-run from these integers alone.
    """
    return np.random.default_rng(
        [check_seed("seed", seed), *(check_seed(f"key[{i}]", k) for i, k in enumerate(key))]
    )


def recovery_trial(
    n: int,
    m: int,
    k: int,
    *,
    seed: int,
    nonnegative: bool = False,
    value_distribution: str | None = None,
    solver: str | None = None,
    method: Method = "cvxpy",
    tolerance: float = DEFAULT_TOLERANCE,
) -> TrialResult:
    """One Gaussian-matrix trial: draw A (m × n, N(0, 1/m)), then a k-sparse x, recover.

    The generator is ``trial_rng(seed)``; draws in order: A, the support, the values.

    Args:
        n: features (signal length).
        m: measurements, m >= 1.
        k: non-zeros, 1 <= k <= n.
        seed: non-negative integer.
        nonnegative: recover by the nonnegative LP (True) or ℓ1 (False).
        value_distribution: non-zero values; default "ones" if ``nonnegative`` else "sign"
            (±1). For Gaussian A, success depends only on the support (LP) or support and signs
            (ℓ1), not on the magnitudes; values bounded away from 0 keep failures far from the
            success tolerance (a failure's error is of the order of x's smallest entry).
        solver: as in ``recover_l1``.
        method: as in ``recover_l1``.
        tolerance: success if ‖x̂ − x‖₂ <= tolerance ‖x‖₂.
    """
    nn, mm, kk = check_size("n", n), check_size("m", m), check_size("k", k)
    if kk > nn:
        raise ValueError(f"k must be <= n, got k = {kk}, n = {nn}")
    s = check_seed("seed", seed)
    nonneg = check_bool("nonnegative", nonnegative)
    dist = _check_distribution(_default_distribution(value_distribution, nonneg), nonneg)
    resolved = _resolve_solver(method, solver)
    tol = _check_tolerance(tolerance)
    rng = trial_rng(s)
    a = gaussian_matrix(mm, nn, rng)
    x = sparse_vector(nn, kk, rng, value_distribution=dist)
    return _run_trial(a, x, nonnegative=nonneg, solver=resolved, method=method, tolerance=tol)


def _default_distribution(value_distribution: str | None, nonnegative: bool) -> str:
    if value_distribution is None:
        return "ones" if nonnegative else "sign"
    return value_distribution


def _check_tolerance(tolerance: Any) -> float:
    tol = check_positive_real("tolerance", tolerance, "relative ℓ2 error counted as success")
    if tol.ndim != 0:
        raise ValueError(f"tolerance must be a scalar, got shape {tol.shape}")
    return float(tol)
