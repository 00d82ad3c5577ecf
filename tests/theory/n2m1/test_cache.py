"""Tests for the exact-map disk cache (theory.n2m1.cache): keys, validation, rebuilds.

A bad entry — truncated, empty, bit-flipped, edited labels, edited record — must never be used
nor crash the run: it is rebuilt, with a CacheWarning naming the file.
"""

from __future__ import annotations

import hashlib
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from theory import n2m1
from theory.n2m1 import cache as n2m1_cache
from theory.n2m1 import exact as n2m1_exact

GRID = ([0.5, 2.0], [0.1, 0.9])
_COMPUTE_MAP = n2m1_exact._compute_map


def _entry(tmp_path: Path) -> tuple[Path, Path]:
    npz = sorted(tmp_path.glob("*.npz"))
    js = sorted(tmp_path.glob("*.json"))
    assert len(npz) == 1 and len(js) == 1
    return npz[0], js[0]


@pytest.fixture
def cached(tmp_path, monkeypatch):
    """A fresh cache directory holding one valid entry, and the map it holds."""
    monkeypatch.setenv("TOYSUP_CACHE_DIR", str(tmp_path))
    first = n2m1.exact_phase_map(*GRID, l1_hidden=0.1)
    return tmp_path, first


def _reload_expecting_rebuild(tmp_path, monkeypatch, first, reason: str):
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return _COMPUTE_MAP(*args, **kwargs)

    monkeypatch.setattr(n2m1_exact, "_compute_map", counting)
    with pytest.warns(n2m1.CacheWarning, match=reason) as record:
        again = n2m1.exact_phase_map(*GRID, l1_hidden=0.1)
    assert calls == [1]  # recomputed exactly once
    assert str(_entry(tmp_path)[1]) in str(record[0].message)  # names the file
    np.testing.assert_array_equal(again.labels, first.labels)
    np.testing.assert_array_equal(again.w, first.w)
    # The rebuilt entry is valid: the next call reads it without warnings or recomputation.
    monkeypatch.setattr(n2m1_exact, "_compute_map", _boom)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        third = n2m1.exact_phase_map(*GRID, l1_hidden=0.1)
    np.testing.assert_array_equal(third.objective, first.objective)


def _boom(*args, **kwargs):
    raise AssertionError("recomputed despite a valid cache entry")


def test_round_trip_and_penalties_in_the_key(cached, monkeypatch):
    tmp_path, first = cached
    npz, js = _entry(tmp_path)
    record = json.loads(js.read_text())
    assert record["description"]["l1_hidden"] == 0.1
    assert record["description"]["l1_weights"] == 0.0
    assert set(record["arrays"]) == {"w", "b", "loss", "objective", "converged", "labels"}
    assert len(record["sha256"]) == 64 and record["bytes"] == npz.stat().st_size
    monkeypatch.setattr(n2m1_exact, "_compute_map", _boom)
    second = n2m1.exact_phase_map(*GRID, l1_hidden=0.1)
    np.testing.assert_array_equal(second.labels, first.labels)
    np.testing.assert_array_equal(second.objective, first.objective)
    for other in ({"l1_hidden": 0.2}, {"l1_hidden": 0.1, "l1_weights": 0.01}, {}):
        with pytest.raises(AssertionError, match="recomputed"):
            n2m1.exact_phase_map(*GRID, **other)  # another key each


