"""Calibrate verify.stats by simulation: size without superposition, power with it.

Prints markdown tables; with ``--write-doc`` also writes them into docs/statistics.md between
``<!-- calibrate_stats:NAME -->`` and ``<!-- /calibrate_stats:NAME -->`` markers.

The numbers in docs/statistics.md come from (CPU, about 20 minutes on two busy cores)::

    python bench/calibrate_stats.py --write-doc

Seeds, all fixed: replication r of a cell uses sampling seed r (``numpy.random.default_rng(r)``
for the loss test, ``seed=r`` and data seed ``10_000 + r`` for the decodability test) and the
trained model ``r mod k`` of the k trained seeds. Models are trained by toysup with the reference
settings (10,000 steps, batch 1024, AdamW, lr 1e-3) and ``TrainConfig(seed=...)`` 0 (ReLU, n=20),
1 (linear, n=20) and 2 (ReLU, n=5), 20 seeds each. Rates come with exact (Clopper–Pearson) 95%
intervals. ``--quick`` runs a small version (fewer replications and steps) and never writes.

The loss test is run through ``verify.stats.loss_bound._loss_test(..., intervals=False)`` on the same samples
for both methods: it is the code :func:`verify.stats.superposition_test` runs, minus the confidence
bounds (the script checks that the p-values agree with the public function on the first
replication of each cell).
"""

from __future__ import annotations

import argparse
import math
import platform
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats as sps

from theory.bounds import no_superposition_loss, no_superposition_solution
from theory.linear import expected_loss as linear_expected_loss
from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from toysup.metrics import n_represented
from verify import stats
from verify.stats.loss_bound import _loss_test
from verify.stats.loss_problem import LossProblem

ALPHA = 0.01
DOC = Path(__file__).resolve().parent.parent / "docs" / "statistics.md"


