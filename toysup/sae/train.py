"""Training SAEs on a toy model's hidden activations, batched like the toy trainer.

Read top to bottom:

1. Instances are (configuration, SAE seed) pairs, configuration-major. Each starts from its own
   draw (unit-norm random decoder columns, encoder = decoderᵀ as in Gao et al. 2024, zero biases),
   taken from one initialisation stream in that order.
2. Configurations are ordered by how often their examples are active and whole configurations
   are cut into blocks of about :data:`BLOCK_ELEMENTS` code entries (instances × width × batch),
   each with its own random streams, feature sampler, buffers and Adam state. At low density the
   compact sampler draws only the examples with an active feature; the all-zero ones enter the
   gradient in closed form (:class:`toysup.sae.step.SAEStep`). On CPU worker threads train blocks
   concurrently with one intra-op thread each, so results do not depend on the number of
   workers; on CUDA everything is one block.
3. Each step: draw fresh features from the toy model's distribution, ``h = W x`` (or
   ``ReLU(W x)``), compute the hand-derived gradients (:mod:`toysup.sae.step`), project the
   decoder gradient onto the unit sphere's tangent, take an Adam/AdamW step on the block's flat
   buffer (:class:`toysup.optim.Adam`), renormalise the decoder columns, and every
   ``resample_every`` steps resample dead latents (:mod:`toysup.sae.resample`).
4. The final objective, reconstruction error, L0 and dead latents of every SAE are measured on
   fresh examples (all seeds of a configuration see the same ones); the lowest-objective seed of
   each configuration is kept.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from toysup._blocks import activity, derive_seed, uniform_source
from toysup._progress import Progress
from toysup.config import TrainConfig
from toysup.data import UniformSource
from toysup.optim import Adam, lr_multiplier
from toysup.result import TrainResult
from toysup.sae import models
from toysup.sae.config import SAEConfig
from toysup.sae.data import FeatureStream, HiddenStream, choose_method, hidden_activation
from toysup.sae.resample import DeadLatents
from toysup.sae.result import SAEResult
from toysup.sae.step import (
    Params,
    SAEStep,
    normalise_decoder,
    param_count,
    param_views,
    project_decoder_gradient,
)
from toysup.train import TrainingDivergedError, intra_op_threads, resolve_device, usable_cores

#: Target code entries (instances × width × batch) per CPU block: as the toy trainer's blocks,
#: small enough to stay in cache and give every core work, large enough to amortise the ~10 µs
#: per operation (bench/bench_sae.py).
BLOCK_ELEMENTS = 1 << 18
#: Examples per chunk when evaluating.
EVAL_CHUNK = 2048
#: On CUDA the host reads the device-side divergence record this often (steps).
CUDA_CHECK_EVERY = 1000

_STREAM_INIT, _STREAM_TRAIN, _STREAM_EVAL, _STREAM_RESAMPLE = 0, 1, 2, 3

#: Defaults when ``training`` is not given: Adam (no weight decay), lr 6e-3 with a cosine decay
#: to 0, 2,000 steps of 256 examples, 3 seeds (docs/sae.md, "Training").
DEFAULT_TRAINING = TrainConfig(
    steps=2000, batch_size=256, lr=6e-3, optimizer="adam", schedule="cosine", n_seeds=3
)


@dataclass
class _Block:
    index: int
    configs: np.ndarray  # configuration indices, in block order
    method: str  # feature sampler
    params: Tensor  # flat [W_enc | b_enc | W_dec | b_dec (| log θ)]
    grads: Tensor
    p: Params
    g: Params
    step: SAEStep
    optimizer: Adam
    moments: tuple[Params, Params]
    dead: DeadLatents
    stream: HiddenStream  # the SAE's input h (I_b, m, C)
    resample_source: UniformSource
    toy_W: Tensor  # (I_b, m, n)
    logged: Tensor  # (T, I_b) objective at the logged steps


def train_sae(
    result: TrainResult,
    config: SAEConfig,
    training: TrainConfig | None = None,
    *,
    seed: int = 0,
    progress: bool | str | None = None,
    workers: int | None = None,
) -> SAEResult:
    """Train ``training.n_seeds`` SAEs per configuration of a toy model on its hidden activations.

    Args:
        result: the trained toy model (its best seed per configuration, ``result.W``); its
            feature distribution supplies fresh examples every step (no stored dataset).
        config: the SAE (kind, width, sparsity coefficient, resampling).
        training: steps, batch, lr, optimiser, schedule, ``n_seeds`` (SAE seeds), eval examples,
            device, dtype, sampler (``"auto"``, ``"dense"`` or ``"sparse"``) and ``seed``;
            ``loss_reduction="mean"`` divides the reconstruction error by m. Default
            :data:`DEFAULT_TRAINING`.
        seed: seed of every random step, with ``training.seed`` (both enter every stream).
        progress: as :func:`toysup.train` (``None``: automatic; ``False``: silent; a string: the
            label).
        workers: CPU worker threads (default: the usable cores). Results do not depend on it.

    Returns:
        An :class:`~toysup.sae.SAEResult`.

    Raises:
        TypeError / ValueError: bad arguments, or a toy model of a family the SAE does not read
            (an untied decoder, an unknown hidden activation): the message names it.
        TrainingDivergedError: an SAE's gradient became NaN/inf (names instance and step).
    """
    if not isinstance(result, TrainResult):
        raise TypeError(f"result must be a toysup.TrainResult, got {type(result).__name__}")
    if not isinstance(config, SAEConfig):
        raise TypeError(f"config must be a toysup.sae.SAEConfig, got {type(config).__name__}")
    training = DEFAULT_TRAINING if training is None else training
    if not isinstance(training, TrainConfig):
        raise TypeError(f"training must be a toysup.TrainConfig, got {type(training).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
    activation = hidden_activation(result.model)
    device = resolve_device(training.device)
    choose_method(result.features, np.arange(0), training.sampler, training.batch_size, device)
    dtype = torch.float32 if training.dtype == "float32" else torch.float64
    started = time.perf_counter()
    base = (int(seed), training.seed)

    n_configs, n_seeds = result.features.n_instances, training.n_seeds
    m, w = result.model.n_hidden, config.width
    plan = _plan_blocks(result, n_seeds * w * training.batch_size, device)
    init = _initial_parameters(config, n_configs * n_seeds, m, derive_seed(*base, _STREAM_INIT))
    log_steps = _log_steps(training.steps, training.log_every)
    blocks = [
        _make_block(
            i,
            configs,
            result,
            config,
            training,
            init,
            base,
            activation,
            len(log_steps),
            dtype,
            device,
        )
        for i, configs in enumerate(plan)
    ]
    n_workers = min(workers or usable_cores(), len(blocks)) if device.type == "cpu" else 1
    bar = Progress(
        training.steps * len(blocks),
        desc=progress if isinstance(progress, str) else f"SAE {config.label}",
        enabled=None if isinstance(progress, str) else progress,
        unit="block-steps",
    )
    try:
        with intra_op_threads(1 if device.type == "cpu" else torch.get_num_threads()):
            stop = threading.Event()

            def run(blk: _Block) -> None:
                try:
                    _train_block(blk, config, training, log_steps, bar, stop)
                except BaseException:
                    stop.set()
                    raise

            if n_workers == 1:
                for blk in blocks:
                    run(blk)
            else:
                with ThreadPoolExecutor(max_workers=n_workers) as pool:
                    try:
                        list(pool.map(run, blocks))
                    except BaseException:
                        stop.set()
                        raise
            stats = [
                _evaluate(blk, result, config, training, activation, base, dtype, device)
                for blk in blocks
            ]
    except _Diverged as err:
        config_index, seed_index = divmod(err.instance, n_seeds)
        raise TrainingDivergedError(
            f"SAE training diverged at step {err.step}: instance {err.instance} (configuration "
            f"{config_index}, seed {seed_index}) has a non-finite gradient; lower the learning "
            "rate",
            instance=err.instance, config=config_index, seed=seed_index, step=err.step,
        ) from None  # fmt: skip
    finally:
        bar.close()
    return _assemble(blocks, stats, result, config, training, log_steps, n_workers, device, started)


class _Diverged(Exception):
    def __init__(self, instance: int, step: int) -> None:
        super().__init__(instance, step)
        self.instance, self.step = instance, step


def _plan_blocks(result: TrainResult, per_config: int, device: torch.device) -> list[np.ndarray]:
    """Configurations ordered by activity (P(an example has an active feature); stable), cut
    into the fewest near-equal blocks of at most :data:`BLOCK_ELEMENTS` code entries (one block
    on an accelerator). A function of the configurations and sizes only, never of the machine."""
    n_configs = result.features.n_instances
    if device.type != "cpu":
        return [np.arange(n_configs)]
    order = np.argsort(activity(result.features.density_array), kind="stable")
    count = max(1, min(n_configs, math.ceil(n_configs * per_config / BLOCK_ELEMENTS)))
    return [part for part in np.array_split(order, count) if part.size]


def _initial_parameters(
    config: SAEConfig, instances: int, m: int, seed: int
) -> dict[str, np.ndarray]:
    """Every instance's initial parameters (float64), instance i's from the i-th slice of one
    draw: decoder columns uniform on the unit sphere, encoder = decoderᵀ, zero biases, JumpReLU
    threshold ``threshold_init``."""
    gen = torch.Generator().manual_seed(seed)
    W_dec = torch.randn((instances, m, config.width), generator=gen, dtype=torch.float64)
    normalise_decoder(W_dec)
    return {
        "W_dec": W_dec.numpy(),
        "W_enc": W_dec.transpose(1, 2).numpy(),
    }


def _make_block(
    index: int,
    configs: np.ndarray,
    result: TrainResult,
    config: SAEConfig,
    training: TrainConfig,
    init: dict[str, np.ndarray],
    base: tuple[int, int],
    activation: str,
    n_logs: int,
    dtype: torch.dtype,
    device: torch.device,
) -> _Block:
    n_seeds, B = training.n_seeds, training.batch_size
    m, w = result.model.n_hidden, config.width
    size = len(configs) * n_seeds
    rows = np.repeat(configs, n_seeds)  # each instance's configuration
    instances = (configs[:, None] * n_seeds + np.arange(n_seeds)).reshape(-1)  # caller's order
    method = choose_method(result.features, rows, training.sampler, B, device)
    params = torch.zeros(param_count(size, w, m, config.kind), dtype=dtype, device=device)
    p = param_views(params, size, w, m, config.kind)
    p.W_dec.copy_(torch.as_tensor(init["W_dec"][instances]))
    p.W_enc.copy_(torch.as_tensor(init["W_enc"][instances]))
    if p.log_threshold is not None:
        p.log_threshold.fill_(math.log(config.threshold_init))
    grads = torch.zeros_like(params)
    optimizer = Adam(params, training)
    toy_W = torch.as_tensor(np.asarray(result.W)[rows], dtype=dtype, device=device)
    features = FeatureStream(
        result.features, rows, B, seed=derive_seed(*base, _STREAM_TRAIN, index), method=method,
        dtype=dtype, device=device,
    )  # fmt: skip
    scale = 1.0 / m if training.loss_reduction == "mean" else 1.0
    step = SAEStep(
        config.kind, size, w, m, B, k=config.k, penalty=config.penalty,
        bandwidth=config.bandwidth, scale=scale, dtype=dtype, device=device,
    )  # fmt: skip
    return _Block(
        index=index,
        configs=configs,
        method=method,
        params=params,
        grads=grads,
        p=p,
        g=param_views(grads, size, w, m, config.kind),
        step=step,
        optimizer=optimizer,
        moments=(
            param_views(optimizer.exp_avg, size, w, m, config.kind),
            param_views(optimizer.exp_avg_sq, size, w, m, config.kind),
        ),
        dead=DeadLatents(size, w, device),
        stream=HiddenStream(features, toy_W, activation),
        resample_source=uniform_source(derive_seed(*base, _STREAM_RESAMPLE, index), device),
        toy_W=toy_W,
        logged=torch.full((n_logs, size), float("nan"), dtype=torch.float64, device=device),
    )


def _log_steps(steps: int, log_every: int | None) -> list[int]:
    out = list(range(0, steps, log_every or 1))
    if out[-1] != steps - 1:
        out.append(steps - 1)
    return out


def _resample_steps(config: SAEConfig, steps: int) -> set[int]:
    """0-based steps after whose update dead latents are resampled."""
    if config.resample_every is None:
        return set()
    last = config.resample_until * steps
    return {t - 1 for t in range(config.resample_every, steps, config.resample_every) if t <= last}


def _train_block(
    blk: _Block,
    config: SAEConfig,
    training: TrainConfig,
    log_steps: list[int],
    bar: Progress,
    stop: threading.Event,
) -> None:
    """All steps of one block (module docstring, step 3). On CPU the gradient is checked every
    step; on CUDA the first non-finite step is recorded on the device and read every
    :data:`CUDA_CHECK_EVERY` steps, so the loop never waits for the device."""
    log_index = {s: k for k, s in enumerate(log_steps)}
    resample_at = _resample_steps(config, training.steps)
    check_every = _check_interval(blk.params.device)
    bad_step = torch.full((), -1, dtype=torch.int64, device=blk.params.device)
    log_threshold_init = math.log(config.threshold_init)
    reported = 0
    for t in range(training.steps):
        h = blk.stream.draw()  # h = W x or ReLU(W x) (I, m, C), C ≤ B explicit examples
        blk.step.gradients(h, blk.p, blk.g, implicit=blk.stream.implicit)
        k = log_index.get(t)
        if k is not None:
            recon, penalty = blk.step.loss(h, blk.p)
            blk.logged[k] = recon + penalty
        blk.dead.record(blk.g.W_dec)
        project_decoder_gradient(blk.p.W_dec, blk.g.W_dec)
        finite = torch.isfinite(blk.grads).all()
        if check_every == 1:
            if not bool(finite):
                _raise_diverged(blk, t)
        else:  # record on the device; the host reads it every check_every steps and at the end
            bad_step = torch.where(~finite & (bad_step < 0), t, bad_step)
            if (t + 1) % check_every == 0 or t + 1 == training.steps:
                _host_check(blk, bad_step)
        lr = training.lr * lr_multiplier(training.schedule, t, training.steps)
        blk.optimizer.step(blk.grads, lr)
        normalise_decoder(blk.p.W_dec)
        if t in resample_at:
            blk.dead.resample(
                blk.p, blk.moments, blk.step.centred, blk.step.error, blk.resample_source,
                log_threshold_init=log_threshold_init,
            )  # fmt: skip
        if k is not None:
            bar.update(t + 1 - reported)
            reported = t + 1
        if stop.is_set():
            return
    bar.update(training.steps - reported)


def _check_interval(device: torch.device) -> int:
    """Steps between the host's reads of a block's state: 1 on CPU (reading costs nothing),
    :data:`CUDA_CHECK_EVERY` on an accelerator (every read waits for the queued work)."""
    return 1 if device.type == "cpu" else CUDA_CHECK_EVERY


def _host_check(blk: _Block, bad_step: Tensor) -> None:
    """The host's read of the device-side divergence record (accelerator mode)."""
    first_bad = int(bad_step)
    if first_bad >= 0:
        _raise_diverged(blk, first_bad)


