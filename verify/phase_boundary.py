"""``python -m verify.phase_boundary``: the n=2, m=1 (or n=3, m=2) phase diagram, theory against
trained models.

Trains several seeds per cell of a (importance × density) grid with toysup, keeps the best seed of
each cell by its exact expected loss, labels its phase, builds the theory maps (the paper's
candidates and the optimum of the exact loss landscape), compares them (agreement, Cohen's κ,
boundary location per importance with a bootstrap uncertainty over seeds, the best seed's excess
loss over the exact optimum, sensitivity to the representation threshold) and writes
summary.json, config.json, the maps (NPZ and CSV) and a figure (PNG, PDF, SVG) into ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from toysup.config import DEFAULT_ADAMW_WEIGHT_DECAY
from verify import job
from verify.diagram import Diagram, DiagramSettings, GridTraining, diagram_sweep, run_diagram
from verify.job.sweep import (
    add_sweep_options,
    check_sweep_options,
    kept_entries,
    run_sweeps,
    sweep_options,
)

SCHEMA = 1
DEFAULT_OUT = "phase_boundary_out"
PROG = "python -m verify.phase_boundary"

#: ``--preset``: values used for options not given on the command line.
PRESETS: dict[str, dict[str, Any]] = {
    # fits 90 s on a 2-core CPU; lr and schedule chosen to converge in 2,000 steps
    "quick": dict(resolution=20, seeds=6, steps=2000, batch=1024, lr=1e-2, schedule="cosine",
                  selection="best"),
    # the paper's protocol with the reference notebook's optimiser; meant for a GPU
    "paper": dict(resolution=50, seeds=10, steps=10_000, batch=1024, lr=1e-3, schedule="constant",
                  selection="drop_worst"),
}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(__doc__ or "").split("\n\n")[0].replace("``", ""),
        formatter_class=job.HelpFormatter,
    )
    job.add_common_options(parser, default_out=DEFAULT_OUT)
    add_sweep_options(parser)
    add = parser.add_argument
    add(
        "--preset",
        choices=sorted(PRESETS),
        default="quick",
        help="quick: 20×20 cells, 6 seeds, 2,000 steps (a CPU minute); paper: 50×50 cells, "
        "10 seeds with the worst discarded, 10,000 steps, AdamW lr 1e-3 constant (for a GPU)",
    )
    add("--resolution", type=int, help="cells per axis (default: from the preset: 20 / 50)")
    add("--seeds", type=int, help="training runs per cell (default: preset: 6 / 10)")
    add("--steps", type=int, help="training steps (default: preset: 2000 / 10000)")
    add("--batch", type=int, help="batch size (default: preset: 1024)")
    add("--lr", type=float, help="learning rate (default: preset: 1e-2 / 1e-3)")
    add(
        "--schedule",
        choices=("constant", "linear", "cosine"),
        help="learning-rate schedule (default: preset: cosine / constant)",
    )
    add(
        "--optimizer",
        choices=("adamw", "adam"),
        default="adamw",
        help=f"optimiser (AdamW with weight decay {DEFAULT_ADAMW_WEIGHT_DECAY}, or Adam)",
    )
    add(
        "--selection",
        choices=("best", "drop_worst"),
        help="combine a cell's seeds: the lowest-loss seed, or drop the worst and take the "
        "majority (default: preset: best / drop_worst)",
    )
    add("--n", type=int, default=2, help="features: 2 (with --m 1) or 3 (with --m 2)")
    add("--m", type=int, default=1, help="hidden dimensions")
    add(
        "--importance-range",
        type=float,
        nargs=2,
        default=(0.1, 10.0),
        metavar=("LOW", "HIGH"),
        help="importance of the extra feature, log-spaced",
    )
    add(
        "--density-range",
        type=float,
        nargs=2,
        default=(0.01, 1.0),
        metavar=("LOW", "HIGH"),
        help="feature density p = 1 - S, log-spaced",
    )
    add(
        "--bootstrap",
        type=int,
        default=200,
        help="bootstrap resamples of the seeds for the boundary's uncertainty",
    )
    return parser  # fmt: skip


def settings_from_args(args: argparse.Namespace) -> DiagramSettings:
    preset = PRESETS[args.preset]

    def pick(name: str) -> Any:
        value = getattr(args, name)
        return preset[name] if value is None else value

    settings = DiagramSettings(
        n_features=args.n,
        n_hidden=args.m,
        resolution=pick("resolution"),
        importance_range=tuple(args.importance_range),
        density_range=tuple(args.density_range),
        seeds=pick("seeds"),
        steps=pick("steps"),
        batch=pick("batch"),
        lr=pick("lr"),
        schedule=pick("schedule"),
        optimizer=args.optimizer,
        selection=pick("selection"),
        device=args.device,
        seed=args.seed,
        bootstrap=args.bootstrap,
    )
    job.check_memory(memory_estimate(settings))  # before the sweep's grids are built
    check_sweep_options(
        args, {"": diagram_sweep(settings, task_size=sweep_options(args).task_size)}
    )
    return settings


def memory_estimate(settings: DiagramSettings) -> dict[str, float]:
    """Planned memory in bytes per responsible option (refused up front if too large)."""
    s = settings
    cells = s.resolution**2
    runs = cells * s.seeds
    n = s.n_features
    return {
        "--steps": 48.0 * s.steps,  # the schedule's per-step learning rates and loop state
        "--batch": 24.0 * max(s.seeds * n * s.batch, 1 << 18) * 2,  # two workers' step buffers
        "--resolution / --seeds": 8.0 * runs * (101 + 8 * n) + 4.0 * runs * n * s.eval_samples / 64,
        "--bootstrap": (8.0 * s.seeds + 64.0) * cells * s.bootstrap,
    }


def compute(settings: DiagramSettings, args: argparse.Namespace) -> Diagram:
    """Train the grid as a sweep into the store (--store, --resume, --scheduler, --workers), and
    compute the diagram from the models read back from it."""
    return run_diagram(settings, training=train_through_store(settings, args))


def train_through_store(settings: DiagramSettings, args: argparse.Namespace) -> GridTraining:
    """The grid's models, trained by :mod:`toysup.sweep` (docs/sweeps.md, "Jobs")."""
    import time

    started = time.perf_counter()
    sweep = diagram_sweep(settings, task_size=sweep_options(args).task_size)
    done = run_sweeps({"": sweep}, args, progress=job.progress_option(args))
    arrays = done.arrays[""]  # (density, importance, seed, ...) = (P, R, K, ...)
    info = dict(done.info[""], workers=done.summary["workers"])
    return GridTraining(
        seed_W=arrays["seed_W"],
        seed_b=arrays["seed_b"],
        seed_loss=arrays["seed_loss"],
        info=info,
        seconds=time.perf_counter() - started,
        sweep=done.summary,
    )


