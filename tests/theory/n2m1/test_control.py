"""Tests for the penalised exact optimum, boundary, candidates and the cost of removing
superposition (theory.n2m1; docs/control_theory.md).

References independent of the code under test: a derivative-free optimiser (scipy's Nelder–Mead)
on the penalised objective, the candidates' closed forms, brentq on candidate objectives, and
the exact symmetry r → 1/r, λ → λ/r of the penalised landscape.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy import optimize

from theory import n2m1
from theory.n2m1.kernels import loss_terms
from theory.n2m1.penalty import penalty_terms

# ---------------------------------------------------------------- the exact optimum


@pytest.mark.parametrize("penalty", [{"l1_hidden": 0.15}, {"l1_weights": 0.006}])
def test_penalised_exact_map_beats_every_candidate(penalty):
    r = np.array([0.1, 0.4, 0.9, 1.3, 3.0])
    p = np.array([0.005, 0.05, 0.3, 0.6, 1.0])
    m = n2m1.exact_phase_map(r, p, cache=False, **penalty)
    assert np.all(m.converged)
    assert m.l1_hidden == penalty.get("l1_hidden", 0.0)
    for norm in ("unit", "optimal"):
        cand = n2m1.penalised_candidates(r[None, :], p[:, None], norm=norm, **penalty)
        # The global minimum is at most any candidate's objective (rounding: 1e-13 relative).
        assert np.all(m.objective <= cand.objective.min(axis=-1) * (1 + 1e-13)), norm
    # Self-consistency: objective and loss are the penalised and unpenalised closed forms.
    imp = np.stack([np.ones_like(m.loss), np.broadcast_to(r, m.loss.shape)], -1)
    dens = p[:, None, None]
    np.testing.assert_allclose(
        n2m1.expected_loss(m.w, m.b, dens, imp, **penalty), m.objective, rtol=1e-14
    )
    np.testing.assert_allclose(n2m1.expected_loss(m.w, m.b, dens, imp), m.loss, rtol=1e-14)
    # Stationary, kinks included: the minimum-norm subgradient vanishes (Newton converges to
    # ~1e-8 in x; the gradient is then ~1e-8 times the curvature).
    _, g_w, g_b = n2m1.expected_loss_and_grad(m.w, m.b, dens, imp, **penalty)
    assert np.max(np.abs(g_w)) < 1e-7 and np.max(np.abs(g_b)) < 1e-7


def _powell_search(r: float, p: float, penalty: dict, n_starts: int) -> float:
    """Best objective found by Powell's derivative-free method (it handles the kinks) from
    random starts; the objective is evaluated by the kernels directly (no argument checks)."""
    imp, dens = np.array([1.0, r]), np.array([p, p])
    lh = np.float64(penalty.get("l1_hidden", 0.0))
    lw = np.float64(penalty.get("l1_weights", 0.0))

    def objective(x: np.ndarray) -> float:
        w, b = x[:2], x[2:]
        return float(loss_terms(w, b, dens, imp, order=0)[0] + penalty_terms(w, dens, lh, lw)[0])

    rng = np.random.default_rng(11)
    starts = np.concatenate(
        [rng.normal(size=(n_starts, 2)) * 0.9, rng.uniform(0, 0.5, size=(n_starts, 2))], axis=1
    )
    options = {"xtol": 1e-10, "ftol": 1e-15}
    return min(
        optimize.minimize(objective, x0, method="Powell", options=options).fun for x0 in starts
    )


@pytest.mark.parametrize(
    ("r", "p", "penalty"),
    [(0.5, 0.3, {"l1_hidden": 0.2}), (0.3, 0.05, {"l1_weights": 0.003})],
)
def test_penalised_optimum_against_derivative_free_search(r, p, penalty):
    best = _powell_search(r, p, penalty, n_starts=6)
    opt = n2m1.exact_optimum(r, p, **penalty)
    # Powell stops within ~1e-15 of a minimum; the exact optimum may not be worse than any.
    assert float(opt.objective) <= best + 1e-12


@pytest.mark.slow
@pytest.mark.parametrize(
    ("r", "p", "penalty"),
    [
        (1.0, 0.9, {"l1_hidden": 0.1}),
        (2.0, 0.7, {"l1_hidden": 0.05, "l1_weights": 0.01}),
        (0.8, 0.6, {"l1_hidden": 0.4}),
        (0.2, 0.02, {"l1_hidden": 0.1, "l1_weights": 0.001}),
        (5.0, 0.5, {"l1_weights": 0.05}),
    ],
)
def test_penalised_optimum_against_derivative_free_search_more_points(r, p, penalty):
    best = _powell_search(r, p, penalty, n_starts=16)
    opt = n2m1.exact_optimum(r, p, **penalty)
    assert float(opt.objective) <= best + 1e-12


def test_vanishing_penalty_recovers_the_unpenalised_optimum():
    """λ → 0⁺ through the orthant-wise optimiser lands on the λ = 0 optima."""
    r = np.array([0.2, 0.7, 1.0, 4.0])
    p = np.array([0.02, 0.3, 0.8])
    plain = n2m1.exact_phase_map(r, p, cache=False)
    tiny = n2m1.exact_phase_map(r, p, cache=False, l1_hidden=1e-12, l1_weights=1e-12)
    np.testing.assert_array_equal(tiny.labels, plain.labels)
    # The penalised optimum moves by O(λ / curvature) ~ 1e-11; Newton stops at ~1e-8.
    np.testing.assert_allclose(tiny.w, plain.w, atol=1e-6)
    np.testing.assert_allclose(tiny.loss, plain.loss, rtol=1e-9, atol=1e-15)


def test_optimum_is_the_optimal_norm_candidate_where_that_candidate_wins():
    """Away from r = 1 above the boundary, the exact optimum is the dropped candidate with its
    norm shrunk to the cubic's root and bias p (1 − w²)/2 (docs/control_theory.md)."""
    r, p = np.array([0.3, 0.5, 3.0, 0.3]), np.array([0.8, 0.9, 0.8, 0.45])
    lh = np.array([0.0, 0.0, 0.0, 0.1])
    lw = np.array([0.02, 0.01, 0.05, 0.0])
    opt = n2m1.exact_optimum(r, p, l1_hidden=lh, l1_weights=lw)
    cand = n2m1.penalised_candidates(r, p, l1_hidden=lh, l1_weights=lw, norm="optimal")
    index = [list(cand.labels).index(label) for label in opt.labels]
    rows = np.arange(r.size)
    assert list(opt.labels) == [
        "not_represented",
        "not_represented",
        "dedicated",
        "not_represented",
    ]
    # Newton's stopping rule gives x to ~1e-8; the objective to rounding.
    np.testing.assert_allclose(opt.w, cand.w[rows, index], atol=1e-7)
    np.testing.assert_allclose(opt.b, cand.b[rows, index], atol=1e-7)
    np.testing.assert_allclose(opt.objective, cand.objective[rows, index], rtol=1e-12)
    assert np.all(np.max(np.abs(opt.w), axis=1) < 1.0)  # the norm shrinks below the paper's 1


