"""The Gram-matrix step (toysup.step_gram) against torch autograd and the dense step (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from toysup.data import SparseBatch
from toysup.models import loss_per_instance
from toysup.step import TiedStep
from toysup.step_gram import GramStep, _stable_order


def _as_entries(x: torch.Tensor) -> SparseBatch:
    """x (instances, n, B) -> its non-zero entries in row order."""
    instances, n, batch = x.shape
    nz = torch.nonzero(x.reshape(instances * n, batch))
    rows, examples = nz[:, 0], nz[:, 1]
    return SparseBatch(instances, n, batch, rows, examples, x.reshape(-1, batch)[rows, examples])


@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize(
    ("instances", "n", "m", "batch", "density"),
    [(3, 6, 2, 17, 0.3), (2, 40, 5, 64, 0.05), (1, 7, 7, 5, 1.0), (2, 9, 3, 30, 0.0)],
)
def test_gradients_match_autograd(activation, reduction, instances, n, m, batch, density):
    """Sparse, full (density 1) and empty (density 0: every example is all zero) batches."""
    gen = torch.Generator().manual_seed(99)
    dt = torch.float64
    W = torch.randn(instances, m, n, generator=gen, dtype=dt)
    b = 0.3 * torch.randn(instances, n, generator=gen, dtype=dt)
    importance = torch.rand(instances, n, generator=gen, dtype=dt) + 0.1
    x = torch.rand(instances, n, batch, generator=gen, dtype=dt)
    x = x * (torch.rand(instances, n, batch, generator=gen, dtype=dt) < density)

    Wg, bg = W.clone().requires_grad_(), b.clone().requires_grad_()
    x_bn = x.transpose(1, 2)  # (instances, batch, n) for the autograd reference
    loss = loss_per_instance(Wg, bg, x_bn, importance, activation, reduction).sum()
    loss.backward()

    step = GramStep(instances, n, m, batch, relu=activation == "relu", dtype=dt, device=W.device)
    scale = 1.0 / n if reduction == "mean" else 1.0
    grad_W, grad_b = torch.empty_like(W), torch.empty_like(b)
    step.gradients(_as_entries(x), W, b, 2 * scale * importance / batch, grad_W, grad_b)
    # Same algebra, another order of float64 operations (WᵀW x instead of Wᵀ(W x)): ~1e-15 relative.
    torch.testing.assert_close(grad_W, Wg.grad, rtol=1e-11, atol=1e-13)
    torch.testing.assert_close(grad_b, bg.grad, rtol=1e-11, atol=1e-13)
    torch.testing.assert_close(
        step.loss(scale * importance, b),
        loss_per_instance(W, b, x_bn, importance, activation, reduction),
        rtol=1e-12,
        atol=1e-14,
    )


def test_agrees_with_the_dense_step_in_float32():
    """float32, n = 400, m = 30, B = 1024 at p = 0.01 (the geometry workload the Gram step is
    chosen for): both steps round differently; they agree to float32 accuracy of sums of ~n terms."""
    gen = torch.Generator().manual_seed(3)
    instances, n, m, batch = 2, 400, 30, 1024
    W = 0.1 * torch.randn(instances, m, n, generator=gen)
    b = -0.05 * torch.rand(instances, n, generator=gen)
    c = torch.full((instances, n), 2.0 / batch)
    x = torch.rand(instances, n, batch, generator=gen)
    x *= torch.rand(instances, n, batch, generator=gen) < 0.01
    dense = TiedStep(instances, n, m, batch, relu=True, dtype=x.dtype, device=x.device)
    gram = GramStep(instances, n, m, batch, relu=True, dtype=x.dtype, device=x.device)
    gw = [torch.empty_like(W) for _ in range(2)]
    gb = [torch.empty_like(b) for _ in range(2)]
    dense.gradients(x, W, b, c, gw[0], gb[0])
    gram.gradients(_as_entries(x), W, b, c, gw[1], gb[1])
    scale = float(gw[0].abs().max())
    torch.testing.assert_close(gw[1], gw[0], rtol=0, atol=1e-5 * scale)
    torch.testing.assert_close(gb[1], gb[0], rtol=0, atol=1e-5 * float(gb[0].abs().max()))
    imp = torch.ones(instances, n)
    torch.testing.assert_close(gram.loss(imp, b), dense.loss(imp, b), rtol=1e-5, atol=0)


@pytest.mark.parametrize("n_keys", [100, 70_000])  # numpy's radix sort, torch.sort
def test_stable_order(n_keys):
    keys = torch.randint(0, n_keys, (5000,), generator=torch.Generator().manual_seed(0))
    order = _stable_order(keys, n_keys)
    expected = sorted(range(keys.numel()), key=lambda i: (int(keys[i]), i))
    assert order.tolist() == expected


def test_loss_before_gradients_is_an_error():
    step = GramStep(1, 3, 2, 4, relu=True, dtype=torch.float32, device=torch.device("cpu"))
    with pytest.raises(RuntimeError, match="call gradients"):
        step.loss(torch.ones(1, 3), torch.zeros(1, 3))


def test_cost_model_picks_the_gram_step_only_where_it_pays():
    """At n = 400, m = 30, B = 1024 (bench/bench_kinds.py measured it fastest for p = 0.003 and
    0.01, the row-sparse or dense kinds at p >= 0.03), never for few features, and never when its
    n × n matrices would outgrow the batch (n > B)."""
    from toysup._blocks import sampler_costs

    def pick(n, m, p, batch=1024):
        costs = sampler_costs(np.full((1, n), p), batch, m)
        return min(costs, key=costs.__getitem__)

    assert [pick(400, 30, p) for p in (0.003, 0.01)] == ["gram", "gram"]
    assert pick(400, 30, 0.1) != "gram" and pick(400, 30, 0.03) != "gram"
    assert all(pick(n, 1, p) != "gram" for n in (2, 3, 20) for p in (0.001, 0.01, 0.1))
    assert pick(2000, 3, 1e-4, batch=1024) != "gram"
