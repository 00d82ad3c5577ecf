"""The shipped property suite (verify/properties): it passes on toysup's trainer and on a saved
checkpoint, and it fails on broken trainers. The suite runs in a subprocess exactly as a user runs
it: ``python -m pytest --pyargs verify.properties``, or the ``pytest`` command itself (which, unlike
``python -m pytest``, does not put the current folder on ``sys.path``)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from theory.linear import expected_loss as linear_expected_loss
from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from verify.properties import _target
from verify.properties._montecarlo import (
    bernstein_halfwidth,
    estimate_loss,
    max_example_loss,
)

SUITE_VARS = (
    "TOYSUP_TRAINER",
    "TOYSUP_CHECKPOINT",
    "TOYSUP_HYPOTHESIS_PROFILE",
    "HYPOTHESIS_PROFILE",
    "TOYSUP_DEVICE",
    "TOYSUP_HYPOTHESIS_DB",
    "HYPOTHESIS_STORAGE_DIRECTORY",
)


def run_suite(
    tmp_path: Path,
    *args: str,
    profile: str = "dev",
    command: tuple[str, ...] = (sys.executable, "-m", "pytest"),
    **env_vars: str,
) -> tuple[int, dict[str, str], str]:
    """Run the suite in a subprocess from ``tmp_path``; return (exit code, outcome per test, output).

    The outcome per test comes from a JUnit report: "passed", "failed", "error" or "skipped".
    hypothesis's database goes to ``tmp_path/hypothesis`` unless ``env_vars`` says otherwise.
    """
    env = {k: v for k, v in os.environ.items() if k not in SUITE_VARS}
    env.update(TOYSUP_HYPOTHESIS_DB=str(tmp_path / "hypothesis"))
    env.update(env_vars, TOYSUP_HYPOTHESIS_PROFILE=profile)
    report = tmp_path / f"report-{len(list(tmp_path.glob('report-*')))}.xml"
    cmd = [
        *command,
        "--pyargs",
        "verify.properties",
        "-q",
        "-p",
        "no:cacheprovider",
        "--hypothesis-seed=0",  # the dev profile is random; pin it so this test is repeatable
        f"--junitxml={report}",
        *args,
    ]
    proc = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    outcomes: dict[str, str] = {}
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            name = f"{case.get('classname')}::{case.get('name')}"
            kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
            outcomes[name] = {"failure": "failed"}.get(kinds[0], kinds[0]) if kinds else "passed"
    return proc.returncode, outcomes, proc.stdout + proc.stderr


def _count(outcomes: dict[str, str], module: str, outcome: str) -> int:
    return sum(1 for k, v in outcomes.items() if module in k and v == outcome)


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A small saved TrainResult: 3 densities of n=5, m=2, 2 seeds, mean-reduced loss."""
    features = FeatureConfig(
        n_features=5,
        n_instances=3,
        density=np.array([[0.02], [0.2], [1.0]]),
        importance=0.9 ** np.arange(5),
    )
    result = train(
        features,
        ModelConfig(n_features=5, n_hidden=2),
        TrainConfig(
            steps=200, batch_size=128, lr=1e-2, n_seeds=2, eval_samples=2048, loss_reduction="mean"
        ),
        progress=False,
    )
    return result.save(tmp_path_factory.mktemp("ckpt") / "result")


def _tampered(checkpoint: Path, target: Path) -> Path:
    """The checkpoint with its kept model's W halved: recorded losses no longer belong to it."""
    from toysup import TrainResult

    good = TrainResult.load(checkpoint)
    seed_W = good.seed_W.copy()
    rows = np.arange(good.features.n_instances)
    seed_W[rows, good.best_seed] *= 0.5
    bad = dataclasses.replace(good, W=good.W * 0.5, seed_W=seed_W)
    return bad.save(target)


