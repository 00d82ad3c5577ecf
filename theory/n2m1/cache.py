"""On-disk cache for exact phase maps: ``.npz`` arrays + a JSON record, no pickle, atomic writes.

Directory: ``$TOYSUP_CACHE_DIR`` if set, else ``~/.cache/toysup``. An entry is keyed by the SHA-256
of a canonical JSON description of the computation (grid values as exact float reprs, options,
and a format version), written as ``<name>-<key>.npz`` then ``<name>-<key>.json``, each through a
temporary file in the same directory and ``os.replace`` (atomic on POSIX), so a reader never sees
a half-written entry: the JSON is written last and an entry without it is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray


def cache_dir() -> Path:
    """The cache directory (not created here)."""
    env = os.environ.get("TOYSUP_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "toysup"


def cache_key(description: dict[str, Any]) -> str:
    """SHA-256 (hex, first 24 characters) of the canonical JSON of ``description``."""
    text = json.dumps(description, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(name: str, description: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> Path:
    """Write one entry; returns the JSON path."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    key = cache_key(description)
    stem = directory / f"{name}-{key}"
    npz_path, json_path = stem.with_suffix(".npz"), stem.with_suffix(".json")
    named: dict[str, Any] = dict(arrays)
    _atomic_write(npz_path, lambda h: np.savez(h, **named))
    record = {"key": key, "description": description, "arrays": sorted(arrays)}
    payload = json.dumps(record, sort_keys=True, indent=1).encode()
    _atomic_write(json_path, lambda h: h.write(payload))
    return json_path


def load(name: str, description: dict[str, Any]) -> dict[str, NDArray[Any]] | None:
    """The arrays of a complete, matching entry, or None."""
    key = cache_key(description)
    stem = cache_dir() / f"{name}-{key}"
    npz_path, json_path = stem.with_suffix(".npz"), stem.with_suffix(".json")
    try:
        record = json.loads(json_path.read_text())
        if record.get("description") != description:
            return None
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, KeyError):
        return None
    if sorted(arrays) != record.get("arrays"):
        return None
    return arrays
