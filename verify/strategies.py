"""Hypothesis strategies for property tests of toy models of superposition (public API).

Every strategy *builds* valid values (no ``.filter`` or ``assume`` for validity), so none of them
can fail a health check for discarding too much. Defaulted arguments are keyword-only and
validated when the strategy is created: a bad argument raises ``ValueError``/``TypeError``
showing the value and what is accepted.

Conventions (docs/conventions.md): ``W`` has shape ``(m, n)`` here (one model; feature i is the
column ``W[:, i]``), ``b`` shape ``(n,)``; density ``p = 1 − S`` in ``(0, 1]``; importances finite and
``≥ 0``. Randomness that is not drawn by hypothesis (rotations) comes from a hypothesis-drawn
integer seed through an explicit ``numpy.random.Generator``, so examples replay and shrink.

Example::

    from hypothesis import given
    from verify.strategies import superposition_models
    from theory.bounds import no_superposition_loss

    @given(superposition_models())
    def test_my_loss_beats_the_bound(example):
        W, b, density, importance = example
        assert my_relu_loss(W, b, density, importance) < no_superposition_loss(
            importance, density, W.shape[0]
        )
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from toysup import FeatureConfig, ModelConfig, TrainConfig
from toysup.config import (
    ACTIVATIONS,
    INITS,
    OPTIMIZERS,
    REDUCTIONS,
    SAMPLERS,
    SCHEDULES,
    check_device,
)

__all__ = [
    "IMPORTANCE_KINDS",
    "ModelExample",
    "biases",
    "densities",
    "feature_configs",
    "importances",
    "model_configs",
    "n2m1_parameters",
    "no_superposition_models",
    "superposition_models",
    "train_configs",
    "weights",
]

FloatArray = NDArray[np.float64]

#: The importance profiles :func:`importances` can draw.
IMPORTANCE_KINDS = ("uniform", "decaying", "random")


class ModelExample(NamedTuple):
    """One model and the distribution it is evaluated on (unpacks as a 4-tuple).

    ``W`` (m, n), ``b`` (n,), ``density`` (a float shared by all features), ``importance`` (n,).
    """

    W: FloatArray
    b: FloatArray
    density: float
    importance: FloatArray


# ----------------------------------------------------------------------------- argument checks


def _int(name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _float(
    name: str, value: Any, *, lo: float, hi: float = math.inf, open_lo: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    ok = math.isfinite(out) and (out > lo if open_lo else out >= lo) and out <= hi
    if not ok:
        lower = f"> {lo}" if open_lo else f">= {lo}"
        upper = "" if math.isinf(hi) else f" and <= {hi}"
        raise ValueError(f"{name} must be a finite number {lower}{upper}, got {value!r}")
    return out


def _ordered(lo_name: str, lo: float, hi_name: str, hi: float) -> None:
    if lo > hi:
        raise ValueError(f"{lo_name} ({lo!r}) must not exceed {hi_name} ({hi!r})")


def _choices(name: str, value: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        out = tuple(value)
    except TypeError:
        raise TypeError(
            f"{name} must be a sequence of strings from {allowed}, got {value!r}"
        ) from None
    bad = [v for v in out if v not in allowed]
    if not out or bad:
        raise ValueError(
            f"{name} must be a non-empty sequence of values from {tuple(allowed)}, got {value!r}"
        )
    return out


# ----------------------------------------------------------------------------- scalars and arrays


def densities(*, min_value: float = 1e-3, max_value: float = 1.0) -> st.SearchStrategy[float]:
    """Feature densities ``p = 1 − S``: floats in ``[min_value, max_value] ⊂ (0, 1]``.

    Log-uniform between the bounds (every decade equally likely), plus both endpoints exactly
    (``1.0`` is drawn by default: the dense limit is an edge case worth testing).
    """
    lo = _float("min_value", min_value, lo=0.0, hi=1.0, open_lo=True)
    hi = _float("max_value", max_value, lo=0.0, hi=1.0, open_lo=True)
    _ordered("min_value", lo, "max_value", hi)
    if lo == hi:
        return st.just(lo)
    log_uniform = st.floats(math.log(lo), math.log(hi)).map(lambda t: min(max(math.exp(t), lo), hi))
    return st.one_of(st.sampled_from([hi, lo]), log_uniform)


def importances(
    n: int,
    *,
    kind: str | Sequence[str] = IMPORTANCE_KINDS,
    max_value: float = 10.0,
    min_decay: float = 0.5,
) -> st.SearchStrategy[FloatArray]:
    """Importance vectors ``I``: float64 arrays of shape ``(n,)``, finite, in ``[0, max_value]``.

    ``kind`` picks the profile (one name or several to mix):

    - ``"uniform"``: every ``I_i`` equal to one value in ``(0, max_value]``;
    - ``"decaying"``: ``I_i = s · γ^i`` with scale ``s ∈ (0, max_value]`` and ratio
      ``γ ∈ [min_decay, 1]`` (the paper's ``0.7^i``, ``0.9^i``);
    - ``"random"``: independent entries in ``[0, max_value]`` (zeros included).
    """
    n = _int("n", n)
    kinds = _choices("kind", kind, IMPORTANCE_KINDS)
    top = _float("max_value", max_value, lo=0.0, open_lo=True)
    decay = _float("min_decay", min_decay, lo=0.0, hi=1.0, open_lo=True)
    scale = st.floats(min(1e-3, top), top)
    options: list[st.SearchStrategy[FloatArray]] = []
    if "uniform" in kinds:
        options.append(scale.map(lambda s: np.full(n, s, dtype=np.float64)))
    if "decaying" in kinds:
        options.append(
            st.tuples(scale, st.floats(decay, 1.0)).map(
                lambda t: t[0] * t[1] ** np.arange(n, dtype=np.float64)
            )
        )
    if "random" in kinds:
        options.append(hnp.arrays(np.float64, n, elements=st.floats(0.0, top)))
    return st.one_of(options)


def weights(
    m: int,
    n: int,
    *,
    max_value: float = 2.0,
    min_magnitude: float = 1e-3,
    allow_zero: bool = True,
) -> st.SearchStrategy[FloatArray]:
    """Weight matrices ``W``: float64 arrays of shape ``(m, n)``.

    Each entry is ``0`` (if ``allow_zero``) or has magnitude in ``[min_magnitude, max_value]``,
    either sign. Keeping non-zero entries away from 0 keeps every non-zero column's norm at least
    ``min_magnitude``, so scale-invariant metrics (feature dimensionality) are not at the mercy of
    subnormal numbers; exactly zero columns (dropped features) still occur.
    """
    m, n = _int("m", m), _int("n", n)
    top = _float("max_value", max_value, lo=0.0, open_lo=True)
    low = _float("min_magnitude", min_magnitude, lo=0.0, hi=top, open_lo=True)
    if not isinstance(allow_zero, bool):
        raise TypeError(f"allow_zero must be True or False, got {allow_zero!r}")
    magnitude = st.floats(low, top)
    entry = st.one_of(magnitude, magnitude.map(lambda v: -v))
    if allow_zero:
        entry = st.one_of(st.just(0.0), entry)
    return hnp.arrays(np.float64, (m, n), elements=entry)


def biases(n: int, *, max_value: float = 2.0) -> st.SearchStrategy[FloatArray]:
    """Bias vectors ``b``: float64 arrays of shape ``(n,)`` with entries in ``[-max_value, max_value]``."""
    n = _int("n", n)
    top = _float("max_value", max_value, lo=0.0)
    return hnp.arrays(np.float64, n, elements=st.floats(-top, top))


# ----------------------------------------------------------------------------- toysup configs


def model_configs(
    *,
    min_features: int = 1,
    max_features: int = 8,
    max_hidden: int | None = None,
    allow_wider: bool = False,
    activations: Sequence[str] = ACTIVATIONS,
) -> st.SearchStrategy[ModelConfig]:
    """:class:`toysup.ModelConfig` with ``n_features ∈ [min_features, max_features]``.

    ``n_hidden ∈ [1, n_features]`` (capped at ``max_hidden``); with ``allow_wider=True`` it ranges
    up to ``max_hidden`` (default ``max_features``) regardless of ``n_features``. Activation from
    ``activations``, any initialisation, ``init_scale ∈ [0.1, 2]``.
    """
    lo = _int("min_features", min_features)
    hi = _int("max_features", max_features)
    _ordered("min_features", lo, "max_features", hi)
    cap = hi if max_hidden is None else _int("max_hidden", max_hidden)
    if not isinstance(allow_wider, bool):
        raise TypeError(f"allow_wider must be True or False, got {allow_wider!r}")
    acts = _choices("activations", activations, ACTIVATIONS)

    @st.composite
    def build(draw: st.DrawFn) -> ModelConfig:
        n = draw(st.integers(lo, hi))
        m = draw(st.integers(1, cap if allow_wider else min(n, cap)))
        return ModelConfig(
            n_features=n,
            n_hidden=m,
            activation=draw(st.sampled_from(acts)),
            init=draw(st.sampled_from(INITS)),
            init_scale=draw(st.floats(0.1, 2.0)),
        )

    return build()


def feature_configs(
    *,
    n_features: int | None = None,
    n_instances: int | None = None,
    max_features: int = 8,
    max_instances: int = 4,
    min_density: float = 1e-3,
    max_importance: float = 10.0,
) -> st.SearchStrategy[FeatureConfig]:
    """:class:`toysup.FeatureConfig` with densities from :func:`densities` and importances from
    :func:`importances`.

    ``n_features`` / ``n_instances`` fix the sizes; left ``None`` they are drawn from
    ``[1, max_features]`` / ``[1, max_instances]``. Density and importance are each given as a
    scalar, one value per feature ``(n,)`` or one row per instance ``(instances, n)`` (all three
    forms the config accepts).
    """
    n_fixed = None if n_features is None else _int("n_features", n_features)
    c_fixed = None if n_instances is None else _int("n_instances", n_instances)
    n_max = _int("max_features", max_features)
    c_max = _int("max_instances", max_instances)
    dens = densities(min_value=_float("min_density", min_density, lo=0.0, hi=1.0, open_lo=True))
    imp_top = _float("max_importance", max_importance, lo=0.0, open_lo=True)

    @st.composite
    def build(draw: st.DrawFn) -> FeatureConfig:
        n = n_fixed if n_fixed is not None else draw(st.integers(1, n_max))
        c = c_fixed if c_fixed is not None else draw(st.integers(1, c_max))
        imp = importances(n, max_value=imp_top)
        form = draw(st.sampled_from(("scalar", "feature", "instance")))
        if form == "scalar":
            density: Any = draw(dens)
        elif form == "feature":
            density = np.array(draw(st.lists(dens, min_size=n, max_size=n)))
        else:
            density = np.array([draw(st.lists(dens, min_size=n, max_size=n)) for _ in range(c)])
        importance: Any = draw(
            st.one_of(
                st.floats(0.0, imp_top),
                imp,
                st.lists(imp, min_size=c, max_size=c).map(np.stack),
            )
        )
        return FeatureConfig(n_features=n, n_instances=c, density=density, importance=importance)

    return build()


def train_configs(
    *, max_steps: int = 50, max_batch: int = 64, max_seeds: int = 2, device: str = "cpu"
) -> st.SearchStrategy[TrainConfig]:
    """Short :class:`toysup.TrainConfig` runs for tests: ``steps ≤ max_steps``,
    ``batch_size ≤ max_batch``, ``n_seeds ≤ max_seeds``, ``2 ≤ eval_samples ≤ 512``, on ``device``.

    Every optimiser, schedule, reduction, sampler and dtype; ``lr`` log-uniform in
    ``[1e-4, 1e-1]``; ``weight_decay`` the default or in ``[0, 0.1]``; ``log_every`` the default
    or in ``[1, steps]``.
    """
    s_max = _int("max_steps", max_steps)
    b_max = _int("max_batch", max_batch)
    k_max = _int("max_seeds", max_seeds)
    check_device(device)

    @st.composite
    def build(draw: st.DrawFn) -> TrainConfig:
        steps = draw(st.integers(1, s_max))
        lr = math.exp(draw(st.floats(math.log(1e-4), math.log(1e-1))))
        return TrainConfig(
            steps=steps,
            batch_size=draw(st.integers(1, b_max)),
            lr=lr,
            optimizer=draw(st.sampled_from(OPTIMIZERS)),
            weight_decay=draw(st.one_of(st.none(), st.floats(0.0, 0.1))),
            schedule=draw(st.sampled_from(SCHEDULES)),
            n_seeds=draw(st.integers(1, k_max)),
            seed=draw(st.integers(0, 2**31 - 1)),
            loss_reduction=draw(st.sampled_from(REDUCTIONS)),
            log_every=draw(st.one_of(st.none(), st.integers(1, steps))),
            eval_samples=draw(st.integers(2, 512)),
            device=device,
            dtype=draw(st.sampled_from(("float32", "float64"))),
            sampler=draw(st.sampled_from(SAMPLERS)),
        )

    return build()


# ----------------------------------------------------------------------------- models


def n2m1_parameters(
    *,
    min_density: float = 1e-3,
    max_weight: float = 3.0,
    max_bias: float = 3.0,
    max_importance: float = 10.0,
) -> st.SearchStrategy[tuple[FloatArray, FloatArray, float, FloatArray]]:
    """Arguments of :func:`theory.n2m1.expected_loss`: ``(w (2,), b (2,), density, importance (2,))``.

    ``w`` in ``[-max_weight, max_weight]²`` and ``b`` in ``[-max_bias, max_bias]²`` (negative
    weights, biases large enough to switch a ReLU fully on or off, exact zeros), ``density`` from
    :func:`densities` (one value for both features), ``importance`` from :func:`importances`.
    """
    w_top = _float("max_weight", max_weight, lo=0.0)
    b_top = _float("max_bias", max_bias, lo=0.0)
    pair_w = hnp.arrays(np.float64, 2, elements=st.floats(-w_top, w_top))
    pair_b = hnp.arrays(np.float64, 2, elements=st.floats(-b_top, b_top))
    return st.tuples(
        pair_w,
        pair_b,
        densities(min_value=_float("min_density", min_density, lo=0.0, hi=1.0, open_lo=True)),
        importances(2, max_value=_float("max_importance", max_importance, lo=0.0, open_lo=True)),
    )


def _rotation(m: int, seed: int) -> FloatArray:
    """A Haar-random orthogonal (m, m) matrix from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((m, m)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)[None, :]


def superposition_models(
    *, max_pairs: int = 3, min_density: float = 1e-3, margin: float = 0.5
) -> st.SearchStrategy[ModelExample]:
    """ReLU models known to be in superposition: ``k`` antipodal pairs in ``m = k`` dimensions.

    ``W`` (k, 2k): pair j is ``(e_j, −e_j)`` in a random orthonormal basis (a Haar rotation) with
    the feature order shuffled; ``b = 0``; importances within a factor 2 of each other. Each
    pair's features only interfere when both are active, so the exact ReLU loss is
    ``Σ_i I_i p²/6``. The density is drawn log-uniformly in ``[min_density, p_max]`` where
    ``p_max`` makes that loss at most ``margin ×`` :func:`theory.bounds.no_superposition_loss`:
    the model beats every model without superposition by a factor ``1/margin`` or more.
    """
    k_max = _int("max_pairs", max_pairs)
    keep = _float("margin", margin, lo=0.0, hi=1.0, open_lo=True)
    low = _float("min_density", min_density, lo=0.0, hi=1.0, open_lo=True)
    # Worst case over importances within a factor 2 (S_k ≥ k·a, ΣI ≤ 4k·a): p_max ≥ this.
    floor = keep / 3 / (4 / 6 + keep / 4)
    if low > floor:
        raise ValueError(
            f"min_density must be <= {floor:.4g} for margin={keep!r} (the densities at which "
            f"antipodal pairs beat the no-superposition bound by that margin), got {min_density!r}"
        )

    @st.composite
    def build(draw: st.DrawFn) -> ModelExample:
        k = draw(st.integers(1, k_max))
        n = 2 * k
        scale = draw(st.floats(0.1, 10.0))
        importance = scale * np.array(draw(st.lists(st.floats(1.0, 2.0), min_size=n, max_size=n)))
        # loss = ΣI p²/6 <= margin · S_k (p/3 − p²/4), S_k the k smallest importances.
        s_k = float(np.sort(importance)[:k].sum())
        p_max = min(1.0, keep * s_k / 3 / (importance.sum() / 6 + keep * s_k / 4))
        density = draw(densities(min_value=min(low, p_max), max_value=p_max))
        W = np.zeros((k, n))
        W[np.arange(k), 2 * np.arange(k)] = 1.0
        W[np.arange(k), 2 * np.arange(k) + 1] = -1.0
        order = np.array(draw(st.permutations(range(n))))
        W = _rotation(k, draw(st.integers(0, 2**32 - 1))) @ W[:, order]
        return ModelExample(W=W, b=np.zeros(n), density=density, importance=importance[order])

    return build()


def no_superposition_models(
    *, max_features: int = 6, max_hidden: int = 4, min_density: float = 1e-3
) -> st.SearchStrategy[ModelExample]:
    """Models known to be out of superposition: pairwise orthogonal non-zero columns.

    ``W`` (m, n) has ``r ≤ min(m, n)`` non-zero columns: ``r`` columns of a Haar-random orthogonal
    matrix scaled by norms in ``[0.5, 1.5]``, at random feature positions; the other columns are
    exactly zero. ``b`` from :func:`biases`, density from :func:`densities`, importance from
    :func:`importances`. For such a model every feature's dimensionality is 0 or 1, at most ``m``
    features are represented, and its expected loss (ReLU or linear) is at least
    :func:`theory.bounds.no_superposition_loss` ``(importance, density, m)``.
    """
    n_max = _int("max_features", max_features)
    m_max = _int("max_hidden", max_hidden)
    dens = densities(min_value=_float("min_density", min_density, lo=0.0, hi=1.0, open_lo=True))

    @st.composite
    def build(draw: st.DrawFn) -> ModelExample:
        n = draw(st.integers(1, n_max))
        m = draw(st.integers(1, m_max))
        r = draw(st.integers(0, min(m, n)))
        basis = _rotation(m, draw(st.integers(0, 2**32 - 1)))[:, :r]  # (m, r), orthonormal
        norms = np.array(draw(st.lists(st.floats(0.5, 1.5), min_size=r, max_size=r)))
        where = np.array(draw(st.permutations(range(n))))[:r]
        W = np.zeros((m, n))
        W[:, where] = basis * norms[None, :]
        return ModelExample(
            W=W, b=draw(biases(n)), density=draw(dens), importance=draw(importances(n))
        )

    return build()
