"""One-sided tests and confidence bounds for the mean of i.i.d. bounded samples.

Two methods, both on samples ``y_1..y_N`` already scaled into ``[0, 1]``:

* **betting** (default of :func:`verify.stats.superposition_test`): the predictable plug-in
  "hedged capital" of Waudby-Smith & Ramdas, *Estimating means of bounded random variables by
  betting* (JRSS-B 2024). To test ``H0: μ ≥ m`` a gambler starts with capital 1 and bets a
  predictable fraction ``λ_t`` on each sample being below ``m``:

      K_t(m) = Π_{s ≤ t} (1 + λ_s (m − y_s)),     0 ≤ λ_s ≤ c / (1 − m).

  Under H0, ``E[1 + λ_s (m − y_s) | past] = 1 + λ_s (m − μ) ≤ 1`` and the factors are ``≥ 1 − c > 0``,
  so ``K`` is a non-negative supermartingale and Ville's inequality gives
  ``P(max_{t ≤ N} K_t ≥ 1/α) ≤ α`` for *every* ``N`` and every distribution on ``[0, 1]`` with
  ``μ ≥ m``. The p-value is ``min(1, 1 / max_t K_t)``. Each factor is non-decreasing in ``m``
  (also where ``λ`` is capped), so the confidence set ``{m : max_t K_t(m) < 1/α}`` is an interval
  ``[0, u)`` and the test rejects iff ``m ≥ u``: the upper confidence bound ``u`` is found by
  bisection and agrees with the test up to the bisection's precision.

  Bets (their predictable plug-in, tuned for a fixed horizon N, one-sided level):
  ``λ_t = min(√(2 log(1/α) / (N σ̂²_{t−1})), c / (1 − m))`` with
  ``σ̂²_t = (1/4 + Σ_{s ≤ t} (y_s − μ̂_s)²) / (t + 1)``, ``μ̂_t = (1/2 + Σ_{s ≤ t} y_s) / (t + 1)``
  and ``c = 3/4``.

* **t**: Student's one-sided t-test. Asymptotically exact, but for the right-skewed, zero-inflated
  losses of sparse models it is anti-conservative for this (lower-tail) alternative: a sample with
  few non-zero losses has both a small mean and a small standard deviation. Kept for comparison
  (docs/statistics.md shows its size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps

FloatArray = NDArray[np.float64]

#: Largest fraction of capital bet on one sample (Waudby-Smith & Ramdas use 1/2 or 3/4).
BET_CAP = 0.75
_BISECTION_STEPS = 45
#: Bisection brackets stop this far inside [0, 1] (keeps c / m and c / (1 − m) finite).
_EDGE = 1e-12


@dataclass(frozen=True)
class OneSidedMean:
    """Outcome of a one-sided test of ``H0: μ ≥ m`` against ``μ < m`` (scaled units)."""

    statistic: float
    p_value: float
    upper: float  # one-sided (1 − α) upper confidence bound for μ
    interval: tuple[float, float]  # two-sided (1 − α) confidence interval for μ


def _variance_path(y: FloatArray) -> FloatArray:
    """Predictable variance estimates ``σ̂²_{t−1}``, t = 1..N (shape (N,))."""
    t = np.arange(1, y.size + 1, dtype=np.float64)
    mean_incl = (0.5 + np.cumsum(y)) / (t + 1)  # μ̂_t, uses y_1..y_t
    sq = np.cumsum((y - mean_incl) ** 2)
    var = (0.25 + sq) / (t + 1)  # σ̂²_t
    return np.concatenate(([0.25], var[:-1]))


class _Bettor:
    """Capital processes for one sample ``y`` (scaled into [0, 1]) and one level."""

    def __init__(self, y: FloatArray, alpha: float) -> None:
        self.y = y
        self.threshold = math.log(1.0 / alpha)
        self.raw_bet = np.sqrt(2.0 * self.threshold / (y.size * _variance_path(y)))

    def max_log_capital_below(self, m: float) -> float:
        """``max_{0 ≤ t ≤ N} log K_t(m)`` for ``H0: μ ≥ m`` (bets on small samples)."""
        if m <= 0.0:
            return 0.0
        lam = np.minimum(self.raw_bet, BET_CAP / (1.0 - m)) if m < 1.0 else self.raw_bet
        return max(0.0, float(np.max(np.cumsum(np.log1p(lam * (m - self.y))))))

    def max_log_capital_above(self, m: float) -> float:
        """``max_t log K_t(m)`` for ``H0: μ ≤ m`` (bets on large samples)."""
        if m >= 1.0:
            return 0.0
        lam = np.minimum(self.raw_bet, BET_CAP / m) if m > 0.0 else self.raw_bet
        return max(0.0, float(np.max(np.cumsum(np.log1p(lam * (self.y - m))))))

    def upper(self) -> float:
        """Smallest ``m`` rejected by the ``below`` test: the upper confidence bound."""
        lo, hi = 0.0, 1.0  # m = 0 is never rejected; everything < 1 is rejected near m = 1
        if self.max_log_capital_below(1.0 - _EDGE) < self.threshold:
            return 1.0
        for _ in range(_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            if self.max_log_capital_below(mid) >= self.threshold:
                hi = mid
            else:
                lo = mid
        return hi

    def lower(self) -> float:
        """Largest ``m`` rejected by the ``above`` test: the lower confidence bound."""
        lo, hi = 0.0, 1.0
        if self.max_log_capital_above(_EDGE) < self.threshold:
            return 0.0
        for _ in range(_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            if self.max_log_capital_above(mid) >= self.threshold:
                lo = mid
            else:
                hi = mid
        return lo


def betting_test_below(
    y: FloatArray, m: float, alpha: float, *, intervals: bool = True
) -> OneSidedMean:
    """Betting test of ``H0: E[y] ≥ m`` for ``y ∈ [0, 1]``, shape (N,); ``m ∈ [0, 1)``.

    ``statistic`` is ``max_t log K_t(m)``; the test rejects at level α iff it is ``≥ log(1/α)``.
    The two-sided interval runs each side at level α/2. ``intervals=False``: bounds are NaN.
    """
    bettor = _Bettor(y, alpha)
    statistic = bettor.max_log_capital_below(m)
    p_value = min(1.0, math.exp(-statistic))
    if not intervals:
        return OneSidedMean(statistic, p_value, math.nan, (math.nan, math.nan))
    two_sided = _Bettor(y, alpha / 2)
    interval = (two_sided.lower(), two_sided.upper())
    return OneSidedMean(statistic, p_value, bettor.upper(), interval)


def betting_interval(y: FloatArray, alpha: float) -> tuple[float, float]:
    """Two-sided ``(1 − α)`` betting confidence interval for ``E[y]``, ``y ∈ [0, 1]``."""
    bettor = _Bettor(y, alpha / 2)
    return bettor.lower(), bettor.upper()


def t_test_below(y: FloatArray, m: float, alpha: float) -> OneSidedMean:
    """Student's one-sided t-test of ``H0: E[y] ≥ m`` (asymptotic; see the module docstring).

    ``statistic`` is ``t = (ȳ − m) / (s / √N)``; p-value ``F_{t, N−1}(t)``. With ``s = 0`` the
    statistic is ``±inf`` (or 0 when ``ȳ = m``), which is where the test is most anti-conservative.
    """
    n = y.size
    mean = float(np.mean(y))
    se = float(np.std(y, ddof=1)) / math.sqrt(n)
    if se > 0:
        statistic = (mean - m) / se
    else:
        statistic = 0.0 if mean == m else math.copysign(math.inf, mean - m)
    p_value = float(sps.t.cdf(statistic, df=n - 1))
    upper = mean + float(sps.t.ppf(1 - alpha, df=n - 1)) * se
    half = float(sps.t.ppf(1 - alpha / 2, df=n - 1)) * se
    return OneSidedMean(statistic, p_value, upper, (mean - half, mean + half))
