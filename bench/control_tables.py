"""The tables of docs/control_theory.md: the exact boundary p*(r, λ) under L1 penalties, and the
penalty (and loss) it takes to remove superposition. Prints Markdown and the wall time.

Run:  OMP_NUM_THREADS=1 python bench/control_tables.py     (a few minutes on one core)
"""

from __future__ import annotations

import os
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from theory import n2m1  # noqa: E402

R = np.array([0.5, 0.8, 1.0, 2.0])
HIDDEN = np.array([0.0, 0.05, 0.1, 0.2, 0.3])
WEIGHTS = np.array([0.0, 0.002, 0.005, 0.01, 0.02])


def _fmt(x: float, digits: int = 4) -> str:
    return "—" if not np.isfinite(x) else f"{x:.{digits}f}"


def boundary_table(which: str, lams: np.ndarray) -> None:
    kw = {which: lams[:, None]}
    upper = n2m1.exact_boundary(R[None, :], cache=False, **kw)
    second = "reentry" if which == "l1_hidden" else "lower"
    other = n2m1.exact_boundary(R[None, :], cache=False, edge=second, **kw)
    unit = n2m1.penalised_candidate_boundary(R[None, :], **kw)
    best = n2m1.penalised_candidate_boundary(R[None, :], norm="optimal", **kw)
    print(f"\n{which}: exact p* (upper edge) / {second} edge / candidates unit / optimal norm")
    print("| λ | " + " | ".join(f"r = {r:g}" for r in R) + " |")
    print("|---|" + "---|" * R.size)
    for i, lam in enumerate(lams):
        cells = [
            f"{_fmt(upper[i, j])} / {_fmt(other[i, j])} / {_fmt(unit[i, j])} / {_fmt(best[i, j])}"
            for j in range(R.size)
        ]
        print(f"| {lam:g} | " + " | ".join(cells) + " |")


def removal_table(which: str) -> None:
    r = np.array([0.5, 1.0, 2.0])[:, None]
    p = np.array([0.01, 0.1, 0.3])[None, :]
    res = n2m1.penalty_to_remove_superposition(r, p, which)
    v = p / 3 - p * p / 4
    print(f"\n{which}: λ* | L*(0) | L after | cost | phase after | min(r,1)V")
    print("| r | p | λ* | L*(0) | loss at λ* | cost | phase after | best single-feature loss |")
    print("|---|---|---|---|---|---|---|---|")
    for i in range(3):
        for j in range(3):
            print(
                f"| {r[i, 0]:g} | {p[0, j]:g} | {res.value[i, j]:.4g} | "
                f"{res.loss_before[i, j]:.4g} | {res.loss_after[i, j]:.4g} | "
                f"{res.loss_cost[i, j]:.4g} | {res.labels_after[i, j]} | "
                f"{(min(r[i, 0], 1.0) * v[0, j]):.4g} |"
            )


def decade_table() -> None:
    r = np.array([0.5, 1.0, 2.0])
    p0 = n2m1.exact_boundary(r, cache=False)
    print("\nA decade: λ* at p = p*(r, 0)/10 (and its loss cost)")
    print("| r | p*(r, 0) | p*/10 | l1_hidden λ* (cost) | l1_weights λ* (cost) |")
    print("|---|---|---|---|---|")
    res = {
        w: n2m1.penalty_to_remove_superposition(r, p0 / 10, w) for w in ("l1_hidden", "l1_weights")
    }
    for i in range(3):
        cells = [f"{res[w].value[i]:.4g} ({res[w].loss_cost[i]:.3g})" for w in res]
        print(f"| {r[i]:g} | {p0[i]:.4f} | {p0[i] / 10:.4f} | " + " | ".join(cells) + " |")


def main() -> int:
    start = time.perf_counter()
    boundary_table("l1_hidden", HIDDEN)
    boundary_table("l1_weights", WEIGHTS)
    removal_table("l1_hidden")
    removal_table("l1_weights")
    decade_table()
    print(f"\nwall time: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
