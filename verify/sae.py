"""Scoring SAEs against the true features of the toy model they read (docs/sae.md, "Recovery").

**The truth** (:func:`true_features`). Feature i's direction in the hidden space is what the
feature alone produces there: ``W[:, i]`` for ``h = W x``, ``ReLU(W[:, i])`` for the
privileged-basis model ``h = ReLU(W x)``. With signed values (``FeatureConfig(values="signed")``)
a feature has two directions, ``act(+W[:, i])`` and ``act(−W[:, i])``: an SAE's codes are
non-negative, so it needs a latent for each sign. A direction is *present* when its norm exceeds
``0.5`` (:data:`toysup.metrics.REPRESENTED_THRESHOLD`: ``‖W_i‖ > 0.5`` for ``h = W x``,
``‖ReLU(W_i)‖ > 0.5`` in the privileged basis, where it is the feature's gain through the model,
``x'_i = f(‖ReLU(W_i)‖² x_i + …)``); a feature is *represented* when one of its directions is.
The features of a correlated set take independent values, so each member is a feature of its
own; whether an SAE learns the set's joint direction instead is measured beside
(``seed_set_latents``). Per configuration and SAE seed:

- **matching**: the cosine matrix between the present directions and the SAE's unit decoder
  columns; a one-to-one matching maximising the summed cosine (Hungarian algorithm,
  ``scipy.optimize.linear_sum_assignment``).
- **mcc**: mean matched cosine over the present directions (an unmatched one, when the SAE has
  fewer latents than directions, counts 0); **mmcs**: mean over directions of the best cosine
  with any latent, not one-to-one (Sharkey et al. 2022).
- **recovered**: features all of whose present directions have a matched cosine ≥ ``threshold``
  (default 0.9), with the counts at :data:`SENSITIVITY_THRESHOLDS` to show how much hangs on it.
- **set_latents** (correlated sets of unit values only, else NaN): sets whose joint direction
  ``act(Σ_{i∈set} W_i)`` has a latent within ``threshold`` cosine that is closer to it than to
  every member.
- on ``n_samples`` fresh examples: **l0** (active latents per example); **dead** latents (never
  active) and **dense** latents (active more than :data:`DENSE_FACTOR` times as often as the
  densest feature, i.e. standing for no single feature); **mse**, **fvu** (fraction of variance
  unexplained); **shrinkage** ``1 − γ`` with ``γ = E‖ĥ‖² / E[ĥ·h]`` (relative reconstruction bias,
  Rajamanoharan et al. 2024, *Improving dictionary learning with gated sparse autoencoders*; > 0:
  codes shrunk); the toy model's loss with ``ĥ`` spliced in for ``h`` against its own loss and
  against mean ablation (**loss_recovered**).

Every statistic is computed per seed; means and t-intervals over seeds come from
:meth:`RecoveryResult.mean` and :meth:`RecoveryResult.interval`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from scipy import stats as sps
from scipy.optimize import linear_sum_assignment

from theory._summary import Summarized, Summary, fmt, fmt_interval
from toysup import TrainResult, sample_features
from toysup.metrics import REPRESENTED_THRESHOLD
from toysup.sae import SAEResult, activate, decode, hidden, pre_activations
from toysup.sae.data import feature_extras, hidden_activation, signed_features

#: Matched cosine at or above which a feature counts as recovered (docs/sae.md justifies 0.9).
RECOVERY_THRESHOLD = 0.9
#: Thresholds at which the recovered count is also reported (sensitivity).
SENSITIVITY_THRESHOLDS = (0.7, 0.8, 0.9, 0.95, 0.99)
#: A latent is dense when it fires more than this many times as often as the densest feature.
DENSE_FACTOR = 3.0
#: Examples per chunk when evaluating.
_CHUNK = 2048

_OUTPUTS = {
    "relu": torch.relu,
    "linear": lambda v: v,
    "gelu": F.gelu,
    "softplus": F.softplus,
}

#: Per-seed statistics (C, S) held by a RecoveryResult, by name.
SEED_STATISTICS = (
    "mcc",
    "mmcs",
    "recovered",
    "l0",
    "dead",
    "dense",
    "mse",
    "fvu",
    "shrinkage",
    "spliced_loss",
    "loss_recovered",
    "set_latents",
)


@dataclass(frozen=True, eq=False, repr=False)
class RecoveryResult(Summarized):
    """SAE recovery of the toy model's features; C configurations, S SAE seeds, n features,
    K sensitivity thresholds.

    Headline arrays (C,): ``mcc`` (mean over seeds), ``recovered`` (median over seeds, an
    integer; the lower median for even S), ``represented``, ``directions`` (present directions:
    ``represented`` for unit values, up to twice it for signed ones), ``l0`` (mean), ``dead``
    (median, integer). Every per-seed statistic is ``seed_<name>`` (C, S) for ``name`` in
    :data:`SEED_STATISTICS`; :meth:`mean` and :meth:`interval` summarise it over seeds.

    Attributes:
        label: the SAE (``kind width level``).
        density: (C,) mean feature density of each configuration.
        n_hidden: m.
        toy_loss: (C,) the toy model's own loss on the evaluation examples; ablated_loss: (C,)
            its loss with ``h`` replaced by its mean.
        feature_cosine: (C, S, n) each feature's matched cosine, the least over its present
            directions (NaN: not represented).
        direction_cosine: (C, S, n, K) the matched cosine of each direction (K = 1, or 2 for
            signed values: ``+W_i``, ``−W_i``; NaN: not present); matched_latent: (C, S, n, K)
            the latent matched to it (-1: none).
        n_sets: (C,) correlated sets with at least two represented members (0 unless the
            features come in correlated sets of unit values); ``seed_set_latents`` counts those
            an SAE seed gives a latent of their own (NaN where ``n_sets`` is 0).
        thresholds: (K,); seed_recovered_at: (C, S, K) recovered counts at each threshold.
        threshold, level, n_samples, seed: settings.

    Printed, it is a verdict, the settings and one row per configuration.
    """

    label: str
    density: NDArray[np.float64]
    n_hidden: int
    represented: NDArray[np.int64]
    directions: NDArray[np.int64]
    mcc: NDArray[np.float64]
    recovered: NDArray[np.int64]
    l0: NDArray[np.float64]
    dead: NDArray[np.int64]
    dense: NDArray[np.int64]
    seed_mcc: NDArray[np.float64]
    seed_mmcs: NDArray[np.float64]
    seed_recovered: NDArray[np.int64]
    seed_l0: NDArray[np.float64]
    seed_dead: NDArray[np.int64]
    seed_dense: NDArray[np.int64]
    seed_mse: NDArray[np.float64]
    seed_fvu: NDArray[np.float64]
    seed_shrinkage: NDArray[np.float64]
    seed_spliced_loss: NDArray[np.float64]
    seed_loss_recovered: NDArray[np.float64]
    seed_set_latents: NDArray[np.float64]
    n_sets: NDArray[np.int64]
    toy_loss: NDArray[np.float64]
    ablated_loss: NDArray[np.float64]
    feature_cosine: NDArray[np.float64]
    direction_cosine: NDArray[np.float64]
    matched_latent: NDArray[np.int64]
    thresholds: NDArray[np.float64]
    seed_recovered_at: NDArray[np.int64]
    threshold: float
    level: float
    n_samples: int
    seed: int

    @property
    def n_configs(self) -> int:
        return int(self.represented.size)

    @property
    def n_seeds(self) -> int:
        return int(self.seed_mcc.shape[1])

    def seeds(self, name: str) -> NDArray[np.float64]:
        """The per-seed statistic ``name`` (C, S) as floats."""
        if name not in SEED_STATISTICS:
            raise ValueError(f"name must be one of {', '.join(SEED_STATISTICS)}; got {name!r}")
        return np.asarray(getattr(self, f"seed_{name}"), dtype=np.float64)

    def mean(self, name: str) -> NDArray[np.float64]:
        """(C,) mean over seeds of the statistic ``name``."""
        return np.asarray(np.mean(self.seeds(name), axis=1))

    def interval(self, name: str, level: float | None = None) -> NDArray[np.float64]:
        """(C, 2) two-sided t-interval at ``level`` (default :attr:`level`) for the mean over
        SAE seeds of ``name``: mean ± t_{(1+level)/2, S−1} · sd / √S; NaN with one seed. Seeds
        are independent runs, so the interval is for the mean over the SAE's seed distribution
        (the toy model held fixed)."""
        level = self.level if level is None else _check_level(level)
        return seed_interval(self.seeds(name), level)

    def recovered_fraction(self) -> NDArray[np.float64]:
        """(C, S) recovered / represented (NaN where nothing is represented)."""
        rep = self.represented[:, None].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(rep > 0, self.seed_recovered / np.maximum(rep, 1), np.nan)

    @property
    def verdict(self) -> str:
        """One line: features recovered on average, and where the SAE finds more than m."""
        pct = round(100 * self.level)
        total_rep = int(self.represented.sum())
        total_rec = float(self.mean("recovered").sum())
        share = f" ({100 * total_rec / total_rep:.0f}%)" if total_rep else ""
        above = (
            int(np.sum(self.interval("recovered")[:, 0] > self.n_hidden)) if self.n_seeds > 1 else 0
        )
        return (
            f"{fmt(total_rec)} of {total_rep} represented features recovered on average{share}; "
            f"more than m = {self.n_hidden} (lower {pct}% bound) in {above} of "
            f"{self.n_configs} configurations"
        )

    def _summary(self) -> Summary:
        pct = round(100 * self.level)
        lines = [
            ("recovered", f"matched cosine ≥ {fmt(self.threshold)} (one-to-one, Hungarian)"),
            ("intervals", f"{pct}% t-intervals over {self.n_seeds} SAE seeds"),
            ("examples", f"{self.n_samples} fresh per configuration, seed {self.seed}"),
        ]
        header = ["config", "density", "repr.", "recovered", f"{pct}% interval", "MCC", "L0",
                  "dead", "dense", "loss rec."]  # fmt: skip
        rec, ci = self.mean("recovered"), self.interval("recovered")
        mcc, l0, lr = self.mean("mcc"), self.mean("l0"), self.mean("loss_recovered")
        rows = [
            [
                str(i),
                fmt(self.density[i]),
                str(int(self.represented[i])),
                fmt(rec[i]),
                fmt_interval(ci[i]) if np.all(np.isfinite(ci[i])) else "—",
                fmt(mcc[i]),
                fmt(l0[i]),
                str(int(self.dead[i])),
                str(int(self.dense[i])),
                fmt(lr[i]),
            ]
            for i in range(self.n_configs)
        ]
        return Summary(f"RecoveryResult: {self.label}", self.verdict, lines, header, rows)


def seed_interval(values: NDArray[np.float64], level: float) -> NDArray[np.float64]:
    """(…, 2) t-interval for the mean over the last axis (S seeds); NaN for S = 1."""
    arr = np.asarray(values, dtype=np.float64)
    S = arr.shape[-1]
    mean = arr.mean(-1)
    if S < 2:
        return np.stack([np.full_like(mean, np.nan), np.full_like(mean, np.nan)], -1)
    half = sps.t.ppf(0.5 + level / 2, S - 1) * arr.std(-1, ddof=1) / math.sqrt(S)
    return np.stack([mean - half, mean + half], -1)


def _check_level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")
    return float(level)


@dataclass(frozen=True, eq=False)
class TrueFeatures:
    """The toy model's features as an SAE should find them (module docstring); C
    configurations, n features, K signs (1 for unit values; 2, ``+`` then ``−``, for signed
    ones).

    Attributes:
        directions: (C, m, n, K) ``act(s · W[:, i])`` for sign ``s`` (``act`` the identity or
            ReLU, the toy model's hidden activation).
        present: (C, n, K) the directions of norm > 0.5 (those an SAE is asked to find).
        set_directions: (C, m, n_sets) ``act(Σ_{i∈set} W[:, i])`` of every correlated set (unit
            values; otherwise no sets: shape (C, m, 0)); set_members: (n_sets, set_size).
        set_present: (C, n_sets) sets with at least two represented members.
    """

    directions: NDArray[np.float64]
    present: NDArray[np.bool_]
    set_directions: NDArray[np.float64]
    set_members: NDArray[np.int64]
    set_present: NDArray[np.bool_]

    @property
    def represented(self) -> NDArray[np.bool_]:
        """(C, n) features with a present direction."""
        return np.asarray(self.present.any(-1))


def true_features(toy: TrainResult) -> TrueFeatures:
    """The true directions of ``toy``'s features in its hidden space (module docstring)."""
    W = np.asarray(toy.W, dtype=np.float64)
    relu = hidden_activation(toy.model) == "relu"
    signs = (1.0, -1.0) if signed_features(toy.features) else (1.0,)
    directions = np.stack([np.maximum(s * W, 0.0) if relu else s * W for s in signs], axis=-1)
    present = np.linalg.norm(directions, axis=1) > REPRESENTED_THRESHOLD  # (C, n, K)
    C, m, n = W.shape
    features = toy.features
    if features.structure == "correlated" and not signed_features(features):
        members = np.arange(n).reshape(-1, features.set_size)
        joint = W[:, :, members].sum(-1)  # (C, m, n_sets)
        set_directions = np.maximum(joint, 0.0) if relu else joint
        set_present = present[:, members, 0].sum(-1) >= 2
    else:
        members = np.zeros((0, 1), dtype=np.int64)
        set_directions = np.zeros((C, m, 0))
        set_present = np.zeros((C, 0), dtype=bool)
    return TrueFeatures(
        directions=directions,
        present=present,
        set_directions=set_directions,
        set_members=members.astype(np.int64),
        set_present=set_present,
    )


def represented_count(toy: TrainResult) -> NDArray[np.int64]:
    """(C,) represented features of each configuration (:func:`true_features`)."""
    return true_features(toy).represented.sum(1).astype(np.int64)


def set_latents(
    truth: TrueFeatures, c: int, decoder: NDArray[np.float64], threshold: float
) -> float:
    """Correlated sets of configuration ``c`` (with two or more represented members) that have a
    latent of their own: a decoder column (m, w) within ``threshold`` cosine of the set's joint
    direction and closer to it than to each member's direction. NaN without such sets."""
    sets = np.flatnonzero(truth.set_present[c])
    if sets.size == 0:
        return float("nan")
    d = decoder / np.maximum(np.linalg.norm(decoder, axis=0, keepdims=True), 1e-300)

    def unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
        return v / np.maximum(np.linalg.norm(v, axis=0, keepdims=True), 1e-300)

    joint = unit(truth.set_directions[c][:, sets]).T @ d  # (sets, w)
    found = 0
    for row, k in enumerate(sets):
        members = unit(truth.directions[c][:, truth.set_members[k], 0]).T @ d  # (size, w)
        found += bool(np.any((joint[row] >= threshold) & (joint[row] > members.max(0))))
    return float(found)


def match_features(
    directions: NDArray[np.float64], decoder: NDArray[np.float64], *, signed: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """One-to-one matching of features to latents.

    Args:
        directions: (m, r) feature directions (any norm, non-zero).
        decoder: (m, w) decoder columns (any norm; zero columns never match well).
        signed: compare ``|cos|`` (features with signed values, whose ``−W_i`` is a feature
            direction too).

    Returns:
        ``(matched_cosine (r,), matched_latent (r,), best_cosine (r,))``: the cosine of each
        feature with its Hungarian-matched latent (0 and -1 where unmatched, when w < r), and its
        best cosine with any latent.
    """
    u = directions / np.linalg.norm(directions, axis=0, keepdims=True)
    dn = np.linalg.norm(decoder, axis=0, keepdims=True)
    d = decoder / np.where(dn > 0, dn, 1.0)
    cos = u.T @ d  # (r, w)
    if signed:
        cos = np.abs(cos)
    rows, cols = linear_sum_assignment(-cos)
    matched = np.zeros(u.shape[1])
    latent = np.full(u.shape[1], -1, dtype=np.int64)
    matched[rows] = cos[rows, cols]
    latent[rows] = cols
    best = cos.max(axis=1) if cos.shape[1] else np.zeros(u.shape[1])
    return matched, latent, best


def recovery(
    sae: SAEResult,
    toy: TrainResult,
    *,
    threshold: float = RECOVERY_THRESHOLD,
    n_samples: int = 8192,
    seed: int = 0,
    level: float = 0.95,
) -> RecoveryResult:
    """Score every SAE seed of ``sae`` against the features of ``toy`` (module docstring).

    Args:
        sae: SAEs trained on ``toy`` (:func:`toysup.sae.train_sae`).
        toy: the toy model the SAEs read (its ``W`` must be the one they were trained on).
        threshold: matched cosine for "recovered", in (0, 1].
        n_samples: fresh examples per configuration for the sample-based statistics.
        seed: seed of the ``torch.Generator`` drawing them (float64, CPU).
        level: confidence level of the intervals over seeds.

    Returns:
        A :class:`RecoveryResult`.
    """
    if not isinstance(sae, SAEResult):
        raise TypeError(f"sae must be a toysup.sae.SAEResult, got {type(sae).__name__}")
    if not isinstance(toy, TrainResult):
        raise TypeError(f"toy must be a toysup.TrainResult, got {type(toy).__name__}")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not (0 < threshold <= 1)
    ):
        raise ValueError(f"threshold must be a cosine in (0, 1], got {threshold!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    level = _check_level(level)
    if toy.W.shape != sae.toy_W.shape or not np.array_equal(
        np.asarray(toy.W, np.float64), np.asarray(sae.toy_W, np.float64)
    ):
        raise ValueError(
            f"these SAEs were trained on a different toy model: its W (shape "
            f"{sae.toy_W.shape}) differs from toy.W (shape {toy.W.shape})"
        )
    truth = true_features(toy)
    C, S = sae.n_configs, sae.n_seeds
    n, K = toy.model.n_features, truth.present.shape[2]
    thresholds = np.unique(np.append(SENSITIVITY_THRESHOLDS, threshold))

    direction_cos = np.full((C, S, n, K), np.nan)
    matched_latent = np.full((C, S, n, K), -1, dtype=np.int64)
    seed_mcc = np.full((C, S), np.nan)
    seed_mmcs = np.full((C, S), np.nan)
    seed_sets = np.full((C, S), np.nan)
    for c in range(C):
        index = np.argwhere(truth.present[c])  # (R, 2): feature, sign of each present direction
        for s in range(S):
            decoder = np.asarray(sae.seed_W_dec[c, s], np.float64)
            seed_sets[c, s] = set_latents(truth, c, decoder, threshold)
            if index.size == 0:
                continue
            targets = truth.directions[c][:, index[:, 0], index[:, 1]]  # (m, R)
            matched, latent, best = match_features(targets, decoder)
            direction_cos[c, s, index[:, 0], index[:, 1]] = matched
            matched_latent[c, s, index[:, 0], index[:, 1]] = latent
            seed_mcc[c, s], seed_mmcs[c, s] = matched.mean(), best.mean()
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: features not represented
        feature_cos = np.nanmin(direction_cos, axis=3)  # a feature is as good as its worst sign
        at = np.nan_to_num(feature_cos, nan=-np.inf)[..., None] >= thresholds - 1e-12
    count = truth.represented.sum(1)
    seed_recovered_at = at.sum(2).astype(np.int64)  # (C, S, K)
    seed_recovered = seed_recovered_at[
        :, :, int(np.flatnonzero(np.isclose(thresholds, threshold))[0])
    ]

    samples = _sample_statistics(sae, toy, n_samples, seed)
    return RecoveryResult(
        label=sae.config.label,
        density=toy.features.density_array.mean(1),
        n_hidden=toy.model.n_hidden,
        represented=count.astype(np.int64),
        directions=truth.present.sum((1, 2)).astype(np.int64),
        mcc=seed_mcc.mean(1),
        recovered=_lower_median(seed_recovered),
        l0=samples["l0"].mean(1),
        dead=_lower_median(samples["dead"]),
        dense=_lower_median(samples["dense"]),
        seed_mcc=seed_mcc,
        seed_mmcs=seed_mmcs,
        seed_recovered=seed_recovered,
        seed_l0=samples["l0"],
        seed_dead=samples["dead"],
        seed_dense=samples["dense"],
        seed_mse=samples["mse"],
        seed_fvu=samples["fvu"],
        seed_shrinkage=samples["shrinkage"],
        seed_spliced_loss=samples["spliced_loss"],
        seed_loss_recovered=samples["loss_recovered"],
        seed_set_latents=seed_sets,
        n_sets=truth.set_present.sum(1).astype(np.int64),
        toy_loss=samples["toy_loss"],
        ablated_loss=samples["ablated_loss"],
        feature_cosine=feature_cos,
        direction_cosine=direction_cos,
        matched_latent=matched_latent,
        thresholds=thresholds,
        seed_recovered_at=seed_recovered_at,
        threshold=float(threshold),
        level=level,
        n_samples=n_samples,
        seed=seed,
    )


def _lower_median(values: NDArray[Any]) -> NDArray[np.int64]:
    """(C,) the lower median over the last axis: an actual seed's value."""
    ordered = np.sort(np.asarray(values), axis=-1)
    return ordered[..., (ordered.shape[-1] - 1) // 2].astype(np.int64)


@torch.no_grad()
def _sample_statistics(
    sae: SAEResult, toy: TrainResult, n_samples: int, seed: int
) -> dict[str, NDArray[Any]]:
    """The statistics measured on fresh examples, per configuration and seed (float64)."""
    C, S, w = sae.n_configs, sae.n_seeds, sae.config.width
    dt = torch.float64
    activation = hidden_activation(toy.model)
    output = _OUTPUTS.get(toy.model.activation)
    if output is None:
        raise ValueError(
            f"toy model output activation {toy.model.activation!r} is not one of "
            f"{', '.join(map(repr, _OUTPUTS))}"
        )
    W = torch.as_tensor(np.asarray(toy.W), dtype=dt)  # (C, m, n)
    b = torch.as_tensor(np.asarray(toy.b), dtype=dt)
    importance = torch.as_tensor(toy.features.importance_array, dtype=dt)
    density = toy.features.density_array
    params = {
        name: torch.as_tensor(np.asarray(getattr(sae, f"seed_{name}")), dtype=dt)
        for name in ("W_enc", "b_enc", "W_dec", "b_dec", "threshold")
    }  # (C, S, ...)
    gen = torch.Generator().manual_seed(seed)
    extras = feature_extras(toy.features)
    # Pass 1: the mean of h (for mean ablation and the variance); pass 2 replays the same draws.
    state = gen.get_state()
    h_sum = torch.zeros(C, W.shape[1], dtype=dt)
    for x in _chunks(density, n_samples, gen, extras):
        h_sum += hidden(W, x, activation).sum(1)
    h_mean = h_sum / n_samples  # (C, m)
    gen.set_state(state)

    keys = ("err", "hh", "hxh", "var", "l0", "spliced", "toy", "ablated")
    acc = {key: torch.zeros(C, S, dtype=dt) for key in keys}
    fired = torch.zeros(C, S, w, dtype=dt)
    scale = 1.0 / toy.model.n_hidden if sae.training.loss_reduction == "mean" else 1.0

    absolute = toy.training.target == "abs"

    def toy_loss(x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Σ_b Σ_i I_i (t_i − f(Wᵀh + b)_i)², t = x (or |x|): x (C, [S,] B, n), h (C, [S,] B, m)."""
        extra = h.ndim - 3
        Wc = W.view(C, *([1] * extra), *W.shape[1:])
        out = output(torch.einsum("...mn,...bm->...bn", Wc, h) + b.view(C, *([1] * extra), 1, -1))
        imp = importance.view(C, *([1] * extra), 1, -1)
        target = x.abs() if absolute else x
        return ((target - out).square() * imp).sum((-1, -2))

    for x in _chunks(density, n_samples, gen, extras):
        h = hidden(W, x, activation)  # (C, B, m)
        acc["toy"] += toy_loss(x, h)[:, None]
        acc["ablated"] += toy_loss(x, h_mean[:, None, :].expand_as(h).contiguous())[:, None]
        acc["var"] += (h - h_mean[:, None, :]).square().sum((1, 2))[:, None]
        hs = h[:, None].expand(C, S, *h.shape[1:])  # (C, S, B, m)
        pre = pre_activations(params["W_enc"], params["b_enc"], params["b_dec"], hs)
        z = activate(pre, sae.config.kind, k=sae.config.k, threshold=params["threshold"])
        h_hat = decode(params["W_dec"], params["b_dec"], z)
        active = z > 0
        acc["err"] += (h_hat - hs).square().sum((2, 3))
        acc["hh"] += h_hat.square().sum((2, 3))
        acc["hxh"] += (h_hat * hs).sum((2, 3))
        acc["l0"] += active.sum((2, 3)).to(dt)
        fired += active.sum(2).to(dt)
        acc["spliced"] += toy_loss(x[:, None].expand(C, S, *x.shape[1:]), h_hat)

    N = float(n_samples)
    frequency = (fired / N).numpy()  # (C, S, w)
    p_max = density.max(1)[:, None, None]
    dense = np.where(DENSE_FACTOR * p_max < 1, frequency > DENSE_FACTOR * p_max, False)
    toy_l, abl_l, spl_l = acc["toy"] / N, acc["ablated"] / N, acc["spliced"] / N
    gap = abl_l - toy_l
    with np.errstate(invalid="ignore", divide="ignore"):
        loss_recovered = np.where(gap.numpy() > 0, ((abl_l - spl_l) / gap).numpy(), np.nan)
        fvu = np.where(acc["var"].numpy() > 0, (acc["err"] / acc["var"]).numpy(), np.nan)
        gamma = np.where(acc["hxh"].numpy() != 0, (acc["hh"] / acc["hxh"]).numpy(), np.nan)
    return {
        "l0": (acc["l0"] / N).numpy(),
        "dead": (frequency == 0).sum(2).astype(np.int64),
        "dense": dense.sum(2).astype(np.int64),
        "mse": (acc["err"] * scale / N).numpy(),
        "fvu": fvu,
        "shrinkage": 1.0 - gamma,
        "spliced_loss": spl_l.numpy(),
        "loss_recovered": loss_recovered,
        "toy_loss": toy_l[:, 0].numpy(),
        "ablated_loss": abl_l[:, 0].numpy(),
    }


def _chunks(
    density: NDArray[np.float64], total: int, gen: torch.Generator, extras: dict[str, Any]
) -> Any:
    """Batches x (C, B, n), float64, of ``total`` examples in chunks of :data:`_CHUNK`."""
    done = 0
    while done < total:
        take = min(_CHUNK, total - done)
        yield sample_features(density, take, generator=gen, dtype=torch.float64, **extras)
        done += take
