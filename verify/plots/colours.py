"""Colours: the Okabe–Ito palette, fixed colours for phase labels, feature colours, and a check
that a set of colours stays distinguishable under colour-vision deficiencies.

- Categorical data (series, phase labels) use the Okabe–Ito palette (Okabe & Ito 2008, "Color
  Universal Design"), in the order :data:`CATEGORICAL`.
- Phase labels have fixed colours (:data:`LABEL_COLOURS`): a label keeps its colour whatever
  subset of labels a figure shows. The two label sets of toysup (n=2, m=1:
  ``theory.n2m1.PHASES``; n=3, m=2: ``theory.n3m2.PHASES``) were coloured so that every pair
  of labels within a set is at least 24 CIELAB units apart for normal vision and for simulated
  protanopia, deuteranopia and tritanopia (:func:`min_colour_distance`).
- Features (ordered by importance) use the sequential ``viridis`` map (:func:`feature_colours`);
  signed matrices ``RdBu_r`` on a symmetric scale; both are colour-blind safe.

Colour-vision deficiencies are simulated with the full-severity matrices of Machado, Oliveira &
Fernandes (2009), "A physiologically-based model for simulation of color vision deficiency", IEEE
TVCG 15(6), applied to linear sRGB; distances are CIE 1976 ΔE*ab in CIELAB (D65).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_hex, to_rgb
from numpy.typing import NDArray

__all__ = [
    "CATCH_ALL",
    "CATEGORICAL",
    "LABEL_COLOURS",
    "OKABE_ITO",
    "VISIONS",
    "colour_distance",
    "feature_colours",
    "label_colours",
    "min_colour_distance",
    "simulate_vision",
]

BLUE, ORANGE, GREEN, PURPLE = "#0072B2", "#E69F00", "#009E73", "#CC79A7"
SKY, VERMILLION, YELLOW, GREY = "#56B4E9", "#D55E00", "#F0E442", "#999999"
#: Paul Tol's "wine" (P. Tol, "Colour Schemes", SRON/EPS/TN/09-002, 2021, muted scheme): the one
#: colour outside Okabe–Ito, for the sixth n=3, m=2 label; it keeps that set 24 ΔE apart.
WINE = "#882255"

#: Okabe–Ito colours (grey in place of their black, which is kept for markers and reference
#: lines). Kept in this order for compatibility; figures use :data:`CATEGORICAL`.
OKABE_ITO = (BLUE, ORANGE, GREEN, PURPLE, GREY, SKY, VERMILLION, YELLOW)

#: The order in which categorical series take colours, most distinct first: under every
#: simulated deficiency the first four stay at least 20 ΔE apart, the first seven at least 16
#: (grey, last, is close to reddish purple for deuteranopes).
CATEGORICAL = (BLUE, VERMILLION, SKY, PURPLE, ORANGE, GREEN, YELLOW, GREY)

#: Colour of the catch-all labels ("none", "other": weights that fit no named phase).
CATCH_ALL = GREY

#: Fixed colours of toysup's phase labels (n=2, m=1 and n=3, m=2). Labels of the two sets never
#: share a figure; the analogous labels share a colour (superposition of the extra feature:
#: vermillion; the fourth label: sky blue; catch-all: grey).
LABEL_COLOURS: Mapping[str, str] = {
    "not_represented": YELLOW,
    "dedicated": BLUE,
    "superposition": VERMILLION,
    "confused": SKY,
    "none": CATCH_ALL,
    "superposition_extra": VERMILLION,
    "superposition_pair": SKY,
    "superposition_other": WINE,
    "other": CATCH_ALL,
}

#: Palette for labels not in :data:`LABEL_COLOURS`, in the order they are handed out.
_EXTRA = (BLUE, VERMILLION, SKY, YELLOW, PURPLE, ORANGE, GREEN, GREY)


def label_colours(labels: Sequence[str]) -> dict[str, str]:
    """Colour of each label (hex strings).

    Labels in :data:`LABEL_COLOURS` always get their fixed colour, whatever subset is passed.
    Any other label takes the first colour of the Okabe–Ito palette (blue, vermillion, sky blue,
    yellow, reddish purple, orange, bluish green, grey) not already taken, in the order the
    labels are given: to keep colours stable across figures of your own labels, always pass the
    full list in the same order (the figures do, and show only the labels present).

    Raises:
        ValueError: labels repeated, more than 8 colours needed, or two labels of different
            known sets that share a colour (e.g. ``"superposition"`` with
            ``"superposition_extra"``).
    """
    labels = list(labels)
    if not all(isinstance(label, str) for label in labels):
        raise TypeError(f"labels must be strings, got {labels!r}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels must be distinct, got {labels}")
    colours = {label: LABEL_COLOURS[label] for label in labels if label in LABEL_COLOURS}
    by_colour: dict[str, str] = {}
    for label, colour in colours.items():
        if colour in by_colour:
            raise ValueError(
                f"labels {by_colour[colour]!r} and {label!r} come from different label sets "
                f"(n=2, m=1 and n=3, m=2) and share the colour {colour}; show one set at a time"
            )
        by_colour[colour] = label
    unknown = [label for label in labels if label not in colours]
    free = [c for c in _EXTRA if c not in by_colour]
    if len(unknown) > len(free):
        raise ValueError(
            f"at most {len(_EXTRA)} labels can be coloured distinctly, got {len(labels)}: {labels}"
        )
    colours.update(zip(unknown, free))
    return {label: colours[label] for label in labels}


def feature_colours(n: int, *, cmap: str = "viridis") -> list[str]:
    """One colour per feature, in feature (importance) order: ``cmap`` from its dark end to 90%
    (viridis' palest yellow is skipped: it vanishes on white)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer (the number of features), got {n!r}")
    positions = np.linspace(0.0, 0.9, int(n)) if n > 1 else np.zeros(1)
    return [to_hex(c) for c in colormaps[cmap](positions)]


# ----------------------------------------------------------------------------- vision checks

#: Machado et al. (2009) matrices at severity 1.0, acting on linear sRGB.
_MACHADO: Mapping[str, NDArray[np.float64]] = {
    "normal": np.eye(3),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritanopia": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}
#: The visions :func:`simulate_vision` knows.
VISIONS = tuple(_MACHADO)

_SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)  # fmt: skip
_WHITE = _SRGB_TO_XYZ.sum(axis=1)  # D65


def _linear(rgb: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _encode(linear: NDArray[np.float64]) -> NDArray[np.float64]:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def simulate_vision(colour: Any, vision: str) -> str:
    """``colour`` as seen with ``vision`` (one of :data:`VISIONS`), as a hex string."""
    matrix = _vision_matrix(vision)
    rgb = _encode(matrix @ _linear(np.asarray(to_rgb(colour))))
    return to_hex((float(rgb[0]), float(rgb[1]), float(rgb[2])))


def _vision_matrix(vision: str) -> NDArray[np.float64]:
    if not isinstance(vision, str) or vision not in _MACHADO:
        raise ValueError(f"vision must be one of {VISIONS}, got {vision!r}")
    return _MACHADO[vision]


def _lab(linear: NDArray[np.float64]) -> NDArray[np.float64]:
    xyz = (_SRGB_TO_XYZ @ np.clip(linear, 0.0, 1.0)) / _WHITE
    eps = (6 / 29) ** 3
    f = np.where(xyz > eps, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def colour_distance(a: Any, b: Any, *, vision: str = "normal") -> float:
    """CIE 1976 ΔE*ab between colours ``a`` and ``b`` as seen with ``vision`` (about 2.3 is
    just noticeable; categorical colours want 20 or more)."""
    matrix = _vision_matrix(vision)
    la = _lab(matrix @ _linear(np.asarray(to_rgb(a))))
    lb = _lab(matrix @ _linear(np.asarray(to_rgb(b))))
    return float(np.linalg.norm(la - lb))


def min_colour_distance(colours: Iterable[Any], *, visions: Sequence[str] = VISIONS) -> float:
    """The smallest :func:`colour_distance` over every pair of ``colours`` and every vision in
    ``visions`` (inf for fewer than two colours)."""
    palette = list(colours)
    return min(
        (colour_distance(a, b, vision=v) for v in visions for a, b in combinations(palette, 2)),
        default=float("inf"),
    )
