"""The loss-bound test for superposition (docs/statistics.md §1).

From the **loss** of one model ``x' = f(WᵀWx + b)``: without superposition the expected loss is at
least ``B = theory.bounds.no_superposition_loss`` (docs/theory_bounds.md §2). Where the expected
loss is known exactly (tied ReLU models with n <= 12 through :mod:`theory.landscape`, linear
models through :mod:`theory.linear`) it is compared with ``B`` directly — no sampling error, a
deterministic verdict (docs/statistics.md §1.8). Otherwise it is estimated on fresh samples and
``H0: E[ℓ] ≥ B`` is tested one-sidedly with a finite-sample-valid betting test for bounded
variables (default) or a t-test (asymptotic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from theory._summary import Summarized, Summary, fmt, fmt_interval, fmt_p
from verify.stats import checks as chk
from verify.stats.common import ACTIVATIONS, LOSS_SOURCES, METHODS, FloatArray
from verify.stats.from_result import is_train_result, seed_models, trained_model
from verify.stats.loss_problem import LossProblem
from verify.stats.one_sided_mean import (
    OneSidedMean,
    betting_test_below,
    t_test_below,
)


@dataclass(frozen=True, repr=False)
class SuperpositionTestResult(Summarized):
    """Outcome of :func:`superposition_test`. Losses are summed over features
    (docs/conventions.md). Printed, it is a verdict and a few lines.

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
        n_samples, alpha, seed, method, activation: the inputs (``n_samples`` is 0 when the
            loss is exact: nothing is sampled).
        loss_source: ``"exact"`` (the expected loss itself: ``loss_stderr`` 0, the interval a
            point, ``statistic`` = ``B − L``, ``p_value`` 0 when ``L`` is below ``B`` by more
            than rounding, else 1 — a deterministic comparison, α plays no role) or
            ``"monte_carlo"`` (the test above).
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
    loss_source: str = "monte_carlo"

    @property
    def gap(self) -> float:
        """``B − L̂``: how far the estimated loss is below the bound (positive: below)."""
        return self.bound - self.loss

    @property
    def verdict(self) -> str:
        """One line, e.g. ``superposition: yes (loss 0.00154 < bound 0.00545, p = 2e-83)``."""
        if self.loss_source == "exact":
            if self.reject:
                return f"superposition: yes (exact loss {fmt(self.loss)} < bound {fmt(self.bound)})"
            return (
                f"superposition: not shown (exact loss {fmt(self.loss)} ≥ bound {fmt(self.bound)})"
            )
        p = fmt_p(self.p_value)
        if self.reject:
            return f"superposition: yes (loss {fmt(self.loss)} < bound {fmt(self.bound)}, p {p})"
        return (
            f"superposition: not shown (loss {fmt(self.loss)}, bound {fmt(self.bound)}, "
            f"p {p} > α = {fmt(self.alpha)})"
        )

    def _summary(self) -> Summary:
        if self.loss_source == "exact":
            return Summary(
                "SuperpositionTestResult",
                self.verdict,
                [
                    ("loss", f"{fmt(self.loss)}: the exact expected loss (no sampling error)"),
                    ("bound", f"{fmt(self.bound)}: the least loss without superposition"),
                    ("test", "deterministic comparison of the exact loss with the bound "
                             f"(gap B − L = {fmt(self.statistic)}); p is 0 or 1"),
                    ("model", f"{self.activation} output"),
                ],
            )  # fmt: skip
        level = fmt(100 * (1 - self.alpha))
        return Summary(
            "SuperpositionTestResult",
            self.verdict,
            [
                ("loss", f"{fmt(self.loss)} ± {fmt(self.loss_stderr, 2)} (standard error); "
                         f"{level}% interval {fmt_interval(self.loss_interval)}"),
                ("bound", f"{fmt(self.bound)}: the least loss without superposition"),
                ("test", f"{self.method}, one-sided at α = {fmt(self.alpha)}: statistic "
                         f"{fmt(self.statistic)}, p {fmt_p(self.p_value)}; {level}% upper "
                         f"bound on the loss {fmt(self.loss_upper)}"),
                ("samples", f"{self.n_samples} examples with an active feature (q = "
                            f"{fmt(self.active_probability)}), seed {self.seed}, "
                            f"{self.activation} output"),
            ],
        )  # fmt: skip


