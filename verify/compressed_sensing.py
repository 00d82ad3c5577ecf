r"""``python -m verify.compressed_sensing``: the toy model's own recovery transition on compressed
sensing's axes (δ = m/n, ρ = k/m), beside convex recovery and the Donoho–Tanner curve.

Elhage et al. (2022, Related Work, "Compressed sensing") ask whether the toy model's phase changes
connect to those of compressed sensing. This job answers with numbers. For each δ = m/n and each
density p = k/n on a log-spaced grid (uniform importance, the paper's geometry setting) it

1. trains ReLU output models x' = ReLU(WᵀW x + b) at density p (toysup, best of ``seeds``);
2. feeds them inputs with exactly k = p n non-zeros, values Uniform[0, 1), and records whether x
   is recovered (criteria ``l2``/``linf``/``exact`` of :mod:`verify.cs_bridge.decode`);
3. decodes the same draws from h = W x with the nonnegative LP on the same learned W
   (``theory.compressed_sensing.recovery_rate``'s draws; k <= m only, since a vertex solution has
   at most m non-zeros);
4. runs the nonnegative LP on Gaussian m × n matrices at the same k (``phase_transition_grid``);
5. finds every curve's 50% point in ρ with a binomial confidence interval
   (:mod:`verify.cs_bridge.transition`), beside ρ_W(δ) (``weak_threshold``, nonnegative and
   signed);
6. counts represented features (‖W_i‖ > 0.5, and ‖W‖²_F) against ``max_features(m, p, bound)``.

:func:`run_bridge` is the computation (settings in, frozen result out); :func:`main` adds the
command line, files (:mod:`verify.cs_bridge.output`) and figure
(:mod:`verify.cs_bridge.figure`). Discussion and measured numbers: docs/compressed_sensing.md,
"The toy model as a decoder".
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from theory.compressed_sensing import max_features, phase_transition_grid, weak_threshold
from toysup import FeatureConfig, ModelConfig, train
from toysup.metrics import n_represented
from verify import job
from verify.cs_bridge.decode import TOLERANCE_FACTORS, decode_cell, draw_inputs
from verify.cs_bridge.transition import Transition, first_crossing, transition_50
from verify.cs_bridge.types import BridgeResult as BridgeResult
from verify.cs_bridge.types import BridgeSettings as BridgeSettings
from verify.job.sweep import (
    add_sweep_options,
    check_sweep_options,
    kept_entries,
    run_sweeps,
    sweep_options,
)

if TYPE_CHECKING:
    from toysup.sweep import Sweep

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DEFAULT_OUT = "compressed_sensing_out"
#: Bounds compared with the represented features (``theory.compressed_sensing.BOUNDS`` names).
FEATURE_BOUNDS = ("order", "any_decoder_exact", "weak_threshold_nonnegative")
#: Curves whose 50% point is reported: (decoder, criterion).
CURVES = (
    ("toy", "l2"),
    ("toy", "linf"),
    ("lp_learned", "exact"),
    ("lp_learned", "l2"),
    ("lp_learned", "linf"),
    ("lp_gaussian", "exact"),
)


def _frozen(arr: NDArray[Any]) -> NDArray[Any]:
    arr.setflags(write=False)
    return arr


def _derived_seed(seed: int, *key: int) -> int:
    """A 31-bit seed for stream ``key`` of the run (training per δ, Gaussian grid per δ)."""
    return int(np.random.SeedSequence([seed, *key]).generate_state(1)[0] >> 1)


@dataclass(frozen=True, eq=False)
class BridgeTraining:
    """The trained models of every δ: ``W[d]`` (K, m_d, n) and ``b[d]`` (K, n), the best seed
    per density; ``info``: device, dtype, workers; ``sweep``: the sweep's summary."""

    W: tuple[NDArray[np.floating[Any]], ...]
    b: tuple[NDArray[np.floating[Any]], ...]
    info: dict[str, Any]
    seconds: float
    sweep: dict[str, Any] | None = None


def bridge_sweeps(settings: BridgeSettings, *, task_size: int | None = None) -> dict[str, Sweep]:
    """One :class:`toysup.sweep.Sweep` per δ (named ``delta<d>_m<m>``) over the densities
    k / n, uniform importance; the sweep of δ number d has the seed stream (seed, 1, d).
    ``task_size``: densities per task (default: about one trainer block)."""
    from toysup.sweep import Axis, Sweep

    s, n = settings, settings.n_features
    density = (s.ks() / n).tolist()
    return {
        f"delta{d}_m{m}": Sweep(
            features=FeatureConfig(n_features=n, importance=1.0),
            model=ModelConfig(n_features=n, n_hidden=int(m)),
            training=s.train_config(_derived_seed(s.seed, 1, d)),
            axes=[Axis("density", density)],
            task_size=task_size,
        )
        for d, m in enumerate(s.hidden())
    }


