"""bench/audit_inputs.py, the audit of bad inputs: its classification of outcomes, the size of its
catalogue, and a few cases run in their forked processes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def audit():
    sys.path.insert(0, str(BENCH))
    try:
        import audit_catalogue
        import audit_inputs
        import audit_values

        yield audit_inputs, audit_values, audit_catalogue
    finally:
        sys.path.remove(str(BENCH))


def test_outcomes_are_classified_as_documented(audit):
    inputs, values, _ = audit
    bad = values.Expect("error", "density", ("2.0",))
    assert inputs.classify(bad, raised=ValueError("density must lie in (0, 1], got 2.0")) == "clear"
    assert inputs.classify(bad, raised=ValueError("must lie in (0, 1], got 2.0")) == "unclear"
    assert inputs.classify(bad, raised=ValueError("density must lie in (0, 1]")) == "unclear"
    assert inputs.classify(bad, raised=KeyError("density")) == "crash"
    assert inputs.classify(bad, raised=None, result=1.0) == "silent"
    edge = values.Expect("either", "W", ("1e+200",))
    assert inputs.classify(edge, raised=None, result=[1.0, float("nan")]) == "silent"
    assert inputs.classify(edge, raised=None, result=[1.0, float("inf")]) == "correct"
    assert inputs.classify(values.Expect("ok"), raised=ValueError("W ...")) == "crash"
    # a name matches as a word: "W" is not found in "Weights"
    assert (
        inputs.classify(values.Expect("error", "W"), raised=ValueError("Weights bad")) == "unclear"
    )


def test_the_catalogue_is_systematic(audit):
    """Every catalogued function, every argument, every value class of the argument's type: well
    over a thousand distinct cases, and each type's classes include the basic bad values."""
    _, _, catalogue = audit
    cases = [c for target in catalogue.targets() for c in target.cases()]
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)) and len(ids) > 1500
    kinds = {c.kind for c in cases}
    assert {"nan", "inf", "huge", "negative", "zero", "bool", "string", "none"} <= kinds
    assert {"nan_entry", "wrong_length", "empty", "ragged", "strings", "bool_array"} <= kinds
    assert {c.target.split(".")[0] for c in cases} == {"toysup", "theory", "verify"}


def test_cases_run_in_their_own_processes(audit):
    """A handful of cases of one function, forked and classified: the fixed library ends each in
    a clear error or a correct result."""
    import theory.bounds  # noqa: F401 - imported once here, not in every forked case

    inputs, _, catalogue = audit
    target = next(t for t in catalogue.targets() if t.name == "theory.bounds.feature_variance")
    cases = target.cases()[:8]
    outcomes = inputs.run_cases(cases, jobs=2, timeout=60, progress=False)
    assert [o.case.id for o in outcomes] == [c.id for c in cases]
    assert all(o.category in inputs.GOOD for o in outcomes), [
        (o.case.id, o.detail) for o in outcomes
    ]
