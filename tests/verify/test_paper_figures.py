"""The paper-figures job through main(argv): the index (figures.json) and the other files, --only
selection, the data files redrawing the figures, reproducibility of one figure alone, and bad
options refused with exit 2 and nothing written. The helpers the figures compute with are checked
against independent references (Monte Carlo, hand-made sequences)."""

from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pytest

from verify.paper_figures import FIGURES, NAMES, PaperFiguresSettings, main
from verify.paper_figures._common import Context, sweep_name
from verify.paper_figures.absolute_value import stack_panels
from verify.paper_figures.correlated import within_set_cosines
from verify.paper_figures.learning_dynamics import PLATEAU_LENGTH, plateaus
from verify.paper_figures.sparsity_sweep import linear_optimum_loss

#: Two of the cheapest figures (about 2 s of CPU together at --quick), given out of order.
ONLY = ["privileged_basis", "dimensionality"]
FORMATS = ("png", "pdf", "svg")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures") / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["--out", str(out), "--quick", "--workers", "1", "--only", *ONLY]) == 0
    return out, json.loads((out / "figures.json").read_text()), printed.getvalue()


def test_index_contract(quick_run):
    out, index, _ = quick_run
    assert index["schema"] == 1 and index["size"] == "quick"
    entries = index["figures"]
    assert [e["name"] for e in entries] == ["dimensionality", "privileged_basis"]  # registry order
    for entry in entries:
        spec = FIGURES[entry["name"]]
        assert {"name", "settings", "files", "runtime"} <= set(entry)
        assert entry["settings"] == json.loads(json.dumps(entry["settings"]))
        assert entry["settings"]["steps"] == spec.settings("quick").steps
        assert entry["paper_section"] == spec.section and entry["paper"]
        assert entry["data"] == f"{entry['name']}.npz" and entry["data"] in entry["files"]
        expected = {entry["data"]} | {f"{s}.{x}" for s in entry["figures"] for x in FORMATS}
        assert set(entry["files"]) == expected
        assert all((out / name).stat().st_size > 0 for name in entry["files"])
        timings = entry["timings"]
        assert entry["runtime"] == pytest.approx(timings["compute_s"] + timings["render_s"])
        assert entry["runtime"] > 0
    privileged = entries[1]["results"]
    assert privileged["density"] == [1.0, 0.03] and privileged["seeds"] == 2
    assert len(privileged["represented"]) == 2


def test_summary_and_config(quick_run):
    out, index, _ = quick_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["figures"] == ["dimensionality", "privileged_basis"]
    assert summary["device"] == "cpu" and summary["size"] == "quick"
    assert summary["runtime_s"] == pytest.approx(sum(e["runtime"] for e in index["figures"]))
    files = {"summary.json", "figures.json", "config.json"}
    files |= {name for entry in index["figures"] for name in entry["files"]}
    assert set(summary["files"]) == files == {p.name for p in out.iterdir()} - {"sweep.zarr"}
    sweep = summary["sweep"]  # one sweep (one task) per training run of a figure
    assert (sweep["tasks"], sweep["tasks_run"], sweep["tasks_reused"]) == (2, 2, 0)
    assert sweep["scheduler"] == "threads" and (out / "sweep.zarr").is_dir()
    config = json.loads((out / "config.json").read_text())
    assert config["command"][:3] == ["python", "-m", "verify.paper_figures"]
    (trained,) = config["figures"]["privileged_basis"]["trained"]
    assert trained["model"]["hidden_activation"] == "relu"
    assert trained["training"]["n_seeds"] == 2


def test_data_files_hold_what_the_figures_are_drawn_from(quick_run):
    out, _, _ = quick_run
    with np.load(out / "privileged_basis.npz", allow_pickle=False) as data:
        W = data["W"]
        assert W.shape == (2, 5, 10) and data["seed_W"].shape == (2, 2, 5, 10)
        # the kept seed is the one with the lowest final loss (best-of-k by final loss)
        best = data["best_seed"]
        np.testing.assert_array_equal(W, data["seed_W"][np.arange(2), best])
        figures = FIGURES["privileged_basis"].draw(dict(data))
    assert list(figures) == ["privileged_basis"]


