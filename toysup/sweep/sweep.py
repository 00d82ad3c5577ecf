"""A sweep: a grid of configurations × seeds, cut into tasks.

Grid point ``(i_1, ..., i_d)`` is the base configuration with every axis's settings at its label
``i_k`` applied. A *task* is a rectangular block of the grid (the task shape), trained by one
:func:`toysup.train` call with all its configurations' seeds. Its training seed is derived from
its key, the canonical JSON of the configurations it trains (the sweep's seed included), so a
task's result depends on nothing else: not on the engine, the worker, the order, or what ran
before (docs/sweeps.md, "Tasks and seeds").
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from toysup.config import FeatureConfig, ModelConfig, TrainConfig
from toysup.data import CompactSampler
from toysup.sweep.axes import PER_FEATURE, Axis, plain

#: Default task size: about this many explicit feature entries per training step, counted as the
#: trainer counts them (configurations × seeds × features × the examples it keeps: the whole batch
#: at density 1, about the active ones at low density), two trainer blocks, so that a task's fixed
#: costs (its own training call, blocks and store write) stay small against its work
#: (bench/bench_sweep.py).
DEFAULT_TASK_ENTRIES = 1 << 19


@dataclass(frozen=True, eq=False)
class Task:
    """One unit of work: a block of whole configurations with all their seeds.

    ``region``: ``[start, stop)`` per grid axis. ``features`` stacks the block's configurations
    (``n_instances`` = their number, C order over the region); ``training.seed`` is the task's
    derived seed; ``digest`` is the SHA-256 of the task's key.
    """

    index: int
    region: tuple[tuple[int, int], ...]
    features: FeatureConfig
    model: ModelConfig
    training: TrainConfig
    digest: str

    @property
    def slices(self) -> tuple[slice, ...]:
        return tuple(slice(a, b) for a, b in self.region)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(b - a for a, b in self.region)

    @property
    def n_configs(self) -> int:
        return self.features.n_instances

    @property
    def cost(self) -> float:
        """A rough estimate of the task's work, only to start long tasks first: steps × seeds ×
        batch × features × (examples with a non-zero feature, plus a floor for fixed costs),
        summed over configurations."""
        activity = 1 - np.prod(1 - self.features.density_array, axis=1)
        t, f = self.training, self.features
        return float(t.steps * t.n_seeds * t.batch_size * f.n_features * np.sum(0.05 + activity))


def default_task_size(density: np.ndarray, n_features: int, training: TrainConfig) -> int:
    """Configurations per task such that a task's expected explicit entries per step are about
    :data:`DEFAULT_TASK_ENTRIES`. ``density``: the grid's densities, ``(..., n_features)``.

    A configuration's entries are ``n_seeds × n_features × w``, with w the examples the trainer
    keeps per step: about ``batch × q + 3 sd`` where ``q = 1 − Π_i (1 − p_i)`` is the chance an
    example has an active feature (the compact sampler's width, the whole batch at density 1),
    averaged over the grid. A function of the sweep's settings only, never of the machine or
    engine: the tasks, and so the derived seeds, are the same everywhere."""
    grid = np.asarray(density, dtype=np.float64).reshape(-1, n_features)
    kept = CompactSampler.expected_widths(grid, training.batch_size)  # (configurations,)
    per_config = training.n_seeds * n_features * float(np.mean(kept))
    return max(1, int(DEFAULT_TASK_ENTRIES // per_config))


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def task_seed(digest: str) -> int:
    """The training seed of a task: the first 63 bits of its key's SHA-256."""
    return int(digest[:16], 16) >> 1


class Sweep:
    """A grid of configurations × seeds, cut into tasks.

    Args:
        features: the base feature distribution (one configuration: ``n_instances=1``).
        model: the model (its ``n_features``/``n_hidden`` are the whole sweep's).
        training: the training settings; ``n_seeds`` seeds per configuration, and ``seed`` the
            sweep's seed from which every task's seed is derived.
        axes: :class:`Axis` objects, or a mapping ``{field name: values}``; their order is the
            order of the dimensions.
        task_size: at most this many configurations per task (default: from the expected work,
            :func:`default_task_size`).
        task_shape: or the task's extent along each axis (omitted axes: 1).

    Axes that set only density/importance may span several configurations per task; any other
    axis has extent 1 (a task's configurations share everything but those).
    A field left at a derived default (e.g. ``log_every``, derived from ``steps``) is derived
    again for every configuration.
    """

    def __init__(
        self,
        *,
        features: FeatureConfig,
        model: ModelConfig,
        training: TrainConfig | None = None,
        axes: Sequence[Axis] | Mapping[str, Sequence[Any]],
        task_size: int | None = None,
        task_shape: Mapping[str, int] | None = None,
    ) -> None:
        training = training if training is not None else TrainConfig()
        for name, cfg, cls in (
            ("features", features, FeatureConfig),
            ("model", model, ModelConfig),
            ("training", training, TrainConfig),
        ):
            if not isinstance(cfg, cls):
                raise TypeError(f"{name} must be a {cls.__name__}, got {type(cfg).__name__}")
        if features.n_instances != 1:
            raise ValueError(
                "the base features describe one configuration (n_instances=1; the axes make the "
                f"others), got n_instances={features.n_instances}"
            )
        if features.n_features != model.n_features:
            raise ValueError(
                f"features.n_features ({features.n_features}) must equal model.n_features "
                f"({model.n_features})"
            )
        self.features, self.model, self.training = features, model, training
        self.axes = _axes(axes)
        _check_conflicts(self.axes, model.n_features)
        self.dims = tuple(a.name for a in self.axes)
        self.shape = tuple(len(a) for a in self.axes)
        self.density, self.importance = self._per_feature_grids()
        self.task_shape = self._task_shape(task_size, task_shape)
        self.task_grid = tuple(math.ceil(s / c) for s, c in zip(self.shape, self.task_shape))
        self._rederived: dict[type, set[str]] = {cls: _rederived(cfg) for cls, cfg in
                           ((FeatureConfig, features), (ModelConfig, model), (TrainConfig, training))}  # fmt: skip
        self._tasks: list[Task] | None = None

    # --- the grid -------------------------------------------------------------------------
    @property
    def n_configs(self) -> int:
        return math.prod(self.shape)

    @property
    def n_tasks(self) -> int:
        return math.prod(self.task_grid)

    @property
    def n_seeds(self) -> int:
        return self.training.n_seeds

    def varies(self, path: str) -> bool:
        """Whether an axis sets the field ``path`` (e.g. ``"training.steps"``)."""
        return any(s.path == path for a in self.axes for s in a.settings)

    def _task_shape(
        self, task_size: int | None, task_shape: Mapping[str, int] | None
    ) -> tuple[int, ...]:
        if task_size is not None and task_shape is not None:
            raise ValueError("give task_size or task_shape, not both")
        if task_shape is not None:
            if not isinstance(task_shape, Mapping):
                raise TypeError(f"task_shape must map axis names to extents, got {task_shape!r}")
            unknown = sorted(set(task_shape) - set(self.dims))
            if unknown:
                raise ValueError(f"task_shape names unknown axes {unknown}; axes are {self.dims}")
            out = []
            for axis in self.axes:
                extent = task_shape.get(axis.name, 1)
                if isinstance(extent, bool) or not isinstance(extent, (int, np.integer)):
                    raise TypeError(f"task_shape[{axis.name!r}] must be an integer, got {extent!r}")
                if not 1 <= extent <= len(axis):
                    raise ValueError(
                        f"task_shape[{axis.name!r}] must lie in [1, {len(axis)}], got {extent}"
                    )
                if extent > 1 and not axis.per_feature_only:
                    raise ValueError(
                        f"axis {axis.name!r} sets {[s.path for s in axis.settings]}: its "
                        "configurations cannot share a task (only density/importance axes can); "
                        f"task_shape[{axis.name!r}] must be 1, got {extent}"
                    )
                out.append(int(extent))
            return tuple(out)
        if task_size is None:
            task_size = default_task_size(self.density, self.model.n_features, self.training)
        elif isinstance(task_size, bool) or not isinstance(task_size, (int, np.integer)):
            raise TypeError(f"task_size must be a positive integer, got {task_size!r}")
        elif task_size < 1:
            raise ValueError(f"task_size must be a positive integer, got {task_size!r}")
        remaining, out = int(task_size), [1] * len(self.axes)
        for k in reversed(range(len(self.axes))):  # fill the last axes first, balanced cuts
            length = len(self.axes[k])
            if remaining <= 1 or not self.axes[k].per_feature_only:
                continue
            if length <= remaining:
                out[k], remaining = length, remaining // length
            else:
                out[k], remaining = math.ceil(length / math.ceil(length / remaining)), 1
        return tuple(out)

    def _per_feature_grids(self) -> tuple[np.ndarray, np.ndarray]:
        """Density and importance of every grid point, each ``shape + (n_features,)``."""
        n = self.model.n_features
        grids = {
            "features.density": np.broadcast_to(self.features.density_array[0], (*self.shape, n)).copy(),
            "features.importance": np.broadcast_to(self.features.importance_array[0], (*self.shape, n)).copy(),
        }  # fmt: skip
        for k, axis in enumerate(self.axes):
            for setting in axis.settings:
                if setting.path not in PER_FEATURE:
                    continue
                along = np.moveaxis(grids[setting.path], k, 0)  # a view: (len(axis), ..., n)
                for i, value in enumerate(setting.values):
                    try:
                        if setting.feature is None:
                            along[i] = np.asarray(value, dtype=np.float64)
                        else:
                            along[i, ..., setting.feature] = float(value)
                    except (TypeError, ValueError, IndexError) as exc:
                        raise ValueError(
                            f"axis {axis.name!r}: {setting.path} value {value!r} must be a number"
                            + (f" or {n} numbers (one per feature)" if setting.feature is None else "")
                            + (f" for feature {setting.feature} of {n}" if setting.feature is not None else "")
                        ) from exc  # fmt: skip
        return grids["features.density"], grids["features.importance"]

    # --- tasks ----------------------------------------------------------------------------
    def tasks(self) -> list[Task]:
        """Every task, in order (built and validated on first use)."""
        if self._tasks is None:
            self._tasks = [self._task(t) for t in range(self.n_tasks)]
        return self._tasks

    def __iter__(self) -> Iterator[Task]:
        return iter(self.tasks())

    def _task(self, index: int) -> Task:
        position = np.unravel_index(index, self.task_grid)
        region = tuple(
            (int(i) * c, min((int(i) + 1) * c, s))
            for i, c, s in zip(position, self.task_shape, self.shape)
        )
        where = tuple(slice(a, b) for a, b in region)
        n = self.model.n_features
        changes: dict[type, dict[str, Any]] = {FeatureConfig: {}, ModelConfig: {}, TrainConfig: {}}
        for axis, (start, _) in zip(self.axes, region):
            for setting in axis.settings:
                if setting.path in PER_FEATURE:
                    continue
                section, field = setting.path.split(".", 1)
                cls = {"features": FeatureConfig, "model": ModelConfig, "training": TrainConfig}[
                    section
                ]
                changes[cls][field] = _frozen(setting.values[start])
        density = self.density[where].reshape(-1, n)
        importance = self.importance[where].reshape(-1, n)
        changes[FeatureConfig].update(
            n_instances=density.shape[0], density=density, importance=importance
        )
        try:
            features = self._build(FeatureConfig, self.features, changes[FeatureConfig])
            model = self._build(ModelConfig, self.model, changes[ModelConfig])
            training = self._build(TrainConfig, self.training, changes[TrainConfig])
        except (TypeError, ValueError) as exc:
            labels = {a.name: _span(a, r) for a, r in zip(self.axes, region)}
            raise type(exc)(f"sweep task {index} at {labels}: {exc}") from exc
        key = {
            "features": features.to_dict(),
            "model": model.to_dict(),
            "training": training.to_dict(),
        }
        digest = hashlib.sha256(canonical_json(key).encode()).hexdigest()
        return Task(
            index, region, features, model, replace(training, seed=task_seed(digest)), digest
        )

    def _build(self, cls: type, base: Any, changes: dict[str, Any]) -> Any:
        again = {name: None for name in self._rederived[cls] if name not in changes}
        return replace(base, **again, **changes)

    # --- labels ---------------------------------------------------------------------------
    def coords(self) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
        """The store's coordinates: each axis's labels, and every other scalar field an axis sets
        (e.g. ``lr`` along a zipped axis), as ``{name: (dims, values)}``."""
        out: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
        for axis in self.axes:
            out[axis.name] = ((axis.name,), np.asarray(axis.labels))
        for axis in self.axes:
            for setting in axis.settings:
                if setting.values == axis.labels:
                    continue
                if not all(isinstance(v, (bool, int, float, str)) for v in setting.values):
                    continue
                field = setting.path.split(".", 1)[1]
                name = (
                    field
                    if setting.feature is None
                    else f"{field}_{setting.feature % self.model.n_features}"
                )
                if name in out:
                    name = f"{name}_{axis.name}"
                out[name] = ((axis.name,), np.asarray(setting.values))
        return out

    # --- JSON -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "features": self.features.to_dict(),
            "model": self.model.to_dict(),
            "training": self.training.to_dict(),
            "axes": [a.to_dict() for a in self.axes],
            "task_shape": dict(zip(self.dims, self.task_shape)),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sweep:
        expected = {"features", "model", "training", "axes", "task_shape"}
        if not isinstance(data, Mapping) or set(data) != expected:
            got = sorted(data) if isinstance(data, Mapping) else type(data).__name__
            raise ValueError(f"a sweep is a dict with keys {sorted(expected)}; got {got}")
        return cls(
            features=FeatureConfig.from_dict(dict(data["features"])),
            model=ModelConfig.from_dict(dict(data["model"])),
            training=TrainConfig.from_dict({k: _frozen(v) for k, v in data["training"].items()}),
            axes=[Axis.from_dict(a) for a in data["axes"]],
            task_shape=data["task_shape"],
        )

    @classmethod
    def from_json(cls, text: str) -> Sweep:
        return cls.from_dict(json.loads(text))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sweep) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        dims = ", ".join(f"{d}: {s}" for d, s in zip(self.dims, self.shape))
        return (
            f"Sweep({dims}; {self.n_seeds} seeds; {self.n_tasks} tasks of at most "
            f"{math.prod(self.task_shape)} configurations)"
        )


