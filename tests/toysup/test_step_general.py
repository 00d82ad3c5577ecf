"""The general step (toysup.step_general) against autograd of a plain reference, and the fast
steps against the general step, in float64.

The reference below is written independently of toysup: one instance at a time, examples as
rows, every model of the family spelled out with ``@``, the all-zero examples of a compact batch
appended explicitly (the general step adds them in closed form). Its gradients come from
``torch.autograd``. Both compute the same algebra in a different order of float64 operations, so
they agree to rounding (~1e-15 relative); the tolerance 1e-10 leaves room for sums of a few
thousand terms and fails at any wrong term. (The subgradient of ``|h|`` at ``h = 0`` is 0 in
both, torch's convention; the ReLU's at 0 is 0.)
"""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from toysup import FeatureConfig, ModelConfig, TrainConfig
from toysup.data import SparseBatch
from toysup.step import TiedStep
from toysup.step_general import Family, GeneralStep, is_fast
from toysup.step_general_sparse import GeneralSparseStep
from toysup.step_gram import GramStep

DT = torch.float64
RTOL = 1e-10
OUTPUT = {"relu": torch.relu, "linear": lambda z: z, "gelu": F.gelu, "softplus": F.softplus}


def reference_objective(W, b, W_dec, x, importance, variant, batch):
    """Per-instance loss and penalty, x (instances, n, C) with C ≤ batch explicit examples."""
    hidden_relu, activation, abs_target, l1_hidden, l1_weights = variant
    losses, penalties = [], []
    for i in range(W.shape[0]):
        xi = torch.zeros(batch, W.shape[2], dtype=DT)
        xi[: x.shape[2]] = x[i].T  # the implied examples are all zero
        h = xi @ W[i].T  # (batch, m)
        if hidden_relu:
            h = torch.relu(h)
        decoder = W[i] if W_dec is None else W_dec[i].T  # (m, n)
        out = OUTPUT[activation](h @ decoder + b[i])
        target = xi.abs() if abs_target else xi
        losses.append((importance[i] * (target - out) ** 2).sum(1).mean())
        penalty = l1_hidden * h.abs().sum(1).mean() + l1_weights * W[i].abs().sum()
        if W_dec is not None:
            penalty = penalty + l1_weights * W_dec[i].abs().sum()
        penalties.append(penalty)
    return torch.stack(losses), torch.stack(penalties)


VARIANTS = list(
    itertools.product(
        [False, True],  # hidden ReLU
        ["relu", "linear", "gelu", "softplus"],
        [True, False],  # tied
        [False, True],  # target |x|
        [(0.0, 0.0), (0.03, 0.02)],  # (l1_hidden, l1_weights)
    )
)


@pytest.mark.parametrize(("hidden_relu", "activation", "tied", "abs_target", "l1"), VARIANTS)
@pytest.mark.parametrize(("batch", "explicit"), [(24, 24), (24, 7)])
def test_gradients_match_autograd_of_reference(
    hidden_relu, activation, tied, abs_target, l1, batch, explicit
):
    instances, n, m = 3, 5, 3
    gen = torch.Generator().manual_seed(7)
    W = torch.randn(instances, m, n, generator=gen, dtype=DT)
    W_dec = None if tied else torch.randn(instances, n, m, generator=gen, dtype=DT)
    b = 0.3 * torch.randn(instances, n, generator=gen, dtype=DT)
    importance = torch.rand(instances, n, generator=gen, dtype=DT) + 0.1
    x = 2 * torch.rand(instances, n, explicit, generator=gen, dtype=DT) - 1  # signed values
    x = x * (torch.rand(instances, n, explicit, generator=gen, dtype=DT) < 0.6)
    variant = (hidden_relu, activation, abs_target, *l1)

    leaves = [W.clone().requires_grad_(), b.clone().requires_grad_()]
    if W_dec is not None:
        leaves.append(W_dec.clone().requires_grad_())
    loss, penalty = reference_objective(
        leaves[0], leaves[1], leaves[2] if W_dec is not None else None, x, importance, variant,
        batch,
    )  # fmt: skip
    expected = torch.autograd.grad((loss + penalty).sum(), leaves)

    family = Family(hidden_relu, activation, tied, abs_target, *l1)
    step = GeneralStep(family, instances, n, batch, weight=importance / batch, dtype=DT,
                       device=W.device)  # fmt: skip
    grads = [torch.full_like(t, float("nan")) for t in leaves]
    step.gradients(x, W, b, W_dec, grads[0], grads[1], grads[2] if W_dec is not None else None)
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=RTOL, atol=RTOL * want.abs().max().item())
    torch.testing.assert_close(step.loss(importance, b), loss.detach(), rtol=RTOL, atol=0)
    if any(l1):
        torch.testing.assert_close(step.penalty(), penalty.detach(), rtol=RTOL, atol=0)


