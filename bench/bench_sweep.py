"""Sweeps through the store and on Dask: overhead against a plain ``train()`` call, task throughput,
and a simulation of the paper-grade sweep on N workers from measured costs.

    python bench/bench_sweep.py --parts overhead --rounds 3   # the main job: train() vs sweep
    python bench/bench_sweep.py --parts job --rounds 3        # the whole main job, before vs now
    python bench/bench_sweep.py --parts throughput            # tasks/s, 1 and 2 local workers
    python bench/bench_sweep.py --parts malloc                # a task's CPU in a Dask-like process
    python bench/bench_sweep.py --parts costs simulate        # paper-grade sweep on N workers
    python bench/bench_sweep.py --json bench/results_sweep.json   # everything

overhead: the main job's training (verify.diagram.DiagramSettings defaults: 20 × 20 cells, 6
seeds, 2,000 steps, batch 1024) as one ``train(..., workers=2)`` call, as ``verify.diagram`` runs
it, against the same grid as a sweep into a fresh store: in-process threads (2 workers), a Dask
``LocalCluster`` of 2 worker processes started by the run (``scheduler="local"``: start-up and
shut-down included), and the same on a cluster already running. In rounds, back to back; the
ratios are medians over rounds (the machine is shared and its speed drifts).

job: the default ``python -m verify.phase_boundary`` end to end, in this process: as before the
store (one ``train()`` call), through the store with threads, with ``--scheduler local`` (a
LocalCluster of 2 started by the job) and with the address of a running LocalCluster of 2.

throughput: the main job's tasks (the default cut) on 1 and 2 workers, threads and a running
LocalCluster.

malloc: one main-job task's CPU time (a density row of 20 cells, 500 steps) in this process, and
in a spawned process with Dask's worker environment (``MALLOC_TRIM_THRESHOLD_=65536``) without
and with the task function's fix (``toysup.sweep.task.tune_worker_process``).

costs: what the simulation needs, measured here: a paper-grade task's time (cells of one density
row × 10 seeds, 10,000 steps) at ten densities, from the difference of two shorter runs; the step
time against task size (1, 10 and 50 cells of a row: 50 is the default cut); Dask's round trip
per task (no-op tasks returning a task-sized result); the store's write per task.

simulate: list scheduling of the paper-grade sweep's tasks (longest first, as ``run_sweep``
submits them) on N workers of this machine's single-core speed, each task paying the scheduler's
round trip, and one writer storing results one at a time; prints the predicted wall time and its
lower bounds (work / N, the longest task, the writer, the scheduler).
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from toysup import ModelConfig, train
from toysup.sweep import Axis, Sweep, run_sweep
from toysup.sweep.store import SweepStore
from toysup.sweep.task import run_task, tune_worker_process
from verify.diagram import DiagramSettings, cell_features

PAPER = dict(resolution=50, seeds=10, steps=10_000, lr=1e-3, schedule="constant")


def grid_sweep(settings: DiagramSettings, **kwargs: Any) -> Sweep:
    """The main job's grid (verify.diagram.cell_features) as a sweep."""
    r, p = settings.grid()
    from toysup import FeatureConfig

    return Sweep(
        features=FeatureConfig(n_features=settings.n_features),
        model=ModelConfig(n_features=settings.n_features, n_hidden=settings.n_hidden),
        training=settings.train_config(),
        axes=[Axis("density", p), Axis("importance", r, feature=-1)],
        **kwargs,
    )


def timed(fn: Any, *args: Any, **kwargs: Any) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """CPU time of this process, its reaped children (a cluster started and stopped inside the
    measurement) and the live processes ``pids`` (a running cluster's workers)."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    total = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    return total + sum(_proc_cpu(pid) for pid in pids)


def measured(
    fn: Any, *args: Any, pids: tuple[int, ...] | list[int] = (), **kwargs: Any
) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call."""
    cpu, start = cpu_seconds(list(pids)), time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start, cpu_seconds(list(pids)) - cpu