def test_suite_passes_with_the_default_trainer_and_a_checkpoint(tmp_path, checkpoint):
    code, outcomes, output = run_suite(
        tmp_path, TOYSUP_TRAINER="toysup:train", TOYSUP_CHECKPOINT=str(checkpoint)
    )
    assert code == 0, output
    assert _count(outcomes, "test_trainer", "passed") == 3, outcomes
    assert _count(outcomes, "test_closed_form", "passed") == 5, outcomes  # with landscape vs MC
    assert _count(outcomes, "test_checkpoint", "passed") == 5, outcomes  # all but linear-only


BROKEN = '''
import numpy as np
from types import SimpleNamespace

from verify.properties._montecarlo import estimate_loss


def _shape(features, model):
    return features.n_instances, model.n_hidden, model.n_features


def zeros(features, model, training):
    """W = 0, b = 0, and a loss of 0: wrong on every count."""
    C, m, n = _shape(features, model)
    return SimpleNamespace(W=np.zeros((C, m, n)), b=np.zeros((C, n)), loss=np.zeros(C))


def random_weights(features, model, training):
    """Untrained random W, b = 0, and an *honest* loss (estimated on 2^16 examples)."""
    C, m, n = _shape(features, model)
    rng = np.random.default_rng(training.seed)
    W = rng.normal(scale=1 / np.sqrt(m), size=(C, m, n))
    b = np.zeros((C, n))
    est = estimate_loss(W, b, features.density_array, features.importance_array,
                        activation=model.activation, n_samples=2**16, rng=rng)
    return SimpleNamespace(W=W, b=b, loss=est.mean)
'''


def _run_broken(tmp_path: Path, trainer: str, *args: str, **env: str):
    (tmp_path / "broken_trainer.py").write_text(textwrap.dedent(BROKEN))
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    return run_suite(
        tmp_path, *args, TOYSUP_TRAINER=f"broken_trainer:{trainer}", PYTHONPATH=path, **env
    )


def _failed(outcomes: dict[str, str]) -> set[str]:
    return {k.rsplit("::", 1)[-1] for k, v in outcomes.items() if v == "failed"}


def test_broken_trainer_and_tampered_checkpoint_fail_the_suite(tmp_path, checkpoint):
    bad = _tampered(checkpoint, tmp_path / "tampered")
    code, outcomes, output = _run_broken(
        tmp_path, "zeros", "-m", "trainer or checkpoint", TOYSUP_CHECKPOINT=str(bad)
    )
    assert code == 1, output
    failed = _failed(outcomes)
    assert "test_relu_reaches_the_no_superposition_bound" in failed, output
    assert "test_linear_never_beats_the_no_superposition_bound" in failed, output
    assert any(k.startswith("test_recorded_losses_match_a_fresh_estimate") for k in failed), output


@pytest.mark.slow
def test_untrained_random_weights_fail_the_suite(tmp_path):
    """Even with an honestly reported loss, an untrained model fails the bound properties."""
    code, outcomes, output = _run_broken(tmp_path, "random_weights", "-m", "trainer")
    assert code == 1, output
    failed = _failed(outcomes)
    assert "test_relu_reaches_the_no_superposition_bound" in failed, output
    assert "test_linear_never_beats_the_no_superposition_bound" in failed, output


@pytest.mark.slow
def test_suite_passes_under_the_ci_profile(tmp_path, checkpoint):
    code, outcomes, output = run_suite(
        tmp_path, profile="ci", TOYSUP_TRAINER="toysup:train", TOYSUP_CHECKPOINT=str(checkpoint)
    )
    assert code == 0, output
    assert _count(outcomes, "test_trainer", "passed") == 3
    assert _count(outcomes, "test_checkpoint", "passed") == 5


MYLAB_TOY = '''
"""A user's trainer: toysup's, recording that it was called."""
from pathlib import Path

import toysup


def train(features, model, training):
    with open(Path.cwd() / "calls.txt", "a") as log:
        log.write(f"{features.n_instances} {model.n_features} {model.n_hidden}\\n")
    return toysup.train(features, model, training, progress=False)
'''


