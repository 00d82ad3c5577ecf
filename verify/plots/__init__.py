"""Figures for papers: phase diagrams, weights, feature geometry, neurons, learning dynamics and
loss curves of toy models of superposition (Elhage et al. 2022).

Each function takes data (numpy arrays, or torch tensors for weights) and returns a
:class:`matplotlib.figure.Figure`; saving is the caller's job (``fig.savefig("phase.pdf")``).
Figures are built with the object API only (no pyplot state, no display needed), sized for a paper
column (3.3 in, ``size="column"``) or two columns (7 in, ``size="page"``) with text readable at
that size (:mod:`verify.plots.style`), and stay vector graphics in PDF/SVG (maps are
``pcolormesh`` quads, not images).

Colours (:mod:`verify.plots.colours`): Okabe–Ito for categories, with fixed colours for phase
labels; ``viridis`` for features in importance order and other sequential values; ``RdBu_r`` on a
symmetric scale for signed matrices — all distinguishable under the common colour-vision
deficiencies. Disagreements are marked with a black ``×`` (not colour alone), reference lines are
labelled in text.

Modules: :mod:`~verify.plots.phase` (phase diagram), :mod:`~verify.plots.weights` (WᵀW and
norms), :mod:`~verify.plots.geometry` (dimensionality, feature directions in 2-D/3-D),
:mod:`~verify.plots.neurons` (privileged-basis neuron weight stacks),
:mod:`~verify.plots.dynamics` (D_i and loss against step, energy levels),
:mod:`~verify.plots.training` (loss curves for convergence checks).
"""

from __future__ import annotations

from verify.plots.colours import (
    CATEGORICAL,
    LABEL_COLOURS,
    OKABE_ITO,
    colour_distance,
    feature_colours,
    label_colours,
    min_colour_distance,
    simulate_vision,
)
from verify.plots.dynamics import (
    SnapshotArrays,
    dimensionality_jumps,
    energy_levels,
    learning_dynamics,
    snapshot_arrays,
)
from verify.plots.geometry import (
    STICKY_FRACTIONS,
    dimensionality_figure,
    feature_geometry,
    feature_sets,
    project_weights,
)
from verify.plots.neurons import neuron_top_fraction, neuron_weight_stacks
from verify.plots.phase import encode_labels, phase_diagram, present_labels
from verify.plots.style import COLUMN_WIDTH, PAGE_WIDTH, figure_size, paper_style
from verify.plots.training import loss_curves, result_loss_curves
from verify.plots.weights import weights_figure

__all__ = [
    "CATEGORICAL",
    "COLUMN_WIDTH",
    "LABEL_COLOURS",
    "OKABE_ITO",
    "PAGE_WIDTH",
    "STICKY_FRACTIONS",
    "SnapshotArrays",
    "colour_distance",
    "dimensionality_figure",
    "dimensionality_jumps",
    "encode_labels",
    "energy_levels",
    "feature_colours",
    "feature_geometry",
    "feature_sets",
    "figure_size",
    "label_colours",
    "learning_dynamics",
    "loss_curves",
    "min_colour_distance",
    "neuron_top_fraction",
    "neuron_weight_stacks",
    "paper_style",
    "phase_diagram",
    "present_labels",
    "project_weights",
    "result_loss_curves",
    "simulate_vision",
    "snapshot_arrays",
    "weights_figure",
]
