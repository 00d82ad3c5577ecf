"""The fast paths against an earlier version of toysup: step time and results, alternated.

    python bench/bench_versions.py --against c65f880 --rounds 5
    python bench/bench_versions.py --against c65f880 --workloads AB --json out.json

Checks out ``--against`` (a git revision of this repository) into a temporary directory and, for
workloads A, B and C of ``bench/bench_trainer.py``, times ``toysup.train``'s step in fresh
processes that import either this checkout or the earlier one, alternating the two within each
round (the machine's speed drifts; alternation exposes both versions to the same drift). A
round's figure is the step time by the differencing of ``bench_trainer.time_toysup`` (runs of
S and 2S steps, two workers; S is 400, 600 and 30 steps for A, B and C, the median of 3, 2 and 1
differences); the comparison is the median over rounds of the per-round ratio
(this version / earlier).

It also trains short runs of configurations that cover every fast path (the dense, compact,
row-sparse and Gram steps) with both versions and compares the result arrays bit for bit: the
fast paths must give what they gave before.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: Step timing, run in a child process whose sys.path starts with one version's checkout.
TIMING = """
import dataclasses, json, sys
sys.path.insert(0, {bench!r})
from bench_trainer import time_toysup, workloads
w = workloads()[{name!r}]
w = dataclasses.replace(w, our_steps=w.our_steps * {scale})
print(json.dumps(time_toysup(w, workers=2, repeats={repeats})))
"""
#: Steps per timed run, as multiples of bench_trainer's (A's 40 steps last about 0.1 s: too
#: short to difference reliably on a shared machine), and the repeats inside a child (median).
SCALE = {"A": 10, "B": 2, "C": 1}
REPEATS = {"A": 3, "B": 2, "C": 1}

#: Short runs covering the fast paths, saved as npz for the bitwise comparison.
RESULTS = """
import numpy as np
from toysup import FeatureConfig, ModelConfig, TrainConfig, train
arrays = {{}}
cases = {{
    # n=2 phase grid: compact (low density), row-sparse and dense steps
    "n2": (2, 1, np.repeat(np.geomspace(0.01, 1, 12)[:, None], 2, 1)),
    # n=20, m=5 at the notebook's densities
    "n20": (20, 5, np.repeat((20.0 ** -np.linspace(0, 1, 6))[:, None], 20, 1)),
    # n=400, m=30: the Gram step at low density, dense at high
    "n400": (400, 30, np.repeat(np.geomspace(0.001, 1, 5)[:, None], 400, 1)),
}}
for key, (n, m, density) in cases.items():
    for activation in ("relu", "linear"):
        r = train(
            FeatureConfig(n_features=n, n_instances=density.shape[0], density=density,
                          importance=0.9 ** np.arange(n)),
            ModelConfig(n_features=n, n_hidden=m, activation=activation),
            TrainConfig(steps=60, batch_size=256, n_seeds=2, eval_samples=512, seed=3,
                        device="cpu"),
            progress=False, workers=2,
        )
        for name in ("W", "b", "loss", "loss_stderr", "seed_W", "seed_b", "seed_loss",
                     "history_loss"):
            arrays[f"{{key}}/{{activation}}/{{name}}"] = np.asarray(getattr(r, name))
np.savez({out!r}, **arrays)
"""


def child(code: str, checkout: Path) -> str:
    """Run ``code`` in a fresh interpreter importing toysup from ``checkout``; return stdout."""
    env = {"PYTHONPATH": str(checkout), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=checkout, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"child in {checkout} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def checkout(revision: str, where: Path) -> Path:
    """The files of ``revision`` under ``where`` (git archive: no worktree left behind)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision],
        capture_output=True, check=True,
    )  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    return where


def compare_results(old: Path, new: Path, scratch: Path) -> dict[str, object]:
    """Bitwise comparison of the fast paths' result arrays, both versions."""
    files = {}
    for label, tree in (("earlier", old), ("this", new)):
        files[label] = scratch / f"{label}.npz"
        child(RESULTS.format(out=str(files[label])), tree)
    with np.load(files["earlier"]) as a, np.load(files["this"]) as b:
        names = sorted(a.files)
        differ = [
            k for k in names if k not in b.files or a[k].tobytes() != b[k].tobytes()
        ]  # fmt: skip
    print(f"results: {len(names) - len(differ)} of {len(names)} arrays bit for bit equal"
          + (f"; differ: {differ}" if differ else ""), flush=True)  # fmt: skip
    return {"arrays": len(names), "differ": differ}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="git revision to compare with")
    parser.add_argument("--workloads", default="ABC", help="which workloads (default: ABC)")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds (default: 5)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.workloads) - set("ABC"))
    if unknown or not args.workloads:
        parser.error(f"--workloads takes letters of ABC, got {args.workloads!r}")
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    out: dict[str, object] = {"against": args.against}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        (scratch / "old").mkdir()
        old = checkout(args.against, scratch / "old")
        trees = {"earlier": old, "this": ROOT}
        out["results"] = compare_results(old, ROOT, scratch)
        steps: dict[str, dict[str, list[float]]] = {}
        for name in args.workloads:
            steps[name] = {"earlier": [], "this": []}
            for k in range(args.rounds):
                order = ("earlier", "this") if k % 2 == 0 else ("this", "earlier")
                for label in order:
                    # each version times its own copy of bench_trainer's method
                    code = TIMING.format(bench=str(trees[label] / "bench"), name=name,
                                         scale=SCALE[name], repeats=REPEATS[name])  # fmt: skip
                    steps[name][label].append(float(child(code, trees[label])))
                print(f"{name} round {k}: this {1e3 * steps[name]['this'][-1]:.2f} ms, earlier "
                      f"{1e3 * steps[name]['earlier'][-1]:.2f} ms", flush=True)  # fmt: skip
    print("\n| workload | earlier (ms/step) | this (ms/step) | this / earlier, median (range) |")
    print("|---|---|---|---|")
    table = {}
    for name, s in steps.items():
        ratios = [a / b for a, b in zip(s["this"], s["earlier"])]
        table[name] = {"earlier_s": s["earlier"], "this_s": s["this"], "ratios": ratios}
        print(f"| {name} | {1e3 * statistics.median(s['earlier']):.2f} | "
              f"{1e3 * statistics.median(s['this']):.2f} | {statistics.median(ratios):.3f} "
              f"({min(ratios):.3f}–{max(ratios):.3f}) |")  # fmt: skip
    out["steps"] = table
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