def _pytest_command() -> tuple[str, ...]:
    """The ``pytest`` console script of this interpreter (never ``python -m pytest``, which puts
    the current folder on ``sys.path``); ``python -P -m pytest`` behaves the same way."""
    script = Path(sys.executable).with_name("pytest")
    if script.is_file():
        return (str(script),)
    if sys.version_info >= (3, 11):
        return (sys.executable, "-P", "-m", "pytest")
    pytest.skip("no pytest console script beside this interpreter, and python < 3.11 has no -P")


def _without_cwd(pythonpath: str) -> str:
    """PYTHONPATH without entries that mean the current folder ('' and '.')."""
    return os.pathsep.join(p for p in pythonpath.split(os.pathsep) if p not in ("", "."))


def test_pytest_command_finds_a_trainer_in_the_current_folder(tmp_path):
    """``TOYSUP_TRAINER=mylab.toy:train pytest --pyargs verify.properties`` from the folder that
    holds ``mylab/``; hypothesis writes nothing there (its database goes to the cache dir)."""
    (tmp_path / "mylab").mkdir()
    (tmp_path / "mylab" / "__init__.py").write_text("")
    (tmp_path / "mylab" / "toy.py").write_text(MYLAB_TOY)
    cache = tmp_path / "cache"
    env = {"PYTHONPATH": _without_cwd(os.environ.get("PYTHONPATH", ""))}
    env["TOYSUP_CACHE_DIR"] = str(cache)  # the default database lives under it
    code, outcomes, output = run_suite(
        tmp_path,
        "-m",
        "trainer",
        "-k",
        "n2m1_against_the_exact_landscape",
        command=_pytest_command(),
        TOYSUP_TRAINER="mylab.toy:train",
        TOYSUP_HYPOTHESIS_DB="",
        **env,
    )
    assert code == 0, output
    assert _count(outcomes, "test_trainer", "passed") == 1, outcomes
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    assert calls and all(line.split()[1:] == ["2", "1"] for line in calls), calls
    assert not (tmp_path / ".hypothesis").exists(), sorted(p.name for p in tmp_path.iterdir())
    assert (cache / "hypothesis").is_dir()


def test_a_trainer_that_cannot_be_imported_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", sys.path.copy())  # load_trainer may add the current folder
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModuleNotFoundError, match=r"no package or module 'nolab' in the current"):
        _target.load_trainer("nolab.toy:train")
    (tmp_path / "broken_lab").mkdir()
    (tmp_path / "broken_lab" / "__init__.py").write_text("import no_such_dependency\n")
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency"):  # the real cause
        _target.load_trainer("broken_lab:train")


def test_hypothesis_database_location(tmp_path, monkeypatch):
    for var in ("TOYSUP_HYPOTHESIS_DB", "HYPOTHESIS_STORAGE_DIRECTORY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TOYSUP_CACHE_DIR", str(tmp_path / "cache"))
    assert _target.database_setting() == ("directory", tmp_path / "cache" / "hypothesis")
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "hyp"))
    assert _target.database_setting() == ("directory", tmp_path / "hyp")
    monkeypatch.setenv("TOYSUP_HYPOTHESIS_DB", str(tmp_path / "mine"))
    assert _target.database_setting() == ("directory", tmp_path / "mine")
    assert (tmp_path / "mine").is_dir()
    for kind in ("memory", "none", "Memory"):
        monkeypatch.setenv("TOYSUP_HYPOTHESIS_DB", kind)
        assert _target.database_setting() == (kind.lower(), tmp_path / "hyp")
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("TOYSUP_HYPOTHESIS_DB", str(tmp_path / "file" / "db"))
    with pytest.raises(ValueError, match=r"TOYSUP_HYPOTHESIS_DB=.*file/db.*cannot create"):
        _target.database_setting()


def test_suite_is_part_of_the_installed_packages():
    """setuptools' package discovery (pyproject: include verify*) picks up verify.properties,
    so its test modules and conftest are installed with the wheel."""
    from setuptools import find_packages

    root = Path(__file__).resolve().parents[2]
    packages = find_packages(str(root), include=["toysup*", "theory*", "verify*"])
    assert "verify.properties" in packages
    shipped = {p.name for p in (root / "verify" / "properties").glob("*.py")}
    assert {"__init__.py", "conftest.py", "test_trainer.py", "test_checkpoint.py"} <= shipped


