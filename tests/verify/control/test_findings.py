"""The job's conclusions from known diagrams: boundary shift and its uncertainty, loss cost, the
Pareto front of the n = 20 sweep."""

from __future__ import annotations

import math

import numpy as np
import pytest

from verify.control_job.diagrams import ExactDiagram, TrainedDiagram
from verify.control_job.findings import MATCH_Z, loss_cost, shift
from verify.control_job.wide import WidePoint, pareto_front

DENSITY = np.geomspace(0.01, 1.0, 5)  # cells of 0.5 decades


def _trained(boundary, censored, boot=None, labels=None, loss=None):
    shape = (5, 3)
    return TrainedDiagram(
        activation="relu", l1_hidden=0.0,
        empirical=np.full(shape, "superposition") if labels is None else labels,
        vote_share=np.ones(shape), seed_labels=np.full((*shape, 1), "superposition"),
        selection_loss=np.zeros((*shape, 1)), selection_kind="", loss=(
            np.zeros(shape) if loss is None else loss), loss_kind="",
        W=np.zeros((*shape, 1, 1, 2)), b=np.zeros((*shape, 1, 2)),
        boundary=np.asarray(boundary, float), censored=np.asarray(censored),
        boot_log10=boot,
    )  # fmt: skip


def _exact(boundary, labels=None, loss=None):
    shape = (5, 3)
    b = np.asarray(boundary, float)
    return ExactDiagram(
        l1_hidden=0.0, labels=np.full(shape, "superposition") if labels is None else labels,
        loss=np.zeros(shape) if loss is None else loss, objective=np.zeros(shape), boundary=b,
        grid_boundary=b, curve_importance=np.array([0.5, 1.0, 2.0]), curve=b,
    )  # fmt: skip


def test_shift_values_mask_and_uncertainty():
    ref = _trained([0.1, 0.3, 0.1], ["", "", ""])
    moved = _trained([0.01, 0.1, 0.1], ["", "", "below"])
    ex_ref, ex = _exact([0.2, 0.4, 0.5]), _exact([0.02, np.nan, 0.05])
    sh = shift(moved, ref, ex, ex_ref, DENSITY)
    np.testing.assert_allclose(sh.exact[[0, 2]], [-1.0, -1.0])
    np.testing.assert_allclose(sh.empirical, np.log10([0.1, 1 / 3, 1.0]))
    # r index 1: no exact boundary at λ; index 2: trained boundary censored -> not compared
    np.testing.assert_array_equal(sh.comparable, [True, False, False])
    assert sh.exact_mean == pytest.approx(-1.0) and sh.empirical_mean == pytest.approx(-1.0)
    # no bootstrap: only the grid's quantisation, 0.5² / 6 for one importance
    assert sh.uncertainty == pytest.approx(math.sqrt(0.25 / 6))
    assert sh.z == pytest.approx(0.0) and sh.matches


def test_shift_paired_bootstrap_and_mismatch():
    rng = np.random.default_rng(0)
    boot_ref = np.log10(0.1) + rng.normal(0, 0.2, (50, 3))
    boot = boot_ref + np.array([-0.5, -0.5, -0.5])  # resamples move together: paired
    ref = _trained([0.1, 0.1, 0.1], ["", "", ""], boot=boot_ref)
    moved = _trained([0.01, 0.01, 0.01], ["", "", ""], boot=boot)
    sh = shift(moved, ref, _exact([0.02] * 3), _exact([0.2] * 3), DENSITY)
    # the paired differences have no spread: only the grid term remains
    np.testing.assert_allclose(sh.empirical_sd, 0.0, atol=1e-12)
    assert sh.uncertainty == pytest.approx(math.sqrt(0.25 / 6 / 3))
    sh_far = shift(moved, ref, _exact([0.2] * 3), _exact([0.2] * 3), DENSITY)
    assert sh_far.z == pytest.approx(-1.0 / math.sqrt(0.25 / 18)) and abs(sh_far.z) > MATCH_Z
    assert sh_far.matches is False


def test_shift_without_comparable_importances():
    ref = _trained([0.1] * 3, ["below"] * 3)
    sh = shift(ref, ref, _exact([0.1] * 3), _exact([0.1] * 3), DENSITY)
    assert sh.z is None and sh.matches is None and sh.uncertainty is None


def test_loss_cost_means():
    labels0 = np.full((5, 3), "not_represented")
    labels0[0, :] = "superposition"
    ex_ref = _exact([0.1] * 3, labels=labels0, loss=np.zeros((5, 3)))
    ex = _exact([0.1] * 3, labels=np.full((5, 3), "none"), loss=np.full((5, 3), 2.0))
    loss = np.ones((5, 3))
    loss[0, :] = 4.0
    cost = loss_cost(_trained([0.1] * 3, [""] * 3, loss=loss), ex, ex_ref)
    assert cost["exact"] == 2.0 and cost["trained"] == pytest.approx((12 * 1 + 3 * 4) / 15)
    assert cost["trained_superposition_cells"] == 4.0 and cost["superposition_cells"] == 3
    assert cost["trained_excess"] == pytest.approx(np.mean(loss - 2.0))
    assert cost["superposition_cells_after"] == {"exact": 0, "trained": 15}


def _point(lam, p, sup, loss):
    one = np.array([0])
    return WidePoint(
        l1_hidden=lam, density=p, represented=one, in_superposition=np.array([sup]),
        loss=np.array([loss]), loss_stderr=np.array([0.0]), loss_penalized=np.array([loss]),
        best=0, W=np.zeros((1, 5, 20)), b=np.zeros((1, 20)), loss_test_p=1.0,
        loss_test_reject=False, loss_bound=0.0, count_test_p=1.0, count_test_reject=False,
        count_test_underpowered=True,
    )  # fmt: skip


def test_pareto_front_per_density():
    points = [
        _point(0.0, 0.1, 6, 1.0),
        _point(0.1, 0.1, 3, 2.0),
        _point(0.2, 0.1, 3, 2.5),  # dominated by λ = 0.1 (same count, higher loss)
        _point(0.3, 0.1, 0, 3.0),
        _point(0.0, 0.3, 9, 5.0),  # another density: never compared with p = 0.1
    ]
    assert pareto_front(points) == [0, 1, 3, 4]
