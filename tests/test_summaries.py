"""Results print as short human summaries: a verdict, a few lines, a bounded table; never a dump
of arrays. Each result object is built cheaply (tiny runs, or its fields filled directly where the
real computation takes long) and its text is checked for what it must and must not contain."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from theory import compressed_sensing as cs
from theory import n2m1
from theory._summary import Summary, fmt, fmt_p, fmt_range
from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from verify import stats
from verify.cs_bridge.transition import Transition
from verify.cs_bridge.types import BridgeResult, BridgeSettings
from verify.diagram import Diagram, DiagramSettings

ROOT = Path(__file__).resolve().parents[1]
#: A summary stays readable: at most this many lines and characters per line, whatever the size
#: of the arrays behind it (the long table below has 100 rows).
MAX_LINES, MAX_WIDTH = 25, 200


@pytest.fixture(scope="module")
def trained():
    """100 configurations (so that the table must be shortened), 2 seeds, 30 steps."""
    density = np.geomspace(0.01, 1.0, 100)[:, None] * np.ones(4)
    return train(
        FeatureConfig(n_features=4, density=density, importance=0.9 ** np.arange(4)),
        ModelConfig(n_features=4, n_hidden=2),
        TrainConfig(steps=30, batch_size=64, n_seeds=2, eval_samples=256, device="cpu"),
        progress=False,
    )


def _diagram() -> Diagram:
    rng = np.random.default_rng(0)
    labels = np.array(["superposition", "not_represented"])[rng.integers(0, 2, (3, 3))]
    return Diagram(
        settings=DiagramSettings(resolution=3, seeds=2, device="cpu"),
        importance=np.geomspace(0.1, 10, 3), density=np.geomspace(0.01, 1, 3),
        empirical=labels, candidate=labels, exact=labels, vote_share=np.ones((3, 3)),
        seed_labels=np.stack([labels, labels], -1), selection_loss=np.ones((3, 3, 2)),
        selection_loss_kind="exact", W=np.zeros((3, 3, 2, 1, 2)), b=np.zeros((3, 3, 2, 2)),
        agreement={"candidate": 0.89, "exact": 0.91}, kappa={"candidate": 0.7, "exact": 0.75},
        boundary={"error_candidate": np.array([0.1, -0.2, 0.05]), "error_exact": None},
        train_info={}, timings={"total_s": 12.5},
    )  # fmt: skip


def _bridge() -> BridgeResult:
    settings = BridgeSettings(n_features=8, deltas=(0.25, 0.5), densities=2, device="cpu")
    tr = (
        Transition(0.4, 0.3, 0.5, "", 0.95),
        Transition(float("nan"), 0.6, float("nan"), "above", 0.95),
    )
    return BridgeResult(
        settings=settings, k=np.array([1, 8]), density=np.array([0.125, 1.0]),
        m=np.array([2, 4]), delta=np.array([0.25, 0.5]), rho=np.ones((2, 2)),
        W=(np.zeros((2, 2, 8)), np.zeros((2, 4, 8))), b=np.zeros((2, 2, 8)),
        successes={}, trials={"toy": 10}, toy_tolerance={},
        transitions={"toy/l2": tr}, rho_w={"nonnegative": np.array([0.3, 0.55])},
        represented=np.zeros((2, 2)), frobenius=np.zeros((2, 2)), bounds={},
        superposition_rho=np.full(2, np.nan), paired={},
    )  # fmt: skip


def _results(trained):
    W, b = np.array([[1.0, -1.0]]), np.zeros(2)
    a = np.random.default_rng(1).standard_normal((4, 8))
    x, h = stats.sample_activations(trained, 10, n_rows=600, seed=0)
    with pytest.warns(stats.UnderpoweredWarning):
        few_seeds = stats.represented_count_test(np.ones((3, 1, 2)))
    return {
        "TrainResult": trained,
        "SuperpositionTestResult": stats.superposition_test(W, b, 0.05, np.ones(2), n_samples=500),
        "RepresentedCountResult": few_seeds,
        "DecodabilityResult": stats.decodability_test(h, x, n_permutations=99, alpha=0.05),
        "ExactOptimum": n2m1.exact_optimum([0.5, 2.0], [0.1, 0.5]),
        "CandidateTheory": n2m1.candidate_theory(),
        "RecoveryRate": cs.recovery_rate(a, density=0.2, trials=5, seed=0, method="linprog"),
        "PhaseTransitionGrid": cs.phase_transition_grid(
            10, [0.5], [0.2, 0.6], trials=2, seed=0, method="linprog"
        ),
        "MeasurementBound": cs.BOUNDS["chandrasekaran"],
        "Diagram": _diagram(),
        "BridgeResult": _bridge(),
    }


def test_every_result_prints_a_short_summary(trained):
    """repr = str = a title line (with a verdict), labelled lines, a bounded table; no array dump
    (``array(``, a bracketed matrix, numpy's ``...`` elision), and HTML for notebooks."""
    for name, result in _results(trained).items():
        text = repr(result)
        assert text == str(result), name
        lines = text.splitlines()
        assert lines[0].startswith(name), (name, lines[0])
        assert len(lines) <= MAX_LINES and max(map(len, lines)) <= MAX_WIDTH, (name, text)
        assert "array(" not in text and "[[" not in text and "..." not in text, (name, text)
        assert "<table>" in result._repr_html_() or "<b>" in result._repr_html_(), name


def test_verdicts_show_the_fields_numbers(trained):
    """The one-line verdicts are made of the result's own numbers, formatted."""
    W, b = np.array([[1.0, -1.0]]), np.zeros(2)
    r = stats.superposition_test(W, b, 0.05, np.ones(2), n_samples=2000, loss="monte_carlo")
    assert r.reject
    assert r.verdict == (
        f"superposition: yes (loss {fmt(r.loss)} < bound {fmt(r.bound)}, p {fmt_p(r.p_value)})"
    )
    assert re.fullmatch(
        r"superposition: yes \(loss [0-9.e-]+ < bound [0-9.e-]+, p [=<] \S+\)", r.verdict
    )
    exact = stats.superposition_test(W, b, 0.05, np.ones(2))  # exact loss: no p-value shown
    assert exact.verdict == (
        f"superposition: yes (exact loss {fmt(exact.loss)} < bound {fmt(exact.bound)})"
    )
    assert fmt(exact.loss) in str(exact) and "no sampling error" in str(exact)
    dense = stats.superposition_test(np.array([[1.0, 0.0]]), b, 0.5, np.ones(2), n_samples=2000)
    assert not dense.reject and dense.verdict.startswith("superposition: not shown")
    text = repr(trained)
    first = trained.loss[0]
    assert fmt(first) in text and f"{trained.features.n_instances} configurations" in text
    assert f"… {100 - 8} more" in text  # 100 rows shortened to the first 6 and last 2


def test_number_formats():
    assert fmt(0.0015432) == "0.00154"
    assert fmt(2.1e-83, 2) == "2.1e-83"
    assert fmt(12345678.0) == "1.23e7"
    assert (fmt(3), fmt(True), fmt(None), fmt(float("nan"))) == ("3", "yes", "—", "nan")
    assert fmt_p(0.0) == "< 1e-300" and fmt_p(0.031) == "= 0.031"
    assert (
        fmt_range([1.0, 1.0]) == "1" and fmt_range([0.5, 2.0, np.nan]) == "0.5 … 2 (1 not finite)"
    )
    long = Summary("T", None, [], ["a"], [[str(i)] for i in range(50)]).text().splitlines()
    assert len(long) == 1 + 1 + 8 + 1  # title, header, 6 first rows, "… 42 more", 2 last rows


def test_the_two_summary_modules_are_one_code():
    """toysup and theory do not import each other, so each has a copy; they must not drift."""
    code = [
        (ROOT / pkg / "_summary.py").read_text().split('"""', 2)[2] for pkg in ("toysup", "theory")
    ]
    assert code[0] == code[1]
