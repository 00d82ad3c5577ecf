"""verify.plots: figures are built from the data given, render to PNG/PDF/SVG, reject bad shapes."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PatchCollection, PathCollection, QuadMesh
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from toysup.metrics import (
    N2M1_LABELS,
    N3M2_LABELS,
    dimensionality,
    dimensions_per_feature,
    feature_norms,
    interference,
)
from verify.plots import (
    OKABE_ITO,
    STICKY_FRACTIONS,
    dimensionality_figure,
    encode_labels,
    label_colours,
    phase_diagram,
    weights_figure,
)

R = np.geomspace(0.1, 10, 7)
P = np.geomspace(0.01, 1, 5)


def _maps(seed: int = 0, labels=N2M1_LABELS):
    rng = np.random.default_rng(seed)
    theory = np.array(labels)[rng.integers(0, len(labels), (P.size, R.size))]
    empirical = theory.copy()
    flip = rng.random(theory.shape) < 0.3
    empirical[flip] = np.array(labels)[rng.integers(0, len(labels), int(flip.sum()))]
    return theory, empirical


def _by_gid(fig: Figure, kind, gid: str):
    return [a for a in fig.findobj(kind) if a.get_gid() == gid]


def _render_all(fig: Figure, tmp_path, name: str) -> None:
    for ext in ("png", "pdf", "svg"):
        path = tmp_path / f"{name}.{ext}"
        fig.savefig(path, dpi=60)
        assert path.stat().st_size > 1000


# ----------------------------------------------------------------------------- phase diagram


def test_phase_diagram_uses_the_data(tmp_path):
    exact, empirical = _maps()
    candidate = exact.copy()
    candidate[0, :3] = "confused" if exact[0, 0] != "confused" else "none"
    curve = (np.geomspace(0.1, 10, 50), np.full(50, 0.3))
    fig = phase_diagram(
        R, P, empirical, exact=exact, candidate=candidate, candidate_curve=curve, title="t"
    )
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert len(axes) == 2
    (theory_mesh,) = _by_gid(fig, QuadMesh, "phase-map-theory")
    (emp_mesh,) = _by_gid(fig, QuadMesh, "phase-map-empirical")
    np.testing.assert_array_equal(
        np.asarray(theory_mesh.get_array()).reshape(P.size, R.size),
        encode_labels(exact, N2M1_LABELS),
    )
    np.testing.assert_array_equal(
        np.asarray(emp_mesh.get_array()).reshape(P.size, R.size),
        encode_labels(empirical, N2M1_LABELS),
    )
    (marks,) = _by_gid(fig, PathCollection, "disagreements")
    differ = empirical != exact
    assert len(marks.get_offsets()) == differ.sum() > 0
    rows, cols = np.nonzero(differ)
    np.testing.assert_allclose(np.asarray(marks.get_offsets()), np.c_[R[cols], P[rows]])
    (hatch,) = _by_gid(fig, PatchCollection, "hatch")
    assert len(hatch.get_paths()) == (candidate != exact).sum()
    curves = [line for ax in axes for line in ax.get_lines() if line.get_gid() == "candidate-curve"]
    assert len(curves) == 2
    np.testing.assert_allclose(curves[0].get_xdata(), curve[0])
    for ax in axes:
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    legend_text = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [t.replace(" ", "_") for t in legend_text[: len(N2M1_LABELS)]] == list(N2M1_LABELS)
    assert "differs from theory" in legend_text
    _render_all(fig, tmp_path, "phase")


def test_cell_edges_are_geometric_midpoints():
    _, empirical = _maps()
    fig = phase_diagram(R, P, empirical)
    (mesh,) = _by_gid(fig, QuadMesh, "phase-map-empirical")
    coords = mesh.get_coordinates()  # (P + 1, R + 1, 2)
    x_edges, y_edges = coords[0, :, 0], coords[:, 0, 1]
    np.testing.assert_allclose(x_edges[1:-1], np.sqrt(R[:-1] * R[1:]))
    np.testing.assert_allclose(y_edges[1:-1], np.sqrt(P[:-1] * P[1:]))
    np.testing.assert_allclose(x_edges[0] * x_edges[1], R[0] ** 2)  # centred on a log axis


def test_phase_diagram_candidate_only_and_empirical_only(tmp_path):
    candidate, empirical = _maps(1, N3M2_LABELS)
    fig = phase_diagram(R, P, empirical, candidate=candidate, labels=N3M2_LABELS)
    (marks,) = _by_gid(fig, PathCollection, "disagreements")
    assert len(marks.get_offsets()) == (candidate != empirical).sum()
    assert "paper's candidates" in fig.get_axes()[0].get_title()
    assert not _by_gid(fig, PatchCollection, "hatch")
    single = phase_diagram(R, P, empirical, labels=N3M2_LABELS)
    assert len(single.get_axes()) == 1
    assert not _by_gid(single, PathCollection, "disagreements")
    _render_all(single, tmp_path, "single")


def test_agreeing_maps_have_no_marks():
    theory, _ = _maps()
    fig = phase_diagram(R, P, theory, exact=theory)
    (marks,) = _by_gid(fig, PathCollection, "disagreements")
    assert len(marks.get_offsets()) == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"empirical": np.full((7, 5), "none")}, r"empirical must have shape \(5, 7\)"),
        ({"exact": np.full((5, 6), "none")}, r"exact must have shape \(5, 7\)"),
        ({"candidate": np.full((5,), "none")}, r"candidate must have shape \(5, 7\)"),
        ({"importance": R[::-1]}, "importance must be strictly increasing"),
        ({"density": np.r_[0.0, P[1:]]}, r"density must be finite and > 0"),
        ({"importance": np.ones((2, 2))}, "importance must be a non-empty 1-D array"),
        ({"empirical": np.full((5, 7), "bogus")}, r"labels \['bogus'\] are not among"),
        ({"candidate_curve": (np.ones(3), np.ones(4))}, r"shapes \(3,\) and \(4,\)"),
        ({"labels": ("a", "a")}, "labels must be distinct"),
    ],
)
def test_phase_diagram_rejects_bad_input(kwargs, match):
    args = {"importance": R, "density": P, "empirical": np.full((5, 7), "none")}
    args.update(kwargs)
    importance, density, empirical = (
        args.pop("importance"),
        args.pop("density"),
        args.pop("empirical"),
    )
    with pytest.raises(ValueError, match=match):
        phase_diagram(importance, density, empirical, **args)


def test_non_string_labels_are_a_type_error():
    with pytest.raises(TypeError, match="array of label strings"):
        phase_diagram(R, P, np.zeros((5, 7)))


def test_label_colours_are_okabe_ito():
    colours = label_colours(N2M1_LABELS)
    assert colours["none"] == "#999999"
    assert set(colours.values()) <= set(OKABE_ITO)
    assert len(set(colours.values())) == len(N2M1_LABELS)
    with pytest.raises(ValueError, match="at most 8 labels"):
        label_colours([str(i) for i in range(9)])


# ----------------------------------------------------------------------------- weights


def test_weights_figure_uses_the_data(tmp_path):
    rng = np.random.default_rng(2)
    W = rng.normal(size=(3, 2, 5))
    b = rng.normal(size=(3, 5))
    fig = weights_figure(
        W, b, importance=0.7 ** np.arange(5), title="w", column_titles=["a", "b", "c"]
    )
    for c in range(3):
        (image,) = _by_gid(fig, AxesImage, f"gram-{c}")
        np.testing.assert_allclose(image.get_array(), W[c].T @ W[c])
        lo, hi = image.get_clim()
        assert lo == -hi  # symmetric diverging scale
        assert image.get_cmap().name == "RdBu_r"
        (strip,) = _by_gid(fig, AxesImage, f"bias-{c}")
        np.testing.assert_allclose(np.ravel(strip.get_array()), b[c])
        bars = [p for p in fig.findobj() if getattr(p, "get_gid", lambda: None)() == f"norms-{c}"]
        np.testing.assert_allclose([bar.get_height() for bar in bars], feature_norms(W[c]))
        # Bars are coloured by interference: more interference, different colour; equal, equal.
        colours = np.array([bar.get_facecolor() for bar in bars])
        order = np.argsort(interference(W[c]))
        assert not np.allclose(colours[order[0]], colours[order[-1]])
    assert [t.get_text() for t in fig.findobj() if hasattr(t, "get_text")].count("b") >= 1
    _render_all(fig, tmp_path, "weights")


def test_weights_figure_single_instance_and_dedicated_features(tmp_path):
    W = np.eye(3)[:2]  # two dedicated features, one dropped: zero interference
    fig = weights_figure(W)
    bars = [p for p in fig.findobj() if getattr(p, "get_gid", lambda: None)() == "norms-0"]
    np.testing.assert_allclose([bar.get_height() for bar in bars], [1, 1, 0])
    assert len({tuple(bar.get_facecolor()) for bar in bars}) == 1
    assert fig.get_figwidth() == pytest.approx(3.3)
    _render_all(fig, tmp_path, "weights1")


@pytest.mark.parametrize(
    ("W", "kwargs", "match"),
    [
        (np.ones(3), {}, r"W must have shape \(instances, m, n\) or \(m, n\), got shape \(3,\)"),
        (np.ones((2, 1, 3)), {"b": np.ones((2, 4))}, r"b must have shape .* got shape \(2, 4\)"),
        (np.ones((2, 1, 3)), {"importance": np.ones(2)}, r"importance must have shape"),
        (np.ones((2, 1, 3)), {"column_titles": ["x"]}, "one entry per instance"),
        (np.full((1, 3), np.nan), {}, "W must be finite"),
    ],
)
def test_weights_figure_rejects_bad_input(W, kwargs, match):
    with pytest.raises(ValueError, match=match):
        weights_figure(W, **kwargs)


# ----------------------------------------------------------------------------- dimensionality


def test_dimensionality_figure_uses_the_data(tmp_path):
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
    (dots,) = _by_gid(fig, PathCollection, "feature-dimensionality")
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
    _render_all(fig, tmp_path, "dim")


def test_dimensionality_figure_rejects_bad_input():
    with pytest.raises(ValueError, match=r"one instance per density: density has shape \(2,\)"):
        dimensionality_figure([0.1, 0.2], np.ones((3, 1, 2)))
    with pytest.raises(ValueError, match=r"density must lie in \(0, 1\]"):
        dimensionality_figure([0.1, 1.5], np.ones((2, 1, 2)))
    with pytest.raises(ValueError, match="non-empty 1-D"):
        dimensionality_figure(np.ones((2, 1)), np.ones((2, 1, 2)))
