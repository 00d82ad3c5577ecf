"""CUDA trainer benchmark: toysup against the reference loop on the GPU, the paper-grade sweep, and
the GPU's limits. Needs a CUDA device (``--device cpu --smoke`` only checks that the script runs).

    python bench/bench_gpu.py --json bench/results_gpu.json     # everything, markdown on stdout
    python bench/bench_gpu.py --parts paper                     # only the paper-grade sweep

Parts:
  workloads  bench_trainer's workloads A, B, C (batch 1024): toysup.train(device="cuda") against
             toysup.reference's loop on the same GPU, in rounds that time both back to back; the
             speed-up is the median of the per-round ratios. Step times by differencing
             (time(2S) - time(S)) / S, which removes set-up and evaluation.
  paper      the paper-grade n=2, m=1 phase diagram: 50 × 50 cells (importance of the second
             feature log-spaced in [0.1, 10], density in [0.01, 1]) × 10 seeds × 10,000 steps at
             batch 1024, one train() call, wall time including set-up and the final evaluation
             (target: 60 s on one H200).
  graphs     an experiment for the question "do CUDA graphs help?": one block set up as train()
             sets it up on CUDA, its step (draw, gradients, fused AdamW at a constant learning
             rate) timed eagerly and replayed from a captured CUDA graph, per workload and at the
             paper-grade instance count. The trainer does not use graphs (yet): this says where
             they would pay.
  limits     the GPU's limits for the dense CUDA step over N = instances·n·B entries: memory
             bandwidth (a device-to-device copy of 1 GiB), the Philox fill rate of torch.rand (the
             dense sampler's draw), and the bytes the step's kernels move: 19 N + 5 M floats with
             M = instances·m·B (counted kernel by kernel in docs/performance.md, "GPU"). The fractions
             printed are (bytes / bandwidth) / step time and (one uniform fill) / step time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_trainer import BATCH, Workload, workloads

from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from toysup._blocks import Block, make_block
from toysup.models import init_weights
from toysup.reference import ReferenceModel, train_reference

#: Floats moved per entry and per hidden entry by the dense step's kernels (docs/performance.md).
FLOATS_PER_ENTRY, FLOATS_PER_HIDDEN = 19, 5


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(run: Callable[[], object], device: torch.device, calls: int = 1) -> float:
    """Mean seconds per call of ``run`` over ``calls`` calls, the device synchronised around them."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(calls):
        run()
    synchronize(device)
    return (time.perf_counter() - start) / calls


def median_seconds(run: Callable[[], object], device: torch.device, repeats: int = 7) -> float:
    """Median over ``repeats`` single calls of ``run``."""
    return statistics.median(seconds_per_call(run, device) for _ in range(repeats))


def features_of(w: Workload) -> FeatureConfig:
    return FeatureConfig(
        n_features=w.n, n_instances=w.instances, density=w.density, importance=w.importance
    )


def toysup_step_s(w: Workload, device: torch.device, steps: int, repeats: int) -> float:
    """Median seconds per step of toysup.train on ``device`` (set-up and evaluation removed)."""
    feats, model = features_of(w), ModelConfig(n_features=w.n, n_hidden=w.m)

    def run(s: int) -> float:
        cfg = TrainConfig(steps=s, batch_size=BATCH, eval_samples=1024, device=str(device))
        return seconds_per_call(lambda: train(feats, model, cfg, progress=False), device)

    run(4)  # warm-up: kernels, allocator, cuBLAS handles
    return statistics.median(max(run(2 * steps) - run(steps), 1e-9) / steps for _ in range(repeats))


def reference_step_s(w: Workload, device: torch.device, steps: int, repeats: int) -> float:
    """Median seconds per step of the reference notebook's loop on ``device``."""
    model = ReferenceModel(
        torch.tensor(w.density, dtype=torch.float32),
        torch.tensor(w.importance, dtype=torch.float32),
        w.m,
        seed=0,
        device=device,
    )
    train_reference(model, steps=3, batch_size=BATCH)  # warm-up
    run = lambda: train_reference(model, steps=steps, batch_size=BATCH)  # noqa: E731
    return median_seconds(run, device, repeats) / steps


def bandwidth_gbs(device: torch.device, gib: float) -> float:
    """Device memory bandwidth (GB/s) from a copy of ``gib`` GiB (read + write)."""
    n = int(gib * 2**30) // 4
    src, dst = torch.empty(n, device=device), torch.empty(n, device=device)
    src.fill_(1.0)
    return 2 * n * 4 / median_seconds(lambda: dst.copy_(src), device) / 1e9


