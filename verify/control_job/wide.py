"""Beyond n = 2: n = 20 features in m = 5 dimensions, importance 0.7^i (the paper's
§"Superposition as a Phase Change" setting), over λ × density: how many features are
represented, how many are in superposition, the tests of :mod:`verify.stats`, and the loss —
the price of removing superposition.

Per seed: represented = ‖W_i‖ > 0.5 (toysup's rule); in superposition = represented with
feature dimensionality D_i < 0.75 (paper §"Feature Dimensionality": 1 for a dedicated dimension,
1/2 for an antipodal pair; 0.75 is halfway). The kept seed per point is the one with the lowest
penalised loss (the objective training minimised). Tests, at α = 0.01 fixed in advance:
``superposition_test`` (the kept seed's reconstruction loss below every no-superposition model's,
docs/statistics.md §1) and ``represented_count_test`` (over all seeds: do they typically represent
more than m features?).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from toysup.metrics import dimensionality, feature_norms
from verify.control_job.settings import ALPHA, WIDE_HIDDEN, ControlSettings
from verify.control_job.training import GroupTraining
from verify.stats import UnderpoweredWarning, represented_count_test, superposition_test

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
#: A represented feature is counted as in superposition when its dimensionality is below this.
SUPERPOSITION_DIMENSIONALITY = 0.75


@dataclass(frozen=True, eq=False)
class WidePoint:
    """One (λ, density) point: per-seed ``represented``, ``in_superposition`` (k,), ``loss``
    (reconstruction, Monte Carlo) and ``loss_penalized`` (k,); ``best`` the kept seed; the two
    tests' p-values and verdicts."""

    l1_hidden: float
    density: float
    represented: IntArray
    in_superposition: IntArray
    loss: FloatArray
    loss_stderr: FloatArray
    loss_penalized: FloatArray
    best: int
    W: FloatArray
    b: FloatArray
    loss_test_p: float
    loss_test_reject: bool
    loss_bound: float
    count_test_p: float
    count_test_reject: bool
    count_test_underpowered: bool

    def to_dict(self) -> dict[str, Any]:
        k = self.best
        return {
            "l1_hidden": self.l1_hidden,
            "density": self.density,
            "represented": int(self.represented[k]),
            "in_superposition": int(self.in_superposition[k]),
            "loss": float(self.loss[k]),
            "loss_stderr": float(self.loss_stderr[k]),
            "loss_penalized": float(self.loss_penalized[k]),
            "represented_seeds": self.represented,
            "in_superposition_seeds": self.in_superposition,
            "loss_seeds": self.loss,
            "no_superposition_loss_bound": self.loss_bound,
            "superposition_test": {"p_value": self.loss_test_p, "reject": self.loss_test_reject},
            "represented_count_test": {
                "p_value": self.count_test_p,
                "reject": self.count_test_reject,
                "underpowered": self.count_test_underpowered,
            },
        }


def wide_points(
    settings: ControlSettings, l1_hidden: float, result: GroupTraining
) -> list[WidePoint]:
    """Every density of one λ."""
    importance = settings.wide_importance()
    W_all = np.asarray(result.seed_W, dtype=np.float64)  # (C, k, m, n)
    b_all = np.asarray(result.seed_b, dtype=np.float64)
    loss = np.asarray(result.seed_loss, dtype=np.float64)
    loss_se = np.asarray(result.seed_loss_stderr, dtype=np.float64)
    pen = loss if l1_hidden == 0 else np.asarray(result.seed_loss_penalized, dtype=np.float64)
    points = []
    for c, p in enumerate(settings.wide_densities):
        W = W_all[c]
        represented = np.sum(feature_norms(W) > 0.5, axis=-1)
        sup = np.sum(
            (feature_norms(W) > 0.5) & (dimensionality(W) < SUPERPOSITION_DIMENSIONALITY), axis=-1
        )
        best = int(np.argmin(pen[c]))
        test = superposition_test(
            W[best], b_all[c, best], p, importance,
            n_samples=settings.wide_test_samples, alpha=ALPHA, seed=settings.seed,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnderpoweredWarning)  # reported as "underpowered"
            count = represented_count_test(W, alpha=ALPHA)
        points.append(
            WidePoint(
                l1_hidden=l1_hidden,
                density=float(p),
                represented=represented.astype(np.int64),
                in_superposition=sup.astype(np.int64),
                loss=loss[c],
                loss_stderr=loss_se[c],
                loss_penalized=pen[c],
                best=best,
                W=W,
                b=b_all[c],
                loss_test_p=test.p_value,
                loss_test_reject=test.reject,
                loss_bound=test.bound,
                count_test_p=count.p_value,
                count_test_reject=count.reject,
                count_test_underpowered=count.underpowered,
            )
        )
    return points


def pareto_front(points: list[WidePoint]) -> list[int]:
    """Indices of the points no other point beats on both fewer features in superposition and a
    lower loss, at the same density (the price of removing superposition)."""
    front = []
    for i, a in enumerate(points):
        sa, la = a.in_superposition[a.best], a.loss[a.best]
        dominated = any(
            b.density == a.density
            and b.in_superposition[b.best] <= sa
            and b.loss[b.best] <= la
            and (b.in_superposition[b.best] < sa or b.loss[b.best] < la)
            for b in points
        )
        if not dominated:
            front.append(i)
    return front


__all__ = ["WIDE_HIDDEN", "WidePoint", "pareto_front", "wide_points"]
