"""The job's files (``summary.json`` last), its summary and the table printed at the end."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from verify import job
from verify.sae import SEED_STATISTICS
from verify.sae_job import figures
from verify.sae_job.control import ControlScore
from verify.sae_job.findings import findings
from verify.sae_job.run import RecoveryRun, SettingScore, TargetRun, basis_alignment, summary_rows

SCHEMA = 1


def write_files(run: RecoveryRun, tmp: Path, argv: list[str], prog: str) -> list[str]:
    """Every file of the run into ``tmp`` (summary.json last); return their names."""
    names = ["config.json", "maps.npz", "maps.csv"]
    job.write_json(tmp, "config.json", config(run, argv, prog))
    _save_maps(run, tmp)
    names += job.save_figure(figures.recovery_vs_density(run), tmp, "recovery_vs_density")
    names += job.save_figure(figures.recovery_vs_l0(run), tmp, "recovery_vs_l0")
    if any(target.control for target in run.targets):
        names += job.save_figure(figures.control_figure(run), tmp, "control")
    names.insert(0, "summary.json")
    job.write_json(tmp, "summary.json", summarize(run, files=names))
    return names


def config(run: RecoveryRun, argv: list[str], prog: str) -> dict[str, Any]:
    """The content of config.json: the command, the settings, and every toy model's and SAE's
    configuration (``toy`` and ``saes``: the primary toy model's; ``targets``: every one's)."""
    s = run.settings

    def toy_config(t: TargetRun) -> dict[str, Any]:
        return {
            "features": t.toy.features.to_dict(),
            "model": t.toy.model.to_dict(),
            "training": t.toy.training.to_dict(),
        }

    return {
        "command": [*prog.split(), *argv],
        "settings": s.to_dict(),
        "toy": toy_config(run.primary),
        "sae_training": s.sae_training().to_dict(),
        "saes": [c.to_dict() for c in s.sae_configs(run.primary.name)],
        "control_saes": [c.to_dict() for c in s.reference_configs()] if s.control else [],
        "targets": {
            t.name: {
                "toy": toy_config(t),
                "saes": [c.to_dict() for c in s.sae_configs(t.name)],
            }
            for t in run.targets
        },
    }


def _setting_arrays(
    prefix: str, items: list[SettingScore] | list[ControlScore]
) -> dict[str, np.ndarray]:
    """Per-setting arrays stacked over settings: (settings, C, S[, ...])."""
    if not items:
        return {}
    out: dict[str, np.ndarray] = {f"{prefix}labels": np.array([i.config.label for i in items])}
    for name in SEED_STATISTICS:
        out[f"{prefix}{name}"] = np.stack([i.score.seeds(name) for i in items])
    out[f"{prefix}feature_cosine"] = np.stack([i.score.feature_cosine for i in items])
    out[f"{prefix}recovered_at"] = np.stack([i.score.seed_recovered_at for i in items])
    return out


def _target_arrays(t: TargetRun, prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}represented": t.represented,
        f"{prefix}toy_W": np.asarray(t.toy.W),
        f"{prefix}toy_b": np.asarray(t.toy.b),
        f"{prefix}toy_loss": np.asarray(t.toy.loss),
        f"{prefix}basis_alignment": basis_alignment(t.toy),
        f"{prefix}decodable": np.array([d.n_decodable for d in t.decodability]),
        f"{prefix}decodability_p_value": np.array([d.p_value for d in t.decodability]),
        **_setting_arrays(prefix, t.results),
        **_setting_arrays(f"{prefix}control_", t.control),
    }


def _save_maps(run: RecoveryRun, tmp: Path) -> None:
    """maps.npz: the primary toy model's arrays unprefixed (as in schema 1), and every toy
    model's under ``<name>_`` (``basic_recovered``, ``privileged_control_mcc``, ...)."""
    arrays: dict[str, Any] = {
        "density": run.density,
        "thresholds": run.primary.results[0].score.thresholds,
        **_target_arrays(run.primary, ""),
    }
    for t in run.targets:
        arrays |= _target_arrays(t, f"{t.name}_")
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


