"""The trainer: every instance and seed in batched computations, CPU or CUDA.

Read top to bottom:

1. Instances are (configuration, seed) pairs, configuration-major. Each run starts from its own
   Xavier draw, taken from one initialisation stream in that order, and ``b`` at
   ``ModelConfig.bias_init`` (untied decoders: drawn after every W, or ``|W|ᵀ``).
2. Configurations are sorted by how often their examples are active and cut into *blocks*
   (:mod:`toysup._blocks`), each with its own random stream, sampler, buffers and optimiser state.
   On CPU, worker threads train blocks concurrently with one intra-op thread each: no OpenMP
   contention on small tensors, every core busy, and results that do not depend on the number of
   workers. On CUDA everything is one block.
3. Each step: draw a batch (dense, row-sparse or compact sampler, same distribution), compute the
   gradients, take an Adam/AdamW step (:mod:`toysup.optim`). The gradients are hand-derived
   (:mod:`toysup.step`, :mod:`toysup.step_gram`: the fast path) for the basic tied models on
   independent unit features, and from one batched pass over the whole family
   (:mod:`toysup.step_general`, :mod:`toysup.step_general_sparse`: the general path) for every
   other model.
4. Every ``log_every`` steps the batch loss is logged; a non-finite gradient (any step) or loss
   (logged steps) stops training with an error that names the instance and step. At each of
   ``snapshot_steps`` the parameters are copied (on the device, no host read).
5. The final loss of every run is estimated on fresh examples (all seeds of one configuration see
   the same examples); the lowest-loss seed of each configuration is kept (lowest loss plus
   penalty, when there is one: the objective trained).
"""

from __future__ import annotations

import bisect
import os
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import torch
from torch import Tensor

from toysup._blocks import (
    GENERAL_KINDS,
    Block,
    derive_seed,
    make_block,
    plan_blocks,
    uniform_source,
)
from toysup._limits import check_fits
from toysup._progress import Progress
from toysup._snapshots import kept_snapshots, snapshot_buffer
from toysup.config import FeatureConfig, ModelConfig, TrainConfig
from toysup.divergence import divergence_message, trivial_loss, worse_than
from toysup.evaluate import estimate_family_loss, estimate_loss
from toysup.models import init_decoder, init_weights
from toysup.optim import lr_multiplier
from toysup.result import TrainResult
from toysup.step_general import Family, is_fast

_STREAM_INIT, _STREAM_TRAIN, _STREAM_EVAL = 0, 1, 2


class TrainingDivergedError(FloatingPointError):
    """Raised when an instance's gradient (before it reaches W and b) or loss becomes NaN or
    infinite, or its final loss is clearly worse than the trivial model's and its own at
    initialisation (:mod:`toysup.divergence`). ``instance`` (caller's order), ``config``, ``seed``
    and ``step`` say where."""

    def __init__(self, message: str, *, instance: int, config: int, seed: int, step: int) -> None:
        super().__init__(message)
        self.instance, self.config, self.seed, self.step = instance, config, seed, step


class _Diverged(Exception):
    """Internal: raised inside a block with internal instance indices."""

    def __init__(self, instances: list[int], step: int, what: str = "gradient") -> None:
        super().__init__(instances, step, what)
        self.instances, self.step, self.what = instances, step, what


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA if available else CPU; asking for CUDA without it is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} requested but CUDA is not available here; use 'cpu' or 'auto'"
        )
    return torch.device(device)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@contextmanager
