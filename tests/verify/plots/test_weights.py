"""verify.plots.weights: WᵀW, biases and norms drawn from the data given; bad shapes rejected."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import AxesImage

from toysup.metrics import feature_norms, interference
from verify.plots import weights_figure


def test_weights_figure_uses_the_data(tmp_path, by_gid, render_all):
    rng = np.random.default_rng(2)
    W = rng.normal(size=(3, 2, 5))
    b = rng.normal(size=(3, 5))
    fig = weights_figure(
        W, b, importance=0.7 ** np.arange(5), title="w", column_titles=["a", "b", "c"]
    )
    for c in range(3):
        (image,) = by_gid(fig, AxesImage, f"gram-{c}")
        np.testing.assert_allclose(image.get_array(), W[c].T @ W[c])
        lo, hi = image.get_clim()
        assert lo == -hi  # symmetric diverging scale
        assert image.get_cmap().name == "RdBu_r"
        (strip,) = by_gid(fig, AxesImage, f"bias-{c}")
        np.testing.assert_allclose(np.ravel(strip.get_array()), b[c])
        bars = [p for p in fig.findobj() if getattr(p, "get_gid", lambda: None)() == f"norms-{c}"]
        np.testing.assert_allclose([bar.get_height() for bar in bars], feature_norms(W[c]))
        # Bars are coloured by interference: more interference, different colour.
        colours = np.array([bar.get_facecolor() for bar in bars])
        order = np.argsort(interference(W[c]))
        assert not np.allclose(colours[order[0]], colours[order[-1]])
        dots = [
            line for line in fig.findobj() if getattr(line, "get_gid", lambda: None)() == f"imp-{c}"
        ]
        np.testing.assert_allclose(dots[0].get_ydata(), 0.7 ** np.arange(5))  # scaled to max 1
    assert [t.get_text() for t in fig.findobj() if hasattr(t, "get_text")].count("a") == 1
    render_all(fig, tmp_path, "weights", images=True)


def test_weights_figure_single_instance_and_dedicated_features():
    W = np.eye(3)[:2]  # two dedicated features, one dropped: zero interference
    fig = weights_figure(W)
    bars = [p for p in fig.findobj() if getattr(p, "get_gid", lambda: None)() == "norms-0"]
    np.testing.assert_allclose([bar.get_height() for bar in bars], [1, 1, 0])
    assert len({tuple(bar.get_facecolor()) for bar in bars}) == 1
    assert fig.get_figwidth() == pytest.approx(3.3)
    assert weights_figure(W, size="page").get_figwidth() == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("W", "kwargs", "match"),
    [
        (np.ones(3), {}, r"W must have shape \(instances, m, n\) or \(m, n\), got shape \(3,\)"),
        (np.ones((2, 1, 3)), {"b": np.ones((2, 4))}, r"b must have shape .* got shape \(2, 4\)"),
        (np.ones((2, 1, 3)), {"importance": np.ones(2)}, r"importance must have shape"),
        (np.ones((2, 1, 3)), {"column_titles": ["x"]}, "one entry per instance"),
        (np.full((1, 3), np.nan), {}, r"W must be finite; entry \(0, 0, 0\) is nan"),
        (np.ones((1, 3)), {"size": "huge"}, "size must be one of"),
    ],
)
def test_weights_figure_rejects_bad_input(W, kwargs, match):
    with pytest.raises(ValueError, match=match):
        weights_figure(W, **kwargs)


def test_weights_must_be_numbers():
    with pytest.raises(TypeError, match="W must be numbers, got a bool array"):
        weights_figure(np.ones((2, 3), dtype=bool))
