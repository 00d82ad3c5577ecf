"""Step time of each sampler/step kind, forced, against the cost model's choice.

    python bench/bench_kinds.py            # markdown table on stdout

For each size (n, m, instances) and density, toysup.train runs one worker (one intra-op thread)
with ``TrainConfig(sampler=kind)`` for every kind; the step time is (time(2S) - time(S)) / S,
median of three, which removes set-up and evaluation. The last columns give the kind that
``toysup._blocks.sampler_costs`` predicts cheapest and the one measured fastest: the cost model only
has to rank kinds, and where it misses, the price of the miss is what matters.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from toysup._blocks import _KINDS, sampler_costs

SIZES = [(20, 5, 20), (100, 20, 4), (400, 30, 1)]  # (n, m, instances)
DENSITIES = [0.001, 0.003, 0.01, 0.03, 0.1]
BATCH = 1024


def step_ms(features: FeatureConfig, model: ModelConfig, kind: str, steps: int) -> float:
    def run(s: int) -> float:
        cfg = TrainConfig(
            steps=s, batch_size=BATCH, eval_samples=256, device="cpu", log_every=100, sampler=kind
        )
        start = time.perf_counter()
        train(features, model, cfg, progress=False, workers=1)
        return time.perf_counter() - start

    run(3)  # warm-up
    return statistics.median((run(2 * steps) - run(steps)) / steps * 1e3 for _ in range(3))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    torch.set_num_threads(1)
    print(
        "| n, m, instances | density | "
        + " | ".join(f"{k} (ms)" for k in _KINDS)
        + " | model | fastest |"
    )
    print("|---" * (len(_KINDS) + 4) + "|")
    for n, m, instances in SIZES:
        model = ModelConfig(n_features=n, n_hidden=m)
        for p in DENSITIES:
            density = np.full((instances, n), p)
            features = FeatureConfig(
                n_features=n,
                n_instances=instances,
                density=density,
                importance=np.ones_like(density),
            )
            ms = {k: step_ms(features, model, k, 20 if n >= 100 else 60) for k in _KINDS}
            costs = sampler_costs(density, BATCH, m)
            predicted, fastest = min(costs, key=costs.__getitem__), min(ms, key=ms.__getitem__)
            cells = " | ".join(f"{ms[k]:.2f}" for k in _KINDS)
            print(
                f"| {n}, {m}, {instances} | {p} | {cells} | {predicted} | {fastest} |", flush=True
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
