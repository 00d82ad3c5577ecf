"""Independent references for the exact loss of theory.landscape (used by its tests and bench).

* ``quad_pattern``: nested adaptive quadrature (scipy.integrate.quad) of the definition
  (x_i − ReLU(b_i + Σ_j G_ij x_j))² over the unit cube of one activity pattern, with the integrand's
  kinks (where the ReLU's hyperplane meets a vertex of the remaining sub-cube) as breakpoints.
* ``qmc_pattern``: randomised quasi-Monte Carlo (scrambled and randomly shifted Sobol,
  scipy.stats.qmc) of the same, mean and standard error over independent replicates.
* ``naive_pattern``: the textbook alternating sum over the cube's vertices in float64 (the formula
  whose cancellation theory.landscape avoids), to show the error it makes.
None of them shares code with theory.landscape. ``models`` is the hypothesis strategy the tests
draw models from. Test modules load this file by path (the tests directory is not a package).
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from itertools import product
from pathlib import Path
from types import ModuleType

import numpy as np
from hypothesis import strategies as st
from scipy import integrate
from scipy.stats import qmc


def load(path: str | Path) -> ModuleType:
    """Import a module from a file path (how test modules import this one)."""
    spec = importlib.util.spec_from_file_location(Path(path).stem + "_refs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@st.composite
def models(draw, n_min: int = 3, n_max: int = 6, m_max: int = 4):
    """(W (m, n), b (n,), density (n,), importance (n,)) with awkward cases mixed in.

    Weights in [−2, 2] with exact zeros, tiny couplings (|w| down to 1e-12) and sign flips;
    biases in [−1.5, 1.5] (some exactly 0); densities in [1e-3, 1]; importances in [0, 3].
    """
    n = draw(st.integers(n_min, n_max))
    m = draw(st.integers(1, min(m_max, n)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["dense", "sparse", "near_orthogonal"]))
    w = rng.uniform(-2, 2, (m, n))
    if kind == "sparse":
        w[rng.random((m, n)) < 0.4] = 0.0
    elif kind == "near_orthogonal":
        w = np.zeros((m, n))
        w[np.arange(n) % m, np.arange(n)] = rng.choice([-1, 1], n) * rng.uniform(0.4, 1.3, n)
        w += 10.0 ** rng.uniform(-12, -3) * rng.standard_normal((m, n))
    b = rng.uniform(-1.5, 1.5, n)
    b[rng.random(n) < 0.2] = 0.0
    density = 10.0 ** rng.uniform(-3, 0, n)
    importance = rng.uniform(0, 3, n)
    return w, b, density, importance


def quad_pattern(coeffs: list[float], own: int | None, bias: float) -> float:
    """E[(x[own] − R(bias + Σ_j coeffs_j x_j))²], x ~ U[0, 1]^d (0 instead of x[own] if None)."""
    d = len(coeffs)

    def level(prefix: list[float]) -> float:
        k = len(prefix)
        if k == d:
            ell = bias + sum(c * x for c, x in zip(coeffs, prefix))
            target = prefix[own] if own is not None else 0.0
            return (target - max(ell, 0.0)) ** 2
        partial = bias + sum(c * x for c, x in zip(coeffs, prefix))
        rest = coeffs[k + 1 :]
        points = set()
        if coeffs[k] != 0:
            for bits in product((0, 1), repeat=len(rest)):
                t = -(partial + sum(c for c, on in zip(rest, bits) if on)) / coeffs[k]
                if 0 < t < 1:
                    points.add(t)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            return integrate.quad(
                lambda x: level([*prefix, x]),
                0.0,
                1.0,
                points=sorted(points) or None,
                epsabs=1e-16,
                epsrel=1e-13,
                limit=200,
            )[0]

    return level([])


def qmc_pattern(
    coeffs: list[float], own: int | None, bias: float, *, log2_points: int, reps: int, seed: int
) -> tuple[float, float]:
    """Scrambled-Sobol estimate of ``quad_pattern``'s integral: (mean, standard error)."""
    d = len(coeffs)
    c = np.asarray(coeffs, dtype=np.float64)
    estimates = []
    shifts = np.random.default_rng(seed).random((reps, d))
    for rep in range(reps):
        # Scrambled Sobol plus an independent random shift modulo 1 (Cranley–Patterson): every
        # replicate is then an unbiased estimate with its own randomisation, so the spread of the
        # replicates measures the error (scrambling alone leaves a common bias on polynomial
        # integrands, well below but not within its replicates' spread).
        x = (
            qmc.Sobol(d, scramble=True, seed=seed + rep).random_base2(log2_points) + shifts[rep]
        ) % 1.0
        out = np.maximum(bias + x @ c, 0.0)
        target = x[:, own] if own is not None else 0.0
        estimates.append(float(np.mean((target - out) ** 2)))
    est = np.asarray(estimates)
    return float(est.mean()), float(est.std(ddof=1) / math.sqrt(reps))


def naive_pattern(coeffs: list[float], own: int | None, bias: float) -> float:
    """The same integral by the plain vertex formulas in float64 (cancels for small coefficients).

    E[R(ℓ)²] = 2/(d+2)! Σ_v (−1)^{d−|v|} R(b + c·v)^{d+2} / Π c_j and
    E[x_i R(ℓ)] = ∂/∂c_i E[R(ℓ)²] / 2, differentiated term by term. Zero coefficients are dropped.
    """
    keep = [j for j, cj in enumerate(coeffs) if cj != 0]
    c = [coeffs[j] for j in keep]
    d = len(c)
    prod = math.prod(c) if c else 1.0
    sq = 0.0
    first = 0.0
    for bits in product((0, 1), repeat=d):
        s = bias + sum(cj for cj, on in zip(c, bits) if on)
        sign = (-1) ** (d - sum(bits))
        rp = max(s, 0.0)
        sq += sign * rp ** (d + 2)
        if own is not None and own in keep:
            pos = keep.index(own)
            # ∂/∂c_pos [R(s)^{d+2} / Π c] = (d+2) bit R^{d+1}/Π c − R^{d+2}/(Π c · c_pos)
            first += sign * ((d + 2) * bits[pos] * rp ** (d + 1) - rp ** (d + 2) / c[pos])
    sq *= 2.0 / math.factorial(d + 2) / prod
    if own is None:
        return sq
    if own not in keep:  # x_own does not enter ℓ: E[x R] = E[R]/2
        mean_r = 0.0
        for bits in product((0, 1), repeat=d):
            s = bias + sum(cj for cj, on in zip(c, bits) if on)
            mean_r += (-1) ** (d - sum(bits)) * max(s, 0.0) ** (d + 1)
        cross = 0.5 * mean_r / math.factorial(d + 1) / prod
    else:
        cross = 0.5 * 2.0 / math.factorial(d + 2) / prod * first
    return 1.0 / 3.0 - 2.0 * cross + sq
