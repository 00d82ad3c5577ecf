"""A sweep's axes: named dimensions whose labels set fields of the configurations.

An axis has a name (the dimension's name in the store and in xarray), labels (its coordinate) and
one or more *settings*: a configuration field (``"density"``, ``"training.lr"``, any field of
:class:`~toysup.FeatureConfig`, :class:`~toysup.ModelConfig` or :class:`~toysup.TrainConfig`, by
name, so fields added to the configurations later need nothing here) and one value per label.
The per-feature fields (density, importance) may be set for all features at once, for one feature
(``feature=i``), or as a whole vector per label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any, NamedTuple

import numpy as np

from toysup.config import FeatureConfig, ModelConfig, TrainConfig

#: The three configurations a sweep point is made of, by the names used in field paths.
SECTIONS: dict[str, type] = {
    "features": FeatureConfig,
    "model": ModelConfig,
    "training": TrainConfig,
}
#: Fields a sweep owns or that change the shapes of its arrays: the same for the whole sweep.
FIXED_FIELDS = frozenset(
    {
        "features.n_features",
        "features.n_instances",
        "model.n_features",
        "model.n_hidden",
        "training.n_seeds",
    }
)
#: Per-feature fields, ``(instances, features)`` in :class:`~toysup.FeatureConfig`: configurations
#: that differ only in these are trained together in one call (one task).
PER_FEATURE = frozenset({"features.density", "features.importance"})
#: Dimension names the store uses for the arrays' other axes.
RESERVED_NAMES = frozenset({"seed", "hidden", "feature", "log_step", "snapshot", "task"})


class Setting(NamedTuple):
    """One field set by an axis: ``path`` (``"section.field"``), ``feature`` (an index for a
    per-feature field, or None for the whole field), one value per label."""

    path: str
    feature: int | None
    values: tuple[Any, ...]


def field_names(section: str) -> list[str]:
    return [f.name for f in fields(SECTIONS[section])]


def resolve_field(name: Any) -> str:
    """``"density"`` -> ``"features.density"``; a qualified ``"training.lr"`` is checked."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a field name must be a non-empty string, got {name!r}")
    accepted = sorted(f"{s}.{f}" for s in SECTIONS for f in field_names(s))
    if "." in name:
        if name not in accepted:
            raise ValueError(f"unknown configuration field {name!r}; accepted: {accepted}")
        return name
    matches = [f"{s}.{name}" for s in SECTIONS if name in field_names(s)]
    if not matches:
        raise ValueError(f"unknown configuration field {name!r}; accepted: {accepted}")
    if len(matches) > 1:
        raise ValueError(f"field {name!r} is in several configurations: write one of {matches}")
    return matches[0]


def plain(value: Any) -> Any:
    """A JSON-friendly copy: numpy scalars to Python, arrays and tuples to lists."""
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.str_):
        return str(value)
    return value


def _label_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number" if math.isfinite(value) else None
    if isinstance(value, str):
        return "str"
    return None


def check_labels(name: str, labels: Sequence[Any]) -> tuple[Any, ...]:
    """Distinct finite numbers, strings or bools, all of one kind."""
    out = tuple(plain(v) for v in labels)
    kinds = {_label_kind(v) for v in out}
    if not out or None in kinds or len(kinds) != 1:
        raise ValueError(
            f"axis {name!r}: labels must be a non-empty list of finite numbers, strings or bools, "
            f"all of one kind; got {list(out)!r}"
        )
    if len(set(out)) != len(out):
        raise ValueError(f"axis {name!r}: labels must be distinct, got {list(out)!r}")
    return out


