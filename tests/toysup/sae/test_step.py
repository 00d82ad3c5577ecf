"""The SAE's hand-derived gradients against autograd of a plain implementation (float64).

The plain implementation is written batch-major, one expression per equation of docs/sae.md; for
JumpReLU it defines the paper's pseudo-derivatives as ``torch.autograd.Function``s (Rajamanoharan
et al. 2024, eqs. 11–12), for TopK it lets autograd differentiate ``gather``/``scatter``.
"""

from __future__ import annotations

import pytest
import torch

from toysup.sae.step import (
    SAEStep,
    normalise_decoder,
    param_count,
    param_views,
    project_decoder_gradient,
)

N_INST, W_, M, B = 3, 7, 4, 33


def _rect(u: torch.Tensor) -> torch.Tensor:
    return ((u > -0.5) & (u < 0.5)).to(u.dtype)


class _JumpReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pre, theta, eps):  # type: ignore[override]
        ctx.save_for_backward(pre, theta)
        ctx.eps = eps
        return pre * (pre > theta)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        pre, theta = ctx.saved_tensors
        d_pre = (pre > theta).to(pre.dtype) * grad
        d_theta = -(theta / ctx.eps) * _rect((pre - theta) / ctx.eps) * grad
        return d_pre, d_theta, None  # theta arrives expanded: autograd sums over examples


class _Step(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pre, theta, eps):  # type: ignore[override]
        ctx.save_for_backward(pre, theta)
        ctx.eps = eps
        return (pre > theta).to(pre.dtype)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        pre, theta = ctx.saved_tensors
        d_theta = -(1.0 / ctx.eps) * _rect((pre - theta) / ctx.eps) * grad
        return None, d_theta, None


def plain_loss(h, W_enc, b_enc, W_dec, b_dec, log_theta, *, kind, k, penalty, eps, scale):
    """Σ over instances of the per-instance objective; h (I, B, m)."""
    pre = torch.einsum("iwm,ibm->ibw", W_enc, h - b_dec[:, None, :]) + b_enc[:, None, :]
    if kind == "relu":
        z = torch.relu(pre)
        sparsity = penalty * z.sum(-1)
    elif kind == "topk":
        values, index = pre.topk(k, dim=-1)
        z = torch.zeros_like(pre).scatter(-1, index, torch.relu(values))
        sparsity = torch.zeros_like(pre[..., 0])
    else:
        theta = log_theta.exp()[:, None, :]
        theta_b = theta.expand_as(pre)
        z = _JumpReLU.apply(pre, theta_b, eps)
        sparsity = penalty * _Step.apply(pre, theta_b, eps).sum(-1)
    h_hat = torch.einsum("imw,ibw->ibm", W_dec, z) + b_dec[:, None, :]
    recon = scale * ((h_hat - h) ** 2).sum(-1)
    return (recon + sparsity).mean(-1).sum()


def _setup(kind, seed=0):
    gen = torch.Generator().manual_seed(seed)
    dt = torch.float64
    h = torch.rand(N_INST, B, M, generator=gen, dtype=dt) * (
        torch.rand(N_INST, B, 1, generator=gen) < 0.6
    )
    params = {
        "W_enc": torch.randn(N_INST, W_, M, generator=gen, dtype=dt),
        "b_enc": 0.1 * torch.randn(N_INST, W_, generator=gen, dtype=dt),
        "W_dec": torch.randn(N_INST, M, W_, generator=gen, dtype=dt),
        "b_dec": 0.1 * torch.randn(N_INST, M, generator=gen, dtype=dt),
        "log_theta": torch.log(0.05 + 0.3 * torch.rand(N_INST, W_, generator=gen, dtype=dt)),
    }
    normalise_decoder(params["W_dec"])
    return h, params


