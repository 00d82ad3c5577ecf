"""verify.sae.recovery on hand-built SAEs whose answers are known exactly (a perfect dictionary,
one rotated by a known angle, shrunk codes), and match_features' one-to-one matching."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from tests.toysup.sae.conftest import hand_built_toy, random_orthogonal
from toysup import ModelConfig, TrainConfig
from toysup.sae import SAEConfig, SAEResult
from verify.sae import match_features, recovery, seed_interval, true_features

N_SAMPLES = 8192


def hand_built_sae(toy, config, W_enc, W_dec, *, b_enc=None, b_dec=None) -> SAEResult:
    """An SAEResult with the given (C, S, ...) parameters, as if trained on ``toy``."""
    W_enc, W_dec = np.asarray(W_enc, np.float64), np.asarray(W_dec, np.float64)
    C, S, w, m = W_enc.shape
    z = np.zeros
    b_enc = z((C, S, w)) if b_enc is None else np.asarray(b_enc, np.float64)
    b_dec = z((C, S, m)) if b_dec is None else np.asarray(b_dec, np.float64)
    return SAEResult(
        config=config, training=TrainConfig(steps=1, n_seeds=S), features=toy.features,
        model=toy.model, toy_W=toy.W, toy_b=toy.b,
        W_enc=W_enc[:, 0], b_enc=b_enc[:, 0], W_dec=W_dec[:, 0], b_dec=b_dec[:, 0],
        threshold=z((C, w)), loss=z(C), mse=z(C), l0=z(C), best_seed=z(C, np.int64),
        seed_W_enc=W_enc, seed_b_enc=b_enc, seed_W_dec=W_dec, seed_b_dec=b_dec,
        seed_threshold=z((C, S, w)), seed_loss=z((C, S)), seed_mse=z((C, S)), seed_l0=z((C, S)),
        seed_dead=z((C, S), np.int64), seed_resampled=z((C, S), np.int64),
        history_steps=z(1, np.int64), history_loss=z((1, C, S)),
    )  # fmt: skip


def _perfect(toy, seeds=2, scale=1.0):
    """z = ReLU(scale · Wᵀ h − 1e-6) = scale · x up to 1e-6 (W orthogonal): the bias keeps the
    float32 rounding of Wᵀ W (~1e-8) from making inactive features' codes positive."""
    W = np.asarray(toy.W, np.float64)  # (C, m, n), orthogonal: the perfect dictionary is W
    W_enc = np.repeat(scale * np.swapaxes(W, 1, 2)[:, None], seeds, 1)
    W_dec = np.repeat(W[:, None], seeds, 1)
    C, n = W.shape[0], W.shape[2]
    b_enc = np.full((C, seeds, n), -1e-6)
    return hand_built_sae(toy, SAEConfig(width=n), W_enc, W_dec, b_enc=b_enc)


def test_a_perfect_dictionary_scores_perfectly():
    n, p = 4, 0.2
    toy = hand_built_toy(random_orthogonal(2, n), np.full((2, 1), p))
    r = recovery(_perfect(toy), toy, n_samples=N_SAMPLES, seed=1)
    assert r.represented.tolist() == [n, n] and r.recovered.tolist() == [n, n]
    # W is stored in float32 (orthogonal to ~1e-7) and codes are x − 1e-6: every exact identity
    # holds to ~1e-5 at worst
    np.testing.assert_allclose(r.seed_mcc, 1.0, atol=1e-6)
    assert np.all(r.seed_recovered_at == n)  # even at 0.99
    np.testing.assert_allclose(r.seed_fvu, 0.0, atol=1e-9)  # squared errors
    np.testing.assert_allclose(r.seed_shrinkage, 0.0, atol=1e-4)
    np.testing.assert_allclose(r.seed_loss_recovered, 1.0, atol=1e-5)
    assert np.all(r.seed_dead == 0) and np.all(r.seed_dense == 0)
    # z = x, so L0 is the number of non-zero features: mean n p, sd sqrt(n p (1 − p)) per
    # example; 4 standard errors (a false alarm once in ~16,000 runs)
    se = np.sqrt(n * p * (1 - p) / N_SAMPLES)
    assert np.all(np.abs(r.seed_l0 - n * p) < 4 * se), (r.seed_l0, n * p, se)