def test_hidden_penalty_at_high_density_adds_a_weak_opposite_weight():
    """For p > 1/2, E|h| decreases along w_extra < 0 from W = [w, 0]: its one-sided slope is
    l1_hidden · p (1 − 2p)/2 < 0 (the single-feature term costs p (1 − p)/2, the cancellation in
    the both-active term saves p²/2). So the dropped candidate is not even stationary and the
    optimum carries a weak opposite-sign extra weight: the candidates are no longer the family."""
    r, p, lh = np.array([0.3, 0.5]), np.array([0.8, 0.9]), 0.2
    opt = n2m1.exact_optimum(r, p, l1_hidden=lh)
    cand = n2m1.penalised_candidates(r, p, l1_hidden=lh, norm="optimal")
    assert list(opt.labels) == ["not_represented"] * 2
    assert np.all(opt.w[:, 1] < -0.1)
    assert np.all(opt.objective < cand.objective[:, 0] - 1e-4)
    # The candidate's one-sided slope along −e_extra, by differences.
    w, b = cand.w[:, 0], cand.b[:, 0]
    imp = np.stack([np.ones(2), r], -1)
    eps = 1e-7
    at = n2m1.expected_loss(w, b, p[:, None], imp, l1_hidden=lh)
    down = n2m1.expected_loss(w - [0.0, eps], b, p[:, None], imp, l1_hidden=lh)
    # L is stationary in w_extra at the candidate (bias p/2 = E[x]); F's slope there is
    # sign(w_first)/2; O(eps) truncation.
    expected = lh * p * (1 - 2 * p) / 2
    np.testing.assert_allclose((down - at) / eps, expected, rtol=1e-5)