def run_bridge(
    settings: BridgeSettings,
    *,
    progress: bool | None = None,
    workers: int | None = None,
    training: BridgeTraining | None = None,
) -> BridgeResult:
    """Train (unless ``training`` is given, e.g. read from a sweep's store), decode, find the
    transitions (module docstring). ``progress``: stage lines and the trainer's labelled progress
    on stderr (``None`` or ``True``: shown, as a bar on a terminal and as a line every few
    seconds in a log; ``False``: silent). ``workers``: the trainer's CPU worker threads."""
    s = settings
    show = progress is not False
    started = time.perf_counter()
    timings = {"train_s": 0.0, "toy_s": 0.0, "lp_learned_s": 0.0, "lp_gaussian_s": 0.0}
    n, ks, ms = s.n_features, s.ks(), s.hidden()
    if training is not None:
        started -= training.seconds
        timings["train_s"] = training.seconds
        if len(training.W) != len(ms) or len(training.b) != len(ms):
            raise ValueError(
                f"training must hold {len(ms)} models (one per δ), got {len(training.W)}"
            )
    density = ks / n
    D, K = len(ms), len(ks)
    missing = np.full((D, K), -1, dtype=np.int64)
    counts = {curve: missing.copy() for curve in CURVES}
    toy_tol = {f: {c: missing.copy() for c in ("l2", "linf")} for f in TOLERANCE_FACTORS}
    paired = {c: np.full((D, K, 2), -1, dtype=np.int64) for c in ("l2", "linf")}

    t0 = time.perf_counter()
    inputs = [draw_inputs(n, int(k), s.trials, s.seed) for k in ks]  # common to every δ
    timings["toy_s"] += time.perf_counter() - t0

    weights: list[FloatArray] = []
    biases: list[FloatArray] = []
    info: dict[str, Any] = {}
    for d, m in enumerate(ms):
        if training is None:
            _say(show, f"δ = {m}/{n}: training {K} densities × {s.seeds} seeds")
            t0 = time.perf_counter()
            result = train(
                FeatureConfig(
                    n_features=n, n_instances=K, density=density[:, None], importance=1.0
                ),
                ModelConfig(n_features=n, n_hidden=int(m)),
                s.train_config(_derived_seed(s.seed, 1, d)),
                progress=f"δ = {m}/{n}: training" if show else False,
                workers=workers,
            )
            timings["train_s"] += time.perf_counter() - t0
            info = {key: result.info[key] for key in ("device", "dtype", "workers")}
            W, b = result.W.astype(np.float64), result.b.astype(np.float64)
        else:
            info = training.info
            W, b = training.W[d].astype(np.float64), training.b[d].astype(np.float64)
            if W.shape != (K, m, n) or b.shape != (K, n):
                raise ValueError(
                    f"training.W[{d}] must be {(K, int(m), n)} and training.b[{d}] {(K, n)}, got "
                    f"{W.shape} and {b.shape}"
                )
        weights.append(W)
        biases.append(b)

        _say(show, f"δ = {m}/{n}: decoding (toy {s.trials}, LP {s.lp_trials} draws per k)")
        for j, k in enumerate(ks):
            cell = decode_cell(
                W[j], b[j], inputs[j], lp_trials=s.lp_trials if k <= m else 0, tol=s.tolerance
            )
            for factor, by_criterion in cell.toy.items():
                for c, count in by_criterion.items():
                    toy_tol[factor][c][d, j] = count
                    if factor == 1.0:
                        counts[("toy", c)][d, j] = count
            for c, count in cell.lp.items():
                counts[("lp_learned", c)][d, j] = count
            for c, pair in cell.paired.items():
                paired[c][d, j] = pair
            timings["toy_s"] += cell.toy_s
            timings["lp_learned_s"] += cell.lp_s

        if s.gaussian_trials:
            _say(show, f"δ = {m}/{n}: Gaussian LP, {s.gaussian_trials} trials per k <= m")
            t0 = time.perf_counter()
            cols = np.flatnonzero(ks <= m)
            grid = phase_transition_grid(
                n,
                [m / n],
                ks[cols] / m,
                trials=s.gaussian_trials,
                seed=_derived_seed(s.seed, 2, d),
                nonnegative=True,
                method="linprog",
            )
            counts[("lp_gaussian", "exact")][d, cols] = grid.successes[0]
            timings["lp_gaussian_s"] += time.perf_counter() - t0

    rho = ks[None, :] / ms[:, None]
    trials = {"toy": s.trials, "lp_learned": s.lp_trials, "lp_gaussian": s.gaussian_trials}
    transitions: dict[str, tuple[Transition, ...]] = {}
    for decoder, c in CURVES:
        transitions[f"{decoder}/{c}"] = _transitions(rho, counts[(decoder, c)], trials[decoder], s)
    for factor in TOLERANCE_FACTORS:
        for c in ("l2", "linf"):
            transitions[f"toy/{c}@{factor:g}"] = _transitions(rho, toy_tol[factor][c], s.trials, s)

    delta = ms / n
    frob = np.stack([np.sum(W**2, axis=(1, 2)) for W in weights])  # (D, K)
    represented = np.stack([n_represented(W) for W in weights]).astype(np.int64)
    bounds = {
        name: np.stack(
            [np.asarray(max_features(int(m), density, bound=name), dtype=np.float64) for m in ms]
        )
        for name in FEATURE_BOUNDS
    }
    sup = np.array(
        [first_crossing(rho[d], frob[d], 0.5 * (ms[d] + n))[0] for d in range(D)],
        dtype=np.float64,
    )
    timings["total_s"] = time.perf_counter() - started
    return BridgeResult(
        settings=s,
        k=_frozen(ks),
        density=_frozen(density),
        m=_frozen(ms),
        delta=_frozen(delta),
        rho=_frozen(rho),
        W=tuple(_frozen(W) for W in weights),
        b=_frozen(np.stack(biases)),
        successes={key: _frozen(v) for key, v in counts.items()},
        trials=trials,
        toy_tolerance={f: {c: _frozen(v) for c, v in t.items()} for f, t in toy_tol.items()},
        transitions=transitions,
        rho_w={
            "nonnegative": _frozen(np.asarray(weak_threshold(delta, signed=False), dtype=float)),
            "signed": _frozen(np.asarray(weak_threshold(delta, signed=True), dtype=float)),
        },
        represented=_frozen(represented),
        frobenius=_frozen(frob),
        bounds={name: _frozen(v) for name, v in bounds.items()},
        superposition_rho=_frozen(sup),
        paired={c: _frozen(v) for c, v in paired.items()},
        train_info=info,
        timings=timings,
        sweep=None if training is None else training.sweep,
    )


