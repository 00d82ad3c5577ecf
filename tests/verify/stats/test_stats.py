"""verify.stats: size and power with fixed seeds, input checks, reproducibility.

Statistical checks fix α and the seeds in advance, so every test here is deterministic. A size
check runs R replications of a test on a model that satisfies H0 and asserts that the number of
rejections stays below the 99.9% upper limit of Binomial(R, α): a level-α test passes with
probability ≥ 0.999 for *every* seed set, so a failure means the test is anti-conservative (or the
seeds are very unlucky, which the fixed seeds rule out once the test has passed). Power checks
state the sample size and the least power they accept.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats as sps

from theory.bounds import no_superposition_loss, no_superposition_solution
from theory.linear import expected_loss as linear_expected_loss
from verify import stats
from verify.stats.decoders import holm_adjust
from verify.stats.loss_problem import LossProblem, active_probability, loss_range, sample_active

ALPHA = 0.01
#: The Monte Carlo test: these checks are about its size, power and intervals, so they ask for it
#: (the default, loss="auto", uses the exact loss of these small models; tested at the end).
mc_test = functools.partial(stats.superposition_test, loss="monte_carlo")
ANTIPODAL = np.array([[1.0, -1.0]])  # n = 2, m = 1: an antipodal pair, in superposition


def binomial_limit(reps: int, alpha: float = ALPHA, tail: float = 1e-3) -> int:
    """Largest rejection count compatible with size ≤ alpha: P(Bin(reps, alpha) > limit) ≤ tail."""
    limit = 0
    while sps.binom.sf(limit, reps, alpha) > tail:
        limit += 1
    return limit


def test_binomial_limits_used_below():
    # The limits quoted in the docstrings below (and in docs/statistics.md).
    assert [binomial_limit(r) for r in (50, 100, 200, 1000)] == [4, 5, 8, 21]


def pentagon() -> np.ndarray:
    angles = 2 * np.pi * np.arange(5) / 5
    return np.stack([np.cos(angles), np.sin(angles)])  # (2, 5)


# --------------------------------------------------------------------------------------------
# superposition_test: the loss bound
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("importance", "density", "m", "n_samples"),
    [
        (np.ones(2), 0.01, 1, 300),  # the hardest case: zero-inflated losses, few samples
        (np.ones(2), 0.3, 1, 300),
        (0.7 ** np.arange(6), 0.05, 2, 500),
    ],
)
def test_size_at_the_no_superposition_optimum(importance, density, m, n_samples):
    # The exact optimum without superposition has E[loss] = B: H0 holds with equality. Over
    # R = 200 seeds a level-0.01 test rejects at most 8 times (P(Bin(200, 0.01) > 8) < 0.001).
    W, b = no_superposition_solution(importance, density, m)
    rejections = sum(
        mc_test(W, b, density, importance, n_samples=n_samples, alpha=ALPHA, seed=seed).reject
        for seed in range(200)
    )
    assert rejections <= binomial_limit(200)


def test_t_test_is_anti_conservative_where_betting_is_not():
    # Why "betting" is the default. At the boundary with n=10, m=9, density 0.01, only ~1 in 10
    # active examples has a non-zero loss (the dropped feature is active); with 30 samples, all
    # are zero w.p. 0.9^30 ≈ 0.04 and the t-test then rejects (mean 0 < B, s = 0). Its rejection
    # rate over 200 seeds is 0.175 here; the betting test's is 0.
    W, b = no_superposition_solution(np.ones(10), 0.01, 9)

    def rate(method):
        return np.mean(
            [
                mc_test(W, b, 0.01, np.ones(10), n_samples=30, method=method, seed=s).reject
                for s in range(200)
            ]
        )

    assert rate("t") > 10 * ALPHA
    assert rate("betting") <= binomial_limit(200) / 200


def test_linear_models_never_beat_the_bound():
    # Every linear model (orthogonal or not) has loss >= B (Eckart-Young), so H0's conclusion
    # holds for random non-orthogonal linear W too: size <= alpha (R = 100, limit 5).
    rng = np.random.default_rng(0)
    importance, density = 0.8 ** np.arange(6), 0.2
    rejections = 0
    for seed in range(100):
        W = rng.normal(size=(3, 6)) / math.sqrt(3)
        b = (np.eye(6) - W.T @ W) @ np.full(6, density / 2)  # the best bias for this W
        result = mc_test(W, b, density, importance, n_samples=300, seed=seed, activation="linear")
        assert result.loss_interval[0] <= linear_expected_loss(W, b, importance, density) + 0.05
        rejections += result.reject
    assert rejections <= binomial_limit(100)


@pytest.mark.parametrize("density", [0.003, 0.03, 0.3])
def test_power_on_the_antipodal_pair(density):
    # W = [1, -1], b = 0 loses p²/3 against B = p/3 - p²/4 (docs/theory_bounds.md §2). With 1000 active
    # samples the betting test rejects for every one of 50 seeds (power >= 0.9 is what we claim).
    results = [
        mc_test(ANTIPODAL, np.zeros(2), density, np.ones(2), n_samples=1000, seed=s)
        for s in range(50)
    ]
    assert np.mean([r.reject for r in results]) >= 0.9


def test_power_on_the_pentagon():
    # Unit pentagon, b = 0, density 0.05: loss ≈ 0.011 against B = 0.048 (n=5, m=2).
    results = [
        mc_test(pentagon(), np.zeros(5), 0.05, np.ones(5), n_samples=2000, seed=s)
        for s in range(20)
    ]
    assert all(r.reject for r in results)
    assert results[0].loss < results[0].bound


def test_interval_covers_the_exact_loss():
    # The antipodal pair's exact loss is 2 p²/6 (docs/theory_bounds.md §3). The two-sided 99% interval misses
    # it in at most 8 of 200 seeds (limit for alpha = 0.01), and the one-sided bound likewise.
    density = 0.2
    exact = density**2 / 3
    misses = upper_misses = 0
    for seed in range(200):
        r = mc_test(ANTIPODAL, np.zeros(2), density, np.ones(2), n_samples=300, seed=seed)
        misses += not (r.loss_interval[0] <= exact <= r.loss_interval[1])
        upper_misses += exact > r.loss_upper
        assert r.loss_interval[0] <= r.loss <= r.loss_interval[1]
    assert misses <= binomial_limit(200)
    assert upper_misses <= binomial_limit(200)


@pytest.mark.parametrize("method", ["betting", "t"])
def test_result_fields_are_consistent(method):
    r = mc_test(ANTIPODAL, np.zeros(2), 0.1, np.ones(2), n_samples=500, seed=3, method=method)
    assert r.bound == pytest.approx(0.1 / 3 - 0.01 / 4)
    assert r.active_probability == pytest.approx(1 - 0.9**2)
    assert r.reject == (r.p_value <= r.alpha)
    assert r.reject == (r.loss_upper < r.bound)
    assert r.gap == pytest.approx(r.bound - r.loss)
    assert (r.n_samples, r.alpha, r.seed, r.method) == (500, 0.01, 3, method)
    with pytest.raises(AttributeError):
        r.reject = False  # type: ignore[misc]


def test_betting_statistic_gives_the_p_value():
    r = mc_test(ANTIPODAL, np.zeros(2), 0.1, np.ones(2), n_samples=100, seed=0)
    assert r.p_value == pytest.approx(min(1.0, math.exp(-r.statistic)))


def test_no_bound_when_every_feature_fits():
    # m >= n: B = 0 and H0 (E[loss] >= 0) cannot be rejected.
    r = mc_test(np.eye(3), np.zeros(3), 0.1, np.ones(3), n_samples=100)
    assert r.bound == 0.0 and r.p_value == 1.0 and not r.reject


def test_reproducible_and_seed_dependent():
    args = (pentagon(), np.zeros(5), 0.05, np.ones(5))
    a = mc_test(*args, n_samples=400, seed=7)
    b = mc_test(*args, n_samples=400, seed=7)
    c = mc_test(*args, n_samples=400, seed=8)
    assert a == b
    assert a.loss != c.loss


def test_torch_and_numpy_inputs_agree():
    W, b = pentagon(), -0.1 * np.ones(5)
    a = mc_test(W, b, 0.05, np.ones(5), n_samples=300, seed=1)
    t = mc_test(
        torch.tensor(W, dtype=torch.float64),
        torch.tensor(b),
        0.05,
        torch.ones(5),
        n_samples=300,
        seed=1,
    )
    assert a == t


def test_per_feature_density_and_scalar_importance():
    p = np.array([0.05, 0.1, 0.2, 0.05, 0.1])
    r = mc_test(pentagon(), np.zeros(5), p, 1.0, n_samples=300)
    assert r.bound == pytest.approx(no_superposition_loss(np.ones(5), p, 2))


def test_loss_range_bounds_every_loss():
    # U from per-feature worst cases >= every per-example loss: random models, dense and sparse
    # samples, and the vertices of [0, 1]^n.
    rng = np.random.default_rng(1)
    vertices = np.array(np.meshgrid(*[[0.0, 1.0]] * 5)).reshape(5, -1).T  # (32, 5)
    for relu in (True, False):
        for _ in range(20):
            W, b, imp = rng.normal(size=(2, 5)), rng.normal(size=5), rng.uniform(0, 2, 5)
            problem = LossProblem(W, b, np.full(5, 0.5), imp, relu=relu)
            upper = loss_range(W, b, imp, relu=relu)
            x = np.vstack([rng.uniform(size=(2000, 5)), vertices])
            out = x @ (W.T @ W) + b
            out = np.maximum(out, 0) if relu else out
            assert np.max(((x - out) ** 2) @ imp) <= upper * (1 + 1e-12)
            assert np.max(problem.sample(2000, rng)) <= upper * (1 + 1e-12)


def test_conditional_sampler_and_decomposition():
    # x | x != 0 has P(x_i != 0) = p_i / q; the decomposition (1-q) l(0) + q E[l | active]
    # reproduces the exact loss of a linear model (theory.linear) within 4 standard errors.
    rng = np.random.default_rng(2)
    p = np.array([0.1, 0.3, 0.05, 0.01])
    x = sample_active(p, 200_000, rng)
    q = active_probability(p)
    assert np.all(np.any(x != 0, axis=1))
    freq = np.mean(x != 0, axis=0)
    assert np.all(np.abs(freq - p / q) < 4 * np.sqrt(freq * (1 - freq) / x.shape[0]))
    W = rng.normal(size=(2, 4))
    b = rng.normal(size=4) * 0.1
    imp = np.array([1.0, 0.5, 2.0, 1.0])
    problem = LossProblem(W, b, p, imp, relu=False)
    losses = problem.sample(200_000, rng)
    estimate = problem.unconditional(float(losses.mean()))
    stderr = q * losses.std() / math.sqrt(losses.size)
    assert abs(estimate - linear_expected_loss(W, b, imp, p)) < 4 * stderr


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (dict(W=np.ones(3)), ValueError, "shape (m, n)"),
        (dict(W=np.ones((1, 2, 3))), ValueError, "shape (m, n)"),
        (dict(W="abc"), TypeError, "'abc'"),
        (dict(b=np.zeros(3)), ValueError, "(2,)"),
        (dict(b=np.array([np.nan, 0.0])), ValueError, "finite"),
        (dict(density=0.0), ValueError, "(0, 1]"),
        (dict(density=1.5), ValueError, "1.5"),
        (dict(density=[0.1, 0.2, 0.3]), ValueError, "(2,)"),
        (dict(importance=[1.0, -1.0]), ValueError, "-1.0"),
        (dict(importance=[1.0, 1.0, 1.0]), ValueError, "(2,)"),
        (dict(alpha=0.0), ValueError, "(0, 1)"),
        (dict(alpha=1.0), ValueError, "1.0"),
        (dict(alpha="0.05"), TypeError, "'0.05'"),
        (dict(n_samples=1), ValueError, ">= 2"),
        (dict(n_samples=10.0), TypeError, "10.0"),
        (dict(seed=-1), ValueError, "-1"),
        (dict(activation="tanh"), ValueError, "'relu', 'linear'"),
        (dict(method="z"), ValueError, "'betting', 't'"),
    ],
)
def test_superposition_test_rejects_bad_input(kwargs, error, words):
    args: dict[str, Any] = dict(W=ANTIPODAL, b=np.zeros(2), density=0.1, importance=np.ones(2))
    args.update(kwargs)
    with pytest.raises(error) as info:
        mc_test(args.pop("W"), args.pop("b"), args.pop("density"), args.pop("importance"), **args)
    assert words in str(info.value)


# --------------------------------------------------------------------------------------------
# represented_count_test: seeds
# --------------------------------------------------------------------------------------------


def seeds_with_counts(counts, m=2, n=5) -> np.ndarray:
    """(k, m, n) weights whose first count_s columns have norm 1 and the rest norm 0.1."""
    W = np.zeros((len(counts), m, n))
    for s, c in enumerate(counts):
        W[s, 0, :] = 0.1
        W[s, 0, :c] = 1.0
    return W


def test_count_test_exact_binomial():
    # 8 of 10 seeds represent m + 1 = 3 features: p = P(Bin(10, 1/2) >= 8) = 56/1024.
    r = stats.represented_count_test(seeds_with_counts([3] * 8 + [2] * 2))
    assert r.counts.tolist() == [3] * 8 + [2] * 2
    assert (r.n_above, r.n_seeds, r.n_hidden, r.n_features) == (8, 10, 2, 5)
    assert r.p_value == pytest.approx(56 / 1024)
    assert not r.reject
    assert r.mean_count == pytest.approx(2.8)
    ci = sps.binomtest(8, 10).proportion_ci(confidence_level=0.99, method="exact")
    assert r.fraction_interval == pytest.approx((ci.low, ci.high))
    assert r.mean_count_interval[0] <= 2.8 <= r.mean_count_interval[1]
    # all ten seeds above m: p = 1/1024 <= 0.01
    r = stats.represented_count_test(seeds_with_counts([4] * 10))
    assert r.p_value == pytest.approx(1 / 1024) and r.reject
    assert r.fraction_lower > 0.5


def test_count_test_size_at_the_boundary():
    # Counts m or m + 1 with probability 1/2 each: pi = 1/2 exactly (H0 boundary). The exact
    # size at k = 10 is 1/1024; over 1000 simulated experiments at most 21 rejections at 0.01.
    rng = np.random.default_rng(3)
    rejections = sum(
        stats.represented_count_test(seeds_with_counts(2 + rng.integers(0, 2, 10))).reject
        for _ in range(1000)
    )
    assert rejections <= binomial_limit(1000)


def test_count_test_from_a_train_result():
    from toysup import FeatureConfig, ModelConfig, TrainConfig, train
    from toysup.metrics import n_represented

    features = FeatureConfig(
        n_features=4, n_instances=2, density=[[0.05] * 4, [1.0] * 4], importance=1.0
    )
    result = train(
        features,
        ModelConfig(n_features=4, n_hidden=2),
        TrainConfig(steps=300, batch_size=256, n_seeds=4, seed=0, lr=1e-2),
        progress=False,
        workers=1,
    )
    with pytest.warns(stats.UnderpoweredWarning, match="at least 7 seeds"):
        r = stats.represented_count_test(result, 1)
    assert r.counts.tolist() == n_represented(result.seed_W[1]).tolist()
    assert r.n_seeds == 4 and r.underpowered and r.seeds_needed == 7
    with pytest.raises(ValueError, match="pass config"):
        stats.represented_count_test(result)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        stats.represented_count_test(result, 2)
    with pytest.raises(ValueError, match="only accepted with a TrainResult"):
        stats.represented_count_test(result.seed_W[0], 0)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (dict(weights=np.ones((2, 3))), ValueError, "(k, m, n)"),
        (dict(threshold=0.0), ValueError, "> 0"),
        (dict(alpha=2.0), ValueError, "(0, 1)"),
        (dict(null_fraction=1.0), ValueError, "null_fraction"),
        (dict(weights=None), TypeError, "None"),
    ],
)
def test_count_test_rejects_bad_input(kwargs, error, words):
    args: dict[str, Any] = dict(weights=seeds_with_counts([3, 3]))
    args.update(kwargs)
    with pytest.raises(error) as info:
        stats.represented_count_test(args.pop("weights"), **args)
    assert words in str(info.value)


# --------------------------------------------------------------------------------------------
# decodability_test: hidden activations and features only
# --------------------------------------------------------------------------------------------


def toy_data(W, density, n_rows, seed):
    """Features x (N, n) from the toy distribution and the toy model's hidden h = W x (N, m)."""
    rng = np.random.default_rng(seed)
    n = W.shape[1]
    u = rng.random((n_rows, n))
    x = np.where(u < density, u / density, 0.0)
    return x @ W.T, x