# ---------------------------------------------------------------- the boundary


def test_boundary_scale_symmetry_and_monotone_shift():
    """The objective at (r, λ) is r times the swapped one at (1/r, λ/r), so
    p*(r, λ) = p*(1/r, λ/r): two independent optimisations must agree."""
    lam_h = np.array([0.0, 0.05, 0.1, 0.2])
    got = n2m1.exact_boundary(
        np.array([[0.5], [2.0]]), l1_hidden=np.array([lam_h, 2 * lam_h]), n_scan=13, n_bisect=32
    )
    # Bisection to |Δp|/p ~ 1e-10 on both sides; optima agree to Newton's ~1e-8.
    np.testing.assert_allclose(got[0], got[1], rtol=1e-8)
    assert np.all(np.diff(got[0]) < 0)  # more penalty, less superposition
    # The shift has the sign the candidates predict and, here, 0.88–0.97 of their size
    # (docs/control_theory.md): within 30 %.
    cand = n2m1.penalised_candidate_boundary(0.5, l1_hidden=lam_h, norm="optimal")
    ratio = (got[0, 1:] - got[0, 0]) / (cand[1:] - cand[0])
    assert np.all((ratio > 0.7) & (ratio < 1.3))


def test_weight_penalty_bounds_superposition_on_both_sides():
    lam_w = np.array([0.002, 0.005])
    cheap = {"n_scan": 13, "n_bisect": 32}
    upper = n2m1.exact_boundary(0.5, l1_weights=lam_w, **cheap)[None, :]
    lower = n2m1.exact_boundary(0.5, l1_weights=lam_w, edge="lower", **cheap)[None, :]
    p0 = n2m1.exact_boundary(0.5, n_bisect=32)
    assert np.all(np.diff(upper[0]) < 0) and upper[0, 0] < p0
    assert np.all(np.diff(lower[0]) > 0) and np.all(lower[0] < upper[0])
    # Just inside and outside each edge the label is what the edge says.
    for edge_p, inside in ((upper[0], -1), (lower[0], 1)):
        opt = n2m1.exact_optimum(0.5, edge_p * (1 + inside * 1e-6), l1_weights=lam_w)
        assert list(opt.labels) == ["superposition"] * 2
        opt = n2m1.exact_optimum(0.5, edge_p * (1 - inside * 1e-6), l1_weights=lam_w)
        assert "superposition" not in opt.labels
    # Beyond the candidates' vanishing penalty r² / (3 (5r + 2)) no superposition is left.
    assert np.isnan(n2m1.exact_boundary(0.5, l1_weights=0.03))


def test_penalised_transition():
    tr = n2m1.exact_transition([0.5], l1_hidden=0.1)
    assert tr.labels_below[0] == "superposition" and tr.labels_above[0] == "not_represented"
    p = tr.density[0]
    # Above p* the optimum is the shrunk dropped candidate; continuity of the optimal objective
    # at p* (offset 1e-6, first order in it).
    cand = n2m1.penalised_candidates(0.5, p, l1_hidden=0.1, norm="optimal")
    obj_below = float(n2m1.expected_loss(tr.w_below[0], tr.b_below[0], p, [1, 0.5], l1_hidden=0.1))
    assert obj_below == pytest.approx(float(cand.objective[0]), rel=1e-5)
    assert abs(tr.w_below[0, 1] - tr.w_above[0, 1]) > 0.5  # first order: w_2 jumps


# ---------------------------------------------------------------- removing superposition


