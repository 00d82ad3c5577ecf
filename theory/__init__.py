"""theory: closed forms for toy models of superposition (numpy, scipy, sympy, cvxpy; never torch).

Modules:

- :mod:`theory.n2m1`: the exact n=2, m=1 ReLU-output loss landscape (symbolic and numeric), the
  paper's candidate solutions and predicted boundary, the exact phase map and boundary.
- :mod:`theory.n3m2`: the n=3, m=2 candidates, their predicted phase map, and the exact optimum,
  phase map and boundary.
- :mod:`theory.landscape`: the exact expected loss (gradient, Hessian) of any small tied
  ReLU-output model, by a cancellation-free sum over activity patterns.
- :mod:`theory.kgon`: regular k-gons in m = 2 (uniform superposition's "energy levels").
- :mod:`theory.linear`: the optimum of the linear model for any n, m.
- :mod:`theory.bounds`: the least loss without superposition (the statistical test's null bound).
- :mod:`theory.geometry`: feature dimensionality, tight frames and uniform polytopes.
- :mod:`theory.compressed_sensing`: k log(n/k) bounds, Donoho–Tanner thresholds, convex recovery.
"""

from theory import bounds as bounds
from theory import compressed_sensing as compressed_sensing
from theory import geometry as geometry
from theory import kgon as kgon
from theory import landscape as landscape
from theory import linear as linear
from theory import n2m1 as n2m1
from theory import n3m2 as n3m2

__all__ = [
    "bounds",
    "compressed_sensing",
    "geometry",
    "kgon",
    "landscape",
    "linear",
    "n2m1",
    "n3m2",
]
