"""verify.plots.style: sizes, the paper rcParams and text wrapping."""

from __future__ import annotations

import matplotlib as mpl
import pytest

from verify.plots import COLUMN_WIDTH, PAGE_WIDTH, figure_size, paper_style
from verify.plots.style import PAPER_RC, wrap_text


def test_paper_style_applies_and_restores_rcparams():
    before = mpl.rcParams["font.size"]
    with paper_style(font__size=9.5) as rc:
        assert mpl.rcParams["font.size"] == 9.5 == rc["font.size"]
        assert mpl.rcParams["pdf.fonttype"] == 42  # TrueType: text stays text in PDFs
        assert mpl.rcParams["axes.labelsize"] == PAPER_RC["axes.labelsize"]
    assert mpl.rcParams["font.size"] == before
    with pytest.raises(ValueError, match=r"'font.sizes' \(from font__sizes=\) is not"):
        with paper_style(font__sizes=3):
            pass


def test_sizes():
    assert figure_size("column", 2.0) == (COLUMN_WIDTH, 2.0) == (3.3, 2.0)
    assert figure_size("page", 1) == (PAGE_WIDTH, 1.0) == (7.0, 1.0)
    with pytest.raises(ValueError, match=r"size must be one of \['column', 'page'\], got 3"):
        figure_size(3, 1.0)


def test_wrap_text_fits_the_width_and_keeps_line_breaks():
    text = "word " * 40 + "\nsecond paragraph"
    wrapped = wrap_text(text, 3.3, 8)
    limit = int(3.3 * 72 / (0.55 * 8))
    assert all(len(line) <= limit for line in wrapped.split("\n"))
    assert wrapped.split("\n")[-1] == "second paragraph"
    assert wrapped.replace("\n", " ").split() == text.split()