def local_cluster(workers: int) -> Any:
    import logging

    import distributed

    return distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=logging.CRITICAL,
    )  # fmt: skip


def overhead(rounds: int, steps: int, scratch: Path) -> dict[str, Any]:
    settings = DiagramSettings(steps=steps, device="cpu")
    features, tc = cell_features(settings), settings.train_config()
    model = ModelConfig(n_features=2, n_hidden=1)
    sweep = grid_sweep(settings)
    rows: list[dict[str, tuple[float, float]]] = []
    with local_cluster(2) as cluster:
        import distributed

        with distributed.Client(cluster, set_as_default=False) as client:
            workers = list(client.run(os.getpid).values())
        run_sweep(sweep, scratch / "warm-up.zarr", scheduler=cluster, progress=False)
        for k in range(rounds):
            quiet = {"progress": False}
            row = {
                "train": measured(train, features, model, tc, workers=2, **quiet),
                "threads": measured(run_sweep, sweep, scratch / f"t{k}.zarr", workers=2, **quiet),
                "local_started": measured(
                    run_sweep, sweep, scratch / f"l{k}.zarr", scheduler="local", workers=2, **quiet
                ),
                "local_running": measured(
                    run_sweep, sweep, scratch / f"r{k}.zarr", scheduler=cluster, pids=workers,
                    **quiet,
                ),
            }  # fmt: skip
            rows.append(row)
            print(f"round {k}: " + ", ".join(f"{a} {w:.1f} s wall, {c:.1f} s CPU"
                                             for a, (w, c) in row.items()), flush=True)  # fmt: skip
    ratios = ratio_table(rows, "path", "train()")
    return {"steps": steps, "tasks": sweep.n_tasks, "rounds": rows, "ratios": ratios}


def ratio_table(
    rows: list[dict[str, tuple[float, float]]], first: str, base: str
) -> dict[str, dict[str, float]]:
    """Print a Markdown table of the rounds' (wall, CPU) seconds per path: medians, and the
    median (range) of each round's ratio to its first path (``base``, as the header says it);
    return the median ratios per path."""
    names = list(rows[0])
    print(
        f"\n| {first} | wall (s) | wall / {base} | CPU (s) | CPU / {base} |\n|---|---|---|---|---|"
    )
    ratios: dict[str, dict[str, float]] = {}
    for name in names:
        wall = [r[name][0] / r[names[0]][0] for r in rows]
        cpu = [r[name][1] / r[names[0]][1] for r in rows]
        ratios[name] = {"wall": statistics.median(wall), "cpu": statistics.median(cpu)}
        print(f"| {name} | {statistics.median(r[name][0] for r in rows):.1f} | "
              f"{ratios[name]['wall']:.2f} ({min(wall):.2f}–{max(wall):.2f}) | "
              f"{statistics.median(r[name][1] for r in rows):.1f} | "
              f"{ratios[name]['cpu']:.2f} ({min(cpu):.2f}–{max(cpu):.2f}) |")  # fmt: skip
    return ratios


