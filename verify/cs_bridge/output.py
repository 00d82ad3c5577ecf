"""Files and table of ``python -m verify.compressed_sensing``.

``write_files`` writes into the job's temporary directory, which :mod:`verify.job` swaps into
place, so the output directory is either the previous run or the complete new one:

- ``summary.json``: schema, settings, per δ the transitions with intervals, ρ_W, the success
  curves, the represented features against the bounds (all numbers; NaN and inf are null);
- ``config.json``: the command and the settings, training configuration included;
- ``transition.png`` / ``.pdf`` / ``.svg``: the figure (:mod:`verify.cs_bridge.figure`);
- ``models.npz``: the learned W (``W_<d>``, (K, m_d, n)) and b (``b``, (D, K, n)).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from theory.compressed_sensing import BOUNDS
from verify.cs_bridge.transition import Transition
from verify.cs_bridge.types import BridgeResult
from verify.job import json_ready, save_figure, versions, write_json

SCHEMA = 1

INPUTS = (
    "exactly k non-zeros on a uniformly random support, values Uniform[0, 1); the model was "
    "trained at density p = k/n (uniform importance); rho = k/m"
)
CRITERIA_TEXT = {
    "l2": "relative l2 error ||x_hat - x||_2 <= tolerance * ||x||_2",
    "linf": "max_i |x_hat_i - x_i| <= tolerance (every feature within tolerance)",
    "exact": "||x_hat - x||_2 <= 1e-4 ||x||_2 (compressed sensing's exact recovery)",
}
DECODERS_TEXT = {
    "toy": "x' = ReLU(W^T W x + b), the trained model itself",
    "lp_learned": "min 1^T x s.t. W x = h, x >= 0 on the same learned W and the same draws "
    "(the first lp_trials); k <= m only",
    "lp_gaussian": "the same LP with fresh Gaussian N(0, 1/m) matrices, values all ones "
    "(theory.compressed_sensing.phase_transition_grid); k <= m only",
}


def write_files(result: BridgeResult, tmp: Path, argv: list[str]) -> list[str]:
    """Every file into ``tmp`` (summary.json last); return their names."""
    from verify.cs_bridge.figure import bridge_figure  # matplotlib only when writing

    names = ["summary.json", "config.json", "models.npz"]
    names += save_figure(bridge_figure(result), tmp, "transition")
    arrays: dict[str, Any] = {"b": result.b, "k": result.k, "m": result.m}
    arrays.update({f"W_{d}": W for d, W in enumerate(result.W)})
    np.savez_compressed(tmp / "models.npz", **arrays)
    write_json(tmp, "config.json", _config(result, argv))
    write_json(tmp, "summary.json", summarize(result, files=names))
    return names


def summarize(result: BridgeResult, *, files: list[str]) -> dict[str, Any]:
    """The content of summary.json (keys documented in docs/compressed_sensing.md)."""
    s = result.settings
    return json_ready(
        {
            "schema": SCHEMA,
            "settings": s.to_dict(),
            "n_features": s.n_features,
            "inputs": INPUTS,
            "tolerance": s.tolerance,
            "criteria": CRITERIA_TEXT,
            "decoders": DECODERS_TEXT,
            "trials": dict(result.trials),
            "grid": {"k": result.k, "density": result.density},
            "per_delta": [_per_delta(result, d) for d in range(len(result.m))],
            "bounds": {
                name: {
                    "kind": BOUNDS[name].kind,
                    "formula": BOUNDS[name].formula,
                    "decoder": BOUNDS[name].decoder,
                    "guarantee": BOUNDS[name].guarantee,
                    "source": BOUNDS[name].source,
                }
                for name in result.bounds
            },
            "train": {
                "seeds": s.seeds,
                "steps": s.steps,
                "batch": s.batch,
                "optimizer": "adamw",
                "lr": s.lr,
                "schedule": s.schedule,
                "importance": 1.0,
                "selection": f"best of {s.seeds} seeds by final loss",
                **result.train_info,
            },
            "sweep": result.sweep,
            "runtime_s": result.timings["total_s"],
            "timings": result.timings,
            "files": files,
            "versions": versions(),
        }
    )


def _per_delta(result: BridgeResult, d: int) -> dict[str, Any]:
    s = result.settings
    m, n = int(result.m[d]), s.n_features
    curves = {}
    for (decoder, criterion), counts in result.successes.items():
        row = counts[d]
        evaluated = row >= 0
        t = result.trials[decoder]
        curves[f"{decoder}/{criterion}"] = {
            "successes": [int(v) if ok else None for v, ok in zip(row, evaluated, strict=True)],
            "trials": t,
            "rate": [v / t if ok and t else None for v, ok in zip(row, evaluated, strict=True)],
        }
    features = {"represented": result.represented[d], "frobenius": result.frobenius[d]}
    max_ratio = {}
    for name, bound in result.bounds.items():
        entry = {}
        for key, count in features.items():
            ratio = count / bound[d]
            j = int(np.argmax(ratio))
            entry[key] = float(ratio[j])
            entry[f"{key}_density"] = float(result.density[j])
        max_ratio[name] = entry
    sup = float(result.superposition_rho[d])
    return {
        "delta": s.deltas[d],
        "delta_realized": float(result.delta[d]),
        "m": m,
        "rho": result.rho[d],
        "rho_w": {key: float(v[d]) for key, v in result.rho_w.items()},
        "transitions": {name: tr[d] for name, tr in result.transitions.items()},
        "superposition": {
            "rho": sup,
            "density": sup * m / n,
            "definition": "where ||W||_F^2 first falls below (m + n)/2 as density grows",
        },
        "curves": curves,
        "paired": {
            c: {
                "shared_trials": result.trials["lp_learned"],
                "toy_only": [int(v) if v >= 0 else None for v in pair[d, :, 0]],
                "lp_only": [int(v) if v >= 0 else None for v in pair[d, :, 1]],
            }
            for c, pair in result.paired.items()
        },
        "features": {
            "density": result.density,
            **features,
            "bounds": {name: bound[d] for name, bound in result.bounds.items()},
            "max_ratio": max_ratio,
            "exceeds": {
                name: result.density[features["represented"] > bound[d]]
                for name, bound in result.bounds.items()
            },
        },
    }


def _config(result: BridgeResult, argv: list[str]) -> dict[str, Any]:
    s = result.settings
    return json_ready(
        {
            "schema": SCHEMA,
            "command": ["python", "-m", "verify.compressed_sensing", *argv],
            "settings": s.to_dict(),
            "k": result.k,
            "m": result.m,
            "training": s.train_config(0).to_dict() | {"seed": "derived per delta from seed"},
        }
    )


def _interval(tr: Transition) -> str:
    if tr.censored == "below":
        return f"< {tr.high:.2f}" if math.isfinite(tr.high) else "below grid"
    if tr.censored == "above":
        return f"> {tr.low:.2f}" if math.isfinite(tr.low) else "above grid"
    if not math.isfinite(tr.rho):
        return "–"
    lo = f"{tr.low:.2f}" if math.isfinite(tr.low) else "…"
    hi = f"{tr.high:.2f}" if math.isfinite(tr.high) else "…"
    return f"{tr.rho:.2f} [{lo},{hi}]"


def report(result: BridgeResult, out: Path, files: list[Path]) -> str:
    """The short table printed at the end of a run."""
    s = result.settings
    tr = result.transitions
    k = result.k
    lines = [
        f"toy model vs compressed sensing: n = {s.n_features}, k = {k[0]}…{k[-1]} "
        f"({len(k)} densities), exactly-k inputs, τ = {s.tolerance:g}; best of {s.seeds} "
        f"seeds, {s.steps} steps; {result.train_info.get('device', '?')}, "
        f"{result.timings['total_s']:.0f} s",
        "ρ = k/m where recovery drops below 1/2 (95% CI):",
        f"{'δ':>5}{'m':>4}{'ρ_W+':>7}{'ρ_W±':>7}  {'Gauss LP':<17}{'LP on W':<17}"
        f"{'toy l2':<17}{'toy linf':<17}{'ρ_sup':>6}",
    ]
    for d in range(len(result.m)):
        cells = [
            _interval(tr[name][d])
            for name in ("lp_gaussian/exact", "lp_learned/exact", "toy/l2", "toy/linf")
        ]
        sup = result.superposition_rho[d]
        lines.append(
            f"{result.delta[d]:>5.2f}{result.m[d]:>4}{result.rho_w['nonnegative'][d]:>7.3f}"
            f"{result.rho_w['signed'][d]:>7.3f}  "
            + "".join(f"{c:<17}" for c in cells)
            + (f"{sup:>6.2f}" if math.isfinite(sup) else f"{'–':>6}")
        )
    lines += [
        "",
        "features represented / max_features(m, p) of the bound, largest over densities "
        "(count ‖W_i‖ > 0.5 | ‖W‖²_F):",
        f"{'δ':>5}{'m':>4}" + "".join(f"{name:>30}" for name in result.bounds),
    ]
    for d in range(len(result.m)):
        row = []
        for bound in result.bounds.values():
            r1 = float(np.max(result.represented[d] / bound[d]))
            r2 = float(np.max(result.frobenius[d] / bound[d]))
            row.append(f"{r1:.2f} | {r2:.2f}")
        lines.append(f"{result.delta[d]:>5.2f}{result.m[d]:>4}" + "".join(f"{c:>30}" for c in row))
    for c, pair in result.paired.items():
        shared = pair[..., 0] >= 0
        if shared.any():
            lines.append(
                f"paired on {int(shared.sum()) * result.trials['lp_learned']} shared draws, "
                f"criterion {c}: toy-only successes {int(pair[..., 0][shared].sum())}, "
                f"LP-only {int(pair[..., 1][shared].sum())}"
            )
    lines += ["", f"files in {out}/: " + ", ".join(f.name for f in files)]
    return "\n".join(lines)
