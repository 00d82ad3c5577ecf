"""verify.plots.phase: the phase diagram draws the maps given, a legend of the labels present in
fixed colours, fits a column or a page, and rejects bad input."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection, PathCollection, QuadMesh
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from theory.n2m1 import PHASES
from theory.n3m2 import LABELS as N3M2_CANDIDATE_LABELS
from theory.n3m2 import PHASES as N3M2_PHASES
from toysup.metrics import N2M1_LABELS, N3M2_LABELS
from verify.plots import LABEL_COLOURS, encode_labels, phase_diagram, present_labels

R = np.geomspace(0.1, 10, 7)
P = np.geomspace(0.01, 1, 5)


def _maps(seed: int = 0, labels=N2M1_LABELS):
    rng = np.random.default_rng(seed)
    theory = np.array(labels)[rng.integers(0, len(labels), (P.size, R.size))]
    empirical = theory.copy()
    flip = rng.random(theory.shape) < 0.3
    empirical[flip] = np.array(labels)[rng.integers(0, len(labels), int(flip.sum()))]
    return theory, empirical


def _legend_texts(fig: Figure) -> list[str]:
    (legend,) = [leg for sub in [fig, *fig.subfigs] for leg in sub.legends]
    return [t.get_text() for t in legend.get_texts()]


def _cell_colours(fig: Figure, by_gid, gid: str, labels_map) -> dict[str, str]:
    """Each label's drawn colour, read from the mesh's face colours."""
    (mesh,) = by_gid(fig, QuadMesh, gid)
    faces = mesh.to_rgba(np.asarray(mesh.get_array())).reshape(P.size, R.size, 4)
    out: dict[str, str] = {}
    for (i, j), label in np.ndenumerate(labels_map):
        colour = to_hex(faces[i, j])
        assert out.setdefault(str(label), colour) == colour  # one colour per label
    return out


def test_phase_diagram_uses_the_data(tmp_path, by_gid, render_all):
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
    (theory_mesh,) = by_gid(fig, QuadMesh, "phase-map-theory")
    (emp_mesh,) = by_gid(fig, QuadMesh, "phase-map-empirical")
    np.testing.assert_array_equal(
        np.asarray(theory_mesh.get_array()).reshape(P.size, R.size),
        encode_labels(exact, N2M1_LABELS),
    )
    np.testing.assert_array_equal(
        np.asarray(emp_mesh.get_array()).reshape(P.size, R.size),
        encode_labels(empirical, N2M1_LABELS),
    )
    (marks,) = by_gid(fig, PathCollection, "disagreements")
    differ = empirical != exact
    assert len(marks.get_offsets()) == differ.sum() > 0
    rows, cols = np.nonzero(differ)
    np.testing.assert_allclose(np.asarray(marks.get_offsets()), np.c_[R[cols], P[rows]])
    (hatch,) = by_gid(fig, PatchCollection, "hatch")
    assert len(hatch.get_paths()) == (candidate != exact).sum()
    curves = [line for ax in axes for line in ax.get_lines() if line.get_gid() == "candidate-curve"]
    assert len(curves) == 2
    np.testing.assert_allclose(curves[0].get_xdata(), curve[0])
    for ax in axes:
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    texts = _legend_texts(fig)
    assert "differs from theory" in texts and "candidates ≠ exact" in texts
    assert "exact boundary" not in texts
    assert fig.get_figwidth() == pytest.approx(7.0)
    render_all(fig, tmp_path, "phase")


def test_exact_curve_is_drawn_on_every_panel(by_gid):
    exact, empirical = _maps()
    curve = (R[1:4], np.array([0.2, 0.3, 0.25]))
    fig = phase_diagram(R, P, empirical, exact=exact, exact_curve=curve)
    lines = [ln for ax in fig.get_axes() for ln in ax.get_lines() if ln.get_gid() == "exact-curve"]
    assert len(lines) == 2
    for line in lines:
        np.testing.assert_allclose(line.get_xdata(), curve[0])
        np.testing.assert_allclose(line.get_ydata(), curve[1])
    assert "exact boundary" in _legend_texts(fig)


def test_cell_edges_are_geometric_midpoints(by_gid):
    _, empirical = _maps()
    fig = phase_diagram(R, P, empirical)
    (mesh,) = by_gid(fig, QuadMesh, "phase-map-empirical")
    coords = mesh.get_coordinates()  # (P + 1, R + 1, 2)
    x_edges, y_edges = coords[0, :, 0], coords[:, 0, 1]
    np.testing.assert_allclose(x_edges[1:-1], np.sqrt(R[:-1] * R[1:]))
    np.testing.assert_allclose(y_edges[1:-1], np.sqrt(P[:-1] * P[1:]))
    np.testing.assert_allclose(x_edges[0] * x_edges[1], R[0] ** 2)  # centred on a log axis


def test_legend_lists_only_the_labels_present_in_legend_order():
    empirical = np.full((P.size, R.size), "superposition", dtype="<U20")
    exact = empirical.copy()
    exact[0, 0] = "not_represented"
    fig = phase_diagram(R, P, empirical, exact=exact)
    labels = [t for t in _legend_texts(fig) if t.replace(" ", "_") in N2M1_LABELS]
    assert labels == ["not represented", "superposition"]  # N2M1 order, "none" etc. absent
    assert present_labels(N2M1_LABELS, empirical, exact) == ["not_represented", "superposition"]
    single = phase_diagram(R, P, empirical)
    assert _legend_texts(single) == ["superposition"]


def test_a_label_keeps_its_colour_whatever_subset_is_shown(by_gid):
    """The same label is drawn in the same colour in a map with every label and in maps with
    one or two of them (the colour does not depend on which labels are present)."""
    full, _ = _maps(3)
    assert set(np.unique(full)) == set(N2M1_LABELS)
    colours = _cell_colours(phase_diagram(R, P, full), by_gid, "phase-map-empirical", full)
    assert colours == {label: LABEL_COLOURS[label].lower() for label in N2M1_LABELS}
    for subset in (["superposition"], ["dedicated", "none"], ["confused", "not_represented"]):
        sub_map = np.array(subset)[np.arange(P.size * R.size).reshape(P.size, R.size) % len(subset)]
        drawn = _cell_colours(phase_diagram(R, P, sub_map), by_gid, "phase-map-empirical", sub_map)
        assert drawn == {label: colours[label] for label in subset}


def test_n3m2_labels_are_recognised_and_coloured_like_the_analogous_n2m1_labels(by_gid):
    """theory.n3m2's labels (the candidates', "superposition_other", "other") are toysup's
    n=3, m=2 labels; without ``labels`` the figure recognises them; shared labels keep the
    n=2, m=1 colours."""
    assert N3M2_PHASES == N3M2_LABELS
    assert (*N3M2_CANDIDATE_LABELS, "superposition_other", "other") == N3M2_LABELS
    assert tuple(PHASES) == N2M1_LABELS
    candidate, empirical = _maps(1, N3M2_LABELS)
    fig = phase_diagram(R, P, empirical, candidate=candidate)  # labels inferred
    colours = _cell_colours(fig, by_gid, "phase-map-empirical", empirical)
    for label in ("not_represented", "dedicated"):
        assert colours[label] == LABEL_COLOURS[label].lower()
    assert colours["superposition_extra"] == LABEL_COLOURS["superposition"].lower()
    assert colours["other"] == LABEL_COLOURS["none"].lower()


def test_phase_diagram_candidate_only_and_empirical_only(tmp_path, by_gid, render_all):
    candidate, empirical = _maps(1, N3M2_LABELS)
    fig = phase_diagram(R, P, empirical, candidate=candidate, labels=N3M2_LABELS)
    (marks,) = by_gid(fig, PathCollection, "disagreements")
    assert len(marks.get_offsets()) == (candidate != empirical).sum()
    assert "paper's candidates" in fig.get_axes()[0].get_title()
    assert not by_gid(fig, PatchCollection, "hatch")
    single = phase_diagram(R, P, empirical, labels=N3M2_LABELS)
    assert len(single.get_axes()) == 1
    assert single.get_figwidth() == pytest.approx(3.3)
    assert not by_gid(single, PathCollection, "disagreements")
    render_all(single, tmp_path, "single")


def test_agreeing_maps_have_no_marks(by_gid):
    theory, _ = _maps()
    fig = phase_diagram(R, P, theory, exact=theory)
    (marks,) = by_gid(fig, PathCollection, "disagreements")
    assert len(marks.get_offsets()) == 0


def test_column_size_stacks_the_panels_and_everything_fits():
    """size="column": 3.3 in wide, theory above trained; the wrapped title, the legend and the
    footer all lie inside the figure and do not overlap."""
    exact, empirical = _maps()
    title = "Phase diagram, n = 2 features in m = 1 dimension: theory vs trained models"
    footer = "20×20 cells, 6 seeds per cell (lowest loss kept), 2000 steps, adamw lr 0.01 cosine"
    fig = phase_diagram(R, P, empirical, exact=exact, size="column", title=title, footer=footer)
    assert fig.get_figwidth() == pytest.approx(3.3)
    top, bottom = fig.get_axes()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    assert top.get_position().y0 > bottom.get_position().y1  # stacked
    figure_box = fig.bbox
    (legend,) = [leg for sub in fig.subfigs for leg in sub.legends]
    (footer_text,) = [
        t for t in fig.findobj() if getattr(t, "get_gid", None) and t.get_gid() == "footer"
    ]
    (suptitle,) = [sub._suptitle for sub in fig.subfigs if sub._suptitle is not None]
    boxes = {
        "legend": legend.get_window_extent(renderer),
        "footer": footer_text.get_window_extent(renderer),
        "title": suptitle.get_window_extent(renderer),
        "axes": bottom.get_tightbbox(renderer),
    }
    for name, box in boxes.items():
        assert figure_box.x0 - 1 <= box.x0 and box.x1 <= figure_box.x1 + 1, name
    assert boxes["footer"].y1 <= boxes["legend"].y0  # footer below the legend
    assert boxes["legend"].y1 <= boxes["axes"].y0 + 1  # legend below the lower panel
    assert "\n" in suptitle.get_text()  # wrapped to the column


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
        ({"exact_curve": (np.ones(3), np.ones(2))}, r"exact_curve must be two 1-D arrays"),
        ({"labels": ("a", "a")}, "labels must be distinct"),
        ({"size": "poster"}, r"size must be one of \['column', 'page'\], got 'poster'"),
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


def test_non_string_labels_and_footer_are_type_errors():
    with pytest.raises(TypeError, match="array of label strings"):
        phase_diagram(R, P, np.zeros((5, 7)))
    with pytest.raises(TypeError, match="footer must be a string"):
        phase_diagram(R, P, np.full((5, 7), "none"), footer=3)
