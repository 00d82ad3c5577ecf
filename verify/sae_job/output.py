"""The job's files (``summary.json`` last), its summary and the table printed at the end."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from verify import job
from verify.sae_job import figures
from verify.sae_job.control import ControlScore
from verify.sae_job.findings import findings
from verify.sae_job.run import RecoveryRun, SettingScore, summary_rows

SCHEMA = 1


def write_files(run: RecoveryRun, tmp: Path, argv: list[str], prog: str) -> list[str]:
    """Every file of the run into ``tmp`` (summary.json last); return their names."""
    names = ["config.json", "maps.npz", "maps.csv"]
    job.write_json(tmp, "config.json", config(run, argv, prog))
    _save_maps(run, tmp)
    names += job.save_figure(figures.recovery_vs_density(run), tmp, "recovery_vs_density")
    names += job.save_figure(figures.recovery_vs_l0(run), tmp, "recovery_vs_l0")
    if run.control:
        names += job.save_figure(figures.control_figure(run), tmp, "control")
    names.insert(0, "summary.json")
    job.write_json(tmp, "summary.json", summarize(run, files=names))
    return names


def config(run: RecoveryRun, argv: list[str], prog: str) -> dict[str, Any]:
    s = run.settings
    return {
        "schema": SCHEMA,
        "command": [*prog.split(), *argv],
        "settings": s.to_dict(),
        "toy": {
            "features": run.toy.features.to_dict(),
            "model": run.toy.model.to_dict(),
            "training": run.toy.training.to_dict(),
        },
        "sae_training": s.sae_training().to_dict(),
        "saes": [c.to_dict() for c in s.sae_configs()],
        "control_saes": [c.to_dict() for c in s.reference_configs()] if s.control else [],
    }


def _setting_arrays(
    prefix: str, items: list[SettingScore] | list[ControlScore]
) -> dict[str, np.ndarray]:
    """Per-setting arrays stacked over settings: (settings, C, S[, ...])."""
    if not items:
        return {}
    out: dict[str, np.ndarray] = {f"{prefix}labels": np.array([i.config.label for i in items])}
    for name in ("mcc", "mmcs", "recovered", "l0", "dead", "dense", "fvu", "shrinkage",
                 "loss_recovered", "spliced_loss"):  # fmt: skip
        out[f"{prefix}{name}"] = np.stack([i.score.seeds(name) for i in items])
    out[f"{prefix}feature_cosine"] = np.stack([i.score.feature_cosine for i in items])
    out[f"{prefix}recovered_at"] = np.stack([i.score.seed_recovered_at for i in items])
    return out


def _save_maps(run: RecoveryRun, tmp: Path) -> None:
    arrays: dict[str, Any] = {
        "density": run.density,
        "represented": run.represented,
        "toy_W": np.asarray(run.toy.W),
        "toy_b": np.asarray(run.toy.b),
        "toy_loss": np.asarray(run.toy.loss),
        "decodable": np.array([d.n_decodable for d in run.decodability]),
        "decodability_p_value": np.array([d.p_value for d in run.decodability]),
        "thresholds": run.results[0].score.thresholds,
        **_setting_arrays("", run.results),
        **_setting_arrays("control_", run.control),
    }
    np.savez_compressed(tmp / "maps.npz", **arrays)
    rows = summary_rows(run)
    with (tmp / "maps.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})


def _setting_summary(item: SettingScore | ControlScore) -> dict[str, Any]:
    s = item.score
    out: dict[str, Any] = {"label": item.config.label, "config": item.config.to_dict()}
    if isinstance(item, ControlScore):
        out["control_n"] = s.represented  # the control of configuration c has n = m = r_c
    for name in ("recovered", "mcc", "mmcs", "l0", "fvu", "shrinkage", "loss_recovered"):
        ci = s.interval(name)
        out[name] = {"mean": s.mean(name), "low": ci[:, 0], "high": ci[:, 1]}
    out["recovered"]["median"] = s.recovered
    out["dead"] = {"median": s.dead, "mean": s.mean("dead")}
    out["dense"] = {"median": s.dense, "mean": s.mean("dense")}
    out["recovered_at"] = {
        f"{t:g}": s.seed_recovered_at[:, :, j].mean(1) for j, t in enumerate(s.thresholds)
    }
    saes = [part[1] for part in item.parts] if isinstance(item, ControlScore) else [item.sae]
    out["runtime_s"] = sum(sae.info.get("runtime_s", 0.0) for sae in saes)
    return out


def summarize(run: RecoveryRun, *, files: list[str]) -> dict[str, Any]:
    """The content of summary.json (keys documented in docs/sae.md)."""
    s = run.settings
    sae_training = s.sae_training()
    return job.json_ready(
        {
            "schema": SCHEMA,
            "n_features": s.n_features,
            "n_hidden": s.n_hidden,
            "grid": {"density": run.density},
            "toy": {
                "represented": run.represented,
                "loss": run.toy.loss,
                "decodable": [d.n_decodable for d in run.decodability],
                "decodability_reject": [d.reject for d in run.decodability],
            },
            "threshold": s.threshold,
            "level": s.level,
            "saes": [_setting_summary(item) for item in run.results],
            "control": {
                "model": "random orthogonal W with n = m = the toy model's represented count, "
                "same density (no superposition)",
                "saes": [_setting_summary(item) for item in run.control],
            },
            "findings": findings(run),
            "train": {
                "toy": {
                    "steps": s.toy_steps,
                    "seeds": s.toy_seeds,
                    "lr": s.toy_lr,
                    "device": run.toy.info.get("device"),
                },
                "sae": {
                    "steps": s.steps,
                    "batch": s.batch,
                    "lr": s.lr,
                    "seeds": s.seeds,
                    "optimizer": sae_training.optimizer,
                    "schedule": sae_training.schedule,
                    "device": run.results[0].sae.info.get("device"),
                },
                "seed": s.seed,
            },
            "runtime_s": run.timings.get("total_s"),
            "timings": run.timings,
            "files": files,
            "versions": job.versions(),
        }
    )


def report(run: RecoveryRun, out: Path, files: list[Path]) -> str:
    """The table printed at the end: per density, the toy model's represented and decodable
    counts and, for the reference setting of each kind, features recovered (mean [interval])
    and the cause of any failure."""
    s = run.settings
    f = findings(run)
    ref = f["reference"]
    pct = round(100 * s.level)
    lines = [
        f"SAE recovery, n={s.n_features}, m={s.n_hidden}: {len(run.results)} SAE settings × "
        f"{s.densities.__len__()} densities × {s.seeds} seeds, {s.steps} steps; recovered = "
        f"matched cosine ≥ {s.threshold:g}; [{pct}% interval over seeds]; "
        f"{run.timings.get('total_s', float('nan')):.1f} s",
        "",
        f"{'density':>8} {'repr.':>5} {'decod.':>6}  "
        + "  ".join(f"{ref[k]['setting']:>30}" for k in ref),
    ]
    for i, p in enumerate(run.density):
        cells = []
        for k in ref:
            mean, ci = ref[k]["recovered_mean"][i], ref[k]["recovered_interval"][i]
            cause = ref[k]["cause"][i]
            tag = "" if cause == "recovers" else f" ({cause})"
            cells.append(f"{mean:5.1f} [{ci[0]:4.1f}, {ci[1]:4.1f}]{tag}".rjust(30))
        lines.append(
            f"{p:>8.3g} {run.represented[i]:>5} {f['decodable'][i]:>6}  " + "  ".join(cells)
        )
    lines.append("")
    for k in ref:
        lines.append(
            f"{ref[k]['setting']}: agrees with the decodability test on 'more than m features' "
            f"in {100 * ref[k]['agreement_with_decodability']:.0f}% of densities"
        )
    lines.append(f"files in {out}/: " + ", ".join(p.name for p in files))
    return "\n".join(lines)