def _transitions(
    rho: FloatArray, counts: IntArray, trials: int, s: BridgeSettings
) -> tuple[Transition, ...]:
    """One Transition per δ over the evaluated cells (NaN/"" when nothing was evaluated)."""
    out = []
    for d in range(rho.shape[0]):
        cols = counts[d] >= 0
        if not cols.any() or trials == 0:
            out.append(Transition(math.nan, math.nan, math.nan, "", s.confidence))
            continue
        out.append(transition_50(rho[d, cols], counts[d, cols], trials, confidence=s.confidence))
    return tuple(out)


def _say(show: bool, text: str) -> None:
    if show:
        print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    d = BridgeSettings()
    parser = argparse.ArgumentParser(
        prog="python -m verify.compressed_sensing",
        description=(__doc__ or "").split("\n\n")[0].replace("``", ""),
        formatter_class=job.HelpFormatter,
    )
    job.add_common_options(parser, default_out=DEFAULT_OUT)
    add_sweep_options(parser)
    add = parser.add_argument
    add("--n", type=int, default=d.n_features, help="features n")
    add(
        "--deltas",
        type=_float_list,
        default=",".join(f"{v:g}" for v in d.deltas),
        metavar="D1,D2,...",
        help="δ = m/n values, comma-separated; m = round(δ n)",
    )
    add(
        "--densities",
        type=_count_or_list,
        default=d.densities,
        metavar="COUNT|P1,P2,...",
        help="a count of log-spaced densities p = k/n, k = round(geomspace(1, n, COUNT)) without "
        "duplicates; or comma-separated densities, each a multiple of 1/n",
    )
    add("--seeds", type=int, default=d.seeds, help="training runs per density (best kept)")
    add("--steps", type=int, default=d.steps, help="training steps")
    add("--batch", type=int, default=d.batch, help="training batch size")
    add("--lr", type=float, default=d.lr, help="AdamW learning rate (cosine schedule)")
    add("--trials", type=int, default=d.trials, help="toy-decoder inputs per (δ, k)")
    add(
        "--lp-trials",
        type=int,
        default=d.lp_trials,
        help="LP-on-learned-W inputs per (δ, k <= m): the first of the toy's; 0 skips",
    )
    add(
        "--gaussian-trials",
        type=int,
        default=d.gaussian_trials,
        help="Gaussian-matrix LP trials per (δ, k <= m); 0 skips",
    )
    add(
        "--tolerance",
        type=float,
        default=d.tolerance,
        help="τ: success if ‖x̂−x‖₂ <= τ‖x‖₂ (l2) or max|x̂_i−x_i| <= τ (linf)",
    )
    return parser  # fmt: skip