def write_files(diagram: Diagram, tmp: Path, argv: list[str]) -> list[str]:
    """Every file of the run into ``tmp`` (summary.json last); return their names."""
    from verify import plots  # matplotlib only when writing

    _save_maps(diagram, tmp)
    names = ["config.json", "maps.npz", "maps.csv"]
    job.write_json(tmp, "config.json", _config(diagram, argv))
    fig = plots.phase_diagram(
        diagram.importance,
        diagram.density,
        diagram.empirical,
        exact=diagram.exact,
        candidate=diagram.candidate,
        candidate_curve=_candidate_curve(diagram),
        exact_curve=_exact_curve(diagram),
        labels=diagram.labels,
        title=_title(diagram),
        footer=_footer(diagram),
    )
    names += job.save_figure(fig, tmp, "phase_diagram")
    names.insert(0, "summary.json")
    job.write_json(tmp, "summary.json", summarize(diagram, files=names))
    return names


JOB: job.Job[DiagramSettings, Diagram] = job.Job(
    prog=PROG,
    parser=build_parser,
    settings=settings_from_args,
    memory=memory_estimate,
    compute=compute,
    write=write_files,
    report=lambda diagram, out, files: report(diagram, out, files),
    failure_hint="lower --lr (or pick another --preset)",
    keep=kept_entries,
)


def main(argv: list[str] | None = None) -> int:
    """Run the main job; returns the exit code (0 done, 1 failed, 2 bad options with nothing
    written, 130 interrupted; see :mod:`verify.job.runner`)."""
    return job.run(JOB, argv)


def _candidate_curve(diagram: Diagram) -> tuple[np.ndarray, np.ndarray]:
    """The paper's predicted boundary on a fine grid, for the figure."""
    from theory import n2m1, n3m2

    r = np.geomspace(diagram.importance[0], diagram.importance[-1], 400)
    if diagram.settings.n_features == 2:
        return r, np.asarray(n2m1.candidate_boundary(r), dtype=float)
    return r, np.asarray(n3m2.phase_boundary_density(r), dtype=float)


def _exact_curve(diagram: Diagram) -> tuple[np.ndarray, np.ndarray] | None:
    """The exact boundary at the grid's importances (where defined), for the figure."""
    p_star = np.asarray(diagram.boundary["exact"], dtype=float)
    ok = np.isfinite(p_star)
    return (diagram.importance[ok], p_star[ok]) if ok.sum() >= 2 else None


def _title(diagram: Diagram) -> str:
    s = diagram.settings
    dims = "dimension" if s.n_hidden == 1 else "dimensions"
    return (
        f"Phase diagram, n = {s.n_features} features in m = {s.n_hidden} {dims}: theory vs trained"
    )


