"""train_sae: shapes, unit-norm dictionaries, reproducibility, the compact path, resampling,
divergence, save/load; and on real toy models of the family: the privileged basis
(h = ReLU(W x)), correlated / anticorrelated sets and signed values reach the SAE exactly, an
untied model is refused."""

from __future__ import annotations

import dataclasses
import importlib
import json

import numpy as np
import pytest
import torch

from tests.toysup.sae.conftest import feature_moments, hand_built_toy
from toysup import FeatureConfig, ModelConfig, TrainConfig, TrainingDivergedError, train
from toysup.data import TorchUniforms
from toysup.sae import SAEConfig, SAEResult, train_sae
from toysup.sae.data import FeatureStream
from toysup.sae.resample import ENCODER_SCALE, DeadLatents
from toysup.sae.step import SAEStep, param_count, param_views

FAST = TrainConfig(steps=60, batch_size=64, lr=5e-3, optimizer="adam", n_seeds=2, eval_samples=256)


def test_shapes_unit_columns_and_best_seed(orthogonal_toy):
    toy = orthogonal_toy(C=3, n=4, density=[0.05, 0.02, 0.01])
    for config in (
        SAEConfig(width=6),
        SAEConfig(width=6, kind="topk", k=2),
        SAEConfig(width=6, kind="jumprelu"),
    ):
        sae = train_sae(toy, config, FAST, progress=False)
        C, S, w, m = 3, 2, 6, 4
        assert sae.W_enc.shape == (C, w, m) and sae.b_enc.shape == (C, w)
        assert sae.W_dec.shape == (C, m, w) and sae.b_dec.shape == (C, m)
        assert sae.seed_W_dec.shape == (C, S, m, w) and sae.history_loss.shape[1:] == (C, S)
        np.testing.assert_allclose(np.linalg.norm(sae.seed_W_dec, axis=2), 1.0, rtol=1e-5)
        rows = np.arange(C)
        np.testing.assert_array_equal(sae.loss, sae.seed_loss[rows, sae.best_seed])
        assert np.all(sae.loss == sae.seed_loss.min(1))
        if config.kind == "jumprelu":
            assert np.all(sae.seed_threshold > 0)
        else:
            assert np.all(sae.seed_threshold == 0)
        assert sae.info["samplers"] == ["compact"] * 3  # low density: most examples are empty


def test_reproducible_bit_for_bit_and_independent_of_workers(orthogonal_toy, monkeypatch):
    toy = orthogonal_toy(C=4, n=3, density=[0.3, 0.2, 0.05, 0.01])
    config = SAEConfig(width=5, kind="jumprelu", resample_every=20)
    monkeypatch.setattr("toysup.sae.train.BLOCK_ELEMENTS", 1000)  # 640 entries a configuration
    big = FAST
    a = train_sae(toy, config, big, seed=3, progress=False, workers=1)
    b = train_sae(toy, config, big, seed=3, progress=False, workers=2)
    assert a.info["blocks"] > 1
    for name in (
        "seed_W_enc",
        "seed_W_dec",
        "seed_b_enc",
        "seed_b_dec",
        "seed_threshold",
        "seed_loss",
    ):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    c = train_sae(toy, config, big, seed=4, progress=False, workers=1)
    assert not np.array_equal(a.seed_W_dec, c.seed_W_dec)
    d = train_sae(toy, config, dataclasses.replace(big, seed=1), seed=3, progress=False)
    assert not np.array_equal(a.seed_W_dec, d.seed_W_dec)  # training.seed enters too


