"""What every paper figure shares: the run's context, the one training helper, the size presets,
and the data a figure is drawn from.

Each figure module (:mod:`verify.paper_figures.intro`, ...) provides

- ``Settings``: a frozen dataclass of its sizes and training settings, with ``PRESETS``
  (``"quick"``, ``"default"``) and ``PAPER`` (what the paper or its notebook used, for the index
  and the docs);
- ``trainings(settings, ctx) -> list[Training]``: the training runs it needs (what the job's
  sweep trains);
- ``compute(settings, ctx) -> FigureData``: trains through :func:`fit` (or takes the sweep's
  results) and returns the arrays;
- ``draw(arrays) -> dict[stem, Figure]``: the figures, drawn from the arrays alone (those saved
  in ``<name>.npz``), so a figure can be redrawn from its data file;
- ``memory(settings) -> float``: planned bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from toysup import FeatureConfig, ModelConfig, TrainConfig, TrainResult, train

#: The run sizes: ``quick`` (the tests' seconds-long version) and ``default``.
SIZES = ("quick", "default")

Arrays = dict[str, NDArray[Any]]


@dataclass(frozen=True)
class Training:
    """One training run a figure needs: ``key`` (unique within the figure), ``label`` (the
    progress report's "privileged basis: training") and the three configurations."""

    key: str
    label: str
    features: FeatureConfig
    model: ModelConfig
    training: TrainConfig


@dataclass(frozen=True, eq=False)
class Trained:
    """What a figure reads from a training run, whether trained here (:meth:`from_result`) or
    read back from a sweep store (``verify.paper_figures.sweeps``). Shapes: C configurations,
    k seeds, T logged steps: ``W`` (C, m, n), ``b`` (C, n), ``W_dec`` (C, n, m) or None,
    ``seed_W`` (C, k, m, n), ``loss``/``loss_stderr`` (C,), ``seed_loss``/``seed_loss_stderr``/
    ``best_seed`` (C, k), ``history_steps`` (T,), ``history_loss`` (T, C, k), ``snapshots``
    (``step`` (s,), ``W`` (C, s, m, n), ``b`` (C, s, n)) or None."""

    W: NDArray[Any]
    b: NDArray[Any]
    W_dec: NDArray[Any] | None
    seed_W: NDArray[Any]
    loss: NDArray[Any]
    loss_stderr: NDArray[Any]
    seed_loss: NDArray[Any]
    seed_loss_stderr: NDArray[Any]
    best_seed: NDArray[Any]
    history_steps: NDArray[Any]
    history_loss: NDArray[Any]
    snapshots: dict[str, NDArray[Any]] | None
    device: str

    @classmethod
    def from_result(cls, result: TrainResult) -> Trained:
        def array(value: Any) -> NDArray[Any]:
            return np.asarray(value)

        snaps = result.snapshots
        return cls(
            W=array(result.W),
            b=array(result.b),
            W_dec=None if result.W_dec is None else array(result.W_dec),
            seed_W=array(result.seed_W),
            loss=array(result.loss),
            loss_stderr=array(result.loss_stderr),
            seed_loss=array(result.seed_loss),
            seed_loss_stderr=array(result.seed_loss_stderr),
            best_seed=array(result.best_seed),
            history_steps=array(result.history_steps),
            history_loss=array(result.history_loss),
            snapshots=None if snaps is None else {k: array(v) for k, v in snaps.items()},
            device=str(result.info["device"]),
        )


@dataclass(frozen=True)
class Context:
    """The run's common options: base seed, device, CPU workers, progress (None: shown,
    labelled by figure; False: silent), and ``trained``: results already trained (by the job's
    sweep, keyed ``"<figure>_<key>"``), used instead of training again."""

    seed: int = 0
    device: str = "auto"
    workers: int | None = None
    progress: bool | None = None
    trained: Mapping[str, Any] = field(default_factory=dict)

    def seed_for(self, name: str, stream: int = 0) -> int:
        """The training seed of figure ``name`` (and of its ``stream``-th training run): derived
        from the base seed and the name, so that ``--only`` reproduces a full run's figure."""
        state = np.random.SeedSequence([self.seed, zlib.crc32(name.encode()), stream])
        return int(state.generate_state(1, np.uint32)[0])


def sweep_name(figure: str, key: str) -> str:
    """The name of a figure's training run in the job's sweep store."""
    return f"{figure}_{key}"


@dataclass(frozen=True)
class Run:
    """One training run of a figure: what was trained and what it returned."""

    label: str
    features: FeatureConfig
    model: ModelConfig
    training: TrainConfig
    result: Trained

    def configs(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "features": self.features.to_dict(),
            "model": self.model.to_dict(),
            "training": self.training.to_dict(),
        }


def fit(ctx: Context, figure: str, plan: list[Training], runs: list[Run]) -> dict[str, Trained]:
    """Train a figure's runs (``plan``), or take them from ``ctx.trained`` where the job's sweep
    trained them: the single place where the paper figures call the trainer. Each run is
    appended to ``runs`` (recorded in config.json); returns the results by key."""
    out = {}
    for item in plan:
        done = ctx.trained.get(sweep_name(figure, item.key))
        if done is None:
            result = train(
                item.features,
                item.model,
                item.training,
                progress=item.label if ctx.progress is None else False,
                workers=ctx.workers,
            )
            done = Trained.from_result(result)
        runs.append(Run(item.label, item.features, item.model, item.training, done))
        out[item.key] = done
    return out


def history_arrays(result: Trained, prefix: str = "") -> Arrays:
    """The loss history and final losses of a result, for a figure's data file."""
    return {
        f"{prefix}history_steps": np.asarray(result.history_steps),
        f"{prefix}history_loss": np.asarray(result.history_loss),
        f"{prefix}seed_loss": np.asarray(result.seed_loss),
        f"{prefix}seed_loss_stderr": np.asarray(result.seed_loss_stderr),
        f"{prefix}best_seed": np.asarray(result.best_seed),
        f"{prefix}loss": np.asarray(result.loss),
        f"{prefix}loss_stderr": np.asarray(result.loss_stderr),
    }


@dataclass(frozen=True)
class FigureData:
    """What a figure's computation returns: the arrays of its data file, the numbers for the
    index (``results``: JSON-ready), and the training runs made."""

    arrays: Arrays
    results: dict[str, Any]
    runs: list[Run] = field(default_factory=list)
    device: str | None = None

    @property
    def train_device(self) -> str | None:
        """The device the models were trained on (``TrainResult.info["device"]``)."""
        if self.device is not None:
            return self.device
        return self.runs[0].result.device if self.runs else None


@dataclass(frozen=True)
class FigureSpec:
    """One entry of the registry: a name, what it shows, the paper section it reproduces, and
    its module's functions."""

    name: str
    title: str
    section: str
    presets: Mapping[str, Any]
    paper: Mapping[str, Any]
    trainings: Callable[[Any, Context], list[Training]]
    compute: Callable[[Any, Context], FigureData]
    draw: Callable[[Mapping[str, NDArray[Any]]], dict[str, Figure]]
    memory: Callable[[Any], float]

    def settings(self, size: str) -> Any:
        return self.presets[size]


# ------------------------------------------------------------------------- settings helpers


def settings_dict(settings: Any) -> dict[str, Any]:
    """A settings dataclass as JSON-ready values (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()}


def check_settings(settings: Any) -> None:
    """Positive integers and finite positive floats, and densities in (0, 1], for every field
    that holds one; ``ValueError`` naming the field otherwise."""
    for f in fields(settings):
        value = getattr(settings, f.name)
        if f.name in ("densities", "density"):
            arr = np.atleast_1d(np.asarray(value, dtype=float))
            if arr.size == 0 or not np.all((arr > 0) & (arr <= 1)):
                raise ValueError(f"{f.name} must lie in (0, 1], got {value!r}")
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int) and value < 1:
            raise ValueError(f"{f.name} must be an integer >= 1, got {value!r}")
        elif isinstance(value, float) and not (np.isfinite(value) and value > 0):
            raise ValueError(f"{f.name} must be a finite number > 0, got {value!r}")


def density_titles(density: Any) -> list[str]:
    """Panel titles ``"p = 0.03"`` for an array of densities."""
    return [f"p = {float(p):.3g}" for p in np.ravel(density)]


def importance_text(importance: Any) -> str:
    """``"importance 0.9$^i$"`` for geometric importances, ``"equal importance"`` for equal
    ones, else ``"importance as given"`` (for figure titles)."""
    imp = np.asarray(importance, dtype=float).ravel()
    if imp.size < 2 or np.allclose(imp, imp[0]):
        return "equal importance"
    ratio = imp[1] / imp[0]
    if np.allclose(imp, imp[0] * ratio ** np.arange(imp.size)):
        return f"importance {ratio:.3g}$^i$"
    return "importance as given"


def training_memory(
    instances: int, seeds: int, n: int, m: int, batch: int, *, snapshots: int = 0
) -> float:
    """Planned bytes of one training run: the step's (instances·seeds, n, batch) float32 buffers
    (about six of them, two workers), the parameters and optimiser state, and the snapshots."""
    runs = instances * seeds
    step = 4.0 * 6 * 2 * max(runs * n * batch, 1 << 18)
    params = 4.0 * 8 * runs * (2 * m * n + n)
    return step + params + 4.0 * instances * snapshots * (2 * m * n + n)