def intra_op_threads(n: int) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(
    features: FeatureConfig,
    model: ModelConfig,
    training: TrainConfig | None = None,
    *,
    progress: bool | str | None = None,
    workers: int | None = None,
) -> TrainResult:
    """Train ``features.n_instances`` configurations × ``training.n_seeds`` seeds of the toy model.

    Args:
        features: densities and importances, one row per configuration.
        model: sizes, activation and initialisation.
        training: optimiser, schedule, steps, batch, seeds, device (defaults: the reference
            notebook's settings).
        progress: report progress on stderr: ``None`` or ``True``: a bar on a terminal, a line
            every few seconds elsewhere (logs); a string: the same, labelled with it; ``False``:
            silent.
        workers: CPU worker threads (default: the usable cores, at most the number of blocks).
            Results do not depend on it.

    Returns:
        A :class:`~toysup.result.TrainResult` (best seed per configuration, and all seeds).

    Raises:
        ValueError: incompatible configurations, bad ``workers``, an unavailable device, densities
            below the dtype's smallest normal number, or a run too large for memory.
        TrainingDivergedError: an instance's gradient or loss became NaN/inf, or its final loss is
            worse than the trivial model's (W = 0) and than at initialisation (names instance,
            step and losses).
    """
    training = training if training is not None else TrainConfig()
    _check_compatible(features, model, training)
    check_fits(features, model, training)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
    device = resolve_device(training.device)
    dtype = torch.float32 if training.dtype == "float32" else torch.float64
    started = time.perf_counter()

    n_configs, n_seeds = features.n_instances, training.n_seeds
    n, m = model.n_features, model.n_hidden
    path = "fast" if is_fast(features, model, training) else "general"
    order, plan = plan_blocks(features, training, n, m, device, path=path)
    instance_order = (order[:, None] * n_seeds + np.arange(n_seeds)[None, :]).reshape(-1)

    init = torch.Generator(device=device)
    init.manual_seed(derive_seed(training.seed, _STREAM_INIT))
    internal = torch.as_tensor(instance_order, device=device)
    W0 = init_weights(model, n_configs * n_seeds, generator=init, dtype=dtype)
    W0_dec = None
    if not model.tied:  # drawn after every W, from the same stream (or |W|ᵀ)
        W0_dec = init_decoder(model, W0, generator=init, dtype=dtype)[internal]
    W0 = W0[internal]
    blocks = [
        make_block(
            i, order[a:b], kind, a * n_seeds, W0, features, model, training, dtype, device,
            path=path, W0_dec=W0_dec,
        )
        for i, (a, b, kind) in enumerate(plan)
    ]  # fmt: skip

    log_steps = _log_steps(training.steps, training.log_every)
    history = np.full((len(log_steps), n_configs * n_seeds), np.nan)
    history_penalty = np.zeros_like(history)
    snapshots = {blk.index: snapshot_buffer(blk, training) for blk in blocks}
    n_workers = min(workers or usable_cores(), len(blocks)) if device.type == "cpu" else 1
    label = progress if isinstance(progress, str) else "training"
    bar = Progress(
        training.steps * len(blocks),
        desc=label,
        enabled=None if isinstance(progress, str) else progress,
        unit="block-steps",
    )
    try:
        with intra_op_threads(1 if device.type == "cpu" else torch.get_num_threads()):
            stop = threading.Event()  # set when a block fails, so the others stop early

            def run(blk: Block) -> None:
                try:
                    _train_block(
                        blk, training, log_steps, history, bar, stop,
                        penalties=history_penalty, snapshots=snapshots[blk.index],
                    )  # fmt: skip
                except BaseException:
                    stop.set()
                    raise

            if n_workers == 1:
                for blk in blocks:
                    run(blk)
            else:  # longest first, so that no long block starts last (blocks are independent)
                with ThreadPoolExecutor(max_workers=n_workers) as pool:
                    try:
                        list(pool.map(run, sorted(blocks, key=lambda blk: -blk.cost)))
                    except BaseException:  # Ctrl-C or a failed block: the others stop too
                        stop.set()
                        raise
            seed_loss, seed_stderr, seed_pen, seed_pen_se = _evaluate(
                blocks, features, model, training, device
            )
            if not np.all(np.isfinite(seed_pen)):
                bad = np.flatnonzero(~np.isfinite(seed_pen)).tolist()
                raise _Diverged(bad, training.steps, "final loss")
            _check_not_worse_than_trivial(
                seed_pen, seed_pen_se, blocks, W0, W0_dec, instance_order, features, model,
                training,
            )  # fmt: skip
    except _Diverged as err:
        raise _named_divergence(err, instance_order, n_seeds) from None
    finally:
        bar.close()

    # Back to the caller's order: internal instance j is original instance instance_order[j].
    inverse = np.empty_like(instance_order)
    inverse[instance_order] = np.arange(instance_order.size)
    shape = (n_configs, n_seeds)

    def per_seed(parts: list[Tensor], *tail: int) -> np.ndarray:
        return torch.cat(parts).cpu().numpy()[inverse].reshape(*shape, *tail)

    seed_W = per_seed([blk.W for blk in blocks], m, n)
    seed_b = per_seed([blk.b for blk in blocks], n)
    seed_W_dec = None if model.tied else per_seed([blk.W_dec for blk in blocks], n, m)  # type: ignore[misc]
    seed_loss = seed_loss[inverse].reshape(shape)
    seed_stderr = seed_stderr[inverse].reshape(shape)
    seed_pen = seed_pen[inverse].reshape(shape)
    seed_pen_se = seed_pen_se[inverse].reshape(shape)
    best = np.argmin(seed_pen, axis=1)
    rows = np.arange(n_configs)
    kinds = {int(c): blk.kind for blk in blocks for c in blk.configs}
    step_names = {int(c): blk.step_name for blk in blocks for c in blk.configs}
    objective = "final loss" if path == "fast" else "final loss plus penalty"
    info = {
        "device": str(device),
        "dtype": training.dtype,
        "workers": n_workers,
        "blocks": len(blocks),
        "samplers": [kinds[c] for c in range(n_configs)],
        "paths": [path] * n_configs,
        "steps": [step_names[c] for c in range(n_configs)],
        "selection": f"best of {n_seeds} seeds by {objective} on {training.eval_samples} examples",
        "runtime_s": time.perf_counter() - started,
        "torch": torch.__version__,
    }
    return TrainResult(
        features=features,
        model=model,
        training=training,
        W=seed_W[rows, best],
        b=seed_b[rows, best],
        loss=seed_loss[rows, best],
        loss_stderr=seed_stderr[rows, best],
        best_seed=best.astype(np.int64),
        seed_W=seed_W,
        seed_b=seed_b,
        seed_loss=seed_loss,
        seed_loss_stderr=seed_stderr,
        history_steps=np.asarray(log_steps, dtype=np.int64),
        history_loss=history[:, inverse].reshape(len(log_steps), *shape),
        info=info,
        W_dec=None if seed_W_dec is None else seed_W_dec[rows, best],
        seed_W_dec=seed_W_dec,
        loss_penalized=seed_pen[rows, best],
        loss_penalized_stderr=seed_pen_se[rows, best],
        seed_loss_penalized=seed_pen,
        seed_loss_penalized_stderr=seed_pen_se,
        history_penalty=history_penalty[:, inverse].reshape(len(log_steps), *shape),
        snapshots=kept_snapshots(blocks, snapshots, training, model, inverse, best),
    )


