"""Benchmark: the exact n=2, m=1 phase map on a 100 × 100 grid, on one CPU core.

Run:  OMP_NUM_THREADS=1 python bench/bench_exact_map.py [--size 100] [--no-bias]
      OMP_NUM_THREADS=1 python bench/bench_exact_map.py --l1-hidden 0.1 --repeats 3

Prints the wall time of ``theory.n2m1.exact_phase_map`` (cache disabled) on the paper's phase-change
grid: importance r in [0.1, 10] and density p in [0.01, 1], both log-spaced. Target: <= 60 s.
With a penalty (``--l1-hidden`` / ``--l1-weights``) the unpenalised map and the penalised one are
timed alternately ``--repeats`` times in the same process, and the median wall and CPU time of
each and their ratios are printed (on a loaded machine the CPU-time ratio is the meaningful
number; single wall times are not).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

# One core: set before numpy loads its BLAS (the optimiser's small eigh calls use it).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from theory.n2m1 import PHASES, exact_phase_map  # noqa: E402


def _time_map(
    size: int, bias: bool, l1_hidden: float, l1_weights: float
) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of this process, a summary line)."""
    importance = np.logspace(-1, 1, size)
    density = np.logspace(-2, 0, size)
    start, cpu = time.perf_counter(), time.process_time()
    result = exact_phase_map(
        importance, density, bias=bias, cache=False, l1_hidden=l1_hidden, l1_weights=l1_weights
    )
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    counts = {label: int(np.sum(result.labels == label)) for label in PHASES}
    return wall, cpu, f"converged: {result.converged.mean():.4f}; labels: {counts}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100, help="grid points per axis (default 100)")
    parser.add_argument("--no-bias", action="store_true", help="b = 0 fixed (McGrath's variant)")
    parser.add_argument("--l1-hidden", type=float, default=0.0, help="L1 penalty on E|h|")
    parser.add_argument("--l1-weights", type=float, default=0.0, help="L1 penalty on |w_i|")
    parser.add_argument("--repeats", type=int, default=1, help="timings per map (median kept)")
    args = parser.parse_args(argv)
    bias = not args.no_bias
    penalised = args.l1_hidden > 0 or args.l1_weights > 0
    runs: dict[str, list[tuple[float, float]]] = {"unpenalised": [], "penalised": []}
    notes: dict[str, str] = {}
    for _ in range(max(1, args.repeats)):
        *times, notes["unpenalised"] = _time_map(args.size, bias, 0.0, 0.0)
        runs["unpenalised"].append((times[0], times[1]))
        if penalised:
            *times, notes["penalised"] = _time_map(args.size, bias, args.l1_hidden, args.l1_weights)
            runs["penalised"].append((times[0], times[1]))
    print(f"exact_phase_map {args.size}x{args.size} bias={bias}, cache off")
    print(f"  OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, repeats={args.repeats}")
    medians = {}
    for name, pairs in runs.items():
        if not pairs:
            continue
        tag = (
            f"l1_hidden={args.l1_hidden}, l1_weights={args.l1_weights}"
            if name == "penalised"
            else "no penalty"
        )
        wall = statistics.median(t[0] for t in pairs)
        cpu = statistics.median(t[1] for t in pairs)
        medians[name] = (wall, cpu)
        print(
            f"  {tag}: median {wall:.2f} s wall, {cpu:.2f} s CPU "
            f"(wall runs: {', '.join(f'{t[0]:.2f}' for t in pairs)})"
        )
        print(f"    {notes[name]}")
    if penalised:
        wall_ratio = medians["penalised"][0] / medians["unpenalised"][0]
        cpu_ratio = medians["penalised"][1] / medians["unpenalised"][1]
        print(
            f"  ratio penalised / unpenalised (medians): wall {wall_ratio:.3f}, CPU {cpu_ratio:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