def test_decodability_size_without_superposition():
    # Two orthonormal columns, three zero columns (the no-superposition optimum, n=5, m=2):
    # exactly m features depend on h, so a rejection needs a false discovery. R = 100, limit 5.
    W, _ = no_superposition_solution(np.ones(5), 0.1, 2)
    rejections, null_p = 0, list[float]()
    for seed in range(100):
        h, x = toy_data(W, 0.1, 600, seed)
        r = stats.decodability_test(h, x, seed=seed)
        rejections += r.reject
        assert r.decodable[:2].all()  # the represented features are found
        null_p.extend(r.p_values[2:])
    assert rejections <= binomial_limit(100)
    # per-feature permutation p-values are super-uniform: P(p <= 0.1) <= 0.1 (300 draws; 4 SE)
    assert np.mean(np.array(null_p) <= 0.1) <= 0.1 + 4 * math.sqrt(0.09 / 300)


@pytest.mark.parametrize(
    ("W", "density", "n_rows"),
    [(ANTIPODAL, 0.05, 2000), (pentagon(), 0.05, 2000)],
)
def test_decodability_power_in_superposition(W, density, n_rows):
    # Antipodal pair (n=2 > m=1) and pentagon (n=5 > m=2): every feature is decodable. With
    # 2000 examples the test rejects for all of 10 seeds (we claim power >= 0.9).
    results = [
        stats.decodability_test(*toy_data(W, density, n_rows, seed), seed=seed)
        for seed in range(10)
    ]
    assert all(r.reject for r in results)
    assert all(r.n_decodable == W.shape[1] for r in results)
    assert all(r.p_value <= ALPHA for r in results)


