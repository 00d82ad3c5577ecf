"""On-disk cache for exact phase maps: ``.npz`` arrays + a JSON record, no pickle, atomic writes,
validated on every read.

Directory: ``$TOYSUP_CACHE_DIR`` if set, else ``~/.cache/toysup``. An entry is keyed by the SHA-256
of a canonical JSON description of the computation (grid values as exact float reprs, options —
penalties included — and a format version), written as ``<name>-<key>.npz`` then
``<name>-<key>.json``, each through a temporary file in the same directory and ``os.replace``
(atomic on POSIX), so a reader never sees a half-written entry: the JSON is written last and an
entry without it is a miss.

The JSON records the SHA-256 of the ``.npz`` bytes and each array's shape and dtype. ``load``
checks the record, the checksum, and the arrays against the caller's :class:`ArraySpec` (names,
shapes, dtypes, finiteness, allowed labels). A truncated, empty, bit-flipped or edited entry is
never used: ``load`` emits a :class:`CacheWarning` naming the file and the reason and returns
None, so the caller recomputes and ``save`` overwrites the entry.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray


class CacheWarning(UserWarning):
    """A cache entry was unreadable or failed validation and is being rebuilt."""


@dataclass(frozen=True)
class ArraySpec:
    """What one cached array must look like: exact ``shape`` and ``dtype`` (a numpy dtype
    string), all values finite if ``finite``, every value in ``allowed`` if given."""

    shape: tuple[int, ...]
    dtype: str
    finite: bool = False
    allowed: tuple[str, ...] | None = None


def cache_dir() -> Path:
    """The cache directory (not created here)."""
    env = os.environ.get("TOYSUP_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "toysup"


def cache_key(description: dict[str, Any]) -> str:
    """SHA-256 (hex, first 24 characters) of the canonical JSON of ``description``."""
    text = json.dumps(description, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _paths(name: str, description: dict[str, Any]) -> tuple[str, Path, Path]:
    key = cache_key(description)
    stem = cache_dir() / f"{name}-{key}"
    return key, stem.with_suffix(".npz"), stem.with_suffix(".json")


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
    """Write one entry; returns the JSON path."""
    key, npz_path, json_path = _paths(name, description)
    npz_path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    named: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
    np.savez(buffer, **named)
    data = buffer.getvalue()
    _atomic_write(npz_path, data)
    record = {
        "key": key,
        "description": description,
        "arrays": {
            k: {"shape": list(np.shape(v)), "dtype": np.asarray(v).dtype.str}
            for k, v in sorted(arrays.items())
        },
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }
    _atomic_write(json_path, json.dumps(record, sort_keys=True, indent=1).encode())
    return json_path


def _check_array(name: str, value: NDArray[Any], spec: ArraySpec) -> str | None:
    if value.shape != spec.shape:
        return f"array {name!r} has shape {value.shape}, expected {spec.shape}"
    if value.dtype != np.dtype(spec.dtype):
        return f"array {name!r} has dtype {value.dtype}, expected {np.dtype(spec.dtype)}"
    if spec.finite and not np.all(np.isfinite(value)):
        return f"array {name!r} has non-finite values"
    if spec.allowed is not None:
        bad = sorted(set(np.unique(value).tolist()) - set(spec.allowed))
        if bad:
            return f"array {name!r} has values {bad} outside {list(spec.allowed)}"
    return None


def _read(
    npz_path: Path, json_path: Path, description: dict[str, Any], spec: dict[str, ArraySpec]
) -> dict[str, NDArray[Any]] | str:
    """The validated arrays, or the reason the entry is bad."""
    try:
        record = json.loads(json_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"unreadable JSON record ({exc})"
    if not isinstance(record, dict) or record.get("description") != description:
        return "its JSON record does not describe this computation"
    try:
        data = npz_path.read_bytes()
    except OSError as exc:
        return f"array file unreadable ({exc})"
    if len(data) != record.get("bytes") or hashlib.sha256(data).hexdigest() != record.get("sha256"):
        return f"checksum mismatch on {npz_path.name} ({len(data)} bytes)"
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, KeyError, EOFError) as exc:
        return f"array file unreadable ({exc})"
    if sorted(arrays) != sorted(spec):
        return f"arrays {sorted(arrays)}, expected {sorted(spec)}"
    for key, s in spec.items():
        problem = _check_array(key, arrays[key], s)
        if problem:
            return problem
    return arrays


def load(
    name: str, description: dict[str, Any], spec: dict[str, ArraySpec]
) -> dict[str, NDArray[Any]] | None:
    """The arrays of a complete, valid, matching entry; None on a miss or a bad entry.

    A bad entry (see the module docstring) gives a :class:`CacheWarning` naming the file.
    """
    _, npz_path, json_path = _paths(name, description)
    if not json_path.exists():
        return None
    result = _read(npz_path, json_path, description, spec)
    if isinstance(result, str):
        warnings.warn(
            f"ignoring cache entry {json_path} ({result}); recomputing and overwriting it",
            CacheWarning,
            stacklevel=3,
        )
        return None
    return result
