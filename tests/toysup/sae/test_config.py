"""SAEConfig: validation with messages naming the value, defaults per kind, JSON round trip."""

from __future__ import annotations

import pytest

from toysup.sae import SAEConfig
from toysup.sae.config import DEFAULT_L0, DEFAULT_L1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(width=0), ValueError, "width must be an integer >= 1, got 0"),
        (dict(width=True), TypeError, "width"),
        (dict(width=4.0), TypeError, "width"),
        (
            dict(width=8, kind="gated"),
            ValueError,
            "kind must be one of 'relu', 'topk', 'jumprelu'; got 'gated'",
        ),
        (dict(width=8, kind="topk", k=9), ValueError, r"k must be <= width \(8\), got k=9"),
        (dict(width=8, kind="topk"), ValueError, "needs k"),
        (dict(width=8, kind="topk", k=0), ValueError, "k must be an integer >= 1, got 0"),
        (dict(width=8, l1=-0.1), ValueError, r"l1 must be a finite number >= 0.0, got -0.1"),
        (dict(width=8, kind="jumprelu", l0=-1e-3), ValueError, "l0 must be"),
        (dict(width=8, l1=float("nan")), ValueError, "l1 must be"),
        (dict(width=8, kind="topk", k=2, l1=0.1), ValueError, "l1=0.1 applies only to kind='relu'"),
        (dict(width=8, k=2), ValueError, "k=2 applies only to kind='topk'"),
        (dict(width=8, kind="jumprelu", bandwidth=0.0), ValueError, "bandwidth must be"),
        (dict(width=8, kind="jumprelu", threshold_init=-1.0), ValueError, "threshold_init"),
        (dict(width=8, resample_every=0), ValueError, "resample_every must be an integer >= 1"),
        (dict(width=8, resample_until=1.5), ValueError, "resample_until must be"),
    ],
)
def test_bad_values_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        SAEConfig(**kwargs)


def test_defaults_and_round_trip():
    relu = SAEConfig(width=40)
    assert (relu.kind, relu.l1, relu.k, relu.l0, relu.penalty) == (
        "relu",
        DEFAULT_L1,
        None,
        None,
        DEFAULT_L1,
    )
    jump = SAEConfig(width=40, kind="jumprelu")
    assert jump.l0 == DEFAULT_L0 == jump.penalty and jump.l1 is None
    top = SAEConfig(width=40, kind="topk", k=3, resample_every=None)
    assert top.penalty == 0.0 and top.label == "topk w40 k=3"
    assert relu.label == f"relu w40 l1={DEFAULT_L1:g}"
    for config in (relu, jump, top, SAEConfig(width=7, l1=0.0, resample_until=0.0)):
        assert SAEConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="unknown SAEConfig keys"):
        SAEConfig.from_dict({"width": 3, "lambda": 1})
