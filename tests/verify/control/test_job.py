"""python -m verify.control through main(argv): the output contract, determinism, and bad
options refused with exit 2 before any computation, nothing written."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import verify.control as control
from toysup import FeatureConfig, ModelConfig, TrainConfig
from verify.control import main
from verify.control_job import ControlSettings, compute
from verify.control_job.options import build_parser

TINY = [
    "--resolution", "3", "--seeds", "2", "--steps", "60", "--batch", "256", "--bootstrap", "10",
    "--penalties", "0.3", "--activations", "relu", "gelu", "--wide-penalties", "0", "0.1",
    "--wide-densities", "0.1", "--wide-seeds", "2", "--device", "cpu",
]  # fmt: skip
LABELS = {"not_represented", "dedicated", "superposition", "confused", "none"}
FIGURES = ("phase_maps", "boundary_shift", "activations", "pareto")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("control") / "out"
    code = main([*TINY, "--out", str(out), "--quiet"])
    assert code == 0
    return out, json.loads((out / "summary.json").read_text())


def test_summary_contract(run):
    out, s = run
    assert s["schema"] == 1 and s["penalty"] == "l1_hidden"
    assert s["penalties"] == [0.0, 0.3]  # 0 added: the reference of every shift and cost
    keys = {repr(0.0), repr(0.3)}
    for name in ("maps", "agreement", "kappa", "boundary", "shift", "loss_cost"):
        assert set(s[name]) == keys, name
    for key in keys:
        for which in ("empirical", "exact"):
            grid = s["maps"][key][which]
            assert np.array(grid).shape == (3, 3) and {v for row in grid for v in row} <= LABELS
        emp, exact = np.array(s["maps"][key]["empirical"]), np.array(s["maps"][key]["exact"])
        assert s["agreement"][key] == pytest.approx(np.mean(emp == exact))
        assert s["kappa"][key] is None or -1 <= s["kappa"][key] <= 1
        b = s["boundary"][key]
        assert set(b) >= {"importance", "exact", "empirical", "empirical_sd"}
        assert len(b["importance"]) == len(b["exact"]) == len(b["empirical"]) == 3
        assert all(v is None or v >= 0 for v in b["empirical_sd"])
        assert set(s["loss_cost"][key]) >= {"exact", "trained"}
    # λ = 0 is its own reference: zero shift, zero exact cost
    assert s["shift"][repr(0.0)]["exact_mean"] in (0.0, None)
    assert s["loss_cost"][repr(0.0)]["exact"] == 0.0
    acts = s["activations"]
    assert set(acts) == {"relu", "gelu"} and "no exact theory" in acts["gelu"]["exact_theory"]
    assert np.array(acts["gelu"]["map"]).shape == (3, 3)
    wide = s["wide"]
    assert (wide["n_features"], wide["n_hidden"]) == (20, 5) and len(wide["points"]) == 2
    np.testing.assert_allclose(wide["importance"], 0.7 ** np.arange(20))
    for point in wide["points"]:
        assert 0 <= point["in_superposition"] <= point["represented"] <= 20
        assert 0 <= point["superposition_test"]["p_value"] <= 1
        assert point["represented_count_test"]["underpowered"]  # 2 seeds cannot reject at 0.01
    train = s["train"]
    assert (train["seeds"], train["steps"], train["batch"], train["device"]) == (2, 60, 256, "cpu")
    assert isinstance(s["runtime_s"], float) and s["runtime_s"] > 0
    # trained through toysup.sweep: one sweep per training group, in OUT/sweep.zarr
    sweep = s["sweep"]
    assert (sweep["tasks"], sweep["tasks_run"], sweep["tasks_reused"]) == (5, 5, 0)
    assert sweep["scheduler"] == "threads" and (out / "sweep.zarr").is_dir()
    for stem in FIGURES:
        for ext in ("png", "pdf", "svg"):
            assert f"{stem}.{ext}" in s["files"]
    for name in s["files"]:
        assert (out / name).is_file()
    assert {"config.json", "maps.npz", "maps.csv", "wide.npz", "wide.csv"} <= set(s["files"])


def test_files_load_back(run):
    out, s = run
    config = json.loads((out / "config.json").read_text())
    settings = ControlSettings.from_dict(config["settings"])
    assert settings.penalties == (0.0, 0.3) and settings.activations == ("relu", "gelu")
    tasks = {t["name"]: t for t in config["tasks"]}
    assert set(tasks) == {
        "l1_hidden=0.0", "l1_hidden=0.3", "activation=gelu", "wide l1_hidden=0.0",
        "wide l1_hidden=0.1",
    }  # fmt: skip
    task = tasks["l1_hidden=0.3"]
    assert FeatureConfig.from_dict(task["features"]).n_instances == 9
    assert ModelConfig.from_dict(tasks["activation=gelu"]["model"]).activation == "gelu"
    training = TrainConfig.from_dict(
        {**task["training"], "betas": tuple(task["training"]["betas"])}
    )
    assert training.l1_hidden == 0.3
    with np.load(out / "maps.npz", allow_pickle=False) as maps:
        assert maps["l1_hidden_1_W"].shape == (3, 3, 2, 1, 2)
        np.testing.assert_array_equal(maps["l1_hidden_1_empirical"], s["maps"]["0.3"]["empirical"])
        np.testing.assert_array_equal(
            maps["activation_gelu_empirical"], s["activations"]["gelu"]["map"]
        )
    with np.load(out / "wide.npz", allow_pickle=False) as wide:
        assert wide["W"].shape == (2, 2, 5, 20)
    assert len((out / "maps.csv").read_text().splitlines()) == 1 + 9 * 5  # 2 λ × 2 maps + gelu
    assert len((out / "wide.csv").read_text().splitlines()) == 1 + 2


def test_same_seed_same_result(run, tmp_path):
    """The settings saved in config.json, trained again into a fresh store, reproduce the run bit
    for bit (CPU, same seed)."""
    out, s = run
    settings = ControlSettings.from_dict(json.loads((out / "config.json").read_text())["settings"])
    args = build_parser().parse_args(["--out", str(tmp_path / "again")])
    again = compute(settings, progress=False, sweep=args)
    assert again.sweep["tasks_run"] == 5
    for lam, trained in again.trained.items():
        np.testing.assert_array_equal(trained.empirical, s["maps"][repr(lam)]["empirical"])
        assert again.comparison[lam]["agreement"] == s["agreement"][repr(lam)]
        np.testing.assert_array_equal(trained.boundary, s["boundary"][repr(lam)]["empirical"])
    assert [float(pt.loss[pt.best]) for pt in again.wide] == [
        pt["loss"] for pt in s["wide"]["points"]
    ]


def test_resume_reuses_every_task(run, tmp_path, capsys):
    """--resume on the same --out trains nothing and gives the same results; a store of other
    settings is refused with exit 2 before any work."""
    out, first = run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    assert main([*TINY, "--out", str(copy), "--quiet", "--resume"]) == 0
    again = json.loads((copy / "summary.json").read_text())
    assert (again["sweep"]["tasks_run"], again["sweep"]["tasks_reused"]) == (0, 5)
    for name in ("maps", "agreement", "boundary", "shift", "activations", "wide"):
        assert again[name] == first[name], name
    before = sorted(p.name for p in copy.iterdir())
    capsys.readouterr()
    assert main([*TINY, "--steps", "61", "--out", str(copy), "--quiet", "--resume"]) == 2
    assert "holds another sweep" in capsys.readouterr().err
    assert sorted(p.name for p in copy.iterdir()) == before


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["--penalties"], "--penalties needs at least one value"),
        (["--penalties", "-0.1"], "'-0.1'"),
        (["--penalties", "nan"], "'nan'"),
        (["--penalties", "inf"], "'inf'"),
        (["--penalties", "0.1", "abc"], "'abc'"),
        (["--wide-penalties", "-1"], "'-1'"),
        (["--activations", "tanh"], "'tanh'"),
        (["--activations"], "--activations needs at least one"),
        (["--wide-densities", "0"], "'0'"),
        (["--seeds", "0"], "--seeds"),
        (["--resolution", "1"], "--resolution"),
        (["--scheduler", "nowhere"], "--scheduler"),
        (["--task-size", "0"], "--task-size"),
        # sizes no machine holds: refused before the sweeps' grids are allocated
        (["--resolution", "1000000"], "--resolution"),
        (["--steps", "10000000000000"], "--steps"),
    ],
)
def test_bad_options_exit_2_before_computing(tmp_path, capsys, monkeypatch, argv, shown):
    def never(*args, **kwargs):
        raise AssertionError("computed despite bad options")

    monkeypatch.setattr(control, "compute", never)
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert shown in err and err.startswith("python -m verify.control: error:")
    assert not out.exists() and list(tmp_path.iterdir()) == []
