r"""Recovery experiments: the empirical phase-transition grid and recovery rates for a given W.

Seeds: every trial draws from ``numpy.random.default_rng([seed, *key])`` (``trial_rng``), with
key (i_delta, i_rho, trial) in the grid and (trial,) in ``recovery_rate``; any cell or trial
can be re-run on its own from those integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaincinv, ndtri

from theory._summary import Summarized, Summary
from theory._validation import _show, as_float_array
from theory.compressed_sensing.checks import (
    check_bool,
    check_choice,
    check_half_open_unit_interval,
    check_increasing_1d,
    check_matrix,
    check_memory,
    check_open_unit_interval,
    check_seed,
    check_size,
)
from theory.compressed_sensing.recovery import (
    DEFAULT_TOLERANCE,
    Method,
    _check_distribution,
    _check_tolerance,
    _default_distribution,
    _resolve_solver,
    _run_trial,
    density_vector,
    gaussian_matrix,
    sparse_vector,
    trial_rng,
)
from theory.compressed_sensing.summaries import (
    phase_transition_grid_summary,
    recovery_rate_summary,
)
from theory.compressed_sensing.threshold import weak_threshold

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
IntervalMethod = Literal["wilson", "clopper-pearson"]
_INTERVALS: tuple[str, ...] = ("wilson", "clopper-pearson")


def _check_confidence(confidence: Any) -> float:
    c = as_float_array("confidence", confidence)
    if c.ndim != 0 or not (0 < float(c) < 1):
        raise ValueError(f"confidence must be a scalar in (0, 1), e.g. 0.95, got {confidence!r}")
    return float(c)


def _check_counts(successes: Any, trials: Any) -> tuple[FloatArray, FloatArray]:
    s = as_float_array("successes", successes)
    t = as_float_array("trials", trials)
    s, t = np.broadcast_arrays(s, t)
    finite = np.all(np.isfinite(s)) and np.all(np.isfinite(t))
    if not finite or np.any(t < 1) or np.any(s < 0) or np.any(s > t) or np.any(s != np.round(s)):
        raise ValueError(
            f"need finite integer counts 0 <= successes <= trials, trials >= 1; got successes = "
            f"{_show(successes)}, trials = {_show(trials)}"
        )
    return s.astype(np.float64), t.astype(np.float64)


def wilson_interval(
    successes: Any, trials: Any, *, confidence: float = 0.95
) -> tuple[FloatArray | float, FloatArray | float]:
    """Wilson score interval for a binomial proportion (no continuity correction).

    (s + z²/2)/(t + z²) ± z/(t + z²) √(s(t − s)/t + z²/4), z = Φ⁻¹(1 − α/2), α = 1 − confidence.
    Vectorised over successes s and trials t. Returns (low, high).
    """
    s, t = _check_counts(successes, trials)
    z = float(ndtri(0.5 + 0.5 * _check_confidence(confidence)))
    center = (s + 0.5 * z * z) / (t + z * z)
    half = z / (t + z * z) * np.sqrt(s * (t - s) / t + 0.25 * z * z)
    # the exact ends: the interval reaches 0 when s = 0 and 1 when s = t (rounding would miss them)
    low = np.where(s == 0, 0.0, np.clip(center - half, 0.0, 1.0))
    high = np.where(s == t, 1.0, np.clip(center + half, 0.0, 1.0))
    return _pair(low, high)


def clopper_pearson_interval(
    successes: Any, trials: Any, *, confidence: float = 0.95
) -> tuple[FloatArray | float, FloatArray | float]:
    """Clopper–Pearson ("exact") interval: Beta(α/2; s, t−s+1) and Beta(1−α/2; s+1, t−s).

    Low is 0 when s = 0, high is 1 when s = t. Vectorised. Returns (low, high).
    """
    s, t = _check_counts(successes, trials)
    alpha = 1.0 - _check_confidence(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Beta(a, b) quantile q = betaincinv(a, b, q) (scipy.stats is slow to import).
        low = np.where(s > 0, betaincinv(np.maximum(s, 1), t - s + 1, 0.5 * alpha), 0.0)
        high = np.where(s < t, betaincinv(s + 1, np.maximum(t - s, 1), 1 - 0.5 * alpha), 1.0)
    return _pair(np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64))


def _pair(low: FloatArray, high: FloatArray) -> tuple[FloatArray | float, FloatArray | float]:
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def binomial_interval(
    successes: Any, trials: Any, *, confidence: float = 0.95, method: str = "wilson"
) -> tuple[FloatArray | float, FloatArray | float]:
    """``wilson_interval`` or ``clopper_pearson_interval`` by name."""
    if check_choice("interval", method, _INTERVALS) == "wilson":
        return wilson_interval(successes, trials, confidence=confidence)
    return clopper_pearson_interval(successes, trials, confidence=confidence)


def _frozen(arr: NDArray[Any]) -> NDArray[Any]:
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, repr=False)
class PhaseTransitionGrid(Summarized):
    """Empirical success probabilities of ℓ1 / LP recovery over (δ = m/n, ρ = k/m).

    Cell (i, j) has m[i] = round(deltas[i] n) measurements and k[i, j] = round(rhos[j] m[i])
    non-zeros (nearest integer, halves up); ``delta_realized`` = m/n and ``rho_realized`` = k/m
    are the values the trials actually used. Arrays are read-only.

    Attributes:
        n: features. deltas (nδ,), rhos (nρ,): the requested axes.
        m: (nδ,) measurements. k: (nδ, nρ) non-zeros.
        successes: (nδ, nρ) counts out of ``trials``.
        solver_failures: (nδ, nρ) trials where the solver returned no solution (counted as
            failures; expected 0).
        relative_errors: (nδ, nρ, trials) ‖x̂ − x‖₂/‖x‖₂ of every trial.
        trials, seed, nonnegative, value_distribution, solver, method, tolerance: settings.
    """

    n: int
    deltas: FloatArray
    rhos: FloatArray
    m: IntArray
    k: IntArray
    successes: IntArray
    solver_failures: IntArray
    relative_errors: FloatArray
    trials: int
    seed: int
    nonnegative: bool
    value_distribution: str
    solver: str
    method: str
    tolerance: float

    @property
    def success_probability(self) -> FloatArray:
        """(nδ, nρ) successes / trials."""
        return self.successes / self.trials

    @property
    def delta_realized(self) -> FloatArray:
        """(nδ,) m / n."""
        return self.m / self.n

    @property
    def rho_realized(self) -> FloatArray:
        """(nδ, nρ) k / m."""
        return self.k / self.m[:, None]

    def confidence_interval(
        self, *, confidence: float = 0.95, method: str = "wilson"
    ) -> tuple[FloatArray, FloatArray]:
        """(low, high), each (nδ, nρ): binomial intervals for every cell's success probability."""
        low, high = binomial_interval(
            self.successes,
            np.full(self.successes.shape, self.trials),
            confidence=confidence,
            method=method,
        )
        return np.asarray(low), np.asarray(high)

    def contour_50(self) -> tuple[FloatArray, FloatArray]:
        """The 50% success line: for each δ row, ρ where success first drops below 1/2.

        Scanning ρ upwards (realized ρ = k/m), the first cell with success probability < 1/2
        and the cell before it (>= 1/2) are interpolated linearly. NaN where the row never
        reaches 1/2 from above within the grid (transition outside the ρ range).

        Returns:
            (delta_realized (nδ,), rho_50 (nδ,)).
        """
        prob = self.success_probability
        rho = self.rho_realized
        out = np.full(len(self.m), np.nan)
        for i in range(len(self.m)):
            below = np.flatnonzero(prob[i] < 0.5)
            if below.size == 0 or below[0] == 0:
                continue
            j = int(below[0])
            p0, p1 = prob[i, j - 1], prob[i, j]
            r0, r1 = rho[i, j - 1], rho[i, j]
            out[i] = r0 + (p0 - 0.5) / (p0 - p1) * (r1 - r0)
        return self.delta_realized, out

    def weak_threshold(self) -> FloatArray:
        """(nδ,) ρ_W at the realized δ, for the same sign class (signed or nonnegative)."""
        return np.asarray(
            weak_threshold(self.delta_realized, signed=not self.nonnegative), dtype=np.float64
        )

    def _summary(self) -> Summary:
        return phase_transition_grid_summary(self)