def _footer(diagram: Diagram) -> str:
    """The run's settings, for the figure's footer."""
    s = diagram.settings
    rule = "lowest loss kept" if s.selection == "best" else "worst dropped, majority"
    return (
        f"{s.resolution}×{s.resolution} cells, {s.seeds} seeds per cell ({rule}), "
        f"{s.steps} steps, {s.optimizer} lr {s.lr:g} {s.schedule}, batch {s.batch}, seed {s.seed}"
    )


def _save_maps(diagram: Diagram, tmp: Path) -> None:
    arrays: dict[str, Any] = {
        "importance": diagram.importance,
        "density": diagram.density,
        "empirical": diagram.empirical,
        "candidate": diagram.candidate,
        "vote_share": diagram.vote_share,
        "seed_labels": diagram.seed_labels,
        "selection_loss": diagram.selection_loss,
        "W": diagram.W,
        "b": diagram.b,
    }
    excess = diagram.diagnostics.get("excess_loss", {}).get("relative")
    optional = {
        "exact": diagram.exact,
        "exact_loss": diagram.exact_loss,
        "exact_W": diagram.exact_W,
        "exact_b": diagram.exact_b,
        "excess_loss": excess,
    }
    arrays.update({k: v for k, v in optional.items() if v is not None})
    np.savez_compressed(tmp / "maps.npz", **arrays)
    with (tmp / "maps.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["density", "importance", "empirical", "candidate", "exact", "vote_share",
             "best_loss", "exact_loss"]
        )  # fmt: skip
        best = diagram.selection_loss.min(axis=-1)
        for i, p in enumerate(diagram.density):
            for j, r in enumerate(diagram.importance):
                exact = "" if diagram.exact is None else diagram.exact[i, j]
                optimum = "" if diagram.exact_loss is None else f"{diagram.exact_loss[i, j]:.10g}"
                row = [f"{p:.6g}", f"{r:.6g}", diagram.empirical[i, j], diagram.candidate[i, j]]
                writer.writerow(
                    [*row, exact, f"{diagram.vote_share[i, j]:.3f}", f"{best[i, j]:.10g}", optimum]
                )


def summarize(diagram: Diagram, *, files: list[str]) -> dict[str, Any]:
    """The content of summary.json (keys documented in docs/phase_boundary.md)."""
    s, bd = diagram.settings, diagram.boundary
    errors = {"candidate": bd["error_candidate"], "exact": bd["error_exact"]}
    inside = bd["censored"] == ""

    def mean_abs(err: Any) -> float | None:
        if err is None:
            return None
        ok = inside & np.isfinite(err)
        return float(np.mean(np.abs(err[ok]))) if ok.any() else None

    training = s.train_config()
    return job.json_ready(
        {
            "schema": SCHEMA,
            "n_features": s.n_features,
            "n_hidden": s.n_hidden,
            "grid": {"importance": diagram.importance, "density": diagram.density},
            "maps": {
                "empirical": diagram.empirical,
                "candidate": diagram.candidate,
                "exact": diagram.exact,
            },
            "agreement": diagram.agreement,
            "kappa": diagram.kappa,
            "boundary": {
                "phase": bd["phase"],
                "importance": diagram.importance,
                "empirical": bd["empirical"],
                "censored": bd["censored"],
                "exact": bd["exact"],
                "candidate": bd["candidate"],
                "error_decades": errors,
                "mean_abs_error_decades": {k: mean_abs(v) for k, v in errors.items()},
                "spread_decades": bd["spread"],
                "grid_half_cell_decades": bd["grid_half_cell"],
            },
            "counts": {"empirical": dict(Counter(diagram.empirical.ravel().tolist()))},
            "diagnostics": _diagnostics(diagram),
            "labels": list(diagram.labels),
            "train": {
                "seeds": s.seeds,
                "steps": s.steps,
                "batch": s.batch,
                "optimizer": s.optimizer,
                "lr": s.lr,
                "schedule": s.schedule,
                "weight_decay": training.weight_decay,
                "device": diagram.train_info["device"],
                "dtype": diagram.train_info["dtype"],
                "workers": diagram.train_info["workers"],
                "seed": s.seed,
                "selection": _selection_text(diagram),
                "selection_loss": diagram.selection_loss_kind,
            },
            "sweep": diagram.sweep,
            "runtime_s": diagram.timings["total_s"],
            "timings": diagram.timings,
            "files": files,
            "versions": job.versions(),
        }
    )


def _diagnostics(diagram: Diagram) -> dict[str, Any]:
    """summary.json's ``diagnostics``: the per-cell arrays stay in maps.npz."""
    d = diagram.diagnostics
    excess = {k: v for k, v in d.get("excess_loss", {}).items() if k != "relative"}
    return {
        "excess_loss": excess or None,
        "candidates_differ": d.get("candidates_differ"),
        "threshold_sensitivity": d.get("threshold_sensitivity"),
    }


