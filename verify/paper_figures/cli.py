"""The command line and files of ``python -m verify.paper_figures``.

Per figure NAME: ``NAME.npz`` (the arrays it is drawn from, no pickle) and its images in PNG,
PDF and SVG (one or more stems); ``figures.json`` (the index: one entry per figure with its
settings, the paper's, its files, runtime and key numbers), ``config.json`` (the command and
every toysup configuration trained) and ``summary.json`` (written last: the run is complete).
The models are trained as sweeps into ``sweep.zarr`` (:mod:`verify.paper_figures.sweeps`:
``--store``, ``--resume``, ``--scheduler``), kept across runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from verify import job
from verify.job.sweep import add_sweep_options, check_sweep_options, kept_entries
from verify.paper_figures._common import SIZES, Context, FigureData, FigureSpec, settings_dict
from verify.paper_figures.registry import FIGURES, NAMES
from verify.paper_figures.sweeps import (
    SweepTraining,
    figure_sweeps,
    train_sweeps,
    training_seconds,
)

SCHEMA = 1
DEFAULT_OUT = "paper_figures_out"
PROG = "python -m verify.paper_figures"


@dataclass(frozen=True)
class PaperFiguresSettings:
    """Which figures (``names``, in the registry's order) at which size (``"quick"`` or
    ``"default"``)."""

    names: tuple[str, ...] = NAMES
    size: str = "default"

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {self.size!r}")
        unknown = [n for n in self.names if n not in FIGURES]
        if unknown:
            raise ValueError(
                f"--only: unknown figure {', '.join(map(repr, unknown))}; accepted: "
                f"{', '.join(NAMES)}"
            )
        if not self.names:
            raise ValueError(f"--only needs at least one figure name; accepted: {', '.join(NAMES)}")
        object.__setattr__(self, "names", tuple(n for n in NAMES if n in self.names))

    def figure_settings(self, name: str) -> Any:
        return FIGURES[name].settings(self.size)


@dataclass(frozen=True)
class Made:
    """One computed figure: its entry, settings, data and timings (seconds)."""

    spec: FigureSpec
    settings: Any
    data: FigureData
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PaperFigures:
    """A run's computed figures, at ``size``, and what the sweep trained."""

    size: str
    made: list[Made]
    sweep: SweepTraining | None = None


def build_parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:<18} {spec.title}" for name, spec in FIGURES.items())
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "The toy-model figures of Elhage et al. (2022) that the toolkit covers, each with "
            "its data (NPZ) and a line in figures.json."
        ),
        epilog=f"figures:\n{listing}",
        formatter_class=_Formatter,
    )
    job.add_common_options(parser, default_out=DEFAULT_OUT)
    add_sweep_options(parser)
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="make only these figures (names below; default: all)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the small version: tiny models and few steps, seconds per figure (for tests); the "
        "default sizes take a few minutes on a 2-core CPU",
    )
    return parser