def _float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, e.g. 0.1,0.3,0.5; got {text!r}"
        ) from None


def _count_or_list(text: str) -> int | tuple[float, ...]:
    if "," not in text and "." not in text:
        try:
            return int(text)
        except ValueError:
            pass
    return _float_list(text)


def settings_from_args(args: argparse.Namespace) -> BridgeSettings:
    settings = BridgeSettings(
        n_features=args.n,
        deltas=args.deltas,
        densities=args.densities,
        seeds=args.seeds,
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        trials=args.trials,
        lp_trials=args.lp_trials,
        gaussian_trials=args.gaussian_trials,
        tolerance=args.tolerance,
        seed=args.seed,
        device=args.device,
    )
    job.check_memory(memory_estimate(settings))  # before the sweep's grids are built
    check_sweep_options(args, bridge_sweeps(settings, task_size=sweep_options(args).task_size))
    return settings


def memory_estimate(settings: BridgeSettings) -> dict[str, float]:
    """Planned memory in bytes per responsible option (refused up front if too large)."""
    s = settings
    n, K, D = s.n_features, len(s.ks()), len(s.hidden())
    return {
        "--steps": 48.0 * s.steps,
        "--batch": 24.0 * max(s.seeds * n * s.batch, 1 << 18) * 2,
        "--trials": 8.0 * 4 * s.trials * n * K,
        "--lp-trials": 8.0 * 4 * s.lp_trials * n * K,
        "--gaussian-trials": 8.0 * 2 * n * n * max(s.gaussian_trials > 0, 1),
        "--n / --deltas": 8.0 * D * K * n * n * (s.seeds + 1),
    }


def _compute(settings: BridgeSettings, args: argparse.Namespace) -> BridgeResult:
    """Train every δ as a sweep into the store (--store, --resume, --scheduler, --workers), then
    decode with the models read back from it."""
    progress = job.progress_option(args)
    started = time.perf_counter()
    sweeps = bridge_sweeps(settings, task_size=sweep_options(args).task_size)
    _say(progress is not False, f"training {len(sweeps)} δ values through the store")
    done = run_sweeps(sweeps, args, progress=progress)
    training = BridgeTraining(
        W=tuple(done.arrays[name]["W"] for name in sweeps),  # (K, m, n): the density axis first
        b=tuple(done.arrays[name]["b"] for name in sweeps),
        info={**next(iter(done.info.values())), "workers": done.summary["workers"]},
        seconds=time.perf_counter() - started,
        sweep=done.summary,
    )
    return run_bridge(settings, progress=progress, training=training)


def _write(result: BridgeResult, tmp: Path, argv: list[str]) -> list[str]:
    from verify.cs_bridge import output

    return output.write_files(result, tmp, argv)


def _report(result: BridgeResult, out: Path, files: list[Path]) -> str:
    from verify.cs_bridge import output

    return output.report(result, out, files)


JOB: job.Job[BridgeSettings, BridgeResult] = job.Job(
    prog="python -m verify.compressed_sensing",
    parser=build_parser,
    settings=settings_from_args,
    memory=memory_estimate,
    compute=_compute,
    write=_write,
    report=_report,
    failure_hint="lower --lr",
    keep=kept_entries,
)


def main(argv: list[str] | None = None) -> int:
    """Run the bridge; returns the exit code (0 done, 1 failed, 2 bad options with nothing
    written, 130 interrupted; see :mod:`verify.job.runner`)."""
    return job.run(JOB, argv)


if __name__ == "__main__":
    sys.exit(main())
