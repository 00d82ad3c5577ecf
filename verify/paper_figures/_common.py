"""What every paper figure shares: the run's context, the one training helper, the size presets,
and the data a figure is drawn from.

Each figure module (:mod:`verify.paper_figures.intro`, ...) provides

- ``Settings``: a frozen dataclass of its sizes and training settings, with ``PRESETS``
  (``"quick"``, ``"default"``) and ``PAPER`` (what the paper or its notebook used, for the index
  and the docs);
- ``compute(settings, ctx) -> FigureData``: trains through :func:`fit` and returns the arrays;
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
class Context:
    """The run's common options: base seed, device, CPU workers, and progress (None: shown,
    labelled by figure; False: silent)."""

    seed: int = 0
    device: str = "auto"
    workers: int | None = None
    progress: bool | None = None

    def seed_for(self, name: str, stream: int = 0) -> int:
        """The training seed of figure ``name`` (and of its ``stream``-th training run): derived
        from the base seed and the name, so that ``--only`` reproduces a full run's figure."""
        state = np.random.SeedSequence([self.seed, zlib.crc32(name.encode()), stream])
        return int(state.generate_state(1, np.uint32)[0])


@dataclass(frozen=True)
class Run:
    """One training run of a figure: what :func:`fit` trained and what it returned."""

    label: str
    features: FeatureConfig
    model: ModelConfig
    training: TrainConfig
    result: TrainResult

    def configs(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "features": self.features.to_dict(),
            "model": self.model.to_dict(),
            "training": self.training.to_dict(),
        }


def fit(
    ctx: Context,
    label: str,
    features: FeatureConfig,
    model: ModelConfig,
    training: TrainConfig,
    runs: list[Run],
) -> TrainResult:
    """Train one batch of configurations for a figure: the single place where the paper figures
    call the trainer. ``label`` names the run in the progress report ("privileged basis:
    training"); the run is appended to ``runs`` (recorded in config.json)."""
    result = train(
        features,
        model,
        training,
        progress=label if ctx.progress is None else False,
        workers=ctx.workers,
    )
    runs.append(Run(label, features, model, training, result))
    return result


def history_arrays(result: TrainResult, prefix: str = "") -> Arrays:
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
        return str(self.runs[0].result.info["device"]) if self.runs else None


@dataclass(frozen=True)
class FigureSpec:
    """One entry of the registry: a name, what it shows, the paper section it reproduces, and
    its module's functions."""

    name: str
    title: str
    section: str
    presets: Mapping[str, Any]
    paper: Mapping[str, Any]
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