def job_overhead(rounds: int, scratch: Path) -> dict[str, Any]:
    """The default main job end to end (``verify.phase_boundary`` in this process: training,
    theory maps, files): as before the sweep (one ``train()`` call, no store), through the store
    with threads, on a LocalCluster of 2 started by the job, and on a running one."""
    import dataclasses

    from verify import job, phase_boundary
    from verify.diagram import run_diagram

    def before_compute(settings: Any, args: Any) -> Any:
        return run_diagram(settings, progress=False, workers=args.workers)

    before = dataclasses.replace(phase_boundary.JOB, compute=before_compute, keep=None)
    base = ["--quiet", "--workers", "2"]
    rows: list[dict[str, tuple[float, float]]] = []
    with local_cluster(2) as cluster:
        import distributed

        with distributed.Client(cluster, set_as_default=False) as client:
            workers = list(client.run(os.getpid).values())
        address = cluster.scheduler_address
        warm = ["--out", str(scratch / "jw"), "--quiet", "--scheduler", address]
        phase_boundary.main([*warm, "--steps", "50"])  # imports in the workers
        for k in range(rounds):
            row = {
                "before": measured(job.run, before, [*base, "--out", str(scratch / f"jb{k}")]),
                "store": measured(phase_boundary.main, [*base, "--out", str(scratch / f"js{k}")]),
                "local_started": measured(
                    phase_boundary.main,
                    [*base, "--out", str(scratch / f"jl{k}"), "--scheduler", "local"],
                ),
                "local_running": measured(
                    phase_boundary.main,
                    ["--quiet", "--out", str(scratch / f"jr{k}"), "--scheduler", address],
                    pids=workers,
                ),
            }
            rows.append(row)
            print(f"job round {k}: " + ", ".join(f"{a} {w:.1f} s wall, {c:.1f} s CPU"
                                                 for a, (w, c) in row.items()), flush=True)  # fmt: skip
    return {"rounds": rows, "ratios": ratio_table(rows, "main job", "before")}


def throughput(steps: int, scratch: Path) -> dict[str, Any]:
    sweep = grid_sweep(DiagramSettings(steps=steps, device="cpu"))
    out: dict[str, float] = {}
    for workers in (1, 2):
        wall = timed(
            run_sweep, sweep, scratch / f"tp{workers}.zarr", workers=workers, progress=False
        )
        out[f"threads_{workers}"] = sweep.n_tasks / wall
        with local_cluster(workers) as cluster:
            run_sweep(
                sweep, scratch / f"warm{workers}.zarr", scheduler=cluster, progress=False
            )  # warm-up
            wall = timed(
                run_sweep, sweep, scratch / f"tl{workers}.zarr", scheduler=cluster, progress=False
            )
        out[f"local_{workers}"] = sweep.n_tasks / wall
    print(f"\n{sweep.n_tasks} tasks of {int(np.prod(sweep.task_shape))} cells × 6 seeds × "
          f"{steps} steps")  # fmt: skip
    print("| workers | threads (tasks/s) | LocalCluster (tasks/s) |\n|---|---|---|")
    for w in (1, 2):
        print(f"| {w} | {out[f'threads_{w}']:.3f} | {out[f'local_{w}']:.3f} |")
    return {"steps": steps, "tasks": sweep.n_tasks, "tasks_per_s": out}


def task_seconds(
    sweep: Sweep, task_index: int, steps: tuple[int, int] = (200, 400)
) -> tuple[float, float]:
    """(seconds per step, fixed seconds) of a task, from runs of two lengths, one thread: CPU
    seconds of the training thread (what a dedicated core would take; wall time on this shared
    machine drifts by tens of percent)."""
    from dataclasses import replace

    import torch

    torch.set_num_threads(1)
    task = sweep.tasks()[task_index]
    times = []
    for s in steps:
        training = replace(task.training, steps=s)
        runs = []
        for _ in range(3):  # CPU time of this thread: train(workers=1) runs here, all of it
            start = time.thread_time()
            train(task.features, task.model, training, workers=1, progress=False)
            runs.append(time.thread_time() - start)
        times.append(min(runs))
    per_step = (times[1] - times[0]) / (steps[1] - steps[0])
    return per_step, max(0.0, times[0] - steps[0] * per_step)


