"""The accelerator mode of the training loop: the host reads the device only at checks.

On CUDA, ``toysup.train`` records divergence and the logged losses on the device and reads them
every ``CUDA_CHECK_EVERY`` steps (``_check_interval``). That mode runs here on CPU, with the CUDA
path's block plan (one block, the dense sampler, a torch generator), so its logic is tested without a
GPU; the test marked ``gpu`` runs it on CUDA under ``torch.cuda.set_sync_debug_mode("error")``.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from toysup.data import TorchUniforms
from toysup.train import TrainingDivergedError

blocks_module = importlib.import_module("toysup._blocks")
train_module = importlib.import_module("toysup.train")  # `toysup.train` is also the function

#: aten operations that make the host wait for an accelerator: reading a value (``.item()``,
#: ``bool()``, ``int()`` go through ``_local_scalar_dense``), or producing a tensor whose size
#: depends on values.
HOST_READS = {
    "_local_scalar_dense", "is_nonzero", "equal", "nonzero", "nonzero_static", "masked_select",
    "unique", "_unique", "_unique2", "unique_consecutive", "unique_dim", "repeat_interleave",
    "bincount", "histc", "multinomial",
}  # fmt: skip


def _accelerator_mode(monkeypatch, every):
    """Run the CPU trainer the way it runs on CUDA: one block, dense sampler on a torch generator,
    host checks every ``every`` steps."""
    monkeypatch.setattr(train_module, "_check_interval", lambda device: every)
    monkeypatch.setattr(blocks_module, "BLOCK_ELEMENTS", 1 << 40)

    def torch_source(seed, device):
        return TorchUniforms(torch.Generator(device=device).manual_seed(seed % 2**63))

    monkeypatch.setattr(blocks_module, "uniform_source", torch_source)
    monkeypatch.setattr(train_module, "uniform_source", torch_source)


class _RecordOps(TorchDispatchMode):
    """Records the aten operations dispatched while ``active`` is true."""

    def __init__(self):
        super().__init__()
        self.active = False
        self.seen: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if self.active:
            self.seen.append(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


def test_loop_reads_nothing_between_checks(tiny, monkeypatch):
    feats, model, training = tiny(n=6, instances=4, steps=30, sampler="dense", log_every=3)
    recorder = _RecordOps()
    train_block, check_block = train_module._train_block, train_module._check_block
    checks = []

    def recorded_block(*args, **kwargs):
        recorder.active = True
        try:
            return train_block(*args, **kwargs)
        finally:
            recorder.active = False

    def unrecorded_check(blk, step, *args):
        checks.append(step)
        recorder.active = False
        try:
            return check_block(blk, step, *args)
        finally:
            recorder.active = True

    monkeypatch.setattr(train_module, "_train_block", recorded_block)
    monkeypatch.setattr(train_module, "_check_block", unrecorded_check)
    _accelerator_mode(monkeypatch, every=10)
    with recorder:
        deferred = train(feats, model, training, workers=1)
    assert deferred.info["blocks"] == 1 and checks == [9, 19, 29]
    assert {"bmm", "_fused_adamw_", "uniform_"} <= set(recorder.seen)  # it saw the loop
    assert not HOST_READS & set(recorder.seen)

    # Checking every step (the CPU mode) trains bit for bit the same.
    monkeypatch.setattr(train_module, "_check_interval", lambda device: 1)
    immediate = train(feats, model, training, workers=1)
    for name in ("seed_W", "seed_b", "seed_loss", "history_loss"):
        assert np.array_equal(getattr(deferred, name), getattr(immediate, name)), name


def test_general_path_loop_reads_nothing_between_checks(monkeypatch):
    """The general (autograd) step, with structured signed features, an untied decoder,
    penalties and snapshots, in the accelerator mode: no host read between checks, and the same
    bits as checking every step."""
    feats = FeatureConfig(
        n_features=6, n_instances=3, density=0.2, values="signed", structure="correlated",
        set_size=3,
    )  # fmt: skip
    model = ModelConfig(n_features=6, n_hidden=3, hidden_activation="relu", tied=False)
    training = TrainConfig(
        steps=20, batch_size=64, sampler="dense", log_every=3, target="abs", l1_hidden=0.01,
        l1_weights=0.001, snapshot_steps=(0, 10, 20),
    )  # fmt: skip
    recorder = _RecordOps()
    train_block, check_block = train_module._train_block, train_module._check_block

    def recorded_block(*args, **kwargs):
        recorder.active = True
        try:
            return train_block(*args, **kwargs)
        finally:
            recorder.active = False

    def unrecorded_check(blk, step, *args):
        recorder.active = False
        try:
            return check_block(blk, step, *args)
        finally:
            recorder.active = True

    monkeypatch.setattr(train_module, "_train_block", recorded_block)
    monkeypatch.setattr(train_module, "_check_block", unrecorded_check)
    _accelerator_mode(monkeypatch, every=10)
    with recorder:
        deferred = train(feats, model, training, workers=1)
    assert deferred.info["paths"] == ["general"] * 3
    assert {"bmm", "_fused_adamw_", "uniform_", "threshold_backward"} <= set(recorder.seen)
    assert not HOST_READS & set(recorder.seen), HOST_READS & set(recorder.seen)
    monkeypatch.setattr(train_module, "_check_interval", lambda device: 1)
    immediate = train(feats, model, training, workers=1)
    for name in ("seed_W", "seed_W_dec", "seed_b", "seed_loss", "history_loss", "history_penalty"):
        assert np.array_equal(getattr(deferred, name), getattr(immediate, name)), name
    assert np.array_equal(deferred.snapshots["W_dec"], immediate.snapshots["W_dec"])


def test_deferred_checks_name_the_first_diverged_step(tiny, monkeypatch):
    """Divergence at step 1 is reported as step 1 even though the host first looks at step 19."""
    _accelerator_mode(monkeypatch, every=1000)
    feats, model, _ = tiny(instances=3)
    with pytest.raises(TrainingDivergedError, match=r"step 1: instance 0 .* non-finite gradient"):
        train(feats, model, TrainConfig(steps=20, lr=1e30, sampler="dense"), workers=1)


@pytest.mark.gpu
def test_cuda_loop_never_synchronises(tiny, monkeypatch):
    """Any synchronising CUDA call inside the loop, outside the periodic checks, raises."""
    train_block, check_block = train_module._train_block, train_module._check_block

    def strict_block(*args, **kwargs):
        torch.cuda.set_sync_debug_mode("error")
        try:
            return train_block(*args, **kwargs)
        finally:
            torch.cuda.set_sync_debug_mode("default")

    def lenient_check(*args):
        torch.cuda.set_sync_debug_mode("default")
        try:
            return check_block(*args)
        finally:
            torch.cuda.set_sync_debug_mode("error")

    monkeypatch.setattr(train_module, "_train_block", strict_block)
    monkeypatch.setattr(train_module, "_check_block", lenient_check)
    monkeypatch.setattr(train_module, "CUDA_CHECK_EVERY", 25)
    feats, model, _ = tiny(n=6, instances=4)
    result = train(feats, model, TrainConfig(steps=60, device="cuda", log_every=5))
    assert result.info["device"].startswith("cuda") and np.all(np.isfinite(result.seed_loss))


@pytest.mark.gpu
@pytest.mark.parametrize("sampler", ["sparse", "gram"])
def test_cuda_other_kinds_learn_the_same(tiny, sampler):
    """The row-sparse sampler and the Gram step also run on CUDA (torch.sort instead of numpy's
    radix sort) and reach the dense sampler's loss within 5 combined standard errors + 3%."""
    feats, model, _ = tiny(n=6, m=2, instances=1, density=0.05)
    cfg = dict(steps=1500, eval_samples=65536, lr=3e-3, schedule="cosine", device="cuda")
    dense = train(feats, model, TrainConfig(sampler="dense", **cfg))
    other = train(feats, model, TrainConfig(sampler=sampler, **cfg))
    assert other.info["samplers"] == [sampler]
    se = np.hypot(dense.loss_stderr[0], other.loss_stderr[0])
    assert abs(dense.loss[0] - other.loss[0]) <= 5 * se + 0.03 * dense.loss[0]


