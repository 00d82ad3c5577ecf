"""Frozen, validated configurations: features, model, training. Each round-trips to JSON.

Shapes follow docs/conventions.md: per-instance, per-feature quantities have shape ``(instances, features)``.
The primary sparsity parameter is the *density* ``p = 1 - S`` (probability a feature is non-zero).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from toysup._validation import (
    check_choice,
    check_float,
    check_int,
    check_matrix,
    check_memory,
    infer_instances,
)

#: Output activations; the hand-derived fast steps cover ``FAST_ACTIVATIONS``.
ACTIVATIONS = ("relu", "linear", "gelu", "softplus")
FAST_ACTIVATIONS = ("relu", "linear")
HIDDEN_ACTIVATIONS = ("none", "relu")
VALUES = ("unit", "signed")
STRUCTURES = ("independent", "correlated", "anticorrelated")
TARGETS = ("identity", "abs")
INITS = ("xavier_normal", "xavier_uniform")
#: How an untied decoder starts: a draw like ``W``'s, or ``|W|ᵀ`` (docs/training.md, "Initialisation").
DECODER_INITS = ("random", "encoder_abs")
OPTIMIZERS = ("adamw", "adam")
SCHEDULES = ("constant", "linear", "cosine")
REDUCTIONS = ("sum", "mean")
DTYPES = ("float32", "float64")
SAMPLERS = ("auto", "dense", "sparse", "compact", "gram")

#: AdamW's default weight decay in torch and in the reference notebook.
DEFAULT_ADAMW_WEIGHT_DECAY = 0.01

_C = TypeVar("_C", bound="_JsonConfig")


class _JsonConfig:
    """Mixin: ``to_dict``/``from_dict``/``to_json``/``from_json`` for flat frozen dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)  # type: ignore[call-overload]
        return {k: _jsonable(v) for k, v in out.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls: type[_C], data: dict[str, Any]) -> _C:
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__}.from_dict needs a dict, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown {cls.__name__} keys {unknown}; accepted keys are {sorted(known)}"
            )
        return cls(**data)

    @classmethod
    def from_json(cls: type[_C], text: str) -> _C:
        return cls.from_dict(json.loads(text))


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True)
class FeatureConfig(_JsonConfig):
    """The synthetic feature distribution (paper §"Demonstrating Superposition", the feature vector x).

    ``x_i = 0`` with probability ``1 - density_i``, else ``Uniform[0, 1]``, independently per example
    and per feature. ``density`` and ``importance`` are scalars, per-feature ``(n_features,)`` or
    per-instance ``(n_instances, n_features)``; they are stored broadcast to
    ``(n_instances, n_features)`` as nested tuples. ``n_instances`` left out is the number of rows
    of a 2-D ``density`` or ``importance`` (1 if neither is 2-D; both 2-D must agree).

    - ``values``: ``"unit"`` (non-zero values ``Uniform[0, 1]``) or ``"signed"``
      (``Uniform[-1, 1]``, the paper's §"Computation in Superposition" inputs).
    - ``structure`` (paper §"Correlated and Anticorrelated Features"): features form consecutive
      sets of ``set_size`` (``n_features`` divisible by it). ``"independent"``: every feature on
      its own (``set_size`` unused). ``"correlated"``: one Bernoulli(p) per set and example makes
      all its features active together (independent values); the features of a set must share
      their density. ``"anticorrelated"``: with probability ``Σ_{i∈set} p_i`` (``set_size · p``
      for equal densities; must be ≤ 1) exactly one feature of the set is active, feature i with
      probability ``p_i / Σ p`` (uniformly for equal densities), else none. Each feature's marginal
      density is ``p_i`` in every case (docs/training.md, "Feature structure").
    """

    n_features: int
    n_instances: int = None  # type: ignore[assignment]  # resolved to an int in __post_init__
    density: Any = 1.0
    importance: Any = 1.0
    values: str = "unit"
    structure: str = "independent"
    set_size: int = 2

    def __post_init__(self) -> None:
        n = check_int("n_features", self.n_features)
        if self.n_instances is None:
            instances = infer_instances(density=self.density, importance=self.importance)
        else:
            instances = check_int("n_instances", self.n_instances)
        bigger = ("n_features", n) if n >= instances else ("n_instances", instances)
        check_memory(*bigger, 64.0 * n * instances, "the densities and importances")
        shape = (instances, n)
        object.__setattr__(self, "n_features", n)
        object.__setattr__(self, "n_instances", instances)
        object.__setattr__(
            self, "density", check_matrix("density", self.density, shape, kind="density")
        )
        object.__setattr__(
            self,
            "importance",
            check_matrix("importance", self.importance, shape, kind="importance"),
        )
        check_choice("values", self.values, VALUES)
        check_structure(self)

    @property
    def density_array(self) -> NDArray[np.float64]:
        """Densities, shape ``(n_instances, n_features)``."""
        return np.array(self.density, dtype=np.float64)

    @property
    def importance_array(self) -> NDArray[np.float64]:
        """Importances, shape ``(n_instances, n_features)``."""
        return np.array(self.importance, dtype=np.float64)

    @property
    def n_sets(self) -> int:
        """Number of feature sets: ``n_features / set_size`` (``n_features`` when independent)."""
        return (
            self.n_features if self.structure == "independent" else self.n_features // self.set_size
        )

    @property
    def set_density_array(self) -> NDArray[np.float64]:
        """Probability that a set has an active feature, shape ``(n_instances, n_sets)``: the
        feature densities when independent, the set's shared density when correlated, the sum of
        the set's densities when anticorrelated."""
        density = self.density_array
        if self.structure == "independent":
            return density
        sets = density.reshape(self.n_instances, self.n_sets, self.set_size)
        return sets[:, :, 0] if self.structure == "correlated" else sets.sum(axis=2)


