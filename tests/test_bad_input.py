"""Bad input to library functions: one test per kind of failure that bench/audit_inputs.py found,
each over the cases of that kind (the audit has the full catalogue; docs/robustness.md).

Every case must end in a ``ValueError``/``TypeError`` whose message names the argument and shows
the offending value, or, where the input is a valid edge case, in a correct result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import theory.bounds as bounds
import theory.compressed_sensing as cs
import theory.linear as linear
import theory.n2m1 as n2m1
import theory.n3m2 as n3m2
import toysup.metrics as metrics
from toysup import FeatureConfig, ModelConfig, TrainConfig, loss_per_instance, reconstruct, train
from toysup import sample_features as draw
from verify import compare, stats, strategies

W = np.array([[1.0, -1.0]])
RNG = np.random.default_rng
ONES3 = np.ones(3)


def _cases(*rows):
    return pytest.mark.parametrize(("call", "error", "words"), [r[1:] for r in rows],
                                   ids=[r[0] for r in rows])  # fmt: skip


def _check(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@_cases(
    ("FeatureConfig density True", lambda: FeatureConfig(n_features=2, density=True), TypeError, ["density", "True"]),
    ("FeatureConfig bool importances", lambda: FeatureConfig(n_features=3, importance=np.ones(3, bool)), TypeError, ["importance", "bool"]),
    ("bound density True", lambda: bounds.no_superposition_loss(ONES3, True, 1), TypeError, ["density", "True"]),
    ("bound importance strings", lambda: bounds.no_superposition_loss(np.array(["1", "2"]), 0.1, 1), TypeError, ["importance", "'1'"]),
    ("test density True", lambda: stats.superposition_test(W, np.zeros(2), True, np.ones(2)), TypeError, ["density", "True"]),
    ("test W strings", lambda: stats.superposition_test(W.astype(str), np.zeros(2), 0.1, np.ones(2)), TypeError, ["W", "'1.0'"]),
    ("threshold delta string", lambda: cs.weak_threshold("0.5"), TypeError, ["delta", "'0.5'"]),
    ("cell edges strings", lambda: compare.cell_edges(["0.1", "1"]), TypeError, ["axis", "'0.1'"]),
    ("metrics bool W", lambda: metrics.feature_norms(np.ones((1, 2), bool)), TypeError, ["W", "bool"]),
    ("candidates importance True", lambda: n3m2.candidate_losses(True, 0.3), TypeError, ["importance", "True"]),
)  # fmt: skip
def test_bools_and_strings_are_not_numbers(call, error, words):
    """numpy turns True into 1.0 and "0.5" into 0.5; a density of True was silently 1."""
    _check(call, error, words)


@_cases(
    ("test W 1e200", lambda: stats.superposition_test(W * 1e200, np.zeros(2), 0.1, np.ones(2)), ValueError, ["W", "1e+200"]),
    ("test importance 1e200", lambda: stats.superposition_test(W, np.zeros(2), 0.1, [1e200, 1]), ValueError, ["importance", "1e+200"]),
    ("interference 1e200", lambda: metrics.interference(W[None] * 1e200), ValueError, ["W", "1e+200"]),
    ("linear loss 1e200", lambda: linear.expected_loss(W * 1e200, np.zeros(2), np.ones(2), 0.1), ValueError, ["W", "1e+200"]),
    ("recovery y 1e200", lambda: cs.recover_l1(np.eye(2), [1e200, 0], method="linprog"), ValueError, ["y", "1e+200"]),
    ("decodability 1e200", lambda: stats.decodability_test(np.ones((20, 1)) * 1e200, np.ones((20, 2))), ValueError, ["hidden", "1e+200"]),
)  # fmt: skip
def test_huge_finite_values_are_refused_not_turned_into_nan(call, error, words):
    """WᵀW or squared errors of entries ~1e200 overflow: the superposition test returned p = 1 and
    reject False on such a W; metrics returned NaN."""
    _check(call, error, words)


def test_huge_values_that_can_be_computed_are():
    """Scale-free quantities need no refusal: the relative error of [1e200, 0] is exactly 1."""
    assert cs.relative_error(np.array([0.0, 0.0]), np.array([1e200, 0.0])) == 1.0
    assert cs.relative_error(np.array([2e200, 0.0]), np.array([1e200, 0.0])) == 1.0


@_cases(
    ("FeatureConfig n_features", lambda: FeatureConfig(n_features=10**15), ValueError, ["n_features", "GiB"]),
    ("sample_features batch", lambda: draw([[0.5]], 10**15, generator=0), ValueError, ["batch_size", "GiB"]),
    ("train batch", lambda: train(FeatureConfig(n_features=2), ModelConfig(n_features=2, n_hidden=1), TrainConfig(batch_size=10**15), progress=False), ValueError, ["batch_size", "GiB"]),
    ("test n_samples", lambda: stats.superposition_test(W, np.zeros(2), 0.1, np.ones(2), n_samples=10**15), ValueError, ["n_samples", "GiB"]),
    ("gaussian matrix", lambda: cs.gaussian_matrix(10**15, 5, RNG(0)), ValueError, ["m", "GiB"]),
    ("bound solution m", lambda: bounds.no_superposition_solution(ONES3, 0.1, 10**15), ValueError, ["m", "GiB"]),
    ("grid trials", lambda: cs.phase_transition_grid(8, [0.5], [0.5], trials=10**15, seed=0, method="linprog"), ValueError, ["trials", "GiB"]),
    ("bootstrap n_boot", lambda: compare.bootstrap_labels(np.full((1, 1, 2), "a"), np.ones((1, 1, 2)), n_boot=10**15, rng=RNG(0)), ValueError, ["n_boot", "GiB"]),
    ("permutations", lambda: stats.decodability_test(np.ones((20, 1)), np.ones((20, 2)), n_permutations=10**15), ValueError, ["n_permutations", "fewer"]),
)  # fmt: skip
def test_sizes_no_machine_holds_are_refused_up_front(call, error, words):
    """They died of MemoryError (or a torch allocator RuntimeError, or ran for ever) without
    naming the option."""
    _check(call, error, words)


@_cases(
    ("density_vector density 2", lambda: cs.density_vector(8, 2.0, RNG(0)), ValueError, ["density", "2.0"]),
    ("density_vector density -1", lambda: cs.density_vector(8, -1.0, RNG(0)), ValueError, ["density", "-1.0"]),
    ("sparse_vector k 0", lambda: cs.sparse_vector(8, 0, RNG(0)), ValueError, ["k", "0"]),
    ("gaussian_matrix m 0", lambda: cs.gaussian_matrix(0, 4, RNG(0)), ValueError, ["m", "0"]),
    ("wilson trials inf", lambda: cs.wilson_interval(3, np.inf), ValueError, ["trials", "inf"]),
    ("n_represented threshold -1", lambda: metrics.n_represented(W[None], threshold=-1.0), ValueError, ["threshold", "-1.0"]),
    ("min_permutations alpha 0", lambda: stats.min_permutations(3, 0.0), ValueError, ["alpha", "0.0"]),
    ("eval_samples 1", lambda: TrainConfig(eval_samples=1), ValueError, ["eval_samples", "1"]),
    ("float32 underflow", lambda: train(FeatureConfig(n_features=2, density=1e-300), ModelConfig(n_features=2, n_hidden=1), TrainConfig(steps=1), progress=False), ValueError, ["density", "1e-300", "float64"]),
)  # fmt: skip
def test_out_of_range_values_are_refused(call, error, words):
    """Each was used as given: a density of 2 drew every feature, k = 0 an empty vector, one
    evaluation example a standard error of 0, a float32 density of 1e-300 a NaN deep inside."""
    _check(call, error, words)


@_cases(
    ("sparse_vector distribution", lambda: cs.sparse_vector(8, 2, RNG(0), value_distribution="normal"), ValueError, ["value_distribution", "'normal'"]),
    ("density_vector distribution", lambda: cs.density_vector(8, 0.5, RNG(0), value_distribution="Uniform"), ValueError, ["value_distribution", "'Uniform'"]),
    ("loss reduction", lambda: loss_per_instance(torch.ones(1, 1, 2), torch.zeros(1, 2), torch.ones(1, 3, 2), torch.ones(1, 2), reduction="max"), ValueError, ["reduction", "'max'"]),
    ("reconstruct activation", lambda: reconstruct(torch.ones(1, 1, 2), torch.zeros(1, 2), torch.ones(1, 3, 2), activation="tanh"), ValueError, ["activation", "'tanh'"]),
    ("train_configs device", lambda: strategies.train_configs(device="tpu"), ValueError, ["device", "'tpu'"]),
    ("weights allow_zero", lambda: strategies.weights(2, 3, allow_zero="yes"), TypeError, ["allow_zero", "'yes'"]),
)  # fmt: skip
def test_unknown_options_are_refused_not_replaced(call, error, words):
    """An unknown value distribution drew ones; an unknown reduction summed; an unknown activation
    was linear."""
    _check(call, error, words)


@_cases(
    ("phase label NaN W", lambda: metrics.phase_label_n2m1(np.array([[[np.nan, 1.0]]])), ValueError, ["W", "nan"]),
    ("dimensionality inf W", lambda: metrics.dimensionality(np.full((1, 2, 3), np.inf)), ValueError, ["W", "inf"]),
    ("relative error NaN", lambda: cs.relative_error(np.array([np.nan, 0]), np.ones(2)), ValueError, ["x_hat", "nan"]),
    ("decades negative", lambda: compare.decades([-1.0], [1.0]), ValueError, ["estimate", "-1.0"]),
    ("select NaN loss", lambda: compare.select_labels(np.full((1, 1, 2), "a"), [[[np.nan, 1.0]]]), ValueError, ["seed_loss", "nan"]),
    ("recover NaN matrix", lambda: cs.recover_l1(np.array([[np.nan] + [1.0] * 9] * 2), [1.0, 1.0], method="linprog"), ValueError, ["A", "NaN"]),
)  # fmt: skip
def test_nan_and_inf_are_refused_and_shown(call, error, words):
    """phase_label_n2m1 of a NaN W returned "none"; messages about large arrays hid the NaN
    behind nanmin/nanmax."""
    _check(call, error, words)


@_cases(
    ("reconstruct x", lambda: reconstruct(torch.ones(1, 2, 3), torch.zeros(1, 3), torch.ones(1, 4, 4)), ValueError, ["x", "(1, 4, 4)"]),
    ("loss importance", lambda: loss_per_instance(torch.ones(1, 2, 3), torch.zeros(1, 3), torch.ones(1, 4, 3), torch.ones(1, 4)), ValueError, ["importance", "(1, 4)"]),
    ("select seed_loss", lambda: compare.select_labels(np.full((1, 1, 2), "a"), np.ones((1, 1, 3))), ValueError, ["seed_loss", "(1, 1, 3)"]),
    ("min_permutations inf", lambda: stats.min_permutations(np.inf, 0.01), TypeError, ["n_features", "inf"]),
    ("sparse_vector rng", lambda: cs.sparse_vector(4, 2, 0), TypeError, ["rng", "0"]),
    ("recover bool matrix", lambda: cs.recover_l1(np.ones((2, 4), bool), [1.0, 1.0], method="linprog"), TypeError, ["A", "bool"]),
)  # fmt: skip
def test_no_raw_exception_from_inside(call, error, words):
    """These ended in RuntimeError from torch, IndexError, OverflowError, AttributeError or the
    LP solver's RecoveryError, none naming the argument."""
    _check(call, error, words)


