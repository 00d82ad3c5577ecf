"""Audit of bad and edge inputs: does every public function end with a clear error or a correct
result?

    python bench/audit_inputs.py                    # the table of outcomes by kind of input
    python bench/audit_inputs.py --details          # ... and every case that is not right
    python bench/audit_inputs.py --json audit.json  # every case and the counts, as JSON
    python bench/audit_inputs.py --only 'stats|load' --jobs 2 --timeout 30

The catalogue (bench/audit_catalogue.py, bench/audit_files.py) is generated systematically: for
each public function of toysup, theory (except the exact n=2, m=1 landscape), verify.stats,
verify.compare and verify.strategies, each argument gets a type, and each type a list of value
classes (bench/audit_values.py: NaN, inf, huge, negative, zero, bool, wrong type, wrong shape,
empty, ...), derived from a valid value. Saved results get one case per kind of corruption
(truncated, bit-flipped or random bytes, broken or non-dict JSON, missing or reshaped arrays, NaN
losses, inconsistent configurations). Each case runs in its own forked process (with a memory
cap and a timeout), so a crash, a hang or a runaway allocation is caught and cannot disturb the
next case.

Outcomes (docs/robustness.md):

- **clear error**: an accepted exception type (``ValueError``/``TypeError``, or the documented
  one, e.g. ``FileExistsError``) whose message names the argument (or the file) and shows the
  offending value;
- **unclear error**: an accepted type, but the message does not say which argument or value;
- **crash**: any other exception type (``KeyError``, ``IndexError``, ``BadZipFile``,
  ``RuntimeError`` from torch, ``MemoryError``, ...), a dead process or a timeout; also any
  exception on a *valid* edge input;
- **silent wrong result**: the call returned although the input was invalid, or returned a result
  that fails the case's check (NaN where a number is due, an inconsistent loaded result);
- **correct result**: a valid edge input gave a result that passes the check.

CLI cases (bench/audit_cli.py: unwritable ``--out``, huge options, diverging runs, Ctrl-C,
SIGTERM, kill -9, concurrent runs) run each job in a subprocess.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit_values import Case, Expect

CATEGORIES = ("clear", "unclear", "crash", "silent", "correct")
GOOD = ("clear", "correct")


@dataclass
class Outcome:
    case: Case
    category: str
    detail: str = ""
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _names_it(message: str, name: str | None) -> bool:
    if not name:
        return True
    if "/" in name:  # a path: shown verbatim
        return name in message
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message) is not None


def _shows_value(message: str, tokens: tuple[str, ...]) -> bool:
    low = message.lower()
    return not tokens or any(t.lower() in low for t in tokens)


def classify(expect: Expect, *, raised: BaseException | None, result: Any = None) -> str:
    """The outcome's category for a call that raised ``raised`` or returned ``result``."""
    if raised is None:
        if expect.outcome == "error":
            return "silent"
        try:
            return "correct" if expect.check(result) else "silent"
        except Exception:
            return "silent"
    if expect.outcome == "ok" or not isinstance(raised, expect.errors):
        return "crash"
    message = str(raised)
    clear = _names_it(message, expect.name) and _shows_value(message, expect.tokens)
    return "clear" if clear else "unclear"


# ------------------------------------------------------------------------ running in isolation

#: Address space a case may add to the audit's own (bytes): a runaway allocation fails fast.
MEMORY_CAP = 3 << 30


def _child(case: Case, conn: Connection) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # warnings of the library under test are not the audit's output
    vm = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (vm + MEMORY_CAP, vm + MEMORY_CAP))
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    raised: BaseException | None = None
    result: Any = None
    try:
        result = case.call()
    except BaseException as exc:
        raised = exc
    category = classify(case.expect, raised=raised, result=result)
    detail = "returned" if raised is None else f"{type(raised).__name__}: {raised}"
    try:
        conn.send((category, detail[:500]))
    finally:
        conn.close()
        os._exit(0)


