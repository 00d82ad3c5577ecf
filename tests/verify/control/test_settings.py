"""Settings of python -m verify.control: typed values checked with messages naming them, JSON
round trip."""

from __future__ import annotations

import math

import pytest

from verify.control_job.settings import (
    ControlSettings,
    check_activations,
    check_penalties,
    check_penalty_value,
)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["0.3", "0", "0.1"], (0.0, 0.1, 0.3)),
        (["0,0.1", "1"], (0.0, 0.1, 1.0)),
        ([2, 0.5], (0.5, 2.0)),
    ],
)
def test_penalties_parsed_and_sorted(values, expected):
    assert check_penalties("--penalties", values) == expected


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        (["-0.1"], "'-0.1'"),
        (["nan"], "'nan'"),
        (["inf"], "'inf'"),
        (["abc"], "'abc'"),
        ([], "at least one"),
        (["0.1", "0.1"], "repeated"),
        ([math.nan], "nan"),
    ],
)
def test_bad_penalties_named(values, shown):
    with pytest.raises(ValueError, match="--penalties") as info:
        check_penalties("--penalties", values)
    assert shown in str(info.value)


def test_bool_and_none_are_not_penalties():
    with pytest.raises(TypeError, match="True"):
        check_penalty_value("l1_hidden", True)
    with pytest.raises(TypeError, match="None"):
        check_penalty_value("l1_hidden", None)
    with pytest.raises(TypeError):
        check_penalties("--penalties", "0.1")  # a bare string is not a list


def test_activations_known_and_relu_first():
    assert check_activations("--activations", ["softplus", "gelu"]) == ("relu", "softplus", "gelu")
    with pytest.raises(ValueError, match=r"'tanh'.*relu, linear, gelu, softplus"):
        check_activations("--activations", ["relu", "tanh"])
    with pytest.raises(ValueError, match="at least one"):
        check_activations("--activations", [])


def test_zero_penalty_always_present_and_json_round_trip():
    s = ControlSettings(penalties=(0.2,), resolution=3, wide_densities=(0.3, 0.1))
    assert s.penalties == (0.0, 0.2) and s.wide_densities == (0.1, 0.3)
    assert ControlSettings.from_json(s.to_json()) == s
    with pytest.raises(ValueError, match="unknown ControlSettings fields"):
        ControlSettings.from_dict({**s.to_dict(), "colour": 1})


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("resolution", 1, "resolution"),
        ("seeds", True, "seeds"),
        ("density_range", (0.5, 0.1), "density_range"),
        ("wide_densities", (0.0,), "wide_densities"),
        ("schedule", "step", "schedule"),
        ("lr", -1.0, "lr"),
    ],
)
def test_bad_settings(field, value, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ControlSettings(**{field: value})