class _Formatter(job.HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown, and the epilog's list of figures kept as written."""


def settings_from_args(args: argparse.Namespace) -> PaperFiguresSettings:
    names = NAMES if args.only is None else tuple(args.only)
    settings = PaperFiguresSettings(names=names, size="quick" if args.quick else "default")
    sweeps = figure_sweeps(
        settings.names, settings.size, _context(args), task_size=getattr(args, "task_size", None)
    )
    check_sweep_options(args, sweeps)
    return settings


def _context(args: argparse.Namespace, trained: Any = None) -> Context:
    return Context(
        seed=args.seed, device=args.device, workers=args.workers,
        progress=job.progress_option(args), trained=trained or {},
    )  # fmt: skip


def memory_estimate(settings: PaperFiguresSettings) -> dict[str, float]:
    """Planned bytes per figure (the largest is named if the run would not fit)."""
    return {
        f"figure {name}": FIGURES[name].memory(settings.figure_settings(name))
        for name in settings.names
    }


def compute(settings: PaperFiguresSettings, args: argparse.Namespace) -> PaperFigures:
    """Train every figure's models as sweeps into the store, then compute each figure from
    them; a figure's ``compute_s`` includes the sweep's time on its models."""
    trained = train_sweeps(settings.names, settings.size, _context(args), args)
    ctx = _context(args, None if trained is None else trained.trained)
    made = []
    for name in settings.names:
        spec = FIGURES[name]
        figure_settings = settings.figure_settings(name)
        wall, cpu = time.perf_counter(), time.process_time()
        data = spec.compute(figure_settings, ctx)
        training_s = training_seconds(name, trained)
        timings = {
            "training_s": training_s,
            "compute_s": time.perf_counter() - wall + training_s,
            "compute_cpu_s": time.process_time() - cpu,
        }
        made.append(Made(spec, figure_settings, data, timings))
    return PaperFigures(settings.size, made, trained)


def write_files(run: PaperFigures, tmp: Path, argv: list[str]) -> list[str]:
    """Each figure's data file and images, then figures.json, config.json and summary.json
    (last); return the names written."""
    names: list[str] = []
    entries = []
    for item in run.made:
        name = item.spec.name
        wall, cpu = time.perf_counter(), time.process_time()
        data_file = f"{name}.npz"
        arrays: dict[str, Any] = dict(item.data.arrays)
        np.savez_compressed(tmp / data_file, **arrays)
        with np.load(tmp / data_file, allow_pickle=False) as stored:  # drawn from the file
            figures = item.spec.draw(dict(stored))
        files = [data_file]
        for stem, fig in figures.items():
            files += job.save_figure(fig, tmp, stem)
        timings = {
            **item.timings,
            "render_s": time.perf_counter() - wall,
            "render_cpu_s": time.process_time() - cpu,
        }
        names += files
        entries.append(_entry(item, timings, files, list(figures)))
    job.write_json(tmp, "figures.json", {"schema": SCHEMA, "size": run.size, "figures": entries})
    job.write_json(tmp, "config.json", _config(run, argv))
    names = ["summary.json", "figures.json", "config.json", *names]
    devices = sorted({d for item in run.made if (d := item.data.train_device) is not None})
    summary = {
        "schema": SCHEMA,
        "size": run.size,
        "figures": [item.spec.name for item in run.made],
        "runtime_s": sum(e["runtime"] for e in entries),
        "cpu_s": time.process_time(),  # the whole process, every thread
        "timings": {f"{e['name']}_s": e["runtime"] for e in entries},
        "device": devices[0] if len(devices) == 1 else devices,
        "sweep": None if run.sweep is None else run.sweep.summary,
        "files": names,
        "versions": job.versions(),
    }
    job.write_json(tmp, "summary.json", summary)
    return names


def _entry(
    item: Made, timings: dict[str, float], files: list[str], stems: list[str]
) -> dict[str, Any]:
    return job.json_ready(
        {
            "name": item.spec.name,
            "title": item.spec.title,
            "paper_section": item.spec.section,
            "settings": _settings(item.settings),
            "paper": dict(item.spec.paper),
            "data": f"{item.spec.name}.npz",
            "figures": stems,
            "files": files,
            "runtime": timings["compute_s"] + timings["render_s"],  # seconds, wall clock
            "timings": timings,
            "results": item.data.results,
        }
    )


def _settings(settings: Any) -> dict[str, Any]:
    if hasattr(settings, "to_dict"):
        return dict(settings.to_dict())
    return settings_dict(settings)


def _config(run: PaperFigures, argv: list[str]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "command": [*PROG.split(), *argv],
        "figures": {
            item.spec.name: {
                "settings": _settings(item.settings),
                "trained": [trained.configs() for trained in item.data.runs],
            }
            for item in run.made
        },
    }


def report(run: PaperFigures, out: Path, files: list[Path]) -> str:
    """The table printed at the end: each figure, its runtime and its images (from the index)."""
    index = json.loads((out / "figures.json").read_text())
    lines = [f"{'figure':<19}{'time':>8}  images (PNG, PDF, SVG) beside NAME.npz"]
    for entry in index["figures"]:
        lines.append(f"{entry['name']:<19}{entry['runtime']:>7.1f}s  {', '.join(entry['figures'])}")
    total = sum(entry["runtime"] for entry in index["figures"])
    lines += [
        "",
        f"{len(index['figures'])} figures ({run.size} sizes) in {total:.1f} s; files in {out}/ "
        "(index: figures.json)",
    ]
    return "\n".join(lines)


JOB: job.Job[PaperFiguresSettings, PaperFigures] = job.Job(
    prog=PROG,
    parser=build_parser,
    settings=settings_from_args,
    memory=memory_estimate,
    compute=compute,
    write=write_files,
    report=report,
    failure_hint="try another --seed",
    keep=kept_entries,
)


def main(argv: list[str] | None = None) -> int:
    """Run the job; returns the exit code (0 done, 1 failed, 2 bad options with nothing written,
    130 interrupted; see :mod:`verify.job.runner`)."""
    return job.run(JOB, argv)


if __name__ == "__main__":
    sys.exit(main())