def test_correlated_features_break_the_assumption():
    # Documented limitation: feature 1 copies feature 0 and only feature 0 is represented. No
    # superposition, yet both are decodable, so the test counts 2 > m = 1.
    rng = np.random.default_rng(4)
    x0 = np.where(rng.random(1000) < 0.3, rng.random(1000), 0.0)
    x = np.column_stack([x0, x0, np.where(rng.random(1000) < 0.3, rng.random(1000), 0.0)])
    h = x[:, :1]
    r = stats.decodability_test(h, x)
    assert r.decodable.tolist() == [True, True, False]
    assert r.reject


def test_decodability_reproducible_and_torch():
    h, x = toy_data(ANTIPODAL, 0.1, 500, 0)
    a = stats.decodability_test(h, x, seed=5)
    b = stats.decodability_test(torch.tensor(h), torch.tensor(x), seed=5)
    np.testing.assert_array_equal(a.p_values, b.p_values)
    np.testing.assert_array_equal(a.correlation, b.correlation)
    assert (a.n_decodable, a.p_value, a.n_train, a.n_test) == (b.n_decodable, b.p_value, 250, 250)
    assert a.n_permutations == 999


def test_holm_adjustment():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 -> 0.02, 0.03, 0.06, 0.06
    np.testing.assert_allclose(holm_adjust(p), [0.03, 0.06, 0.06, 0.02])


