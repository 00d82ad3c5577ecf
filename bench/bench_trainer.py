"""Trainer throughput: toysup against the reference notebook's loop, in one process, same workloads.

    python bench/bench_trainer.py                 # all workloads, prints a markdown table
    python bench/bench_trainer.py --workloads A   # one workload
    python bench/bench_trainer.py --json out.json

Workloads (batch 1024):
  A  n=2,  m=1,  1,600 instances: a 40 × 40 phase-diagram sweep, importance of the extra feature
     log-spaced in [0.1, 10], density log-spaced in [0.01, 1].
  B  n=20, m=5,  20 instances: importance 0.7^i, density 20^-linspace(0, 1, 20) (the notebook's).
  C  n=400, m=30, 20 instances: uniform importance, density log-spaced in [0.001, 1] (geometry).

Each trainer is first timed at each thread setting (reference: 1 and 2 intra-op threads; toysup: 1
and 2 workers of one thread each) and then run at its best, in rounds that time both back to back;
the speed-up is the median of the per-round ratios (the machine is shared and virtualised, and its
speed drifts). Throughput is in instance-steps per second: (time(2S steps) - time(S steps)) / S for
toysup (removing set-up and the final evaluation), the step time after warm-up for the reference
loop. Machine limits, measured in the same rounds: the time to draw one float32 uniform per entry
with as many threads as toysup's workers (the dense sampler's floor; toysup's samplers draw fewer
at low density, so it can beat it), and the step's five batched products at the measured
aggregate bmm rate of as many concurrent one-thread workers (the matmul floor).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from toysup.reference import ReferenceModel, train_reference

BATCH = 1024


@dataclass(frozen=True)
class Workload:
    name: str
    n: int
    m: int
    density: np.ndarray  # (instances, n)
    importance: np.ndarray  # (instances, n)
    ref_steps: int
    our_steps: int

    @property
    def instances(self) -> int:
        return self.density.shape[0]


def workloads() -> dict[str, Workload]:
    r = np.logspace(-1, 1, 40)
    p = np.logspace(-2, 0, 40)
    rr, pp = np.meshgrid(r, p)
    imp_a = np.stack([np.ones(rr.size), rr.ravel()], 1)
    dens_a = np.repeat(pp.ravel()[:, None], 2, 1)
    dens_b = np.repeat((20.0 ** -np.linspace(0, 1, 20))[:, None], 20, 1)
    imp_b = np.tile(0.7 ** np.arange(20), (20, 1))
    dens_c = np.repeat(np.logspace(-3, 0, 20)[:, None], 400, 1)
    return {
        "A": Workload("A", 2, 1, dens_a, imp_a, ref_steps=6, our_steps=40),
        "B": Workload("B", 20, 5, dens_b, imp_b, ref_steps=30, our_steps=300),
        "C": Workload("C", 400, 30, dens_c, np.ones((20, 400)), ref_steps=5, our_steps=30),
    }


def time_reference(w: Workload, threads: int, repeats: int) -> float:
    """Median seconds per step of the reference loop."""
    torch.set_num_threads(threads)
    model = ReferenceModel(
        torch.tensor(w.density, dtype=torch.float32),
        torch.tensor(w.importance, dtype=torch.float32),
        w.m,
        seed=0,
    )
    train_reference(model, steps=2, batch_size=BATCH)  # warm-up
    per_step = []
    for _ in range(repeats):
        start = time.perf_counter()
        train_reference(model, steps=w.ref_steps, batch_size=BATCH)
        per_step.append((time.perf_counter() - start) / w.ref_steps)
    return statistics.median(per_step)


def time_toysup(w: Workload, workers: int, repeats: int) -> float:
    """Median seconds per step of toysup.train (set-up and evaluation removed by differencing)."""
    feats = FeatureConfig(
        n_features=w.n, n_instances=w.instances, density=w.density, importance=w.importance
    )
    model = ModelConfig(n_features=w.n, n_hidden=w.m)

    def run(steps: int) -> float:
        cfg = TrainConfig(
            steps=steps, batch_size=BATCH, eval_samples=256, device="cpu", log_every=100
        )  # log as often as a 10,000-step run does by default
        start = time.perf_counter()
        train(feats, model, cfg, progress=False, workers=workers)
        return time.perf_counter() - start

    run(4)  # warm-up
    per_step = []
    for _ in range(repeats):
        short, long = run(w.our_steps), run(2 * w.our_steps)
        per_step.append(max(long - short, 1e-9) / w.our_steps)
    return statistics.median(per_step)


def concurrent_seconds(work: Callable[[int], object], threads: int) -> float:
    """Median (of 7) wall time of ``work(0)``, ..., ``work(threads - 1)`` run in concurrent threads."""
    times = []
    for _ in range(7):
        start = time.perf_counter()
        pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rng_floor(w: Workload, threads: int) -> float:
    """Seconds to draw one float32 uniform per entry of a batch, split over ``threads`` threads."""
    torch.set_num_threads(1)
    total = w.instances * w.n * BATCH
    parts = [torch.empty(total // threads) for _ in range(threads)]
    gens = [torch.Generator().manual_seed(i) for i in range(threads)]

    return concurrent_seconds(lambda i: parts[i].uniform_(generator=gens[i]), threads)


def memory_floor(w: Workload) -> float:
    """Seconds to write and read back the (instances, n, batch) float32 batch once."""
    torch.set_num_threads(1)
    x = torch.empty(w.instances, w.n, BATCH)
    times = []
    for _ in range(7):
        start = time.perf_counter()
        x.fill_(1.0)
        float(x.sum())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bmm_gflops(w: Workload, threads: int) -> float:
    """Measured GFLOP/s of the step's (I, m, n) @ (I, n, B) product, run by ``threads`` threads of
    one intra-op thread each at once (as toysup's workers run): the machine's aggregate rate, which
    on this virtualised machine is well under ``threads`` times the one-thread rate."""
    torch.set_num_threads(1)
    W = [torch.randn(w.instances, w.m, w.n) for _ in range(threads)]
    x = [torch.rand(w.instances, w.n, BATCH) for _ in range(threads)]
    out = [torch.empty(w.instances, w.m, BATCH) for _ in range(threads)]
    reps = 5

    def work(i: int) -> None:
        for _ in range(reps):
            torch.bmm(W[i], x[i], out=out[i])

    seconds = concurrent_seconds(work, threads)
    return threads * reps * 2 * w.instances * w.m * w.n * BATCH / seconds / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="ABC", help="which workloads (default: ABC)")
    parser.add_argument("--repeats", type=int, default=5, help="timing rounds (default: 5)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    all_workloads = workloads()
    rows = []
    for key in args.workloads:
        w = all_workloads[key]
        # Pass 1: each trainer's best thread setting (median of three timings each).
        ref_try = {t: time_reference(w, t, 3) for t in (1, 2)}
        our_try = {k: time_toysup(w, k, 3) for k in (1, 2)}
        best_t = min(ref_try, key=lambda t: ref_try[t])
        best_k = min(our_try, key=lambda k: our_try[k])
        # Pass 2: rounds that time both trainers back to back, so that a machine whose speed drifts
        # (shared, virtualised) affects both alike; the ratio is taken within each round.
        ref, ours, rng, bmm = [], [], [], []
        for _ in range(args.repeats):
            ref.append(time_reference(w, best_t, 1))
            ours.append(time_toysup(w, best_k, 1))
            rng.append(rng_floor(w, best_k))
            bmm.append(bmm_gflops(w, best_k))
        ratios = [r / o for r, o in zip(ref, ours)]
        flops = 5 * 2 * w.instances * w.m * w.n * BATCH  # five batched products per step
        our_step, peak = statistics.median(ours), statistics.median(bmm)
        row = {
            "workload": key,
            "instances": w.instances,
            "n": w.n,
            "m": w.m,
            "reference_threads": best_t,
            "toysup_workers": best_k,
            "reference_step_s": statistics.median(ref),
            "toysup_step_s": our_step,
            "reference_inst_steps_per_s": w.instances / statistics.median(ref),
            "toysup_inst_steps_per_s": w.instances / our_step,
            "speedup_median": statistics.median(ratios),
            "speedup_range": [min(ratios), max(ratios)],
            "rng_floor_s": statistics.median(rng),
            "memory_floor_s": memory_floor(w),
            "bmm_gflops_all_workers": peak,
            "toysup_gflops": flops / our_step / 1e9,
            # the step's products at the machine's measured aggregate rate: the matmul limit
            "matmul_limit_fraction": flops / (peak * 1e9) / our_step,
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)

    print(
        "| workload | reference (inst-steps/s) | toysup (inst-steps/s) | speed-up, median "
        "(range) | dense-RNG floor / toysup step | matmul limit / toysup step |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        low, high = r["speedup_range"]
        print(
            f"| {r['workload']} (n={r['n']}, m={r['m']}, {r['instances']} inst.) "
            f"| {r['reference_inst_steps_per_s']:,.0f} ({r['reference_threads']} thr) "
            f"| {r['toysup_inst_steps_per_s']:,.0f} ({r['toysup_workers']} workers) "
            f"| {r['speedup_median']:.1f}× ({low:.1f}–{high:.1f}) "
            f"| {r['rng_floor_s'] / r['toysup_step_s']:.2f} "
            f"| {r['matmul_limit_fraction']:.2f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