def _check_compatible(features: FeatureConfig, model: ModelConfig, training: TrainConfig) -> None:
    for name, cfg, cls in (
        ("features", features, FeatureConfig),
        ("model", model, ModelConfig),
        ("training", training, TrainConfig),
    ):
        if not isinstance(cfg, cls):
            raise TypeError(f"{name} must be a {cls.__name__}, got {type(cfg).__name__}")
    if features.n_features != model.n_features:
        raise ValueError(
            f"features.n_features ({features.n_features}) must equal model.n_features "
            f"({model.n_features})"
        )
    if training.sampler == "gram" and not is_fast(features, model, training):
        raise ValueError(
            "sampler 'gram' needs the fast path (a tied model, hidden_activation 'none', output "
            "'relu' or 'linear', target 'identity', no penalty, independent unit features); "
            f"for this configuration use one of {', '.join(map(repr, ('auto', *GENERAL_KINDS)))}"
        )
    if training.target == "abs" and features.values == "unit":
        warnings.warn(
            "target='abs' with values='unit': |x| = x for unit features, so this trains the "
            "identity target; use FeatureConfig(values='signed') for the absolute-value task",
            UserWarning,
            stacklevel=3,
        )


def _log_steps(steps: int, log_every: int | None) -> list[int]:
    out = list(range(0, steps, log_every or 1))
    if out[-1] != steps - 1:
        out.append(steps - 1)
    return out


#: On CUDA the host looks at the device-side divergence record this often (steps); on CPU, where
#: reading a tensor costs nothing, every step.
CUDA_CHECK_EVERY = 1000


def _check_interval(device: torch.device) -> int:
    """Steps between the host's reads of a block's state: 1 on CPU, :data:`CUDA_CHECK_EVERY` on
    an accelerator (where every read waits for the device to finish its queued work)."""
    return 1 if device.type == "cpu" else CUDA_CHECK_EVERY


