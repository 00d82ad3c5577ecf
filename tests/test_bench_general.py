"""bench/bench_general.py and its baseline (bench/baseline_general.py): the baseline loop computes
the same objective and gradients as toysup's general step on the same batch (so the benchmark
compares equal work), and the script runs end to end (``--smoke``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from toysup.step_general import Family, GeneralStep

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name):
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize(
    ("hidden_relu", "tied", "abs_target", "l1"),
    [(True, True, False, 0.0), (True, False, True, 0.0), (False, True, False, 0.05)],
)
def test_baseline_computes_the_general_steps_gradients(hidden_relu, tied, abs_target, l1):
    """Float64, same parameters and batch: loss, penalty and gradients agree to 1e-10 relative
    (the same algebra in another layout and order of operations)."""
    baseline = _load("baseline_general")
    instances, n, m, batch = 3, 6, 4, 32
    gen = torch.Generator().manual_seed(0)
    density = torch.full((instances, n), 0.4, dtype=torch.float64)
    importance = torch.rand(instances, n, generator=gen, dtype=torch.float64)
    model = baseline.NotebookFamilyModel(
        density, importance, m, hidden_relu=hidden_relu, tied=tied, signed=True,
        abs_target=abs_target, l1_hidden=l1, seed=1,
    ).double()  # fmt: skip
    with torch.no_grad():
        model.b_final.normal_(0.0, 0.2, generator=gen)
    x = model.generate_batch(batch)  # (batch, instances, n)
    loss, penalty = model.objective(x)
    (loss + penalty).sum().backward()

    step = GeneralStep(
        Family(hidden_relu, "relu", tied, abs_target, l1, 0.0), instances, n, batch,
        weight=importance / batch, dtype=torch.float64, device=x.device,
    )  # fmt: skip
    W, b = model.W.detach(), model.b_final.detach()
    W_dec = None if tied else model.W_dec.detach()
    grad_W, grad_b = torch.empty_like(W), torch.empty_like(b)
    grad_W_dec = None if tied else torch.empty_like(W_dec)
    step.gradients(x.permute(1, 2, 0).contiguous(), W, b, W_dec, grad_W, grad_b, grad_W_dec)
    close = dict(rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(step.loss(importance, b), loss.detach(), **close)
    torch.testing.assert_close(grad_W, model.W.grad, **close)
    torch.testing.assert_close(grad_b, model.b_final.grad, **close)
    if not tied:
        torch.testing.assert_close(grad_W_dec, model.W_dec.grad, **close)
    if l1:
        torch.testing.assert_close(step.penalty(), penalty.detach(), **close)


def test_bench_general_smoke(capsys):
    bench = _load("bench_general")
    assert bench.main(["--smoke"]) == 0
    table = capsys.readouterr().out
    assert "| P (n=6, m=3, 2 inst.)" in table and "| V (n=6, m=4, 2 inst.)" in table