def test_n_hidden_override_and_m_at_least_n():
    h, x = toy_data(ANTIPODAL, 0.1, 600, 1)
    assert stats.decodability_test(h, x, n_hidden=1).reject
    r = stats.decodability_test(h, x, n_hidden=2)  # m >= n: nothing to reject
    assert r.p_value == 1.0 and not r.reject


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (dict(hidden=np.ones(10)), ValueError, "(N, m)"),
        (dict(features=np.ones((11, 2))), ValueError, "(100, n)"),
        (dict(n_permutations=50), ValueError, "at least 199"),
        (dict(alpha=0.0), ValueError, "(0, 1)"),
        (dict(test_fraction=1.0), ValueError, "test_fraction"),
        (dict(n_hidden=0), ValueError, ">= 1"),
        (dict(hidden=np.ones((4, 1)), features=np.ones((4, 2))), ValueError, "too few examples"),
        (dict(features="x"), TypeError, "'x'"),
    ],
)
def test_decodability_rejects_bad_input(kwargs, error, words):
    h, x = toy_data(ANTIPODAL, 0.5, 100, 0)
    args: dict[str, Any] = dict(hidden=h, features=x)
    args.update(kwargs)
    with pytest.raises(error) as info:
        stats.decodability_test(args.pop("hidden"), args.pop("features"), **args)
    assert words in str(info.value)