def test_compact_and_dense_samplers_learn_the_same_dictionary(orthogonal_toy):
    """The compact path (all-zero examples in closed form) and the dense sampler draw the same
    distribution: both recover an orthogonal 3-feature dictionary at p = 0.05."""
    toy = orthogonal_toy(C=1, n=3, density=[0.05], seed=2)
    training = TrainConfig(steps=600, batch_size=128, lr=1e-2, optimizer="adam", n_seeds=2,
                           schedule="cosine", eval_samples=512)  # fmt: skip
    U = toy.W[0] / np.linalg.norm(toy.W[0], axis=0)
    for sampler in ("compact", "dense"):
        sae = train_sae(
            toy,
            SAEConfig(width=6, l1=0.05),
            dataclasses.replace(training, sampler=sampler),
            progress=False,
        )
        assert sae.info["samplers"] == [sampler]
        best = np.abs(U.T @ sae.W_dec[0]).max(1)  # each feature's best latent
        # 600 steps recover the three directions to cos > 0.98 in practice (the tests of
        # verify.sae demand 0.98 after full training); 0.95 leaves room for a slow seed
        assert np.all(best > 0.95), (sampler, best)


def test_dead_latents_are_detected_exactly_and_resampled():
    """A latent fired iff its decoder-gradient column is non-zero; a resampled latent gets the
    normalised centred input as decoder column, 0.2 × the live rows' mean norm as encoder row,
    zero bias and zeroed Adam moments; live latents are untouched."""
    gen = torch.Generator().manual_seed(0)
    n_inst, w, m, B = 2, 5, 3, 40
    flat = torch.randn(param_count(n_inst, w, m, "relu"), generator=gen, dtype=torch.float64)
    p = param_views(flat, n_inst, w, m, "relu")
    p.b_enc[:, :3] = 100.0  # latents 0-2 always fire
    p.b_enc[:, 3:] = -100.0  # latents 3, 4 never do
    grads = torch.zeros_like(flat)
    g = param_views(grads, n_inst, w, m, "relu")
    step = SAEStep("relu", n_inst, w, m, B, penalty=0.01, dtype=torch.float64)
    h = torch.rand(n_inst, m, B, generator=gen, dtype=torch.float64)
    step.gradients(h, p, g)
    dead = DeadLatents(n_inst, w, torch.device("cpu"))
    dead.record(g.W_dec)
    np.testing.assert_array_equal(dead.fired.numpy(), (step.z > 0).any(2).numpy())
    assert not dead.fired[:, 3:].any() and dead.fired[:, :3].all()

    moments = (param_views(torch.ones_like(flat), n_inst, w, m, "relu"),
               param_views(torch.ones_like(flat), n_inst, w, m, "relu"))  # fmt: skip
    before = {name: getattr(p, name).clone() for name in ("W_enc", "W_dec", "b_enc")}
    alive_norm = torch.linalg.vector_norm(before["W_enc"][:, :3], dim=2).mean(1)
    dead.resample(p, moments, step.centred, step.error, TorchUniforms(gen), log_threshold_init=0.0)
    torch.testing.assert_close(p.W_enc[:, :3], before["W_enc"][:, :3])
    torch.testing.assert_close(p.W_dec[:, :, :3], before["W_dec"][:, :, :3])
    cols = step.centred / torch.linalg.vector_norm(step.centred, dim=1, keepdim=True)
    for i in range(n_inst):
        for j in (3, 4):
            d = p.W_dec[i, :, j]
            assert torch.isclose(d.norm(), torch.tensor(1.0, dtype=torch.float64))
            assert torch.isclose((cols[i].T @ d).max(), torch.tensor(1.0, dtype=torch.float64))
            torch.testing.assert_close(p.W_enc[i, j], d * ENCODER_SCALE * alive_norm[i])
    assert torch.all(p.b_enc[:, 3:] == 0)
    for moment in moments:
        assert torch.all(moment.W_dec[:, :, 3:] == 0) and torch.all(moment.W_dec[:, :, :3] == 1)
        assert torch.all(moment.b_enc[:, 3:] == 0) and torch.all(moment.W_enc[:, :3] == 1)
    assert dead.resampled.tolist() == [2, 2] and not dead.fired.any()


