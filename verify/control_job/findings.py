"""What the job concludes from its diagrams: agreement and Cohen's κ with the exact map per λ,
boundaries with their uncertainty, the boundary's shift (decades of density) trained against
exact, and the loss each penalty costs.

Shift at importance r: s(r, λ) = log10 p*(r, λ) − log10 p*(r, 0). It is compared where the exact
boundary exists at both λ and 0 and the trained boundary is inside the grid at both (not
censored). Its uncertainty has two parts: the bootstrap over seeds (each resample draws the same
seed indices for every λ: a paired bootstrap where the diagrams share their seeds, as when trained
in one process; an ordinary one of independent diagrams when each sweep task derives its own
seed) and the grid: a trained boundary is read at a cell edge, off by up to half a cell from where the map really changes, a uniform
error of variance cell²/12 per boundary, cell²/6 per shift, divided by the number of r averaged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from verify import compare
from verify.control_job.diagrams import ExactDiagram, TrainedDiagram

FloatArray = NDArray[np.float64]
#: A trained shift "matches" the exact one when they differ by at most this many uncertainties
#: (two-sided z test at α ≈ 0.05, fixed in advance).
MATCH_Z = 2.0


@dataclass(frozen=True)
class Shift:
    """The boundary shift at one λ: per importance (R,) and averaged over the comparable r."""

    exact: FloatArray
    empirical: FloatArray
    empirical_sd: FloatArray | None
    comparable: NDArray[np.bool_]
    exact_mean: float | None
    empirical_mean: float | None
    uncertainty: float | None
    z: float | None

    @property
    def matches(self) -> bool | None:
        if self.z is None:
            return None
        return bool(abs(self.z) <= MATCH_Z)

    def to_dict(self) -> dict[str, Any]:
        return {
            "exact": self.exact,
            "empirical": self.empirical,
            "empirical_sd": self.empirical_sd,
            "comparable": self.comparable,
            "exact_mean": self.exact_mean,
            "empirical_mean": self.empirical_mean,
            "uncertainty": self.uncertainty,
            "z": self.z,
            "matches": self.matches,
            "match_rule": f"|empirical_mean - exact_mean| <= {MATCH_Z:g} * uncertainty",
        }


def cell_decades(density: FloatArray) -> float:
    """Width of one (log-spaced) density cell, in decades."""
    return float(np.log10(density[1] / density[0]))


def shift(
    trained: TrainedDiagram,
    reference: TrainedDiagram,
    exact: ExactDiagram,
    exact_reference: ExactDiagram,
    density: FloatArray,
) -> Shift:
    """The shift of ``trained`` from ``reference`` (λ = 0) against the exact one."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ex = np.log10(exact.boundary) - np.log10(exact_reference.boundary)
        emp = np.log10(trained.boundary) - np.log10(reference.boundary)
    comparable = (
        np.isfinite(ex) & (trained.censored == "") & (reference.censored == "") & np.isfinite(emp)
    )
    sd = None
    boot_mean_sd = None
    if trained.boot_log10 is not None and reference.boot_log10 is not None:
        boot = trained.boot_log10 - reference.boot_log10  # (B, R), paired resamples
        sd = boot.std(axis=0, ddof=1)
        if comparable.any():
            boot_mean_sd = float(boot[:, comparable].mean(axis=1).std(ddof=1))
    n = int(comparable.sum())
    if n == 0:
        return Shift(ex, emp, sd, comparable, None, None, None, None)
    ex_mean, emp_mean = float(ex[comparable].mean()), float(emp[comparable].mean())
    grid_var = cell_decades(density) ** 2 / 6.0 / n
    unc = math.sqrt(grid_var + (boot_mean_sd or 0.0) ** 2)
    return Shift(ex, emp, sd, comparable, ex_mean, emp_mean, unc, (emp_mean - ex_mean) / unc)


def comparison(trained: TrainedDiagram, exact: ExactDiagram) -> dict[str, float]:
    """Agreement (fraction of cells with the same label) and Cohen's κ with the exact map."""
    return {
        "agreement": compare.agreement(trained.empirical, exact.labels),
        "kappa": compare.cohen_kappa(trained.empirical, exact.labels),
    }


def loss_cost(
    trained: TrainedDiagram,
    exact: ExactDiagram,
    exact_reference: ExactDiagram,
) -> dict[str, Any]:
    """Mean reconstruction loss (no penalty) over the grid at λ minus the exact optimum's at 0,
    for the exact optimum and for the trained models; also over the cells that are in
    superposition at λ = 0 (where removing superposition is what the penalty pays for)."""
    sup = exact_reference.labels == "superposition"
    exact_cost = exact.loss - exact_reference.loss
    trained_cost = trained.loss - exact_reference.loss

    def mean(a: FloatArray, mask: NDArray[np.bool_] | None = None) -> float | None:
        values = a if mask is None else a[mask]
        return float(values.mean()) if values.size else None

    return {
        "exact": mean(exact_cost),
        "trained": mean(trained_cost),
        "exact_superposition_cells": mean(exact_cost, sup),
        "trained_superposition_cells": mean(trained_cost, sup),
        "trained_excess": mean(trained.loss - exact.loss),
        "superposition_cells": int(sup.sum()),
        "superposition_cells_after": {
            "exact": int(np.sum(exact.labels == "superposition")),
            "trained": int(np.sum(trained.empirical == "superposition")),
        },
    }
