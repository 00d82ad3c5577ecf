"""The toy model as a decoder (verify.compressed_sensing): CLI contract and errors, decoders
against closed forms, the LP against the toy decoder on a trained model, the transition finder.

Statistical checks use fixed seeds (so they are deterministic) and a binomial interval at
confidence 0.999 around the closed form: a correct decoder fails such a check with probability
about 1e-3 per check over seeds, a wrong closed form or decoder shows as a miss by many widths.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from theory.compressed_sensing import (
    density_vector,
    recovery_rate,
    trial_rng,
    weak_threshold,
    wilson_interval,
)
from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from verify.compressed_sensing import BridgeSettings, main, run_bridge
from verify.cs_bridge.decode import (
    decode_cell,
    draw_inputs,
    errors,
    lp_decode,
    successes,
    toy_decode,
)
from verify.cs_bridge.transition import first_crossing, transition_50

TINY = [
    "--n", "12", "--deltas", "0.25,0.5", "--densities", "4", "--seeds", "1", "--steps", "60",
    "--batch", "64", "--trials", "60", "--lp-trials", "12", "--gaussian-trials", "4",
    "--device", "cpu",
]  # fmt: skip
TRANSITIONS = (
    "toy/l2",
    "toy/linf",
    "lp_learned/exact",
    "lp_learned/l2",
    "lp_learned/linf",
    "lp_gaussian/exact",
)
BOUNDS = {"order", "any_decoder_exact", "weak_threshold_nonnegative"}
CONFIDENCE = 0.999


def _strict_json(path):
    def refuse(name):
        raise AssertionError(f"{path.name} holds the non-JSON number {name}")

    return json.loads(path.read_text(), parse_constant=refuse)


def _is_number_or_none(value):
    return value is None or (isinstance(value, float | int) and not isinstance(value, bool))


def _covers(successes, trials, p):
    low, high = wilson_interval(successes, trials, confidence=CONFIDENCE)
    return low - 1e-12 <= p <= high + 1e-12  # rounding at the ends (0 or all successes)


# --------------------------------------------------------------------------- CLI


def test_cli_writes_every_documented_key(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*TINY, "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    s = _strict_json(out / "summary.json")
    assert isinstance(s["schema"], int) and s["schema"] == 1
    assert s["n_features"] == 12 and s["settings"]["deltas"] == [0.25, 0.5]
    assert s["tolerance"] == 0.1 and set(s["criteria"]) == {"l2", "linf", "exact"}
    assert s["trials"] == {"toy": 60, "lp_learned": 12, "lp_gaussian": 4}
    k, p = s["grid"]["k"], s["grid"]["density"]
    assert k == [1, 2, 5, 12] and all(isinstance(v, int) for v in k)
    assert p == pytest.approx([v / 12 for v in k])
    assert len(s["per_delta"]) == 2
    for entry, m in zip(s["per_delta"], (3, 6), strict=True):
        assert entry["m"] == m and entry["delta_realized"] == pytest.approx(m / 12)
        assert entry["rho"] == pytest.approx([v / m for v in k])
        assert set(entry["rho_w"]) == {"nonnegative", "signed"}
        assert all(isinstance(v, float) for v in entry["rho_w"].values())
        assert entry["rho_w"]["nonnegative"] > entry["rho_w"]["signed"]
        assert set(TRANSITIONS) <= set(entry["transitions"])
        for tr in entry["transitions"].values():
            assert set(tr) == {"rho", "low", "high", "censored", "confidence"}
            assert all(_is_number_or_none(tr[key]) for key in ("rho", "low", "high"))
            assert tr["censored"] in ("", "below", "above")
        for name, curve in entry["curves"].items():
            assert len(curve["rate"]) == len(k) and isinstance(curve["trials"], int)
            evaluated = [v is not None for v in curve["successes"]]
            if name.startswith("lp_"):  # the LPs run only where k <= m
                assert evaluated == [kk <= m for kk in k]
            else:
                assert all(evaluated)
        assert _is_number_or_none(entry["superposition"]["rho"])
        assert set(entry["paired"]) == {"l2", "linf"}
        f = entry["features"]
        assert all(isinstance(v, int) for v in f["represented"])
        assert all(isinstance(v, float) for v in f["frobenius"])
        assert set(f["bounds"]) == BOUNDS == set(f["max_ratio"]) == set(f["exceeds"])
        assert all(_is_number_or_none(v) for row in f["bounds"].values() for v in row)
    assert set(s["bounds"]) == BOUNDS
    assert all(isinstance(b["source"], str) and b["source"] for b in s["bounds"].values())
    assert s["train"]["device"] == "cpu" and s["train"]["steps"] == 60
    assert isinstance(s["runtime_s"], float) and s["runtime_s"] > 0
    for name in s["files"]:
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    assert {"transition.png", "transition.pdf", "transition.svg", "config.json"} <= set(s["files"])
    assert (out / "transition.pdf").read_bytes().startswith(b"%PDF")
    config = _strict_json(out / "config.json")
    assert config["command"][:3] == ["python", "-m", "verify.compressed_sensing"]
    # an earlier run's directory is replaced; nothing else is left beside it
    assert main([*TINY, "--out", str(out), "--quiet", "--seed", "1"]) == 0
    assert _strict_json(out / "summary.json")["settings"]["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    "bad",
    [
        ["--n", "3"],
        ["--deltas", "0.5,0.3"],
        ["--deltas", "1.2"],
        ["--deltas", "0.5,x"],
        ["--densities", "0.1"],  # 0.1 · 12 = 1.2 non-zeros: not an integer
        ["--densities", "1"],
        ["--trials", "0"],
        ["--trials", "10", "--lp-trials", "20"],
        ["--tolerance", "-0.1"],
        ["--seed", "-1"],
        ["--steps", "many"],
        ["--device", "tpu"],
    ],
)
def test_bad_options_exit_2_and_write_nothing(tmp_path, capsys, bad):
    out = tmp_path / "out"
    assert main([*TINY, "--out", str(out), *bad]) == 2
    assert "error" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_foreign_directory(tmp_path, capsys):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert main([*TINY, "--out", str(out)]) == 2
    assert "no earlier run" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["notes"]


def test_help_lists_defaults(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--out", "--n", "--deltas", "--densities", "--seeds", "--steps", "--trials",
                   "--seed", "--quiet", "--device"):  # fmt: skip
        assert option in text
    assert "compressed_sensing_out" in text and "default: 64" in text


# --------------------------------------------------------------------------- decoders


def test_dedicated_model_recovers_everything():
    """n = m, W = I, b = 0: x' = ReLU(x) = x and the LP's only solution is x."""
    n = 6
    W, b = np.eye(n), np.zeros(n)
    for k in (1, 3, 6):
        X = draw_inputs(n, k, 20, seed=0)
        np.testing.assert_array_equal(toy_decode(W, b, X), X)
        cell = decode_cell(W, b, X, lp_trials=20, tol=0.1)
        assert cell.toy[1.0] == {"l2": 20, "linf": 20}
        assert cell.lp == {"l2": 20, "linf": 20, "exact": 20}


def test_antipodal_pair_at_density_p():
    """W = [1, −1], b = 0: h = x₁ − x₂, x' = ((x₁ − x₂)₊, (x₂ − x₁)₊). Exact iff at most one
    feature is active: P = 1 − p² (x = 0 counts as recovered, ‖x'‖ = 0). When both are active
    the error is min(x₁, x₂) on each coordinate, so max error <= τ with probability
    1 − (1 − τ)²: P_linf = 1 − p² + p² (1 − (1 − τ)²)."""
    W, b, p, tau, trials = np.array([[1.0, -1.0]]), np.zeros(2), 0.5, 0.1, 4000
    X = np.stack([density_vector(2, p, trial_rng(11, t)) for t in range(trials)])
    ok = successes(*errors(X, toy_decode(W, b, X)), tau)
    assert _covers(int(ok["exact"].sum()), trials, 1 - p**2)
    assert _covers(int(ok["linf"].sum()), trials, 1 - p**2 + p**2 * (1 - (1 - tau) ** 2))


def _pairs_success_probability(pairs, k, q):
    """P(success) for k of n = 2·pairs features active, support uniform: with c pairs fully
    active (C(pairs, c) C(pairs − c, k − 2c) 2^(k−2c) / C(2 pairs, k) ways), each colliding pair
    passes independently with probability q."""
    total = math.comb(2 * pairs, k)
    return sum(
        math.comb(pairs, c) * math.comb(pairs - c, k - 2 * c) * 2 ** (k - 2 * c) / total * q**c
        for c in range(k // 2 + 1)
    )


@pytest.mark.parametrize("k", [2, 3, 5])
def test_antipodal_pairs_with_exactly_k_active(k):
    """W = [I, −I] (m = 4 antipodal pairs, n = 8), the δ = 1/2 geometry the trained models pick:
    both decoders fail exactly on colliding pairs. Toy, max error <= τ: each colliding pair
    passes with q = 1 − (1 − τ)²; exact recovery (toy and LP): q = 0 up to the measure-zero
    event min(x_i, x_j) <= 1e-4·‖x‖."""
    pairs, tau, trials = 4, 0.1, 1500
    W, b = np.hstack([np.eye(pairs), -np.eye(pairs)]), np.zeros(2 * pairs)
    X = draw_inputs(2 * pairs, k, trials, seed=5)
    ok = successes(*errors(X, toy_decode(W, b, X)), tau)
    q = 1 - (1 - tau) ** 2
    assert _covers(int(ok["linf"].sum()), trials, _pairs_success_probability(pairs, k, q))
    assert _covers(int(ok["exact"].sum()), trials, _pairs_success_probability(pairs, k, 0.0))
    lp_ok = successes(*errors(X[:200], lp_decode(W, X[:200])), tau)
    assert _covers(int(lp_ok["exact"].sum()), 200, _pairs_success_probability(pairs, k, 0.0))


def test_lp_draws_are_recovery_rates():
    """The bridge's LP column is theory's recovery_rate on the same draws (same counts and
    the same per-trial errors)."""
    W = np.random.default_rng(0).standard_normal((4, 10))
    X = draw_inputs(10, 2, 25, seed=3)
    rel, _ = errors(X, lp_decode(W, X))
    ref = recovery_rate(W, k=2, trials=25, seed=3, method="linprog")
    assert int(successes(rel, rel, 0.1)["exact"].sum()) == ref.successes
    np.testing.assert_allclose(rel, ref.relative_errors, atol=1e-9)


def test_lp_recovers_at_least_as_often_as_the_toy_decoder():
    """On a trained model (n = 12, m = 4) and the same draws, at τ = 0.1 under both criteria,
    the LP succeeds at least as often as the toy decoder, cell by cell. Not a theorem (the LP
    can land on a wrong vertex where ReLU(WᵀWx + b) is approximately right), so the test also
    bounds the toy-only successes: none here."""
    n, m, ks = 12, 4, (1, 2, 3)
    result = train(
        FeatureConfig(n_features=n, n_instances=3, density=[[k / n] for k in ks]),
        ModelConfig(n_features=n, n_hidden=m),
        TrainConfig(steps=600, batch_size=256, lr=1e-2, schedule="cosine", seed=4, device="cpu"),
        progress=False,
    )
    for j, k in enumerate(ks):
        X = draw_inputs(n, k, 80, seed=9)
        W, b = result.W[j].astype(np.float64), result.b[j].astype(np.float64)
        cell = decode_cell(W, b, X, lp_trials=80, tol=0.1)
        for c in ("l2", "linf"):
            toy_on_shared = cell.lp[c] - cell.paired[c][1] + cell.paired[c][0]
            assert cell.lp[c] >= toy_on_shared, (k, c, cell)
            assert cell.paired[c][0] == 0, (k, c, cell)


# --------------------------------------------------------------------------- transitions


def _logistic(rho, center=0.4, width=0.05):
    return 1.0 / (1.0 + np.exp((rho - center) / width))


def test_transition_of_a_noise_free_logistic():
    rho = np.linspace(0.05, 1.0, 40)
    trials = 10**6
    counts = np.round(trials * _logistic(rho)).astype(int)
    tr = transition_50(rho, counts, trials)
    assert tr.censored == "" and tr.rho == pytest.approx(0.4, abs=2e-3)
    assert tr.low <= tr.rho <= tr.high and tr.high - tr.low < 0.01


def test_transition_interval_covers_the_true_point():
    """Binomial noise, 200 trials per point: the interval holds the true 50% point in most
    repetitions. The band is pointwise and the grid step (0.025) is comparable to the interval,
    so nominal 95% is not guaranteed; we require >= 85% of 200 repetitions."""
    rho = np.linspace(0.05, 1.0, 39)
    rng = np.random.default_rng(2024)
    hits = 0
    for _ in range(200):
        counts = rng.binomial(200, _logistic(rho))
        tr = transition_50(rho, counts, 200)
        hits += tr.low <= 0.4 <= tr.high
    assert hits >= 170


def test_transition_censoring():
    rho = np.array([0.1, 0.2, 0.3])
    below = transition_50(rho, [5, 2, 0], 100)
    assert below.censored == "below" and math.isnan(below.rho) and below.high == 0.1
    above = transition_50(rho, [100, 99, 97], 100)
    assert above.censored == "above" and math.isnan(above.rho) and above.low == 0.3
    assert math.isnan(above.high)
    assert first_crossing([1.0, 2.0], [1.0, 0.0], 0.25) == (1.75, "")


@pytest.mark.parametrize(
    ("rho", "counts", "trials"),
    [([0.2, 0.1], [3, 1], 5), ([0.1, 0.2], [6, 1], 5), ([0.1, 0.2], [3], 5), ([], [], 5)],
)
def test_transition_rejects_bad_input(rho, counts, trials):
    with pytest.raises(ValueError):
        transition_50(rho, counts, trials)


# --------------------------------------------------------------------------- settings, run


def test_settings_grid_and_validation():
    s = BridgeSettings()
    assert s.ks().tolist() == [1, 2, 3, 4, 5, 7, 9, 12, 16, 21, 28, 37, 49, 64]
    assert s.hidden().tolist() == [6, 13, 19, 32, 45]
    assert BridgeSettings(n_features=8, deltas=(0.5,), densities=(0.125, 0.5)).ks().tolist() == [
        1,
        4,
    ]
    with pytest.raises(ValueError, match="multiples of 1/n"):
        BridgeSettings(densities=(0.05, 0.1))
    with pytest.raises(ValueError, match="distinct"):
        BridgeSettings(n_features=10, deltas=(0.1, 0.12))
    with pytest.raises(TypeError):
        BridgeSettings(tolerance="0.1")  # type: ignore[arg-type]


def test_run_bridge_result():
    s = BridgeSettings(
        n_features=10, deltas=(0.3,), densities=3, seeds=1, steps=40, batch=64, trials=30,
        lp_trials=8, gaussian_trials=3, device="cpu",
    )  # fmt: skip
    r = run_bridge(s, progress=False)
    assert r.k.tolist() == [1, 3, 10] and r.m.tolist() == [3]
    assert r.W[0].shape == (3, 3, 10) and r.b.shape == (1, 3, 10)
    assert not r.rho.flags.writeable and not r.successes[("toy", "l2")].flags.writeable
    lp = r.rate("lp_learned", "exact")
    assert np.isnan(lp[0, 2]) and np.all(np.isfinite(lp[0, :2]))  # k = 10 > m = 3: no LP
    assert r.successes[("toy", "linf")][0].max() <= 30
    assert set(r.transitions) >= set(TRANSITIONS)
    assert r.rho_w["nonnegative"][0] == weak_threshold(0.3, signed=False)


def test_run_without_the_lps_still_makes_a_figure():
    """--lp-trials 0 and --gaussian-trials 0 skip both LPs: their curves are not evaluated, their
    transitions are NaN, and the figure leaves them out."""
    from verify.cs_bridge.figure import bridge_figure

    s = BridgeSettings(
        n_features=8, deltas=(0.5,), densities=3, seeds=1, steps=20, batch=32, trials=20,
        lp_trials=0, gaussian_trials=0, device="cpu",
    )  # fmt: skip
    r = run_bridge(s, progress=False)
    assert np.all(r.successes[("lp_learned", "exact")] == -1)
    assert np.all(r.successes[("lp_gaussian", "exact")] == -1)
    assert math.isnan(r.transitions["lp_gaussian/exact"][0].rho)
    assert len(bridge_figure(r).axes) == 2