def test_training_resamples_latents_that_never_fire():
    """With W = I the inputs lie in the positive quadrant: latents initialised pointing into the
    negative one do not fire at first (about a quarter of 24) and are resampled; without
    resampling none is. (What resampling does to a latent: the test above.)"""
    toy = hand_built_toy(np.eye(2)[None], np.array([[0.3]]))
    config = SAEConfig(width=24, l1=0.05, resample_every=10, resample_until=0.5)
    sae = train_sae(toy, config, FAST, progress=False)
    no = train_sae(toy, dataclasses.replace(config, resample_every=None), FAST, progress=False)
    assert sae.seed_resampled.min() > 0 and no.seed_resampled.max() == 0


class Recorder:
    """Records, during train_sae, every batch of features the SAE's stream draws (``x``, as
    FeatureStream.draw returns it) and every batch of inputs the SAE is trained on (``h``, as
    SAEStep.gradients receives it, with its count of implicit all-zero examples). Run with one
    worker and one block, so the i-th training ``h`` comes from the i-th ``x`` (evaluation draws
    come after them)."""

    def __init__(self, monkeypatch):
        self.x, self.h, self.implicit, self.streams = [], [], [], []
        init, draw, gradients = FeatureStream.__init__, FeatureStream.draw, SAEStep.gradients

        def recording_init(stream, features, rows, *args, **kwargs):
            self.streams.append(np.asarray(rows).copy())
            init(stream, features, rows, *args, **kwargs)

        def recording_draw(stream):
            x = draw(stream)
            self.x.append(x.detach().double().clone())
            return x

        depth = [0]

        def recording_gradients(step, h, p, g, *, implicit=0):
            if depth[0] == 0:  # not the step's own call for the implicit zero example
                self.h.append(h.detach().double().clone())
                self.implicit.append(implicit)
            depth[0] += 1
            try:
                return gradients(step, h, p, g, implicit=implicit)
            finally:
                depth[0] -= 1

        monkeypatch.setattr(FeatureStream, "__init__", recording_init)
        monkeypatch.setattr(FeatureStream, "draw", recording_draw)
        monkeypatch.setattr(SAEStep, "gradients", recording_gradients)

    @property
    def rows(self):
        """(I,) the configuration of each training instance (the training stream's rows: block
        order, configuration-major, a row per SAE seed)."""
        return self.streams[0]

    def pairs(self):
        """(x (I, n, C), h (I, m, C), implicit) of every training step."""
        return list(zip(self.x, self.h, self.implicit))


def _trained_toy(features, model, steps=150):
    return train(
        features, model,
        TrainConfig(steps=steps, batch_size=256, lr=1e-2, schedule="cosine"), progress=False,
    )  # fmt: skip


def test_privileged_basis_model_reads_relu_hidden_activations(monkeypatch):
    """A trained privileged-basis toy model (h = ReLU(W x), hidden_activation="relu"): every batch
    the SAE trains on equals ReLU(W x), computed here in float64 from the features the SAE's
    stream drew, for both samplers; and the ReLU matters (a third of the active examples' W x
    entries are negative), so an SAE reading W x would fail this."""
    n, m = 6, 3
    toy = _trained_toy(
        FeatureConfig(n_features=n, n_instances=2, density=[[0.3], [0.05]]),
        ModelConfig(n_features=n, n_hidden=m, hidden_activation="relu"),
    )
    assert toy.model.hidden_activation == "relu" and toy.info["paths"] == ["general"] * 2
    W = np.asarray(toy.W, np.float64)
    for sampler in ("dense", "compact"):
        record = Recorder(monkeypatch)
        training = dataclasses.replace(FAST, steps=20, sampler=sampler)
        sae = train_sae(toy, SAEConfig(width=8), training, progress=False, workers=1)
        assert sae.info["samplers"] == [sampler] * 2
        rows = record.rows
        assert sorted(rows.tolist()) == [0, 0, 1, 1]  # two configurations × two SAE seeds
        negative = total = 0
        for x, h, implicit in record.pairs():
            assert x.shape[2] + implicit == FAST.batch_size
            pre = np.einsum("imn,inc->imc", W[rows], x.numpy())
            # float32 products and sums of n = 6 terms of size ≤ 2: rounding ≤ 1e-6
            np.testing.assert_allclose(h.numpy(), np.maximum(pre, 0.0), rtol=1e-6, atol=1e-6)
            active = x.numpy().any(1)[:, None, :]
            negative += np.sum((pre < -1e-3) & active)
            total += np.sum(np.broadcast_to(active, pre.shape))
        assert negative > 0.3 * total, negative / total  # measured: about 0.5


