"""Files and table of ``python -m verify.control`` (contract: docs/control_theory.md, "The job").

``write_files`` writes into the job's temporary directory, which :mod:`verify.job` swaps into
place, so the output directory holds either the previous run or the complete new one:

- ``summary.json`` (written last): ``schema``, ``penalties``, ``maps`` {λ: {``empirical``,
  ``exact``}}, ``agreement`` {λ}, ``kappa`` {λ}, ``boundary`` {λ: {``importance``, ``exact``,
  ``empirical``, ``empirical_sd``, ...}}, ``shift`` {λ}, ``loss_cost`` {λ}, ``activations``,
  ``wide``, ``train``, ``runtime_s``, ``timings``, ``files``, ``versions``; per-λ keys are
  ``repr(float(λ))``;
- ``config.json``: the command, the settings, the training configurations;
- ``maps.npz`` / ``maps.csv``: every n = 2 map (trained and exact per λ, per activation);
- ``wide.npz`` / ``wide.csv``: the n = 20 sweep;
- figures (PNG, PDF, SVG): ``phase_maps``, ``boundary_shift``, ``activations``, ``pareto``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from verify import job
from verify.control_job import findings
from verify.control_job.options import PROG
from verify.control_job.run import ControlResult
from verify.control_job.training import plan
from verify.control_job.wide import SUPERPOSITION_DIMENSIONALITY, pareto_front

SCHEMA = 1
NO_EXACT_THEORY = (
    "no exact theory: theory.n2m1 is exact for the ReLU output only; for this activation the "
    "trained map is compared with the ReLU's exact map as a reference, not as a prediction"
)


def key(lam: float) -> str:
    """The JSON key of a per-λ entry: ``repr(float(λ))``."""
    return repr(float(lam))


def write_files(result: ControlResult, tmp: Path, argv: list[str]) -> list[str]:
    """Every file of the run into ``tmp`` (summary.json last); return their names."""
    from verify.control_job import figures  # matplotlib only when writing

    names = ["config.json", "maps.npz", "maps.csv", "wide.npz", "wide.csv"]
    job.write_json(tmp, "config.json", config(result, argv))
    _save_maps(result, tmp)
    _save_wide(result, tmp)
    names += job.save_figure(figures.phase_maps(result), tmp, "phase_maps")
    names += job.save_figure(figures.boundary_shift(result), tmp, "boundary_shift")
    names += job.save_figure(figures.activations(result), tmp, "activations")
    names += job.save_figure(figures.pareto(result), tmp, "pareto")
    names.insert(0, "summary.json")
    job.write_json(tmp, "summary.json", summarize(result, files=names))
    return names


def _per_lambda(values: Mapping[float, Any]) -> dict[str, Any]:
    return {key(lam): v for lam, v in values.items()}


def summarize(result: ControlResult, *, files: list[str]) -> dict[str, Any]:
    """The content of summary.json."""
    s = result.settings
    r = result.importance
    boundary = {}
    for lam, trained in result.trained.items():
        boundary[key(lam)] = {
            "importance": r,
            "exact": result.exact[lam].boundary,
            "exact_on_grid": result.exact[lam].grid_boundary,
            "empirical": trained.boundary,
            "empirical_sd": trained.boundary_sd,
            "censored": trained.censored,
        }
    relu_exact = result.exact[0.0].labels
    activations: dict[str, Any] = {}
    for name, diagram in result.activations.items():
        activations[name] = {
            "map": diagram.empirical,
            "boundary": {
                "importance": r,
                "empirical": diagram.boundary,
                "empirical_sd": diagram.boundary_sd,
                "censored": diagram.censored,
            },
            "agreement_with_relu_exact": float(np.mean(diagram.empirical == relu_exact)),
            "agreement_with_relu_trained": float(
                np.mean(diagram.empirical == result.trained[0.0].empirical)
            ),
            "superposition_cells": int(np.sum(diagram.empirical == "superposition")),
            "exact_theory": "theory.n2m1 (exact)" if name == "relu" else NO_EXACT_THEORY,
            "selection": diagram.selection_kind,
        }
    front = set(pareto_front(result.wide))
    wide = {
        "n_features": 20,
        "n_hidden": 5,
        "importance": s.wide_importance(),
        "penalties": list(s.wide_penalties),
        "densities": list(s.wide_densities),
        "points": [dict(point.to_dict(), pareto=i in front) for i, point in enumerate(result.wide)],
        "rules": {
            "represented": "||W_i|| > 0.5",
            "in_superposition": f"represented and dimensionality D_i < "
            f"{SUPERPOSITION_DIMENSIONALITY:g}",
            "kept_seed": "lowest penalised loss (Monte Carlo, toysup.evaluate)",
            "alpha": 0.01,
        },
    }
    train_cfg = s.train_config(seeds=s.seeds)
    return job.json_ready(
        {
            "schema": SCHEMA,
            "penalty": "l1_hidden",
            "penalties": list(s.penalties),
            "grid": {"importance": r, "density": result.density},
            "labels": ["not_represented", "dedicated", "superposition", "confused", "none"],
            "maps": _per_lambda(
                {
                    lam: {"empirical": d.empirical, "exact": result.exact[lam].labels}
                    for lam, d in result.trained.items()
                }
            ),
            "agreement": _per_lambda({lam: c["agreement"] for lam, c in result.comparison.items()}),
            "kappa": _per_lambda({lam: c["kappa"] for lam, c in result.comparison.items()}),
            "boundary": boundary,
            "shift": _per_lambda({lam: sh.to_dict() for lam, sh in result.shift.items()}),
            "grid_cell_decades": findings.cell_decades(result.density),
            "loss_cost": _per_lambda(result.loss_cost),
            "activations": activations,
            "wide": wide,
            "train": {
                "seeds": s.seeds,
                "wide_seeds": s.wide_seeds,
                "steps": s.steps,
                "batch": s.batch,
                "optimizer": s.optimizer,
                "lr": s.lr,
                "schedule": s.schedule,
                "weight_decay": train_cfg.weight_decay,
                "seed": s.seed,
                "selection": f"best of {s.seeds} seeds per cell (lowest penalised loss)",
                "selection_loss": result.trained[0.0].selection_kind,
                "device": result.train_info["device"],
                "dtype": result.train_info["dtype"],
                "workers": result.train_info["workers"],
                "paths": result.train_info["paths"],
            },
            "sweep": result.sweep,
            "runtime_s": result.timings["total_s"],
            "timings": result.timings,
            "files": files,
            "versions": job.versions(),
        }
    )


def config(result: ControlResult, argv: list[str]) -> dict[str, Any]:
    """The content of config.json: the command, the settings and every training task."""
    return {
        "schema": SCHEMA,
        "command": [*PROG.split(), *argv],
        "settings": result.settings.to_dict(),
        "tasks": [
            {
                "name": task.name,
                "features": task.features.to_dict(),
                "model": task.model.to_dict(),
                "training": task.training.to_dict(),
            }
            for task in plan(result.settings)
        ],
    }


def _save_maps(result: ControlResult, tmp: Path) -> None:
    arrays: dict[str, Any] = {"importance": result.importance, "density": result.density}
    arrays["penalties"] = np.asarray(result.settings.penalties)
    for i, (lam, trained) in enumerate(result.trained.items()):
        exact = result.exact[lam]
        arrays[f"l1_hidden_{i}_empirical"] = trained.empirical
        arrays[f"l1_hidden_{i}_exact"] = exact.labels
        arrays[f"l1_hidden_{i}_exact_loss"] = exact.loss
        arrays[f"l1_hidden_{i}_loss"] = trained.loss
        arrays[f"l1_hidden_{i}_seed_labels"] = trained.seed_labels
        arrays[f"l1_hidden_{i}_selection_loss"] = trained.selection_loss
        arrays[f"l1_hidden_{i}_W"] = trained.W
        arrays[f"l1_hidden_{i}_b"] = trained.b
    for name, diagram in result.activations.items():
        arrays[f"activation_{name}_empirical"] = diagram.empirical
        arrays[f"activation_{name}_W"] = diagram.W
        arrays[f"activation_{name}_b"] = diagram.b
    np.savez_compressed(tmp / "maps.npz", **arrays)
    with (tmp / "maps.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["map", "l1_hidden", "density", "importance", "label", "loss"])
        for lam, trained in result.trained.items():
            rows = (("trained_relu", trained.empirical, trained.loss),
                    ("exact_relu", result.exact[lam].labels, result.exact[lam].loss))  # fmt: skip
            for name, labels, loss in rows:
                _map_rows(writer, name, lam, result, labels, loss)
        for name, diagram in result.activations.items():
            if name != "relu":
                _map_rows(writer, f"trained_{name}", 0.0, result, diagram.empirical, diagram.loss)


def _map_rows(
    writer: Any, name: str, lam: float, result: ControlResult, labels: Any, loss: Any
) -> None:
    for i, p in enumerate(result.density):
        for j, r in enumerate(result.importance):
            writer.writerow([name, f"{lam:g}", f"{p:.6g}", f"{r:.6g}", labels[i, j],
                             f"{loss[i, j]:.6g}"])  # fmt: skip


def _save_wide(result: ControlResult, tmp: Path) -> None:
    points = result.wide
    np.savez_compressed(
        tmp / "wide.npz",
        l1_hidden=np.array([pt.l1_hidden for pt in points]),
        density=np.array([pt.density for pt in points]),
        represented=np.stack([pt.represented for pt in points]),
        in_superposition=np.stack([pt.in_superposition for pt in points]),
        loss=np.stack([pt.loss for pt in points]),
        loss_penalized=np.stack([pt.loss_penalized for pt in points]),
        best=np.array([pt.best for pt in points]),
        W=np.stack([pt.W for pt in points]),
        b=np.stack([pt.b for pt in points]),
    )
    with (tmp / "wide.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["l1_hidden", "density", "represented", "in_superposition", "loss",
                         "loss_stderr", "superposition_test_p", "represented_count_test_p"])  # fmt: skip
        for pt in points:
            k = pt.best
            writer.writerow([f"{pt.l1_hidden:g}", f"{pt.density:g}", pt.represented[k],
                             pt.in_superposition[k], f"{pt.loss[k]:.6g}",
                             f"{pt.loss_stderr[k]:.3g}", f"{pt.loss_test_p:.3g}",
                             f"{pt.count_test_p:.3g}"])  # fmt: skip


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "n/a" if x is None or not math.isfinite(x) else format(x, spec)


def report(result: ControlResult, out: Path, files: list[Path]) -> str:
    """The table printed at the end of a run."""
    s = result.settings
    r, p = result.importance, result.density
    lines = [
        f"n=2, m=1 under l1_hidden: {p.size}x{r.size} cells (r {r[0]:g}-{r[-1]:g}, p "
        f"{p[0]:g}-{p[-1]:g}), best of {s.seeds} seeds, {s.steps} steps, {s.optimizer} lr "
        f"{s.lr:g} {s.schedule}, {result.train_info['device']}, "
        f"{result.timings['total_s']:.1f} s",
        "",
        f"{'lambda':>8}{'agreement':>11}{'kappa':>8}   shift, decades: trained ± unc. / exact"
        f"   loss cost (mean, exact / trained)",
    ]
    for lam in s.penalties:
        c, sh, cost = result.comparison[lam], result.shift[lam], result.loss_cost[lam]
        lines.append(
            f"{lam:>8g}{100 * c['agreement']:>10.1f}%{_fmt(c['kappa']):>8}   "
            f"{_fmt(sh.empirical_mean, '+.3f')} ± {_fmt(sh.uncertainty)} / "
            f"{_fmt(sh.exact_mean, '+.3f')}"
            f"   {_fmt(cost['exact'], '.4f')} / {_fmt(cost['trained'], '.4f')}"
        )
    lines += ["", "activations (no penalty): superposition cells; agreement with ReLU exact map"]
    relu_exact = result.exact[0.0].labels
    for name, d in result.activations.items():
        agree = float(np.mean(d.empirical == relu_exact))
        note = "" if name == "relu" else "  (no exact theory)"
        lines.append(
            f"  {name:<9}{int(np.sum(d.empirical == 'superposition')):>4} cells   "
            f"{100 * agree:.1f}%{note}"
        )
    lines += ["", "n=20, m=5: lambda, density -> represented, in superposition, loss, test p"]
    for pt in result.wide:
        k = pt.best
        lines.append(
            f"  {pt.l1_hidden:>6g} {pt.density:>6g} -> {pt.represented[k]:>2} "
            f"{pt.in_superposition[k]:>2}  {pt.loss[k]:.4f}  p={pt.loss_test_p:.2g}"
        )
    if result.sweep is not None:
        sw = result.sweep
        lines.append(
            f"training: {sw['tasks']} tasks ({sw['tasks_run']} run, {sw['tasks_reused']} reused) "
            f"on {sw['scheduler']}, store {sw['store']}"
        )
    lines += ["", f"files in {out}/: " + ", ".join(f.name for f in files)]
    return "\n".join(lines)
