"""Saved results: every kind of damage to ``arrays.npz`` or ``result.json`` ends in an error that
names the file; harmless changes load; saving to a bad place says where and leaves nothing."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from toysup import FeatureConfig, ModelConfig, TrainConfig, TrainResult, train


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    result = train(
        FeatureConfig(n_features=3, density=[[0.3] * 3, [0.1] * 3]),
        ModelConfig(n_features=3, n_hidden=2),
        TrainConfig(steps=20, batch_size=32, n_seeds=2, eval_samples=64),
        progress=False,
    )
    return result.save(tmp_path_factory.mktemp("saved") / "result")


def _copy(saved: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(saved, folder)
    return folder


def _arrays(folder: Path) -> dict[str, np.ndarray]:
    with np.load(folder / "arrays.npz") as data:
        return {k: data[k] for k in data.files}


def _rewrite_arrays(folder: Path, **changes) -> None:
    arrays = _arrays(folder)
    for name, value in changes.items():
        if value is None:
            arrays.pop(name)
        else:
            arrays[name] = value(arrays) if callable(value) else value
    np.savez(folder / "arrays.npz", **arrays)


def _rewrite_meta(folder: Path, edit) -> None:
    meta = json.loads((folder / "result.json").read_text())
    edit(meta)
    (folder / "result.json").write_text(json.dumps(meta))


def _flip(path: Path, where: float) -> None:
    raw = bytearray(path.read_bytes())
    raw[int(where * (len(raw) - 1))] ^= 0x10
    path.write_bytes(bytes(raw))


BYTES = {  # damage to the bytes of a file
    "npz truncated": lambda f: (f / "arrays.npz").write_bytes((f / "arrays.npz").read_bytes()[:900]),
    "npz empty": lambda f: (f / "arrays.npz").write_bytes(b""),
    "npz bit flip in data": lambda f: _flip(f / "arrays.npz", 0.3),
    "npz bit flip in directory": lambda f: _flip(f / "arrays.npz", 0.97),
    "npz random bytes": lambda f: (f / "arrays.npz").write_bytes(np.random.default_rng(0).bytes(4000)),
    "json truncated": lambda f: (f / "result.json").write_text((f / "result.json").read_text()[:50]),
    "json binary": lambda f: (f / "result.json").write_bytes(bytes(range(256))),
    "json is a folder": lambda f: ((f / "result.json").unlink(), (f / "result.json").mkdir()),
}  # fmt: skip
CONTENT = {  # well-formed files whose content is wrong
    "json not an object": lambda f: (f / "result.json").write_text("[1, 2]"),
    "json future schema": lambda f: _rewrite_meta(f, lambda m: m.update(schema=99)),
    "json section missing": lambda f: _rewrite_meta(f, lambda m: m.pop("model")),
    "json invalid density": lambda f: _rewrite_meta(f, lambda m: m["features"].update(density=2)),
    "json unknown key": lambda f: _rewrite_meta(f, lambda m: m["training"].update(momentum=0.9)),
    "json model disagrees": lambda f: _rewrite_meta(f, lambda m: m["model"].update(n_features=4)),
    "json seeds disagree": lambda f: _rewrite_meta(f, lambda m: m["training"].update(n_seeds=3)),
    "array missing": lambda f: _rewrite_arrays(f, loss=None),
    "array reshaped": lambda f: _rewrite_arrays(f, W=lambda a: a["W"].swapaxes(1, 2)),
    "array of strings": lambda f: _rewrite_arrays(f, b=lambda a: a["b"].astype(str)),
    "array of objects": lambda f: np.savez(f / "arrays.npz", W=np.array([None, 1], dtype=object)),
    "NaN loss": lambda f: _rewrite_arrays(f, loss=lambda a: a["loss"] * np.nan),
    "infinite weights": lambda f: _rewrite_arrays(f, seed_W=lambda a: a["seed_W"] * np.inf),
    "negative standard error": lambda f: _rewrite_arrays(f, loss_stderr=lambda a: -1 - a["loss_stderr"]),
    "best seed out of range": lambda f: _rewrite_arrays(f, best_seed=lambda a: a["best_seed"] + 2),
    "best seed not the lowest": lambda f: _rewrite_arrays(
        f, best_seed=lambda a: np.argmax(a["seed_loss"], axis=1)
    ),
    "W not the best seed's": lambda f: _rewrite_arrays(f, W=lambda a: a["W"] + 1),
    "history out of order": lambda f: _rewrite_arrays(f, history_steps=lambda a: a["history_steps"][::-1]),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted({**BYTES, **CONTENT}))
def test_damaged_results_name_the_file(saved, tmp_path, kind):
    """Damaged bytes (BYTES) or contents that do not hold together (CONTENT): ValueError naming
    the damaged file, never KeyError, BadZipFile or a result that loads."""
    folder = _copy(saved, tmp_path)
    {**BYTES, **CONTENT}[kind](folder)
    with pytest.raises(ValueError) as info:
        TrainResult.load(folder)
    assert str(folder) in str(info.value), str(info.value)
    assert type(info.value).__name__ == "DamagedResultError"


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ("missing folder", FileNotFoundError),
        ("a file", FileNotFoundError),
        ("no arrays.npz", FileNotFoundError),
        ("no result.json", FileNotFoundError),
        ("not a path", TypeError),
    ],
)
def test_missing_files_and_bad_paths(saved, tmp_path, where, error):
    folder = _copy(saved, tmp_path)
    target = {
        "missing folder": tmp_path / "nowhere",
        "a file": folder / "result.json",
        "no arrays.npz": folder,
        "no result.json": folder,
        "not a path": 42,
    }[where]
    if where == "no arrays.npz":
        (folder / "arrays.npz").unlink()
    if where == "no result.json":
        (folder / "result.json").unlink()
    with pytest.raises(error) as info:
        TrainResult.load(target)
    assert str(target) in str(info.value)


def test_every_saved_array_has_an_expected_shape():
    """A new array in TrainResult needs its dtype and shape in the loader's table."""
    from toysup._result_files import SHAPES
    from toysup.result import _ARRAYS

    assert set(SHAPES) == set(_ARRAYS)