@pytest.mark.gpu
def test_reference_loop_runs_on_cuda():
    from toysup.reference import ReferenceModel, train_reference

    density, importance = torch.full((3, 5), 0.1), torch.ones(3, 5)
    model = ReferenceModel(density, importance, 2, seed=0, device="cuda")
    loss = train_reference(model, steps=20, batch_size=64)
    assert loss.device.type == "cuda" and torch.isfinite(loss).all()


@pytest.mark.gpu
def test_cuda_general_path_never_synchronises(monkeypatch):
    """The general (autograd) step on CUDA: no synchronising call inside the loop outside the
    periodic checks, and it learns: every configuration ends well below the loss of the zero
    output, ``Σ_i I_i E[x_i²] = Σ_i I_i p / 3`` (measured on CPU: about half of it)."""
    train_block, check_block = train_module._train_block, train_module._check_block

    def strict_block(*args, **kwargs):
        torch.cuda.set_sync_debug_mode("error")
        try:
            return train_block(*args, **kwargs)
        finally:
            torch.cuda.set_sync_debug_mode("default")

    def lenient_check(*args):
        torch.cuda.set_sync_debug_mode("default")
        try:
            return check_block(*args)
        finally:
            torch.cuda.set_sync_debug_mode("error")

    feats = FeatureConfig(n_features=6, n_instances=2, density=0.1, values="signed",
                          structure="anticorrelated")  # fmt: skip
    model = ModelConfig(n_features=6, n_hidden=4, hidden_activation="relu", tied=False)
    cfg = dict(steps=1500, lr=3e-3, schedule="cosine", target="abs", l1_hidden=1e-3,
               eval_samples=65536, snapshot_steps=(0, 1500))  # fmt: skip
    monkeypatch.setattr(train_module, "_train_block", strict_block)
    monkeypatch.setattr(train_module, "_check_block", lenient_check)
    monkeypatch.setattr(train_module, "CUDA_CHECK_EVERY", 250)
    gpu = train(feats, model, TrainConfig(device="cuda", **cfg))
    assert gpu.info["paths"] == ["general"] * 2 and gpu.info["device"].startswith("cuda")
    zero_output = 0.1 / 3 * feats.importance_array.sum(1)
    assert np.all(gpu.loss < 0.9 * zero_output), (gpu.loss, zero_output)