@_cases(
    ("strategies min_density", lambda: strategies.feature_configs(min_density=0.0), ValueError, ["min_density", "0.0"]),
    ("strategies max_importance", lambda: strategies.n2m1_parameters(max_importance=-1.0), ValueError, ["max_importance", "-1.0"]),
    ("agreement shapes", lambda: compare.agreement(np.full((2, 2), "a"), np.full((1, 2), "a")), ValueError, ["second map", "(1, 2)"]),
    ("gaussian matrix huge n", lambda: cs.gaussian_matrix(3, 10**15, RNG(0)), ValueError, ["n = 1000000000000000"]),
)  # fmt: skip
def test_messages_name_the_argument_the_caller_passed(call, error, words):
    """The errors came from an inner call and named its argument (min_value, max_value, maps,
    m × n), not the caller's."""
    _check(call, error, words)


def test_valid_edge_cases_give_correct_results():
    """Edges that are valid: an empty label map has an empty boundary; zero importances a zero
    bound; a density of exactly 1 the dense bound 1/12 per dropped feature."""
    empty = compare.boundary_from_labels(np.empty((2, 0), dtype=str), [0.1, 1.0])
    assert empty.density.shape == (0,)
    assert bounds.no_superposition_loss(np.zeros(3), 0.5, 1) == 0.0
    assert bounds.no_superposition_loss(ONES3, 1.0, 1) == pytest.approx(2 / 12, rel=1e-15)


@_cases(
    ("n2m1 starts 1e15", lambda: n2m1.exact_optimum(1.0, 0.1, n_random=10**15), ValueError, ["n_random", "1000000000000000"]),
    ("n2m1 seed -1", lambda: n2m1.exact_optimum(1.0, 0.1, seed=-1), ValueError, ["seed", "-1"]),
    ("n3m2 seed -1", lambda: n3m2.exact_optimum(1.0, 0.1, seed=-1), ValueError, ["seed", "-1"]),
    ("n2m1 threshold True", lambda: n2m1.phase_label([1.0, 0.0], threshold=True), ValueError, ["threshold", "True"]),
)  # fmt: skip
def test_exact_optimisers_refuse_unusable_options(call, error, words):
    """A start count of 1e15 died of MemoryError, a negative seed in numpy's own words, and a
    threshold of True was taken as 1."""
    _check(call, error, words)