def costs(scratch: Path) -> dict[str, Any]:
    settings = DiagramSettings(**PAPER, device="cpu")
    _, p = settings.grid()
    rows = [*range(0, 50, 5), 49]
    by_size: dict[int, dict[str, list[float]]] = {}
    for size in (1, 10, 50):
        sweep = grid_sweep(settings, task_shape={"importance": size})
        per_row = 50 // size
        measured = [task_seconds(sweep, row * per_row) for row in rows]
        by_size[size] = {
            "per_step_s": [m[0] for m in measured],
            "fixed_s": [m[1] for m in measured],
        }
        print(f"task of {size} cells: ms per step at p = {p[rows[0]]:.3g} … {p[rows[-1]]:.3g}: "
              + ", ".join(f"{1e3 * m[0]:.2f}" for m in measured), flush=True)  # fmt: skip
    # Dask: round trip of no-op tasks that return a paper task's result
    sweep = grid_sweep(settings)
    task = sweep.tasks()[0]
    from dataclasses import replace

    sample = run_task(task.features, task.model, replace(task.training, steps=100))
    sample["coords"]["log_step"] = (("log_step",), np.arange(101))
    history = np.zeros((task.n_configs, settings.seeds, 101))
    sample["arrays"]["history_loss"] = (("seed", "log_step"), history)
    trips = {}
    with local_cluster(2) as cluster:
        import distributed

        with distributed.Client(cluster) as client:
            for workers in (1, 2):
                targets = list(client.scheduler_info()["workers"])[:workers]
                futures = [
                    client.submit(lambda i, s=sample: s, i, pure=False, workers=targets)
                    for i in range(20)
                ]
                client.gather(futures)
                start = time.perf_counter()
                futures = [
                    client.submit(lambda i, s=sample: s, i, pure=False, workers=targets)
                    for i in range(300)
                ]
                for f in distributed.as_completed(futures):
                    f.result()
                trips[workers] = (time.perf_counter() - start) / 300
    # the store: one paper task's write
    store = SweepStore.open(scratch / "writes.zarr", sweep)
    writes = []
    for t in sweep.tasks()[:60]:  # CPU time of the process: Zarr encodes and writes in threads
        start = time.process_time()
        store.write_task(t, sample)
        writes.append(time.process_time() - start)
    store.close()
    write_s = statistics.median(writes[10:])
    print(f"Dask round trip per no-op task: {1e3 * trips[1]:.1f} ms (1 worker), "
          f"{1e3 * trips[2]:.1f} ms (2 workers); store write per task: {1e3 * write_s:.1f} ms")  # fmt: skip
    return {"rows": rows, "density": [float(p[r]) for r in rows], "by_size": by_size,
            "dask_round_trip_s": trips, "store_write_s": write_s}  # fmt: skip


def _task_cpu(task: Any, tune: bool) -> float:
    """CPU seconds of this thread training ``task`` (in whatever process runs this)."""
    if tune:
        tune_worker_process()
    start = time.thread_time()
    train(task.features, task.model, task.training, workers=1, progress=False)
    return time.thread_time() - start


def malloc(repeats: int) -> dict[str, Any]:
    """A main-job task's CPU time in this process, and in a process started like a Dask worker
    (``MALLOC_TRIM_THRESHOLD_=65536``) without and with :func:`tune_worker_process`."""
    import multiprocessing
    from dataclasses import replace

    task = grid_sweep(DiagramSettings(device="cpu"), task_shape={"importance": 20}).tasks()[10]
    task = replace(task, training=replace(task.training, steps=500))
    saved = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    os.environ["MALLOC_TRIM_THRESHOLD_"] = "65536"  # what Dask's nanny sets for its workers
    rows: dict[str, list[float]] = {"this process": [], "as a Dask worker": [], "tuned": []}
    try:
        for tuned in (False, True):
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                pool.apply(_task_cpu, (task, tuned))  # warm-up (imports)
                for _ in range(repeats):
                    rows["tuned" if tuned else "as a Dask worker"].append(
                        pool.apply(_task_cpu, (task, tuned))
                    )
                    rows["this process"].append(_task_cpu(task, False))
    finally:
        if saved is None:
            del os.environ["MALLOC_TRIM_THRESHOLD_"]
        else:
            os.environ["MALLOC_TRIM_THRESHOLD_"] = saved
    base = statistics.median(rows["this process"])
    print("\n| process | CPU s per task, median | / this process |\n|---|---|---|")
    for name, values in rows.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.3f} | {med / base:.2f} |")
    return {name: statistics.median(v) for name, v in rows.items()}