def _round_half_up(x: FloatArray) -> IntArray:
    return np.floor(x + 0.5).astype(np.int64)


def phase_transition_grid(
    n: int,
    deltas: Any,
    rhos: Any,
    *,
    trials: int,
    seed: int,
    nonnegative: bool = False,
    value_distribution: str | None = None,
    solver: str | None = None,
    method: Method = "cvxpy",
    tolerance: float = DEFAULT_TOLERANCE,
) -> PhaseTransitionGrid:
    """Empirical Donoho–Tanner phase diagram of ℓ1 (or nonnegative LP) recovery.

    For every (δ_i, ρ_j) and trial t, with ``rng = trial_rng(seed, i, j, t)``: A = m × n with
    N(0, 1/m) entries (a fresh matrix per trial), x with exactly k non-zeros on a random
    support, y = A x, x̂ by ``recover_l1``; success if ‖x̂ − x‖₂ <= tolerance ‖x‖₂.

    Cost: trials · nδ · nρ LPs; about 20 ms each at n = 200 (HiGHS), 3 ms at n = 40.

    Args:
        n: features, an integer >= 2.
        deltas: δ = m/n values in (0, 1), strictly increasing; round(δ n) must be in [1, n − 1].
        rhos: ρ = k/m values in (0, 1], strictly increasing; round(ρ m) must be >= 1.
        trials: trials per cell (>= 1).
        seed: non-negative integer.
        nonnegative: the nonnegative LP (True) or ℓ1 (False).
        value_distribution: non-zero values, default "ones" if nonnegative else "sign" (±1):
            magnitudes do not change the outcome for Gaussian A, and values bounded away from
            0 keep every failure's error far above the tolerance.
        solver: see ``recover_l1``.
        method: see ``recover_l1``.
        tolerance: success threshold on the relative ℓ2 error.
    """
    nn = check_size("n", n, minimum=2)
    d = check_increasing_1d(
        "deltas", check_open_unit_interval("deltas", deltas, "δ = m/n, measurements per feature")
    )
    r = check_increasing_1d(
        "rhos", check_half_open_unit_interval("rhos", rhos, "ρ = k/m, non-zeros per measurement")
    )
    ntrials = check_size("trials", trials)
    s = check_seed("seed", seed)
    nonneg = check_bool("nonnegative", nonnegative)
    dist = _check_distribution(_default_distribution(value_distribution, nonneg), nonneg)
    resolved = _resolve_solver(method, solver)
    tol = _check_tolerance(tolerance)

    m = _round_half_up(d * nn)
    if np.any(m < 1) or np.any(m > nn - 1):
        raise ValueError(
            f"round(delta * n) must lie in [1, n − 1] = [1, {nn - 1}] for every delta, got "
            f"m = {m.tolist()} (n = {nn}); increase n or move deltas away from 0 and 1"
        )
    k = _round_half_up(r[None, :] * m[:, None])  # (nδ, nρ)
    if np.any(k < 1):
        raise ValueError(
            f"round(rho * m) must be >= 1 in every cell, got k = {k.tolist()} for m = "
            f"{m.tolist()}; increase n or the smallest rho"
        )

    check_memory("trials", ntrials, 8.0 * ntrials * k.size, "the relative errors of every trial")
    successes = np.zeros(k.shape, dtype=np.int64)
    failures = np.zeros(k.shape, dtype=np.int64)
    errors = np.empty((*k.shape, ntrials))
    for i, mi in enumerate(m):
        for j in range(len(r)):
            for t in range(ntrials):
                rng = trial_rng(s, i, j, t)
                a = gaussian_matrix(int(mi), nn, rng)
                x = sparse_vector(nn, int(k[i, j]), rng, value_distribution=dist)
                res = _run_trial(
                    a, x, nonnegative=nonneg, solver=resolved, method=method, tolerance=tol
                )
                successes[i, j] += res.success
                failures[i, j] += res.solver_failed
                errors[i, j, t] = res.relative_error
    return PhaseTransitionGrid(
        n=nn,
        deltas=_frozen(d.copy()),
        rhos=_frozen(r.copy()),
        m=_frozen(m),
        k=_frozen(k),
        successes=_frozen(successes),
        solver_failures=_frozen(failures),
        relative_errors=_frozen(errors),
        trials=ntrials,
        seed=s,
        nonnegative=nonneg,
        value_distribution=dist,
        solver=resolved,
        method=method,
        tolerance=tol,
    )