# --------------------------------------------------------------------------------------------
# slow tier: trained models and larger replications
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_slow_size_at_the_boundary_many_seeds():
    # n=20, m=5, I=0.7^i at the exact optimum, density 0.03, 1000 active samples: R = 1000,
    # at most 21 rejections.
    importance = 0.7 ** np.arange(20)
    W, b = no_superposition_solution(importance, 0.03, 5)
    rejections = sum(
        mc_test(W, b, 0.03, importance, n_samples=1000, seed=s).reject for s in range(1000)
    )
    assert rejections <= binomial_limit(1000)


@pytest.mark.slow
def test_slow_trained_models():
    # Trained ReLU n=20, m=5 at density 0.05 are in superposition: the loss test rejects with
    # 20,000 active samples, the decodability test with 5,000 examples, and the count test over
    # 8 seeds. Trained linear models (loss >= B always) are not rejected by the loss test.
    from toysup import FeatureConfig, ModelConfig, TrainConfig, train

    importance = 0.7 ** np.arange(20)
    features = FeatureConfig(n_features=20, density=0.05, importance=importance)
    training = TrainConfig(steps=4000, n_seeds=8, seed=0)
    relu = train(features, ModelConfig(n_features=20, n_hidden=5), training, progress=False)
    linear = train(
        features,
        ModelConfig(n_features=20, n_hidden=5, activation="linear"),
        training,
        progress=False,
    )
    assert stats.represented_count_test(relu).reject
    assert not stats.represented_count_test(linear).reject
    for s in range(8):
        W, b = relu.seed_W[0, s], relu.seed_b[0, s]
        assert mc_test(W, b, 0.05, importance, n_samples=20_000, seed=s).reject
        assert stats.decodability_test(*toy_data(W, 0.05, 5000, s), seed=s).reject
        Wl, bl = linear.seed_W[0, s], linear.seed_b[0, s]
        result = mc_test(Wl, bl, 0.05, importance, n_samples=20_000, seed=s, activation="linear")
        assert not result.reject