def test_shrunk_codes_give_the_known_shrinkage_and_loss_recovered():
    """Codes z = 0.8 x: ĥ = 0.8 h, so γ = E‖ĥ‖²/E[ĥ·h] = 0.8 exactly; the spliced toy loss is
    0.04 n p/3, mean ablation costs n (p/3 − p²/4) (b = 0, importance 1)."""
    n, p = 4, 0.2
    toy = hand_built_toy(random_orthogonal(1, n, seed=5), np.array([[p]]))
    r = recovery(_perfect(toy, scale=0.8), toy, n_samples=N_SAMPLES, seed=2)
    np.testing.assert_allclose(r.seed_shrinkage, 0.2, atol=1e-4)  # float32 W, bias 1e-6
    np.testing.assert_allclose(r.seed_mcc, 1.0, atol=1e-6)  # directions are unaffected
    expected = 1 - 0.04 * (p / 3) / (p / 3 - p**2 / 4)
    # both losses are means of 8192 examples (relative SE ≈ 1.6%): ±0.005 is > 5 SE of the ratio
    np.testing.assert_allclose(r.seed_loss_recovered, expected, atol=5e-3)
    np.testing.assert_allclose(r.toy_loss, 0.0, atol=1e-10)  # squared float32 rounding
    np.testing.assert_allclose(r.seed_spliced_loss, 0.04 * n * p / 3, rtol=0.05)


def test_a_rotated_dictionary_has_the_rotation_cosine_and_the_t_interval():
    """Seed s rotates every decoder column towards the next feature by a known angle:
    d_i = c_s u_i + √(1 − c_s²) u_{i+1}. The matching stays i ↔ i, MCC is c_s, and recovered
    counts follow the threshold."""
    n, cosines = 4, np.array([0.95, 0.85, 0.97])
    W = random_orthogonal(1, n, seed=3)
    toy = hand_built_toy(W, np.array([[0.1]]))
    U = W[0]
    decoders = np.stack([c * U + np.sqrt(1 - c**2) * np.roll(U, -1, axis=1) for c in cosines])
    sae = hand_built_sae(toy, SAEConfig(width=n), np.swapaxes(decoders, 1, 2)[None], decoders[None])
    r = recovery(sae, toy, n_samples=512)
    np.testing.assert_allclose(r.seed_mcc[0], cosines, atol=1e-6)
    assert r.seed_recovered[0].tolist() == [4, 0, 4] and r.recovered[0] == 4  # median
    at = dict(zip(np.round(r.thresholds, 3).tolist(), r.seed_recovered_at[0].T.tolist()))
    assert at[0.8] == [4, 4, 4] and at[0.95] == [4, 0, 4] and at[0.99] == [0, 0, 0]
    low, high = stats.t.interval(0.95, 2, loc=np.mean([4, 0, 4]), scale=stats.sem([4, 0, 4]))
    np.testing.assert_allclose(r.interval("recovered")[0], [low, high])
    np.testing.assert_allclose(
        r.interval("mcc", 0.9)[0],
        stats.t.interval(0.9, 2, loc=cosines.mean(), scale=stats.sem(cosines)),
    )
    assert np.isnan(seed_interval(np.ones((2, 1)), 0.95)).all()  # one seed: no interval


def test_fewer_latents_than_features_and_unrepresented_features():
    n = 4
    W = random_orthogonal(1, n, seed=4)
    W[0, :, 3] *= 0.3  # ‖W_3‖ = 0.3 < 0.5: not represented
    toy = hand_built_toy(W, np.array([[0.1]]))
    U = W[0] / np.linalg.norm(W[0], axis=0)
    decoders = U[:, :2][None, None]  # two latents: features 0 and 1 exactly
    r = recovery(
        hand_built_sae(toy, SAEConfig(width=2), np.swapaxes(decoders, 2, 3), decoders),
        toy,
        n_samples=256,
    )
    assert r.represented[0] == 3 and r.recovered[0] == 2
    np.testing.assert_allclose(r.seed_mcc[0, 0], 2 / 3, atol=1e-6)  # the unmatched one counts 0
    assert (
        np.isnan(r.feature_cosine[0, 0, 3])
        and r.matched_latent[0, 0, :3, 0].tolist().count(-1) == 1
    )


def test_match_features_is_one_to_one_and_optionally_sign_blind():
    U = np.eye(3)
    D = np.array([[0.0, 1, 0.9], [1, 0, 0.1], [0, 0, 0.3]])  # latent 2 is close to feature 0 too
    matched, latent, best = match_features(U, D)
    assert latent.tolist() == [1, 0, 2]  # feature 0 gets latent 1 (cos 1), not latent 2
    np.testing.assert_allclose(best, [1.0, 1.0, 0.3 / np.linalg.norm(D[:, 2])])
    flipped, _, _ = match_features(U, -D, signed=True)
    np.testing.assert_allclose(flipped, matched)
    unsigned, _, _ = match_features(U, -D)
    assert unsigned.max() <= 0