def run_cases(
    cases: list[Case], *, jobs: int, timeout: float, progress: bool = True
) -> list[Outcome]:
    """Run every case in its own forked process, ``jobs`` at a time."""
    ctx = mp.get_context("fork")
    pending = list(enumerate(cases))
    running: dict[Connection, tuple[int, Any, float]] = {}
    out: list[Outcome | None] = [None] * len(cases)
    done, last_report = 0, time.perf_counter()
    while pending or running:
        while pending and len(running) < jobs:
            index, case = pending.pop(0)
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(case, send), daemon=True)
            proc.start()
            send.close()
            running[recv] = (index, proc, time.perf_counter())
        ready = wait(list(running), timeout=0.5)
        now = time.perf_counter()
        for conn in list(running):
            index, proc, started = running[conn]
            if conn in ready:
                try:
                    category, detail = conn.recv()
                except EOFError:
                    proc.join(5)
                    category, detail = "crash", f"the process died (exit code {proc.exitcode})"
            elif now - started > timeout:
                proc.kill()
                category, detail = "crash", f"no answer within {timeout:g} s (killed)"
            else:
                continue
            proc.join(5)
            conn.close()
            del running[conn]
            out[index] = Outcome(cases[index], category, detail, now - started)
            done += 1
            if progress and (sys.stderr.isatty() or now - last_report > 30):
                end = "" if sys.stderr.isatty() else "\n"
                print(f"\r{done}/{len(cases)} cases", end=end, file=sys.stderr, flush=True)
                last_report = now
    if progress and sys.stderr.isatty():
        print(file=sys.stderr)
    return [o for o in out if o is not None]


# ------------------------------------------------------------------------ the catalogue


def cli_cases() -> list[Case]:
    """Cases for the job CLIs (bench/audit_cli.py): unwritable ``--out`` (``/proc/x``,
    ``<file>/sub``, ``''``, a foreign directory), huge sizes, bad values, a diverging run
    (``--lr 1e6``), float32 underflow (``--density-range 1e-300 1``), Ctrl-C, SIGTERM,
    ``kill -9`` then a rerun, and a second run into one ``--out``."""
    import audit_cli

    return audit_cli.cases()


#: Imported once before the cases fork, so that no case pays for importing them (the audit's own
#: process imports them but runs no torch operation, so the forked cases start clean).
PRELOAD = (
    "toysup", "toysup.metrics", "theory", "theory.compressed_sensing", "verify.stats",
    "verify.compare", "verify.strategies", "verify.diagram", "hypothesis", "cvxpy", "scipy.stats",
)  # fmt: skip


def preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # a module missing in the version audited: its cases crash
            pass
    try:
        import cvxpy

        cvxpy.installed_solvers()
    except ImportError:  # pragma: no cover
        pass


def catalogue(workdir: Path) -> list[Case]:
    """Every case: library calls, saved-file corruptions, CLI cases."""
    import audit_catalogue
    import audit_files

    files = audit_files.cases(workdir)
    library = audit_catalogue.cases(audit_files.saved_result(workdir))
    return [*library, *files, *cli_cases()]


# ------------------------------------------------------------------------ report


def counts(outcomes: Iterable[Outcome], key: Callable[[Outcome], str]) -> dict[str, Counter[str]]:
    table: dict[str, Counter[str]] = {}
    for o in outcomes:
        table.setdefault(key(o), Counter())[o.category] += 1
    return dict(sorted(table.items()))


def markdown_table(table: dict[str, Counter[str]], label: str) -> str:
    head = f"| {label} | " + " | ".join(CATEGORIES) + " | total |"
    rule = "|---|" + "---:|" * (len(CATEGORIES) + 1)
    rows = [head, rule]
    total: Counter[str] = Counter()
    for name, counter in table.items():
        total.update(counter)
        cells = " | ".join(str(counter.get(c, 0)) for c in CATEGORIES)
        rows.append(f"| {name} | {cells} | {sum(counter.values())} |")
    cells = " | ".join(f"**{total.get(c, 0)}**" for c in CATEGORIES)
    rows.append(f"| **all** | {cells} | **{sum(total.values())}** |")
    return "\n".join(rows)


