"""The decodability test (docs/statistics.md §3).

From **hidden activations and features only**: are more than ``m`` features linearly decodable
from ``h``? Held-out least squares, exact permutation p-values, Holm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory._summary import Summarized, Summary, fmt, fmt_p, fmt_range
from verify.stats import checks as chk
from verify.stats.common import FloatArray, _frozen
from verify.stats.decoders import fit_decoders, holm_adjust, permutation_p_values


@dataclass(frozen=True, eq=False, repr=False)
class DecodabilityResult(Summarized):
    """Outcome of :func:`decodability_test`; arrays have one entry per feature, shape ``(n,)``.
    Printed, it is a verdict and a few lines.

    Attributes:
        n_decodable: features decodable at family-wise error ``α`` (Holm).
        decodable: ``(n,)`` which ones.
        p_values: ``(n,)`` one-sided permutation p-values of "x_i is independent of h".
        adjusted_p_values: ``(n,)`` Holm-adjusted p-values (``decodable`` iff ``≤ α``).
        correlation: ``(n,)`` held-out correlation between the decoded and the true feature.
        r2: ``(n,)`` held-out R² of the decoder (can be negative).
        n_hidden: ``m``, the number of decodable features allowed under H0.
        p_value: p-value of ``H0: at most m features depend on h`` (the Holm-adjusted p-value of
            the (m+1)-th most significant feature; 1 when ``m ≥ n``).
        reject: ``n_decodable > m``, equivalently ``p_value ≤ alpha``.
        alpha, n_permutations, n_train, n_test, seed: settings.
    """

    n_decodable: int
    decodable: NDArray[np.bool_]
    p_values: FloatArray
    adjusted_p_values: FloatArray
    correlation: FloatArray
    r2: FloatArray
    n_hidden: int
    p_value: float
    reject: bool
    alpha: float
    n_permutations: int
    n_train: int
    n_test: int
    seed: int

    @property
    def verdict(self) -> str:
        """One line: are more than ``m`` features decodable from the hidden activations?"""
        n = self.decodable.size
        count = f"{self.n_decodable} of {n} features decodable, m = {self.n_hidden}"
        if self.reject:
            return f"superposition: yes ({count}, p {fmt_p(self.p_value)})"
        return (
            f"superposition: not shown ({count}, p {fmt_p(self.p_value)} > α = {fmt(self.alpha)})"
        )

    def _summary(self) -> Summary:
        which = np.flatnonzero(self.decodable)
        shown = ", ".join(str(int(i)) for i in which[:16]) + (", …" if which.size > 16 else "")
        return Summary(
            "DecodabilityResult",
            self.verdict,
            [
                ("decodable", f"features {shown or 'none'} (Holm, family-wise α = "
                              f"{fmt(self.alpha)})"),
                ("held-out R²", fmt_range(self.r2)),
                ("correlation", fmt_range(self.correlation)),
                ("examples", f"{self.n_train} to fit, {self.n_test} to test; "
                             f"{self.n_permutations} permutations, seed {self.seed}"),
            ],
        )  # fmt: skip


#: Most permutations per feature accepted (p-values resolve to 1/(P+1) ≈ 1e-9).
MAX_PERMUTATIONS = 10**9


def min_permutations(n_features: int, alpha: float) -> int:
    """Fewest permutations for which Holm can reject at all: ``1 / (P + 1) ≤ α / n``."""
    n_features = chk.check_int("n_features", n_features, minimum=1)
    alpha = chk.check_alpha(alpha)
    return max(1, math.ceil(n_features / alpha) - 1)


def decodability_test(
    hidden: Any,
    features: Any,
    *,
    n_hidden: int | None = None,
    alpha: float = 0.01,
    seed: int = 0,
    n_permutations: int | None = None,
    test_fraction: float = 0.5,
    stop_after: int = 20,
) -> DecodabilityResult:
    """Are more than ``m`` features linearly decodable from the hidden activations?

    Needs only activations ``h`` (``(N, m)``) and the true features ``x`` (``(N, n)``) of the
    same ``N`` i.i.d. examples, so it applies to any layer of any model. Rows are split at random
    into training and test parts; each feature gets a least-squares decoder with intercept on the
    training rows; its held-out statistic (centred inner product of decoded and true feature on
    the test rows) gets an exact one-sided permutation p-value; Holm's step-down procedure counts
    the decodable features with family-wise error ``≤ α``. Reject iff that count exceeds ``m``.

    Why this tests superposition: with independent features and ``h = Wx`` (or any function of
    ``Wx``), a feature with ``W_i = 0`` is independent of ``h``. Without superposition at most
    ``m`` columns are non-zero, so at most ``m`` features depend on ``h`` and a count above ``m``
    needs a false discovery: ``P(reject) ≤ α`` (docs/statistics.md §3). **Assumption:** the
    features are mutually independent (at least, the unrepresented ones are independent of the
    represented ones). A feature correlated with a represented one is decodable through it, and
    the test then counts it.

    Args:
        hidden: ``(N, m)`` hidden activations (array or tensor).
        features: ``(N, n)`` the features of the same examples.
        n_hidden: ``m`` in H0 (default: ``hidden.shape[1]``).
        alpha: family-wise level in (0, 1).
        seed: seed of the numpy ``Generator`` for the split and the permutations.
        n_permutations: permutations per feature (default ``max(999, 2⌈n/α⌉ − 1)``); at least
            ``⌈n/α⌉ − 1`` so that the smallest p-value ``1/(P + 1)`` can pass Holm's first step.
        test_fraction: share of rows held out for testing, in (0, 1).
        stop_after: Besag–Clifford early stopping: a feature stops after this many permuted
            statistics reach its own (its p-value is then ``stop_after / L``, still exact).

    Returns:
        A :class:`DecodabilityResult`.
    """
    h = chk.as_bounded_array("hidden", hidden, what="an array of shape (N, m)")
    chk.check_shape("hidden", h, (None, None), what="(N, m) (examples, hidden units)")
    x = chk.as_bounded_array("features", features, what="an array of shape (N, n)")
    chk.check_shape("features", x, (h.shape[0], None), what=f"({h.shape[0]}, n) (same N as hidden)")
    n_rows, width = h.shape
    n = x.shape[1]
    if n < 1 or width < 1:
        raise ValueError(
            f"hidden and features need at least one column, got shapes {h.shape} and {x.shape}"
        )
    m = width if n_hidden is None else chk.check_int("n_hidden", n_hidden, minimum=1)
    alpha = chk.check_alpha(alpha)
    seed = chk.check_seed(seed)
    test_fraction = chk.check_fraction("test_fraction", test_fraction)
    stop_after = chk.check_int("stop_after", stop_after, minimum=1)
    least = min_permutations(n, alpha)
    if n_permutations is None:
        n_permutations = max(999, 2 * least + 1)
    n_permutations = chk.check_int("n_permutations", n_permutations, minimum=1)
    if n_permutations > MAX_PERMUTATIONS:
        raise ValueError(
            f"n_permutations={n_permutations} is more than {MAX_PERMUTATIONS:.0e}: p-values finer "
            "than 1e-9 cannot change a decision at any sensible alpha, and the run would take "
            "days; use fewer"
        )
    if n_permutations < least:
        raise ValueError(
            f"n_permutations={n_permutations} is too few for n={n} features at alpha={alpha}: the "
            f"smallest p-value 1/(P+1) must be <= alpha/n, so use at least {least}"
        )
    n_test = round(test_fraction * n_rows)
    n_train = n_rows - n_test
    if n_test < 3 or n_train < width + 2:
        raise ValueError(
            f"too few examples: N={n_rows} with test_fraction={test_fraction} gives {n_train} "
            f"training rows (need >= m + 2 = {width + 2}) and {n_test} test rows (need >= 3)"
        )

    rng = np.random.default_rng(seed)
    order = rng.permutation(n_rows)
    train, test = order[:n_train], order[n_train:]
    fit = fit_decoders(h[train], x[train], h[test], x[test])
    p, _ = permutation_p_values(
        h[test], x[test], fit, n_permutations=n_permutations, stop_after=stop_after, rng=rng
    )
    adjusted = holm_adjust(p)
    decodable = adjusted <= alpha
    count = int(np.sum(decodable))
    p_value = float(np.sort(adjusted)[m]) if m < n else 1.0
    return DecodabilityResult(
        n_decodable=count,
        decodable=_frozen(decodable),
        p_values=_frozen(p),
        adjusted_p_values=_frozen(adjusted),
        correlation=_frozen(fit.correlation),
        r2=_frozen(fit.r2),
        n_hidden=m,
        p_value=p_value,
        reject=bool(count > m),
        alpha=alpha,
        n_permutations=n_permutations,
        n_train=n_train,
        n_test=n_test,
        seed=seed,
    )