def paper_durations(c: dict[str, Any], size: int) -> list[float]:
    """Seconds of every task of the paper-grade sweep with ``size`` cells per task, one core:
    fixed + 10,000 × per-step, interpolated in log density between the measured rows."""
    _, p = DiagramSettings(**PAPER).grid()
    measured = c["by_size"][str(size)] if str(size) in c["by_size"] else c["by_size"][size]
    logp = np.log(c["density"])
    per_step = np.interp(np.log(p), logp, measured["per_step_s"])
    fixed = np.interp(np.log(p), logp, measured["fixed_s"])
    seconds = fixed + PAPER["steps"] * per_step  # one task per row position
    return [float(s) for s in seconds for _ in range(50 // size)]


def simulate_wall(durations: list[float], workers: int, trip_s: float, write_s: float) -> float:
    """List scheduling, longest first; each task occupies a worker for its duration plus the
    scheduler's round trip; one writer stores results in completion order."""
    free = [0.0] * workers
    done = []
    for d in sorted(durations, reverse=True):
        start = heapq.heappop(free)
        heapq.heappush(free, start + d + trip_s)
        done.append(start + d + trip_s)
    writer = 0.0
    for t in sorted(done):
        writer = max(writer, t) + write_s
    return writer


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def simulate(c: dict[str, Any]) -> dict[str, Any]:
    trip = c["dask_round_trip_s"]
    trip_s = float(trip.get("1", trip.get(1)))
    write_s = float(c["store_write_s"])
    out = {}
    print("\n| cells per task | tasks | N | predicted wall | work / N | longest task | writer | "
          "limited by |\n|---|---|---|---|---|---|---|---|")  # fmt: skip
    for size in (50, 10, 1):
        durations = paper_durations(c, size)
        for n in (1, 8, 32, 64, 256):
            wall = simulate_wall(durations, n, trip_s, write_s)
            bounds = {
                "work / N": (sum(durations) + len(durations) * trip_s) / n,
                "longest task": max(durations),
                "writer": len(durations) * write_s,
            }
            limit = max(bounds, key=lambda k: bounds[k])
            out[f"{size}_{n}"] = {"wall_s": wall, **bounds}
            print(f"| {size} | {len(durations)} | {n} | {_duration(wall)} | "
                  f"{_duration(bounds['work / N'])} | {bounds['longest task']:.0f} s | "
                  f"{bounds['writer']:.0f} s | {limit} |")  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--parts",
        nargs="+",
        default=["overhead", "job", "throughput", "malloc", "costs", "simulate"],
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--steps", type=int, default=2000, help="main job's steps (overhead, throughput)"
    )
    parser.add_argument("--json", type=Path, help="write the figures here (and read costs from it)")
    args = parser.parse_args(argv)
    results: dict[str, Any] = (
        json.loads(args.json.read_text()) if args.json and args.json.exists() else {}
    )
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        if "overhead" in args.parts:
            results["overhead"] = overhead(args.rounds, args.steps, scratch)
        if "job" in args.parts:
            results["job"] = job_overhead(args.rounds, scratch)
        if "throughput" in args.parts:
            results["throughput"] = throughput(args.steps, scratch)
        if "costs" in args.parts:
            results["costs"] = costs(scratch)
        if "malloc" in args.parts:
            results["malloc"] = malloc(args.rounds * 2)
    if "simulate" in args.parts:
        if "costs" not in results:
            print("simulate needs the costs part (run it, or pass --json with earlier costs)")
            return 2
        results["simulate"] = simulate(results["costs"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
