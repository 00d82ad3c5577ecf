"""verify.cs_bridge.figure: typeset labels, the order bound clipped to a y range set by the data,
colours distinguishable under colour-vision deficiencies, legends and footer inside the figure."""

from __future__ import annotations

import re

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.mathtext import MathTextParser

from verify.compressed_sensing import BridgeSettings, run_bridge
from verify.cs_bridge.figure import SERIES, bridge_figure
from verify.plots import min_colour_distance


@pytest.fixture(scope="module")
def result():
    settings = BridgeSettings(
        n_features=12, deltas=(0.25, 0.5), densities=4, seeds=1, steps=60, batch=64, trials=40,
        lp_trials=10, gaussian_trials=6, device="cpu",
    )  # fmt: skip
    return run_bridge(settings, progress=False)


def _texts(fig) -> list[str]:
    legends = [leg for ax in fig.get_axes() for leg in [ax.get_legend()] if leg is not None]
    labels = [t.get_text() for leg in legends for t in leg.get_texts()]
    axis = [ax.get_xlabel() for ax in fig.get_axes()] + [ax.get_ylabel() for ax in fig.get_axes()]
    return labels + axis


def test_labels_are_mathtext_and_parse(result):
    """ρ_W, ‖W‖²_F, δ and ρ are typeset: every label with math parses with matplotlib's
    mathtext parser, and no underscore or caret is left outside math."""
    fig = bridge_figure(result)
    texts = _texts(fig)
    parser = MathTextParser("path")
    for text in texts:
        if "$" in text:
            parser.parse(text)  # raises ValueError on bad mathtext
        outside = re.sub(r"\$[^$]*\$", "", text)
        assert "_" not in outside and "^" not in outside, text
    joined = " ".join(texts)
    for needed in (
        r"$\rho_W$",
        r"$\|W\|_F^2",
        r"$\delta = m/n$",
        r"$\rho = k/m$",
        r"$m = k \ln(n/k)$",
    ):
        assert needed in joined


def test_order_bound_is_clipped_and_the_range_follows_the_data(result):
    """The k ln(n/k) bound diverges at p = 1: it is drawn clipped to the axes, and the y range is
    set by the data (within a factor 2.5 of the data's extremes), not by the bound."""
    fig = bridge_figure(result)
    right = fig.get_axes()[1]
    (order,) = [line for line in right.get_lines() if line.get_gid() == "bound-order"]
    assert order.get_clip_on()
    assert order.get_clip_box().bounds == pytest.approx(right.bbox.bounds)
    low, high = right.get_ylim()
    y = np.asarray(order.get_ydata())
    assert np.nanmax(y[np.isfinite(y)]) > high  # it does leave the range: clipping matters
    data = np.concatenate([(result.represented / result.m[:, None]).ravel(),
                           (result.frobenius / result.m[:, None]).ravel()])  # fmt: skip
    data = data[data > 0]
    assert high <= 2.5 * data.max() and low >= data.min() / 2.5


def test_colours_are_distinguishable_and_deltas_have_their_own_markers(result):
    assert min_colour_distance([colour for _, _, colour, _ in SERIES]) >= 20
    assert len({marker for _, _, _, marker in SERIES}) == len(SERIES)
    fig = bridge_figure(result)
    right = fig.get_axes()[1]
    lines = [line for line in right.get_lines() if str(line.get_gid()).startswith("represented-")]
    assert len(lines) == len(result.m)
    assert len({line.get_marker() for line in lines}) == len(lines)


def test_legends_and_footer_lie_inside_the_figure(result):
    fig = bridge_figure(result)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = fig.bbox
    for ax in fig.get_axes():
        legend = ax.get_legend().get_window_extent(renderer)
        assert box.x0 - 1 <= legend.x0 and legend.x1 <= box.x1 + 1
        assert legend.y1 <= ax.get_window_extent(renderer).y0  # below its panel
        assert legend.y0 >= box.y0
    (footer,) = [t for t in fig.findobj() if getattr(t, "get_gid", lambda: None)() == "footer"]
    assert "τ = 0.1" in footer.get_text() and "95% intervals" in footer.get_text()
    assert footer.get_window_extent(renderer).y1 <= min(
        ax.get_legend().get_window_extent(renderer).y0 for ax in fig.get_axes()
    )
