"""What the command-line jobs share: the output directory's rules, atomic writing, JSON values.

An output directory is written in a temporary sibling and renamed into place, so a failed run
leaves nothing half-written; an existing directory is replaced only if it is empty or holds an
earlier run (a ``summary.json``).
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

MARKER = "summary.json"  # an earlier run's directory holds it


def check_output_dir(out: Path) -> None:
    """Refuse a path that is a file, or a non-empty directory that is not an earlier run."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ValueError(
            f"--out {out} is not empty and holds no earlier run (no {MARKER}); "
            "choose another directory"
        )


def write_atomically(out: Path, write: Callable[[Path], list[str]]) -> list[Path]:
    """Call ``write(tmp)`` (it returns the names it wrote) in a temporary sibling of ``out``, then
    move the directory into place, replacing an earlier run."""
    check_output_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        names = write(tmp)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / "run")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / name for name in names]


def json_ready(value: Any) -> Any:
    """Arrays to lists, numpy scalars to Python, NaN/inf to None, objects with ``to_dict()`` to
    their dict."""
    if hasattr(value, "to_dict") and not isinstance(value, np.ndarray):
        return json_ready(value.to_dict())
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.str_):
        return str(value)
    return value


def check_device(device: str) -> None:
    """Refuse ``--device cuda...`` on a machine without CUDA (before anything is written)."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {device} requested but CUDA is not available; use cpu or auto")


def versions() -> dict[str, str]:
    import torch

    from verify import __version__

    return {"toysup": __version__, "torch": torch.__version__, "python": platform.python_version()}