def test_privileged_basis_evaluation_reads_relu_hidden_activations():
    """With W = −I every h = ReLU(−x) is 0, so the SAE's evaluated reconstruction error is 0;
    the same W in the basic model (h = −x) cannot be reconstructed perfectly at L1 > 0."""
    W = -np.eye(3)[None]
    relu_toy = hand_built_toy(
        W, np.array([[0.5]]), model=ModelConfig(n_features=3, n_hidden=3, hidden_activation="relu")
    )
    base = hand_built_toy(W, np.array([[0.5]]))
    config = SAEConfig(width=4, l1=0.05)
    assert train_sae(relu_toy, config, FAST, progress=False).mse.max() < 1e-4
    assert train_sae(base, config, FAST, progress=False).mse.min() > 1e-3


def test_untied_toy_models_are_refused():
    toy = train(
        FeatureConfig(n_features=3, density=0.5), ModelConfig(n_features=3, n_hidden=2, tied=False),
        TrainConfig(steps=2), progress=False,
    )  # fmt: skip
    with pytest.raises(ValueError, match="tied=False"):
        train_sae(toy, SAEConfig(width=4), FAST, progress=False)


#: (structure, values, set_size, SAE sampler): every structure and value range, each sampler.
STRUCTURED = [
    ("correlated", "unit", 2, "compact"),
    ("anticorrelated", "unit", 3, "dense"),
    ("independent", "signed", 2, "compact"),
    ("correlated", "signed", 3, "sparse"),
    ("anticorrelated", "signed", 2, "compact"),
]


