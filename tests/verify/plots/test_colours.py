"""verify.plots.colours: fixed label colours, the colour-vision simulation and colour distances
against independent references, and the palettes' distinguishability claims."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_hex, to_rgb

from theory.n2m1 import PHASES
from toysup.metrics import N3M2_LABELS
from verify.plots import (
    CATEGORICAL,
    LABEL_COLOURS,
    OKABE_ITO,
    colour_distance,
    feature_colours,
    label_colours,
    min_colour_distance,
    simulate_vision,
)
from verify.plots.colours import _MACHADO, BLUE, GREY, PURPLE, SKY, VERMILLION


def _srgb(linear: np.ndarray) -> str:
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return to_hex(np.clip(encoded, 0, 1))


def test_cielab_distances_match_published_values():
    """CIELAB (D65) of sRGB white, black and red are (100, 0, 0), (0, 0, 0) and
    (53.24, 80.09, 67.20) (e.g. Bruce Lindbloom's calculator); ΔE76 is their Euclidean
    distance. Tolerance 0.05: the published values are rounded to two decimals."""
    assert colour_distance("white", "black") == pytest.approx(100.0, abs=0.05)
    red_white = np.sqrt((100 - 53.24) ** 2 + 80.09**2 + 67.20**2)
    assert colour_distance("#FF0000", "white") == pytest.approx(red_white, abs=0.05)
    assert colour_distance("#FF0000", "#FF0000", vision="tritanopia") == 0.0


@pytest.mark.parametrize("vision", ["protanopia", "deuteranopia"])
def test_dichromats_confuse_colours_along_their_confusion_line(vision):
    """A dichromat's simulation matrix has rank 2: colours that differ only along its null
    direction (a confusion line, in linear RGB) look the same (ΔE < 1, 8-bit rounding), though
    they are far apart for normal vision (ΔE > 20)."""
    _, _, vt = np.linalg.svd(_MACHADO[vision])
    null = vt[-1]
    base = np.full(3, 0.4)
    t = 0.35 / np.max(np.abs(null))
    a, b = _srgb(base + t * null), _srgb(base - t * null)
    assert colour_distance(a, b) > 20
    assert colour_distance(a, b, vision=vision) < 1.0
    assert simulate_vision(a, "normal") == a


def test_label_sets_and_palettes_stay_distinguishable_under_every_vision():
    """The documented claims: each of toysup's label sets at least 24 ΔE apart pairwise for
    normal vision and simulated protanopia, deuteranopia and tritanopia; the first four
    categorical colours at least 20 apart, the first seven at least 16. The earlier choice
    (reddish purple and grey for the last two n=2, m=1 labels) fails for deuteranopes."""
    for labels in (PHASES, N3M2_LABELS):
        assert min_colour_distance(label_colours(labels).values()) >= 24
    assert min_colour_distance(CATEGORICAL[:4]) >= 20
    assert min_colour_distance(CATEGORICAL[:7]) >= 16
    assert colour_distance(PURPLE, GREY, vision="deuteranopia") < 10
    assert min_colour_distance(OKABE_ITO[:5]) < 10


def test_a_known_label_keeps_its_colour_in_any_subset():
    for labels in (PHASES, N3M2_LABELS):
        full = label_colours(labels)
        assert full == {label: LABEL_COLOURS[label] for label in labels}
        for size in range(1, len(labels)):
            subset = list(labels[len(labels) - size :])[::-1]
            assert label_colours(subset) == {label: full[label] for label in subset}


def test_unknown_labels_take_free_colours_in_the_order_given():
    """Documented rule: known labels keep their fixed colour; the others take the first free
    Okabe–Ito colour in the order they are listed (so the same list gives the same colours)."""
    colours = label_colours(["alpha", "dedicated", "beta"])
    # "dedicated" has blue, so alpha and beta take the next free colours: vermillion, sky blue
    assert colours == {"alpha": VERMILLION, "dedicated": BLUE, "beta": SKY}
    assert colours == label_colours(["alpha", "dedicated", "beta"])
    assert label_colours(["beta", "alpha"]) == {"beta": BLUE, "alpha": VERMILLION}


def test_label_colours_rejects_what_it_cannot_colour():
    with pytest.raises(ValueError, match="at most 8 labels"):
        label_colours([str(i) for i in range(9)])
    with pytest.raises(ValueError, match="'superposition' and 'superposition_extra'"):
        label_colours(["superposition", "superposition_extra"])
    with pytest.raises(ValueError, match="labels must be distinct"):
        label_colours(["a", "a"])
    with pytest.raises(TypeError, match="labels must be strings"):
        label_colours(["a", 1])
    with pytest.raises(ValueError, match="vision must be one of"):
        colour_distance("red", "blue", vision="cat")


def test_feature_colours_darken_to_lighten_in_feature_order():
    """viridis: the relative luminance (WCAG: 0.2126 R + 0.7152 G + 0.0722 B, linear sRGB)
    grows with the feature index, so feature order reads in grey scale too."""
    colours = feature_colours(6)
    assert len(colours) == 6 and len(set(colours)) == 6
    rgb = np.array([to_rgb(c) for c in colours])
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    assert np.all(np.diff(linear @ [0.2126, 0.7152, 0.0722]) > 0)
    assert feature_colours(1) == feature_colours(3)[:1]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            feature_colours(bad)
