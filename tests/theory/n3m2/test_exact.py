"""theory.n3m2 exact optimum: labels, optimality against the candidates, boundary, cache."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from theory import landscape, n2m1, n3m2
from toysup.metrics import phase_label_n3m2


@settings(max_examples=50)
@given(
    arrays(np.float64, (5, 2, 3), elements=st.floats(-1.5, 1.5)),
    st.floats(0.05, 1.2),
    st.floats(-1.0, 0.0),
)
def test_labels_equal_the_trainer_rule(w, threshold, cosine):
    # verify/ compares trained labels (toysup.metrics) with these: the rules must agree exactly,
    # at the default and at any threshold (the sensitivity study relabels both).
    assert np.array_equal(n3m2.phase_label(w), phase_label_n3m2(w))
    assert np.array_equal(
        n3m2.phase_label(w, threshold=threshold, antipodal_cosine=cosine),
        phase_label_n3m2(w, threshold=threshold, antipodal_cosine=cosine),
    )
    # The labels partition W by the number of represented features.
    count = (np.linalg.norm(w, axis=-2) > 0.5).sum(-1)
    labels = n3m2.phase_label(w)
    assert np.array_equal(np.isin(labels, n3m2.SUPERPOSITION_PHASES), count == 3)
    assert np.array_equal(labels == "other", count <= 1)


def test_labels_of_the_candidates():
    for label in n3m2.LABELS:
        w, _ = n3m2.candidate_solution(label, 0.3)
        assert n3m2.phase_label(w) == label
    assert set(
        np.unique(n3m2.phase_label(np.random.default_rng(0).normal(size=(200, 2, 3))))
    ) <= set(n3m2.PHASES)


POINTS = [(0.3, 0.05), (0.5, 0.3), (2.0, 0.7), (1.0, 0.7)]


def test_exact_optimum_is_never_worse_than_a_candidate_and_is_a_minimum():
    r, p = np.array(POINTS).T
    opt = n3m2.exact_optimum(r, p)
    assert opt.converged.all()
    for bias in n3m2.BIASES:
        cand = n3m2.candidate_losses(r, p, bias=bias)
        best = np.min(np.stack([np.asarray(v) for v in cand.values()]), axis=0)
        # Candidates are points of the same landscape: the optimum is at most their loss (up to
        # rounding of two different evaluations, 1e-13 relative).
        assert np.all(opt.loss <= best * (1 + 1e-13))
    imp = np.stack([np.ones_like(r), np.ones_like(r), r], axis=-1)
    loss, g_w, g_b, hess = landscape.expected_loss_grad_hess(opt.W, opt.b, p[:, None], imp)
    assert np.allclose(loss, opt.loss, rtol=1e-14, atol=0)
    # Stationary (the Newton stop is at the loss's rounding level: |g| ~ sqrt(ε L λ)) and the
    # Hessian is positive semi-definite up to the flat rotation of the hidden plane.
    assert np.max(np.abs(g_w)) <= 1e-6 and np.max(np.abs(g_b)) <= 1e-6
    assert np.min(np.linalg.eigvalsh(hess)) >= -1e-6
    # Where the paper's candidates are right the optimum is that candidate's kind.
    assert list(opt.labels[:3]) == [
        "superposition_extra",
        "superposition_extra",
        "superposition_pair",
    ]
    # a triangle beats all four candidates at r = 1, p = 0.7: three features in two dimensions
    assert opt.labels[3] == "superposition_other"


def test_exact_optimum_reduces_to_n2m1_where_a_feature_is_dedicated():
    # In superposition_extra and not_represented, feature 0 is orthogonal to the rest and loses
    # nothing: the optimum is the n = 2, m = 1 optimum for (feature 1, extra) with importances
    # (1, r), an independent computation (theory.n2m1: Gauss–Legendre kernels and Newton).
    r, p = 0.5, np.array([0.1, 0.3, 0.7])
    ours = n3m2.exact_optimum(r, p)
    theirs = n2m1.exact_optimum(r, p)
    assert np.allclose(ours.loss, theirs.loss, rtol=1e-9, atol=0)


def test_phase_map_cache_round_trip_and_validation(tmp_path, monkeypatch):
    monkeypatch.setenv("TOYSUP_CACHE_DIR", str(tmp_path))
    r, p = np.array([0.3, 3.0]), np.array([0.05, 0.9])
    first = n3m2.exact_phase_map(r, p)
    assert first.labels.shape == (2, 2) and first.W.shape == (2, 2, 2, 3)
    assert list(first.labels[0]) == ["superposition_extra", "superposition_pair"]
    assert list(first.labels[1]) == ["not_represented", "dedicated"]
    (json_path,) = tmp_path.glob("n3m2_exact_map-*.json")
    npz_path = json_path.with_suffix(".npz")
    again = n3m2.exact_phase_map(r, p)
    assert np.array_equal(again.loss, first.loss) and np.array_equal(again.labels, first.labels)
    # A corrupted entry is reported and recomputed, never trusted.
    npz_path.write_bytes(npz_path.read_bytes()[:-7] + b"garbage")
    with pytest.warns(UserWarning, match="checksum"):
        rebuilt = n3m2.exact_phase_map(r, p)
    assert np.array_equal(rebuilt.loss, first.loss)
    record = json.loads(json_path.read_text())
    record["sha256"] = "0" * 64
    json_path.write_text(json.dumps(record))
    with pytest.warns(UserWarning, match=str(json_path.name)):
        n3m2.exact_phase_map(r, p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        n3m2.exact_phase_map(r, p)  # the rebuilt entry is valid again


@pytest.mark.slow
def test_boundary_matches_the_n2m1_boundaries_where_the_problem_decouples():
    # r <= 0.5: superposition_extra -> not_represented is the n = 2, m = 1 transition for
    # (feature 1, extra); r >= 2: superposition_pair -> dedicated is the n = 2 one at r = 1 for the
    # unit pair (the extra is dedicated on both sides). Both are independent computations.
    r = np.array([0.2, 0.5, 2.0, 5.0])
    ours = n3m2.exact_boundary(r)
    theirs = n2m1.exact_boundary(np.array([0.2, 0.5, 1.0, 1.0]))
    assert np.allclose(ours, theirs, rtol=1e-6, atol=0)


@pytest.mark.slow
def test_default_map_beats_every_candidate_and_random_restarts():
    # The 20 × 20 map of the main job: no cell above any candidate (1e-13), and 40 random
    # restarts per cell on a subsample never find a lower loss (the multi-start is global there).
    r, p = np.geomspace(0.1, 10, 20), np.geomspace(0.01, 1, 20)
    mp = n3m2.exact_phase_map(r, p, cache=False)
    for bias in n3m2.BIASES:
        cand = n3m2.candidate_losses(r[None, :], p[:, None], bias=bias)
        best = np.min(np.stack([np.asarray(v) for v in cand.values()]), axis=0)
        assert np.all(mp.loss <= best * (1 + 1e-13))
    rng = np.random.default_rng(123)
    cells = rng.choice(400, size=24, replace=False)
    rows, cols = np.unravel_index(cells, (20, 20))
    k = 40
    w0 = rng.normal(size=(k * cells.size, 2, 3))
    b0 = 0.3 * rng.normal(size=(k * cells.size, 3))
    imp = np.stack([np.ones(cells.size), np.ones(cells.size), r[cols]], -1)
    res = landscape.minimize_loss(w0, b0, np.tile(p[rows], k)[:, None], np.tile(imp, (k, 1)))
    restart = res.loss.reshape(k, cells.size).min(axis=0)
    assert np.all(mp.loss[rows, cols] <= restart * (1 + 1e-10))


def test_bad_arguments():
    with pytest.raises(ValueError, match="1-D grids"):
        n3m2.exact_phase_map(np.ones((2, 2)), [0.1], cache=False)
    with pytest.raises(ValueError, match=r"n_random must be an integer in \[0, 10000\]"):
        n3m2.exact_optimum(1.0, 0.1, n_random=-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        n3m2.exact_optimum(1.0, 0.1, seed=1.5)
    with pytest.raises(ValueError, match=r"density must lie in \(0, 1\]"):
        n3m2.exact_optimum(1.0, 0.0)
    with pytest.raises(ValueError, match="must have shape"):
        n3m2.phase_label(np.ones((3, 2)))
    with pytest.raises(TypeError, match="threshold must be a real number, got True"):
        n3m2.phase_label(np.ones((2, 3)), threshold=True)
    with pytest.raises(ValueError, match="threshold must be > 0, got 0"):
        n3m2.phase_label(np.ones((2, 3)), threshold=0)
    with pytest.raises(ValueError, match=r"antipodal_cosine must be a finite number in \[-1, 1\]"):
        n3m2.phase_label(np.ones((2, 3)), antipodal_cosine=-2.0)
    with pytest.raises(ValueError, match="phases must be a non-empty sequence of labels"):
        n3m2.exact_boundary(1.0, phases=("superposition",), cache=False)
    with pytest.raises(TypeError, match="phases must be a sequence of labels"):
        n3m2.exact_boundary(1.0, phases="superposition_pair", cache=False)
    with pytest.raises(TypeError, match="cache must be True or False"):
        n3m2.exact_boundary(1.0, cache=1)
