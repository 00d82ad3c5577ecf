"""Sampler costs: dense, row-sparse and compact samplers, numpy and torch uniforms.

    python bench/bench_sampler.py

Prints, for a few shapes and densities, the median time of one draw (ms) and the cost per entry
of the batch (ns), one intra-op thread. The dense sampler's cost is the floor of one uniform per
entry; the row-sparse and compact samplers beat it at low density (the thresholds in
toysup/data.py come from this table).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from toysup.data import (
    CompactSampler,
    DenseSampler,
    NumpyUniforms,
    SparseSampler,
    TorchUniforms,
)

SHAPES = [(256, 2), (10, 20), (1, 400)]  # (instances, features): phase diagram, basic, geometry
DENSITIES = [0.01, 0.05, 0.1, 0.2, 0.5]
BATCH = 1024


def median_ms(fn, repeats: int = 25) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    torch.set_num_threads(1)
    flat = torch.empty(max(i * n for i, n in SHAPES) * BATCH + 1)
    n_entries = {shape: shape[0] * shape[1] * BATCH for shape in SHAPES}
    print("uniform source, 1M float32: ", end="")
    big = torch.empty(1 << 20)
    numpy_ms = median_ms(lambda: NumpyUniforms(0).fill(big))
    torch_ms = median_ms(lambda: TorchUniforms(torch.Generator().manual_seed(0)).fill(big))
    print(f"numpy PCG64 {numpy_ms:.2f} ms, torch {torch_ms:.2f} ms ({torch_ms / numpy_ms:.2f}x)")
    print()
    print("| instances × features | density | dense ms (ns/entry) | sparse | compact |")
    print("|---|---|---|---|---|")
    for shape in SHAPES:
        for p in DENSITIES:
            density = torch.full(shape, p)
            source = NumpyUniforms(1)
            cells = []
            for cls in (DenseSampler, SparseSampler, CompactSampler):
                sampler = cls(density, BATCH)
                ms = median_ms(lambda s=sampler, u=source: s.draw(flat, u))
                cells.append(f"{ms:.3f} ({1e6 * ms / n_entries[shape]:.2f})")
            print(f"| {shape[0]} × {shape[1]} | {p} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
