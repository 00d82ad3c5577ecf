"""Writing a job's files: strict JSON, figures in every format, versions."""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path
from typing import Any

import numpy as np

#: Every figure is written in these formats: PNG for screens, PDF and SVG for papers.
FIGURE_FORMATS = ("png", "pdf", "svg")


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


def write_json(directory: Path, name: str, content: Any) -> str:
    """Write ``content`` (made JSON-ready) as strict JSON (no NaN) to ``directory/name``."""
    (directory / name).write_text(json.dumps(json_ready(content), indent=2, allow_nan=False))
    return name


def save_figure(fig: Any, directory: Path, stem: str, *, dpi: int = 200) -> list[str]:
    """Save a matplotlib Figure as ``stem.png``, ``stem.pdf`` and ``stem.svg``; close it; return
    the names."""
    import matplotlib.pyplot as plt

    names = []
    for fmt in FIGURE_FORMATS:
        fig.savefig(directory / f"{stem}.{fmt}", dpi=dpi, bbox_inches="tight")
        names.append(f"{stem}.{fmt}")
    plt.close(fig)
    return names


def versions() -> dict[str, str]:
    """Versions of toysup, torch and Python, for summary.json."""
    import torch

    from verify import __version__

    return {"toysup": __version__, "torch": torch.__version__, "python": platform.python_version()}
