"""Sizes, fonts and the rcParams every figure of :mod:`verify.plots` is built with.

Figures are sized for a two-column paper: one column is :data:`COLUMN_WIDTH` (3.3 in), the full
page :data:`PAGE_WIDTH` (7 in). Text is set in :data:`FONT_SIZE` points (ticks and legends one
point smaller, titles one larger), readable when the figure is printed at its own width, i.e.
included with ``\\includegraphics[width=\\columnwidth]`` without scaling.

Use :func:`paper_style` around your own figures (and around ``savefig``: the PDF and PostScript
font types are read when saving) to match them::

    with paper_style():
        fig = Figure(figsize=figure_size("column", 2.4))
        ...
        fig.savefig("mine.pdf")
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl
from cycler import cycler
from matplotlib.figure import Figure, FigureBase

from verify.plots.colours import CATEGORICAL

__all__ = [
    "COLUMN_WIDTH",
    "FONT_SIZE",
    "PAGE_WIDTH",
    "PAPER_RC",
    "SIZES",
    "figure_size",
    "figure_with_footer",
    "paper_style",
    "style_axes",
    "wrap_text",
]

COLUMN_WIDTH = 3.3  # inches: one column of a two-column paper
PAGE_WIDTH = 7.0  # inches: both columns
#: Width in inches of each ``size`` option a figure function accepts.
SIZES: Mapping[str, float] = {"column": COLUMN_WIDTH, "page": PAGE_WIDTH}
FONT_SIZE = 8.0  # points: axis labels; ticks and legends FONT_SIZE - 1, titles FONT_SIZE + 1
SMALL = FONT_SIZE - 1
LARGE = FONT_SIZE + 1

#: rcParams of :func:`paper_style`: sizes in points, thin lines, TrueType (editable) text in
#: PDF/PS, the categorical palette as the colour cycle. The font family is left to the user.
PAPER_RC: Mapping[str, Any] = {
    "font.size": FONT_SIZE,
    "axes.titlesize": LARGE,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": SMALL,
    "ytick.labelsize": SMALL,
    "legend.fontsize": SMALL,
    "legend.title_fontsize": SMALL,
    "figure.titlesize": LARGE,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.0,
    "lines.markersize": 3.0,
    "patch.linewidth": 0.5,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "xtick.minor.size": 1.5,
    "ytick.minor.size": 1.5,
    "grid.linewidth": 0.4,
    "legend.frameon": False,
    "axes.prop_cycle": cycler(color=list(CATEGORICAL)),
    "image.interpolation": "nearest",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "savefig.dpi": 300,
}


@contextmanager
def paper_style(**overrides: Any) -> Iterator[Mapping[str, Any]]:
    """Apply :data:`PAPER_RC` (updated by ``overrides``, rcParams names with ``.`` written as
    ``__``: ``paper_style(font__size=9)``) for the duration of the block; yields the rcParams
    applied."""
    rc = dict(PAPER_RC)
    for key, value in overrides.items():
        name = key.replace("__", ".")
        if name not in mpl.rcParams:
            raise ValueError(f"{name!r} (from {key}=) is not a matplotlib rcParam")
        rc[name] = value
    with mpl.rc_context(rc):  # type: ignore[arg-type]
        yield rc


def figure_size(size: str, height: float) -> tuple[float, float]:
    """``(width, height)`` in inches for ``size`` ``"column"`` (3.3 in) or ``"page"`` (7 in)."""
    if not isinstance(size, str) or size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    return SIZES[size], float(height)


def style_axes(ax: Any, *, grid: bool = False) -> None:
    """Tick sizes set on the axes themselves (ticks are created when drawn, outside any
    ``rc_context``), so the figure looks the same wherever it is saved."""
    ax.tick_params(which="both", labelsize=SMALL, width=0.6)
    ax.tick_params(which="major", length=2.5)
    ax.tick_params(which="minor", length=1.5, width=0.4)
    for spine in ax.spines.values():
        spine.set_linewidth(0.6)
    if grid:
        ax.grid(alpha=0.3, lw=0.4)


def wrap_text(text: str, width: float, fontsize: float) -> str:
    """``text`` broken into lines that fit ``width`` inches at ``fontsize`` points (an average
    character is taken as 0.55 em wide); existing line breaks are kept."""
    chars = max(20, int(width * 72 / (0.55 * fontsize)))
    return "\n".join(textwrap.fill(line, chars) for line in str(text).split("\n"))


def figure_with_footer(
    width: float, height: float, footer: str | None
) -> tuple[Figure, FigureBase]:
    """A constrained-layout figure ``width`` × ``height`` in, and the (sub)figure to draw in.

    With a ``footer``, the figure grows by a strip for it (wrapped to the width, small grey
    text, gid ``"footer"``) and the drawing area is a subfigure above the strip, so the footer
    never overlaps legends placed at the bottom of the drawing area.
    """
    if footer is None:
        fig = Figure(figsize=(width, height), layout="constrained")
        return fig, fig
    if not isinstance(footer, str):
        raise TypeError(f"footer must be a string, got {footer!r}")
    text = wrap_text(footer, width, SMALL - 1)
    strip = (text.count("\n") + 1) * (SMALL - 1) * 1.3 / 72 + 0.06  # inches
    fig = Figure(figsize=(width, height + strip), layout="constrained")
    main, bottom = fig.subfigures(2, 1, height_ratios=[height, strip])  # type: ignore[misc]
    bottom.text(0.01, 0.5, text, ha="left", va="center", fontsize=SMALL - 1, color="0.35",
                gid="footer")  # fmt: skip
    return fig, main