def test_penalty_to_remove_superposition():
    r = np.array([0.5, 2.0, 0.5, 0.5])
    # The third point is not in superposition without a penalty; the fourth is nearly sparse.
    p = np.array([0.1, 0.1, 0.8, 1e-3])
    res = n2m1.penalty_to_remove_superposition(r, p, "l1_hidden")
    lam = res.value
    assert lam[2] == 0.0 and res.loss_cost[2] == 0.0
    # Sparse limit: the weaker feature is dropped at l1_hidden = 8√6/27 · r (the single-feature
    # problems decouple as p → 0); the O(p) correction is ~0.1 % at p = 1e-3.
    assert lam[3] == pytest.approx(n2m1.SPARSE_LIMIT_L1_HIDDEN * 0.5, rel=3e-3)
    # r → 1/r symmetry: λ*(2, p) = 2 λ*(1/2, p), and the loss scales by r too.
    assert lam[1] == pytest.approx(2 * lam[0], rel=1e-8)
    assert res.loss_cost[1] == pytest.approx(2 * res.loss_cost[0], rel=1e-6)
    # Just below λ* superposition, just above not (bisection to ~1e-10 relative).
    below = n2m1.exact_optimum(r[:2], p[:2], l1_hidden=lam[:2] * (1 - 1e-7))  # bisection ~1e-10
    above = n2m1.exact_optimum(r[:2], p[:2], l1_hidden=lam[:2] * (1 + 1e-7))
    assert list(below.labels) == ["superposition"] * 2
    assert list(above.labels) == list(res.labels_after[:2])
    # The cost is the unpenalised loss of that optimum minus the optimum without penalty.
    plain = n2m1.exact_optimum(r[:2], p[:2])
    np.testing.assert_allclose(res.loss_before[:2], plain.loss, rtol=1e-12)
    np.testing.assert_allclose(res.loss_after[:2], above.loss, rtol=1e-6)
    assert np.all(res.loss_cost[:2] > 0)
    # It is at least the cost of the cheapest non-superposition candidate, min(r, 1) V(p).
    v = p[:2] / 3 - p[:2] ** 2 / 4
    assert np.all(res.loss_after[:2] >= np.minimum(r[:2], 1) * v * (1 - 1e-9))


# ---------------------------------------------------------------- candidates


def test_unit_candidates_match_the_penalised_closed_form():
    r, p, lh, lw = 0.7, 0.35, 0.3, 0.02
    cand = n2m1.penalised_candidates(r, p, l1_hidden=lh, l1_weights=lw)
    for k, label in enumerate(cand.labels):
        got = n2m1.expected_loss(cand.w[k], cand.b[k], p, [1.0, r], l1_hidden=lh, l1_weights=lw)
        assert float(got) == pytest.approx(float(cand.objective[k]), rel=1e-13), label
    th = n2m1.penalised_candidate_theory()
    values = {th.r: r, th.p: p, th.l1_hidden: lh, th.l1_weights: lw}
    for k, label in enumerate(cand.labels):
        sym = float(th.objectives[label].subs(values))
        assert sym == pytest.approx(float(cand.objective[k]), rel=1e-13), label


@pytest.mark.parametrize("r", [0.2, 0.5, 1.0, 2.5])
@pytest.mark.parametrize(("lh", "lw"), [(0.0, 0.0), (0.1, 0.0), (0.0, 0.004), (0.2, 0.002)])
def test_unit_candidate_boundary_closed_form(r, lh, lw):
    def gap(p: float) -> float:
        c = n2m1.penalised_candidates(r, p, l1_hidden=lh, l1_weights=lw).objective
        return float(min(c[0], c[1]) - c[2])  # > 0 where the pair wins

    got = float(n2m1.penalised_candidate_boundary(r, l1_hidden=lh, l1_weights=lw))
    if np.isnan(got):  # no superposition region: the pair never wins
        assert max(gap(p) for p in np.logspace(-6, 0, 601)) < 0
        return
    # brentq to 1e-15 on the candidates' objectives, from inside the region to p = 1.
    inside = float(n2m1.penalised_candidate_boundary(r, l1_hidden=lh, l1_weights=lw, edge="lower"))
    start = inside * 1.01 if inside > 0 else 1e-9
    root = optimize.brentq(gap, start, 1.0, xtol=1e-15, rtol=1e-15)
    assert got == pytest.approx(root, rel=1e-11)
    th = n2m1.penalised_candidate_theory()
    sym = float(th.boundary.subs({th.r: r, th.l1_hidden: lh, th.l1_weights: lw}))
    assert sym == pytest.approx(got, rel=1e-12)