def superposition_test(
    W: Any,
    b: Any = None,
    density: Any = None,
    importance: Any = None,
    *,
    config: int | None = None,
    n_samples: int = 100_000,
    alpha: float = 0.01,
    seed: int = 0,
    activation: str | None = None,
    method: str = "betting",
    loss: str = "auto",
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

    Two ways to call it::

        superposition_test(W, b, density, importance)   # one model, arrays
        superposition_test(result, 3)                    # configuration 3 of a TrainResult

    With a :class:`toysup.TrainResult` the best seed of configuration ``config`` (second
    positional argument, or ``config=``; may be left out when the result holds one) is tested on
    its own feature law and output activation; with the exact loss, "best" is the seed of lowest
    exact loss (the trainer's choice is by a Monte Carlo estimate).

    Where the expected loss is known exactly (``loss="exact"``, or ``"auto"`` for a ReLU model
    with n <= 12 — :func:`theory.landscape.expected_loss` — and any linear model —
    :func:`theory.linear.expected_loss`) nothing is sampled: ``reject`` iff the exact loss is below
    ``B`` by more than its rounding error (1e-12 of the loss scale ``Σ_i I_i p_i / 3``,
    docs/landscape.md §5.3), ``p_value`` is 0 or 1 and ``loss_source`` is ``"exact"``
    (docs/statistics.md §1.8).

    Args:
        W: weights, shape ``(m, n)`` (numpy array or torch tensor), or a TrainResult.
        b: bias, shape ``(n,)`` (with a TrainResult: the configuration index, or nothing).
        density: ``p_i ∈ (0, 1]``, a scalar or shape ``(n,)`` (nothing with a TrainResult).
        importance: ``I_i ≥ 0``, shape ``(n,)`` (nothing with a TrainResult).
        config: with a TrainResult, the configuration to test.
        n_samples: fresh examples with at least one active feature, ``≥ 2``.
        alpha: level of the test and of the confidence bounds, in (0, 1).
        seed: seed of the numpy ``Generator`` that draws the examples (``≥ 0``).
        activation: ``"relu"`` (``x' = ReLU(WᵀWx + b)``, the default for arrays) or
            ``"linear"``; with a TrainResult, its model's (giving another is an error).
        method: ``"betting"`` (default): valid for every ``n_samples`` (Ville's inequality on a
            betting supermartingale; needs only ``0 ≤ ℓ ≤ U``); ``"t"``: one-sided Student t-test,
            asymptotic and anti-conservative for sparse features at small ``n_samples``
            (docs/statistics.md §1.4 shows by how much). Unused with the exact loss.
        loss: ``"auto"`` (default: exact where available, else Monte Carlo), ``"exact"`` (an
            error where not available: ReLU models with n > 12) or ``"monte_carlo"``.

    Returns:
        A :class:`SuperpositionTestResult` (prints as a verdict and a few lines).

    Raises:
        ValueError, TypeError: bad shapes or values (the message names the value); entries of
            ``W`` or ``b`` above 1e150 in magnitude (the losses would overflow).
    """
    chk.check_choice("loss", loss, LOSS_SOURCES)
    if is_train_result(W):
        w, bias, p, imp, activation, seeds = _from_result(
            W, b, density, importance, config, activation
        )
    else:
        seeds = None
        if config is not None:
            raise ValueError(
                f"config={config!r} is only accepted with a TrainResult; with arrays pass W, b, "
                "density and importance of one model"
            )
        w = chk.as_bounded_array("W", W, what="an array of shape (m, n) or a TrainResult")
        chk.check_shape("W", w, (None, None), what="(m, n) (hidden, features) for one model")
        m, n = w.shape
        if m < 1 or n < 1:
            raise ValueError(f"W must have at least one row and one column, got shape {w.shape}")
        bias = chk.as_bounded_array("b", b, what=f"an array of shape ({n},)")
        chk.check_shape(
            "b", bias, (n,), what=f"({n},) (one bias per feature; W has shape {w.shape})"
        )
        p = chk.check_density(density, n)
        imp = chk.check_importance(importance, n)
        activation = "relu" if activation is None else activation
    n_samples = chk.check_int("n_samples", n_samples, minimum=2)
    chk.check_memory("n_samples", n_samples, 8.0 * n_samples, "the per-example losses")
    alpha = chk.check_alpha(alpha)
    seed = chk.check_seed(seed)
    chk.check_choice("activation", activation, ACTIVATIONS)
    chk.check_choice("method", method, METHODS)
    source = _loss_source(loss, activation, w.shape[1])
    if source == "exact":
        if seeds is not None:  # the kept seed by exact loss
            exact = [exact_expected_loss(sw, sb, p, imp, activation) for sw, sb in seeds]
            w, bias = seeds[int(np.argmin(exact))]
        return _exact_test(w, bias, p, imp, activation, alpha, seed, method)

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


def _loss_source(loss: str, activation: str, n: int) -> str:
    """``"exact"`` or ``"monte_carlo"`` for the ``loss`` option (see :func:`superposition_test`)."""
    from theory.landscape import MAX_EXACT_FEATURES

    available = activation == "linear" or n <= MAX_EXACT_FEATURES
    if loss == "exact" and not available:
        raise ValueError(
            f"loss='exact' needs a linear model or a ReLU model with n <= {MAX_EXACT_FEATURES} "
            f"features (all 2^n activity patterns are summed), got a ReLU model with n = {n}; "
            "use loss='monte_carlo' or 'auto'"
        )
    if loss == "monte_carlo" or not available:
        return "monte_carlo"
    return "exact"


def exact_expected_loss(
    W: FloatArray, b: FloatArray, density: FloatArray, importance: FloatArray, activation: str
) -> float:
    """The exact expected loss of one model (m, n): theory.landscape (ReLU, n <= 12) or
    theory.linear (linear)."""
    if activation == "linear":
        from theory.linear import expected_loss as linear_loss

        return float(linear_loss(W, b, importance, density))
    from theory.landscape import expected_loss

    return float(expected_loss(W, b, density, importance))


#: The exact loss is compared with B up to this fraction of the loss scale Σ_i I_i p_i / 3 (its
#: rounding error is below 5e-14 of that scale, docs/landscape.md §5.3).
EXACT_RTOL = 1e-12


def _exact_test(
    W: FloatArray,
    b: FloatArray,
    density: FloatArray,
    importance: FloatArray,
    activation: str,
    alpha: float,
    seed: int,
    method: str,
) -> SuperpositionTestResult:
    """The deterministic comparison of the exact expected loss with the bound."""
    problem = LossProblem(W, b, density, importance, relu=activation == "relu")
    value = exact_expected_loss(W, b, density, importance, activation)
    bound = problem.bound
    slack = EXACT_RTOL * float(np.sum(importance * density) / 3)
    reject = bool(value < bound - slack)
    return SuperpositionTestResult(
        statistic=bound - value,
        p_value=0.0 if reject else 1.0,
        reject=reject,
        loss=value,
        loss_stderr=0.0,
        loss_upper=value,
        loss_interval=(value, value),
        bound=bound,
        loss_range=problem.loss_range,
        active_probability=problem.active_probability,
        n_samples=0,
        alpha=alpha,
        seed=seed,
        method=method,
        activation=activation,
        loss_source="exact",
    )


def _from_result(
    result: Any, b: Any, density: Any, importance: Any, config: Any, activation: Any
) -> tuple[
    FloatArray, FloatArray, FloatArray, FloatArray, str, list[tuple[FloatArray, FloatArray]]
]:
    """``(W, b, density, importance, activation, seeds)`` of a TrainResult's configuration;
    ``seeds``: every seed's ``(W, b)``."""
    if b is not None and config is not None:
        raise ValueError(
            f"pass the configuration once: got {b!r} as the second argument and config={config!r}"
        )
    given = {"density": density, "importance": importance}
    extra = [name for name, value in given.items() if value is not None]
    if extra:
        raise ValueError(
            f"with a TrainResult, {' and '.join(extra)} come from its FeatureConfig; do not pass "
            f"{', '.join(f'{k}={given[k]!r}' for k in extra)}"
        )
    model = trained_model(result, config if b is None else b)
    if activation is not None and activation != model.activation:
        raise ValueError(
            f"activation={activation!r} contradicts the TrainResult's model, whose output "
            f"activation is {model.activation!r}; leave activation out"
        )
    return (
        model.W, model.b, model.density, model.importance, model.activation,
        seed_models(result, config if b is None else b),
    )  # fmt: skip


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
