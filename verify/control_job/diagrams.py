"""The n = 2, m = 1 diagrams of the job: trained (best of k seeds per cell) and exact, per penalty
and per activation, and the paired bootstrap of the seeds behind every boundary's uncertainty.

Maps are (P, R): one row per density, one column per importance r of the extra feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory import n2m1
from toysup.metrics import phase_label_n2m1
from verify import compare
from verify.control_job.settings import ControlSettings
from verify.control_job.training import GroupTraining

FloatArray = NDArray[np.float64]
PHASE = "superposition"


@dataclass(frozen=True, eq=False)
class TrainedDiagram:
    """One trained diagram. ``empirical`` (P, R): label of the best seed per cell;
    ``seed_labels``, ``selection_loss`` (P, R, K); ``loss`` (P, R): reconstruction loss (no
    penalty) of the kept seed; ``W`` (P, R, K, 1, 2), ``b`` (P, R, K, 2); ``boundary`` (R,): p*
    read off ``empirical``, ``censored`` (R,) "", "below" or "above"; ``boot_log10`` (B, R): the
    boundary (log10 p) on each bootstrap resample of the seeds (None without bootstrap)."""

    activation: str
    l1_hidden: float
    empirical: NDArray[np.str_]
    vote_share: FloatArray
    seed_labels: NDArray[np.str_]
    selection_loss: FloatArray
    selection_kind: str
    loss: FloatArray
    loss_kind: str
    W: FloatArray
    b: FloatArray
    boundary: FloatArray
    censored: NDArray[np.str_]
    boot_log10: FloatArray | None

    @property
    def boundary_sd(self) -> FloatArray | None:
        """(R,) bootstrap SD of log10 p*, in decades."""
        if self.boot_log10 is None:
            return None
        return np.asarray(self.boot_log10.std(axis=0, ddof=1), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class ExactDiagram:
    """The exact optimum's map at one penalty: ``labels``, ``loss`` (reconstruction loss),
    ``objective`` (penalised) (P, R); ``boundary`` (R,): p*(r, λ) (NaN where it does not exist
    in [1e-3, 1]); ``grid_boundary`` (R,): the boundary read off ``labels`` like a trained map;
    ``curve_importance``, ``curve`` (2R − 1,): p*(r, λ) at the grid's importances and their
    midpoints, for the figures."""

    l1_hidden: float
    labels: NDArray[np.str_]
    loss: FloatArray
    objective: FloatArray
    boundary: FloatArray
    grid_boundary: FloatArray
    curve_importance: FloatArray
    curve: FloatArray


def bootstrap_indices(
    settings: ControlSettings, shape: tuple[int, int]
) -> NDArray[np.int64] | None:
    """(B, P, R, K) seed indices drawn with replacement, the same for every diagram (a paired
    bootstrap where the diagrams share their seeds: shifts are then resampled together)."""
    if settings.bootstrap < 2:
        return None
    rng = np.random.default_rng([settings.seed, 23])
    return rng.integers(0, settings.seeds, size=(settings.bootstrap, *shape, settings.seeds))


def trained_diagram(
    settings: ControlSettings,
    result: GroupTraining,
    *,
    activation: str,
    l1_hidden: float,
    boot: NDArray[np.int64] | None,
) -> TrainedDiagram:
    """Label every seed, keep the best per cell, read off the boundary and its bootstrap."""
    r, p = settings.grid()
    P, R, K = p.size, r.size, settings.seeds
    W = np.asarray(result.seed_W, dtype=np.float64).reshape(P, R, K, 1, 2)
    b = np.asarray(result.seed_b, dtype=np.float64).reshape(P, R, K, 2)
    seed_labels = phase_label_n2m1(W)
    importance = np.stack([np.ones_like(r), r], axis=-1)[None, :, None, :]  # (1, R, 1, 2)
    density = p[:, None, None, None]
    if activation == "relu":
        # The objective training minimised, exactly (theory.n2m1): free of Monte Carlo noise.
        selection = np.asarray(
            n2m1.expected_loss(W[..., 0, :], b, density, importance, l1_hidden=l1_hidden)
        )
        recon = np.asarray(n2m1.expected_loss(W[..., 0, :], b, density, importance))
        selection_kind = "exact penalised objective (theory.n2m1.expected_loss)"
        loss_kind = "exact expected loss (theory.n2m1.expected_loss)"
    else:
        mc = result.seed_loss_penalized if l1_hidden > 0 else result.seed_loss
        selection = np.asarray(mc, dtype=np.float64).reshape(P, R, K)
        recon = np.asarray(result.seed_loss, dtype=np.float64).reshape(P, R, K)
        selection_kind = f"Monte Carlo loss on {settings.eval_samples} fresh examples"
        loss_kind = selection_kind
    empirical, share = compare.select_labels(seed_labels, selection, select="best")
    best = np.argmin(selection, axis=-1)
    loss = np.take_along_axis(recon, best[..., None], axis=-1)[..., 0]
    bd = compare.boundary_from_labels(empirical, p, phase=PHASE)
    boot_log10 = None
    if boot is not None:
        labels = np.take_along_axis(seed_labels[None], boot, axis=-1)
        losses = np.take_along_axis(selection[None], boot, axis=-1)
        maps, _ = compare.select_labels(labels, losses, select="best")
        boot_log10 = np.stack(
            [np.log10(compare.boundary_from_labels(m, p, phase=PHASE).density) for m in maps]
        )
    return TrainedDiagram(
        activation=activation,
        l1_hidden=l1_hidden,
        empirical=empirical,
        vote_share=share,
        seed_labels=seed_labels,
        selection_loss=selection,
        selection_kind=selection_kind,
        loss=loss,
        loss_kind=loss_kind,
        W=W,
        b=b,
        boundary=bd.density,
        censored=bd.censored,
        boot_log10=boot_log10,
    )


def curve_importance(settings: ControlSettings) -> FloatArray:
    """(2R − 1,) the grid's importances with their geometric midpoints between them: the exact
    boundary is computed there once, read at the grid (every other point) and drawn as a curve."""
    r, _ = settings.grid()
    fine = np.empty(2 * r.size - 1)
    fine[::2] = r
    fine[1::2] = np.sqrt(r[:-1] * r[1:])
    return fine


def exact_diagrams(settings: ControlSettings) -> dict[float, ExactDiagram]:
    """The exact optimum on the job's grid and its boundary p*(r, λ) for every λ
    (:mod:`theory.n2m1`; the boundaries of all λ in one vectorised call)."""
    r, p = settings.grid()
    fine = curve_importance(settings)
    lams = np.asarray(settings.penalties, dtype=np.float64)
    curves = np.asarray(
        n2m1.exact_boundary(fine[None, :], seed=settings.seed, l1_hidden=lams[:, None]),
        dtype=np.float64,
    ).reshape(lams.size, fine.size)
    out = {}
    for lam, curve in zip(settings.penalties, curves):
        m = n2m1.exact_phase_map(r, p, seed=settings.seed, l1_hidden=lam)
        labels = np.asarray(m.labels).astype(str)
        out[lam] = ExactDiagram(
            l1_hidden=lam,
            labels=labels,
            loss=np.asarray(m.loss, dtype=np.float64),
            objective=np.asarray(m.objective, dtype=np.float64),
            boundary=curve[::2].copy(),
            grid_boundary=compare.boundary_from_labels(labels, p, phase=PHASE).density,
            curve_importance=fine,
            curve=curve,
        )
    return out


def as_arrays(diagram: TrainedDiagram) -> dict[str, Any]:
    """The diagram's arrays, for the NPZ file."""
    out: dict[str, Any] = {
        "empirical": diagram.empirical,
        "vote_share": diagram.vote_share,
        "seed_labels": diagram.seed_labels,
        "selection_loss": diagram.selection_loss,
        "loss": diagram.loss,
        "W": diagram.W,
        "b": diagram.b,
        "boundary": diagram.boundary,
    }
    if diagram.boot_log10 is not None:
        out["boundary_bootstrap_log10"] = diagram.boot_log10
    return out
