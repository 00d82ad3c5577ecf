"""verify.plots.neurons: the privileged-basis neuron weight stacks draw W row by row, positive
weights up and negative down, coloured by feature; the top-feature share is computed right."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_hex

from verify.plots import feature_colours, neuron_top_fraction, neuron_weight_stacks

# Neuron 0: one positive feature and a large inhibitory weight; neuron 1: two equal features;
# neuron 2: silent (no positive weight); neuron 3: all features, mixed signs.
W = np.array(
    [
        [3.0, -4.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 1.0],
        [-1.0, 0.0, 0.0, -2.0],
        [0.5, 2.0, -1.0, 1.0],
    ]
)


def _segments(fig, c: int, i: int):
    return [p for p in fig.findobj() if getattr(p, "get_gid", lambda: None)() == f"stack-{c}-{i}"]


def test_top_fraction_by_hand():
    """Positive part: neuron 0 has all its positive weight on feature 0 (1.0), neuron 1 half on
    each of two (0.5), neuron 2 none (NaN), neuron 3: 2² / (0.5² + 2² + 1²) = 4/5.25. Signed:
    neuron 0: 4² / (3² + 4²) = 0.64, neuron 2: 2² / (1 + 2²) = 0.8."""
    np.testing.assert_allclose(
        neuron_top_fraction(W), [1.0, 0.5, np.nan, 4 / 5.25], rtol=1e-12, equal_nan=True
    )
    np.testing.assert_allclose(
        neuron_top_fraction(W, positive=False), [0.64, 0.5, 0.8, 4 / 6.25], rtol=1e-12
    )
    batched = neuron_top_fraction(np.stack([W, 2 * W]))  # scale-free, works per instance
    np.testing.assert_allclose(batched[1], batched[0], equal_nan=True)


def test_stacks_draw_every_weight_in_feature_order(tmp_path, render_all):
    fig = neuron_weight_stacks(W, sort=False)
    colours = feature_colours(4)
    up = np.zeros(4)
    down = np.zeros(4)
    for i in range(4):
        bars = _segments(fig, 0, i)
        drawn = {round(b.get_x() + b.get_width() / 2): b for b in bars}
        assert set(drawn) == set(np.flatnonzero(W[:, i]))  # zero weights draw nothing
        for j, bar in drawn.items():
            assert bar.get_height() == pytest.approx(W[j, i])
            base = up[j] if W[j, i] > 0 else down[j]
            assert bar.get_y() == pytest.approx(base)  # stacked on the features before it
            assert to_hex(bar.get_facecolor()) == colours[i]
        up += np.maximum(W[:, i], 0)
        down += np.minimum(W[:, i], 0)
    texts = [
        t.get_text() for t in fig.findobj() if getattr(t, "get_gid", lambda: None)() == "fraction-0"
    ]
    assert texts == ["1.00", "0.50", "–", "0.76"]
    assert fig.get_figwidth() == pytest.approx(3.3)
    render_all(fig, tmp_path, "neurons")


def test_sorting_lines_neurons_up_by_their_top_feature():
    """Neurons sorted by the feature of their largest weight, ties by that weight (largest
    first): neuron 0 (feature 0), neurons 3 (feature 1, weight 2) and 2 (feature 1, weight 0),
    neuron 1 (feature 2). Tick labels keep the neuron indices."""
    fig = neuron_weight_stacks(W)
    order = [int(t.get_text()) for t in fig.get_axes()[0].get_xticklabels()]
    assert order == [0, 3, 2, 1]
    texts = [
        t.get_text() for t in fig.findobj() if getattr(t, "get_gid", lambda: None)() == "fraction-0"
    ]
    assert texts == ["1.00", "0.76", "–", "0.50"]  # the fractions follow their neurons


def test_given_monosemanticity_and_several_instances():
    Ws = np.stack([W, -W, 0.5 * W])
    given = np.array([[0.1, 0.2, np.nan, 1.0]] * 3)
    fig = neuron_weight_stacks(Ws, monosemanticity=given, sort=False, column_titles=["a", "b", "c"])
    assert fig.get_figwidth() == pytest.approx(7.0)
    for c in range(3):
        texts = [
            t.get_text()
            for t in fig.findobj()
            if getattr(t, "get_gid", lambda: None)() == f"fraction-{c}"
        ]
        assert texts == ["0.10", "0.20", "–", "1.00"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"monosemanticity": [1.5, 0, 0, 0]}, ValueError, r"monosemanticity must lie in \[0, 1\]"),
        ({"monosemanticity": [0.5, 0.5]}, ValueError, r"monosemanticity must have shape"),
        ({"column_titles": ["a", "b"]}, ValueError, "one entry per instance"),
        ({"sort": "yes"}, TypeError, "sort must be a bool"),
        ({"positive": 1}, TypeError, "positive must be a bool"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        neuron_weight_stacks(W, **kwargs)
