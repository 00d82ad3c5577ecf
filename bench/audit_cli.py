"""The command-line part of bench/audit_inputs.py: every job CLI under bad options, an unusable
``--out``, sizes that would exhaust memory, a diverging run, Ctrl-C, SIGTERM, ``kill -9`` and a
second run into the same ``--out``.

Each case runs the job in a subprocess (``python -m verify.<job>``) with tiny settings and turns
what happened into the audit's terms (docs/robustness.md):

- the documented exit status with exactly one line on stderr and no traceback: an error whose
  message is that line (so the audit checks that it names the option and shows the value);
- a traceback, another exit status, or temporaries left beside ``--out``: a crash;
- exit status 0 where an error was due: a silent wrong result;
- for a valid edge case (a run after ``kill -9``): correct if the run succeeds and leaves only its
  output directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit_values import Case, Expect

ROOT = Path(__file__).resolve().parents[1]


class CLIFailure(RuntimeError):
    """The job ended in a way no user should see (a traceback, a wrong status, leftovers)."""


@dataclass(frozen=True)
class Job:
    """A job CLI, the options that make it tiny, and the options that size it."""

    module: str
    tiny: tuple[str, ...]
    sizes: tuple[tuple[str, str], ...]  # (option, huge value)
    long: tuple[str, ...]  # options that make it run for minutes (for signals)
    diverge: tuple[str, ...] = ("--lr", "1e6")


JOBS = (
    Job(
        "verify.phase_boundary",
        ("--resolution", "3", "--seeds", "1", "--steps", "30", "--batch", "64", "--bootstrap", "2"),
        (("--steps", "10000000000000"), ("--batch", "100000000000"),
         ("--bootstrap", "100000000000"), ("--resolution", "1000000")),
        ("--resolution", "6", "--seeds", "4", "--steps", "1000000"),
    ),
    Job(
        "verify.compressed_sensing",
        ("--n", "8", "--deltas", "0.5", "--densities", "2", "--seeds", "1", "--steps", "30",
         "--batch", "64", "--trials", "20", "--lp-trials", "0", "--gaussian-trials", "0"),
        (("--steps", "10000000000000"), ("--batch", "100000000000"),
         ("--trials", "10000000000000")),
        ("--n", "32", "--steps", "1000000"),
    ),
    Job(
        "verify.control",
        ("--resolution", "3", "--seeds", "1", "--steps", "30", "--batch", "64", "--bootstrap", "2",
         "--penalties", "0.3", "--activations", "relu", "--wide-penalties", "0", "0.1",
         "--wide-densities", "0.1", "--wide-seeds", "1"),
        (("--steps", "10000000000000"), ("--batch", "100000000000"),
         ("--resolution", "1000000")),
        ("--resolution", "6", "--seeds", "4", "--steps", "1000000"),
    ),
    Job(
        "verify.sae_recovery",
        ("--n", "4", "--m", "2", "--densities", "0.5", "0.05", "--toy-steps", "60",
         "--toy-seeds", "1", "--steps", "40", "--batch", "64", "--widths", "6", "--l1", "0.05",
         "--k", "1", "--l0", "0.03", "--seeds", "2", "--samples", "256"),
        (("--steps", "10000000000000"), ("--batch", "100000000000"),
         ("--samples", "100000000000000")),
        ("--toy-steps", "1000000", "--steps", "1000000"),
    ),
)  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}


def _leftovers(folder: Path, out: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != out.name)


def _judge(proc: subprocess.CompletedProcess[str] | Any, want: int, folder: Path, out: Path) -> Any:
    err = proc.stderr or ""
    lines = [line for line in err.splitlines() if line.strip()]
    if "Traceback" in err:
        raise CLIFailure(f"exit {proc.returncode} with a traceback: {lines[-1] if lines else ''}")
    extra = [n for n in _leftovers(folder, out) if n not in ("file", "foreign")]
    if extra:
        raise CLIFailure(f"left behind beside --out: {extra}")
    if proc.returncode == 0 and want != 0:
        return proc  # returned: the audit counts it as silent
    if proc.returncode != want:
        raise CLIFailure(f"exit status {proc.returncode}, expected {want}: {err.strip()[:300]}")
    if want == 0:
        return proc
    if len(lines) != 1:
        raise CLIFailure(f"{len(lines)} lines on stderr, expected one: {err.strip()[:300]}")
    raise ValueError(lines[0])


def _run(job: Job, extra: list[str], want: int, *, prepare: Callable[[Path], Path] | None = None,
         out_arg: Callable[[Path], str] | None = None) -> Callable[[], Any]:  # fmt: skip
    def call() -> Any:
        folder = Path(tempfile.mkdtemp(prefix="audit_cli."))
        out = folder / "out"
        if prepare is not None:
            prepare(folder)
        target = out_arg(folder) if out_arg is not None else str(out)
        cmd = [sys.executable, "-m", job.module, *job.tiny, *extra, "--out", target, "--quiet"]
        proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300,
                              cwd=folder, check=False)  # fmt: skip
        return _judge(proc, want, folder, out)

    return call


def _signal(job: Job, sig: int, want: int) -> Callable[[], Any]:
    """Start a long run, wait until it trains, send ``sig``; check status, line, leftovers."""

    def call() -> Any:
        folder = Path(tempfile.mkdtemp(prefix="audit_cli."))
        out = folder / "out"
        cmd = [sys.executable, "-m", job.module, *job.long, "--out", str(out), "--quiet"]
        proc = subprocess.Popen(cmd, env=_env(), stderr=subprocess.PIPE, text=True, cwd=folder)
        deadline = time.monotonic() + 120
        while not (folder / ".out.lock").exists() and proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                raise CLIFailure("the job did not start within 120 s")
            time.sleep(0.05)
        time.sleep(1.0)
        sent = time.monotonic()
        proc.send_signal(sig)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise CLIFailure("still running 60 s after the signal") from None
        waited = time.monotonic() - sent
        if sig == signal.SIGKILL:  # the next run must clean up and succeed
            again = subprocess.run(
                [sys.executable, "-m", job.module, *job.tiny, "--out", str(out), "--quiet"],
                env=_env(), capture_output=True, text=True, timeout=300, cwd=folder, check=False,
            )  # fmt: skip
            return _judge(again, 0, folder, out)
        result = subprocess.CompletedProcess(cmd, proc.returncode, "", err)
        if waited > 10:
            raise CLIFailure(f"stopped {waited:.1f} s after the signal")
        return _judge(result, want, folder, out)

    return call


def _second_writer(job: Job) -> Callable[[], Any]:
    """A second run into the same --out while the first is running."""

    def call() -> Any:
        folder = Path(tempfile.mkdtemp(prefix="audit_cli."))
        out = folder / "out"
        cmd = [sys.executable, "-m", job.module, *job.long, "--out", str(out), "--quiet"]
        first = subprocess.Popen(cmd, env=_env(), stderr=subprocess.PIPE, text=True, cwd=folder)
        try:
            deadline = time.monotonic() + 120
            while not (folder / ".out.lock").exists():
                if time.monotonic() > deadline or first.poll() is not None:
                    raise CLIFailure("the first run did not start")
                time.sleep(0.05)
            second = subprocess.run(
                [sys.executable, "-m", job.module, *job.tiny, "--out", str(out), "--quiet"],
                env=_env(), capture_output=True, text=True, timeout=300, cwd=folder, check=False,
            )  # fmt: skip
        finally:
            first.send_signal(signal.SIGINT)
            first.communicate(timeout=60)
        return _judge(second, 2, folder, out)

    return call


def cases() -> list[Case]:
    """Every CLI case, for every job."""

    def file_parent(folder: Path) -> Path:
        (folder / "file").write_text("x")
        return folder

    def foreign(folder: Path) -> Path:
        (folder / "foreign").mkdir()
        (folder / "foreign" / "notes.txt").write_text("keep")
        return folder

    out: list[Case] = []
    for job in JOBS:
        name = job.module

        def add(argument: str, kind: str, call: Callable[[], Any], expect: Expect,
                family: str, name: str = name) -> None:  # fmt: skip
            out.append(Case(name, argument, kind, call, expect, group="cli", family=family))

        add("--out", "proc", _run(job, [], 2, out_arg=lambda f: "/proc/toysup-audit"),
            Expect("error", "--out", ("/proc/toysup-audit",)), "CLI: unusable --out")  # fmt: skip
        add("--out", "file_parent",
            _run(job, [], 2, prepare=file_parent, out_arg=lambda f: str(f / "file" / "sub")),
            Expect("error", "--out", ("sub",)), "CLI: unusable --out")  # fmt: skip
        add("--out", "empty", _run(job, [], 2, out_arg=lambda f: ""),
            Expect("error", "--out", ("''",)), "CLI: unusable --out")  # fmt: skip
        add("--out", "foreign_dir",
            _run(job, [], 2, prepare=foreign, out_arg=lambda f: str(f / "foreign")),
            Expect("error", "--out", ("foreign",)), "CLI: unusable --out")  # fmt: skip
        for option, value in job.sizes:
            add(option, "huge", _run(job, [option, value], 2),
                Expect("error", option), "CLI: huge sizes")  # fmt: skip
        for option, value in (("--seed", "-1"), ("--workers", "0"), ("--device", "tpu")):
            add(option, "bad_value", _run(job, [option, value], 2),
                Expect("error", option, (value,)), "CLI: bad values")  # fmt: skip
        add("--lr", "diverging", _run(job, list(job.diverge), 1),
            Expect("error", "--lr"), "CLI: diverging run")  # fmt: skip
        add("run", "ctrl_c", _signal(job, signal.SIGINT, 130),
            Expect("error", None, ("interrupted",)), "CLI: Ctrl-C / kill")  # fmt: skip
        add("run", "sigterm", _signal(job, signal.SIGTERM, 143),
            Expect("error", None, ("terminated",)), "CLI: Ctrl-C / kill")  # fmt: skip
        add("run", "kill_9_then_rerun", _signal(job, signal.SIGKILL, 0),
            Expect("ok", check=lambda proc: proc.returncode == 0), "CLI: Ctrl-C / kill")  # fmt: skip
        add("--out", "second_writer", _second_writer(job),
            Expect("error", "--out", ("another run",)), "CLI: concurrent runs")  # fmt: skip
    pb = JOBS[0]
    out.append(Case(pb.module, "--density-range", "float32_underflow",
                    _run(pb, ["--density-range", "1e-300", "1"], 2),
                    Expect("error", "density_range", ("1e-300",)), group="cli",
                    family="CLI: bad values"))  # fmt: skip
    return out