_CONTROL_MODEL = {
    "none": "random orthogonal W with n = m = the toy model's represented count, same density "
    "(no superposition)",
    "relu": "identity W with the hidden ReLU (h = x), n = m = the toy model's represented count, "
    "same density (no superposition, features on the neurons)",
}


def _target_summary(run: RecoveryRun, target: TargetRun) -> dict[str, Any]:
    """The schema-1 blocks (``toy``, ``saes``, ``control``, ``findings``) of one toy model, with
    its hidden activation, model and timings."""
    return {
        "hidden_activation": target.hidden_activation,
        "model": target.toy.model.to_dict(),
        "toy": {
            "represented": target.represented,
            "loss": target.toy.loss,
            "basis_alignment": basis_alignment(target.toy),
            "decodable": [d.n_decodable for d in target.decodability],
            "decodability_reject": [d.reject for d in target.decodability],
        },
        "saes": [_setting_summary(item) for item in target.results],
        "control": {
            "model": _CONTROL_MODEL[target.hidden_activation],
            "saes": [_setting_summary(item) for item in target.control],
        },
        "findings": findings(run, target),
        "timings": target.timings,
    }


def summarize(run: RecoveryRun, *, files: list[str]) -> dict[str, Any]:
    """The content of summary.json (keys documented in docs/sae.md): the schema-1 fields describe
    the primary (first) toy model, named by ``toy_model``; ``targets`` holds the same blocks for
    every toy model of the run."""
    s = run.settings
    sae_training = s.sae_training()
    first = run.primary
    targets = {t.name: _target_summary(run, t) for t in run.targets}
    primary = targets[first.name]
    return job.json_ready(
        {
            "schema": SCHEMA,
            "n_features": s.n_features,
            "n_hidden": s.n_hidden,
            "toy_model": first.name,
            "hidden_activation": first.hidden_activation,
            "toy_models": [t.name for t in run.targets],
            "grid": {"density": run.density},
            "toy": primary["toy"],
            "threshold": s.threshold,
            "level": s.level,
            "saes": primary["saes"],
            "control": primary["control"],
            "findings": primary["findings"],
            "targets": targets,
            "train": {
                "toy": {
                    "steps": s.toy_steps,
                    "seeds": s.toy_seeds,
                    "lr": s.toy_lr,
                    "device": first.toy.info.get("device"),
                },
                "sae": {
                    "steps": s.steps,
                    "batch": s.batch,
                    "lr": s.lr,
                    "seeds": s.seeds,
                    "optimizer": sae_training.optimizer,
                    "schedule": sae_training.schedule,
                    "device": first.results[0].sae.info.get("device"),
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
    """The table printed at the end: per toy model and density, the represented and decodable
    counts and, for the reference setting of each kind, features recovered (mean [interval])
    and the cause of any failure."""
    s = run.settings
    found = {t.name: findings(run, t) for t in run.targets}
    pct = round(100 * s.level)
    settings_count = sum(len(t.results) for t in run.targets)
    lines = [
        f"SAE recovery, n={s.n_features}, m={s.n_hidden}: {settings_count} SAE settings × "
        f"{len(s.densities)} densities × {s.seeds} seeds, {s.steps} steps; recovered = "
        f"matched cosine ≥ {s.threshold:g}; [{pct}% interval over seeds]; "
        f"{run.timings.get('total_s', float('nan')):.1f} s",
    ]
    for target in run.targets:
        f = found[target.name]
        ref = f["reference"]
        h = "h = ReLU(W x)" if target.hidden_activation == "relu" else "h = W x"
        lines += [
            "",
            f"{target.name} toy model ({h}):",
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
                f"{p:>8.3g} {target.represented[i]:>5} {f['decodable'][i]:>6}  " + "  ".join(cells)
            )
        for k in ref:
            lines.append(
                f"{ref[k]['setting']}: agrees with the decodability test on 'more than m "
                f"features' in {100 * ref[k]['agreement_with_decodability']:.0f}% of densities"
            )
    lines.append(f"files in {out}/: " + ", ".join(p.name for p in files))
    return "\n".join(lines)
