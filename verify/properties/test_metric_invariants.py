"""Invariants of toysup.metrics on arbitrary weights (tolerances in _checks.assert_metric_invariants).

The same checks run on every trained and checkpointed W (test_trainer, test_checkpoint).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from verify.properties._checks import assert_metric_invariants
from verify.strategies import no_superposition_models, superposition_models, weights

shapes = st.sampled_from([(1, 2), (2, 3)]) | st.tuples(st.integers(1, 4), st.integers(1, 6))


@given(W=shapes.flatmap(lambda s: weights(*s)), seed=st.integers(0, 2**32 - 1))
def test_dimensionality_bounds_rotation_and_sign_invariance(W, seed):
    assert_metric_invariants(W, np.random.default_rng(seed))


@given(example=superposition_models(), seed=st.integers(0, 2**32 - 1))
def test_invariants_on_antipodal_pairs(example, seed):
    assert_metric_invariants(example.W, np.random.default_rng(seed))


@given(example=no_superposition_models(), seed=st.integers(0, 2**32 - 1))
def test_invariants_without_superposition(example, seed):
    assert_metric_invariants(example.W, np.random.default_rng(seed))