def test_privileged_basis_truth_is_relu_of_the_columns():
    """h = ReLU(W x): feature i alone gives x_i ReLU(W_i), so that is its direction, and it is
    represented when ‖ReLU(W_i)‖ > 0.5 (its gain through the model); feature 2 has ‖W_2‖ = 1 but
    ‖ReLU(W_2)‖ = 0.3: represented in the basic model, not in the privileged basis."""
    W = np.array([[[1.0, -1.0, 0.3], [0.5, 1.0, -0.954]]])
    relu = ModelConfig(n_features=3, n_hidden=2, hidden_activation="relu")
    truth = true_features(hand_built_toy(W, np.array([[0.1]]), model=relu))
    # W is stored in float32 (a TrainResult's dtype)
    np.testing.assert_allclose(
        truth.directions[0, :, :, 0], [[1.0, 0.0, 0.3], [0.5, 1.0, 0.0]], rtol=1e-7
    )
    assert truth.represented.tolist() == [[True, True, False]]
    basic = true_features(hand_built_toy(W, np.array([[0.1]])))
    np.testing.assert_allclose(basic.directions[0, :, :, 0], W[0], rtol=1e-7)
    assert basic.represented.tolist() == [[True, True, True]]


def _signed_toy(W, p=0.2, *, model=None):
    """A hand-built toy whose features take values uniform on [−1, 1]."""
    toy = hand_built_toy(W, np.full((W.shape[0], 1), p), model=model)
    return dataclasses.replace(toy, features=dataclasses.replace(toy.features, values="signed"))


def test_signed_features_have_two_directions_and_need_both():
    """Signed values: x_i W_i points along +W_i or −W_i, and an SAE's codes are non-negative, so
    each feature has two true directions. A dictionary of ±W_i (2n latents, codes
    ReLU(±W_iᵀh)) recovers all n features exactly; one of +W_i only recovers none of them (each
    lacks its −W_i: MCC = n / 2n); one that has both but with −W_0 rotated to cosine 0.8 loses
    feature 0 alone."""
    n = 3
    W = random_orthogonal(1, n, seed=6)
    toy = _signed_toy(W)
    truth = true_features(toy)
    assert truth.directions.shape == (1, n, n, 2) and truth.present.all()
    U = W[0]
    both = np.concatenate([U, -U], axis=1)[None, None]  # (1, 1, m, 2n)
    b_enc = np.full((1, 1, 2 * n), -1e-6)
    r = recovery(
        hand_built_sae(toy, SAEConfig(width=2 * n), np.swapaxes(both, 2, 3), both, b_enc=b_enc),
        toy,
        n_samples=N_SAMPLES,
    )
    assert r.represented[0] == n and r.directions[0] == 2 * n and r.recovered[0] == n
    np.testing.assert_allclose(r.seed_mcc, 1.0, atol=1e-6)
    np.testing.assert_allclose(r.seed_fvu, 0.0, atol=1e-9)  # ReLU(Wᵀh) − ReLU(−Wᵀh) = x
    plus = U[None, None]
    half = recovery(
        hand_built_sae(toy, SAEConfig(width=n), np.swapaxes(plus, 2, 3), plus), toy, n_samples=256
    )
    assert half.recovered[0] == 0
    np.testing.assert_allclose(half.seed_mcc, 0.5, atol=1e-6)
    np.testing.assert_allclose(half.direction_cosine[0, 0, :, 0], 1.0, atol=1e-6)
    assert np.all(half.direction_cosine[0, 0, :, 1] == 0) and np.all(half.feature_cosine == 0)
    tilted = both.copy()
    tilted[0, 0, :, n] = -(0.8 * U[:, 0] + 0.6 * U[:, 1])  # −W_0, rotated to cosine 0.8
    r = recovery(
        hand_built_sae(toy, SAEConfig(width=2 * n), np.swapaxes(tilted, 2, 3), tilted),
        toy,
        n_samples=256,
    )
    assert r.recovered[0] == n - 1
    np.testing.assert_allclose(r.feature_cosine[0, 0], [0.8, 1.0, 1.0], atol=1e-6)


