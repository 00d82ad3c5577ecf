"""The SAE recovery job through main(argv): output contract, figures, maps, the report, and bad
options refused with exit 2 and nothing written."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from toysup.sae import SAEConfig
from verify.sae_recovery import main

TINY = [
    "--n", "4", "--m", "2", "--densities", "0.5", "0.05", "--toy-steps", "200",
    "--toy-seeds", "1", "--steps", "120", "--batch", "64", "--widths", "6", "--l1", "0.05",
    "--k", "1", "--l0", "0.03", "--seeds", "2", "--samples", "512", "--workers", "1",
]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sae") / "out"
    assert main([*TINY, "--out", str(out), "--quiet"]) == 0
    return out, json.loads((out / "summary.json").read_text())


def test_summary_contract(tiny_run):
    out, s = tiny_run
    assert s["schema"] == 1 and (s["n_features"], s["n_hidden"]) == (4, 2)
    assert s["grid"]["density"] == [0.5, 0.05]
    assert len(s["toy"]["represented"]) == 2 and len(s["toy"]["decodable"]) == 2
    labels = [item["label"] for item in s["saes"]]
    assert labels == ["relu w6 l1=0.05", "topk w6 k=1", "jumprelu w6 l0=0.03"]
    for item in s["saes"]:
        SAEConfig.from_dict(item["config"])
        rec = item["recovered"]
        for low, mean, high, median in zip(rec["low"], rec["mean"], rec["high"], rec["median"]):
            assert low <= mean <= high and isinstance(median, int)
        assert set(item["recovered_at"]) == {"0.7", "0.8", "0.9", "0.95", "0.99"}
    assert [c["label"] for c in s["control"]["saes"]] == labels  # one level each: the reference
    f = s["findings"]
    assert set(f["reference"]) == {"relu", "topk", "jumprelu"}
    for kind in f["reference"].values():
        assert set(kind["cause"]) <= {"recovers", "superposition", "density"}
        assert 0 <= kind["agreement_with_decodability"] <= 1
    assert s["train"]["sae"]["steps"] == 120 and s["train"]["sae"]["device"] == "cpu"
    assert isinstance(s["runtime_s"], float)
    expected = {"summary.json", "config.json", "maps.npz", "maps.csv"}
    expected |= {f"{stem}.{ext}" for stem in ("recovery_vs_density", "recovery_vs_l0", "control")
                 for ext in ("png", "pdf", "svg")}  # fmt: skip
    assert set(s["files"]) == expected
    assert {p.name for p in out.iterdir()} == expected


def test_maps_and_config_load_back(tiny_run):
    out, s = tiny_run
    with np.load(out / "maps.npz", allow_pickle=False) as maps:
        assert maps["recovered"].shape == (3, 2, 2)  # settings × densities × seeds
        assert maps["control_mcc"].shape == (3, 2, 2)
        assert maps["feature_cosine"].shape == (3, 2, 2, 4)
        np.testing.assert_allclose(maps["recovered"].mean(2)[0], s["saes"][0]["recovered"]["mean"])
    with (out / "maps.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == (3 + 3) * 2 and {r["target"] for r in rows} == {"toy", "control"}
    config = json.loads((out / "config.json").read_text())
    assert config["command"][:3] == ["python", "-m", "verify.sae_recovery"]
    assert config["settings"]["widths"] == [6] and len(config["saes"]) == 3


def test_report_table(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*TINY, "--out", str(out), "--kinds", "topk", "--no-control"]) == 0
    text = capsys.readouterr().out
    assert "topk w6 k=1" in text and "agrees with the decodability test" in text
    assert re.search(r"^\s+0\.5\s+\d+\s+\d+\s+[\d.]+ \[", text, re.M)
    s = json.loads((out / "summary.json").read_text())
    assert s["control"]["saes"] == [] and "control.png" not in s["files"]


@pytest.fixture(scope="module")
def both_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sae_both") / "out"
    assert main([*TINY, "--out", str(out), "--quiet", "--toy-model", "both"]) == 0
    return out, json.loads((out / "summary.json").read_text())


def test_both_toy_models_side_by_side(both_run, tiny_run):
    """--toy-model both: the schema-1 fields describe the basic model (the primary) exactly as a
    basic-only run does (same seed: bit for bit on CPU), and ``targets`` adds the
    privileged-basis one (h = ReLU(W x)) with its own toy model, SAEs, control and findings."""
    out, s = both_run
    _, basic_only = tiny_run
    assert s["schema"] == 1 and s["toy_model"] == "basic" and s["hidden_activation"] == "none"
    assert s["toy_models"] == ["basic", "privileged"] and list(s["targets"]) == s["toy_models"]

    def timeless(block):  # runtimes differ between runs; everything else must not
        if isinstance(block, dict):
            return {k: timeless(v) for k, v in block.items() if k != "runtime_s"}
        return [timeless(v) for v in block] if isinstance(block, list) else block

    for key in ("toy", "saes", "control", "findings"):
        assert timeless(s[key]) == timeless(basic_only[key]) == timeless(s["targets"]["basic"][key])
    labels = [item["label"] for item in s["saes"]]
    privileged = s["targets"]["privileged"]
    assert privileged["hidden_activation"] == "relu"
    assert privileged["model"]["hidden_activation"] == "relu"
    assert [item["label"] for item in privileged["saes"]] == labels  # the reference settings
    assert [c["label"] for c in privileged["control"]["saes"]] == labels
    assert "identity" in privileged["control"]["model"]
    assert privileged["findings"]["hidden_activation"] == "relu"
    assert all(0 < a <= 1 for a in privileged["toy"]["basis_alignment"])
    assert set(privileged["timings"]) == {"toy_s", "decodability_s", "saes_s", "control_s"}
    # a different toy model: its W is not the basic one's
    with np.load(out / "maps.npz", allow_pickle=False) as maps:
        assert not np.array_equal(maps["basic_toy_W"], maps["privileged_toy_W"])
        np.testing.assert_array_equal(maps["toy_W"], maps["basic_toy_W"])
        for name in ("basic", "privileged"):
            assert maps[f"{name}_recovered"].shape == (3, 2, 2)  # settings × densities × seeds
            assert maps[f"{name}_control_mcc"].shape == (3, 2, 2)
            np.testing.assert_allclose(
                maps[f"{name}_recovered"].mean(2)[0],
                s["targets"][name]["saes"][0]["recovered"]["mean"],
            )
    with (out / "maps.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * (3 + 3) * 2
    assert {r["toy_model"] for r in rows} == {"basic", "privileged"}
    config = json.loads((out / "config.json").read_text())
    assert config["toy"]["model"]["hidden_activation"] == "none"
    assert config["targets"]["privileged"]["toy"]["model"]["hidden_activation"] == "relu"
    assert len(config["targets"]["privileged"]["saes"]) == 3


def test_toy_model_options_resolve_to_settings():
    """--toy-model privileged: one toy model, h = ReLU(W x), with the full grid of settings;
    both: the privileged-basis model gets the reference settings only, unless asked."""
    from verify.sae_recovery import build_parser, settings_from_args

    def settings(*args):
        return settings_from_args(build_parser().parse_args(list(args)))

    assert settings().toy_models == ("basic",)
    alone = settings("--toy-model", "privileged")
    assert alone.toy_models == ("privileged",)
    assert alone.toy_model("privileged").hidden_activation == "relu"
    assert len(alone.sae_configs("privileged")) == 18
    both = settings("--toy-model", "both")
    assert both.toy_models == ("basic", "privileged")
    assert both.sae_configs("privileged") == both.reference_configs()
    assert len(both.sae_configs("basic")) == 18
    full = settings("--toy-model", "both", "--privileged-settings", "all")
    assert len(full.sae_configs("privileged")) == 18


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "1"], "seeds must be an integer >= 2"),
        (["--densities", "0.1", "0.5"], "densities must be at least two decreasing values"),
        (["--densities", "1.5", "0.5"], "densities"),
        (["--widths", "0"], "widths must be an integer >= 1, got 0"),
        (["--k", "8", "--widths", "6"], r"k must be <= every width \(6\), got k=8"),
        (["--l1", "-0.1"], r"l1 must be a finite number in \[0, inf\), got -0.1"),
        (["--l0", "nan"], "l0 must be a finite number"),
        (["--n", "4", "--m", "4"], "n_hidden must be < n_features"),
        (["--threshold", "1.2"], "threshold"),
        (["--kinds", "gated"], "invalid choice"),
        (["--device", "tpu"], "device"),
        (["--workers", "0"], "--workers"),
        (["--toy-model", "gelu"], "invalid choice"),
        (["--privileged-settings", "some"], "invalid choice"),
        # evaluation runs in chunks, so memory cannot refuse it: a cap names the option
        (["--samples", "100000000000000"], "--samples must be >= 2 and <= 1,000,000,000"),
        (["--steps", "10000000000000"], "--steps"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert main([*TINY, *args, "--out", str(out)]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_help_lists_the_options(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--out", "--seed", "--quiet", "--device", "--large", "--widths", "--l1",
                   "--k", "--l0", "--densities", "--no-control", "--threshold", "--toy-model",
                   "--privileged-settings"):  # fmt: skip
        assert option in text
    assert "sae_recovery_out" in text


def test_large_and_size_options_resolve_to_settings():
    from verify.sae_recovery import build_parser, memory_estimate, settings_from_args

    large = settings_from_args(build_parser().parse_args(["--large"]))
    assert (large.n_features, large.n_hidden, large.widths) == (100, 20, (100, 200))
    assert large.importance_decay == 0.9 and len(large.sae_configs()) == 3 * 2 * 2
    custom = settings_from_args(build_parser().parse_args(["--n", "30", "--m", "6", "--seed", "4"]))
    assert (custom.widths, custom.seed) == ((30, 60), 4)  # widths follow n unless given
    assert [c.label for c in custom.reference_configs()] == [
        "relu w60 l1=0.1", "topk w60 k=2", "jumprelu w60 l0=0.1",
    ]  # fmt: skip
    assert max(memory_estimate(large).values()) < 2**30  # well inside a laptop's memory