def _axes(axes: Any) -> list[Axis]:
    if isinstance(axes, Mapping):
        out = [Axis(name, values) for name, values in axes.items()]
    elif isinstance(axes, Sequence) and all(isinstance(a, Axis) for a in axes):
        out = list(axes)
    else:
        raise TypeError(f"axes must be a list of Axis or a mapping name -> values, got {axes!r}")
    if not out:
        raise ValueError("a sweep needs at least one axis")
    names = [a.name for a in out]
    if len(set(names)) != len(names):
        raise ValueError(f"axis names must be distinct, got {names}")
    return out


def _check_conflicts(axes: list[Axis], n_features: int) -> None:
    """No field (or feature entry of a per-feature field) may be set by two axes."""
    seen: dict[tuple[str, int | None], str] = {}
    for axis in axes:
        for s in axis.settings:
            if s.feature is not None and not -n_features <= s.feature < n_features:
                raise ValueError(
                    f"axis {axis.name!r}: feature {s.feature} out of range for {n_features} features"
                )
            entry = (s.path, None if s.feature is None else s.feature % n_features)
            clash = [
                seen[k] for k in seen if (k[0] == s.path and None in (k[1], entry[1])) or k == entry
            ]
            if clash:
                raise ValueError(f"axes {clash[0]!r} and {axis.name!r} both set {s.path}")
            seen[entry] = axis.name


def _rederived(config: Any) -> set[str]:
    """Fields with a ``None`` default whose value in ``config`` is the one derived from the rest
    (e.g. ``log_every`` from ``steps``): derived again when other fields change."""
    out = set()
    for f in fields(config):
        if f.default is None and getattr(config, f.name) is not None:
            try:
                if replace(config, **{f.name: None}) == config:
                    out.add(f.name)
            except (TypeError, ValueError):
                continue
    return out


def _frozen(value: Any) -> Any:
    """Lists (from JSON) to tuples, as the frozen configurations hold them."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _span(axis: Axis, region: tuple[int, int]) -> Any:
    a, b = region
    return (
        plain(axis.labels[a]) if b - a == 1 else [plain(axis.labels[a]), plain(axis.labels[b - 1])]
    )
