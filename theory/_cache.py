"""A validated on-disk cache for exact results: ``.npz`` arrays + a JSON record, no pickle.

Directory: ``$TOYSUP_CACHE_DIR`` if set, else ``~/.cache/toysup``. An entry is keyed by the
SHA-256 of a canonical JSON description of the computation (inputs as exact float reprs, options,
a format version) and written as ``<name>-<key>.npz`` then ``<name>-<key>.json``, each through a
temporary file and ``os.replace`` (atomic on POSIX): the JSON, written last, records the SHA-256
of the ``.npz`` bytes and every array's shape and dtype. Loading checks the description, the
checksum, the array names, shapes and dtypes against what the caller expects, and finiteness of
float arrays; an entry that exists but fails a check is reported with a warning naming the file
and the reason, and the caller recomputes (and overwrites) it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: name -> (shape, dtype string as numpy spells it, e.g. "<f8", "|b1", "<U19")
Spec = dict[str, tuple[tuple[int, ...], str]]


def cache_dir() -> Path:
    """The cache directory (not created here)."""
    env = os.environ.get("TOYSUP_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "toysup"


def cache_key(description: dict[str, Any]) -> str:
    """SHA-256 (hex, first 24 characters) of the canonical JSON of ``description``."""
    text = json.dumps(description, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _paths(name: str, description: dict[str, Any]) -> tuple[Path, Path]:
    stem = cache_dir() / f"{name}-{cache_key(description)}"
    return stem.with_suffix(".npz"), stem.with_suffix(".json")


def _atomic_write(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(name: str, description: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> Path:
    """Write one entry atomically; returns the JSON path."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    npz_path, json_path = _paths(name, description)
    fd, tmp = tempfile.mkstemp(prefix=f".{npz_path.name}.", suffix=".npz", dir=directory)
    os.close(fd)
    try:
        named: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
        np.savez(tmp, **named)
        payload = Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)
    _atomic_write(npz_path, payload)
    record = {
        "key": cache_key(description),
        "description": description,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "arrays": {
            k: {"shape": list(np.shape(v)), "dtype": np.asarray(v).dtype.str}
            for k, v in sorted(arrays.items())
        },
    }
    _atomic_write(json_path, json.dumps(record, sort_keys=True, indent=1).encode())
    return json_path


def _problem(arrays: dict[str, NDArray[Any]], spec: Spec) -> str:
    """Why loaded arrays are unusable ("" if they are fine)."""
    if sorted(arrays) != sorted(spec):
        return f"arrays {sorted(arrays)} instead of {sorted(spec)}"
    for key, (shape, dtype) in spec.items():
        arr = arrays[key]
        if arr.shape != tuple(shape) or arr.dtype.str != dtype:
            return (
                f"array {key!r} has shape {arr.shape}, dtype {arr.dtype.str}; "
                f"expected {tuple(shape)}, {dtype}"
            )
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            return f"array {key!r} has non-finite values"
    return ""


def _read(npz_path: Path, json_path: Path, description: dict[str, Any], spec: Spec) -> Any:
    """The arrays, None (not our entry), or a string saying what is wrong with the entry."""
    try:
        record = json.loads(json_path.read_text())
    except (OSError, ValueError) as exc:
        return f"unreadable JSON record ({exc})"
    if not isinstance(record, dict):
        return "the JSON record is not an object"
    if record.get("description") != description:
        return None  # a hash collision of descriptions: not ours
    try:
        payload = npz_path.read_bytes()
    except OSError as exc:
        return f"unreadable .npz ({exc})"
    if record.get("sha256") != hashlib.sha256(payload).hexdigest():
        return "the .npz checksum does not match the JSON record"
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # any parse failure of the archive: report, never trust
        return f"unreadable .npz ({type(exc).__name__}: {exc})"
    return _problem(arrays, spec) or arrays


def load(name: str, description: dict[str, Any], spec: Spec) -> dict[str, NDArray[Any]] | None:
    """The arrays of a complete, valid entry, or None (with a warning if an entry was bad)."""
    npz_path, json_path = _paths(name, description)
    if not json_path.exists():
        return None
    result = _read(npz_path, json_path, description, spec)
    if isinstance(result, str):
        warnings.warn(f"ignoring cache entry {json_path} ({result}); recomputing it", stacklevel=3)
        return None
    return result
