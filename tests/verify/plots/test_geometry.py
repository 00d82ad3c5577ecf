"""verify.plots.geometry: dimensions per feature against density, and feature directions in 2-D
and 3-D, drawn from the data given; bad input rejected."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.quiver import Quiver

from toysup.metrics import dimensionality, dimensions_per_feature
from verify.plots import (
    CATEGORICAL,
    STICKY_FRACTIONS,
    dimensionality_figure,
    feature_geometry,
    feature_sets,
    project_weights,
)


def _polygon(n: int, radius: float = 1.0) -> np.ndarray:
    """(2, n) unit vectors at angles 2πi/n: the paper's regular n-gon."""
    angle = 2 * np.pi * np.arange(n) / n
    return radius * np.stack([np.cos(angle), np.sin(angle)])


# ----------------------------------------------------------------------------- dimensionality


def test_dimensionality_figure_uses_the_data(tmp_path, by_gid, render_all):
    rng = np.random.default_rng(3)
    density = np.array([1.0, 0.1, 0.3, 0.01])
    W = rng.normal(size=(4, 2, 6))
    fig = dimensionality_figure(density, W, title="d")
    (ax,) = fig.get_axes()
    assert ax.get_xscale() == "log"
    (line,) = [line for line in ax.get_lines() if line.get_gid() == "dimensions-per-feature"]
    order = np.argsort(1 / density)
    np.testing.assert_allclose(line.get_xdata(), (1 / density)[order])
    np.testing.assert_allclose(line.get_ydata(), dimensions_per_feature(W)[order])
    (dots,) = by_gid(fig, PathCollection, "feature-dimensionality")
    offsets = np.asarray(dots.get_offsets())
    assert offsets.shape == (4 * 6, 2)
    np.testing.assert_allclose(offsets[:, 1], dimensionality(W).ravel())
    sticky = [line for line in ax.get_lines() if str(line.get_gid()).startswith("sticky-")]
    assert sorted(line.get_ydata()[0] for line in sticky) == sorted(v for v, _ in STICKY_FRACTIONS)
    texts = {t.get_text() for t in ax.texts}
    assert {
        "dedicated",
        "tetrahedron",
        "triangle",
        "digon",
        "pentagon",
        "square antiprism",
    } <= texts
    assert fig.get_figwidth() == pytest.approx(3.3)
    render_all(fig, tmp_path, "dim")


def test_sticky_fractions_are_the_dimensionalities_of_their_polytopes():
    """Each sticky fraction is D_i of every feature of the configuration it is named after
    (unit vectors: dedicated = identity, digon = antipodal pair in 1-D, triangle and pentagon
    in 2-D, tetrahedron in 3-D), computed independently by toysup.metrics.dimensionality."""
    tetrahedron = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]).T / np.sqrt(3)
    configurations = {
        "dedicated": np.eye(2),
        "digon": np.array([[1.0, -1.0]]),
        "triangle": _polygon(3),
        "pentagon": _polygon(5),
        "tetrahedron": tetrahedron,
    }
    for value, name in STICKY_FRACTIONS:
        if name in configurations:
            np.testing.assert_allclose(dimensionality(configurations[name]), value, rtol=1e-12)


def test_dimensionality_figure_rejects_bad_input():
    with pytest.raises(ValueError, match=r"one instance per density: density has shape \(2,\)"):
        dimensionality_figure([0.1, 0.2], np.ones((3, 1, 2)))
    with pytest.raises(ValueError, match=r"density must lie in \(0, 1\]"):
        dimensionality_figure([0.1, 1.5], np.ones((2, 1, 2)))
    with pytest.raises(ValueError, match="non-empty 1-D"):
        dimensionality_figure(np.ones((2, 1)), np.ones((2, 1, 2)))


# ----------------------------------------------------------------------------- feature geometry


def test_pentagon_arrows_tips_and_outline(tmp_path, by_gid, render_all):
    """The paper's n=5, m=2 pentagon: one arrow per feature ending at W_i, tips labelled by
    index, and the outline joining the five tips in angular order, closed."""
    W = _polygon(5)[:, [3, 0, 4, 1, 2]]  # features not in angular order
    fig = feature_geometry(W, title="pentagon")
    (quiver,) = by_gid(fig, Quiver, "arrows-0")
    np.testing.assert_allclose(np.c_[quiver.U, quiver.V], W.T)
    (tips,) = by_gid(fig, PathCollection, "tips-0")
    np.testing.assert_allclose(tips.get_offsets(), W.T)
    (outline,) = [line for line in fig.get_axes()[0].get_lines() if line.get_gid() == "outline-0"]
    xy = np.c_[outline.get_xdata(), outline.get_ydata()]
    assert len(xy) == 6 and np.allclose(xy[0], xy[-1])  # closed
    angles = np.unwrap(np.arctan2(xy[:-1, 1], xy[:-1, 0]))
    assert np.all(np.diff(angles) > 0)  # in angular order
    np.testing.assert_allclose(np.diff(angles), 2 * np.pi / 5)
    labels = sorted(t.get_text() for t in fig.get_axes()[0].texts if t.get_gid() == "tip-label")
    assert labels == ["0", "1", "2", "3", "4"]
    ax = fig.get_axes()[0]
    assert ax.get_aspect() == 1.0 and fig.get_figwidth() == pytest.approx(3.3)
    render_all(fig, tmp_path, "pentagon")


