"""``python -m verify.paper_figures --out DIR [--only NAME ...] [--quick]``: the paper's toy-model
figures that the toolkit covers, each with its data file and a line in an index.

Elhage et al. (2022): the introduction's five features in two dimensions, the basic results'
sparsity sweep, feature dimensionality, the privileged basis, computation of |x| in
superposition, correlated and anticorrelated features, learning dynamics, and the phase diagrams
(n = 2, m = 1 and n = 3, m = 2). One module per figure (:mod:`~verify.paper_figures.intro`, ...),
listed in :mod:`~verify.paper_figures.registry`; the command line and files are in
:mod:`~verify.paper_figures.cli`. Guide: docs/paper_figures.md.
"""

from verify.paper_figures.cli import JOB, PaperFiguresSettings, main
from verify.paper_figures.registry import FIGURES, NAMES

__all__ = ["FIGURES", "JOB", "NAMES", "PaperFiguresSettings", "main"]