def uniform_fill_s(device: torch.device, entries: int) -> float:
    """Seconds to fill ``entries`` float32 uniforms with torch's generator on ``device``."""
    out = torch.empty(entries, device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    return median_seconds(lambda: out.uniform_(generator=gen), device)


def paper_workload(cells: int) -> Workload:
    r = np.logspace(-1, 1, cells)
    p = np.logspace(-2, 0, cells)
    rr, pp = np.meshgrid(r, p)
    importance = np.stack([np.ones(rr.size), rr.ravel()], 1)
    density = np.repeat(pp.ravel()[:, None], 2, 1)
    return Workload("paper", 2, 1, density, importance, ref_steps=0, our_steps=0)


def one_block(w: Workload, device: torch.device) -> tuple[Block, float]:
    """The single block train() builds for ``w`` on CUDA (every instance, the dense sampler), on
    ``device``, and its learning rate."""
    feats, model = features_of(w), ModelConfig(n_features=w.n, n_hidden=w.m)
    training = TrainConfig(batch_size=BATCH, device=str(device))
    gen = torch.Generator(device=device).manual_seed(0)
    W0 = init_weights(model, w.instances, generator=gen, dtype=torch.float32)
    configs = np.arange(w.instances)
    blk = make_block(0, configs, "dense", 0, W0, feats, model, training, W0.dtype, device)
    return blk, training.lr


def eager_step(blk: Block, lr: float) -> Callable[[], None]:
    """The trainer's step for ``blk``: draw, gradients, fused AdamW."""

    def step() -> None:
        blk.compute_gradients()
        blk.optimizer.step(blk.grads, lr)

    return step


def graph_vs_eager(w: Workload, device: torch.device, steps: int) -> dict[str, object]:
    """Seconds per step of one block's step run eagerly and replayed from a CUDA graph."""
    blk, lr = one_block(w, device)
    step = eager_step(blk, lr)
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):  # warm-up off the default stream, as capture requires
        for _ in range(3):
            step()
    torch.cuda.current_stream(device).wait_stream(side)
    eager = seconds_per_call(step, device, steps)
    graph = torch.cuda.CUDAGraph()
    source = getattr(blk.source, "generator", None)
    if source is not None:  # a non-default generator must be registered with the graph
        graph.register_generator_state(source)
    with torch.cuda.graph(graph):
        step()
    replayed = seconds_per_call(graph.replay, device, steps)
    finite = bool(torch.isfinite(blk.params).all())
    return {"eager_step_s": eager, "graph_step_s": replayed, "speedup": eager / replayed,
            "params_finite": finite}  # fmt: skip


