"""Benchmark: the exact phase maps (n=2, m=1 and n=3, m=2) on one CPU core.

Run:  OMP_NUM_THREADS=1 python bench/bench_exact_map.py [--size 100] [--no-bias]
      OMP_NUM_THREADS=1 python bench/bench_exact_map.py --model n3m2 [--size 20]

Prints the wall time of ``theory.n2m1.exact_phase_map`` or ``theory.n3m2.exact_phase_map`` (cache
disabled) on the paper's phase-change grid: importance r in [0.1, 10] and density p in [0.01, 1],
both log-spaced (default sizes: 100 for n2m1, 20 — the main job's default — for n3m2).
Target: <= 60 s.
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

from theory import n2m1, n3m2  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("n2m1", "n3m2"), default="n2m1")
    parser.add_argument("--size", type=int, help="grid points per axis (default 100 / 20)")
    parser.add_argument("--no-bias", action="store_true", help="n2m1 only: b = 0 fixed (McGrath)")
    args = parser.parse_args(argv)
    size = args.size or (100 if args.model == "n2m1" else 20)
    importance = np.logspace(-1, 1, size)
    density = np.logspace(-2, 0, size)
    start = time.perf_counter()
    if args.model == "n2m1":
        result = n2m1.exact_phase_map(importance, density, bias=not args.no_bias, cache=False)
        phases = n2m1.PHASES
    else:
        result = n3m2.exact_phase_map(importance, density, cache=False)
        phases = n3m2.PHASES
    wall = time.perf_counter() - start
    counts = {label: int(np.sum(result.labels == label)) for label in phases}
    print(f"{args.model} exact_phase_map {size}x{size} bias={not args.no_bias}: {wall:.2f} s wall")
    print(f"  OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, cells={result.labels.size}")
    print(f"  converged: {result.converged.mean():.4f}; labels: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
