"""Helpers for the figure tests: find artists by gid, render in every format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from matplotlib.figure import Figure


def _by_gid(fig: Figure, kind: Any, gid: str) -> list[Any]:
    return [a for a in fig.findobj(kind) if a.get_gid() == gid]


def _render_all(fig: Figure, tmp_path: Any, name: str, *, images: bool = False) -> None:
    """PNG, PDF and SVG all render and are not empty; unless the figure draws matrices as
    images (``images``), the SVG holds no raster image: the figure stays vector graphics."""
    for ext in ("png", "pdf", "svg"):
        path = tmp_path / f"{name}.{ext}"
        fig.savefig(path, dpi=60)
        assert path.stat().st_size > 1000
    assert ("<image" in (tmp_path / f"{name}.svg").read_text()) == images


@pytest.fixture
def by_gid() -> Callable[[Figure, Any, str], list[Any]]:
    return _by_gid


@pytest.fixture
def render_all() -> Callable[..., None]:
    return _render_all