@dataclass(frozen=True)
class Case:
    """A model family: k fixed models (W (m, n), b (n,)) and their feature law."""

    name: str
    models: tuple[tuple[np.ndarray, np.ndarray], ...]
    density: float
    importance: np.ndarray
    activation: str = "relu"
    #: every pre-activation is >= 0, so the ReLU model's loss is the linear model's (exact)
    relu_inactive: bool = False

    @property
    def relu(self) -> bool:
        return self.activation == "relu"

    def model(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        return self.models[r % len(self.models)]


def rate(k: int, reps: int) -> str:
    """``k/reps`` as a rate with its exact 95% interval."""
    ci = sps.binomtest(k, reps).proportion_ci(confidence_level=0.95, method="exact")
    return f"{k / reps:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------


def boundary(name: str, importance: np.ndarray, density: float, m: int) -> Case:
    """The exact no-superposition optimum: E[loss] = B, the hardest H0 model."""
    W, b = no_superposition_solution(importance, density, m)
    return Case(name, ((W, b),), density, importance, relu_inactive=True)


def pentagon() -> np.ndarray:
    angles = 2 * np.pi * np.arange(5) / 5
    return np.stack([np.cos(angles), np.sin(angles)])


def trained(steps: int, seeds: int) -> dict[str, Case]:
    """Trained toysup models (reference settings); keys name the configuration."""
    out: dict[str, Case] = {}
    imp20 = 0.7 ** np.arange(20)
    densities = (0.03, 0.1, 1.0)
    feats = FeatureConfig(
        n_features=20,
        n_instances=3,
        density=[[p] * 20 for p in densities],
        importance=imp20,
    )
    for activation, seed in (("relu", 0), ("linear", 1)):
        result = train(
            feats,
            ModelConfig(n_features=20, n_hidden=5, activation=activation),
            TrainConfig(steps=steps, n_seeds=seeds, seed=seed),
            progress=False,
        )
        for c, p in enumerate(densities):
            models = tuple(
                (result.seed_W[c, s].astype(np.float64), result.seed_b[c, s].astype(np.float64))
                for s in range(seeds)
            )
            out[f"{activation} n=20 m=5 p={p:g}"] = Case(
                f"trained {activation}, n=20, m=5, I=0.7^i, p={p:g}",
                models,
                p,
                imp20,
                activation,
            )
    result = train(
        FeatureConfig(n_features=5, density=0.05, importance=1.0),
        ModelConfig(n_features=5, n_hidden=2),
        TrainConfig(steps=steps, n_seeds=seeds, seed=2),
        progress=False,
    )
    models = tuple(
        (result.seed_W[0, s].astype(np.float64), result.seed_b[0, s].astype(np.float64))
        for s in range(seeds)
    )
    out["relu n=5 m=2 p=0.05"] = Case(
        "trained ReLU, n=5, m=2, I=1, p=0.05", models, 0.05, np.ones(5)
    )
    return out


# --------------------------------------------------------------------------------------------
# 1. the loss test
# --------------------------------------------------------------------------------------------


def loss_rejections(case: Case, n_samples: int, reps: int) -> dict[str, int]:
    problems = [
        LossProblem(W, b, np.full(W.shape[1], case.density), case.importance, relu=case.relu)
        for W, b in case.models
    ]
    setups = [(p, p.conditional_bound, p.loss_range) for p in problems]
    counts = {"betting": 0, "t": 0}
    for r in range(reps):
        problem, bound, upper = setups[r % len(setups)]
        losses = problem.sample(n_samples, np.random.default_rng(r))
        for method in counts:
            outcome = _loss_test(losses, bound, upper, ALPHA, method, intervals=False)
            counts[method] += outcome.p_value <= ALPHA
            if r == 0:  # the public function gives the same p-value
                W, b = case.model(0)
                public = stats.superposition_test(
                    W, b, case.density, case.importance, n_samples=n_samples, alpha=ALPHA,
                    seed=0, activation=case.activation, method=method, loss="monte_carlo",
                )  # fmt: skip
                assert math.isclose(public.p_value, outcome.p_value, rel_tol=1e-9, abs_tol=1e-300)
    return counts


def loss_context(case: Case) -> tuple[float, float, float]:
    """``(B, loss averaged over the models, mean U)``.

    The loss is exact (theory.linear.expected_loss) for linear models and for ReLU models whose
    pre-activations are never negative, else a 10^5-active-sample estimate.
    """
    losses, ranges = [], []
    for i, (W, b) in enumerate(case.models):
        density = np.full(W.shape[1], case.density)
        problem = LossProblem(W, b, density, case.importance, relu=case.relu)
        if case.activation == "linear" or case.relu_inactive:
            losses.append(float(linear_expected_loss(W, b, case.importance, density)))
        else:
            sample = problem.sample(100_000, np.random.default_rng(999_000 + i))
            losses.append(problem.unconditional(float(sample.mean())))
        ranges.append(problem.loss_range)
    bound = float(no_superposition_loss(case.importance, case.density, case.models[0][0].shape[0]))
    return bound, float(np.mean(losses)), float(np.mean(ranges))


def loss_table(cases: list[Case], sizes: tuple[int, ...], reps: int) -> str:
    rows = []
    for case in cases:
        bound, loss, upper = loss_context(case)
        for n_samples in sizes:
            started = time.perf_counter()
            counts = loss_rejections(case, n_samples, reps)
            rows.append(
                [
                    case.name,
                    f"{bound:.4g}",
                    f"{loss:.4g}",
                    f"{upper:.3g}",
                    f"{n_samples:,}",
                    rate(counts["betting"], reps),
                    rate(counts["t"], reps),
                ]
            )
            print(" | ".join(rows[-1]), f"({time.perf_counter() - started:.1f} s)", flush=True)
    header = ["model", "B", "loss", "U", "N (active)", "betting", "t-test"]
    return table(header, rows) + f"\n\nR = {reps} replications per row, alpha = {ALPHA}."


# --------------------------------------------------------------------------------------------
# 2. the decodability test
# --------------------------------------------------------------------------------------------


def toy_data(
    W: np.ndarray, density: float, n_rows: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    u = rng.random((n_rows, W.shape[1]))
    x = np.where(u < density, u / density, 0.0)
    return x @ W.T, x  # hidden (N, m), features (N, n)


def decode_table(cases: Sequence[tuple[Case, tuple[int, ...]]], reps: int) -> str:
    rows = []
    for case, sizes in cases:
        for n_rows in sizes:
            started = time.perf_counter()
            rejected, found = 0, []
            for r in range(reps):
                W, _ = case.model(r)
                result = stats.decodability_test(
                    *toy_data(W, case.density, n_rows, 10_000 + r), seed=r
                )
                rejected += result.reject
                found.append(result.n_decodable)
            m, n = case.models[0][0].shape
            rows.append(
                [
                    case.name,
                    f"{m}/{n}",
                    f"{n_rows:,}",
                    f"{np.mean(found):.2f}",
                    rate(rejected, reps),
                ]
            )
            print(" | ".join(rows[-1]), f"({time.perf_counter() - started:.1f} s)", flush=True)
    header = ["model", "m/n", "N (all examples)", "mean # decodable", "rejection rate"]
    return table(header, rows) + f"\n\nR = {reps} replications per row, alpha = {ALPHA}."


# --------------------------------------------------------------------------------------------
# 3. the seeds test
# --------------------------------------------------------------------------------------------


def seeds_size(reps: int) -> str:
    rng = np.random.default_rng(0)
    rows = []
    for k in (7, 10, 20, 50):
        critical = next(c for c in range(k + 2) if sps.binom.sf(c - 1, k, 0.5) <= ALPHA)
        exact = sps.binom.sf(critical - 1, k, 0.5) if critical <= k else 0.0
        rejected = 0
        for _ in range(reps):
            counts = 2 + rng.integers(0, 2, k)  # m = 2: count m or m + 1 with probability 1/2
            W = np.zeros((k, 2, 5))
            W[:, 0, :] = 0.1
            for s, c in enumerate(counts):
                W[s, 0, :c] = 1.0
            rejected += stats.represented_count_test(W, alpha=ALPHA).reject
        rows.append([str(k), str(critical), f"{exact:.5f}", rate(rejected, reps)])
    header = ["seeds k", "reject if #(count > m) >=", "exact size", "simulated rate"]
    return table(header, rows) + (
        f"\n\nBoundary of H0: P(count > m) = 1/2 exactly; R = {reps} simulated experiments per row."
    )


def seeds_trained(cases: list[Case]) -> str:
    rows = []
    for case in cases:
        W = np.stack([w for w, _ in case.models])
        result = stats.represented_count_test(W, alpha=ALPHA)
        critical10 = next(c for c in range(12) if sps.binom.sf(c - 1, 10, 0.5) <= ALPHA)
        power10 = sps.binom.sf(critical10 - 1, 10, result.fraction_above)
        values, freq = np.unique(result.counts, return_counts=True)
        histogram = ", ".join(f"{v}: {f}" for v, f in zip(values, freq))
        lo, hi = result.fraction_interval
        mlo, mhi = result.mean_count_interval
        rows.append(
            [
                case.name,
                histogram,
                f"{result.fraction_above:.2f} [{lo:.2f}, {hi:.2f}]",
                f"{result.mean_count:.2f} [{mlo:.1f}, {mhi:.1f}]",
                f"{result.p_value:.2g}",
                "yes" if result.reject else "no",
                f"{power10:.2f}",
            ]
        )
        assert np.array_equal(result.counts, n_represented(W))
        print(" | ".join(rows[-1]), flush=True)
    header = [
        "configuration (k = 20 seeds)",
        "counts (value: seeds)",
        "P(count > m) [99% CI]",
        "mean count [99% CI]",
        "p-value",
        "reject",
        "power at k=10 if π = π̂",
    ]
    return table(header, rows)


# --------------------------------------------------------------------------------------------


def write_doc(sections: dict[str, str]) -> None:
    text = DOC.read_text()
    for name, body in sections.items():
        pattern = re.compile(
            rf"(<!-- calibrate_stats:{name} -->\n).*?(\n<!-- /calibrate_stats:{name} -->)", re.S
        )
        match = pattern.search(text)
        if match is None:
            raise SystemExit(f"marker calibrate_stats:{name} not found in {DOC}")
        text = text[: match.start()] + match.group(1) + body + match.group(2) + text[match.end() :]
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-doc", action="store_true", help="write tables into the doc")
    parser.add_argument("--quick", action="store_true", help="small smoke run (never writes)")
    args = parser.parse_args(argv)
    quick = args.quick
    reps_size, reps_power, reps_decode, reps_seeds = (
        (100, 40, 20, 500) if quick else (1000, 200, 200, 10_000)
    )
    steps, seeds = (1000, 4) if quick else (10_000, 20)
    started = time.perf_counter()

    print("training models ...", flush=True)
    models = trained(steps, seeds)
    print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)
    imp20 = 0.7 ** np.arange(20)
    sections: dict[str, str] = {}

    print("\n## loss test: size", flush=True)
    size_cases = [
        boundary("optimum, n=2, m=1, I=1, p=0.01", np.ones(2), 0.01, 1),
        boundary("optimum, n=2, m=1, I=1, p=0.1", np.ones(2), 0.1, 1),
        boundary("optimum, n=2, m=1, I=1, p=1", np.ones(2), 1.0, 1),
        boundary("optimum, n=10, m=9, I=1, p=0.01", np.ones(10), 0.01, 9),
        boundary("optimum, n=5, m=2, I=1, p=0.05", np.ones(5), 0.05, 2),
        boundary("optimum, n=20, m=5, I=0.7^i, p=0.01", imp20, 0.01, 5),
        boundary("optimum, n=20, m=5, I=0.7^i, p=0.05", imp20, 0.05, 5),
        boundary("optimum, n=20, m=5, I=0.7^i, p=1", imp20, 1.0, 5),
        models["linear n=20 m=5 p=0.03"],
        models["linear n=20 m=5 p=0.1"],
        models["linear n=20 m=5 p=1"],
        models["relu n=20 m=5 p=1"],
    ]
    sections["size_loss"] = loss_table(size_cases, (30, 100, 1000, 10_000), reps_size)

    print("\n## loss test: power", flush=True)
    pair = (np.array([[1.0, -1.0]]), np.zeros(2))
    power_cases = [
        Case("antipodal pair W=[1,-1], b=0, p=0.01", (pair,), 0.01, np.ones(2)),
        Case("antipodal pair W=[1,-1], b=0, p=0.1", (pair,), 0.1, np.ones(2)),
        Case(
            "unit pentagon, b=0, n=5, m=2, p=0.05", ((pentagon(), np.zeros(5)),), 0.05, np.ones(5)
        ),
        models["relu n=5 m=2 p=0.05"],
        models["relu n=20 m=5 p=0.03"],
        models["relu n=20 m=5 p=0.1"],
    ]
    sections["power_loss"] = loss_table(power_cases, (100, 300, 1000, 3000, 10_000), reps_power)

    print("\n## decodability test: size", flush=True)
    decode_size = [
        (boundary("optimum, n=2, m=1, p=0.05", np.ones(2), 0.05, 1), (1000,)),
        (boundary("optimum, n=5, m=2, p=0.05", np.ones(5), 0.05, 2), (1000, 4000)),
        (boundary("optimum, n=20, m=5, I=0.7^i, p=0.05", imp20, 0.05, 5), (4000,)),
        (models["linear n=20 m=5 p=0.1"], (4000,)),
        (models["relu n=20 m=5 p=1"], (4000,)),
    ]
    sections["size_decode"] = decode_table(decode_size, reps_decode)

    print("\n## decodability test: power", flush=True)
    decode_power = [
        (Case("antipodal pair, p=0.01", (pair,), 0.01, np.ones(2)), (500, 2000)),
        (Case("antipodal pair, p=0.05", (pair,), 0.05, np.ones(2)), (500, 2000)),
        (
            Case("unit pentagon, p=0.05", ((pentagon(), np.zeros(5)),), 0.05, np.ones(5)),
            (500, 2000),
        ),
        (models["relu n=5 m=2 p=0.05"], (500, 2000)),
        (models["relu n=20 m=5 p=0.03"], (2000, 5000)),
        (models["relu n=20 m=5 p=0.1"], (2000, 5000)),
    ]
    sections["power_decode"] = decode_table(decode_power, reps_decode)

    print("\n## seeds test", flush=True)
    sections["seeds_size"] = seeds_size(reps_seeds)
    sections["seeds_trained"] = seeds_trained(
        [
            models["relu n=20 m=5 p=0.03"],
            models["relu n=20 m=5 p=0.1"],
            models["relu n=20 m=5 p=1"],
            models["linear n=20 m=5 p=0.03"],
            models["linear n=20 m=5 p=1"],
            models["relu n=5 m=2 p=0.05"],
        ]
    )

    runtime = time.perf_counter() - started
    sections["run"] = (
        f"`python bench/calibrate_stats.py --write-doc`: {runtime / 60:.0f} min on "
        f"{platform.machine()} ({platform.python_version()}, numpy {np.__version__}); "
        f"models trained for {steps:,} steps, {seeds} seeds per configuration."
    )
    for name, body in sections.items():
        print(f"\n### {name}\n\n{body}")
    if args.write_doc and not quick:
        write_doc(sections)
        print(f"\nwrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
