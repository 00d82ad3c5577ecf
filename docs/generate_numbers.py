"""Run the jobs and write every run time and result table the docs and the README quote.

    python docs/generate_numbers.py            # both jobs, their default settings
    python docs/generate_numbers.py --only phase_boundary
    python docs/generate_numbers.py --only phase_boundary_n3m2     # --n 3 --m 2

Writes, in ``docs/generated/`` (included into the documentation pages by the snippets
extension, so no page carries a number by hand):

- ``numbers.json``: where and when it ran (commit, machine, load), each job's wall-clock time,
  peak memory, its own timings and the headline results;
- ``phase_boundary.md``: the main job's default run (docs/phase_boundary.md, docs/performance.md);
- ``phase_boundary_n3m2.md``: the main job's ``--n 3 --m 2`` run (docs/phase_boundary.md);
- ``compressed_sensing.md``: the compressed-sensing job's default run (docs/compressed_sensing.md);
- ``sae_recovery.md``: the SAE recovery job's default run (docs/sae.md);
- ``paper_figures.md``: the paper-figures job's default run (docs/paper_figures.md);

and updates the values between ``<!-- numbers:KEY -->`` and ``<!-- /numbers -->`` in README.md.
Each job runs in a fresh process (``python -m verify.<job> --quiet --out <temporary dir>``);
its peak memory is that process's maximum resident set size. Timings depend on the machine and
on what else runs on it: the load average when the run started, and the highest seen while it
ran (sampled every 5 s), are recorded beside them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import comb

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "docs" / "generated"
README = ROOT / "README.md"
JOBS = (
    "phase_boundary",
    "phase_boundary_n3m2",
    "compressed_sensing",
    "sae_recovery",
    "paper_figures",
)
#: Runs of a job with options: name -> (the job's module under verify, its extra arguments).
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "phase_boundary_n3m2": ("phase_boundary", ("--n", "3", "--m", "2")),
}


# ----------------------------------------------------------------------------- running


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _commit() -> str:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return out.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine() -> dict[str, Any]:
    import torch

    return {
        "cpu": _cpu_model(),
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "commit": _commit(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }


def run_job(job: str, out: Path) -> dict[str, Any]:
    """Run ``python -m verify.<job> [options] --quiet --out out`` (options: ``VARIANTS``); wall
    time, peak memory, its summary."""
    module, extra = VARIANTS.get(job, (job, ()))
    cmd = [sys.executable, "-m", f"verify.{module}", *extra, "--quiet", "--out", str(out)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    load = _load_average()
    loads: list[float] = []
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    done = threading.Event()
    sampler = threading.Thread(target=_sample_load, args=(done, loads), daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    # ru_maxrss is in KiB on Linux, bytes on macOS
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    summary = json.loads((out / "summary.json").read_text())
    return {
        "command": " ".join(["python", "-m", f"verify.{module}", *extra]),
        "wall_s": wall,
        "peak_memory_mb": peak / 1e6,
        "load_average_at_start": load,
        "load_average_max": max(loads, default=load),
        "summary": summary,
    }


# ----------------------------------------------------------------------------- formatting


def _f(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:.{digits}f}"


def _no_negative_zero(x: float) -> float:
    """0.0 for anything that would print as -0.00."""
    return float(x) if abs(x) >= 0.005 else 0.0


def _seconds(x: float) -> str:
    return f"{x:.0f} s" if x >= 10 else f"{x:.1f} s"


def _load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _sample_load(done: threading.Event, loads: list[float]) -> None:
    """Append the 1-minute load average every 5 s until ``done`` is set."""
    while not done.wait(5.0):
        load = _load_average()
        if load is not None:
            loads.append(load)


def _busiest_load(run: dict[str, Any]) -> float | None:
    """The highest load average seen while the job ran (older records: the one at its start)."""
    return run.get("load_average_max", run["load_average_at_start"])


def _provenance(run: dict[str, Any], env: dict[str, Any]) -> str:
    start, busiest = run["load_average_at_start"], _busiest_load(run)
    loaded = ""
    if start is not None and busiest is not None:
        loaded = f", load average {start:.1f} when it started and up to {busiest:.1f} while it ran"
    return (
        f"Generated by `python docs/generate_numbers.py` ({env['date']}, toysup {env['commit']}, "
        f"{env['cores']} cores of {env['cpu']}{loaded}; torch {env['torch']})."
    )


def phase_boundary_markdown(run: dict[str, Any], env: dict[str, Any]) -> str:
    s = run["summary"]
    t = s["timings"]
    b = s["boundary"]
    train = s["train"]
    grid = f"{len(s['grid']['density'])} × {len(s['grid']['importance'])}"
    lines = [
        _provenance(run, env),
        "",
        f"`{run['command']}` (default settings: {grid} cells, {train['seeds']} seeds per cell, "
        f"{train['steps']:,} steps, batch {train['batch']}):",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| wall-clock time (process start to exit) | {_seconds(run['wall_s'])} |",
        f"| reported by the job: training, theory maps, comparison | {_seconds(t['train_s'])}, "
        f"{_seconds(t['theory_s'])}, {_seconds(t['compare_s'])} |",
        f"| peak memory (resident) | {run['peak_memory_mb']:.0f} MB |",
        f"| cells agreeing with the exact landscape (κ) | {100 * s['agreement']['exact']:.1f}% "
        f"({_f(s['kappa']['exact'], 3)}) |",
        f"| cells agreeing with the paper's candidates (κ) | "
        f"{100 * s['agreement']['candidate']:.1f}% ({_f(s['kappa']['candidate'], 3)}) |",
        f"| mean boundary error against the exact / candidate p*(r) | "
        f"{_f(b['mean_abs_error_decades']['exact'], 3)} / "
        f"{_f(b['mean_abs_error_decades']['candidate'], 3)} decades "
        f"(grid half-cell {_f(b['grid_half_cell_decades'], 3)}) |",
    ]
    return "\n".join(lines + _diagnostic_rows(s.get("diagnostics"))) + "\n"


def _diagnostic_rows(d: dict[str, Any] | None) -> list[str]:
    """Table rows from summary.json's ``diagnostics`` (docs/phase_boundary.md), where present."""
    if not d:
        return []
    rows = []
    differ = d.get("candidates_differ")
    if differ and differ["cells"]:
        k = differ["cells"]
        rows.append(
            f"| cells where the candidates differ from the exact optimum: trained agrees with "
            f"exact / candidates | {round(differ['exact'] * k)} / {round(differ['candidate'] * k)} "
            f"of {k} |"
        )
    excess = d.get("excess_loss")
    if excess:
        rows.append(
            f"| best seed's exact loss above the exact optimum: median; cells above "
            f"{excess['tolerance']:.0%}; cells below | {excess['median']:.1e}; "
            f"{excess['cells_above']}; {excess['cells_below']} |"
        )
    sens = d.get("threshold_sensitivity")
    if sens and sens.get("agreement_exact_robust") is not None:
        low, high = sens["fragile_range"]
        rows.append(
            f"| agreement on the cells whose exact label holds for every threshold in "
            f"[{low:g}, {high:g}] ({sens['fragile_cells']} others) | "
            f"{100 * sens['agreement_exact_robust']:.1f}% |"
        )
    return rows


