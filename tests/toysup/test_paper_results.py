"""The paper's qualitative results on the model family, as statistical tests over seeds.

Each claim is tested with α = 0.01 (one-sided unless said otherwise), seeds fixed in advance
(``TrainConfig.seed`` below), and a decision rule chosen before looking at the outcome. The slow
tier (``pytest -m slow``) runs the paper-sized versions; each has a small fast version that tests
the same claim more weakly (fewer seeds and steps, usually as a contrast between two settings).
Paper: Elhage et al. (2022), sections named in each test.

Settings differ from the reference notebook's (lr 1e-3 constant, 10,000 steps) where stated, only
to converge within the budget; the measured values quoted in comments come from these runs.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from toysup.metrics import (
    abs_fit,
    abs_fit_by_sign,
    dimensionality,
    feature_norms,
    n_abs_computed,
    n_abs_signs_computed,
    n_polysemantic,
    n_represented,
    neuron_features,
    neuron_monosemanticity,
    set_cosines,
)

ALPHA = 0.01


def _most(successes: int, trials: int) -> bool:
    """One-sided binomial test of H0: P(success) ≤ 1/2 ("most seeds"), at ALPHA."""
    return stats.binomtest(successes, trials, 0.5, alternative="greater").pvalue < ALPHA


# --------------------------------------------------------------------------- privileged basis


def _privileged(density, *, seeds, steps, batch, lr=0.03):
    """n=10, m=5, importance 0.75^i (the paper's privileged-basis setting), h = ReLU(W x),
    x' = ReLU(Wᵀ h + b); AdamW, cosine schedule. One configuration per density."""
    density = np.asarray(density, dtype=float)
    return train(
        FeatureConfig(n_features=10, n_instances=density.size, importance=0.75 ** np.arange(10),
                      density=density[:, None]),
        ModelConfig(n_features=10, n_hidden=5, hidden_activation="relu"),
        TrainConfig(steps=steps, lr=lr, schedule="cosine", n_seeds=seeds, batch_size=batch,
                    eval_samples=2048, seed=11),
    )  # fmt: skip


def test_privileged_basis_neurons_fewer_features_when_dense_fast():
    """§"Superposition in a Privileged Basis", small version: 6 seeds at density 1 and 6 at 0.03
    (1,000 steps, batch 512). Each seed's mean positive-part monosemanticity is higher at
    density 1 than at 0.03 (one-sided Mann–Whitney U; 6 against 6 allows p = 0.0011 at complete
    separation; measured 0.57–0.78 against 0.32–0.41), and the sparse models represent more
    features than the dense ones (measured 5 against 8–10)."""
    r = _privileged([1.0, 0.03], seeds=6, steps=1000, batch=512)
    mono = np.nanmean(neuron_monosemanticity(r.seed_W, positive=True), axis=-1)  # (2, seeds)
    assert stats.mannwhitneyu(mono[0], mono[1], alternative="greater").pvalue < ALPHA, mono
    counts = n_represented(r.seed_W)
    assert stats.mannwhitneyu(counts[1], counts[0], alternative="greater").pvalue < ALPHA, counts


@pytest.mark.slow
def test_privileged_basis_monosemantic_when_dense_polysemantic_when_sparse():
    """§"Superposition in a Privileged Basis", 3,000 steps (lr 0.03, cosine; at lr 3e-3 the
    neurons were still mixing pairs of features after 5,000 steps, at a loss 1% above the
    optimum).

    At density 1 a model is monosemantic when every neuron puts > 90% of its squared weight on one
    feature and the neurons' features are exactly the top five, one each. Single runs get there
    in 12–15 of 16 (measured over two training seeds); the others are stuck with a dead neuron
    (loss up to 43% higher) or still mixing, so, as the paper keeps the best of many runs, each of
    12 replicate configurations keeps the best of 3 seeds by final loss; most replicates are
    monosemantic (binomial test). At density 0.03 most of 16 single runs represent more than m = 5
    features and have a polysemantic neuron (positive part; measured: 16 of 16, 8–10 features,
    4–5 polysemantic neurons)."""
    dense = _privileged([1.0] * 12, seeds=3, steps=3000, batch=1024).W  # (12, m, n), best seeds
    mono = neuron_monosemanticity(dense)
    top = np.sort(neuron_features(dense), axis=-1)
    monosemantic = np.all(mono > 0.9, axis=-1) & np.all(top == np.arange(5), axis=-1)
    assert _most(int(monosemantic.sum()), 12), (mono, top)
    sparse = _privileged([0.03], seeds=16, steps=3000, batch=1024).seed_W[0]  # (16, m, n)
    superposed = (n_represented(sparse) > 5) & (n_polysemantic(sparse, positive=True) >= 1)
    assert _most(int(superposed.sum()), 16), (n_represented(sparse), n_polysemantic(sparse))


# ----------------------------------------------------------- correlated and anticorrelated sets


def _within_set_cosines(structure, n, m, density, set_size, *, seeds, steps, batch):
    """The basic ReLU-output model, uniform importance, n features in sets of ``set_size``: the
    cosines between the features of each set, (seeds, pairs within sets)."""
    r = train(
        FeatureConfig(n_features=n, density=density, structure=structure, set_size=set_size),
        ModelConfig(n_features=n, n_hidden=m),
        TrainConfig(steps=steps, lr=3e-3, schedule="cosine", n_seeds=seeds, batch_size=batch,
                    eval_samples=1024, seed=5),
    )  # fmt: skip
    cos = set_cosines(r.seed_W[0], set_size)  # (seeds, sets, k, k)
    upper = np.triu_indices(set_size, 1)
    return cos[..., upper[0], upper[1]].reshape(seeds, -1)


def _check_sets(seeds, steps, batch, *, most):
    """§"Correlated and Anticorrelated Features": the paper reports that models put
    anticorrelated features in opposite directions and correlated features in orthogonal ones (a
    local orthogonal basis) rather than on one line. Compared with independent features of the
    same sizes and density (one-sided Fisher exact tests on the seeds):

    - Anticorrelated pairs, n = 4, m = 2, density 0.45 (a pair is active with probability 0.9).
      An anticorrelated pair never co-occurs, so placing it antipodally costs no interference,
      while independent features at this density interfere too often to share a dimension (often
      only two or three are represented). Seeds with both pairs antipodal (cosine < −0.8) are
      more frequent with anticorrelated pairs. Measured (12 seeds, other training seeds, 1,000
      steps): 8–11 of 12 against 1–2 of 12.
    - Correlated sets of three, n = 6, m = 3, density 0.1. Six features in three dimensions form
      an octahedron, three antipodal pairs; a set of three independent features contains one of
      those pairs in 60% of random pairings, while a correlated set, whose features co-occur,
      should not share a line. Seeds with an antipodal pair inside a set are less frequent with
      correlated sets. Measured: 0–1 of 12 against 6–8 of 12; all within-set |cosines| < 0.3 in
      9–11 of 12 correlated seeds.

    With ``most`` (the slow version) also: both pairs antipodal in most anticorrelated seeds, and
    all within-set |cosines| < 0.3 in most correlated seeds (binomial tests). Not tested, but
    worth knowing: at density 0.3, half of the seeds of correlated pairs (n = 4, m = 2) put the two
    features of a set on one direction (cosine ≈ +1), collapsing them when space is short.
    """
    sizes = dict(seeds=seeds, steps=steps, batch=batch)

    def fewer(first, second):  # one-sided Fisher exact test: first's rate below second's
        return stats.fisher_exact([[first, seeds - first], [second, seeds - second]],
                                  alternative="less").pvalue < ALPHA  # fmt: skip

    anti = _within_set_cosines("anticorrelated", 4, 2, 0.45, 2, **sizes)
    independent = _within_set_cosines("independent", 4, 2, 0.45, 2, **sizes)
    antipodal = [int(np.all(c < -0.8, axis=1).sum()) for c in (independent, anti)]
    assert fewer(*antipodal), (anti, independent)

    correlated = _within_set_cosines("correlated", 6, 3, 0.1, 3, **sizes)
    independent = _within_set_cosines("independent", 6, 3, 0.1, 3, **sizes)
    lined = [int(np.any(c < -0.8, axis=1).sum()) for c in (correlated, independent)]
    assert fewer(*lined), (correlated, independent)
    if most:
        assert _most(antipodal[1], seeds), anti
        assert _most(int(np.all(np.abs(correlated) < 0.3, axis=1).sum()), seeds), correlated


def test_correlated_and_anticorrelated_sets_fast():
    """16 seeds, 1,000 steps, batch 256 (the claims are in :func:`_check_sets`)."""
    _check_sets(seeds=16, steps=1000, batch=256, most=False)


@pytest.mark.slow
def test_correlated_and_anticorrelated_sets():
    """24 seeds, 3,000 steps, batch 1024 (the claims are in :func:`_check_sets`)."""
    _check_sets(seeds=24, steps=3000, batch=1024, most=True)


# --------------------------------------------------------------------------- absolute value


def _absolute_value(
    density, n, m, *, seeds, steps, batch, decoder_init="random", lr=3e-3, schedule="cosine"
):
    """§"Computation in Superposition": values uniform on [−1, 1], importance 0.8^i,
    h = ReLU(W x), y = ReLU(W_dec h + b) trained on |x|. One configuration per seed (one seed
    each), so that every run's initialisation is in the snapshots. Returns (W, W_dec, b) at the
    end and at initialisation, each array (seeds, ...)."""
    r = train(
        FeatureConfig(n_features=n, n_instances=seeds, importance=0.8 ** np.arange(n),
                      density=density, values="signed"),
        ModelConfig(n_features=n, n_hidden=m, hidden_activation="relu", tied=False,
                    decoder_init=decoder_init),
        TrainConfig(steps=steps, lr=lr, schedule=schedule, batch_size=batch, target="abs",
                    eval_samples=2048, seed=7, snapshot_steps=(0,)),
    )  # fmt: skip
    s = r.snapshots
    return (r.W, r.W_dec, r.b), (s["W"][:, 0], s["W_dec"][:, 0], s["b"][:, 0])


def _own_neuron_pairs(W, W_dec, b):
    """Per seed: some feature is computed (:func:`toysup.metrics.abs_fit` > 1/2) and every
    computed feature has neurons of its own for both signs, ``ReLU(x_i)`` and ``ReLU(−x_i)``: the
    neurons whose largest weight is on feature i include both signs, and each puts > 90% of its
    squared weight there (raw monosemanticity: the sign matters here). Usually exactly one pair;
    a seed stuck with a redundant copy (two pairs for one feature) still uses neurons of its
    own."""
    computed = abs_fit(W, W_dec, b) > 0.5  # (seeds, n)
    features, mono = neuron_features(W), neuron_monosemanticity(W)  # (seeds, m)
    out = []
    for s in range(W.shape[0]):
        signs = np.sign(W[s, np.arange(W.shape[1]), features[s]])
        ok = bool(computed[s].any())
        for i in np.flatnonzero(computed[s]):
            own = features[s] == i
            ok &= bool(np.all(mono[s, own] > 0.9)) and {-1.0, 1.0} <= set(signs[own])
        out.append(ok)
    return np.array(out)


def _alive_sides(W, W_dec, b):
    """Whether output i responds to feature i alone on each side, (seeds, n, 2) (index 0:
    ``x_i > 0``, 1: ``x_i < 0``): its pre-activation ``v Σ_j W_dec,ij W_ji [W_ji v > 0] + b_i``
    is positive at v = ±1. A side that is not alive passes no gradient to output i from inputs
    where feature i is the only active one."""
    slopes = [np.einsum("sim,smi->si", W_dec, np.maximum(sign * W, 0.0)) for sign in (1, -1)]
    return np.stack(slopes, axis=-1) + b[..., None] > 0


def _check_absolute_value(dense, sparse, *, seeds, steps, batch, decoder_init, **training):
    """At density 1 each computed feature uses a neuron pair of its own (most seeds). At low
    density (``sparse = (n, m, density)``), where inputs mostly have one active feature, more
    than m (feature, sign) halves are computed in most seeds: the halves whose single-feature
    response fits that half of ``|x_i|`` (:func:`toysup.metrics.abs_fit_by_sign` > 1/2, which needs
    a hidden neuron responding on that side; a bias alone, a constant output, fits neither). A
    ReLU neuron reading a single feature responds to one sign of it, so more than m computed
    halves need neurons shared between features: computation in superposition. With
    ``decoder_init="encoder_abs"`` also the paper's strict form: more than m/2 features computed
    for both signs (:func:`toysup.metrics.abs_fit` > 1/2, ``n_abs_computed``) in most seeds.
    ``training``: the learning rate and schedule, if not :func:`_absolute_value`'s. Returns the
    sparse runs' (final, initial) parameters."""
    final, _ = _absolute_value(1.0, *dense, seeds=seeds, steps=steps, batch=batch,
                               decoder_init=decoder_init, **training)  # fmt: skip
    pairs = _own_neuron_pairs(*final)
    assert _most(int(pairs.sum()), seeds), (pairs, abs_fit(*final))
    n, m, density = sparse
    final, initial = _absolute_value(density, n, m, seeds=seeds, steps=steps, batch=batch,
                                     decoder_init=decoder_init, **training)  # fmt: skip
    signs, both = n_abs_signs_computed(*final), n_abs_computed(*final)  # (seeds,)
    assert _most(int(np.sum(signs > m)), seeds), (signs, both)
    if decoder_init == "encoder_abs":
        assert _most(int(np.sum(both > m / 2)), seeds), (both, signs)
    return final, initial


#: Fast versions: 24 seeds, of which 19 must pass (P(X ≥ 19 | p = 1/2) = 0.003 < α; 18 would
#: give 0.011); 3,000 steps, batch 1024; density 1 at n=6, m=4, density 0.003 at n=30, m=12.
FAST_ABS = dict(dense=(6, 4), sparse=(30, 12, 0.003), seeds=24, steps=3000, batch=1024)


def test_absolute_value_circuits_fast():
    """The default initialisation (b = 0, a random decoder): the claims of
    :func:`_check_absolute_value` except the strict one, which fails here, and why.

    Measured with these seeds: 22 of 24 with own pairs at density 1; at density 0.003, 17–27
    computed halves (> m = 12 in every seed) but only 1–6 features computed for both signs, never
    above m/2 = 6 (asserted: at most m/2 in most seeds). At the paper's size (n=100, m=40,
    density 0.003) it is 2–6 for both signs and 30–36 halves, below m, after 10,000 steps at
    lr 1e-3. Cause, tested here: with b = 0 the output ``ReLU(Σ_j W_dec,ij ReLU(W_ji v))`` is
    linear in v on each side, with a slope of either sign about equally often at
    initialisation; a side that starts dead gets no gradient from the single-feature inputs
    that dominate at low density and does not revive. Of the (seed, feature, sign) halves dead at
    initialisation at most 5% end up computed (measured 7 of 730), of those alive more than half
    (measured 72%)."""
    final, initial = _check_absolute_value(**FAST_ABS, decoder_init="random")
    m = FAST_ABS["sparse"][1]
    assert _most(int(np.sum(n_abs_computed(*final) <= m / 2)), FAST_ABS["seeds"])
    alive = _alive_sides(*initial)  # (seeds, n, 2)
    computed = abs_fit_by_sign(*final) > 0.5
    assert 0.4 < alive.mean() < 0.6, alive.mean()  # about half, as the symmetry says
    assert computed[~alive].mean() <= 0.05, computed[~alive].sum()
    assert computed[alive].mean() > 0.5, computed[alive].mean()


def test_absolute_value_in_superposition_fast():
    """``decoder_init="encoder_abs"`` (``W_dec = |W|ᵀ``: every output starts alive on both
    sides): the claims of :func:`_check_absolute_value`, the strict one included, with the sizes,
    seeds and decision rule of :func:`test_absolute_value_circuits_fast`. Measured: 23 of 24
    with own pairs at density 1; at density 0.003, 6–13 features computed for both signs (> m/2
    = 6 in 23 of 24 seeds) and 29–33 halves."""
    _, initial = _check_absolute_value(**FAST_ABS, decoder_init="encoder_abs")
    assert _alive_sides(*initial).mean() > 0.99  # only sides that no neuron reads start dead


@pytest.mark.slow
def test_absolute_value_circuits():
    """Default initialisation, 16 seeds (14 must pass), 3,000 steps, batch 1024; n=20, m=8 at
    density 1 and 0.003 (the claims of :func:`_check_absolute_value` without the strict one).
    Measured: 16 of 16 with own pairs; 11–20 computed halves (> m = 8 in all), 0–5 features
    computed for both signs."""
    _check_absolute_value((20, 8), (20, 8, 0.003), seeds=16, steps=3000, batch=1024,
                          decoder_init="random")  # fmt: skip


@pytest.mark.slow
def test_absolute_value_in_superposition():
    """``decoder_init="encoder_abs"``, 16 seeds (14 must pass), batch 1024, the reference
    notebook's training (10,000 steps, lr 1e-3 constant): own neuron pairs at density 1 (n=20,
    m=8) and, at the paper's size (n=100, m=40, density 0.003), more than m/2 = 20 features
    computed for both signs and more than m = 40 halves in most seeds. Measured: 16 of 16 with
    own pairs; 26–34 features computed for both signs and 63–72 halves (54 s on a loaded 2-core
    machine)."""
    _check_absolute_value((20, 8), (100, 40, 0.003), seeds=16, steps=10_000, batch=1024,
                          decoder_init="encoder_abs", lr=1e-3, schedule="constant")  # fmt: skip


# ---------------------------------------------------------------- L1 penalty on the activations


def _superposed_features(l1_hidden, *, seeds, steps, batch):
    """n=20, m=5, importance 0.7^i, density 0.02 (the basic-results model, h = W x): features in
    superposition per seed, i.e. represented (‖W_i‖ > 0.5) and sharing their dimension with
    others (D_i < 0.9; a dedicated feature has D_i = 1)."""
    r = train(
        FeatureConfig(n_features=20, importance=0.7 ** np.arange(20), density=0.02),
        ModelConfig(n_features=20, n_hidden=5),
        TrainConfig(steps=steps, lr=3e-3, schedule="cosine", n_seeds=seeds, batch_size=batch,
                    eval_samples=2048, l1_hidden=l1_hidden, seed=3),
    )  # fmt: skip
    W = r.seed_W[0]
    return np.sum((feature_norms(W) > 0.5) & (dimensionality(W) < 0.9), axis=-1)


def _check_l1_trend(penalties, seeds, steps, batch):
    """The paper suggests an L1 penalty on activations as a way to control superposition
    (§"Discussion", open questions). Trend test: Spearman's ρ between λ and the count over all
    runs is negative (one-sided); the mean count never rises from one λ to the next by more than
    two standard errors of the difference, and falls overall from λ = 0 to the largest λ
    (one-sided Mann–Whitney U)."""
    counts = [_superposed_features(lam, seeds=seeds, steps=steps, batch=batch) for lam in penalties]
    lam = np.repeat(penalties, seeds)
    rho = stats.spearmanr(lam, np.concatenate(counts), alternative="less")
    assert rho.pvalue < ALPHA, counts
    means = np.array([c.mean() for c in counts])
    se = np.array([c.std(ddof=1) / np.sqrt(seeds) for c in counts])
    assert np.all(np.diff(means) <= 2 * np.hypot(se[1:], se[:-1])), (means, se)
    assert stats.mannwhitneyu(counts[0], counts[-1], alternative="greater").pvalue < ALPHA
    return means, se


def test_l1_hidden_lowers_superposition_fast():
    """3 penalties × 4 seeds, 1,500 steps, batch 512 (measured counts: λ = 0: 10–12, 0.03: 4–7,
    0.1: 2). With 4 against 4 the Mann–Whitney U reaches p = 0.014 at best, so the end-to-end
    comparison is left to the Spearman test here."""
    counts = [_superposed_features(lam, seeds=4, steps=1500, batch=512) for lam in (0.0, 0.03, 0.1)]
    rho = stats.spearmanr(np.repeat([0.0, 0.03, 0.1], 4), np.concatenate(counts),
                          alternative="less")  # fmt: skip
    assert rho.pvalue < ALPHA, counts
    assert counts[0].min() > counts[-1].max(), counts


@pytest.mark.slow
def test_l1_hidden_lowers_superposition_monotonically():
    """λ ∈ {0, 0.003, 0.01, 0.03, 0.1}, 8 seeds each, 3,000 steps (measured means 10.75, 10,
    8.5, 5, 2.25: monotone)."""
    _check_l1_trend([0.0, 0.003, 0.01, 0.03, 0.1], seeds=8, steps=3000, batch=1024)


# ------------------------------------------------------------------------ learning dynamics

#: The fractions at which feature dimensionality sticks (paper §"Geometry", uniform polytopes):
#: dedicated, tetrahedron, triangle, digon, pentagon, square antiprism.
FRACTIONS = np.array([1.0, 3 / 4, 2 / 3, 1 / 2, 2 / 5, 3 / 8])


def _plateaus(D, norms, *, tolerance=0.03, length=4):
    """Per feature, the fractions it sits at, in order: runs of at least ``length`` consecutive
    snapshots within ``tolerance`` of one fraction, while represented (‖W_i‖ > 0.5).
    D, norms (snapshots, n) -> list of lists of fraction indices."""
    out = []
    for i in range(D.shape[1]):
        near = np.abs(D[:, i, None] - FRACTIONS[None]) <= tolerance
        level = np.where(near.any(1) & (norms[:, i] > 0.5), near.argmax(1), -1)
        runs, start = [], 0
        for k in range(1, level.size + 1):
            if k == level.size or level[k] != level[start]:
                if (
                    level[start] >= 0
                    and k - start >= length
                    and (not runs or runs[-1] != level[start])
                ):
                    runs.append(int(level[start]))
                start = k
        out.append(runs)
    return out


def _check_dynamics(runs, steps, lr, batch, every):
    """§"Superposition and Learning Dynamics": feature dimensionality moves between the sticky
    fractions ("energy levels") during training. n=5, m=2, uniform importance, density 0.05
    (the pentagon), initialised small (init_scale 0.1) and trained at a constant learning rate:
    a run counts when some feature sits at one fraction for at least four snapshots (100 steps)
    and later at another. Most runs do (binomial test). Measured: typically a dedicated feature,
    D = 1, for several hundred steps, then the features jump to the pentagon's 2/5 (in 9 of 24
    runs at 3,000 steps) or settle near the digon's 1/2 with a feature dropped."""
    snapshots = tuple(range(0, steps + 1, every))
    r = train(
        FeatureConfig(n_features=5, n_instances=runs, density=0.05),
        ModelConfig(n_features=5, n_hidden=2, init_scale=0.1),
        TrainConfig(
            steps=steps,
            lr=lr,
            batch_size=batch,
            snapshot_steps=snapshots,
            eval_samples=1024,
            seed=2,
        ),
    )  # fmt: skip (one seed per configuration: every run's snapshots are kept)
    W = r.snapshots["W"]  # (runs, snapshots, m, n)
    D, norms = dimensionality(W), feature_norms(W)
    moved = [any(len(p) >= 2 for p in _plateaus(D[c], norms[c])) for c in range(runs)]
    assert _most(int(np.sum(moved)), runs), (moved, D[:, -1])
    return D


def test_learning_dynamics_jump_between_fractions_fast():
    """12 runs, 1,500 steps at lr 2e-3, batch 256, a snapshot every 25 steps."""
    _check_dynamics(runs=12, steps=1500, lr=2e-3, batch=256, every=25)


@pytest.mark.slow
def test_learning_dynamics_jump_between_fractions():
    """24 runs, 3,000 steps at lr 1e-3, batch 1024, a snapshot every 25 steps."""
    _check_dynamics(runs=24, steps=3000, lr=1e-3, batch=1024, every=25)