class Axis:
    """A named dimension of a sweep: labels, and the field values each label sets.

    ``Axis("density", p)``: one configuration per density, all features (the field is the axis's
    name). ``Axis("importance", r, feature=-1)``: the last feature's importance. ``Axis("penalty",
    lams, field="l1_hidden")``: any configuration field, by name or as ``"training.l1_hidden"``.
    Vector values (a per-feature density per label) need ``labels`` (default ``0, 1, ...``).
    :meth:`zip` sets several fields along one axis (and so covers an explicit list of
    configurations).
    """

    __slots__ = ("labels", "name", "settings")
    name: str
    labels: tuple[Any, ...]
    settings: tuple[Setting, ...]

    def __init__(
        self,
        name: str,
        values: Sequence[Any],
        *,
        field: str | None = None,
        feature: int | None = None,
        labels: Sequence[Any] | None = None,
    ) -> None:
        values = _values(name, values)
        if labels is None:
            scalar = all(_label_kind(v) is not None for v in values)
            labels = values if scalar else list(range(len(values)))
        self._set(name, labels, [(field if field is not None else name, feature, values)])

    @classmethod
    def zip(cls, name: str, labels: Sequence[Any], fields: Mapping[str, Sequence[Any]]) -> Axis:
        """One axis setting several fields together: ``fields`` maps a field name to one value
        per label, e.g. ``Axis.zip("run", [0, 1], {"lr": [1e-3, 3e-3], "steps": [4000, 2000]})``.
        """
        if not isinstance(fields, Mapping) or not fields:
            raise TypeError(f"axis {name!r}: fields must be a non-empty mapping, got {fields!r}")
        axis = cls.__new__(cls)
        axis._set(name, labels, [(f, None, _values(name, v)) for f, v in fields.items()])
        return axis

    def _set(self, name: str, labels: Sequence[Any], raw: list[tuple[str, Any, tuple]]) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"an axis name must be an identifier, got {name!r}")
        if name in RESERVED_NAMES:
            raise ValueError(
                f"axis name {name!r} is reserved for the store's other dimensions "
                f"{sorted(RESERVED_NAMES)}; choose another (e.g. {name}_value)"
            )
        labels = check_labels(name, labels)
        settings = []
        for field, feature, values in raw:
            path = resolve_field(field)
            if path in FIXED_FIELDS:
                raise ValueError(
                    f"axis {name!r}: {path} changes the shapes of the results or is set by the "
                    f"sweep; it must be the same for the whole sweep (set it in the base "
                    "configuration)"
                )
            if feature is not None:
                if path not in PER_FEATURE:
                    raise ValueError(
                        f"axis {name!r}: feature= applies to {sorted(PER_FEATURE)}, not {path}"
                    )
                if isinstance(feature, bool) or not isinstance(feature, (int, np.integer)):
                    raise TypeError(f"axis {name!r}: feature must be an integer, got {feature!r}")
                feature = int(feature)
            if len(values) != len(labels):
                raise ValueError(
                    f"axis {name!r}: {len(values)} values for {path} but {len(labels)} labels"
                )
            settings.append(Setting(path, feature, values))
        paths = [s.path for s in settings]
        if len(set(paths)) != len(paths):
            raise ValueError(f"axis {name!r} sets a field twice: {paths}")
        self.name, self.labels, self.settings = name, labels, tuple(settings)

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        sets = ", ".join(
            s.path + (f"[{s.feature}]" if s.feature is not None else "") for s in self.settings
        )
        return f"Axis({self.name!r}, {len(self)} labels, sets {sets})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Axis) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.name, self.labels))

    @property
    def per_feature_only(self) -> bool:
        """True when the axis sets only density/importance: its configurations can share a task."""
        return all(s.path in PER_FEATURE for s in self.settings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "labels": list(self.labels),
            "settings": [
                {"field": s.path, "feature": s.feature, "values": list(s.values)}
                for s in self.settings
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Axis:
        if not isinstance(data, Mapping) or set(data) != {"name", "labels", "settings"}:
            raise ValueError(f"an axis is a dict with keys name, labels, settings; got {data!r}")
        axis = cls.__new__(cls)
        raw = [
            (s["field"], s["feature"], _values(data["name"], s["values"])) for s in data["settings"]
        ]
        axis._set(data["name"], data["labels"], raw)
        return axis


def _values(name: str, values: Any) -> tuple[Any, ...]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"axis {name!r}: values must be a list or 1-D array, got {values!r}")
    out = tuple(plain(v) for v in values)
    if not out:
        raise ValueError(f"axis {name!r}: values must not be empty")
    return out
