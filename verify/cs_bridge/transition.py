r"""The 50% point of a success curve, with a confidence interval from the binomial counts.

A recovery experiment gives, at increasing ρ_1 < … < ρ_K (ρ = k/m), s_j successes out of t_j
trials. The transition ρ_50 is where the success curve first drops below 1/2 (scanning ρ up),
interpolated linearly in ρ between the last point at or above 1/2 and the first below it (the
rule of ``theory.compressed_sensing.PhaseTransitionGrid.contour_50``).

Confidence interval by inverting the pointwise band: with Wilson intervals [L_j, U_j] at each ρ_j,
the same rule applied to the curve of L_j gives the low end, applied to U_j the high end. Because
L ≤ rate ≤ U pointwise and linear interpolation keeps that order, low ≤ ρ_50 ≤ high. The band is
pointwise (each point covers with probability ``confidence``), so the interval covers sampling
noise of the points next to the crossing; it does not cover the interpolation error between grid
points, which is of the order of the grid step where the curve is not locally linear.

Censoring: if the curve is below 1/2 at the first ρ the transition lies below the grid
(``censored="below"``, ``rho`` NaN, ``high`` the band's bound or ρ_1); if it never drops below
1/2 it lies above (``censored="above"``, ``rho`` NaN, ``low`` the band's bound or ρ_K). An interval
end that lies outside the grid is NaN (JSON null).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory.compressed_sensing import wilson_interval

FloatArray = NDArray[np.float64]
CENSORING = ("", "below", "above")


@dataclass(frozen=True)
class Transition:
    """The 50% point of one success curve.

    Attributes:
        rho: ρ_50, NaN when censored.
        low, high: the ``confidence`` interval; NaN for an end outside the grid.
        censored: "" (crossing inside the grid), "below" (already < 1/2 at the first ρ) or
            "above" (never < 1/2 within the grid).
        confidence: level of the pointwise Wilson band that was inverted.
    """

    rho: float
    low: float
    high: float
    censored: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN as None)."""
        return {
            "rho": _finite_or_none(self.rho),
            "low": _finite_or_none(self.low),
            "high": _finite_or_none(self.high),
            "censored": self.censored,
            "confidence": self.confidence,
        }


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def first_crossing(x: Any, y: Any, level: float = 0.5) -> tuple[float, str]:
    """Where the piecewise-linear curve (x_j, y_j) first drops below ``level`` (x increasing).

    Returns (x*, "") with x* interpolated linearly between the last point with y >= level and
    the first with y < level; (NaN, "below") if y_1 < level; (NaN, "above") if y_j >= level
    everywhere.
    """
    xs, ys = _curve(x, y)
    below = np.flatnonzero(ys < level)
    if below.size == 0:
        return math.nan, "above"
    j = int(below[0])
    if j == 0:
        return math.nan, "below"
    y0, y1 = ys[j - 1], ys[j]
    x0, x1 = xs[j - 1], xs[j]
    return float(x0 + (y0 - level) / (y0 - y1) * (x1 - x0)), ""


def transition_50(rho: Any, successes: Any, trials: Any, *, confidence: float = 0.95) -> Transition:
    """ρ_50 of a success curve and its interval (module docstring).

    Args:
        rho: (K,) strictly increasing ρ values (any real axis works).
        successes: (K,) integer counts.
        trials: (K,) or scalar integer trial counts, >= 1.
        confidence: level of the pointwise Wilson band, in (0, 1).
    """
    xs = _increasing("rho", rho)
    s = np.asarray(successes)
    t = np.broadcast_to(np.asarray(trials), s.shape)
    if s.shape != xs.shape:
        raise ValueError(
            f"successes must have the shape of rho {xs.shape}, got shape {s.shape}: {s!r}"
        )
    low_band, high_band = wilson_interval(s, t, confidence=confidence)  # validates the counts
    rate = s / t
    rho50, censored = first_crossing(xs, rate)
    low, low_cens = first_crossing(xs, np.asarray(low_band))
    high, high_cens = first_crossing(xs, np.asarray(high_band))
    if censored == "below" and high_cens == "below":
        high = float(xs[0])  # even the upper band is below 1/2 at the first point
    if censored == "above" and low_cens == "above":
        low = float(xs[-1])  # even the lower band stays at or above 1/2
    return Transition(rho50, low, high, censored, float(confidence))


def _curve(x: Any, y: Any) -> tuple[FloatArray, FloatArray]:
    xs = _increasing("x", x)
    ys = np.asarray(y, dtype=np.float64)
    if ys.shape != xs.shape or not np.all(np.isfinite(ys)):
        raise ValueError(
            f"y must be finite with the shape of x {xs.shape}, got shape {ys.shape}: {ys!r}"
        )
    return xs, ys


def _increasing(name: str, values: Any) -> FloatArray:
    xs = np.asarray(values, dtype=np.float64)
    if xs.ndim != 1 or xs.size < 1 or not np.all(np.isfinite(xs)) or np.any(np.diff(xs) <= 0):
        raise ValueError(
            f"{name} must be a non-empty, finite, strictly increasing 1-d array, got {values!r}"
        )
    return xs
