r"""Measurement bounds m(k, n) for sparse recovery, and the features per dimension they imply.

Every bound here has the form m(k, n) = n · a(k/n) + b, with a "rate" a(ε) of the density of
non-zeros ε = k/n and an offset b. With the toy model's density p (k ≈ p n non-zeros on average,
Elhage et al. 2022, "Compressed sensing" in Related Work) the bound reads m ≥ n a(p) + b, so
for m hidden dimensions the number of features is at most (or, for sufficient conditions, at
least)

    n_max(m, p) = (m − b) / a(p),       n/m → 1 / a(p) as m → ∞.

Kinds of bound (``MeasurementBound.kind``):

- ``"order"``: the order of magnitude m = Ω(k log(n/k)) with the constant left open (default 1).
- ``"necessary"``: no decoder of the stated class can do with fewer measurements, so 1/a(p) is an
  upper bound on features per dimension for that class.
- ``"sufficient"``: with at least this many Gaussian measurements the stated decoder succeeds
  (with high probability), so 1/a(p) features per dimension are achievable by that decoder.
- ``"threshold"``: asymptotically exact (n → ∞) 50% point of ℓ1 / LP recovery with Gaussian
  matrices (Donoho–Tanner); it bounds neither the toy model nor other decoders, it locates the
  ℓ1 phase transition.

None of these is a theorem about the toy model: its decoder ReLU(Wᵀh + b) is not required to
be exact or stable, and its W is learned. The paper reads the order bound as an *upper* bound on
superposition ("compressed sensing lower bounds ... give an upper bound on the amount of
superposition"); see docs/compressed_sensing.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import lambertw

from theory._summary import Summarized, Summary
from theory._validation import _show
from theory.compressed_sensing.checks import check_half_open_unit_interval, check_positive_real
from theory.compressed_sensing.summaries import measurement_bound_summary
from theory.compressed_sensing.threshold import statistical_dimension_rate

FloatArray = NDArray[np.float64]
BoundKind = Literal["order", "necessary", "sufficient", "threshold"]


def _scalar_or_array(arr: FloatArray) -> FloatArray | float:
    return float(arr) if arr.ndim == 0 else arr


def _xlog1x(eps: FloatArray) -> FloatArray:
    """ε ln(1/ε), 0 at ε = 1."""
    return -eps * np.log(eps)


def _rate_order(eps: FloatArray) -> FloatArray:
    return _xlog1x(eps)


def _rate_any_decoder_exact(eps: FloatArray) -> FloatArray:
    return np.minimum(2.0 * eps, 1.0)


def _rate_l1_uniform_necessary(eps: FloatArray) -> FloatArray:
    # s = k/2: m >= s ln(n / (4 s)) / ln 9 = (k/2) ln(n / (2k)) / ln 9; vacuous (0) for k >= n/2.
    return np.maximum(0.5 * eps * np.log(1.0 / (2.0 * eps)) / np.log(9.0), 0.0)


def _rate_rudelson_vershynin(eps: FloatArray) -> FloatArray:
    return 12.0 * eps * (2.0 + np.log(1.0 / eps))


def _rate_chandrasekaran(eps: FloatArray) -> FloatArray:
    return 2.0 * _xlog1x(eps) + 1.25 * eps


def _rate_donoho_tanner_asymptotic(eps: FloatArray) -> FloatArray:
    # m = 2 k ln(n/m)  <=>  m / (2k) = W₀(n / (2k))  =>  a(ε) = 2 ε W₀(1 / (2ε)).
    return 2.0 * eps * np.real(lambertw(1.0 / (2.0 * eps)))


def _rate_weak_signed(eps: FloatArray) -> FloatArray:
    return np.asarray(statistical_dimension_rate(eps, signed=True), dtype=np.float64)


def _rate_weak_nonnegative(eps: FloatArray) -> FloatArray:
    return np.asarray(statistical_dimension_rate(eps, signed=False), dtype=np.float64)


def _check_k_n(k: Any, n: Any) -> tuple[FloatArray, FloatArray]:
    kk = check_positive_real("k", k, "the number of non-zeros; may be a mean such as p·n")
    nn = check_positive_real("n", n, "the number of features")
    kk, nn = np.broadcast_arrays(kk, nn)
    if np.any(kk > nn):
        raise ValueError(
            f"k must be <= n (at most n of the n features can be non-zero), got k = {_show(k)}, "
            f"n = {_show(n)}"
        )
    return kk.astype(np.float64), nn.astype(np.float64)


@dataclass(frozen=True, repr=False)
class MeasurementBound(Summarized):
    """A bound on the number of measurements m(k, n) = n · rate(k/n) + offset.

    Attributes:
        name: registry key.
        kind: "order", "necessary", "sufficient" or "threshold" (module docstring).
        formula: the bound as printed in the source, with k non-zeros and n features.
        decoder: which recovery procedure it concerns ("any", "ℓ1", "nonnegative LP", ...).
        matrix: which measurement matrices ("any", "Gaussian").
        guarantee: what "recovery" means (uniform over all k-sparse x, or for a fixed x, ...).
        source: the reference, with theorem numbers where known.
        rate: a(ε), vectorised over ε = k/n in (0, 1].
        offset: b.
    """

    name: str
    kind: BoundKind
    formula: str
    decoder: str
    matrix: str
    guarantee: str
    source: str
    rate: Callable[[FloatArray], FloatArray]
    offset: float = 0.0

    def measurements(self, k: Any, n: Any) -> FloatArray | float:
        """m(k, n) = n a(k/n) + b for k non-zeros among n features (real k allowed: k = p n).

        Returns the bound as a real number (round up for an integer count); broadcast shape.
        """
        kk, nn = _check_k_n(k, n)
        return _scalar_or_array(nn * self.rate(kk / nn) + self.offset)

    def measurements_density(self, density: Any, n: Any) -> FloatArray | float:
        """m at density p with k = p n: n a(p) + b (the paper's "m = Ω(−n p log p)" form)."""
        p = check_half_open_unit_interval("density", density, "p = 1 − S")
        nn = check_positive_real("n", n, "the number of features")
        return _scalar_or_array(nn * self.rate(p) + self.offset)

    def features_per_dimension(self, density: Any) -> FloatArray | float:
        """The large-m limit of n_max/m: 1/a(p) (inf where the bound is vacuous, a(p) = 0)."""
        p = check_half_open_unit_interval("density", density, "p = 1 − S")
        a = self.rate(p)
        with np.errstate(divide="ignore"):
            return _scalar_or_array(np.where(a > 0, 1.0 / np.where(a > 0, a, 1.0), np.inf))

    def max_features(self, m: Any, density: Any) -> FloatArray | float:
        """The largest n with n a(p) + b <= m: (m − b)/a(p) (inf where a(p) = 0).

        For a necessary bound this is an upper bound on n; for a sufficient one, the n up to
        which the guarantee holds. A real number; floor it for an integer count. If m < b the
        bound allows no n (returns a value <= 0).
        """
        mm = check_positive_real("m", m, "the number of measurements (hidden dimensions)")
        p = check_half_open_unit_interval("density", density, "p = 1 − S")
        mm, p = np.broadcast_arrays(mm, p)
        a = self.rate(p)
        with np.errstate(divide="ignore"):
            out = np.where(a > 0, (mm - self.offset) / np.where(a > 0, a, 1.0), np.inf)
        return _scalar_or_array(out)

    def _summary(self) -> Summary:
        return measurement_bound_summary(self)


_BOUND_LIST = (
    MeasurementBound(
        name="order",
        kind="order",
        formula="m = Ω(k log(n/k)); density form m = Ω(−n p log p) (constant set to 1)",
        decoder="any stable decoder (lower bound) / ℓ1 (upper bound)",
        matrix="any (lower bound) / random (upper bound)",
        guarantee="order of magnitude only",
        source=(
            "Elhage et al. 2022, Toy Models of Superposition, Related Work: Compressed sensing "
            "(refs [47-49]); Candès & Tao 2006; Donoho 2006; Baraniuk, Davenport, DeVore & "
            "Wakin, Constr. Approx. 28 (2008) (RIP for m >= c k log(n/k), c depending on the RIP "
            "constant); Ba, Indyk, Price & Woodruff, 'Lower bounds for sparse recovery', SODA 2010"
        ),
        rate=_rate_order,
    ),
    MeasurementBound(
        name="any_decoder_exact",
        kind="necessary",
        formula="m >= min(2k, n)",
        decoder="any (not necessarily efficient or stable) decoder",
        matrix="any",
        guarantee="exact recovery of every k-sparse x (uniform, noiseless)",
        source=(
            "Foucart & Rauhut 2013, A Mathematical Introduction to Compressive Sensing, "
            "Thm 2.13 (m >= 2k is also sufficient for some A and an ℓ0 decoder)"
        ),
        rate=_rate_any_decoder_exact,
    ),
    MeasurementBound(
        name="l1_uniform_necessary",
        kind="necessary",
        formula="m >= (k/2) ln(n / (2k)) / ln 9   (s = k/2: m >= s ln(n/(4s)) / ln 9)",
        decoder="ℓ1 minimisation (signed)",
        matrix="any",
        guarantee="exact ℓ1 recovery of every k-sparse x (uniform); vacuous for k >= n/2",
        source=(
            "packing argument of Foucart, Pajor, Rauhut & Ullrich, 'The Gelfand widths of "
            "ℓp-balls for 0 < p <= 1', J. Complexity 26 (2010) and Foucart & Rauhut 2013 §10.1 "
            "(Lemma 10.12: >= (n/(4s))^(s/2) s-sets with pairwise overlap < s/2); constants "
            "re-derived here (docs/compressed_sensing.md). The same order holds for any decoder "
            "with ℓ1 instance optimality (Gelfand widths: Kashin 1977, Garnaev & Gluskin 1984; "
            "Cohen, Dahmen & DeVore 2009), with constants depending on its stability constant"
        ),
        rate=_rate_l1_uniform_necessary,
    ),
    MeasurementBound(
        name="rudelson_vershynin",
        kind="sufficient",
        formula="m > 12 k (2 + ln(n/k))",
        decoder="ℓ1 minimisation (signed)",
        matrix="Gaussian",
        guarantee="exact recovery of every k-sparse x (uniform), with high probability",
        source=(
            "Rudelson & Vershynin, 'On sparse reconstruction from Fourier and Gaussian "
            "measurements', Comm. Pure Appl. Math. 61 (2008), abstract / Thm for Gaussian"
        ),
        rate=_rate_rudelson_vershynin,
    ),
    MeasurementBound(
        name="chandrasekaran",
        kind="sufficient",
        formula="m >= 2k ln(n/k) + 5k/4 + 1",
        decoder="ℓ1 minimisation (signed)",
        matrix="Gaussian",
        guarantee=(
            "exact recovery of one fixed k-sparse x, with probability >= "
            "1 − exp(−(λ_m − w)²/2), λ_m = E‖g‖ for g ~ N(0, I_m), w² = 2k ln(n/k) + 5k/4"
        ),
        source=(
            "Chandrasekaran, Recht, Parrilo & Willsky, 'The convex geometry of linear inverse "
            "problems', Found. Comput. Math. 12 (2012), Cor. 3.3 and Prop. 3.10"
        ),
        rate=_rate_chandrasekaran,
        offset=1.0,
    ),
    MeasurementBound(
        name="donoho_tanner_asymptotic",
        kind="threshold",
        formula="m ≈ 2k ln(n/m)  (= 2k W₀(n/(2k)));  ρ_W(δ) ~ 1/(2 ln(1/δ)) as δ → 0",
        decoder="ℓ1 (signed) and nonnegative LP (same leading order)",
        matrix="Gaussian",
        guarantee="typical x, n → ∞ then δ → 0 (50% point); a few % off ψ at practical δ (docs)",
        source=(
            "Donoho & Tanner, 'Counting faces of randomly projected polytopes when the "
            "projection radically lowers dimension', J. AMS 22 (2009); Donoho & Tanner, "
            "'Precise undersampling theorems', Proc. IEEE 98 (2010)"
        ),
        rate=_rate_donoho_tanner_asymptotic,
    ),
    MeasurementBound(
        name="weak_threshold_signed",
        kind="threshold",
        formula="m = n ψ₂(k/n)  (k/m = ρ_W(m/n), signed)",
        decoder="ℓ1 minimisation (signed)",
        matrix="Gaussian",
        guarantee="typical x, n → ∞: 50% point; width O(√n) at finite n",
        source=(
            "Donoho & Tanner, J. AMS 22 (2009); Amelunxen, Lotz, McCoy & Tropp, 'Living on "
            "the edge', Inf. Inference 3 (2014), Thm II"
        ),
        rate=_rate_weak_signed,
    ),
    MeasurementBound(
        name="weak_threshold_nonnegative",
        kind="threshold",
        formula="m = n ψ₁(k/n)  (k/m = ρ_W⁺(m/n), nonnegative)",
        decoder="nonnegative LP (min 1ᵀx, Ax = y, x >= 0)",
        matrix="Gaussian",
        guarantee="typical nonnegative x, n → ∞: 50% point; width O(√n) at finite n",
        source=(
            "Donoho & Tanner, 'Sparse nonnegative solution of underdetermined linear equations "
            "by linear programming', PNAS 102 (2005) and J. AMS 22 (2009); Amelunxen et al. 2014"
        ),
        rate=_rate_weak_nonnegative,
    ),
)

BOUNDS: Mapping[str, MeasurementBound] = MappingProxyType({b.name: b for b in _BOUND_LIST})
"""All bounds by name, read-only."""


def measurement_bound(name: str) -> MeasurementBound:
    """The bound registered under ``name`` (see ``BOUNDS``)."""
    if not isinstance(name, str) or name not in BOUNDS:
        raise ValueError(f"bound must be one of {tuple(BOUNDS)}, got {name!r}")
    return BOUNDS[name]


def measurements_order(k: Any, n: Any, *, constant: float = 1.0) -> FloatArray | float:
    """m = C k ln(n/k): the order-of-magnitude bound m = Ω(k log(n/k)) with constant C.

    Args:
        k: non-zeros (> 0, real allowed), any shape; k <= n.
        n: features (> 0), broadcast with k.
        constant: C > 0 (Ω leaves it open; 1 by default).
    """
    c = _check_constant(constant)
    kk, nn = _check_k_n(k, n)
    return _scalar_or_array(c * kk * np.log(nn / kk))


def measurements_order_density(
    density: Any, n: Any, *, constant: float = 1.0
) -> FloatArray | float:
    """m = −C n p ln p: the paper's density form m = Ω(−n (1 − S) log(1 − S)), p = 1 − S."""
    c = _check_constant(constant)
    p = check_half_open_unit_interval("density", density, "p = 1 − S")
    nn = check_positive_real("n", n, "the number of features")
    return _scalar_or_array(c * nn * _xlog1x(p))


def features_per_dimension(
    density: Any, *, bound: str = "order", constant: float = 1.0
) -> FloatArray | float:
    """Largest features per dimension n/m (m → ∞) that ``bound`` allows at density p.

    For ``bound="order"``: n/m = 1 / (C p ln(1/p)) (inf at p = 1, where the order bound is
    vacuous). ``constant`` applies to the order bound only. Other bounds: ``BOUNDS[bound]``.
    """
    b = measurement_bound(bound)
    c = _check_constant(constant)
    if bound != "order" and c != 1.0:
        raise ValueError(f"constant applies to bound='order' only, got constant={constant!r}")
    return _scalar_or_array(np.asarray(b.features_per_dimension(density)) / c)


def max_features(
    m: Any, density: Any, *, bound: str = "order", constant: float = 1.0
) -> FloatArray | float:
    """Largest number of features n that ``bound`` allows for m dimensions at density p.

    For ``bound="order"``: n_max = m / (C p ln(1/p)): linear in m, modulated by density (the
    paper's reading). In the k form (fixed k) the same bound gives n_max = k exp(m/(C k)),
    exponential in m (``max_features_fixed_k``).
    """
    b = measurement_bound(bound)
    c = _check_constant(constant)
    if bound != "order" and c != 1.0:
        raise ValueError(f"constant applies to bound='order' only, got constant={constant!r}")
    return _scalar_or_array(np.asarray(b.max_features(m, density)) / c)


def max_features_fixed_k(m: Any, k: Any, *, constant: float = 1.0) -> FloatArray | float:
    """Largest n with C k ln(n/k) <= m at a fixed number of non-zeros k: n = k exp(m/(C k))."""
    c = _check_constant(constant)
    mm = check_positive_real("m", m, "the number of measurements")
    kk = check_positive_real("k", k, "the number of non-zeros")
    with np.errstate(over="ignore"):
        return _scalar_or_array(kk * np.exp(mm / (c * kk)))


def _check_constant(constant: Any) -> float:
    c = check_positive_real("constant", constant, "the constant C in m >= C k log(n/k)")
    if c.ndim != 0:
        raise ValueError(f"constant must be a scalar, got shape {c.shape}")
    return float(c)