def _as_entries(x: torch.Tensor) -> SparseBatch:
    instances, n, batch = x.shape
    nz = torch.nonzero(x.reshape(instances * n, batch))
    rows, examples = nz[:, 0], nz[:, 1]
    return SparseBatch(instances, n, batch, rows, examples, x.reshape(-1, batch)[rows, examples])


@pytest.mark.parametrize(("hidden_relu", "activation", "tied", "abs_target", "l1"), VARIANTS)
@pytest.mark.parametrize("density", [0.6, 0.05])
def test_sparse_step_gradients_match_autograd_of_reference(
    hidden_relu, activation, tied, abs_target, l1, density
):
    """The general step on the batch's non-zero entries (toysup.step_general_sparse) against
    the same reference, same tolerance; at density 0.05 some examples of an instance have no
    entry at all (empty bags of the gathers) and some rows none either."""
    instances, n, m, batch = 3, 5, 3, 24
    gen = torch.Generator().manual_seed(11)
    W = torch.randn(instances, m, n, generator=gen, dtype=DT)
    W_dec = None if tied else torch.randn(instances, n, m, generator=gen, dtype=DT)
    b = 0.3 * torch.randn(instances, n, generator=gen, dtype=DT)
    importance = torch.rand(instances, n, generator=gen, dtype=DT) + 0.1
    x = 2 * torch.rand(instances, n, batch, generator=gen, dtype=DT) - 1  # signed values
    x = x * (torch.rand(instances, n, batch, generator=gen, dtype=DT) < density)
    entries = _as_entries(x)
    if density < 0.5:  # the edge cases are there
        assert not (x != 0).any(2).all() and not (x != 0).any(1).all()
    variant = (hidden_relu, activation, abs_target, *l1)

    leaves = [W.clone().requires_grad_(), b.clone().requires_grad_()]
    if W_dec is not None:
        leaves.append(W_dec.clone().requires_grad_())
    loss, penalty = reference_objective(
        leaves[0], leaves[1], leaves[2] if W_dec is not None else None, x, importance, variant,
        batch,
    )  # fmt: skip
    expected = torch.autograd.grad((loss + penalty).sum(), leaves)

    family = Family(hidden_relu, activation, tied, abs_target, *l1)
    step = GeneralSparseStep(family, instances, n, batch, weight=importance / batch, dtype=DT,
                             device=W.device)  # fmt: skip
    grads = [torch.full_like(t, float("nan")) for t in leaves]
    step.gradients(
        entries, W, b, W_dec, grads[0], grads[1], grads[2] if W_dec is not None else None
    )
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=RTOL, atol=RTOL * want.abs().max().item())
    torch.testing.assert_close(step.loss(importance, b), loss.detach(), rtol=RTOL, atol=0)
    if any(l1):
        torch.testing.assert_close(step.penalty(), penalty.detach(), rtol=RTOL, atol=0)


