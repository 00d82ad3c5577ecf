"""Regular k-gons against training: which polygon do trained n = k, m = 2 models form as density
falls? (Elhage et al. 2022, "The Geometry of Superposition": uniform superposition, the
"energy level" jumps of "Feature Dimensionality"; theory: docs/kgon.md.)

For each n = k features (uniform importance 1, density p, m = 2) toysup trains ``seeds`` models
per density; every seed is scored by its exact expected loss (:mod:`theory.landscape`) and by its
geometry: how many features it represents (‖W_i‖ > 0.5) and whether they form the family's
configuration — a regular polygon (or, for two features, an orthogonal pair). Theory
(:func:`theory.kgon.optimal_kgon`): the best of two dedicated features and the regular k'-gons
k' = 3..n, the other n − k' features dropped. Uncertainty over seeds: Clopper–Pearson intervals
on the fraction of seeds that reach the family's optimal loss and on the fraction that represent
theory's number of features. Results and the command that produced them: docs/kgon.md §4.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import beta as beta_dist

from theory.kgon import optimal_kgon
from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from toysup.metrics import REPRESENTED_THRESHOLD, feature_norms
from verify.compare import exact_seed_loss

Array = NDArray[np.float64]

#: Represented features form the family's polygon when every angular gap is within this of
#: 2π/c (radians; 0.1 rad ≈ 6°) ...
ANGLE_TOL = 0.1
#: ... and their norms differ by at most this fraction of their mean.
NORM_RTOL = 0.1
#: Two represented features are the family's "two dedicated features" when |cos| is below this.
ORTHOGONAL_COS = 0.2


@dataclass(frozen=True, kw_only=True)
class KGonSettings:
    """What :func:`run_kgon` trains and how it judges. Defaults: docs/kgon.md §4's run."""

    ks: tuple[int, ...] = (3, 4, 5, 6, 7, 8)
    densities: tuple[float, ...] = tuple(float(v) for v in np.geomspace(1.0, 0.005, 10))
    seeds: int = 16
    steps: int = 4000
    batch: int = 1024
    lr: float = 1e-2
    schedule: str = "cosine"
    optimizer: str = "adamw"
    weight_decay: float | None = None
    seed: int = 0
    device: str = "auto"
    #: A seed reaches the family's optimum when its exact loss is at most (1 + this) × it.
    loss_rtol: float = 0.01
    #: Decisive cells: the family's runner-up loses at least this fraction more than its winner.
    decisive_gap: float = 0.05
    #: Level of the Clopper–Pearson intervals.
    confidence: float = 0.95

    def __post_init__(self) -> None:
        ks = self.ks
        if not (
            isinstance(ks, tuple)
            and ks
            and all(isinstance(k, int) and not isinstance(k, bool) and 3 <= k <= 12 for k in ks)
            and len(set(ks)) == len(ks)
        ):
            raise ValueError(f"ks must be a tuple of distinct integers in [3, 12], got {ks!r}")
        dens = self.densities
        if not (
            isinstance(dens, tuple)
            and dens
            and all(
                isinstance(p, (int, float)) and not isinstance(p, bool) and 0 < p <= 1 for p in dens
            )
        ):
            raise ValueError(f"densities must be a tuple of numbers in (0, 1], got {dens!r}")
        for name in ("seeds", "steps", "batch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name, low, high in (
            ("loss_rtol", 0.0, 1.0),
            ("decisive_gap", 0.0, 10.0),
            ("confidence", 0.0, 1.0),
        ):
            value = getattr(self, name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not (number and low < value < high):
                raise ValueError(f"{name} must be a number in ({low:g}, {high:g}), got {value!r}")
        self.train_config(self.ks[0])  # validates lr, optimiser, schedule, device, seed

    def train_config(self, k: int) -> TrainConfig:
        """The training of the n = ``k`` models (seed offset by k: independent runs per k)."""
        return TrainConfig(
            steps=self.steps,
            batch_size=self.batch,
            lr=self.lr,
            schedule=self.schedule,
            optimizer=self.optimizer,
            weight_decay=self.weight_decay,
            n_seeds=self.seeds,
            seed=self.seed + 1000 * k,
            device=self.device,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True, eq=False)
class KGonComparison:
    """Trained n = k, m = 2 models against the k-gon family. Arrays are (K, D) over ``ks`` ×
    ``density`` unless stated; per-seed arrays (K, D, S).

    Theory: ``theory_k`` (the family's best number of features on a polygon; 2 = two dedicated
    features), ``theory_loss`` (its loss), ``runner_up_gap`` ((second best − best) / best),
    ``decisive`` (``runner_up_gap >= settings.decisive_gap``).
    Seeds: ``seed_loss`` (exact expected loss), ``seed_count`` (features represented),
    ``seed_regular`` (they form the family's configuration: a regular polygon, or two orthogonal
    features). Best seed (lowest exact loss): ``best_loss``, ``best_count``, ``best_regular``,
    ``best_ratio`` (= best_loss / theory_loss; below 1: training beat the family).
    Fractions of seeds with Clopper–Pearson intervals ``*_interval`` (K, D, 2): ``reach`` (loss
    ≤ theory_loss × (1 + loss_rtol)), ``count_match`` (count = theory_k), ``match`` (count =
    theory_k and regular: the family's winning configuration itself).
    ``W``/``b``: per k, (D, S, 2, k) and (D, S, k).
    """

    settings: KGonSettings
    ks: NDArray[np.int64]
    density: Array
    theory_k: NDArray[np.int64]
    theory_loss: Array
    runner_up_gap: Array
    decisive: NDArray[np.bool_]
    seed_loss: Array
    seed_count: NDArray[np.int64]
    seed_regular: NDArray[np.bool_]
    best_loss: Array
    best_count: NDArray[np.int64]
    best_regular: NDArray[np.bool_]
    best_ratio: Array
    reach: Array
    reach_interval: Array
    count_match: Array
    count_match_interval: Array
    match: Array
    match_interval: Array
    W: tuple[Array, ...]
    b: tuple[Array, ...]
    timings: dict[str, float] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per (k, density): the table of docs/kgon.md §4."""
        out = []
        for i, k in enumerate(self.ks):
            for j, p in enumerate(self.density):
                out.append(
                    {
                        "k": int(k),
                        "density": float(p),
                        "theory_k": int(self.theory_k[i, j]),
                        "decisive": bool(self.decisive[i, j]),
                        "best_count": int(self.best_count[i, j]),
                        "best_regular": bool(self.best_regular[i, j]),
                        "best_ratio": float(self.best_ratio[i, j]),
                        "reach": float(self.reach[i, j]),
                        "reach_interval": [float(v) for v in self.reach_interval[i, j]],
                        "count_match": float(self.count_match[i, j]),
                        "count_match_interval": [float(v) for v in self.count_match_interval[i, j]],
                        "match": float(self.match[i, j]),
                        "match_interval": [float(v) for v in self.match_interval[i, j]],
                    }
                )
        return out

    def markdown(self) -> str:
        """The comparison as a Markdown table: per n = k, theory's k' and the trained models'."""
        s = self.settings
        level = f"{100 * s.confidence:g}%"
        head = (
            "| n | p | theory: best k' (gap to runner-up) | best seed: represented, shape, "
            f"loss / theory | seeds at theory's loss (+{100 * s.loss_rtol:g}%) | seeds "
            "representing k' features | seeds forming theory's configuration |"
        )
        lines = [
            f"Fractions of {s.seeds} seeds with {level} Clopper–Pearson intervals.",
            "",
            head,
            "|---|---|---|---|---|---|---|",
        ]
        for row in self.rows():
            i = list(self.ks).index(row["k"])
            j = int(np.argmin(np.abs(self.density - row["density"])))
            gap = self.runner_up_gap[i, j]
            shape = "regular" if row["best_regular"] else "irregular"
            mark = "" if row["decisive"] else " (not decisive)"
            lines.append(
                f"| {row['k']} | {row['density']:.3g} | {row['theory_k']} ({100 * gap:.1f}%)"
                f"{mark} | {row['best_count']}, {shape}, {row['best_ratio']:.3f} | "
                f"{_cell(row, 'reach', s.seeds)} | {_cell(row, 'count_match', s.seeds)} | "
                f"{_cell(row, 'match', s.seeds)} |"
            )
        return "\n".join(lines)


def _cell(row: dict[str, Any], key: str, n: int) -> str:
    low, high = row[f"{key}_interval"]
    return f"{round(row[key] * n)}/{n} [{low:.2f}, {high:.2f}]"


def clopper_pearson(successes: Any, trials: int, confidence: float) -> Array:
    """Exact binomial (Clopper–Pearson) interval for a proportion: (..., 2)."""
    x = np.asarray(successes, dtype=np.float64)
    a = (1 - confidence) / 2
    with np.errstate(invalid="ignore"):
        low = np.where(x > 0, beta_dist.ppf(a, x, trials - x + 1), 0.0)
        high = np.where(x < trials, beta_dist.ppf(1 - a, x + 1, trials - x), 1.0)
    return np.stack([low, high], axis=-1)


def polygon_shape(W: Any) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """(count, regular) for weights (..., 2, n): the number of represented features
    (‖W_i‖ > 0.5) and whether they form the k-gon family's configuration — for c >= 3 a regular
    c-gon (every angular gap within ``ANGLE_TOL`` of 2π/c, norms within ``NORM_RTOL`` of their
    mean), for c = 2 two orthogonal features (|cos| < ``ORTHOGONAL_COS``); False for c <= 1."""
    w = np.asarray(W, dtype=np.float64)
    if w.ndim < 2 or w.shape[-2] != 2:
        raise ValueError(f"W must have shape (..., 2, n), got {w.shape}")
    norms = feature_norms(w)
    rep = norms > REPRESENTED_THRESHOLD
    count = rep.sum(-1)
    flat_w = w.reshape(-1, 2, w.shape[-1])
    flat_rep = rep.reshape(-1, w.shape[-1])
    regular = np.zeros(flat_rep.shape[0], dtype=bool)
    for idx, (wi, ri) in enumerate(zip(flat_w, flat_rep)):
        cols = wi[:, ri]
        c = cols.shape[1]
        if c == 2:
            u = cols / np.linalg.norm(cols, axis=0)
            regular[idx] = abs(float(u[:, 0] @ u[:, 1])) < ORTHOGONAL_COS
        elif c >= 3:
            angles = np.sort(np.arctan2(cols[1], cols[0]))
            gaps = np.diff(np.concatenate([angles, [angles[0] + 2 * np.pi]]))
            n_c = np.linalg.norm(cols, axis=0)
            regular[idx] = bool(
                np.all(np.abs(gaps - 2 * np.pi / c) <= ANGLE_TOL)
                and np.ptp(n_c) <= NORM_RTOL * n_c.mean()
            )
    return count.astype(np.int64), regular.reshape(count.shape)


def family_choice(ks: tuple[int, ...], density: Array) -> tuple[NDArray[np.int64], Array, Array]:
    """Theory for every n in ``ks``: (best k' (K, D), its loss (K, D), runner-up gap (K, D)).

    One :func:`theory.kgon.optimal_kgon` for the largest n gives every polygon's optimum; for a
    smaller n the configurations k' <= n are compared with n − k' dropped features (loss
    p/3 − p²/4 each; exact: dropped features have zero columns and do not interact).
    """
    largest = optimal_kgon(max(ks), density)
    dropped = density / 3 - density**2 / 4  # (D,)
    best_k, best_loss, gap = [], [], []
    for n in ks:
        usable = largest.ks <= n
        polygon = largest.loss[:, usable] - (max(ks) - n) * dropped[:, None]  # (D, k' <= n)
        order = np.sort(polygon, axis=1)
        best_k.append(largest.ks[usable][np.argmin(polygon, axis=1)])
        best_loss.append(order[:, 0])
        gap.append((order[:, 1] - order[:, 0]) / order[:, 0])
    return np.array(best_k, dtype=np.int64), np.array(best_loss), np.array(gap)


def run_kgon(
    settings: KGonSettings | None = None, *, progress: bool | None = None
) -> KGonComparison:
    """Train n = k, m = 2 models for every k and density and compare them with the family."""
    s = KGonSettings() if settings is None else settings
    started = time.perf_counter()
    density = np.asarray(s.densities, dtype=np.float64)
    theory_k, theory_loss, gap = family_choice(s.ks, density)
    theory_done = time.perf_counter()
    D, S = density.size, s.seeds
    losses, counts, regulars, Ws, bs = [], [], [], [], []
    for k in s.ks:
        features = FeatureConfig(
            n_features=k, n_instances=D, density=density[:, None] * np.ones(k), importance=1.0
        )
        result = train(
            features, ModelConfig(n_features=k, n_hidden=2), s.train_config(k), progress=progress
        )
        W = np.asarray(result.seed_W, dtype=np.float64)  # (D, S, 2, k)
        b = np.asarray(result.seed_b, dtype=np.float64)  # (D, S, k)
        losses.append(exact_seed_loss(W, b, density[:, None, None], 1.0))
        count, regular = polygon_shape(W)
        counts.append(count)
        regulars.append(regular)
        Ws.append(W)
        bs.append(b)
    trained = time.perf_counter()
    seed_loss = np.stack(losses)  # (K, D, S)
    seed_count = np.stack(counts)
    seed_regular = np.stack(regulars)
    best = np.argmin(seed_loss, axis=-1)[..., None]
    best_loss = np.take_along_axis(seed_loss, best, -1)[..., 0]
    reached = seed_loss <= theory_loss[..., None] * (1 + s.loss_rtol)
    counted = seed_count == theory_k[..., None]
    matched = counted & seed_regular
    return KGonComparison(
        settings=s,
        ks=np.asarray(s.ks, dtype=np.int64),
        density=density,
        theory_k=theory_k,
        theory_loss=theory_loss,
        runner_up_gap=gap,
        decisive=gap >= s.decisive_gap,
        seed_loss=seed_loss,
        seed_count=seed_count,
        seed_regular=seed_regular,
        best_loss=best_loss,
        best_count=np.take_along_axis(seed_count, best, -1)[..., 0],
        best_regular=np.take_along_axis(seed_regular, best, -1)[..., 0],
        best_ratio=best_loss / theory_loss,
        reach=reached.mean(-1),
        reach_interval=clopper_pearson(reached.sum(-1), S, s.confidence),
        count_match=counted.mean(-1),
        count_match_interval=clopper_pearson(counted.sum(-1), S, s.confidence),
        match=matched.mean(-1),
        match_interval=clopper_pearson(matched.sum(-1), S, s.confidence),
        W=tuple(Ws),
        b=tuple(bs),
        timings={"theory_s": theory_done - started, "train_s": trained - theory_done},
    )
