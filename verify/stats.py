"""Statistical tests for superposition (paper §"Superposition as a Phase Change"; issue 4).

Three tests, each answering "does this model use superposition?" from different evidence.
Derivations, validity arguments and calibration tables: docs/statistics.md.

* :func:`superposition_test` — from the **loss** of one model ``x' = f(WᵀWx + b)``. Without
  superposition the expected loss is at least ``B = theory.bounds.no_superposition_loss``
  (docs/theory_bounds.md §2). The model's loss is estimated on fresh samples and
  ``H0: E[ℓ] ≥ B`` is tested one-sidedly with a finite-sample-valid betting test for bounded
  variables (default) or a t-test (asymptotic).
* :func:`represented_count_test` — from **several seeds** of one configuration: is the number of
  represented features (``‖W_i‖ > 0.5``) typically above ``m``? Exact binomial (sign) test.
* :func:`decodability_test` — from **hidden activations and features only**: are more than ``m``
  features linearly decodable from ``h``? Held-out least squares, exact permutation p-values, Holm.

Conventions (DESIGN.md): ``W`` shape ``(m, n)``, ``b`` shape ``(n,)``, density ``p = 1 − S``,
``x_i = 0`` w.p. ``1 − p_i`` else ``Uniform[0, 1]``, loss ``L = E[Σ_i I_i (x_i − x'_i)²]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps

from verify import _stats_checks as chk
from verify._stats_decode import fit_decoders, holm_adjust, permutation_p_values
from verify._stats_loss import LossProblem
from verify._stats_mean import OneSidedMean, betting_interval, betting_test_below, t_test_below

__all__ = [
    "DecodabilityResult",
    "RepresentedCountResult",
    "SuperpositionTestResult",
    "decodability_test",
    "represented_count_test",
    "superposition_test",
]

FloatArray = NDArray[np.float64]

METHODS = ("betting", "t")
ACTIVATIONS = ("relu", "linear")
#: toysup.metrics.REPRESENTED_THRESHOLD, repeated so that importing this module stays light.
REPRESENTED_THRESHOLD = 0.5


def _frozen(arr: NDArray[Any]) -> NDArray[Any]:
    arr = np.array(arr)  # a private copy
    arr.setflags(write=False)
    return arr


# --------------------------------------------------------------------------------------------
# 1. The loss-bound test
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuperpositionTestResult:
    """Outcome of :func:`superposition_test`. Losses are summed over features (DESIGN.md).

    Attributes:
        statistic: ``"betting"``: ``max_t log K_t(B)``, the log of the largest capital of the
            betting process (reject iff ``≥ log(1/α)``); ``"t"``: ``t = (L̂ − B) / se``.
        p_value: one-sided p-value of ``H0: E[ℓ] ≥ B``.
        reject: ``p_value ≤ alpha``: the loss is significantly below every no-superposition model.
        loss: Monte Carlo estimate ``L̂`` (mean of ``n_samples`` per-example losses).
        loss_stderr: its standard error ``s / √N``.
        loss_upper: one-sided ``(1 − α)`` upper confidence bound for ``E[ℓ]``; ``reject`` iff
            ``loss_upper ≤ bound`` (up to bisection precision for ``"betting"``).
        loss_interval: two-sided ``(1 − α)`` confidence interval ``(lower, upper)`` for ``E[ℓ]``.
        bound: ``B``, the least loss without superposition.
        loss_range: ``U``, the upper bound on one example's loss used by the betting test.
        active_probability: ``q = 1 − Π_i (1 − p_i)``; the ``n_samples`` examples are drawn
            conditionally on at least one active feature, the all-zero example (probability
            ``1 − q``) enters with its exact loss ``Σ_i I_i f(b_i)²``.
        n_samples, alpha, seed, method, activation: the inputs.
    """

    statistic: float
    p_value: float
    reject: bool
    loss: float
    loss_stderr: float
    loss_upper: float
    loss_interval: tuple[float, float]
    bound: float
    loss_range: float
    active_probability: float
    n_samples: int
    alpha: float
    seed: int
    method: str
    activation: str

    @property
    def gap(self) -> float:
        """``B − L̂``: how far the estimated loss is below the bound (positive: below)."""
        return self.bound - self.loss


def superposition_test(
    W: Any,
    b: Any,
    density: Any,
    importance: Any,
    *,
    n_samples: int = 100_000,
    alpha: float = 0.01,
    seed: int = 0,
    activation: str = "relu",
    method: str = "betting",
) -> SuperpositionTestResult:
    """Test ``H0: the model uses no superposition`` through its loss (docs/statistics.md §1).

    Under H0 (non-zero columns of ``W`` pairwise orthogonal, ``f`` = ReLU or identity) the
    expected loss is ``≥ B = Σ_{n − m smallest} I_i (p_i/3 − p_i²/4)`` (docs/theory_bounds.md §2).
    The test draws ``n_samples`` fresh examples with at least one active feature (the all-zero
    example, probability ``1 − q``, has a known loss and enters exactly), computes their losses
    ``ℓ_j = Σ_i I_i (x_ji − x'_ji)² ∈ [0, U]`` and tests ``E[ℓ] ≥ B`` against ``E[ℓ] < B``.
    Rejecting says the loss is below what any no-superposition model can reach; it says nothing
    when a model with superposition has a loss above ``B``. Linear models never reject wrongly:
    every linear model, orthogonal or not, has loss ``≥ B`` (Eckart–Young).

    Args:
        W: weights, shape ``(m, n)`` (numpy array or torch tensor).
        b: bias, shape ``(n,)``.
        density: ``p_i ∈ (0, 1]``, a scalar or shape ``(n,)``.
        importance: ``I_i ≥ 0``, shape ``(n,)``.
        n_samples: fresh examples with at least one active feature, ``≥ 2``.
        alpha: level of the test and of the confidence bounds, in (0, 1).
        seed: seed of the numpy ``Generator`` that draws the examples (``≥ 0``).
        activation: ``"relu"`` (``x' = ReLU(WᵀWx + b)``) or ``"linear"``.
        method: ``"betting"`` (default): valid for every ``n_samples`` (Ville's inequality on a
            betting supermartingale; needs only ``0 ≤ ℓ ≤ U``); ``"t"``: one-sided Student t-test,
            asymptotic and anti-conservative for sparse features at small ``n_samples``
            (docs/statistics.md §1.4 shows by how much).

    Returns:
        A :class:`SuperpositionTestResult`.

    Raises:
        ValueError, TypeError: bad shapes or values (the message names the value).
    """
    w = chk.as_array("W", W, what="an array of shape (m, n)")
    chk.check_shape("W", w, (None, None), what="(m, n) (hidden, features) for one model")
    m, n = w.shape
    if m < 1 or n < 1:
        raise ValueError(f"W must have at least one row and one column, got shape {w.shape}")
    bias = chk.as_array("b", b, what=f"an array of shape ({n},)")
    chk.check_shape("b", bias, (n,), what=f"({n},) (one bias per feature; W has shape {w.shape})")
    p = chk.check_density(density, n)
    imp = chk.check_importance(importance, n)
    n_samples = chk.check_int("n_samples", n_samples, minimum=2)
    alpha = chk.check_alpha(alpha)
    seed = chk.check_seed(seed)
    chk.check_choice("activation", activation, ACTIVATIONS)
    chk.check_choice("method", method, METHODS)

    problem = LossProblem(w, bias, p, imp, relu=activation == "relu")
    upper = problem.loss_range
    rng = np.random.default_rng(seed)
    losses = problem.sample(n_samples, rng)
    outcome = _loss_test(losses, problem.conditional_bound, upper, alpha, method)
    return SuperpositionTestResult(
        statistic=float(outcome.statistic),
        p_value=float(outcome.p_value),
        reject=bool(outcome.p_value <= alpha),
        loss=problem.unconditional(float(np.mean(losses))),
        loss_stderr=problem.active_probability
        * float(np.std(losses, ddof=1))
        / math.sqrt(n_samples),
        loss_upper=problem.unconditional(outcome.upper),
        loss_interval=(
            problem.unconditional(outcome.interval[0]),
            problem.unconditional(outcome.interval[1]),
        ),
        bound=problem.bound,
        loss_range=upper,
        active_probability=problem.active_probability,
        n_samples=n_samples,
        alpha=alpha,
        seed=seed,
        method=method,
        activation=activation,
    )


def _loss_test(
    losses: FloatArray,
    bound: float,
    upper: float,
    alpha: float,
    method: str,
    *,
    intervals: bool = True,
) -> OneSidedMean:
    """Test ``H0: E[ℓ] ≥ bound`` from per-example losses ``(N,)`` in ``[0, upper]``.

    ``intervals=False`` skips the confidence bounds (NaN), which cost ~100 passes over the
    samples; bench/calibrate_stats.py uses it. Same p-value either way.
    """
    if bound >= upper:
        # Every loss is ≤ U ≤ B, so E[ℓ] < B as soon as one sample is < B: no statistics needed.
        # (Also correct for a bound of the conditional mean: the all-zero part is exact.)
        below = bool(np.any(losses < bound))
        return OneSidedMean(
            statistic=math.inf if below else 0.0,
            p_value=0.0 if below else 1.0,
            upper=upper,
            interval=(float(losses.min()), upper),
        )
    if method == "t":
        return t_test_below(losses, bound, alpha)
    scaled = betting_test_below(losses / upper, bound / upper, alpha, intervals=intervals)
    return OneSidedMean(
        statistic=scaled.statistic,
        p_value=scaled.p_value,
        upper=scaled.upper * upper,
        interval=(scaled.interval[0] * upper, scaled.interval[1] * upper),
    )


# --------------------------------------------------------------------------------------------
# 2. The test across seeds
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RepresentedCountResult:
    """Outcome of :func:`represented_count_test`. ``k`` seeds, ``m`` hidden, ``n`` features.

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

    @property
    def n_seeds(self) -> int:
        return int(self.counts.size)


def _seed_weights(weights: Any, config: Any) -> FloatArray:
    """``(k, m, n)`` weights from an array/tensor or from a TrainResult and a configuration."""
    if hasattr(weights, "seed_W") and hasattr(weights, "features"):  # a toysup TrainResult
        seed_w = chk.as_array("result.seed_W", weights.seed_W, what="an array (C, k, m, n)")
        n_configs = seed_w.shape[0]
        if config is None:
            if n_configs != 1:
                raise ValueError(
                    f"the TrainResult holds {n_configs} configurations: pass config, an integer "
                    f"in [0, {n_configs})"
                )
            config = 0
        config = chk.check_int("config", config, minimum=0)
        if config >= n_configs:
            raise ValueError(f"config must be in [0, {n_configs}), got {config}")
        return seed_w[config]
    if config is not None:
        raise ValueError(
            f"config={config!r} is only accepted with a TrainResult; with an array of weights "
            "pass the (k, m, n) weights of one configuration"
        )
    w = chk.as_array("weights", weights, what="an array of shape (k, m, n) or a TrainResult")
    chk.check_shape("weights", w, (None, None, None), what="(k, m, n) (seeds, hidden, features)")
    if min(w.shape) < 1:
        raise ValueError(f"weights must have k, m, n >= 1, got shape {w.shape}")
    return w


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
    able to reject (7 at α = 0.01).

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
    )


def _clopper_pearson_lower(successes: int, trials: int, alpha: float) -> float:
    """One-sided ``(1 − α)`` lower bound: the ``α`` quantile of Beta(x, k − x + 1)."""
    return 0.0 if successes == 0 else float(sps.beta.ppf(alpha, successes, trials - successes + 1))


def _clopper_pearson_upper(successes: int, trials: int, alpha: float) -> float:
    """One-sided ``(1 − α)`` upper bound: the ``1 − α`` quantile of Beta(x + 1, k − x)."""
    if successes == trials:
        return 1.0
    return float(sps.beta.ppf(1 - alpha, successes + 1, trials - successes))


# --------------------------------------------------------------------------------------------
# 3. The test from hidden activations and features
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DecodabilityResult:
    """Outcome of :func:`decodability_test`; arrays have one entry per feature, shape ``(n,)``.

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


def min_permutations(n_features: int, alpha: float) -> int:
    """Fewest permutations for which Holm can reject at all: ``1 / (P + 1) ≤ α / n``."""
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
    h = chk.as_array("hidden", hidden, what="an array of shape (N, m)")
    chk.check_shape("hidden", h, (None, None), what="(N, m) (examples, hidden units)")
    x = chk.as_array("features", features, what="an array of shape (N, n)")
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
