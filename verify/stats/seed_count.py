"""The represented-count test across seeds (docs/statistics.md §2).

From **several seeds** of one configuration: is the number of represented features
(``‖W_i‖ > 0.5``) typically above ``m``? Exact binomial (sign) test.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps

from theory._summary import Summarized, Summary, fmt, fmt_interval, fmt_p
from verify.stats import checks as chk
from verify.stats.common import REPRESENTED_THRESHOLD, FloatArray, _frozen
from verify.stats.from_result import config_index, is_train_result
from verify.stats.one_sided_mean import (
    betting_interval,
)


class UnderpoweredWarning(UserWarning):
    """The test has too few seeds to ever reject at its level."""


@dataclass(frozen=True, eq=False, repr=False)
class RepresentedCountResult(Summarized):
    """Outcome of :func:`represented_count_test`. ``k`` seeds, ``m`` hidden, ``n`` features.
    Printed, it is a verdict and a few lines.

    Attributes:
        counts: ``(k,)`` represented features per seed (``‖W_i‖ > threshold``).
        n_hidden, n_features, threshold: ``m``, ``n`` and the norm threshold.
        n_above: seeds with ``count > m``.
        fraction_above: ``π̂ = n_above / k``, estimate of ``π = P(count > m)``.
        fraction_interval: two-sided ``(1 − α)`` Clopper–Pearson interval for ``π``.
        fraction_lower: one-sided ``(1 − α)`` Clopper–Pearson lower bound for ``π``;
            ``reject`` iff it exceeds ``null_fraction``.
        mean_count: mean of ``counts``.
        mean_count_interval: two-sided ``(1 − α)`` interval for ``E[count]``, valid for every
            ``k`` (betting interval for a variable in ``[0, n]``).
        p_value: exact binomial p-value ``P(Bin(k, π0) ≥ n_above)`` of ``H0: π ≤ π0``.
        reject, alpha, null_fraction: decision, level, ``π0``.
        underpowered: ``π0^k > α``: even with every seed above ``m`` the p-value cannot reach
            ``α``, so the test cannot reject whatever the seeds show.
        seeds_needed: the fewest seeds that can reject, ``⌈log α / log π0⌉`` (7 at α = 0.01,
            π0 = 1/2).
    """

    counts: NDArray[np.int64]
    n_hidden: int
    n_features: int
    threshold: float
    n_above: int
    fraction_above: float
    fraction_interval: tuple[float, float]
    fraction_lower: float
    mean_count: float
    mean_count_interval: tuple[float, float]
    p_value: float
    reject: bool
    alpha: float
    null_fraction: float

    underpowered: bool = False
    seeds_needed: int = 0

    @property
    def n_seeds(self) -> int:
        return int(self.counts.size)

    @property
    def verdict(self) -> str:
        """One line: more than ``m`` features represented in a typical seed?"""
        what = f"more than m = {self.n_hidden} features represented"
        above = f"{self.n_above} of {self.n_seeds} seeds above m"
        if self.reject:
            return f"{what}: yes ({above}, p {fmt_p(self.p_value)})"
        if self.underpowered:
            return (
                f"{what}: cannot be shown with {self.n_seeds} seeds ({above}; the smallest "
                f"possible p is {fmt(self.null_fraction**self.n_seeds, 2)} > α = {fmt(self.alpha)}"
                f"; use at least {self.seeds_needed} seeds)"
            )
        return f"{what}: not shown ({above}, p {fmt_p(self.p_value)} > α = {fmt(self.alpha)})"

    def _summary(self) -> Summary:
        level = fmt(100 * (1 - self.alpha))
        shown = ", ".join(str(int(c)) for c in self.counts[:12])
        shown += ", …" if self.counts.size > 12 else ""
        return Summary(
            "RepresentedCountResult",
            self.verdict,
            [
                ("counts", f"{shown} of n = {self.n_features} (‖W_i‖ > {fmt(self.threshold)}); "
                           f"mean {fmt(self.mean_count)}, {level}% interval "
                           f"{fmt_interval(self.mean_count_interval)}"),
                ("seeds above m", f"{fmt(self.fraction_above)}, {level}% interval "
                                  f"{fmt_interval(self.fraction_interval)}; H0: at most "
                                  f"{fmt(self.null_fraction)}"),
                ("test", f"exact binomial (sign) test, p {fmt_p(self.p_value)}, α = "
                         f"{fmt(self.alpha)}"),
            ],
        )  # fmt: skip


def _seed_weights(weights: Any, config: Any) -> FloatArray:
    """``(k, m, n)`` weights from an array/tensor or from a TrainResult and a configuration."""
    if is_train_result(weights):
        index = config_index(weights, config)
        return chk.as_bounded_array(
            "result.seed_W", np.asarray(weights.seed_W)[index], what="an array (k, m, n)"
        )
    if config is not None:
        raise ValueError(
            f"config={config!r} is only accepted with a TrainResult; with an array of weights "
            "pass the (k, m, n) weights of one configuration"
        )
    w = chk.as_bounded_array(
        "weights", weights, what="an array of shape (k, m, n) or a TrainResult"
    )
    chk.check_shape("weights", w, (None, None, None), what="(k, m, n) (seeds, hidden, features)")
    if min(w.shape) < 1:
        raise ValueError(f"weights must have k, m, n >= 1, got shape {w.shape}")
    return w


def seeds_needed(alpha: float, null_fraction: float) -> int:
    """The fewest seeds ``k`` with ``π0^k <= α``: below it the test cannot reject."""
    return max(1, math.ceil(math.log(alpha) / math.log(null_fraction) - 1e-9))


def represented_count_test(
    weights: Any,
    config: int | None = None,
    *,
    threshold: float = REPRESENTED_THRESHOLD,
    alpha: float = 0.01,
    null_fraction: float = 0.5,
) -> RepresentedCountResult:
    """Do seeds of one configuration typically represent more than ``m`` features?

    Each of ``k`` independently trained seeds gives a count ``C_s = #{i : ‖W_i‖ > threshold}``.
    Assuming the seeds are i.i.d. draws of the training procedure (same configuration, independent
    initialisations and data streams: all seeds, never only a best-of-k survivor), the number of
    seeds with ``C_s > m`` is ``Binomial(k, π)``, ``π = P(C > m)``. The test of
    ``H0: π ≤ π0`` (default ``π0 = 1/2``: "the median seed represents at most ``m`` features") is
    the exact one-sided binomial (sign) test. A count above ``m`` is itself proof that *that* seed
    uses superposition (``m + 1`` non-zero columns cannot be pairwise orthogonal); the test is about
    the training procedure. With ``π0 = 1/2`` at least ``⌈log α / log π0⌉`` seeds are needed to be
    able to reject (7 at α = 0.01); with fewer the result says ``underpowered`` (and an
    :class:`UnderpoweredWarning` is issued) instead of reporting a p-value that could never pass.

    Args:
        weights: ``(k, m, n)`` weights of ``k`` seeds (array or tensor), or a
            :class:`toysup.TrainResult` (its ``seed_W[config]`` is used).
        config: configuration index into the TrainResult (may be omitted when it has one).
        threshold: norm above which a feature counts as represented (toysup's 0.5 by default).
        alpha: level in (0, 1); also sets the confidence level ``1 − α`` of the intervals.
        null_fraction: ``π0 ∈ (0, 1)``.

    Returns:
        A :class:`RepresentedCountResult`.
    """
    w = _seed_weights(weights, config)
    threshold = chk.check_positive("threshold", threshold)
    alpha = chk.check_alpha(alpha)
    null_fraction = chk.check_fraction("null_fraction", null_fraction)
    k, m, n = w.shape
    counts = np.sum(np.linalg.norm(w, axis=1) > threshold, axis=1).astype(np.int64)  # (k,)
    above = int(np.sum(counts > m))
    p_value = float(sps.binom.sf(above - 1, k, null_fraction))
    lower_one = _clopper_pearson_lower(above, k, alpha)
    interval = (
        _clopper_pearson_lower(above, k, alpha / 2),
        _clopper_pearson_upper(above, k, alpha / 2),
    )
    lo, hi = betting_interval(counts / n, alpha)
    needed = seeds_needed(alpha, null_fraction)
    underpowered = null_fraction**k > alpha
    if underpowered:
        warnings.warn(
            f"represented_count_test cannot reject with {k} seeds: even if every seed represents "
            f"more than m = {m} features, p = {null_fraction:g}^{k} = {null_fraction**k:.3g} > "
            f"alpha = {alpha:g}; use at least {needed} seeds",
            UnderpoweredWarning,
            stacklevel=2,
        )
    return RepresentedCountResult(
        counts=_frozen(counts),
        n_hidden=m,
        n_features=n,
        threshold=threshold,
        n_above=above,
        fraction_above=above / k,
        fraction_interval=interval,
        fraction_lower=lower_one,
        mean_count=float(np.mean(counts)),
        mean_count_interval=(lo * n, hi * n),
        p_value=p_value,
        reject=bool(p_value <= alpha),
        alpha=alpha,
        null_fraction=null_fraction,
        underpowered=underpowered,
        seeds_needed=needed,
    )


def _clopper_pearson_lower(successes: int, trials: int, alpha: float) -> float:
    """One-sided ``(1 − α)`` lower bound: the ``α`` quantile of Beta(x, k − x + 1)."""
    return 0.0 if successes == 0 else float(sps.beta.ppf(alpha, successes, trials - successes + 1))


def _clopper_pearson_upper(successes: int, trials: int, alpha: float) -> float:
    """One-sided ``(1 − α)`` upper bound: the ``1 − α`` quantile of Beta(x + 1, k − x)."""
    if successes == trials:
        return 1.0
    return float(sps.beta.ppf(1 - alpha, successes + 1, trials - successes))
