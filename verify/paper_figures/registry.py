"""The figures ``python -m verify.paper_figures`` makes, in the order it makes them."""

from __future__ import annotations

from types import ModuleType

from verify.paper_figures import (
    absolute_value,
    correlated,
    dimensionality,
    intro,
    learning_dynamics,
    phase_diagrams,
    privileged_basis,
    sparsity_sweep,
)
from verify.paper_figures._common import FigureSpec


def _spec(module: ModuleType) -> FigureSpec:
    return FigureSpec(
        name=module.NAME,
        title=module.TITLE,
        section=module.SECTION,
        presets=module.PRESETS,
        paper=module.PAPER,
        trainings=module.trainings,
        compute=module.compute,
        draw=module.draw,
        memory=module.memory,
    )


def _phase(n: int, m: int) -> FigureSpec:
    return FigureSpec(
        name=f"phase_n{n}m{m}",
        title=f"Phase diagram of n = {n} features in m = {m}, trained against theory",
        section=phase_diagrams.SECTION,
        presets=phase_diagrams.presets(n, m),
        paper=phase_diagrams.PAPER,
        trainings=phase_diagrams.trainings,
        compute=phase_diagrams.compute,
        draw=phase_diagrams.draw,
        memory=phase_diagrams.memory,
    )


#: Every figure by name.
FIGURES: dict[str, FigureSpec] = {
    spec.name: spec
    for spec in (
        _spec(intro),
        _spec(sparsity_sweep),
        _spec(dimensionality),
        _spec(privileged_basis),
        _spec(absolute_value),
        _spec(correlated),
        _spec(learning_dynamics),
        _phase(2, 1),
        _phase(3, 2),
    )
}
NAMES = tuple(FIGURES)