@pytest.mark.slow
def test_suite_runs_from_a_built_wheel(tmp_path):
    """Build and install the wheel into a target directory and run the suite from there."""
    root = Path(__file__).resolve().parents[2]
    source = tmp_path / "src"  # build from a copy: pip builds in-tree (build/, *.egg-info)
    skip = shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
    )
    shutil.copytree(root, source, ignore=skip)
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    assert (target / "verify" / "properties" / "test_trainer.py").is_file()
    env = {"PYTHONPATH": str(target)}
    where = subprocess.run(
        [sys.executable, "-c", "import verify.properties as p; print(p.__file__)"],
        cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert where.stdout.strip().startswith(str(target)), where.stdout
    code, _, output = run_suite(tmp_path, "-m", "not trainer", **env)
    assert code == 0, output


# ----------------------------------------------------------------------------- building blocks


def test_monte_carlo_matches_the_linear_closed_form():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(4, 2, 5))
    b = rng.normal(size=(4, 5)) * 0.3
    density = np.array([0.002, 0.05, 0.5, 1.0])[:, None]
    importance = 0.8 ** np.arange(5)
    est = estimate_loss(
        W, b, density, importance, activation="linear", n_samples=2**14, rng=rng, delta=1e-6
    )
    exact = linear_expected_loss(W, b, importance, density)
    assert np.all(np.abs(est.mean - exact) <= est.halfwidth)
    assert np.all(est.halfwidth < 0.1 * exact)  # and the bound is not vacuous


def test_max_example_loss_bounds_every_example():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(3, 2, 4))
    b = rng.normal(size=(3, 4))
    importance = rng.random((3, 4))
    corners = np.array(np.meshgrid(*[[0.0, 1.0]] * 4)).reshape(4, -1).T  # (16, 4)
    x = np.concatenate([corners, rng.random((2000, 4))])  # (K, 4)
    for activation in ("relu", "linear"):
        bound = max_example_loss(W, b, importance, activation)
        for c in range(3):
            out = x @ (W[c].T @ W[c]) + b[c]
            out = np.maximum(out, 0) if activation == "relu" else out
            worst = np.max(np.sum(importance[c] * (x - out) ** 2, axis=1))
            assert worst <= bound[c] + 1e-12


def test_bernstein_halfwidth_limits():
    # Large n, small range: the normal interval's sqrt(2 log(2/δ)) σ/√n.
    hw = bernstein_halfwidth(1.0, 1e-9, 10**6, 1e-6)
    assert hw == pytest.approx(np.sqrt(2 * np.log(2e6)) / 1e3, rel=1e-6)
    # Zero variance: only the range term (rare events of size R), 2 R log(2/δ) / (3 n).
    assert bernstein_halfwidth(0.0, 3.0, 100, 1e-6) == pytest.approx(2 * np.log(2e6) / 100)


def test_target_configuration_errors(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match=r"must look like 'package\.module:function'"):
        _target.load_trainer("toysup.train")
    with pytest.raises(ValueError, match="has no attribute 'nope'"):
        _target.load_trainer("toysup:nope")
    assert _target.load_trainer("toysup:train") is train
    monkeypatch.setenv("TOYSUP_HYPOTHESIS_PROFILE", "fast")
    with pytest.raises(ValueError, match=r"TOYSUP_HYPOTHESIS_PROFILE='fast' .* \('dev', 'ci'\)"):
        _target.profile_name()
    monkeypatch.delenv("TOYSUP_HYPOTHESIS_PROFILE")
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "ci")
    assert _target.profile_name() == "ci"
    monkeypatch.setenv("TOYSUP_CHECKPOINT", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"not a directory written by TrainResult\.save"):
        _target.checkpoint_paths()
    monkeypatch.delenv("TOYSUP_TRAINER", raising=False)
    assert _target.trainer_spec() is None  # checkpoint-only mode
    monkeypatch.setenv("TOYSUP_TRAINER", "pkg.mod:fn")
    assert _target.trainer_spec() == "pkg.mod:fn"
