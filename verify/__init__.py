"""verify: theory against trained toy models — the main CLI, comparisons, statistics, plots.

- ``python -m verify.phase_boundary``: the phase diagram, theory against training
  (:mod:`verify.phase_boundary`; the computation alone: :func:`verify.diagram.run_diagram`).
- ``python -m verify.compressed_sensing``: the toy model as a decoder beside convex recovery and
  the Donoho–Tanner transition (:mod:`verify.compressed_sensing`, docs/compressed_sensing.md).
- :mod:`verify.compare`: agreement and Cohen's κ between phase maps, boundary extraction.
- :mod:`verify.stats`: statistical tests for superposition.
- :mod:`verify.plots`: figures (matplotlib Figures).
- :mod:`verify.strategies`: hypothesis strategies for property tests (needs ``hypothesis``).
- ``pytest --pyargs verify.properties``: the property suite (docs/property_suite.md).

Submodules are imported on use, so ``import verify`` stays light.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("toysup")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["__version__"]