def test_antipodal_pair_is_a_digon_and_weak_features_are_faded(by_gid):
    """Two antipodal features and one with ‖W_i‖ = 0.3 <= 0.5: the outline is the segment
    through the origin (not closed), the weak feature is left out of it and drawn faded."""
    W = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.3]])
    fig = feature_geometry(W)
    (outline,) = [line for line in fig.get_axes()[0].get_lines() if line.get_gid() == "outline-0"]
    xy = np.c_[outline.get_xdata(), outline.get_ydata()]
    np.testing.assert_allclose(xy[np.argsort(xy[:, 0])], [[-1, 0], [1, 0]])
    (quiver,) = by_gid(fig, Quiver, "arrows-0")
    alphas = quiver.get_facecolors()[:, 3]
    np.testing.assert_allclose(alphas, [1.0, 1.0, 0.35])


def test_sets_colour_features_by_set_with_a_legend(by_gid):
    """set_size=2 (consecutive sets, as FeatureConfig.set_size) and explicit sets give the same
    colours: feature i in set s has the s-th categorical colour; one legend entry per set."""
    W = _polygon(6)
    fig = feature_geometry(W, set_size=2)
    (tips,) = by_gid(fig, PathCollection, "tips-0")
    drawn = [to_hex(c) for c in tips.get_facecolors()]
    assert drawn == [CATEGORICAL[i // 2].lower() for i in range(6)]
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["set 1", "set 2", "set 3"]
    same = feature_geometry(W, sets=np.array([0, 0, 1, 1, 2, 2]))
    (tips2,) = by_gid(same, PathCollection, "tips-0")
    np.testing.assert_array_equal(tips2.get_facecolors(), tips.get_facecolors())
    np.testing.assert_array_equal(feature_sets(6, set_size=3), [0, 0, 0, 1, 1, 1])


def test_three_dimensions_and_several_instances(tmp_path, by_gid, render_all):
    """m=3: an octahedron (three antipodal pairs); tips at W_i in 3-D, one line per feature."""
    octahedron = np.concatenate([np.eye(3), -np.eye(3)], axis=1)  # (3, 6)
    W = np.stack([octahedron, 0.5 * octahedron])
    fig = feature_geometry(W, column_titles=["a", "b"])
    axes = fig.get_axes()
    assert [ax.name for ax in axes] == ["3d", "3d"]
    for c, scale in enumerate((1.0, 0.5)):
        (tips,) = by_gid(fig, PathCollection, f"tips-{c}")
        np.testing.assert_allclose(np.stack(tips._offsets3d), scale * octahedron)
        lines = [
            line for line in axes[c].get_lines() if str(line.get_gid()).startswith(f"arrow-{c}-")
        ]
        assert len(lines) == 6
    render_all(fig, tmp_path, "octahedron")


def test_projection_keeps_the_geometry_of_a_rank_two_model_and_reports_what_it_keeps():
    """W = Q V with Q (4, 2) orthonormal: the projection onto the two leading singular directions
    keeps every inner product (WᵀW) and all of ‖W‖²_F. A full-rank W keeps the share of its two
    largest eigenvalues of W Wᵀ (computed independently with eigvalsh)."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(4, 2)))
    V = _polygon(5)
    proj, kept = project_weights(Q @ V, 2)
    np.testing.assert_allclose(proj[0].T @ proj[0], V.T @ V, atol=1e-12)
    np.testing.assert_allclose(kept, [1.0], rtol=1e-12)
    W = rng.normal(size=(4, 7))
    _, kept = project_weights(W, 2)
    eig = np.linalg.eigvalsh(W @ W.T)
    np.testing.assert_allclose(kept, [eig[-2:].sum() / eig.sum()], rtol=1e-12)
    fig = feature_geometry(W, dims=2)
    assert fig.get_axes()[0].get_xlabel() == "PC 1"
    assert f"{kept[0]:.0%}" in fig.get_axes()[0].get_title()


@pytest.mark.parametrize(
    ("W", "kwargs", "match"),
    [
        (np.ones((4, 5)), {}, r"W has m = 4 hidden dimensions: pass dims=2 or dims=3"),
        (np.ones((4, 5)), {"dims": 4}, r"dims must be 2 or 3, got 4"),
        (np.ones((2, 5)), {"dims": 3}, r"dims must be at most m = 2"),
        (np.ones((2, 5)), {"set_size": 2}, r"set_size must divide the number of features n = 5"),
        (np.ones((2, 4)), {"sets": [0, 1]}, r"sets must be \(4,\) integers"),
        (np.ones((2, 4)), {"sets": [0, 0, 1, 1], "set_size": 2}, "not both"),
        (np.ones((2, 18)), {"set_size": 2}, r"at most 8 sets can be coloured distinctly"),
        (np.ones((2, 4)), {"column_titles": ["a", "b"]}, "one entry per instance"),
        (np.ones((2, 4)), {"size": "a4"}, "size must be one of"),
        (np.full((2, 4), np.inf), {}, "W must be finite"),
        (np.ones((3, 4)), {"view": 30}, r"view must be \(elevation, azimuth\) in degrees, got 30"),
    ],
)
def test_feature_geometry_rejects_bad_input(W, kwargs, match):
    with pytest.raises(ValueError, match=match):
        feature_geometry(W, **kwargs)