@dataclass(frozen=True, repr=False)
class RecoveryRate(Summarized):
    """Fraction of sparse inputs that convex recovery with a fixed matrix gets right.

    Attributes:
        successes, trials: counts; ``rate`` = successes / trials.
        low, high: the ``confidence`` interval (``interval``: "wilson" or "clopper-pearson").
        relative_errors: (trials,) ‖x̂ − x‖₂/‖x‖₂ per trial.
        solver_failures: trials where the solver returned no solution (counted as failures).
        m, n: shape of the matrix. density or k: how x was drawn (the other is None).
        seed, nonnegative, value_distribution, solver, method, tolerance: settings.
    """

    successes: int
    trials: int
    rate: float
    low: float
    high: float
    confidence: float
    interval: str
    relative_errors: FloatArray
    solver_failures: int
    m: int
    n: int
    density: float | None
    k: int | None
    seed: int
    nonnegative: bool
    value_distribution: str
    solver: str
    method: str
    tolerance: float

    def _summary(self) -> Summary:
        return recovery_rate_summary(self)


def recovery_rate(
    W: Any,
    *,
    density: float | None = None,
    k: int | None = None,
    trials: int,
    seed: int,
    nonnegative: bool = True,
    value_distribution: str = "uniform",
    solver: str | None = None,
    method: Method = "cvxpy",
    tolerance: float = DEFAULT_TOLERANCE,
    confidence: float = 0.95,
    interval: str = "wilson",
) -> RecoveryRate:
    """How often ℓ1 / LP recovery from h = W x returns x, for a given matrix W (e.g. learned).

    Each trial t draws x with ``trial_rng(seed, t)``, either from the toy model's distribution
    (``density=p``: x_i ≠ 0 independently with probability p, values Uniform[0, 1)) or with
    exactly ``k`` non-zeros on a random support, then solves the LP for y = W x and checks
    ‖x̂ − x‖₂ <= tolerance ‖x‖₂ (an all-zero x counts as recovered iff ‖x̂‖₂ <= tolerance).

    Args:
        W: (m, n) measurement matrix (the paper's W ∈ R^{m×n}: column i is feature i's
            direction). For toysup's (instances, m, n) arrays pass one instance at a time.
        density: p in (0, 1]; exactly one of ``density`` and ``k``.
        k: number of non-zeros, 1 <= k <= n.
        trials: number of draws of x (>= 1).
        seed: non-negative integer.
        nonnegative: the nonnegative LP (default, the toy model's features are >= 0) or ℓ1.
        value_distribution: "uniform" (default), "ones", or "gaussian" / "sign" (signed only).
            With "uniform" an entry can be tiny; a trial that misses only entries below about
            ``tolerance``·‖x‖ counts as recovered (to that tolerance).
        solver: see ``recover_l1``.
        method: see ``recover_l1``.
        tolerance: success threshold on the relative ℓ2 error.
        confidence: level of the interval, in (0, 1).
        interval: "wilson" (default) or "clopper-pearson".
    """
    w = check_matrix("W", W)
    mm, nn = w.shape
    if (density is None) == (k is None):
        raise ValueError(
            f"give exactly one of density (toy-model Bernoulli draws) and k (exactly k "
            f"non-zeros), got density={density!r}, k={k!r}"
        )
    p: float | None = None
    kk: int | None = None
    if density is not None:
        pa = check_half_open_unit_interval("density", density, "p = 1 − S")
        if pa.ndim != 0:
            raise ValueError(f"density must be a scalar, got shape {pa.shape}")
        p = float(pa)
    else:
        kk = check_size("k", k)
        if kk > nn:
            raise ValueError(f"k must be <= n = {nn} (the number of columns of W), got {kk}")
    ntrials = check_size("trials", trials)
    s = check_seed("seed", seed)
    nonneg = check_bool("nonnegative", nonnegative)
    dist = _check_distribution(value_distribution, nonneg)
    resolved = _resolve_solver(method, solver)
    tol = _check_tolerance(tolerance)
    conf = _check_confidence(confidence)
    check_choice("interval", interval, _INTERVALS)

    check_memory("trials", ntrials, 8.0 * ntrials, "the relative errors of every trial")
    p_draw = p if p is not None else 0.0  # used only when k is None, i.e. density was given
    successes = 0
    failures = 0
    errors = np.empty(ntrials)
    for t in range(ntrials):
        rng = trial_rng(s, t)
        if kk is not None:
            x = sparse_vector(nn, kk, rng, value_distribution=dist)
        else:
            x = density_vector(nn, p_draw, rng, value_distribution=dist)
        res = _run_trial(w, x, nonnegative=nonneg, solver=resolved, method=method, tolerance=tol)
        successes += res.success
        failures += res.solver_failed
        errors[t] = res.relative_error
    low, high = binomial_interval(successes, ntrials, confidence=conf, method=interval)
    return RecoveryRate(
        successes=successes,
        trials=ntrials,
        rate=successes / ntrials,
        low=float(low),
        high=float(high),
        confidence=conf,
        interval=interval,
        relative_errors=_frozen(errors),
        solver_failures=failures,
        m=mm,
        n=nn,
        density=p,
        k=kk,
        seed=s,
        nonnegative=nonneg,
        value_distribution=dist,
        solver=resolved,
        method=method,
        tolerance=tol,
    )