def _train_block(
    blk: Block,
    training: TrainConfig,
    log_steps: list[int],
    history: np.ndarray,
    bar: Progress,
    stop: threading.Event,
    *,
    penalties: np.ndarray | None = None,
    snapshots: Tensor | None = None,
) -> None:
    """All steps of one block (``penalties``: the logged batch penalties, written like
    ``history``; ``snapshots``: (k, parameters) copies of the flat parameters at
    ``training.snapshot_steps``). On CPU the gradient is checked every step and each logged loss as
    it is logged (reading a CPU tensor costs nothing). On CUDA nothing in the loop waits for the
    device: the logged losses and the first step with a non-finite gradient are recorded on the
    device and read by the host every :data:`CUDA_CHECK_EVERY` steps and at the end
    (:func:`_check_interval`; tests/toysup/test_train.py runs this mode on CPU and checks that no
    operation in the loop reads a tensor's value outside :func:`_check_block`)."""
    log_index = {step: k for k, step in enumerate(log_steps)}
    check_every = _check_interval(blk.params.device)
    logged = torch.full(
        (len(log_steps), blk.stop - blk.start), float("nan"), device=blk.params.device
    )
    bad_step = torch.full((), -1, dtype=torch.int64, device=blk.params.device)
    lrs = [
        training.lr * lr_multiplier(training.schedule, t, training.steps)
        for t in range(training.steps)
    ]
    snap_index = {step: j for j, step in enumerate(training.snapshot_steps)}
    logged_penalty = torch.zeros_like(logged) if blk.path == "general" else None
    reported = 0
    for step in range(training.steps):
        if snapshots is not None and step in snap_index:
            snapshots[snap_index[step]].copy_(blk.params)
        k = log_index.get(step)
        blk.compute_gradients(need_loss=k is not None)
        if k is not None:
            logged[k] = blk.step.loss(blk.loss_importance, blk.b)
            if logged_penalty is not None:
                logged_penalty[k] = blk.penalty()
        finite = torch.isfinite(blk.grads).all()
        if check_every == 1:
            if not bool(finite):
                _raise_diverged(blk, step)
            if k is not None:
                _check_block(blk, step, bad_step, logged, log_steps, history)
        else:  # record on the device; the host reads it every check_every steps and at the end
            bad_step = torch.where(~finite & (bad_step < 0), step, bad_step)
            if (step + 1) % check_every == 0 or step + 1 == training.steps:
                _check_block(blk, step, bad_step, logged, log_steps, history)
        blk.optimizer.step(blk.grads, lrs[step])
        if k is not None:
            bar.update(step + 1 - reported)
            reported = step + 1
        if stop.is_set():  # another block failed, or the caller was interrupted
            return
    if snapshots is not None and training.steps in snap_index:
        snapshots[snap_index[training.steps]].copy_(blk.params)
    if logged_penalty is not None and penalties is not None:
        penalties[:, blk.start : blk.stop] = logged_penalty.cpu().numpy()
    bar.update(training.steps - reported)


def _check_block(
    blk: Block,
    step: int,
    bad_step: Tensor,
    logged: Tensor,
    log_steps: list[int],
    history: np.ndarray,
) -> None:
    """Copy the logged losses (up to ``step``) to the host; raise if anything went non-finite."""
    done = bisect.bisect_right(log_steps, step)
    losses = logged[:done].cpu().numpy()
    history[:done, blk.start : blk.stop] = losses
    first_bad = int(bad_step)
    if first_bad >= 0:
        _raise_diverged(blk, first_bad)
    bad = ~np.isfinite(losses)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        instances = (np.flatnonzero(bad[row]) + blk.start).tolist()
        raise _Diverged(instances, log_steps[row], "loss")


def _raise_diverged(blk: Block, step: int) -> None:
    """Name the instances whose gradient is NaN or infinite. (On CUDA the parameters may have moved
    on since ``step``; the instances whose W or b are no longer finite are named then.)"""
    finite = torch.isfinite(blk.grad_W).flatten(1).all(1) & torch.isfinite(blk.grad_b).all(1)
    finite &= torch.isfinite(blk.W).flatten(1).all(1) & torch.isfinite(blk.b).all(1)
    for extra in (blk.grad_W_dec, blk.W_dec):
        if extra is not None:
            finite &= torch.isfinite(extra).flatten(1).all(1)
    bad = (torch.nonzero(~finite).reshape(-1) + blk.start).tolist()
    raise _Diverged(bad or list(range(blk.start, blk.stop)), step)