def test_vanishing_penalties():
    th = n2m1.penalised_candidate_theory()
    r = sp.Rational(1, 2)
    lam_h = float(th.vanishing_l1_hidden.subs(th.r, r))
    lam_w = float(th.vanishing_l1_weights.subs(th.r, r))
    assert lam_h == pytest.approx(1 / 3) and lam_w == pytest.approx(0.25 / 13.5)
    for lh, lw, gone in (
        (lam_h * 0.99, 0, False),
        (lam_h * 1.01, 0, True),
        (0, lam_w * 0.99, False),
        (0, lam_w * 1.01, True),
    ):
        value = n2m1.penalised_candidate_boundary(0.5, l1_hidden=lh, l1_weights=lw)
        assert bool(np.isnan(value)) == gone


def test_optimal_norm_root():
    beta = np.array([1.0, 1.0, 1.3, 0.8])
    q = np.array([0.0, 0.1, 0.2, 0.5])
    w = n2m1.optimal_norm(beta, q)
    assert w[0] == pytest.approx(1.0, rel=1e-15) and np.isnan(
        w[3]
    )  # q̃ = 0.5/0.8^1.5 > 2/(3√3): no local minimum
    np.testing.assert_allclose(w[:3] ** 3 - beta[:3] * w[:3] + q[:3], 0.0, atol=1e-14)
    # It is the minimiser over w >= 0 of w⁴/4 − β w²/2 + q w (a dense grid, spacing 1e-6).
    for b_, q_, w_ in zip(beta[:3], q[:3], w[:3]):
        grid = np.linspace(0.3, 1.5, 1_200_001)
        f = grid**4 / 4 - b_ * grid**2 / 2 + q_ * grid
        assert abs(grid[np.argmin(f)] - w_) < 2e-6
    # At the drop threshold q̃ = √6/9 the represented minimum ties with w = 0: w*² = 2β/3.
    wq = n2m1.optimal_norm(1.0, n2m1.DROP_THRESHOLD)
    assert float(wq) ** 2 == pytest.approx(2 / 3, rel=1e-12)
    assert float(wq**4 / 4 - wq**2 / 2 + n2m1.DROP_THRESHOLD * wq) == pytest.approx(0, abs=1e-15)
    th = n2m1.penalised_candidate_theory()
    for eq in th.norm_equations.values():
        # d/dw of the norm objective is a cubic in w with no w² term.
        assert sp.Poly(eq, th.w).degree() == 3 and sp.Poly(eq, th.w).coeff_monomial(th.w**2) == 0


def test_optimal_norm_candidates_are_exact_objectives():
    r, p, lh, lw = 0.6, 0.25, 0.2, 0.01
    cand = n2m1.penalised_candidates(r, p, l1_hidden=lh, l1_weights=lw, norm="optimal")
    for k, label in enumerate(cand.labels):
        got = n2m1.expected_loss(cand.w[k], cand.b[k], p, [1.0, r], l1_hidden=lh, l1_weights=lw)
        assert float(got) == pytest.approx(float(cand.objective[k]), rel=1e-13), label
        # Each is stationary in its own norm: a one-parameter scan cannot improve it.
        if label == "none":
            continue
        scale = np.linspace(0.98, 1.02, 401)[:, None]
        w_scan = cand.w[k] * scale
        b_scan = (
            cand.b[k]
            if label == "superposition"
            else np.where(cand.w[k] != 0, p * (1 - w_scan**2) / 2, p / 2)
        )
        scan = n2m1.expected_loss(w_scan, b_scan, p, [1.0, r], l1_hidden=lh, l1_weights=lw)
        assert float(got) <= scan.min() + 1e-15, label