# --------------------------------------------------------------------------------------------
# superposition_test with the exact loss (loss="exact" / "auto")
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("density", [0.003, 0.05, 0.3])
def test_exact_loss_of_the_antipodal_pair_is_the_closed_form(density):
    # W = [1, -1], b = 0 loses 2 p²/6 exactly (docs/theory_bounds.md §3): an independent closed
    # form for theory.landscape; the verdict needs no samples.
    r = stats.superposition_test(ANTIPODAL, np.zeros(2), density, np.ones(2))
    assert r.loss_source == "exact" and r.n_samples == 0
    assert r.loss == pytest.approx(density**2 / 3, rel=1e-12)
    assert r.reject and r.p_value == 0.0
    assert r.loss_stderr == 0.0 and r.loss_interval == (r.loss, r.loss) == (r.loss_upper,) * 2
    assert r.statistic == pytest.approx(r.bound - r.loss) and r.gap == pytest.approx(r.statistic)
    assert r.verdict.startswith("superposition: yes (exact loss")


@pytest.mark.parametrize(("n", "m", "density"), [(2, 1, 0.01), (6, 2, 0.05), (10, 9, 0.01)])
def test_exact_test_never_rejects_the_no_superposition_optimum(n, m, density):
    # The optimum without superposition has E[loss] = B exactly (theory.bounds, an independent
    # closed form): the exact loss must equal it to rounding and the verdict is "not shown".
    importance = 0.8 ** np.arange(n)
    W, b = no_superposition_solution(importance, density, m)
    r = stats.superposition_test(W, b, density, importance)
    assert r.loss_source == "exact"
    scale = float(np.sum(importance * density)) / 3
    assert abs(r.loss - r.bound) <= 1e-13 * scale
    assert not r.reject and r.p_value == 1.0
    assert r.verdict.startswith("superposition: not shown (exact loss")