def test_signed_features_in_the_privileged_basis():
    """h = ReLU(W x) with signed values: feature i's directions are ReLU(W_i) and ReLU(−W_i);
    a direction of norm ≤ 0.5 is not present (feature 0, all of whose weights are positive, is
    invisible when negative: x_0 < 0 gives h = 0), and a feature is recovered when its present
    directions are."""
    W = np.array([[[1.0, 0.8, 0.0], [0.2, -0.8, 1.0]]])
    relu = ModelConfig(n_features=3, n_hidden=2, hidden_activation="relu")
    toy = _signed_toy(W, model=relu)
    truth = true_features(toy)
    assert truth.present.tolist() == [[[True, False], [True, True], [True, False]]]
    D = np.array([[1.0, 0.2], [0.8, 0.0], [0.0, 0.8], [0.0, 1.0]]).T  # the 4 present directions
    D = D / np.linalg.norm(D, axis=0)
    r = recovery(
        hand_built_sae(toy, SAEConfig(width=4), D.T[None, None], D[None, None]), toy, n_samples=256
    )
    assert r.directions[0] == 4 and r.recovered[0] == 3
    np.testing.assert_allclose(r.seed_mcc, 1.0, atol=1e-12)


def test_correlated_sets_are_scored_by_their_members_and_set_latents_are_counted():
    """Correlated sets of two (n = 4, orthogonal W): the members are the true features. A
    dictionary with the four members and one latent on the joint direction of set 0,
    (W_0 + W_1)/√2, recovers all four and has one set latent; without it, none. Sets are only
    defined for correlated structure (anticorrelated: NaN)."""
    W = random_orthogonal(1, 4, seed=7)
    U = W[0]
    base = hand_built_toy(W, np.array([[0.1]]))

    def structured(structure):
        features = dataclasses.replace(base.features, structure=structure, set_size=2)
        return dataclasses.replace(base, features=features)

    toy = structured("correlated")
    joint = (U[:, 0] + U[:, 1]) / np.sqrt(2)
    with_set = np.concatenate([U, joint[:, None]], axis=1)[None, None]
    r = recovery(
        hand_built_sae(toy, SAEConfig(width=5), np.swapaxes(with_set, 2, 3), with_set),
        toy,
        n_samples=256,
    )
    assert r.recovered[0] == 4 and r.n_sets[0] == 2 and r.seed_set_latents[0, 0] == 1
    members = U[None, None]
    r = recovery(
        hand_built_sae(toy, SAEConfig(width=4), np.swapaxes(members, 2, 3), members),
        toy,
        n_samples=256,
    )
    assert r.recovered[0] == 4 and r.seed_set_latents[0, 0] == 0
    anti = structured("anticorrelated")
    r = recovery(
        hand_built_sae(anti, SAEConfig(width=4), np.swapaxes(members, 2, 3), members),
        anti,
        n_samples=256,
    )
    assert r.n_sets[0] == 0 and np.isnan(r.seed_set_latents).all()


def test_dense_latents_are_counted():
    """A latent with a large encoder bias fires on every example: dense when 3 p < 1."""
    n = 3
    toy = hand_built_toy(random_orthogonal(2, n), np.array([[0.1], [0.5]]))
    sae = _perfect(toy, seeds=1)
    b_enc = np.zeros((2, 1, n))
    b_enc[:, :, 0] = 10.0
    sae = dataclasses.replace(sae, seed_b_enc=b_enc)
    r = recovery(sae, toy, n_samples=256)
    assert r.dense.tolist() == [1, 0]  # at p = 0.5 no latent can fire 3× as often as a feature


def test_bad_arguments_and_a_different_toy():
    toy = hand_built_toy(random_orthogonal(1, 3), np.array([[0.1]]))
    sae = _perfect(toy)
    other = hand_built_toy(random_orthogonal(1, 3, seed=9), np.array([[0.1]]))
    with pytest.raises(ValueError, match="trained on a different toy model"):
        recovery(sae, other)
    for kwargs, match in (
        (dict(threshold=0.0), "threshold must be a cosine in"),
        (dict(threshold=1.5), "threshold"),
        (dict(n_samples=1), "n_samples must be an integer >= 2, got 1"),
        (dict(level=1.0), "level must be a number in"),
        (dict(seed=True), "seed"),
    ):
        with pytest.raises(ValueError, match=match):
            recovery(sae, toy, **kwargs)
    with pytest.raises(TypeError, match="SAEResult"):
        recovery(toy, toy)


def test_repr_is_a_short_table_with_a_verdict():
    toy = hand_built_toy(random_orthogonal(2, 3), np.array([[0.1], [0.2]]))
    r = recovery(_perfect(toy, seeds=3), toy, n_samples=256)
    text = repr(r)
    lines = text.splitlines()
    assert lines[0].startswith("RecoveryResult: relu w3 l1=0.1 — 6 of 6 represented features")
    assert "more than m = 3 (lower 95% bound) in 0 of 2" in lines[0]
    assert len(lines) == 1 + 3 + 1 + 2 and "array" not in text  # verdict, settings, table
    assert "<table>" in r._repr_html_()