def _transition(tr: dict[str, Any], first_rho: float) -> str:
    if tr["censored"] == "below":
        return f"< {first_rho:.2f}"
    if tr["censored"] == "above":
        return f"> {_f(tr['low'])}"
    return f"{_f(tr['rho'])} [{_f(tr['low'])}, {_f(tr['high'])}]"


def compressed_sensing_markdown(run: dict[str, Any], out: Path, env: dict[str, Any]) -> str:
    s = run["summary"]
    t = s["timings"]
    k = np.array(s["grid"]["k"])
    n = s["n_features"]
    per = s["per_delta"]
    models = np.load(out / "models.npz")
    lines = [
        _provenance(run, env),
        "",
        f"`{run['command']}` (all defaults): {_seconds(run['wall_s'])} wall-clock, "
        f"{run['peak_memory_mb']:.0f} MB peak memory (training {_seconds(t['train_s'])}, LP on "
        f"the learned W {_seconds(t['lp_learned_s'])}, Gaussian LP {_seconds(t['lp_gaussian_s'])}, "
        f"toy decoding {_seconds(t['toy_s'])}). ρ_50 with its 95% interval in brackets; "
        '"< ρ₁": below 1/2 already at k = 1.',
        "",
        "| δ (m) | ρ_W⁺ | ρ_W± | LP, Gaussian W | LP, learned W (exact) | LP, learned W (`l2`) "
        "| toy, `l2` | toy, `linf` | toy `l2` / ρ_W⁺ | superposition onset |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d in per:
        tr = d["transitions"]
        rho1 = 1 / d["m"]
        toy = tr["toy/l2"]
        share = "—" if toy["rho"] is None else f"{toy['rho'] / d['rho_w']['nonnegative']:.0%}"
        cells = [
            f"{d['delta_realized']:.3f} ({d['m']})",
            _f(d["rho_w"]["nonnegative"], 3),
            _f(d["rho_w"]["signed"], 3),
            *(
                _transition(tr[key], rho1)
                for key in (
                    "lp_gaussian/exact",
                    "lp_learned/exact",
                    "lp_learned/l2",
                    "toy/l2",
                    "toy/linf",
                )
            ),
            share,
            _f(d["superposition"]["rho"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")

    lines += [
        "",
        "Toy at half and double the tolerance (ρ_50 `l2` / `linf`); toy success at k = 1 (one "
        "active feature, `linf`); the learned weights at k = 1 (mean bias, median ‖W_i‖); inputs "
        "only one of toy and LP-on-W recovered, among those both saw (`l2`, `linf`):",
        "",
        "| δ (m) | τ/2 | 2τ | toy at k = 1 | mean b | median ‖W_i‖ | toy only | LP only | "
        "shared inputs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, d in enumerate(per):
        tr = d["transitions"]
        rho1 = 1 / d["m"]
        half = " / ".join(_transition(tr[f"toy/{c}@0.5"], rho1) for c in ("l2", "linf"))
        double = " / ".join(_transition(tr[f"toy/{c}@2"], rho1) for c in ("l2", "linf"))
        W = models[f"W_{i}"][0]  # the model trained at k = 1: (m, n)
        bias = models["b"][i, 0]
        paired = d["paired"]
        only = [
            sum(v for v in paired[c][side] if v is not None)
            for side in ("toy_only", "lp_only")
            for c in ("l2", "linf")
        ]
        shared = paired["l2"]["shared_trials"] * sum(
            1 for v in paired["l2"]["toy_only"] if v is not None
        )
        lines.append(
            f"| {d['delta_realized']:.3f} ({d['m']}) | {half} | {double} | "
            f"{d['curves']['toy/linf']['rate'][0]:.2f} | {_f(_no_negative_zero(bias.mean()))} | "
            f"{np.median(np.linalg.norm(W, axis=0)):.2f} | {only[0]}, {only[1]} | "
            f"{only[2]}, {only[3]} | {shared:,} |"
        )

    lines += [
        "",
        "Represented features against the bounds: the largest ratio over the densities of "
        "‖W‖²_F (and of the count ‖W_i‖ > 0.5) to `max_features(m, p, bound=...)`; at p = 1, "
        "‖W‖²_F and the count:",
        "",
        "| δ (m) | `order` (C = 1) | `weak_threshold_nonnegative` | `any_decoder_exact` | "
        "p = 1: ‖W‖²_F, count |",
        "|---|---|---|---|---|",
    ]
    for d in per:
        ratio = d["features"]["max_ratio"]
        cells = [
            f"{_f(ratio[name]['frobenius'])} ({_f(ratio[name]['represented'])})"
            for name in ("order", "weak_threshold_nonnegative", "any_decoder_exact")
        ]
        feats = d["features"]
        lines.append(
            f"| {d['delta_realized']:.3f} ({d['m']}) | " + " | ".join(cells) + f" | "
            f"{feats['frobenius'][-1]:.1f}, {feats['represented'][-1]} |"
        )

    pairs = [d for d in per if 2 * d["m"] == n]
    for d in pairs:
        m = d["m"]
        rate = d["curves"]["lp_learned/exact"]["rate"]
        ks = [int(v) for v in k if 1 < v <= m]
        closed = [comb(m, v) * 2.0**v / comb(n, v) for v in ks]
        measured = [rate[list(k).index(v)] for v in ks]
        lines += [
            "",
            f"δ = {d['delta_realized']:.3g}: success of the LP on the learned W against "
            f"C({m}, k) 2^k / C({n}, k), the rate if the {n} features formed {m} antipodal "
            "pairs:",
            "",
            "| k | " + " | ".join(str(v) for v in ks) + " |",
            "|---|" + "---|" * len(ks),
            "| antipodal pairs | " + " | ".join(f"{v:.3f}" for v in closed) + " |",
            "| LP, learned W | " + " | ".join(_f(v) for v in measured) + " |",
        ]
    return "\n".join(lines) + "\n"


def sae_recovery_markdown(run: dict[str, Any], env: dict[str, Any]) -> str:
    s = run["summary"]
    t, f = s["timings"], s["findings"]
    ref = f["reference"]
    sae_train = s["train"]["sae"]
    by_label = {item["label"]: item for item in s["saes"]}
    control = {item["label"]: item for item in s["control"]["saes"]}
    labels = [ref[kind]["setting"] for kind in ref]
    pct = round(100 * s["level"])

    def cell(item: dict[str, Any], i: int) -> str:
        r = item["recovered"]
        return f"{r['mean'][i]:.1f} [{r['low'][i]:.1f}, {r['high'][i]:.1f}]"

    lines = [
        _provenance(run, env),
        "",
        f"`{run['command']}` (all defaults: {len(s['saes'])} SAE settings × "
        f"{len(s['grid']['density'])} densities × {sae_train['seeds']} seeds, "
        f"{sae_train['steps']:,} steps of {sae_train['batch']}): {_seconds(run['wall_s'])} "
        f"wall-clock, {run['peak_memory_mb']:.0f} MB peak memory (toy models "
        f"{_seconds(t['toy_s'])}, decodability tests {_seconds(t['decodability_s'])}, SAEs "
        f"{_seconds(t['saes_s'])}, control {_seconds(t['control_s'])}). Features recovered "
        f"(matched cosine ≥ {s['threshold']:g}) by the reference setting of each kind, mean over "
        f"the seeds [{pct}% t-interval; zero width: every seed agrees], on the toy model "
        f"(n = {s['n_features']}, m = {s['n_hidden']}) and on the control with the same "
        "represented count and density; the cause of a failure (mean recovered fraction "
        f"< {f['good_fraction']:g}) in brackets:",
        "",
        "| density | represented | decodable | "
        + " | ".join(labels)
        + " | "
        + " | ".join(f"control: {label.split()[0]}" for label in labels)
        + " |",
        "|---|---|---|" + "---|" * (2 * len(labels)),
    ]
    for i, p in enumerate(s["grid"]["density"]):
        cells = []
        for kind, label in zip(ref, labels):
            cause = ref[kind]["cause"][i]
            tag = "" if cause == "recovers" else f" ({cause})"
            cells.append(cell(by_label[label], i) + tag)
        cells += [cell(control[label], i) if label in control else "—" for label in labels]
        lines.append(
            f"| {p:g} | {s['toy']['represented'][i]} | {s['toy']['decodable'][i]} | "
            + " | ".join(cells)
            + " |"
        )
    agreement = ", ".join(
        f"{ref[kind]['setting']} {100 * ref[kind]['agreement_with_decodability']:.0f}%"
        for kind in ref
    )
    lines += [
        "",
        f'Agreement with the decodability test on "more than m features": {agreement} of the '
        "densities.",
    ]
    return "\n".join(lines) + "\n"


def _values(xs: Any, digits: int = 2) -> str:
    return ", ".join(f"{x:.{digits}g}" if isinstance(x, float) else str(x) for x in xs)


def paper_figure_headline(name: str, r: dict[str, Any]) -> str:
    """One line of a paper figure's key numbers (its ``results`` in figures.json)."""
    if name == "intro":
        return f"represented {_values(r['represented'])}; D* {_values(r['dimensions_per_feature'])}"
    if name == "sparsity_sweep":
        return (
            f"in superposition {_values(r['superposed'][1:])} (ReLU); linear loss "
            f"{100 * r['linear_dense_loss_gap']:+.1f}% from its optimum"
        )
    if name == "dimensionality":
        d = r["dimensions_per_feature"]
        return f"D* from {d[0]:.2f} (p = 1) to {d[-1]:.2f} (p = {r['density'][-1]:.2g})"
    if name == "privileged_basis":
        return (
            f"polysemantic neurons {_values(r['polysemantic_neurons'])}; represented "
            f"{_values(r['represented'])}"
        )
    if name == "absolute_value":
        return (
            f"computed for both signs {_values(r['computed'])}, at least partly "
            f"{_values(r['partly_computed'])} (m/2 = {r['half_the_neurons']:g})"
        )
    if name == "correlated":
        k = r["seeds"]
        return (
            f"all pairs antipodal: anticorrelated "
            f"{r['pairs_anticorrelated']['seeds_all_sets_antipodal']}/{k}, independent "
            f"{r['pairs_independent']['seeds_all_sets_antipodal']}/{k}; sets orthogonal: correlated "
            f"{r['sets_correlated']['seeds_all_set_pairs_orthogonal']}/{k}, independent "
            f"{r['sets_independent']['seeds_all_set_pairs_orthogonal']}/{k}"
        )
    if name == "learning_dynamics":
        return f"{r['runs_moving_between_fractions']}/{r['runs']} runs move between fractions"
    if name.startswith("phase_"):
        exact = r["agreement"]["exact"]
        text = f"agreement with the candidates {100 * r['agreement']['candidate']:.0f}%"
        return text + ("" if exact is None else f", with the exact optimum {100 * exact:.0f}%")
    return ""


def paper_figures_markdown(run: dict[str, Any], out: Path, env: dict[str, Any]) -> str:
    index = json.loads((out / "figures.json").read_text())
    lines = [
        _provenance(run, env),
        "",
        f"`{run['command']}` (default sizes, all {len(index['figures'])} figures): "
        f"{_seconds(run['wall_s'])} wall-clock, {run['peak_memory_mb']:.0f} MB peak memory.",
        "",
        "| figure | images | time | key numbers (per density, dense to sparse) |",
        "|---|---|---|---|",
    ]
    for e in index["figures"]:
        images = ", ".join(f"`{stem}`" for stem in e["figures"])
        lines.append(
            f"| `{e['name']}` | {images} | {_seconds(e['runtime'])} | "
            f"{paper_figure_headline(e['name'], e['results'])} |"
        )
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- README


def readme_values(numbers: dict[str, Any]) -> dict[str, str]:
    """The values README.md shows between ``<!-- numbers:KEY -->`` markers."""
    values = {}
    if "phase_boundary" in numbers["jobs"]:
        run = numbers["jobs"]["phase_boundary"]
        cores = run["machine"]["cores"]
        text = f"{_seconds(run['wall_s'])} on {cores} CPU cores"
        load = _busiest_load(run)
        if load is not None and load > cores / 2:
            text += f" shared with other work (load average {load:.1f})"
        values["phase_boundary_time"] = text
    return values


MARKER = re.compile(r"(<!-- numbers:(?P<key>[a-z_]+) -->)(?P<value>.*?)(<!-- /numbers -->)", re.S)


def update_readme(text: str, values: dict[str, str]) -> str:
    def swap(match: re.Match[str]) -> str:
        key = match["key"]
        value = values.get(key, match["value"])
        return f"{match[1]}{value}{match[4]}"

    return MARKER.sub(swap, text)


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", choices=JOBS, action="append", help="run only this job (repeatable)"
    )
    args = parser.parse_args(argv)
    jobs = args.only or list(JOBS)
    GENERATED.mkdir(parents=True, exist_ok=True)
    numbers_path = GENERATED / "numbers.json"
    numbers = json.loads(numbers_path.read_text()) if numbers_path.exists() else {"jobs": {}}
    env = machine()
    numbers["machine"] = env
    with tempfile.TemporaryDirectory() as tmp:
        for job in jobs:
            out = Path(tmp) / job
            module, extra = VARIANTS.get(job, (job, ()))
            print(f"running python -m verify.{module} {' '.join(extra)} ...", file=sys.stderr)
            run = run_job(job, out)
            if job in ("phase_boundary", "phase_boundary_n3m2"):
                text = phase_boundary_markdown(run, env)
            elif job == "sae_recovery":
                text = sae_recovery_markdown(run, env)
            elif job == "paper_figures":
                text = paper_figures_markdown(run, out, env)
            else:
                text = compressed_sensing_markdown(run, out, env)
            (GENERATED / f"{job}.md").write_text(text)
            numbers["jobs"][job] = {
                "machine": env,
                **{key: value for key, value in run.items() if key != "summary"},
                "runtime_s": run["summary"]["runtime_s"],
                "timings": run["summary"]["timings"],
            }
            print(f"  {run['wall_s']:.1f} s wall, {run['peak_memory_mb']:.0f} MB", file=sys.stderr)
    numbers_path.write_text(json.dumps(numbers, indent=2) + "\n")
    README.write_text(update_readme(README.read_text(), readme_values(numbers)))
    print(f"wrote {', '.join(sorted(p.name for p in GENERATED.iterdir()))} and README.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