def fused_gradients(
    W: torch.Tensor, b: torch.Tensor, c: torch.Tensor, density: torch.Tensor, batch: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The dense step's draw and gradients as one function for torch.compile: uniforms drawn
    inside (in-kernel Philox on CUDA), x = u/p where u < p, and ∂L/∂W, ∂L/∂b as in toysup.step.
    For n·m ≤ 16 the products are written as broadcasts, so that the compiler can fuse the whole
    step into a few kernels that never write x, z or δ to memory."""
    instances, m, n = W.shape
    u = torch.rand(instances, n, batch, device=W.device, dtype=W.dtype)
    p = density[:, :, None]
    x = torch.where(u < p, u / p, torch.zeros((), device=W.device, dtype=W.dtype))
    if n * m <= 16:
        h = (W[:, :, :, None] * x[:, None, :, :]).sum(2)  # (I, m, B)
        z = (W.transpose(1, 2)[:, :, :, None] * h[:, None, :, :]).sum(2) + b[:, :, None]
    else:
        h = torch.bmm(W, x)
        z = torch.baddbmm(b[:, :, None], W.transpose(1, 2), h)
    delta = torch.where(z > 0, z - x, torch.zeros((), device=W.device, dtype=W.dtype))
    grad_b = delta.sum(2) * c
    Wc = W * c[:, None, :]
    if n * m <= 16:
        g = (Wc[:, :, :, None] * delta[:, None, :, :]).sum(2)  # W diag(c) δ     (I, m, B)
        grad_W = (h[:, :, None, :] * delta[:, None, :, :]).sum(3) * c[:, None, :]
        grad_W = grad_W + (g[:, :, None, :] * x[:, None, :, :]).sum(3)
    else:
        g = torch.bmm(Wc, delta)
        grad_W = torch.bmm(h, delta.transpose(1, 2)) * c[:, None, :]
        grad_W = grad_W + torch.bmm(g, x.transpose(1, 2))
    return grad_W, grad_b


def compiled_vs_eager(w: Workload, device: torch.device, steps: int) -> dict[str, object]:
    """Seconds per step: the trainer's eager step against a torch.compile'd fused draw and
    gradients (the same fused AdamW after both), and the compile time."""
    blk, lr = one_block(w, device)
    density = torch.as_tensor(w.density, dtype=blk.W.dtype, device=device)
    eager = eager_step(blk, lr)
    fused = torch.compile(fused_gradients, dynamic=False)

    def compiled() -> None:
        grad_W, grad_b = fused(blk.W, blk.b, blk.c, density, BATCH)
        blk.grad_W.copy_(grad_W)
        blk.grad_b.copy_(grad_b)
        blk.optimizer.step(blk.grads, lr)

    eager()  # warm-up
    eager_s = seconds_per_call(eager, device, steps)
    compile_s = seconds_per_call(lambda: fused(blk.W, blk.b, blk.c, density, BATCH), device)
    compiled_s = seconds_per_call(compiled, device, steps)
    return {"eager_step_s": eager_s, "compiled_step_s": compiled_s, "speedup": eager_s / compiled_s,
            "compile_s": compile_s, "params_finite": bool(torch.isfinite(blk.params).all())}  # fmt: skip


def paper_instances(args: argparse.Namespace) -> Workload:
    """Every instance of the paper-grade sweep (cells × seeds) as one workload, as train() puts
    them in one block on CUDA (tiny under ``--smoke``)."""
    cells, seeds = (4, 2) if args.smoke else (args.paper_cells, args.paper_seeds)
    w = paper_workload(cells)
    return Workload(
        "paper", 2, 1, np.repeat(w.density, seeds, axis=0),
        np.repeat(w.importance, seeds, axis=0), ref_steps=0, our_steps=0,
    )  # fmt: skip


def experiment(
    measure: Callable[[Workload, torch.device, int], dict[str, object]],
    args: argparse.Namespace,
    device: torch.device,
    steps: int,
) -> dict[str, dict[str, object]]:
    """``measure`` on each chosen workload and on the paper-grade instances; a failure is
    reported in its row, and the other rows still stand."""
    rows: dict[str, dict[str, object]] = {}
    for key in [*args.workloads, "paper"]:
        w = workloads()[key] if key != "paper" else paper_instances(args)
        try:
            rows[key] = measure(w, device, steps)
        except Exception as err:
            rows[key] = {"error": f"{type(err).__name__}: {err}"}
        print(json.dumps({key: rows[key]}), file=sys.stderr)
    return rows


def print_experiment(
    rows: dict[str, dict[str, object]], header: list[str], cells: Callable[[dict], list[str]]
) -> None:
    """A markdown table: the workload, then ``cells(row)`` or the row's error."""
    print("\n| " + " | ".join(["workload", *header]) + " |")
    print("|---" * (len(header) + 1) + "|")
    for key, row in rows.items():
        shown = (
            [f"failed: {row['error']}"] + [""] * (len(header) - 1) if "error" in row else cells(row)
        )
        print("| " + " | ".join([key, *shown]) + " |")


def limits_row(w: Workload, instances: int, step_s: float, device: torch.device, gbs: float):
    entries, hidden = instances * w.n * BATCH, instances * w.m * BATCH
    floats = FLOATS_PER_ENTRY * entries + FLOATS_PER_HIDDEN * hidden
    fill = uniform_fill_s(device, entries)
    return {
        "bytes_per_step": 4 * floats,
        "memory_bound_step_s": 4 * floats / (gbs * 1e9),
        "memory_fraction": 4 * floats / (gbs * 1e9) / step_s,
        "uniform_fill_s": fill,
        "rng_fraction": fill / step_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="device (default: cuda)")
    parser.add_argument(
        "--parts",
        default="workloads,graphs,compile,paper",
        help="comma-separated: workloads, graphs, compile, paper",
    )
    parser.add_argument("--workloads", default="ABC")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--paper-cells", type=int, default=50)
    parser.add_argument("--paper-seeds", type=int, default=10)
    parser.add_argument("--paper-steps", type=int, default=10_000)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: check the script runs")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("bench_gpu: CUDA is not available here (use --device cpu --smoke to test the script)")
        return 2
    parts = set(args.parts.split(","))
    out: dict[str, object] = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
    }
    gbs = bandwidth_gbs(device, 0.01 if args.smoke else 1.0)
    out["bandwidth_gbs"] = gbs
    print(f"device: {out['device']}, torch {torch.__version__}, copy bandwidth {gbs:,.0f} GB/s\n")

    if "workloads" in parts:
        rows = []
        for key in args.workloads:
            w = workloads()[key]
            ref_steps, our_steps = (2, 4) if args.smoke else (20, 200)
            ref, ours = [], []
            for _ in range(args.repeats):
                ref.append(reference_step_s(w, device, ref_steps, 1))
                ours.append(toysup_step_s(w, device, our_steps, 1))
            ratios = [r / o for r, o in zip(ref, ours)]
            step = statistics.median(ours)
            row = {
                "workload": key,
                "reference_inst_steps_per_s": w.instances / statistics.median(ref),
                "toysup_inst_steps_per_s": w.instances / step,
                "speedup_median": statistics.median(ratios),
                "speedup_range": [min(ratios), max(ratios)],
                "toysup_step_s": step,
                **limits_row(w, w.instances, step, device, gbs),
            }
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
        out["workloads"] = rows
        print("| workload | reference (inst-steps/s) | toysup (inst-steps/s) | speed-up, median "
              "(range) | memory-bound step / step | uniform fill / step |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        for r in rows:
            low, high = r["speedup_range"]
            print(
                f"| {r['workload']} | {r['reference_inst_steps_per_s']:,.0f} "
                f"| {r['toysup_inst_steps_per_s']:,.0f} | {r['speedup_median']:.1f}× "
                f"({low:.1f}–{high:.1f}) | {r['memory_fraction']:.2f} | {r['rng_fraction']:.2f} |"
            )

    if "graphs" in parts and device.type == "cuda":
        out["graphs"] = rows = experiment(graph_vs_eager, args, device, 50 if args.smoke else 500)
        print_experiment(
            rows,
            ["eager step (µs)", "CUDA-graph step (µs)", "speed-up"],
            lambda r: [f"{1e6 * r['eager_step_s']:,.0f}", f"{1e6 * r['graph_step_s']:,.0f}",
                       f"{r['speedup']:.2f}×"],
        )  # fmt: skip

    if "compile" in parts:
        out["compile"] = rows = experiment(
            compiled_vs_eager, args, device, 20 if args.smoke else 500
        )
        print_experiment(
            rows,
            ["eager step (µs)", "compiled draw + gradients (µs)", "speed-up", "compile (s)"],
            lambda r: [f"{1e6 * r['eager_step_s']:,.0f}", f"{1e6 * r['compiled_step_s']:,.0f}",
                       f"{r['speedup']:.2f}×", f"{r['compile_s']:.1f}"],
        )  # fmt: skip

    if "paper" in parts:
        cells, seeds, steps = args.paper_cells, args.paper_seeds, args.paper_steps
        if args.smoke:
            cells, seeds, steps = 4, 2, 20
        w = paper_workload(cells)
        cfg = TrainConfig(steps=steps, batch_size=BATCH, n_seeds=seeds, device=str(device))
        synchronize(device)
        start = time.perf_counter()
        result = train(features_of(w), ModelConfig(n_features=2, n_hidden=1), cfg, progress=False)
        synchronize(device)
        wall = time.perf_counter() - start
        instances = cells * cells * seeds
        step = result.info["runtime_s"] / steps  # an upper bound: includes set-up and evaluation
        paper = {
            "cells": cells,
            "seeds": seeds,
            "steps": steps,
            "instances": instances,
            "wall_s": wall,
            "train_runtime_s": result.info["runtime_s"],
            "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30
            if device.type == "cuda"
            else None,
            **limits_row(w, instances, step, device, gbs),
        }
        out["paper"] = paper
        print(
            f"\npaper-grade sweep ({cells}×{cells} cells × {seeds} seeds × {steps:,} steps, "
            f"{instances:,} instances): {wall:.1f} s wall; memory-bound time "
            f"{paper['memory_bound_step_s'] * steps:.1f} s ({paper['memory_fraction']:.2f} of the "
            f"whole run), one uniform fill per step {paper['uniform_fill_s'] * steps:.1f} s"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
