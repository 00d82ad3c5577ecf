"""verify: theory against trained toy models — the main CLI, comparisons, statistics, plots.

- ``python -m verify.phase_boundary``: the phase diagram, theory against training
  (:mod:`verify.phase_boundary`; the computation alone: :func:`verify.diagram.run_diagram`).
- ``python -m verify.compressed_sensing``: the toy model as a decoder beside convex recovery and
  the Donoho–Tanner transition (:mod:`verify.compressed_sensing`, docs/compressed_sensing.md).
- ``python -m verify.sae_recovery``: sparse autoencoders on toy-model activations scored against
  the true features, beside the decodability test and a no-superposition control
  (:mod:`verify.sae_recovery`, :func:`verify.sae.recovery`, docs/sae.md).
- ``python -m verify.control``: the phase diagram under an L1 penalty on the hidden activation
  and with other output activations, trained against the exact penalised landscape, and the
  price of removing superposition at n = 20 (:mod:`verify.control`,
  :func:`verify.control_job.compute`, docs/control.md).
- :mod:`verify.compare`: agreement and Cohen's κ between phase maps, boundary extraction, seeds
  ranked by their exact loss.
- :mod:`verify.kgon`: trained n = k, m = 2 models against the regular k-gons (docs/kgon.md §4).
- :mod:`verify.stats`: statistical tests for superposition.
- :mod:`verify.plots`: figures (matplotlib Figures).
- :mod:`verify.strategies`: hypothesis strategies for property tests (needs ``hypothesis``).
- ``pytest --pyargs verify.properties``: the property suite (docs/property_suite.md).

Submodules are imported on use, so ``import verify`` stays light; the main public names are
available here too (``verify.superposition_test``, ``verify.run_diagram``, ...), loaded lazily.
"""

from importlib import import_module as _import_module
from importlib import metadata as _metadata
from typing import Any

from verify._interrupts import install_if_job_process as _install_if_job_process

_install_if_job_process()  # only in `python -m verify.<job>`: Ctrl-C while starting, one line

try:
    __version__ = _metadata.version("toysup")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

_LAZY = {
    "superposition_test": "verify.stats",
    "represented_count_test": "verify.stats",
    "decodability_test": "verify.stats",
    "DiagramSettings": "verify.diagram",
    "run_diagram": "verify.diagram",
    "agreement": "verify.compare",
    "cohen_kappa": "verify.compare",
    "boundary_from_labels": "verify.compare",
    "exact_seed_loss": "verify.compare",
    "KGonSettings": "verify.kgon",
    "run_kgon": "verify.kgon",
    "recovery": "verify.sae",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(_import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'verify' has no attribute {name!r}")
