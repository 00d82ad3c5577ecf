"""Benchmarks for theory.compressed_sensing (run by hand; not a timed test).

    python bench/bench_weak_threshold.py                       # speed and accuracy of ρ_W
    python bench/bench_weak_threshold.py transition --n 200 --trials 40 --seed 0

The first prints the time for a 1,000-point curve and the largest difference from a brute-force
two-stage grid maximisation over [1e-4, 1 − 1e-4]. The second measures the empirical 50% line
of ℓ1 / nonnegative-LP recovery at finite n against ρ_W(δ): for each δ a ``phase_transition_grid``
over every integer k with |k/m − ρ_W(δ)| <= 0.25 (seed ``seed + i`` for the i-th δ), the 50%
point interpolated (``contour_50``), and the 10%-90% width of the empirical transition.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.special import ndtr

from theory.compressed_sensing import phase_transition_grid, weak_threshold

_SQRT_2PI = np.sqrt(2.0 * np.pi)


def brute_force_weak_threshold(delta: np.ndarray, *, signed: bool) -> np.ndarray:
    """max over z of [1 − (κ/δ)J] / [1 + z² − κJ] by a coarse grid then a fine one (shape (d,))."""
    kappa = 2.0 if signed else 1.0

    def objective(z: np.ndarray, d: np.ndarray) -> np.ndarray:
        j = (1 + z * z) * ndtr(-z) - z * np.exp(-0.5 * z * z) / _SQRT_2PI
        with np.errstate(divide="ignore", invalid="ignore"):
            f = (1 - kappa / d * j) / (1 + z * z - kappa * j)
        return np.where(np.isfinite(f), f, -np.inf)

    d = delta[:, None]
    coarse = np.linspace(0.0, 8.0, 4001)[None, :]
    i = np.argmax(objective(coarse, d), axis=1)
    step = 8.0 / 4000
    center = coarse[0, i][:, None]
    fine = np.clip(center + np.linspace(-2 * step, 2 * step, 4001)[None, :], 0.0, None)
    return np.max(objective(fine, d), axis=1)


def bench_curve() -> None:
    delta = np.linspace(1e-4, 1 - 1e-4, 1000)
    for signed in (True, False):
        weak_threshold(delta, signed=signed)  # warm-up
        start = time.perf_counter()
        for _ in range(20):
            rho = weak_threshold(delta, signed=signed)
        elapsed = (time.perf_counter() - start) / 20
        err = np.max(np.abs(rho - brute_force_weak_threshold(delta, signed=signed)))
        label = "signed" if signed else "nonnegative"
        print(
            f"{label:12s} 1000-point curve: {1e3 * elapsed:.2f} ms; max |ρ_W − brute force| = {err:.2e}"
        )


def bench_transition(n: int, trials: int, seed: int, deltas: list[float], method: str) -> None:
    print(f"n = {n}, trials per cell = {trials}, seed = {seed}, method = {method}")
    worst_success, best_failure = 0.0, np.inf
    print("class        δ      m    ρ_W     ρ_50    ρ_50−ρ_W  width(10-90%)  time")
    for signed in (True, False):
        for i, delta in enumerate(deltas):
            m = int(np.floor(delta * n + 0.5))
            rho_w = float(weak_threshold(m / n, signed=signed))
            ks = np.arange(1, m + 1)
            ks = ks[np.abs(ks / m - rho_w) <= 0.25]
            start = time.perf_counter()
            grid = phase_transition_grid(
                n,
                [m / n],
                ks / m,
                trials=trials,
                seed=seed + i,
                nonnegative=not signed,
                method=method,  # type: ignore[arg-type]
            )
            elapsed = time.perf_counter() - start
            _, rho50 = grid.contour_50()
            err = grid.relative_errors
            ok = err <= grid.tolerance
            worst_success = max(worst_success, float(err[ok].max(initial=0.0)))
            best_failure = min(best_failure, float(err[~ok].min(initial=np.inf)))
            prob = grid.success_probability[0]
            rho = grid.rho_realized[0]
            hi = rho[prob >= 0.9].max() if np.any(prob >= 0.9) else np.nan
            lo = rho[prob <= 0.1].min() if np.any(prob <= 0.1) else np.nan
            label = "signed" if signed else "nonnegative"
            print(
                f"{label:12s} {m / n:.3f} {m:4d}  {rho_w:.4f}  {rho50[0]:.4f}  {rho50[0] - rho_w:+.4f}"
                f"     {lo - hi:.3f}        {elapsed:.0f} s"
            )
    print(f"largest relative error among successes: {worst_success:.2e}")
    print(f"smallest relative error among failures: {best_failure:.2e}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    tr = sub.add_parser("transition")
    tr.add_argument("--n", type=int, default=200)
    tr.add_argument("--trials", type=int, default=40)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--deltas", type=float, nargs="+", default=[0.1, 0.25, 0.5, 0.75, 0.9])
    tr.add_argument("--method", choices=("cvxpy", "linprog"), default="cvxpy")
    args = parser.parse_args(argv)
    if args.command == "transition":
        bench_transition(args.n, args.trials, args.seed, args.deltas, args.method)
    else:
        bench_curve()


if __name__ == "__main__":
    main()