@dataclass(frozen=True, kw_only=True)
class ModelConfig(_JsonConfig):
    """A toy model with one tied weight ``W`` of shape ``(instances, n_hidden, n_features)``.

    ``activation="relu"``: ``x' = ReLU(WᵀW x + b)``; ``"linear"``: ``x' = WᵀW x + b``
    (paper §"Demonstrating Superposition", equations for the linear and ReLU output models).
    ``init``: per-instance Xavier initialisation with fan-in ``n_features`` and fan-out
    ``n_hidden`` (never the instance count), times ``init_scale``; ``b`` starts at ``bias_init``
    (default 0, the reference notebook's), any finite number.

    The family (docs/training.md, "The model family"): ``h = W x`` (``hidden_activation="none"``)
    or ``h = ReLU(W x)`` (``"relu"``: the paper's privileged-basis model, §"Superposition in a
    Privileged Basis"); ``x' = f(W_dec h + b)`` with ``W_dec = Wᵀ`` when ``tied`` (default), else a
    separate decoder ``W_dec`` of shape ``(instances, n_features, n_hidden)``; output ``f`` =
    ``activation``: ``"relu"``, ``"linear"``, ``"gelu"`` (exact, erf form) or ``"softplus"``
    (``log(1 + eˣ)``). ``decoder_init`` (untied models only): ``"random"`` (default: drawn like
    ``W``, from the same stream) or ``"encoder_abs"`` (``W_dec = |W|ᵀ``: every output starts
    responding to both signs of its own feature, which the absolute-value circuit of §"Computation
    in Superposition" needs to compute features in superposition; docs/training.md,
    "Initialisation").
    """

    n_features: int
    n_hidden: int
    activation: str = "relu"
    init: str = "xavier_normal"
    init_scale: float = 1.0
    hidden_activation: str = "none"
    tied: bool = True
    bias_init: float = 0.0
    decoder_init: str = "random"

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_features", check_int("n_features", self.n_features))
        object.__setattr__(self, "n_hidden", check_int("n_hidden", self.n_hidden))
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("hidden_activation", self.hidden_activation, HIDDEN_ACTIVATIONS)
        if not isinstance(self.tied, (bool, np.bool_)):
            raise TypeError(f"tied must be True or False, got {self.tied!r}")
        object.__setattr__(self, "tied", bool(self.tied))
        check_choice("init", self.init, INITS)
        object.__setattr__(
            self, "init_scale", check_float("init_scale", self.init_scale, exclusive_minimum=0.0)
        )
        object.__setattr__(self, "bias_init", check_float("bias_init", self.bias_init))
        check_choice("decoder_init", self.decoder_init, DECODER_INITS)
        if self.tied and self.decoder_init != "random":
            raise ValueError(
                f"decoder_init={self.decoder_init!r} needs an untied decoder (tied=False): a tied "
                "model's decoder is Wᵀ; accepted with tied=True: 'random' (the default)"
            )