def test_one_figure_alone_reproduces_the_full_run_and_resumes(quick_run, tmp_path):
    """A figure's runs are the same sweep tasks whatever else runs (their seeds derive from the
    base seed, the figure's name and the configurations), so --only makes the same data, bit
    for bit on CPU; --resume then reuses the stored tasks (a phase grid's too) and trains
    nothing, and gives the same files."""
    out, _, _ = quick_run
    alone = tmp_path / "alone"
    args = ["--out", str(alone), "--quick", "--quiet", "--workers", "1",
            "--only", "dimensionality", "phase_n2m1"]  # fmt: skip
    assert main(args) == 0
    first = json.loads((alone / "summary.json").read_text())["sweep"]
    assert first["tasks"] == first["tasks_run"] >= 2 and first["tasks_reused"] == 0
    with np.load(alone / "phase_n2m1.npz") as phase:
        before = dict(phase)
    assert main([*args, "--resume"]) == 0
    sweep = json.loads((alone / "summary.json").read_text())["sweep"]
    assert (sweep["tasks"], sweep["tasks_run"], sweep["tasks_reused"]) == (first["tasks"], 0,
                                                                          first["tasks"])  # fmt: skip
    with np.load(alone / "phase_n2m1.npz") as phase:
        for key, value in before.items():
            np.testing.assert_array_equal(phase[key], value, err_msg=key)
    with np.load(out / "dimensionality.npz") as a, np.load(alone / "dimensionality.npz") as b:
        assert set(a.files) == set(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    # a store of other figures cannot be resumed with these: refused before anything is written
    other = ["--out", str(alone), "--quick", "--resume", "--only", "privileged_basis"]
    assert main(other) == 2
    assert json.loads((alone / "summary.json").read_text())["figures"] == [
        "dimensionality", "phase_n2m1",
    ]  # fmt: skip


def test_report_table(quick_run):
    out, index, printed = quick_run
    for entry in index["figures"]:
        stems = ", ".join(entry["figures"])
        assert re.search(rf"^{entry['name']}\s+[\d.]+s\s+{stems}$", printed, re.M), printed
    assert "2 figures (quick sizes) in" in printed and str(out) in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "pentagon"], r"unknown figure 'pentagon'; accepted: intro, sparsity_sweep"),
        (["--only"], "expected at least one argument"),
        (["--quick=yes"], "ignored explicit argument"),
        (["--workers", "0"], "--workers"),
        (["--seed", "-1"], "--seed"),
        (["--device", "tpu"], "device"),
        (["--frobnicate"], "unrecognized arguments"),
        (["--scheduler", "udp://x"], "--scheduler must be 'local' or a Dask scheduler address"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert main(["--out", str(out), "--quick", *args]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_help_lists_every_figure(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--out", "--only", "--quick", "--seed", "--device", "--workers", "--quiet",
                   "--store", "--resume", "--scheduler"):  # fmt: skip
        assert option in text
    for name in NAMES:
        assert re.search(rf"^  {name}\s", text, re.M), name


def test_settings_validation():
    with pytest.raises(ValueError, match=r"size must be one of \('quick', 'default'\), got 'x'"):
        PaperFiguresSettings(size="x")
    with pytest.raises(ValueError, match="needs at least one figure"):
        PaperFiguresSettings(names=())
    both = PaperFiguresSettings(names=("phase_n3m2", "intro", "intro"))
    assert both.names == ("intro", "phase_n3m2")
    assert set(NAMES) == {
        "intro", "sparsity_sweep", "dimensionality", "privileged_basis", "absolute_value",
        "correlated", "learning_dynamics", "phase_n2m1", "phase_n3m2",
    }  # fmt: skip
    for spec in FIGURES.values():  # every preset is valid and the quick one is the smaller
        quick, default = spec.settings("quick"), spec.settings("default")
        assert spec.memory(quick) <= spec.memory(default) < 2**31


@pytest.mark.parametrize(
    ("module", "field", "value", "message"),
    [
        ("intro", "densities", (0.5, 0.0), r"densities must lie in \(0, 1\]"),
        ("intro", "steps", 0, "steps must be an integer >= 1, got 0"),
        ("sparsity_sweep", "lr", float("nan"), "lr must be a finite number > 0"),
        ("learning_dynamics", "snapshot_every", 10_000, "snapshot_every must be at most steps"),
        ("correlated", "pair_density", 1.5, r"pair_density must lie in \(0, 1\]"),
    ],
)
def test_figure_settings_refuse_bad_values(module, field, value, message):
    settings_type = type(FIGURES[module].settings("quick"))
    with pytest.raises(ValueError, match=message):
        settings_type(**{field: value})


def test_seeds_differ_by_figure_and_follow_the_base_seed():
    ctx = Context(seed=3)
    seeds = {ctx.seed_for(name, stream) for name in NAMES for stream in range(4)}
    assert len(seeds) == 4 * len(NAMES)
    assert ctx.seed_for("intro") == Context(seed=3).seed_for("intro") != Context().seed_for("intro")


def test_linear_optimum_loss_against_monte_carlo():
    """The linear model's optimum keeps the top-m features exactly and replaces every other one
    by its mean: its loss is Σ_{i>m} I_i Var(x_i). Monte Carlo with 400,000 examples: the
    standard error of the estimate is about 0.3% of the value, so 2% is over 6 standard errors."""
    rng = np.random.default_rng(0)
    importance, m, p = 0.7 ** np.arange(6), 2, 0.3
    x = rng.uniform(size=(400_000, 6)) * (rng.uniform(size=(400_000, 6)) < p)
    kept = np.argsort(importance)[::-1][:m]
    recon = np.where(np.isin(np.arange(6), kept), x, x.mean(0))
    mc = float(np.mean(np.sum(importance * (x - recon) ** 2, axis=1)))
    assert linear_optimum_loss(importance[::-1], m, p) == pytest.approx(mc, rel=0.02)


def test_within_set_cosines_by_hand():
    # four features in two dimensions, sets of two: (e1, -e1) antipodal, (e2, e1+e2) at 45°
    W = np.array([[[1.0, -2.0, 0.0, 1.0], [0.0, 0.0, 3.0, 1.0]]])
    np.testing.assert_allclose(within_set_cosines(W, 2), [[-1.0, 1 / np.sqrt(2)]], atol=1e-12)
    W[0, :, 0] = 0.0  # a zero feature has no direction
    assert np.isnan(within_set_cosines(W, 2)[0, 0])


def test_stack_panels_keep_the_ends():
    assert stack_panels(7).tolist() == [0, 2, 4, 6]
    assert stack_panels(3).tolist() == [0, 1, 2] and stack_panels(1).tolist() == [0]


def test_plateaus_on_a_made_up_trajectory():
    """A feature at D = 1 for 6 snapshots, a 2-snapshot blip at 0.7, then 1/2 for 5 and 2/5 for
    3 (shorter than PLATEAU_LENGTH, so not a visit); a second feature unrepresented throughout."""
    assert PLATEAU_LENGTH == 4
    track = [1.0] * 6 + [0.7] * 2 + [0.5] * 5 + [0.4] * 3
    D = np.stack([np.array(track), np.full(len(track), 1.0)], axis=1)
    norms = np.stack([np.ones(len(track)), np.full(len(track), 0.1)], axis=1)
    assert plateaus(D, norms) == [[1.0, 0.5], []]
    D[6:8, 0] = 1.02  # within the tolerance of 1: one long plateau at 1 then 1/2
    assert plateaus(D, norms) == [[1.0, 0.5], []]
    D[:, 0] = 0.5 + 0.02 * np.sin(np.arange(len(track)))  # never leaves 1/2
    assert plateaus(D, norms)[0] == [0.5]


def test_results_given_in_the_context_are_used_instead_of_training(monkeypatch):
    """A figure computed from results trained elsewhere (the job's sweep store) is the figure
    computed by training them itself; nothing is trained again."""
    spec = FIGURES["dimensionality"]
    settings = spec.settings("quick")
    first = spec.compute(settings, Context(seed=5, progress=False))
    (run,) = first.runs
    plan = spec.trainings(settings, Context(seed=5))
    assert [item.training for item in plan] == [run.training]
    trained = {sweep_name("dimensionality", plan[0].key): run.result}

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr("verify.paper_figures._common.train", no_training)
    again = spec.compute(settings, Context(seed=5, progress=False, trained=trained))
    for key, value in first.arrays.items():
        np.testing.assert_array_equal(again.arrays[key], value, err_msg=key)
