"""Benchmark: accuracy and speed of theory.landscape, and the exact n=3, m=2 phase map.

Run:  OMP_NUM_THREADS=1 python bench/bench_landscape.py [--part accuracy|speed|map|all]
                                                        [--models 20] [--repeats 3]

accuracy  The exact loss of random models against the same loss in exact rational arithmetic
          (theory.landscape.expected_loss_rational: correct for the given floats), for the
          stable scheme and for the textbook alternating sum over the cube's vertices in float64
          (tests/theory/landscape/references.py), as coupling strengths shrink. Errors are
          relative to the loss scale Σ_i I_i p_i / 3 (the loss of W = 0) and to the loss itself.
speed     Median seconds per model of expected_loss, expected_loss_and_grad and
          expected_loss_grad_hess for n = 2..12 (one model), and models per second for a batch
          of 4096 n = 3, m = 2 models.
map       theory.n3m2.exact_phase_map on the main job's default grid (20 × 20, importance
          0.1–10 × density 0.01–1, log-spaced), cache off; in the same run, for calibration of a
          loaded machine, theory.n2m1.exact_phase_map on its 100 × 100 benchmark grid.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from itertools import combinations
from pathlib import Path

# One core: set before numpy loads its BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from theory import landscape, n2m1, n3m2  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _references():
    path = ROOT / "tests" / "theory" / "landscape" / "references.py"
    spec = importlib.util.spec_from_file_location("landscape_refs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _model(rng: np.random.Generator, n: int, coupling: float | None):
    """A random model; ``coupling`` None: dense W; else near-orthogonal columns (m = n) with
    off-diagonal couplings of that size (the case where alternating sums cancel)."""
    if coupling is None:
        w = rng.uniform(-1.5, 1.5, (max(2, n - 1), n))
    else:
        w = np.diag(rng.choice([-1, 1], n) * rng.uniform(0.6, 1.2, n))
        w = w + coupling * rng.standard_normal((n, n))
    b = rng.uniform(-0.3, 0.3, n)
    p = 10.0 ** rng.uniform(-2, 0, n)
    imp = rng.uniform(0.2, 2, n)
    return w, b, p, imp


def _naive_loss(refs, w, b, p, imp) -> float:
    n = w.shape[1]
    gram = w.T @ w
    total = 0.0
    for d in range(n + 1):
        for active in combinations(range(n), d):
            mask = np.isin(np.arange(n), active)
            prob = float(np.prod(np.where(mask, p, 1 - p)))
            for i in range(n):
                coeffs = [float(gram[i, j]) for j in active]
                own = active.index(i) if i in active else None
                total += prob * imp[i] * refs.naive_pattern(coeffs, own, float(b[i]))
    return total


def accuracy(n_models: int) -> None:
    refs = _references()
    print(
        "| n | couplings | stable: max err / scale | stable: max rel. err | "
        "naive: max err / scale | naive: max rel. err |"
    )
    print("|---|---|---|---|---|---|")
    for n in (3, 4, 6):
        for coupling in (None, 1e-2, 1e-4, 1e-6, 1e-9, 1e-12):
            rng = np.random.default_rng(
                1000 * n + (0 if coupling is None else int(-np.log10(coupling)))
            )
            rows = []
            for _ in range(n_models):
                w, b, p, imp = _model(rng, n, coupling)
                exact = float(landscape.expected_loss_rational(w, b, p, imp))
                scale = float(np.sum(imp * p)) / 3
                ours = float(landscape.expected_loss(w, b, p, imp))
                naive = _naive_loss(refs, w, b, p, imp)
                rows.append(
                    (
                        abs(ours - exact) / scale,
                        abs(ours - exact) / exact,
                        abs(naive - exact) / scale,
                        abs(naive - exact) / exact,
                    )
                )
            worst = np.max(np.array(rows), axis=0)
            label = "dense, O(1)" if coupling is None else f"{coupling:g}"
            print(f"| {n} | {label} | " + " | ".join(f"{v:.1e}" for v in worst) + " |")


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(repeats: int) -> None:
    rng = np.random.default_rng(0)
    print("| n | loss (s) | loss + gradient (s) | + Hessian (s) |")
    print("|---|---|---|---|")
    for n in range(2, 13):
        w = rng.normal(size=(max(1, n // 2), n)) * 0.6
        b = rng.uniform(-0.2, 0.2, n)
        cells = [
            _median_time(lambda w=w, b=b: landscape.expected_loss(w, b, 0.1, 1.0), repeats),
            _median_time(
                lambda w=w, b=b: landscape.expected_loss_and_grad(w, b, 0.1, 1.0), repeats
            ),
        ]
        if n <= 8:
            cells.append(
                _median_time(
                    lambda w=w, b=b: landscape.expected_loss_grad_hess(w, b, 0.1, 1.0), repeats
                )
            )
        print(f"| {n} | " + " | ".join(f"{t:.3g}" for t in cells) + (" |" if n <= 8 else " | – |"))
    batch = 4096
    w = rng.normal(size=(batch, 2, 3))
    b = rng.uniform(-0.2, 0.2, (batch, 3))
    p = 10.0 ** rng.uniform(-2, 0, (batch, 1))
    imp = np.array([1.0, 1.0, 0.7])
    print(f"\nbatch of {batch} n=3, m=2 models, models per second (median of {repeats}):")
    for name, fn in (
        ("loss", landscape.expected_loss),
        ("loss + gradient", landscape.expected_loss_and_grad),
        ("loss + gradient + Hessian", landscape.expected_loss_grad_hess),
    ):
        t = _median_time(lambda fn=fn: fn(w, b, p, imp), repeats)
        print(f"  {name}: {batch / t:,.0f} models/s")


def phase_map() -> None:
    r, p = np.geomspace(0.1, 10, 20), np.geomspace(0.01, 1, 20)
    start = time.perf_counter()
    result = n3m2.exact_phase_map(r, p, cache=False)
    wall = time.perf_counter() - start
    counts = {label: int(np.sum(result.labels == label)) for label in n3m2.PHASES}
    print(f"n3m2.exact_phase_map 20x20 (default grid): {wall:.1f} s wall, one core")
    print(f"  converged: {result.converged.mean():.3f}; labels: {counts}")
    start = time.perf_counter()
    n2m1.exact_phase_map(np.logspace(-1, 1, 100), np.logspace(-2, 0, 100), cache=False)
    ref = time.perf_counter() - start
    print(
        f"calibration: n2m1.exact_phase_map 100x100 in the same run: {ref:.1f} s "
        f"(ratio n3m2 20x20 / n2m1 100x100 = {wall / ref:.2f})"
    )
    print(f"  load average at the end: {os.getloadavg()[0]:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("accuracy", "speed", "map", "all"), default="all")
    parser.add_argument("--models", type=int, default=20, help="random models per accuracy cell")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (median)")
    args = parser.parse_args(argv)
    print(
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    if args.part in ("accuracy", "all"):
        accuracy(args.models)
    if args.part in ("speed", "all"):
        speed(args.repeats)
    if args.part in ("map", "all"):
        phase_map()
    return 0


if __name__ == "__main__":
    sys.exit(main())