#: Kinds of the hand-written cases (bench/audit_catalogue.py, special_cases) -> their table row.
FAMILIES = {
    "mismatch": "mismatched shapes", "instance_mismatch": "mismatched shapes",
    "conflicting_rows": "mismatched shapes", "row_mismatch": "mismatched shapes",
    "shape_mismatch": "mismatched shapes", "length_mismatch": "mismatched shapes",
    "wrong_shape": "mismatched shapes", "above_n": "mismatched shapes",
    "huge_entries": "huge_entry", "huge_negative": "huge_entry",
    "2d_inferred": "API: inferred, integer seeds, TrainResult inputs",
    "integer_seed": "API: inferred, integer seeds, TrainResult inputs",
    "train_result": "API: inferred, integer seeds, TrainResult inputs",
    "underpowered": "API: inferred, integer seeds, TrainResult inputs",
    "out_of_range": "API: inferred, integer seeds, TrainResult inputs",
    "integer": "wrong_type", "tiny_density": "tiny", "diverging": "diverging run",
    "float32_underflow": "float32 underflow",
}  # fmt: skip


def family(o: Outcome) -> str:
    return o.case.family or FAMILIES.get(o.case.kind, o.case.kind)


def comparison_table(old: dict[str, Any], new: dict[str, Any], key: str, label: str) -> str:
    """Markdown: per row of ``key`` ("by_kind" or "by_module"), the counts of two runs' JSON."""
    head = " / ".join(CATEGORIES)
    rows = [f"| {label} | before: {head} | after: {head} |", "|---|---|---|"]

    def cell(counter: dict[str, int]) -> str:
        return " / ".join(str(counter.get(c, 0)) for c in CATEGORIES)

    for name in sorted(set(old[key]) | set(new[key])):
        rows.append(f"| {name} | {cell(old[key].get(name, {}))} | {cell(new[key].get(name, {}))} |")
    rows.append(f"| **all** | **{cell(old['total'])}** | **{cell(new['total'])}** |")
    return "\n".join(rows)


def _module(o: Outcome) -> str:
    parts = o.case.target.split(".")
    return ".".join(parts[:2]) if parts[0] != "toysup" else parts[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=None, help="regular expression on case ids")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case")
    parser.add_argument("--json", type=Path, default=None, help="write every case here")
    parser.add_argument("--details", action="store_true", help="list the cases not right")
    parser.add_argument("--list", action="store_true", help="list the case ids and stop")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="folder for saved-file cases (default: a temp)"
    )
    parser.add_argument(
        "--compare",
        type=Path,
        nargs=2,
        metavar=("BEFORE.json", "AFTER.json"),
        help="print before/after tables of two --json files and stop",
    )
    args = parser.parse_args(argv)
    if args.compare:
        old, new = (json.loads(p.read_text()) for p in args.compare)
        print(comparison_table(old, new, "by_module", "module"))
        print()
        print(comparison_table(old, new, "by_kind", "kind of input"))
        return 0
    import tempfile

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="audit_inputs."))
    cases = catalogue(workdir)
    if args.only:
        cases = [c for c in cases if re.search(args.only, c.id)]
    if args.list:
        print("\n".join(c.id for c in cases))
        return 0
    preload()
    started = time.perf_counter()
    outcomes = run_cases(cases, jobs=args.jobs, timeout=args.timeout)
    elapsed = time.perf_counter() - started
    by_kind = counts(outcomes, family)
    by_module = counts(outcomes, _module)
    print(f"{len(outcomes)} cases in {elapsed:.0f} s\n")
    print(markdown_table(by_module, "module"))
    print()
    print(markdown_table(by_kind, "kind of input"))
    bad = [o for o in outcomes if o.category not in GOOD]
    if args.details and bad:
        print("\nNot right:")
        for o in sorted(bad, key=lambda o: (o.category, o.case.id)):
            print(f"  [{o.category}] {o.case.id} (expected {o.case.expect.outcome}): {o.detail}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "cases": [
                        {
                            "id": o.case.id,
                            "target": o.case.target,
                            "argument": o.case.argument,
                            "kind": o.case.kind,
                            "family": family(o),
                            "group": o.case.group,
                            "expected": o.case.expect.outcome,
                            "category": o.category,
                            "detail": o.detail,
                            "seconds": round(o.seconds, 3),
                        }
                        for o in outcomes
                    ],
                    "by_kind": {k: dict(v) for k, v in by_kind.items()},
                    "by_module": {k: dict(v) for k, v in by_module.items()},
                    "total": dict(Counter(o.category for o in outcomes)),
                    "seconds": round(elapsed, 1),
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
