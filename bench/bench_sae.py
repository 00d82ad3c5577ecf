"""SAE training speed: toysup.sae's batched trainer against a plain per-model SAE loop.

The workload: 20 toy models (n=20, m=5, importance 0.7^i, density 20^-linspace(0, 1, 20), the
reference notebook's sweep), one ReLU SAE of width 40 on each, batch 512, Adam, fresh features
every step. The plain loop is what one writes per model with autograd: an ``nn.Module`` with the
same objective (L1, unit-norm decoder columns with the gradient projected, as
:mod:`toysup.sae`), ``torch.optim.Adam``, :func:`toysup.sample_features` for the data, one model
after another. Each contender runs at its best thread setting (plain loop: 1 or 2 intra-op
threads; toysup: 1 or 2 workers); then ``--repeats`` rounds time both back to back and the
speed-up is the median of the per-round ratios (range in brackets).

    python bench/bench_sae.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toysup import FeatureConfig, ModelConfig, TrainConfig, TrainResult, sample_features
from toysup.sae import SAEConfig, train_sae

N, M, WIDTH, BATCH, L1 = 20, 5, 40, 512, 0.03


def toy_models(count: int = 20, seed: int = 0) -> TrainResult:
    """``count`` toy models with random unit-column W (training them is not what is timed)."""
    density = 20.0 ** -np.linspace(0, 1, count)
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((count, M, N))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    z = np.zeros
    return TrainResult(
        features=FeatureConfig(
            n_features=N, n_instances=count, density=density[:, None], importance=0.7 ** np.arange(N)
        ),
        model=ModelConfig(n_features=N, n_hidden=M),
        training=TrainConfig(),
        W=W, b=z((count, N)), loss=z(count), loss_stderr=z(count),
        best_seed=z(count, dtype=np.int64), seed_W=W[:, None], seed_b=z((count, 1, N)),
        seed_loss=z((count, 1)), seed_loss_stderr=z((count, 1)),
        history_steps=np.array([0]), history_loss=z((1, count, 1)),
    )  # fmt: skip


class PlainSAE(nn.Module):
    """A ReLU SAE as one writes it for one model: z = ReLU(W_enc(h − b_dec) + b_enc)."""

    def __init__(self, generator: torch.Generator) -> None:
        super().__init__()
        W_dec = torch.randn(M, WIDTH, generator=generator)
        W_dec /= W_dec.norm(dim=0, keepdim=True)
        self.W_dec = nn.Parameter(W_dec)
        self.W_enc = nn.Parameter(W_dec.T.clone())
        self.b_enc = nn.Parameter(torch.zeros(WIDTH))
        self.b_dec = nn.Parameter(torch.zeros(M))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        z = torch.relu((h - self.b_dec) @ self.W_enc.T + self.b_enc)
        h_hat = z @ self.W_dec.T + self.b_dec
        return ((h_hat - h) ** 2).sum(-1).mean() + L1 * z.sum(-1).mean()


def plain_loop(toys: TrainResult, steps: int) -> float:
    """Seconds for ``steps`` steps of every model, one after another."""
    started = time.perf_counter()
    for c in range(toys.features.n_instances):
        gen = torch.Generator().manual_seed(c)
        sae = PlainSAE(gen)
        opt = torch.optim.Adam(sae.parameters(), lr=3e-3)
        W = torch.as_tensor(toys.W[c], dtype=torch.float32)
        density = toys.features.density_array[c : c + 1]
        for _ in range(steps):
            x = sample_features(density, BATCH, generator=gen)[0]  # (B, n)
            loss = sae(x @ W.T)
            opt.zero_grad()
            loss.backward()
            with torch.no_grad():  # keep the decoder columns on the unit sphere
                W_dec, grad = sae.W_dec, sae.W_dec.grad
                grad -= W_dec * (grad * W_dec).sum(0, keepdim=True)
            opt.step()
            with torch.no_grad():
                sae.W_dec /= sae.W_dec.norm(dim=0, keepdim=True)
    return time.perf_counter() - started


def batched(toys: TrainResult, steps: int, workers: int) -> float:
    training = TrainConfig(
        steps=steps,
        batch_size=BATCH,
        lr=3e-3,
        optimizer="adam",
        n_seeds=1,
        eval_samples=512,
        device="cpu",
    )
    config = SAEConfig(width=WIDTH, kind="relu", l1=L1, resample_every=None)
    started = time.perf_counter()
    train_sae(toys, config, training, progress=False, workers=workers)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="write the raw figures here")
    args = parser.parse_args(argv)
    toys = toy_models()
    models = toys.features.n_instances

    def plain(threads: int, steps: int) -> float:
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return plain_loop(toys, steps)
        finally:
            torch.set_num_threads(before)

    short = max(20, args.steps // 5)
    plain_threads = min((1, 2), key=lambda t: min(plain(t, short) for _ in range(2)))
    workers = min((1, 2), key=lambda w: min(batched(toys, short, w) for _ in range(2)))
    rounds = []
    for _ in range(args.repeats):
        t_plain = plain(plain_threads, args.steps)
        t_batched = batched(toys, args.steps, workers)
        rounds.append((t_plain, t_batched))
    ratios = [a / b for a, b in rounds]
    per_step = lambda t: models * args.steps / t  # noqa: E731  model-steps per second
    result = {
        "models": models,
        "steps": args.steps,
        "width": WIDTH,
        "batch": BATCH,
        "plain_threads": plain_threads,
        "workers": workers,
        "plain_model_steps_per_s": statistics.median(per_step(a) for a, _ in rounds),
        "batched_model_steps_per_s": statistics.median(per_step(b) for _, b in rounds),
        "speedup_median": statistics.median(ratios),
        "speedup_range": [min(ratios), max(ratios)],
        "rounds": rounds,
        "torch": torch.__version__,
    }
    print(
        f"20 toy models, ReLU SAE width {WIDTH}, batch {BATCH}, {args.steps} steps: plain loop "
        f"{result['plain_model_steps_per_s']:,.0f} model-steps/s ({plain_threads} thread(s)), "
        f"toysup.sae {result['batched_model_steps_per_s']:,.0f} model-steps/s ({workers} "
        f"worker(s)); speed-up {result['speedup_median']:.1f}× "
        f"({min(ratios):.1f}–{max(ratios):.1f}) over {args.repeats} rounds"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