@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize(
    ("instances", "n", "m", "batch", "explicit"),
    [(3, 4, 2, 40, 40), (3, 4, 2, 40, 9), (2, 20, 5, 64, 64), (2, 20, 5, 64, 30)],
)
def test_fast_steps_agree_with_general_step(activation, instances, n, m, batch, explicit):
    """On the models both support (tied, no hidden activation, ReLU or linear output, target x,
    no penalty), the hand-derived dense/compact step (both its broadcast and its batched-product
    forms, n·m·C ≤ 512 or not) and the Gram step give the general step's loss and gradients to
    1e-10 relative (float64)."""
    gen = torch.Generator().manual_seed(3)
    W = torch.randn(instances, m, n, generator=gen, dtype=DT)
    b = 0.3 * torch.randn(instances, n, generator=gen, dtype=DT)
    importance = torch.rand(instances, n, generator=gen, dtype=DT) + 0.1
    x = torch.rand(instances, n, explicit, generator=gen, dtype=DT)
    x = x * (torch.rand(instances, n, explicit, generator=gen, dtype=DT) < 0.3)
    relu = activation == "relu"

    general = GeneralStep(Family(False, activation, True, False, 0.0, 0.0), instances, n, batch,
                          weight=importance / batch, dtype=DT, device=W.device)  # fmt: skip
    want_W, want_b = torch.empty_like(W), torch.empty_like(b)
    general.gradients(x, W, b, None, want_W, want_b, None)
    want_loss = general.loss(importance, b)

    tied = TiedStep(instances, n, m, batch, relu=relu, dtype=DT, device=W.device)
    xs = tied.x_flat[: x.numel()].view_as(x)
    xs.copy_(x)
    got_W, got_b = torch.empty_like(W), torch.empty_like(b)
    tied.gradients(xs, W, b, 2 * importance / batch, got_W, got_b)
    steps = [("tied", got_W, got_b, tied.loss(importance, b))]
    if explicit == batch:  # the Gram step takes full batches as entries
        gram = GramStep(instances, n, m, batch, relu=relu, dtype=DT, device=W.device)
        gW, gb = torch.empty_like(W), torch.empty_like(b)
        gram.gradients(_as_entries(x), W, b, 2 * importance / batch, gW, gb)
        steps.append(("gram", gW, gb, gram.loss(importance, b)))
    for name, gW, gb, loss in steps:
        for got, want in ((gW, want_W), (gb, want_b), (loss, want_loss)):
            torch.testing.assert_close(
                got, want, rtol=RTOL, atol=RTOL * want.abs().max().item(), msg=name
            )


def test_fast_path_covers_exactly_the_basic_models():
    feats = FeatureConfig(n_features=4)
    model = ModelConfig(n_features=4, n_hidden=2)
    training = TrainConfig()
    assert is_fast(feats, model, training)
    assert is_fast(feats, ModelConfig(n_features=4, n_hidden=2, activation="linear"), training)
    # |x| = x for unit values: the identity target, so the fast path
    assert is_fast(feats, model, TrainConfig(target="abs"))
    general = [
        (feats, ModelConfig(n_features=4, n_hidden=2, hidden_activation="relu"), training),
        (feats, ModelConfig(n_features=4, n_hidden=2, activation="gelu"), training),
        (feats, ModelConfig(n_features=4, n_hidden=2, activation="softplus"), training),
        (feats, ModelConfig(n_features=4, n_hidden=2, tied=False), training),
        (feats, model, TrainConfig(l1_hidden=0.1)),
        (feats, model, TrainConfig(l1_weights=0.1)),
        (FeatureConfig(n_features=4, values="signed"), model, training),
        (FeatureConfig(n_features=4, values="signed"), model, TrainConfig(target="abs")),
        (FeatureConfig(n_features=4, structure="correlated"), model, training),
        (FeatureConfig(n_features=4, structure="anticorrelated", density=0.5), model, training),
    ]
    for config in general:
        assert not is_fast(*config), config


def test_family_forward_matches_reference_in_float32_shapes():
    """Shapes and the untied decoder's orientation: W_dec (instances, n, m) maps h to features."""
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(2, 3, 4, generator=gen)
    W_dec = torch.randn(2, 4, 3, generator=gen)
    b = torch.randn(2, 4, generator=gen)
    x = torch.rand(2, 4, 6, generator=gen)
    h, out = Family(True, "relu", False, False, 0.0, 0.0).forward(W, b, W_dec, x)
    assert h.shape == (2, 3, 6) and out.shape == (2, 4, 6)
    expected = torch.relu(torch.einsum("inm,imc->inc", W_dec, torch.relu(W @ x)) + b[:, :, None])
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