@pytest.mark.parametrize(
    ("kind", "k", "penalty", "eps", "scale"),
    [
        ("relu", None, 0.07, 0.0, 1.0),
        ("relu", None, 0.0, 0.0, 0.25),
        ("topk", 3, 0.0, 0.0, 1.0),
        ("topk", 1, 0.0, 0.0, 0.25),
        ("jumprelu", None, 0.05, 0.3, 1.0),
        ("jumprelu", None, 0.0, 0.1, 0.25),
    ],
)
def test_gradients_match_autograd(kind, k, penalty, eps, scale):
    h, params = _setup(kind)
    leaves = {name: v.clone().requires_grad_(True) for name, v in params.items()}
    plain_loss(h, **leaves, kind=kind, k=k, penalty=penalty, eps=eps, scale=scale).backward()

    flat = torch.zeros(param_count(N_INST, W_, M, kind), dtype=torch.float64)
    grads = torch.zeros_like(flat)
    p, g = param_views(flat, N_INST, W_, M, kind), param_views(grads, N_INST, W_, M, kind)
    for name, view in (
        ("W_enc", p.W_enc),
        ("b_enc", p.b_enc),
        ("W_dec", p.W_dec),
        ("b_dec", p.b_dec),
    ):
        view.copy_(params[name])
    if kind == "jumprelu":
        p.log_threshold.copy_(params["log_theta"])
    step = SAEStep(
        kind,
        N_INST,
        W_,
        M,
        B,
        k=k,
        penalty=penalty,
        bandwidth=eps,
        scale=scale,
        dtype=torch.float64,
    )
    step.gradients(h.transpose(1, 2).contiguous(), p, g)
    # float64, same operations up to summation order: agreement to ~1e-15 relative; 1e-10 leaves
    # room for accumulation order without hiding any wrong term (those are O(1) relative).
    pairs = [("W_enc", g.W_enc), ("b_enc", g.b_enc), ("W_dec", g.W_dec), ("b_dec", g.b_dec)]
    if kind == "jumprelu":
        pairs.append(("log_theta", g.log_threshold))
        assert leaves["log_theta"].grad.abs().max() > 0  # the window catches some examples
    for name, ours in pairs:
        torch.testing.assert_close(ours, leaves[name].grad, rtol=1e-10, atol=1e-12, msg=name)
    recon, sparsity = step.loss(h.transpose(1, 2).contiguous(), p)
    with torch.no_grad():
        total = plain_loss(h, **params, kind=kind, k=k, penalty=penalty, eps=eps, scale=scale)
    torch.testing.assert_close((recon + sparsity).sum(), total, rtol=1e-12, atol=0.0)


def test_decoder_projection_keeps_columns_on_the_sphere():
    """The projected gradient is orthogonal to each unit column, so a small step changes the
    column norms only to second order (checked against the unprojected step's first order)."""
    _, params = _setup("relu")
    W = params["W_dec"]
    gen = torch.Generator().manual_seed(1)
    grad = torch.randn(W.shape, generator=gen, dtype=torch.float64)
    projected = grad.clone()
    project_decoder_gradient(W, projected)
    torch.testing.assert_close((projected * W).sum(1), torch.zeros(N_INST, W_, dtype=torch.float64))
    t = 1e-4
    moved = torch.linalg.vector_norm(W - t * projected, dim=1) - 1
    assert moved.abs().max() < 2 * t**2 * projected.norm(dim=1).max() ** 2
    normalise_decoder(W.mul_(3.0))
    torch.testing.assert_close(
        torch.linalg.vector_norm(W, dim=1), torch.ones(N_INST, W_, dtype=torch.float64)
    )


@pytest.mark.parametrize(("kind", "k"), [("relu", None), ("topk", 2), ("jumprelu", None)])
def test_implicit_zero_examples_equal_explicit_ones(kind, k):
    """A batch given as C explicit columns plus B − C implicit all-zero examples (the compact
    sampler's form) has the gradient and loss of the same batch with the zeros written out."""
    h, params = _setup(kind, seed=3)
    h = h.transpose(1, 2).contiguous()  # (I, m, B)
    explicit = 20
    h[:, :, explicit:] = 0.0
    results = []
    for columns, implicit in ((B, 0), (explicit, B - explicit)):
        flat = torch.zeros(param_count(N_INST, W_, M, kind), dtype=torch.float64)
        grads = torch.zeros_like(flat)
        p, g = param_views(flat, N_INST, W_, M, kind), param_views(grads, N_INST, W_, M, kind)
        for name, view in (
            ("W_enc", p.W_enc),
            ("b_enc", p.b_enc),
            ("W_dec", p.W_dec),
            ("b_dec", p.b_dec),
        ):
            view.copy_(params[name])
        if kind == "jumprelu":
            p.log_threshold.copy_(params["log_theta"])
        step = SAEStep(
            kind, N_INST, W_, M, B, k=k, penalty=0.03, bandwidth=0.3, dtype=torch.float64
        )
        step.gradients(h[:, :, :columns], p, g, implicit=implicit)
        results.append((grads, *step.loss(h[:, :, :columns], p)))
    # same terms summed in a different order: float64 rounding only
    for full, compact in zip(results[0], results[1]):
        torch.testing.assert_close(compact, full, rtol=1e-12, atol=1e-14)