def _raise_diverged(blk: _Block, step: int) -> None:
    size = blk.toy_W.shape[0]
    per_instance = torch.ones(size, dtype=torch.bool, device=blk.grads.device)
    for part in (blk.g.W_enc, blk.g.b_enc, blk.g.W_dec, blk.g.b_dec, blk.g.log_threshold):
        if part is not None:
            per_instance &= torch.isfinite(part).reshape(size, -1).all(1)
    bad = torch.nonzero(~per_instance).reshape(-1).tolist()
    config, seed = divmod(bad[0] if bad else 0, len(blk.toy_W) // len(blk.configs))
    raise _Diverged(int(blk.configs[config]) * (len(blk.toy_W) // len(blk.configs)) + seed, step)


@dataclass
class _Stats:
    loss: np.ndarray  # (I_b,)
    mse: np.ndarray
    l0: np.ndarray
    dead: np.ndarray


@torch.no_grad()
def _evaluate(
    blk: _Block,
    result: TrainResult,
    config: SAEConfig,
    training: TrainConfig,
    activation: str,
    base: tuple[int, int],
    dtype: torch.dtype,
    device: torch.device,
) -> _Stats:
    """Objective, reconstruction error, L0 and never-firing latents of every instance of the
    block on ``training.eval_samples`` fresh examples; all seeds of a configuration see the same
    examples (common random numbers, so the kept seed is not chosen by sampling noise)."""
    n_seeds, samples = training.n_seeds, training.eval_samples
    size, w = blk.toy_W.shape[0], config.width
    scale = 1.0 / result.model.n_hidden if training.loss_reduction == "mean" else 1.0
    p = blk.p
    threshold = p.log_threshold.exp() if p.log_threshold is not None else None
    totals = torch.zeros((3, size), dtype=torch.float64, device=device)
    fired = torch.zeros((size, w), dtype=torch.bool, device=device)
    seed = derive_seed(*base, _STREAM_EVAL, blk.index)
    chunk = min(EVAL_CHUNK, samples)
    stream = FeatureStream(
        result.features, blk.configs, chunk, seed=seed, method="dense", dtype=dtype, device=device
    )
    done = 0
    while done < samples:
        take = min(chunk, samples - done)
        x = stream.draw()[:, :, :take].repeat_interleave(n_seeds, 0).transpose(1, 2)  # (I, b, n)
        h = models.hidden(blk.toy_W, x, activation)
        pre = models.pre_activations(p.W_enc, p.b_enc, p.b_dec, h)
        z = models.activate(pre, config.kind, k=config.k, threshold=threshold)
        err = (models.decode(p.W_dec, p.b_dec, z) - h).square_().sum(2)  # (I, b)
        active = z > 0
        totals[0] += err.sum(1).to(torch.float64)
        totals[1] += (z.sum((1, 2)) if config.kind == "relu" else active.sum((1, 2))).double()
        totals[2] += active.sum((1, 2)).to(torch.float64)
        fired |= active.any(1)
        done += take
    mse = (totals[0] * scale / samples).cpu().numpy()
    l0 = (totals[2] / samples).cpu().numpy()
    penalty = config.penalty * (totals[1] / samples).cpu().numpy()
    return _Stats(
        loss=mse + penalty,
        mse=mse,
        l0=l0,
        dead=(~fired).sum(1).cpu().numpy().astype(np.int64),
    )


def _assemble(
    blocks: list[_Block],
    stats: list[_Stats],
    result: TrainResult,
    config: SAEConfig,
    training: TrainConfig,
    log_steps: list[int],
    n_workers: int,
    device: torch.device,
    started: float,
) -> SAEResult:
    C, S = result.features.n_instances, training.n_seeds
    w = config.width

    order = np.concatenate([blk.configs for blk in blocks])  # internal config order
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)  # internal position of each configuration

    def by_config(arr: np.ndarray) -> np.ndarray:
        """Internal instance order (configs in block order × seeds) -> (C, S, ...)."""
        return arr.reshape(C, S, *arr.shape[1:])[inverse]

    def gather(name: str) -> np.ndarray:
        parts = [getattr(blk.p, name) for blk in blocks]
        return by_config(torch.cat(parts).detach().cpu().numpy())

    seed_W_enc = gather("W_enc")
    seed_b_enc = gather("b_enc")
    seed_W_dec = gather("W_dec")
    seed_b_dec = gather("b_dec")
    if config.kind == "jumprelu":
        seed_threshold = np.exp(gather("log_threshold"))
    else:
        seed_threshold = np.zeros((C, S, w), dtype=seed_b_enc.dtype)
    seed_loss = by_config(np.concatenate([s.loss for s in stats]))
    seed_mse = by_config(np.concatenate([s.mse for s in stats]))
    seed_l0 = by_config(np.concatenate([s.l0 for s in stats]))
    seed_dead = by_config(np.concatenate([s.dead for s in stats]))
    resampled = by_config(torch.cat([blk.dead.resampled for blk in blocks]).cpu().numpy())
    logged = torch.cat([blk.logged for blk in blocks], dim=1).cpu().numpy()  # (T, I)
    history = np.moveaxis(by_config(logged.T), 2, 0)  # (T, C, S)
    best = np.argmin(seed_loss, axis=1)
    rows = np.arange(C)
    methods = {int(c): blk.method for blk in blocks for c in blk.configs}
    info = {
        "device": str(device),
        "dtype": training.dtype,
        "workers": n_workers,
        "blocks": len(blocks),
        "samplers": [methods[c] for c in range(C)],
        "selection": f"lowest objective of {S} seeds on {training.eval_samples} examples",
        "runtime_s": time.perf_counter() - started,
        "torch": torch.__version__,
    }
    return SAEResult(
        config=config,
        training=training,
        features=result.features,
        model=result.model,
        toy_W=np.asarray(result.W),
        toy_b=np.asarray(result.b),
        W_enc=seed_W_enc[rows, best],
        b_enc=seed_b_enc[rows, best],
        W_dec=seed_W_dec[rows, best],
        b_dec=seed_b_dec[rows, best],
        threshold=seed_threshold[rows, best],
        loss=seed_loss[rows, best],
        mse=seed_mse[rows, best],
        l0=seed_l0[rows, best],
        best_seed=best.astype(np.int64),
        seed_W_enc=seed_W_enc,
        seed_b_enc=seed_b_enc,
        seed_W_dec=seed_W_dec,
        seed_b_dec=seed_b_dec,
        seed_threshold=seed_threshold,
        seed_loss=seed_loss,
        seed_mse=seed_mse,
        seed_l0=seed_l0,
        seed_dead=seed_dead.astype(np.int64),
        seed_resampled=resampled.astype(np.int64),
        history_steps=np.asarray(log_steps, dtype=np.int64),
        history_loss=history,
        info=info,
    )