def _named_divergence(
    err: _Diverged, instance_order: np.ndarray, n_seeds: int
) -> TrainingDivergedError:
    originals = sorted(int(instance_order[i]) for i in err.instances)
    first = originals[0]
    config, seed = divmod(first, n_seeds)
    more = f" ({len(originals)} instances in all)" if len(originals) > 1 else ""
    message = (
        f"training diverged at step {err.step}: instance {first} (configuration {config}, "
        f"seed {seed}) has a non-finite {err.what}{more}; lower the learning rate or check the "
        "importances and densities"
    )
    return TrainingDivergedError(message, instance=first, config=config, seed=seed, step=err.step)


def _check_not_worse_than_trivial(
    seed_loss: np.ndarray,
    seed_stderr: np.ndarray,
    blocks: list[Block],
    W0: Tensor,
    W0_dec: Tensor | None,
    instance_order: np.ndarray,
    features: FeatureConfig,
    model: ModelConfig,
    training: TrainConfig,
) -> None:
    """Raise :class:`TrainingDivergedError` for runs that ended clearly worse than both the
    trivial model (W = 0, best constant bias) and their own initialisation, evaluated on the same
    examples (:mod:`toysup.divergence`). Losses (with the penalty, if any: the trivial model has
    none, so a trained model's objective is at most its loss) are in internal order."""
    n_seeds = training.n_seeds
    trivial = trivial_loss(
        features, model, loss_reduction=training.loss_reduction, target=training.target
    )
    trivial = trivial[instance_order // n_seeds]
    suspects = worse_than(seed_loss, seed_stderr, trivial)
    if not suspects.any():
        return
    start = [
        replace(
            b, W=W0[b.start : b.stop], b=torch.full_like(b.b, model.bias_init),
            W_dec=None if W0_dec is None else W0_dec[b.start : b.stop],
        )
        for b in blocks
    ]  # fmt: skip
    _, _, initial, _ = _evaluate(start, features, model, training, W0.device)
    bad = np.flatnonzero(suspects & worse_than(seed_loss, seed_stderr, initial))
    if bad.size == 0:
        return
    j = int(bad[np.argmin(instance_order[bad])])
    first = int(instance_order[j])
    config, seed = divmod(first, n_seeds)
    message = divergence_message(
        instance=first, config=config, seed=seed, loss=float(seed_loss[j]),
        trivial=float(trivial[j]), initial=float(initial[j]), lr=training.lr, count=bad.size,
    )  # fmt: skip
    raise TrainingDivergedError(
        message, instance=first, config=config, seed=seed, step=training.steps
    )


@torch.no_grad()
def _evaluate(
    blocks: list[Block],
    features: FeatureConfig,
    model: ModelConfig,
    training: TrainConfig,
    device: torch.device,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Final loss and its standard error per instance (internal order), without and with the
    penalty, on fresh examples (:func:`toysup.evaluate.estimate_loss`, or
    :func:`toysup.evaluate.estimate_family_loss` on the general path). All seeds of a
    configuration see the same examples (common random numbers), so the best seed is not chosen
    by sampling noise between seeds."""
    parts: list[tuple[np.ndarray, ...]] = []
    for blk in blocks:
        density = torch.as_tensor(
            features.density_array[blk.configs], dtype=blk.params.dtype, device=device
        )
        source = uniform_source(derive_seed(training.seed, _STREAM_EVAL, blk.index), device)
        if blk.path == "general":
            parts.append(
                estimate_family_loss(
                    Family.of(model, training), blk.W, blk.b, blk.W_dec, density,
                    blk.loss_importance, structure=features.structure,
                    set_size=features.set_size, values=features.values,
                    samples=training.eval_samples, source=source, group=training.n_seeds,
                )
            )  # fmt: skip
            continue
        mean, stderr = estimate_loss(
            blk.W, blk.b, density, blk.loss_importance,
            samples=training.eval_samples, source=source,
            relu=model.activation == "relu", group=training.n_seeds,
        )  # fmt: skip
        parts.append((mean, stderr, mean, stderr))
    loss, stderr, penalized, penalized_se = (np.concatenate(col) for col in zip(*parts))
    return loss, stderr, penalized, penalized_se
