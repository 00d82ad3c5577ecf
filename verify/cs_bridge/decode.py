r"""Two decoders of the toy model's hidden vector h = W x, and the success criteria they share.

Inputs (``draw_inputs``): x ∈ Rⁿ with exactly k non-zeros on a uniformly random support, values
Uniform[0, 1) (the toy model's value distribution). Trial t draws from
``theory.compressed_sensing.trial_rng(seed, t)`` with ``sparse_vector``, exactly as
``recovery_rate(W, k=k, trials=T, seed=seed)`` does, so the LP column of the bridge *is*
``recovery_rate`` on the same draws (a test checks the counts agree).

Decoders, W of shape (m, n), b of shape (n,), X of shape (T, n):

- toy: x' = ReLU(WᵀW x + b), the ReLU output model (Elhage et al. 2022, "Demonstrating
  Superposition"), rows at once: X' = ReLU(X WᵀW + b);
- LP: x̂ = argmin 1ᵀx s.t. W x = h, x >= 0 (``recover_l1(..., nonnegative=True)``), one LP per row.

Criteria (``CRITERIA``), per example, with the tolerance τ of the run (0.1 by default):

- ``"l2"``: relative ℓ2 error ‖x̂ − x‖₂ <= τ ‖x‖₂ (residual energy <= τ² = 1% of the signal's);
- ``"linf"``: every feature within τ, max_i |x̂_i − x_i| <= τ (features live in [0, 1]; this
  implies support recovery after thresholding at τ of every entry above 2τ, and no false
  feature reads above τ);
- ``"exact"``: ‖x̂ − x‖₂ <= 1e-4 ‖x‖₂ (theory's ``DEFAULT_TOLERANCE``): the compressed-sensing
  notion; the toy decoder never meets it (interference and bias leave residuals).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from theory.compressed_sensing import (
    DEFAULT_TOLERANCE,
    RecoveryError,
    recover_l1,
    sparse_vector,
    trial_rng,
)

FloatArray = NDArray[np.float64]
CRITERIA = ("l2", "linf", "exact")
#: Toy-decoder tolerances reported besides the run's τ, as multiples of τ.
TOLERANCE_FACTORS = (0.5, 1.0, 2.0)


def draw_inputs(n: int, k: int, trials: int, seed: int) -> FloatArray:
    """(trials, n): row t is ``sparse_vector(n, k, trial_rng(seed, t), value_distribution=
    "uniform")``, the draws of ``recovery_rate(W, k=k, trials=trials, seed=seed)``."""
    return np.stack(
        [
            sparse_vector(n, k, trial_rng(seed, t), value_distribution="uniform")
            for t in range(trials)
        ]
    )


def toy_decode(W: FloatArray, b: FloatArray, X: FloatArray) -> FloatArray:
    """x' = ReLU(WᵀW x + b) for every row: W (m, n), b (n,), X (T, n) -> (T, n)."""
    gram = W.T @ W  # (n, n), symmetric
    return np.maximum(X @ gram + b, 0.0)


def lp_decode(W: FloatArray, X: FloatArray) -> FloatArray:
    """Nonnegative LP recovery of every row from h = W x: X (T, n) -> (T, n).

    scipy's HiGHS (``method="linprog"``: at n <= 100 faster than cvxpy, same verdicts, see
    docs/compressed_sensing.md §3). A row whose LP has no solution is NaN (counts as a failure).
    """
    out = np.empty_like(X)
    for t, x in enumerate(X):
        try:
            out[t] = recover_l1(W, W @ x, nonnegative=True, method="linprog")
        except RecoveryError:
            out[t] = np.nan
    return out


def errors(X: FloatArray, X_hat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(relative ℓ2 error, max-abs error ‖x̂ − x‖∞), each (T,); inf where x̂ is NaN.

    The relative error is ‖x̂ − x‖₂/‖x‖₂, or ‖x̂‖₂ for x = 0 (theory's ``relative_error``).
    """
    diff = X_hat - X
    norm_x = np.linalg.norm(X, axis=1)
    err = np.linalg.norm(diff, axis=1)
    rel = err / np.where(norm_x > 0, norm_x, 1.0)
    max_abs = np.abs(diff).max(axis=1)
    bad = ~np.isfinite(X_hat).all(axis=1)
    rel[bad] = np.inf
    max_abs[bad] = np.inf
    return rel, max_abs


def successes(
    rel: FloatArray, max_abs: FloatArray, tolerance: float
) -> dict[str, NDArray[np.bool_]]:
    """Per-example success under each criterion of ``CRITERIA`` (module docstring)."""
    return {
        "l2": rel <= tolerance,
        "linf": max_abs <= tolerance,
        "exact": rel <= DEFAULT_TOLERANCE,
    }


@dataclass(frozen=True)
class Cell:
    """Success counts of one (δ, k) cell: toy[factor][criterion] over every draw; lp[criterion]
    and paired[criterion] = (toy only, LP only) over the first lp_trials draws (empty when the
    LP was not run); seconds spent."""

    toy: dict[float, dict[str, int]]
    lp: dict[str, int]
    paired: dict[str, tuple[int, int]]
    toy_s: float
    lp_s: float


def decode_cell(W: FloatArray, b: FloatArray, X: FloatArray, *, lp_trials: int, tol: float) -> Cell:
    """Decode the draws X (T, n) of one cell with the toy model (W, b) and, on the first
    ``lp_trials`` rows, with the LP; count successes (criteria of verify.cs_bridge.decode)."""
    t0 = time.perf_counter()
    rel, max_abs = errors(X, toy_decode(W, b, X))
    toy = {}
    for factor in TOLERANCE_FACTORS:
        ok = successes(rel, max_abs, tol * factor)
        toy[factor] = {c: int(ok[c].sum()) for c in ("l2", "linf")}
    toy_s = time.perf_counter() - t0
    if not lp_trials:
        return Cell(toy, {}, {}, toy_s, 0.0)
    t0 = time.perf_counter()
    lp_ok = successes(*errors(X[:lp_trials], lp_decode(W, X[:lp_trials])), tol)
    toy_ok = successes(rel[:lp_trials], max_abs[:lp_trials], tol)
    paired = {
        c: (int(np.sum(toy_ok[c] & ~lp_ok[c])), int(np.sum(lp_ok[c] & ~toy_ok[c])))
        for c in ("l2", "linf")
    }
    lp = {c: int(lp_ok[c].sum()) for c in CRITERIA}
    return Cell(toy, lp, paired, toy_s, time.perf_counter() - t0)