def _selection_text(diagram: Diagram) -> str:
    k = diagram.settings.seeds
    if diagram.settings.selection == "best":
        return f"best of {k} seeds per cell (lowest loss)"
    return f"{k} seeds per cell, the highest-loss one discarded, majority label of the rest"


def _config(diagram: Diagram, argv: list[str]) -> dict[str, Any]:
    from verify.diagram import cell_features

    s = diagram.settings
    from toysup import ModelConfig

    return {
        "schema": SCHEMA,
        "command": [*PROG.split(), *argv],
        "settings": s.to_dict(),
        "features": cell_features(s).to_dict(),
        "model": ModelConfig(n_features=s.n_features, n_hidden=s.n_hidden).to_dict(),
        "training": s.train_config().to_dict(),
    }


def report(diagram: Diagram, out: Path, files: list[Path]) -> str:
    """The short table printed at the end of a run."""
    s, bd = diagram.settings, diagram.boundary
    r, p = diagram.importance, diagram.density
    inside = bd["censored"] == ""
    lines = [
        f"phase diagram n={s.n_features}, m={s.n_hidden}: {p.size}×{r.size} cells "
        f"(importance {r[0]:g}–{r[-1]:g}, density {p[0]:g}–{p[-1]:g}), "
        f"{_selection_text(diagram)}, selected by {diagram.selection_loss_kind}; "
        f"{s.steps} steps, batch {s.batch}, {s.optimizer} lr {s.lr:g} {s.schedule}, "
        f"{diagram.train_info['device']}, {diagram.timings['total_s']:.1f} s",
        "",
        f"{'theory':<28}{'agreement':>10}{'kappa':>8}   boundary error, decades (mean |.| ± SD)",
    ]
    rows = [("exact landscape optimum", "exact"), ("paper's candidates", "candidate")]
    spread = bd["spread"]
    for name, key in rows:
        agreement = diagram.agreement[key]
        if agreement is None:
            continue
        err = bd[f"error_{key}"]
        ok = inside & np.isfinite(err)
        mean_err = float(np.mean(np.abs(err[ok]))) if ok.any() else float("nan")
        sd = float(np.mean(spread[inside])) if spread is not None and inside.any() else float("nan")
        kappa = diagram.kappa[key]
        lines.append(
            f"{name:<28}{100 * agreement:>9.1f}%"
            f"{'   n/a' if kappa is None or not math.isfinite(kappa) else f'{kappa:>8.3f}'}"
            f"   {mean_err:.3f} ± {sd:.3f}  (grid half-cell {bd['grid_half_cell']:.3f})"
        )
    counts = Counter(diagram.empirical.ravel().tolist())
    lines += _diagnostic_lines(diagram)
    lines += [
        "",
        "empirical phases: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()),
        f"files in {out}/: " + ", ".join(f.name for f in files),
    ]
    if diagram.sweep is not None:
        sw = diagram.sweep
        lines.append(
            f"training: {sw['tasks']} tasks ({sw['tasks_run']} run, {sw['tasks_reused']} reused) "
            f"on {sw['scheduler']}, store {sw['store']}"
        )
    return "\n".join(lines)


def _diagnostic_lines(diagram: Diagram) -> list[str]:
    d = diagram.diagnostics
    lines = []
    differ = d.get("candidates_differ")
    if differ and differ["cells"]:
        lines.append(
            f"where the candidates differ from the exact optimum ({differ['cells']} cells): "
            f"trained agrees with exact {100 * differ['exact']:.1f}%, "
            f"with the candidates {100 * differ['candidate']:.1f}%"
        )
    excess = d.get("excess_loss")
    if excess:
        lines.append(
            f"best seed above the exact optimum: median {excess['median']:.1e}, "
            f"max {excess['max']:.2g}; {excess['cells_above']} cells above "
            f"{excess['tolerance']:.0%}, {excess['cells_below']} below the optimum"
        )
    sens = d.get("threshold_sensitivity")
    if sens:
        pairs = zip(sens["thresholds"], sens["agreement_exact"])
        lines.append(
            "agreement with exact by representation threshold: "
            + ", ".join(f"{t:g}: {100 * a:.1f}%" for t, a in pairs)
        )
        robust = sens["agreement_exact_robust"]
        if sens["fragile_cells"] and robust is not None:
            lines.append(
                f"{sens['fragile_cells']} cells with an exact label that changes for thresholds "
                f"in [{sens['fragile_range'][0]:g}, {sens['fragile_range'][1]:g}]; agreement on "
                f"the rest {100 * robust:.1f}%"
            )
    return ["", *lines] if lines else []


if __name__ == "__main__":
    sys.exit(main())