def test_harmless_changes_load_unchanged(saved, tmp_path):
    """An extra array is ignored; the result equals the original."""
    folder = _copy(saved, tmp_path)
    _rewrite_arrays(folder, extra=np.ones(3))
    loaded, original = TrainResult.load(folder), TrainResult.load(saved)
    for name, value in _arrays(saved).items():
        np.testing.assert_array_equal(getattr(loaded, name), value)
    assert loaded.features == original.features and loaded.training == original.training


@pytest.mark.parametrize("where", ["exists", "under a file", "not a path", "unwritable"])
def test_saving_to_a_bad_place_says_where_and_leaves_nothing(saved, tmp_path, where):
    result = TrainResult.load(saved)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    target = {
        "exists": saved,
        "under a file": blocker / "sub",
        "not a path": 3.5,
        "unwritable": Path("/proc/toysup_result"),
    }[where]
    before = sorted(os.listdir(tmp_path))
    with pytest.raises((OSError, TypeError)) as info:
        result.save(target)
    assert str(target) in str(info.value)
    assert sorted(os.listdir(tmp_path)) == before


def test_overwrite_keeps_one_complete_copy(saved, tmp_path):
    """overwrite=True replaces the old result (moved aside first, removed last); no temporary
    folders remain, and a regular file in the way is replaced too."""
    folder = _copy(saved, tmp_path)
    result = TrainResult.load(saved)
    assert result.save(folder, overwrite=True) == folder
    TrainResult.load(folder)
    in_the_way = tmp_path / "file"
    in_the_way.write_text("x")
    result.save(in_the_way, overwrite=True)
    TrainResult.load(in_the_way)
    assert sorted(os.listdir(tmp_path)) == ["copy", "file"]
