"""Bad- and edge-value classes for bench/audit_inputs.py, derived from each argument's valid value.

Every argument of a catalogued function has a *type* (``"count"``, ``"density"``, ``"weights"``,
...) and a valid value. :func:`variants` derives the bad and edge values of every class that
applies to the type (NaN, inf, huge, negative, zero, bool, wrong type, wrong shape, empty, ...)
from the valid value, each with what is expected of the call:

- ``"error"``: the value is invalid; the call must raise an accepted exception type whose message
  names the argument and shows the value (a *token* of it);
- ``"ok"``: the value is a valid edge case; the call must return a result that passes the check;
- ``"either"``: a clear error or a correct result are both right (e.g. entries so large that the
  result cannot be represented: refusing them is as right as computing the answer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import numpy as np

HUGE = 1e200
HUGE_COUNT = 10**15  # no machine holds 10^15 of anything: must be refused (or be a pure config)


@dataclass(frozen=True)
class Variant:
    """One value of one class for one argument."""

    kind: str  # the value class, e.g. "nan", "wrong_shape"
    value: Any
    outcome: str  # "error", "ok" or "either"
    tokens: tuple[str, ...]  # a clear message shows one of these (case-insensitive)


def _tokens(value: Any) -> tuple[str, ...]:
    if isinstance(value, float):
        if np.isnan(value):
            return ("nan",)
        if np.isinf(value):
            return ("inf",)
    return (repr(value), str(value))


def _scalar(kind: str, value: Any, outcome: str, *extra: str) -> Variant:
    return Variant(kind, value, outcome, (*_tokens(value), *extra))


# Expected outcome per (type, class); a class missing from a type's row is not tried for it.
E, OK, EITHER = "error", "ok", "either"
# fmt: off
SCALAR_CLASSES: dict[str, dict[str, str]] = {
    # an integer >= 1 (a size or count)
    "count": {
        "zero": E, "negative": E, "fractional": E, "integral_float": E, "bool": E, "nan": E,
        "inf": E, "string": E, "none": E, "huge": EITHER, "numpy_int": OK,
    },
    # an integer >= 0 (a seed)
    "count0": {
        "negative": E, "fractional": E, "bool": E, "nan": E, "string": E, "none": E,
        "huge": EITHER, "numpy_int": OK, "zero": OK,
    },
    # a probability or level in (0, 1)
    "prob": {
        "zero": E, "one": E, "negative": E, "above_one": E, "nan": E, "inf": E, "bool": E,
        "string": E, "none": E,
    },
    # a finite real > 0
    "posreal": {
        "zero": E, "negative": E, "nan": E, "inf": E, "bool": E, "string": E, "none": E,
        "huge": EITHER, "complex": E,
    },
    # a finite real >= 0
    "nonneg": {
        "negative": E, "nan": E, "inf": E, "bool": E, "string": E, "zero": OK, "huge": EITHER,
    },
    # a density p in (0, 1], scalar
    "density": {
        "zero": E, "negative": E, "above_one": E, "nan": E, "inf": E, "huge": E, "bool": E,
        "string": E, "none": E, "tiny": EITHER, "one": OK,
    },
    # one of a set of strings
    "choice": {"unknown": E, "none": E, "number": E, "empty_string": E, "upper_case": E},
    # a real bool flag
    "flag": {"string": E, "none": E},
}
ARRAY_CLASSES: dict[str, dict[str, str]] = {
    # densities, one per feature (or per instance and feature)
    "density": {
        "nan_entry": E, "inf_entry": E, "zero_entry": E, "negative_entry": E, "above_one_entry": E,
        "huge_entry": E, "bool_array": E, "wrong_length": E, "empty": E, "ragged": E,
        "strings": E, "none": E,
    },
    # importances >= 0, one per feature
    "importance": {
        "nan_entry": E, "inf_entry": E, "negative_entry": E, "bool_array": E, "wrong_length": E,
        "empty": E, "ragged": E, "strings": E, "none": E, "zero_entry": OK, "huge_entry": EITHER,
    },
    # a weight matrix, a bias, features, hidden activations: any finite numbers
    "finite": {
        "nan_entry": E, "inf_entry": E, "huge_entry": EITHER, "wrong_length": E, "empty": E,
        "ragged": E, "strings": E, "none": E, "scalar": E, "bool_array": E,
    },
    # an axis of positive values, strictly increasing
    "axis": {
        "nan_entry": E, "inf_entry": E, "negative_entry": E, "zero_entry": E, "empty": E,
        "decreasing": E, "strings": E, "none": E, "ragged": E,
    },
    # positive values, any order (estimates, references)
    "positive": {
        "nan_entry": E, "inf_entry": E, "negative_entry": E, "zero_entry": E, "empty": E,
        "strings": E, "none": E, "ragged": E,
    },
    # an array of phase labels (strings)
    "labels": {"numbers": E, "none": E, "wrong_ndim": E, "empty": EITHER},
}
# fmt: on


def _scalar_variants(kind_type: str, good: Any) -> Iterator[Variant]:
    classes = SCALAR_CLASSES[kind_type]
    values: dict[str, Any] = {
        "zero": 0 if isinstance(good, (int, np.integer)) else 0.0,
        "negative": -1 if isinstance(good, (int, np.integer)) else -0.5,
        "fractional": 2.5,
        "integral_float": float(good) if isinstance(good, (int, np.integer)) else 3.0,
        "bool": True,
        "nan": float("nan"),
        "inf": float("inf"),
        "string": str(good) if good is not None else "1",
        "none": None,
        "huge": HUGE_COUNT if kind_type in ("count", "count0") else HUGE,
        "numpy_int": np.int64(good) if isinstance(good, (int, np.integer)) else np.int64(3),
        "one": 1.0,
        "above_one": 2.0,
        "tiny": 1e-300,
        "complex": 1 + 1j,
        "unknown": "no-such-option",
        "number": 1,
        "empty_string": "",
        "upper_case": str(good).upper() if isinstance(good, str) else "X",
    }
    for kind, outcome in classes.items():
        if kind == "upper_case" and (not isinstance(good, str) or good.upper() == good):
            continue
        yield _scalar(kind, values[kind], outcome)


def _array_variants(kind_type: str, good: Any) -> Iterator[Variant]:
    classes = ARRAY_CLASSES[kind_type]
    arr = np.asarray(good)
    for kind, outcome in classes.items():
        value: Any
        tokens: tuple[str, ...]
        if kind.endswith("_entry"):
            fill = {
                "nan_entry": np.nan,
                "inf_entry": np.inf,
                "zero_entry": 0.0,
                "negative_entry": -0.5,
                "above_one_entry": 2.0,
                "huge_entry": HUGE,
            }[kind]
            value = arr.astype(np.float64).copy()
            value.flat[0] = fill
            tokens = {
                "nan_entry": ("nan",),
                "inf_entry": ("inf",),
                "zero_entry": ("0",),
                "negative_entry": ("-0.5",),
                "above_one_entry": ("2",),
                "huge_entry": ("1e+200", "1e200"),
            }[kind]
        elif kind == "bool_array":
            value, tokens = np.ones(arr.shape, dtype=bool), ("bool", "True")
        elif kind == "wrong_length":
            if arr.ndim == 0:
                continue
            value = np.concatenate([arr, arr[..., -1:]], axis=-1)
            tokens = (str(value.shape), "shape", str(value.shape[-1]))
        elif kind == "empty":
            value = arr[..., :0] if arr.ndim else np.array([])
            tokens = (str(value.shape), "empty", "[]", "shape", "0")
        elif kind == "ragged":
            value = [[0.5], [0.5, 0.5]] if arr.dtype.kind != "U" else [["a"], ["a", "b"]]
            tokens = ("ragged", "[[0.5], [0.5, 0.5]]", "inhomogeneous", "shape", "sequence")
        elif kind == "strings":
            value = arr.astype(str) if arr.ndim else "0.5"
            tokens = ("'", "str", "<U")
        elif kind == "none":
            value, tokens = None, ("None",)
        elif kind == "scalar":
            value, tokens = 1.0, ("shape ()", "()", "1.0", "scalar")
        elif kind == "decreasing":
            if arr.size < 2:
                continue
            value, tokens = arr[::-1].copy(), ("increasing",)
        elif kind == "numbers":
            value, tokens = np.zeros(arr.shape), ("float", "dtype", "number")
        elif kind == "wrong_ndim":
            value, tokens = arr.reshape(-1), (str(arr.reshape(-1).shape), "shape", "2-D")
        else:
            raise KeyError(kind)
        yield Variant(kind, value, outcome, tokens)


def variants(kind_type: str, good: Any) -> Iterator[Variant]:
    """The bad and edge values of every class that applies to an argument of this type."""
    if isinstance(good, (list, tuple, np.ndarray)) and kind_type in ARRAY_CLASSES:
        yield from _array_variants(kind_type, good)
    elif kind_type in SCALAR_CLASSES:
        yield from _scalar_variants(kind_type, good)
    else:
        yield from _array_variants(kind_type, good)


def no_nan(value: Any) -> bool:
    """True when no number in ``value`` (dataclasses, dicts, sequences, arrays) is NaN."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if is_dataclass(value) and not isinstance(value, type):
        return all(no_nan(getattr(value, f.name)) for f in fields(value))
    if isinstance(value, dict):
        return all(no_nan(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(no_nan(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.dtype.kind not in "fc" or not bool(np.isnan(value).any())
    if isinstance(value, (float, np.floating)):
        return not np.isnan(value)
    return True


def all_finite(value: Any) -> bool:
    """True when every number in ``value`` is finite (no NaN, no inf)."""
    if is_dataclass(value) and not isinstance(value, type):
        return all(all_finite(getattr(value, f.name)) for f in fields(value))
    if isinstance(value, dict):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(all_finite(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.dtype.kind not in "fc" or bool(np.isfinite(value).all())
    if isinstance(value, (float, np.floating)):
        return bool(np.isfinite(value))
    return True


@dataclass(frozen=True)
class Expect:
    """What a case must end with (module docstring).

    ``outcome``: "error", "ok" or "either". ``name``: the argument (or file path) a clear message
    names; ``tokens``: renderings of the value, one of which a clear message shows (none needed
    when empty); ``errors``: the accepted exception types; ``check``: the test a returned result
    must pass.
    """

    outcome: str
    name: str | None = None
    tokens: tuple[str, ...] = ()
    errors: tuple[type[BaseException], ...] = (ValueError, TypeError)
    check: Callable[[Any], bool] = no_nan


@dataclass(frozen=True)
class Case:
    """One call with one bad or edge input."""

    target: str  # the function, e.g. "theory.bounds.no_superposition_loss"
    argument: str  # the argument (or file) that is bad
    kind: str  # the class of bad value, e.g. "nan", "truncated_npz"
    call: Callable[[], Any]
    expect: Expect
    group: str = "library"
    family: str = ""  # the row of the table by kind (default: the kind itself)

    @property
    def id(self) -> str:
        return f"{self.target}({self.argument}={self.kind})"


@dataclass(frozen=True)
class Target:
    """A public function, valid arguments for it, and the type of each argument to vary.

    ``call(**kwargs)`` runs it. ``names`` maps an argument to the name its error messages use
    (default: the argument itself). Every argument in ``types`` is varied over the classes of
    its type (:func:`variants`), the others keep their valid value; one more case calls it with
    the valid arguments only (kind ``"valid"``).
    """

    name: str
    call: Callable[..., Any]
    good: dict[str, Any]
    types: dict[str, str]
    check: Callable[[Any], bool] = no_nan
    errors: tuple[type[BaseException], ...] = (ValueError, TypeError)
    names: dict[str, str] | None = None
    #: (argument, class) -> expected outcome, where the argument's type's default is wrong here
    #: (e.g. a longer importance vector is valid where it alone sets the number of features)
    overrides: dict[tuple[str, str], str] | None = None

    def cases(self) -> list[Case]:
        out = [
            Case(
                self.name,
                "*",
                "valid",
                _bind(self.call, dict(self.good)),
                Expect("ok", check=self.check),
            )
        ]
        for arg, kind_type in self.types.items():
            for v in variants(kind_type, self.good[arg]):
                kwargs = {**self.good, arg: v.value}
                name = (self.names or {}).get(arg, arg)
                outcome = (self.overrides or {}).get((arg, v.kind), v.outcome)
                expect = Expect(outcome, name, v.tokens, self.errors, self.check)
                out.append(Case(self.name, arg, v.kind, _bind(self.call, kwargs), expect))
        return out


def _bind(call: Callable[..., Any], kwargs: dict[str, Any]) -> Callable[[], Any]:
    return lambda: call(**kwargs)
