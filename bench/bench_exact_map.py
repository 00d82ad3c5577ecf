"""Benchmark: the exact n=2, m=1 phase map on a 100 × 100 grid, on one CPU core.

Run:  OMP_NUM_THREADS=1 python bench/bench_exact_map.py [--size 100] [--no-bias]

Prints the wall time of ``theory.n2m1.exact_phase_map`` (cache disabled) on the paper's phase-change
grid: importance r in [0.1, 10] and density p in [0.01, 1], both log-spaced. Target: <= 60 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# One core: set before numpy loads its BLAS (the optimiser's small eigh calls use it).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from theory.n2m1 import PHASES, exact_phase_map  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100, help="grid points per axis (default 100)")
    parser.add_argument("--no-bias", action="store_true", help="b = 0 fixed (McGrath's variant)")
    args = parser.parse_args(argv)
    importance = np.logspace(-1, 1, args.size)
    density = np.logspace(-2, 0, args.size)
    start = time.perf_counter()
    result = exact_phase_map(importance, density, bias=not args.no_bias, cache=False)
    wall = time.perf_counter() - start
    counts = {label: int(np.sum(result.labels == label)) for label in PHASES}
    print(f"exact_phase_map {args.size}x{args.size} bias={not args.no_bias}: {wall:.2f} s wall")
    print(f"  OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, cells={result.labels.size}")
    print(f"  converged: {result.converged.mean():.4f}; labels: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