def test_exact_loss_lies_in_the_monte_carlo_interval():
    # The pentagon at p = 0.05, b = -0.1 (docs/statistics.md §1.8): the Monte Carlo 99% interval
    # covers the exact loss (checked on 20 fixed seeds; at most 2 misses expected at 1%).
    W, b = pentagon(), np.full(5, -0.1)
    exact = stats.superposition_test(W, b, 0.05, np.ones(5), loss="exact")
    misses = 0
    for seed in range(20):
        mc = mc_test(W, b, 0.05, np.ones(5), n_samples=3000, seed=seed)
        misses += not (mc.loss_interval[0] <= exact.loss <= mc.loss_interval[1])
    assert misses <= 2
    assert exact.reject


def test_auto_uses_the_exact_loss_where_it_exists():
    rng = np.random.default_rng(0)
    relu12 = stats.superposition_test(rng.normal(size=(3, 12)) / 3, np.zeros(12), 0.02, 1.0)
    assert relu12.loss_source == "exact"
    relu13 = stats.superposition_test(np.eye(2, 13), np.zeros(13), 0.02, 1.0, n_samples=200)
    assert relu13.loss_source == "monte_carlo" and relu13.n_samples == 200
    linear = stats.superposition_test(
        np.eye(2, 13), np.zeros(13), 0.02, 1.0, activation="linear", n_samples=200
    )
    assert linear.loss_source == "exact"
    assert linear.loss == pytest.approx(
        linear_expected_loss(np.eye(2, 13), np.zeros(13), np.ones(13), 0.02), rel=1e-12
    )
    mc = stats.superposition_test(ANTIPODAL, np.zeros(2), 0.1, np.ones(2), loss="monte_carlo")
    assert mc.loss_source == "monte_carlo" and mc.n_samples == 100_000


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (dict(loss="exactly"), ValueError, "loss must be one of 'auto', 'exact', 'monte_carlo'"),
        (dict(loss=None), ValueError, "got None"),
    ],
)
def test_bad_loss_option(kwargs, error, words):
    with pytest.raises(error, match=words):
        stats.superposition_test(ANTIPODAL, np.zeros(2), 0.1, np.ones(2), **kwargs)


def test_exact_loss_refused_beyond_twelve_relu_features():
    with pytest.raises(ValueError, match=r"n <= 12 features .* n = 13"):
        stats.superposition_test(np.eye(2, 13), np.zeros(13), 0.02, 1.0, loss="exact")
