"""Saved-file cases of bench/audit_inputs.py: ``TrainResult.load`` on corrupted results and
``TrainResult.save`` to bad places.

A small result is trained and saved once (in a subprocess, so that the audit's own process never
runs torch before it forks its cases). Each case copies it to a folder of its own, damages one
thing (the bytes of ``arrays.npz`` or ``result.json``, one array, one configuration value) and
loads it: the load must raise an error that names the file (or folder), or, where the damage is
harmless, return a result equal to the original.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from audit_values import Case, Expect

FILE_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, OSError)

_TRAIN = """
import sys
from toysup import FeatureConfig, ModelConfig, TrainConfig, train
result = train(
    FeatureConfig(n_features=3, n_instances=2, density=[[0.3, 0.3, 0.3], [0.1, 0.1, 0.1]]),
    ModelConfig(n_features=3, n_hidden=2),
    TrainConfig(steps=50, batch_size=32, n_seeds=2, eval_samples=256, device="cpu"),
    progress=False,
)
result.save(sys.argv[1], overwrite=True)
"""


def saved_result(workdir: Path) -> Path:
    """Train and save the small result once; return its folder."""
    base = workdir / "saved"
    if not (base / "result.json").is_file():
        workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", _TRAIN, str(base)], check=True)
    return base


def _arrays(base: Path) -> dict[str, np.ndarray]:
    with np.load(base / "arrays.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _flip(path: Path, where: float) -> None:
    raw = bytearray(path.read_bytes())
    raw[int(where * (len(raw) - 1))] ^= 0x10
    path.write_bytes(bytes(raw))


def _edit_arrays(edit: Callable[[dict[str, np.ndarray]], None]) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        arrays = _arrays(folder)
        edit(arrays)
        np.savez(folder / "arrays.npz", **arrays)

    return damage


def _edit_json(edit: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        meta = json.loads((folder / "result.json").read_text())
        meta = edit(meta) or meta
        (folder / "result.json").write_text(json.dumps(meta))

    return damage


def _set(arrays: dict[str, np.ndarray], name: str, value: Any) -> None:
    arrays[name] = np.asarray(value)


def _nan_at(name: str) -> Callable[[dict[str, np.ndarray]], None]:
    def edit(arrays: dict[str, np.ndarray]) -> None:
        a = arrays[name].astype(np.float64)
        a.flat[0] = np.nan
        arrays[name] = a

    return edit


def _replace_file(name: str, content: bytes | None) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        target = folder / name
        target.unlink()
        if content is None:
            return
        target.write_bytes(content)

    return damage


def _make_dir(name: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()

    return damage


def _keep_prefix(name: str, fraction: float) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        raw = (folder / name).read_bytes()
        (folder / name).write_bytes(raw[: int(len(raw) * fraction)])

    return damage


def _json_nested(section: str, key: str, value: Any) -> Callable[[Path], None]:
    def edit(meta: dict[str, Any]) -> None:
        meta[section][key] = value

    return _edit_json(edit)


def _best_not_argmin(arrays: dict[str, np.ndarray]) -> None:
    arrays["best_seed"] = np.argmax(arrays["seed_loss"], axis=1).astype(np.int64)


def _w_not_best(arrays: dict[str, np.ndarray]) -> None:
    arrays["W"] = arrays["W"] + 1.0


#: kind -> (damage, expected outcome): "error" (name the file) or "either" (harmless damage).
DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "npz_truncated_half": (_keep_prefix("arrays.npz", 0.5), "error"),
    "npz_truncated_header": (_keep_prefix("arrays.npz", 0.01), "error"),
    "npz_empty": (_replace_file("arrays.npz", b""), "error"),
    "npz_bit_flip_data": (lambda f: _flip(f / "arrays.npz", 0.3), "error"),
    "npz_bit_flip_directory": (lambda f: _flip(f / "arrays.npz", 0.97), "error"),
    "npz_random_bytes": (
        lambda f: (f / "arrays.npz").write_bytes(os.urandom((f / "arrays.npz").stat().st_size)),
        "error",
    ),
    "npz_text": (_replace_file("arrays.npz", b"not a zip file\n"), "error"),
    "npz_is_directory": (_make_dir("arrays.npz"), "error"),
    "npz_missing_file": (_replace_file("arrays.npz", None), "error"),
    "npz_missing_array": (_edit_arrays(lambda a: a.pop("loss")), "error"),
    "npz_extra_array": (_edit_arrays(lambda a: _set(a, "extra", np.ones(2))), "either"),
    "npz_object_array": (
        lambda f: np.savez(
            f / "arrays.npz", **{**_arrays(f), "W": np.array([None, 1], dtype=object)}
        ),
        "error",
    ),
    "npz_wrong_shape_W": (_edit_arrays(lambda a: _set(a, "W", a["W"].swapaxes(-1, -2))), "error"),
    "npz_wrong_shape_seed_loss": (
        _edit_arrays(lambda a: _set(a, "seed_loss", np.ones((2, 3)))),
        "error",
    ),
    "npz_wrong_shape_history": (
        _edit_arrays(lambda a: _set(a, "history_loss", a["history_loss"][:, :1])),
        "error",
    ),
    "npz_string_dtype": (_edit_arrays(lambda a: _set(a, "b", a["b"].astype(str))), "error"),
    "npz_complex_dtype": (_edit_arrays(lambda a: _set(a, "W", a["W"] + 1j)), "error"),
    "npz_nan_loss": (_edit_arrays(_nan_at("loss")), "error"),
    "npz_nan_seed_loss": (_edit_arrays(_nan_at("seed_loss")), "error"),
    "npz_inf_W": (_edit_arrays(lambda a: _set(a, "W", np.full_like(a["W"], np.inf))), "error"),
    "npz_negative_stderr": (
        _edit_arrays(lambda a: _set(a, "loss_stderr", -np.abs(a["loss_stderr"]) - 1)),
        "error",
    ),
    "npz_best_seed_out_of_range": (
        _edit_arrays(lambda a: _set(a, "best_seed", np.full_like(a["best_seed"], 5))),
        "error",
    ),
    "npz_best_seed_not_lowest": (_edit_arrays(_best_not_argmin), "error"),
    "npz_W_not_best_seed": (_edit_arrays(_w_not_best), "error"),
    "npz_float_best_seed": (
        _edit_arrays(lambda a: _set(a, "best_seed", a["best_seed"] + 0.5)),
        "error",
    ),
    "json_truncated": (_keep_prefix("result.json", 0.5), "error"),
    "json_empty": (_replace_file("result.json", b""), "error"),
    "json_binary": (_replace_file("result.json", bytes(range(256))), "error"),
    "json_not_a_dict": (_replace_file("result.json", b"[1, 2, 3]"), "error"),
    "json_is_directory": (_make_dir("result.json"), "error"),
    "json_missing_file": (_replace_file("result.json", None), "error"),
    "json_schema_missing": (_edit_json(lambda m: m.pop("schema")), "error"),
    "json_schema_future": (_edit_json(lambda m: m.update(schema=99)), "error"),
    "json_features_missing": (_edit_json(lambda m: m.pop("features")), "error"),
    "json_features_not_dict": (_edit_json(lambda m: m.update(features=[1])), "error"),
    "json_invalid_density": (_json_nested("features", "density", 2.0), "error"),
    "json_unknown_key": (_json_nested("training", "momentum", 0.9), "error"),
    "json_config_mismatch": (_json_nested("model", "n_features", 4), "error"),
    "json_instances_mismatch": (
        _edit_json(
            lambda m: m["features"].update(
                n_instances=3, density=[[0.3] * 3] * 3, importance=[[1.0] * 3] * 3
            )
        ),
        "error",
    ),
    "json_seeds_mismatch": (_json_nested("training", "n_seeds", 3), "error"),
    "json_info_not_dict": (_edit_json(lambda m: m.update(info=3)), "error"),
}


PATHS = "file: missing or wrong path"
SAVE = "file: save destination"


def _family(kind: str) -> str:
    """The row of the table by kind: damaged bytes, broken JSON or contents that disagree."""
    if kind.startswith(
        (
            "npz_truncated",
            "npz_empty",
            "npz_bit_flip",
            "npz_random",
            "npz_text",
            "npz_object",
            "json_truncated",
            "json_empty",
            "json_binary",
        )
    ):
        return "file: damaged bytes"
    if kind.endswith(("is_directory", "missing_file")):
        return PATHS
    if kind.startswith("json"):
        return "file: JSON not a valid result"
    if kind == "npz_extra_array":
        return "file: harmless extra array"
    return "file: arrays disagree with configs"


def _load(path: Any) -> Any:
    from toysup import TrainResult

    return TrainResult.load(path)


def _same_as(base: Path) -> Callable[[Any], bool]:
    def check(result: Any) -> bool:
        original = _arrays(base)
        return all(np.array_equal(getattr(result, k), v) for k, v in original.items())

    return check


def _load_damaged(base: Path, folder: Path, damage: Callable[[Path], None]) -> Callable[[], Any]:
    def call() -> Any:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(base, folder)
        damage(folder)
        return _load(folder)

    return call


def _save_to(base: Path, target: Any, *, overwrite: bool = False, prepare: Any = None) -> Any:
    def call() -> Any:
        if prepare is not None:
            prepare()
        return _load(base).save(target, overwrite=overwrite)

    return call


def cases(workdir: Path) -> list[Case]:
    base = saved_result(workdir)
    out = []
    for kind, (damage, outcome) in DAMAGE.items():
        folder = workdir / kind
        expect = Expect(outcome, str(folder), (), FILE_ERRORS, _same_as(base))
        out.append(
            Case("toysup.TrainResult.load", "path", kind, _load_damaged(base, folder, damage),
                 expect, group="files", family=_family(kind))
        )  # fmt: skip
    missing = workdir / "no_such_result"
    a_file = workdir / "a_file"
    a_file.write_text("x")
    out += [
        Case("toysup.TrainResult.load", "path", "path_missing", lambda: _load(missing),
             Expect("error", str(missing), (), FILE_ERRORS), group="files", family=PATHS),
        Case("toysup.TrainResult.load", "path", "path_is_file", lambda: _load(a_file),
             Expect("error", str(a_file), (), FILE_ERRORS), group="files", family=PATHS),
        Case("toysup.TrainResult.load", "path", "path_wrong_type", lambda: _load(123),
             Expect("error", "path", ("123", "int"), FILE_ERRORS), group="files", family=PATHS),
        Case("toysup.TrainResult.save", "path", "exists", _save_to(base, base),
             Expect("error", str(base), (), FILE_ERRORS), group="files", family=SAVE),
        Case("toysup.TrainResult.save", "path", "under_a_file", _save_to(base, a_file / "sub"),
             Expect("error", str(a_file), (), FILE_ERRORS), group="files", family=SAVE),
        Case("toysup.TrainResult.save", "path", "unwritable", _save_to(base, "/proc/audit_x"),
             Expect("error", "/proc/audit_x", (), FILE_ERRORS), group="files", family=SAVE),
        Case("toysup.TrainResult.save", "path", "wrong_type", _save_to(base, 3.5),
             Expect("error", "path", ("3.5", "float"), FILE_ERRORS), group="files", family=SAVE),
        Case("toysup.TrainResult.save", "path", "overwrite_a_file",
             _save_to(base, workdir / "file_to_replace", overwrite=True,
                      prepare=lambda: (workdir / "file_to_replace").write_text("x")),
             Expect("either", str(workdir / "file_to_replace"), (), FILE_ERRORS,
                    lambda p: (Path(p) / "result.json").is_file()), group="files", family=SAVE),
        Case("toysup.TrainResult.save", "path", "roundtrip",
             _save_to(base, workdir / "roundtrip", overwrite=True),
             Expect("ok", check=lambda p: _same_as(base)(_load(p))), group="files", family=SAVE),
    ]  # fmt: skip
    return out
