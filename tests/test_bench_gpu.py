"""bench/bench_gpu.py, the CUDA benchmark, checked on CPU: its fused step computes toysup's
gradients, and the script runs end to end (``--device cpu --smoke``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch

from toysup.step import TiedStep

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _bench_gpu():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_gpu", BENCH / "bench_gpu.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_fused_step_matches_toysup_step():
    """Broadcast form (n·m ≤ 16) and batched products: same gradients as toysup.step for the
    same draw, to float64 rounding."""
    bench = _bench_gpu()
    for instances, n, m in [(5, 2, 1), (3, 20, 5)]:
        batch, dt = 64, torch.float64
        gen = torch.Generator().manual_seed(1)
        W = torch.randn(instances, m, n, generator=gen, dtype=dt)
        b = 0.2 * torch.randn(instances, n, generator=gen, dtype=dt)
        c = torch.rand(instances, n, generator=gen, dtype=dt)
        p = 0.1 + 0.5 * torch.rand(instances, n, generator=gen, dtype=dt)
        torch.manual_seed(0)
        grad_W, grad_b = bench.fused_gradients(W, b, c, p, batch)
        torch.manual_seed(0)  # the same uniforms, drawn again
        u = torch.rand(instances, n, batch, dtype=dt)
        step = TiedStep(instances, n, m, batch, relu=True, dtype=dt, device=W.device)
        x = step.x_flat[: instances * n * batch].view(instances, n, batch)
        x.copy_(torch.where(u < p[:, :, None], u / p[:, :, None], 0.0))
        ref_W, ref_b = torch.empty_like(W), torch.empty_like(b)
        step.gradients(x, W, b, c, ref_W, ref_b)
        torch.testing.assert_close(grad_W, ref_W, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(grad_b, ref_b, rtol=1e-12, atol=1e-12)


def test_script_runs_on_cpu(tmp_path, capsys):
    bench = _bench_gpu()
    out = tmp_path / "gpu.json"
    args = ["--device", "cpu", "--smoke", "--parts", "workloads,paper", "--workloads", "B"]
    assert bench.main([*args, "--repeats", "1", "--json", str(out)]) == 0
    assert "paper-grade sweep" in capsys.readouterr().out and out.exists()