@dataclass(frozen=True, kw_only=True)
class TrainConfig(_JsonConfig):
    """How to train. Defaults follow the reference notebook (batch 1024, 10,000 steps, AdamW with
    weight decay 0.01, lr 1e-3 constant).

    - ``optimizer``: ``"adamw"`` (decoupled weight decay, default 0.01) or ``"adam"`` (``weight_decay``
      is then an L2 term added to the gradient, as ``torch.optim.Adam``; default 0).
    - ``schedule``: learning-rate multiplier per step t of T: constant 1, linear ``1 - t/T``,
      cosine ``cos(π t / (2 (T - 1)))`` (the reference notebook's three).
    - ``loss_reduction``: ``"sum"`` over features (the paper's convention) or ``"mean"`` (divided by
      n_features, the notebook's convention). Either way averaged over examples.
    - ``n_seeds``: independent runs per configuration; the trainer keeps the one with the lowest final
      loss (best-of-k) and reports all of them.
    - ``eval_samples``: fresh examples used to estimate each run's final loss (with a standard error,
      hence at least 2); all seeds of one configuration are evaluated on the same examples.
    - ``sampler``: ``"dense"`` draws one uniform per entry; ``"sparse"`` only the non-zero entries;
      ``"compact"`` only the examples with a non-zero feature; ``"gram"`` the non-zero entries, fed
      to a step that works through ``G = WᵀW`` (cheaper for many features at low density);
      ``"auto"`` picks per block of instances (always ``"dense"`` on CUDA). All draw exactly the
      same distribution and compute the same gradients. ``"gram"`` exists only on the fast path
      (below); the others serve every model and feature structure.
    - ``target``: ``"identity"`` (reconstruct x) or ``"abs"`` (loss ``Σ_i I_i (|x_i| − x'_i)²``,
      paper §"Computation in Superposition"; with unit values ``|x| = x``, so it equals
      ``"identity"``: allowed, with a warning from :func:`toysup.train`).
    - ``l1_hidden``: adds ``λ · E[Σ_j |h_j|]`` (h after the hidden activation) to the objective;
      ``l1_weights``: adds ``λ · Σ|W|`` per instance (W, and W_dec when untied; never b). Both
      are added as written, whatever ``loss_reduction``. The reported final loss is given with and
      without them (:class:`toysup.result.TrainResult`).
    - ``snapshot_steps``: steps s in ``[0, steps]`` at which the kept seed's parameters are saved
      (after s updates: 0 is the initialisation, ``steps`` the end), sorted.

    Tied models with ``hidden_activation="none"``, a ReLU or linear output, target identity, no
    penalty and independent unit features train through the hand-derived fast steps; everything
    else through the general step (docs/training.md, "The general path").
    """

    steps: int = 10_000
    batch_size: int = 1024
    lr: float = 1e-3
    optimizer: str = "adamw"
    weight_decay: float | None = None
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    schedule: str = "constant"
    n_seeds: int = 1
    seed: int = 0
    loss_reduction: str = "sum"
    log_every: int | None = None
    eval_samples: int = 8192
    device: str = "auto"
    dtype: str = "float32"
    sampler: str = "auto"
    target: str = "identity"
    l1_hidden: float = 0.0
    l1_weights: float = 0.0
    snapshot_steps: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        steps = check_int("steps", self.steps)
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "batch_size", check_int("batch_size", self.batch_size))
        object.__setattr__(self, "lr", check_float("lr", self.lr, exclusive_minimum=0.0))
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.weight_decay is None:
            default = DEFAULT_ADAMW_WEIGHT_DECAY if self.optimizer == "adamw" else 0.0
            object.__setattr__(self, "weight_decay", default)
        else:
            wd = check_float("weight_decay", self.weight_decay, minimum=0.0)
            object.__setattr__(self, "weight_decay", wd)
        betas = self.betas
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2) in [0, 1), got {betas!r}")
        b1 = check_float("betas[0]", betas[0], minimum=0.0, exclusive_maximum=1.0)
        b2 = check_float("betas[1]", betas[1], minimum=0.0, exclusive_maximum=1.0)
        object.__setattr__(self, "betas", (b1, b2))
        object.__setattr__(self, "eps", check_float("eps", self.eps, exclusive_minimum=0.0))
        check_choice("schedule", self.schedule, SCHEDULES)
        object.__setattr__(self, "n_seeds", check_int("n_seeds", self.n_seeds))
        object.__setattr__(self, "seed", check_int("seed", self.seed, minimum=0))
        check_choice("loss_reduction", self.loss_reduction, REDUCTIONS)
        if self.log_every is None:
            object.__setattr__(self, "log_every", max(1, steps // 100))
        else:
            object.__setattr__(self, "log_every", check_int("log_every", self.log_every))
        # two examples at least: the final loss comes with a standard error (a sample variance)
        object.__setattr__(
            self, "eval_samples", check_int("eval_samples", self.eval_samples, minimum=2)
        )
        check_device(self.device)
        check_choice("dtype", self.dtype, DTYPES)
        check_choice("sampler", self.sampler, SAMPLERS)
        check_choice("target", self.target, TARGETS)
        for name in ("l1_hidden", "l1_weights"):
            object.__setattr__(self, name, check_float(name, getattr(self, name), minimum=0.0))
        object.__setattr__(self, "snapshot_steps", check_snapshot_steps(self.snapshot_steps, steps))


def check_structure(features: FeatureConfig) -> None:
    """``structure`` and ``set_size`` against ``n_features`` and the densities."""
    check_choice("structure", features.structure, STRUCTURES)
    set_size = check_int("set_size", features.set_size)
    object.__setattr__(features, "set_size", set_size)
    if features.structure == "independent":
        return
    n = features.n_features
    if n % set_size:
        raise ValueError(
            f"set_size ({set_size}) must divide n_features ({n}) for structure "
            f"{features.structure!r}; accepted: a divisor of {n}"
        )
    sets = features.density_array.reshape(features.n_instances, n // set_size, set_size)
    if features.structure == "correlated":
        unequal = np.argwhere(np.any(sets != sets[:, :, :1], axis=2))
        if unequal.size:
            row, k = unequal[0]
            raise ValueError(
                f"correlated features share their set's density: set {k} (features "
                f"{k * set_size}..{(k + 1) * set_size - 1}) of instance {row} has densities "
                f"{sets[row, k].tolist()}; accepted: equal densities within each set"
            )
        return
    total = sets.sum(axis=2)
    over = np.argwhere(total > 1 + 1e-12)
    if over.size:
        row, k = over[0]
        raise ValueError(
            f"anticorrelated sets need set_size · p ≤ 1 (their densities summing to at most 1): "
            f"set {k} of instance {row} has densities {sets[row, k].tolist()} summing to "
            f"{total[row, k]:.6g} with set_size {set_size}; accepted: densities of each set "
            f"summing to at most 1 (p ≤ 1/{set_size} for equal densities)"
        )


def check_snapshot_steps(value: Any, steps: int) -> tuple[int, ...]:
    """Distinct integer steps in ``[0, steps]``, returned sorted."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list, np.ndarray)):
        raise TypeError(
            f"snapshot_steps must be a tuple of integer steps in [0, {steps}], got {value!r}"
        )
    out = []
    for s in value:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"snapshot_steps entries must be integers in [0, {steps}], got {s!r}")
        if not 0 <= s <= steps:
            raise ValueError(
                f"snapshot step {int(s)} is outside [0, steps] = [0, {steps}]; accepted: 0 "
                "(the initialisation) to steps (the end)"
            )
        out.append(int(s))
    if len(set(out)) != len(out):
        raise ValueError(f"snapshot_steps must be distinct, got {list(value)!r}")
    return tuple(sorted(out))


def check_device(device: Any) -> str:
    """Accept ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``."""
    ok = isinstance(device, str) and (
        device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit())
    )
    if not ok:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}")
    return str(device)