def test_truncated_entry_is_rebuilt(cached, monkeypatch):
    tmp_path, first = cached
    npz, _ = _entry(tmp_path)
    data = npz.read_bytes()
    npz.write_bytes(data[: len(data) // 2])
    _reload_expecting_rebuild(tmp_path, monkeypatch, first, "checksum mismatch")


def test_empty_entry_is_rebuilt(cached, monkeypatch):
    tmp_path, first = cached
    npz, _ = _entry(tmp_path)
    npz.write_bytes(b"")
    _reload_expecting_rebuild(tmp_path, monkeypatch, first, "checksum mismatch")


def test_missing_array_file_is_rebuilt(cached, monkeypatch):
    tmp_path, first = cached
    npz, _ = _entry(tmp_path)
    npz.unlink()
    _reload_expecting_rebuild(tmp_path, monkeypatch, first, "array file unreadable")


def test_bit_flip_is_rebuilt(cached, monkeypatch):
    tmp_path, first = cached
    npz, _ = _entry(tmp_path)
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0x10  # one bit in the middle of the arrays
    npz.write_bytes(bytes(data))
    _reload_expecting_rebuild(tmp_path, monkeypatch, first, "checksum mismatch")


def test_edited_labels_are_rebuilt(cached, monkeypatch):
    tmp_path, first = cached
    npz, _ = _entry(tmp_path)
    with np.load(npz, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["labels"] = np.full_like(arrays["labels"], "dedicated")
    np.savez(npz, **arrays)  # a well-formed file, but not the one recorded
    _reload_expecting_rebuild(tmp_path, monkeypatch, first, "checksum mismatch")


def test_edited_labels_with_a_forged_checksum_are_rebuilt(cached, monkeypatch):
    """Even with the record updated to match, values outside the phase labels are refused."""
    tmp_path, first = cached
    npz, js = _entry(tmp_path)
    with np.load(npz, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["labels"] = np.full_like(arrays["labels"], "polysemantic")
    np.savez(npz, **arrays)
    _forge_record(npz, js)
    _reload_expecting_rebuild(tmp_path, monkeypatch, first, r"values \['polysemantic'\]")


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda a: a.update(w=a["w"][:, :1]), r"array 'w' has shape"),
        (lambda a: a.update(loss=a["loss"].astype(np.float32)), r"array 'loss' has dtype"),
        (lambda a: a.update(objective=np.full_like(a["objective"], np.nan)), "non-finite"),
        (lambda a: a.pop("converged"), r"arrays \["),
    ],
)
def test_forged_entries_failing_validation_are_rebuilt(cached, monkeypatch, edit, reason):
    tmp_path, first = cached
    npz, js = _entry(tmp_path)
    with np.load(npz, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    edit(arrays)
    np.savez(npz, **arrays)
    _forge_record(npz, js)
    _reload_expecting_rebuild(tmp_path, monkeypatch, first, reason)


def test_edited_or_corrupt_record_is_rebuilt(cached, monkeypatch):
    tmp_path, first = cached
    _, js = _entry(tmp_path)
    js.write_text("{not json")
    _reload_expecting_rebuild(tmp_path, monkeypatch, first, "unreadable JSON record")
    record = json.loads(js.read_text())
    record["description"]["l1_hidden"] = 0.3  # the record no longer matches its key
    js.write_text(json.dumps(record))
    _reload_expecting_rebuild(tmp_path, monkeypatch, first, "does not describe")


def test_a_pickled_entry_is_never_loaded(cached, monkeypatch):
    """An object array (which only pickle can hold) fails to load and is rebuilt."""
    tmp_path, first = cached
    npz, js = _entry(tmp_path)
    with np.load(npz, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["labels"] = arrays["labels"].astype(object)
    np.savez(npz, **arrays)
    _forge_record(npz, js)
    assert zipfile.is_zipfile(npz)
    _reload_expecting_rebuild(tmp_path, monkeypatch, first, "array file unreadable")


def _forge_record(npz: Path, js: Path) -> None:
    """Update the record's checksum and size to match an edited array file."""
    record = json.loads(js.read_text())
    data = npz.read_bytes()
    record["sha256"] = hashlib.sha256(data).hexdigest()
    record["bytes"] = len(data)
    js.write_text(json.dumps(record))


def test_save_writes_nothing_half_done(tmp_path, monkeypatch):
    monkeypatch.setenv("TOYSUP_CACHE_DIR", str(tmp_path))

    class Unsaveable:
        def __array__(self, *args, **kwargs):
            raise RuntimeError("cannot convert")

    with pytest.raises(RuntimeError, match="cannot convert"):
        n2m1_cache.save("x", {"k": 1}, {"a": Unsaveable()})  # type: ignore[dict-item]
    assert list(tmp_path.iterdir()) == []


def test_boundary_is_cached_with_its_penalties(tmp_path, monkeypatch):
    from theory.n2m1 import boundary as n2m1_boundary

    monkeypatch.setenv("TOYSUP_CACHE_DIR", str(tmp_path))
    cheap = {"n_scan": 6, "n_bisect": 12}
    first = n2m1.exact_boundary([0.5, 2.0], l1_hidden=0.1, **cheap)
    record = json.loads(sorted(tmp_path.glob("n2m1_exact_boundary-*.json"))[0].read_text())
    assert record["description"]["l1_hidden"] == [0.1, 0.1]
    monkeypatch.setattr(n2m1_boundary, "_compute_boundary", _boom)
    np.testing.assert_array_equal(n2m1.exact_boundary([0.5, 2.0], l1_hidden=0.1, **cheap), first)
    with pytest.raises(AssertionError, match="recomputed"):
        n2m1.exact_boundary([0.5, 2.0], l1_hidden=0.2, **cheap)
    # A corrupted entry is rebuilt with a warning, never used.
    npz = sorted(tmp_path.glob("n2m1_exact_boundary-*.npz"))[0]
    npz.write_bytes(npz.read_bytes()[:-7])
    monkeypatch.undo()
    monkeypatch.setenv("TOYSUP_CACHE_DIR", str(tmp_path))
    with pytest.warns(n2m1.CacheWarning, match="checksum mismatch"):
        again = n2m1.exact_boundary([0.5, 2.0], l1_hidden=0.1, **cheap)
    np.testing.assert_array_equal(again, first)