@pytest.mark.parametrize(("structure", "values", "set_size", "sampler"), STRUCTURED)
def test_structured_features_reach_the_sae_with_their_moments(
    monkeypatch, structure, values, set_size, sampler
):
    """A toy model trained on correlated / anticorrelated sets or signed values: the SAE trains
    on h = W x of features drawn by the structured samplers. Checked: h = W x batch by batch; the
    structure itself in x (all or none within a correlated set, at most one active in an
    anticorrelated one, values of both signs iff signed); and the moments of h over all
    training examples (the compact sampler's implicit zeros included) against the closed form
    E[h] = W E[x], E[h hᵀ] = W E[x xᵀ] Wᵀ (tests/toysup/sae/conftest.py) within 5 standard errors
    estimated from the same examples (|z| > 5 has probability 6e-7 per entry; 36 entries per
    case). The same examples must reject the moments of independent unit features (|z| > 8
    somewhere): the check can tell the structures apart."""
    n, m, C = 6, 3, 2
    features = FeatureConfig(
        n_features=n, n_instances=C, density=[[0.2], [0.03]], structure=structure,
        values=values, set_size=set_size,
    )  # fmt: skip
    toy = _trained_toy(features, ModelConfig(n_features=n, n_hidden=m), steps=60)
    record = Recorder(monkeypatch)
    training = dataclasses.replace(FAST, steps=60, batch_size=256, sampler=sampler)
    train_sae(toy, SAEConfig(width=6), training, progress=False, workers=1)
    rows = record.rows
    W = np.asarray(toy.W, np.float64)[rows]  # (I, m, n)
    sums = {"h": 0.0, "h2": 0.0, "hh": 0.0, "hh2": 0.0}
    N = 0
    for x, h, implicit in record.pairs():
        x, h = x.numpy(), h.numpy()
        np.testing.assert_allclose(h, np.einsum("imn,inc->imc", W, x), rtol=1e-6, atol=1e-6)
        sets = (x != 0).reshape(x.shape[0], n // set_size, set_size, -1).sum(2)
        if structure == "correlated":
            assert np.all((sets == 0) | (sets == set_size))
        elif structure == "anticorrelated":
            assert sets.max() <= 1
        assert (x.min() < 0) == (values == "signed") and x.min() >= -1 and x.max() < 1
        hh = np.einsum("iac,ibc->iabc", h, h)  # (I, m, m, C)
        sums["h"] += h.sum(2)
        sums["h2"] += np.square(h).sum(2)
        sums["hh"] += hh.sum(3)
        sums["hh2"] += np.square(hh).sum(3)
        N += x.shape[2] + implicit
    assert N == training.steps * training.batch_size
    mean, second = sums["h"] / N, sums["hh"] / N
    se_mean = np.sqrt((sums["h2"] / N - mean**2) / N)
    se_second = np.sqrt((sums["hh2"] / N - second**2) / N)

    def z_scores(config):
        ex, exx = feature_moments(config)
        exact_mean = np.einsum("imn,in->im", W, ex[rows])
        exact_second = np.einsum("ian,inj,ibj->iab", W, exx[rows], W)
        return np.concatenate(
            [((mean - exact_mean) / se_mean).ravel(), ((second - exact_second) / se_second).ravel()]
        )

    assert np.abs(z_scores(features)).max() < 5, z_scores(features)
    plain = dataclasses.replace(features, structure="independent", values="unit")
    assert np.abs(z_scores(plain)).max() > 8


def test_bad_arguments(orthogonal_toy):
    toy = orthogonal_toy(C=1, n=2)
    config = SAEConfig(width=3)
    with pytest.raises(TypeError, match="TrainResult"):
        train_sae(toy.W, config)
    with pytest.raises(TypeError, match="SAEConfig"):
        train_sae(toy, {"width": 3})
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -1"):
        train_sae(toy, config, FAST, seed=-1)
    with pytest.raises(ValueError, match="workers"):
        train_sae(toy, config, FAST, workers=0)
    with pytest.raises(ValueError, match="'gram'"):
        train_sae(toy, config, dataclasses.replace(FAST, sampler="gram"))


def test_divergence_names_the_instance():
    W = np.stack([np.eye(2), np.full((2, 2), np.inf)])
    toy = hand_built_toy(W, np.array([[0.5], [0.5]]))
    with pytest.raises(TrainingDivergedError, match="configuration 1") as info:
        train_sae(toy, SAEConfig(width=3), FAST, progress=False)
    assert info.value.config == 1 and info.value.step == 0


def test_save_load_round_trip_and_validation(tmp_path, orthogonal_toy):
    sae = train_sae(
        orthogonal_toy(C=2, n=3), SAEConfig(width=4, kind="topk", k=2), FAST, progress=False
    )
    path = sae.save(tmp_path / "sae")
    back = SAEResult.load(path)
    assert back.config == sae.config and back.training == sae.training
    assert back.features == sae.features and back.model == sae.model
    for name in ("W_enc", "seed_W_dec", "history_loss", "seed_resampled", "toy_W"):
        np.testing.assert_array_equal(getattr(back, name), getattr(sae, name))
    with pytest.raises(FileExistsError):
        sae.save(path)
    arrays = dict(np.load(path / "arrays.npz"))
    arrays["W_dec"] = arrays["W_dec"][:, :, :3]
    np.savez(path / "arrays.npz", **arrays)
    with pytest.raises(
        ValueError, match=r"arrays.npz: W_dec has shape \(2, 3, 3\), expected \(2, 3, 4\)"
    ):
        SAEResult.load(path)
    sae.save(path, overwrite=True)
    meta = json.loads((path / "sae.json").read_text())
    meta["schema"] = 99
    (path / "sae.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"sae\.json: unsupported schema 99"):
        SAEResult.load(path)
    with pytest.raises(FileNotFoundError, match="not a saved SAEResult"):
        SAEResult.load(tmp_path)


def test_repr_is_a_short_table(orthogonal_toy):
    sae = train_sae(orthogonal_toy(C=2, n=3), SAEConfig(width=4), FAST, progress=False)
    text = repr(sae)
    lines = text.splitlines()
    assert lines[0].startswith("SAEResult: relu w4 l1=0.1 — median fraction of variance")
    assert len(lines) == 1 + 2 + 1 + 2 and "[" not in text  # verdict, settings, table, no arrays


@pytest.mark.gpu
def test_cuda_matches_cpu_statistically(orthogonal_toy):
    toy = orthogonal_toy(C=2, n=3, density=[0.2, 0.05])
    training = dataclasses.replace(FAST, steps=600, device="cuda")
    sae = train_sae(toy, SAEConfig(width=6, l1=0.05), training, progress=False)
    assert sae.info["device"].startswith("cuda")
    U = toy.W / np.linalg.norm(toy.W, axis=1, keepdims=True)
    best = np.abs(np.einsum("cmn,cmw->cnw", U, sae.W_dec)).max(2)
    assert np.all(best > 0.95)


def test_accelerator_mode_reads_nothing_between_checks(orthogonal_toy, monkeypatch):
    """On CUDA the loop records divergence on the device and the host reads it every
    CUDA_CHECK_EVERY steps. That mode runs here on CPU: between checks no operation reads a
    value or makes a value-dependent shape, the result is the CPU mode's bit for bit, and a
    divergence is still reported, at its step."""
    from torch.utils._python_dispatch import TorchDispatchMode

    train_module = importlib.import_module("toysup.sae.train")
    host_reads = {"_local_scalar_dense", "is_nonzero", "equal", "nonzero", "masked_select",
                  "unique", "_unique2", "repeat_interleave", "bincount", "multinomial"}  # fmt: skip

    class Record(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.active, self.seen = False, []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if self.active:
                self.seen.append(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    toy = orthogonal_toy(C=2, n=3, density=[0.3, 0.1])
    training = dataclasses.replace(FAST, steps=40, sampler="dense", log_every=4)
    config = SAEConfig(width=5, kind="jumprelu", resample_every=10)
    reference = train_sae(toy, config, training, progress=False)
    recorder = Record()
    host_check, checks = train_module._host_check, []

    def unrecorded(blk, bad_step):
        checks.append(True)
        recorder.active = False
        try:
            return host_check(blk, bad_step)
        finally:
            recorder.active = True

    block = train_module._train_block

    def recorded(*args, **kwargs):
        recorder.active = True
        try:
            return block(*args, **kwargs)
        finally:
            recorder.active = False

    monkeypatch.setattr(train_module, "_check_interval", lambda device: 15)
    monkeypatch.setattr(train_module, "_host_check", unrecorded)
    monkeypatch.setattr(train_module, "_train_block", recorded)
    with recorder:
        sae = train_sae(toy, config, training, progress=False, workers=1)
    assert len(checks) == 3  # steps 15, 30 and the last
    assert recorder.seen and not set(recorder.seen) & host_reads, set(recorder.seen) & host_reads
    np.testing.assert_array_equal(sae.seed_W_dec, reference.seed_W_dec)
    bad = hand_built_toy(np.stack([np.eye(2), np.full((2, 2), np.inf)]), np.array([[0.5], [0.5]]))
    with pytest.raises(TrainingDivergedError, match="step 0") as info:
        train_sae(bad, config, training, progress=False)
    assert info.value.config == 1
