"""The general training path against a plain autograd loop written like the reference
notebook's (bench/baseline_general.py), in one process, same workloads.

    python bench/bench_general.py                  # both workloads, prints a markdown table
    python bench/bench_general.py --workloads P    # one workload
    python bench/bench_general.py --json out.json
    python bench/bench_general.py --smoke          # tiny sizes: checks that the script runs

Workloads (batch 1024, AdamW lr 1e-3):
  P  privileged basis (paper §"Superposition in a Privileged Basis"): h = ReLU(Wx),
     x' = ReLU(Wᵀh + b); n=20, m=5, 20 instances, importance 0.7^i, density 20^-linspace(0, 1, 20).
  V  absolute value (paper §"Computation in Superposition"): values Uniform[−1, 1], h = ReLU(Wx),
     y = ReLU(W_dec h + b) trained on |x|; n=100, m=40, importance 0.8^i, densities 1, 0.3, 0.1,
     0.03, 0.01, 0.003, 0.001 (7 instances).

As bench/bench_trainer.py: each trainer is first timed at each thread setting (baseline: 1 and 2
intra-op threads; toysup: 1 and 2 workers of one thread each) and then run at its best, in rounds
that time both back to back; the speed-up is the median of the per-round ratios. Step times:
(time(2S steps) − time(S steps)) / S for toysup (removing set-up and the final evaluation), the
step time after warm-up for the baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baseline_general import NotebookFamilyModel, train_notebook_loop

from toysup import FeatureConfig, ModelConfig, TrainConfig, train

BATCH = 1024


@dataclass(frozen=True)
class Workload:
    name: str
    n: int
    m: int
    density: np.ndarray  # (instances,)
    importance: np.ndarray  # (n,)
    hidden_relu: bool
    tied: bool
    signed: bool
    abs_target: bool
    baseline_steps: int
    our_steps: int

    @property
    def instances(self) -> int:
        return self.density.size

    def configs(self, steps: int) -> tuple[FeatureConfig, ModelConfig, TrainConfig]:
        features = FeatureConfig(
            n_features=self.n, n_instances=self.instances, density=self.density[:, None],
            importance=self.importance, values="signed" if self.signed else "unit",
        )  # fmt: skip
        model = ModelConfig(
            n_features=self.n, n_hidden=self.m,
            hidden_activation="relu" if self.hidden_relu else "none", tied=self.tied,
        )  # fmt: skip
        training = TrainConfig(
            steps=steps,
            batch_size=BATCH,
            eval_samples=256,
            device="cpu",
            log_every=100,
            target="abs" if self.abs_target else "identity",
        )  # fmt: skip (logged as often as a 10,000-step run by default)
        return features, model, training

    def baseline(self) -> NotebookFamilyModel:
        return NotebookFamilyModel(
            torch.tensor(np.repeat(self.density[:, None], self.n, 1), dtype=torch.float32),
            torch.tensor(np.tile(self.importance, (self.instances, 1)), dtype=torch.float32),
            self.m, hidden_relu=self.hidden_relu, tied=self.tied, signed=self.signed,
            abs_target=self.abs_target, seed=0,
        )  # fmt: skip


def workloads(smoke: bool = False) -> dict[str, Workload]:
    if smoke:
        return {
            "P": Workload("P", 6, 3, np.array([1.0, 0.1]), 0.7 ** np.arange(6), True, True, False,
                          False, 2, 3),
            "V": Workload("V", 6, 4, np.array([1.0, 0.1]), 0.8 ** np.arange(6), True, False, True,
                          True, 2, 3),
        }  # fmt: skip
    return {
        "P": Workload(
            "P", 20, 5, 20.0 ** -np.linspace(0, 1, 20), 0.7 ** np.arange(20),
            hidden_relu=True, tied=True, signed=False, abs_target=False,
            baseline_steps=30, our_steps=200,
        ),
        "V": Workload(
            "V", 100, 40, np.array([1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001]),
            0.8 ** np.arange(100), hidden_relu=True, tied=False, signed=True, abs_target=True,
            baseline_steps=20, our_steps=100,
        ),
    }  # fmt: skip


def time_baseline(w: Workload, threads: int, repeats: int) -> float:
    """Median seconds per step of the notebook-style loop."""
    torch.set_num_threads(threads)
    model = w.baseline()
    train_notebook_loop(model, steps=2, batch_size=BATCH)  # warm-up
    per_step = []
    for _ in range(repeats):
        start = time.perf_counter()
        train_notebook_loop(model, steps=w.baseline_steps, batch_size=BATCH)
        per_step.append((time.perf_counter() - start) / w.baseline_steps)
    return statistics.median(per_step)


def time_toysup(
    w: Workload, workers: int, repeats: int, *, strict: bool = True
) -> tuple[float, dict]:
    """Median seconds per step of toysup.train (set-up and evaluation removed by differencing),
    and the result's info. ``strict=False`` (smoke runs, a few steps) accepts a round whose
    longer run was not longer, as 1 ns per step."""
    info: dict = {}

    def run(steps: int) -> float:
        nonlocal info
        start = time.perf_counter()
        info = train(*w.configs(steps), progress=False, workers=workers).info
        return time.perf_counter() - start

    run(4)  # warm-up
    per_step = []
    for _ in range(repeats):
        for _attempt in range(3):  # a round where the longer run was not longer is discarded
            short, long = run(w.our_steps), run(2 * w.our_steps)
            if long > short:
                per_step.append((long - short) / w.our_steps)
                break
        else:
            if strict:
                raise RuntimeError("the machine's speed drifted too much to time toysup; rerun")
            per_step.append(1e-9)
    return statistics.median(per_step), info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="PV", help="which workloads (default: PV)")
    parser.add_argument("--repeats", type=int, default=5, help="timing rounds (default: 5)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round")
    args = parser.parse_args(argv)
    all_workloads = workloads(args.smoke)
    repeats = 1 if args.smoke else args.repeats
    tries = 1 if args.smoke else 3
    rows = []
    for key in args.workloads:
        w = all_workloads[key]
        base_try = {t: time_baseline(w, t, tries) for t in (1, 2)}
        our_try = {k: time_toysup(w, k, tries, strict=not args.smoke)[0] for k in (1, 2)}
        best_t = min(base_try, key=lambda t: base_try[t])
        best_k = min(our_try, key=lambda k: our_try[k])
        base, ours = [], []
        info: dict = {}
        for _ in range(repeats):
            base.append(time_baseline(w, best_t, 1))
            step, info = time_toysup(w, best_k, 1, strict=not args.smoke)
            ours.append(step)
        ratios = [b / o for b, o in zip(base, ours)]
        row = {
            "workload": key,
            "instances": w.instances,
            "n": w.n,
            "m": w.m,
            "baseline_threads": best_t,
            "toysup_workers": best_k,
            "baseline_step_s": statistics.median(base),
            "toysup_step_s": statistics.median(ours),
            "baseline_inst_steps_per_s": w.instances / statistics.median(base),
            "toysup_inst_steps_per_s": w.instances / statistics.median(ours),
            "speedup_median": statistics.median(ratios),
            "speedup_range": [min(ratios), max(ratios)],
            "paths": sorted(set(info["paths"])),
            "samplers": info["samplers"],
            "steps": info["steps"],
            "blocks": info["blocks"],
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    print(
        "| workload | baseline loop (inst-steps/s) | toysup general path (inst-steps/s) | "
        "speed-up, median (range) | samplers |"
    )
    print("|---|---|---|---|---|")
    for r in rows:
        low, high = r["speedup_range"]
        kinds = ", ".join(f"{k} {r['samplers'].count(k)}" for k in sorted(set(r["samplers"])))
        print(
            f"| {r['workload']} (n={r['n']}, m={r['m']}, {r['instances']} inst.) "
            f"| {r['baseline_inst_steps_per_s']:,.0f} ({r['baseline_threads']} thr) "
            f"| {r['toysup_inst_steps_per_s']:,.0f} ({r['toysup_workers']} workers) "
            f"| {r['speedup_median']:.1f}× ({low:.1f}–{high:.1f}) | {kinds} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
