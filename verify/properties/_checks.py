"""Checks shared by the suite's tests. Each failure message shows the values involved."""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

from toysup import FeatureConfig, ModelConfig
from toysup.metrics import (
    dimensionality,
    feature_norms,
    interference,
    phase_label_n2m1,
    phase_label_n3m2,
)
from verify.properties._montecarlo import LossEstimate, to_numpy

Array = NDArray[np.float64]

#: Columns shorter than this fraction of the longest are treated as zero by the dimensionality
#: invariants: D_i is scale-invariant per column, hence ill-conditioned for a column near zero
#: (its rounding error grows like eps·‖W‖²/‖W_i‖²). Removing them gives another matrix W', for
#: which the same invariants must hold exactly.
TINY_COLUMN = 1e-6
#: Relative slack for rounding when a trainer's float32 loss is compared with a float64 estimate.
FLOAT_RTOL = 1e-4


def result_arrays(
    result: Any, features: FeatureConfig, model: ModelConfig
) -> tuple[Array, Array, Array]:
    """``(W (C, m, n), b (C, n), loss (C,))`` of a trainer's result, checked for shape and
    finiteness."""
    C, m, n = features.n_instances, model.n_hidden, model.n_features
    for name in ("W", "b", "loss"):
        assert hasattr(result, name), f"the trainer's result has no attribute {name!r}"
    W, b, loss = to_numpy(result.W), to_numpy(result.b), to_numpy(result.loss)
    assert W.shape == (C, m, n), f"W has shape {W.shape}, expected (C, m, n) = {(C, m, n)}"
    assert b.shape == (C, n), f"b has shape {b.shape}, expected (C, n) = {(C, n)}"
    assert loss.shape == (C,), f"loss has shape {loss.shape}, expected (C,) = {(C,)}"
    for name, arr in (("W", W), ("b", b), ("loss", loss)):
        assert np.all(np.isfinite(arr)), f"{name} is not finite: {arr}"
    assert np.all(loss >= 0), f"a loss is a mean of squares, so >= 0; got {loss}"
    return W, b, loss


def reported_stderr(result: Any, shape: tuple[int, ...]) -> Array | None:
    """The result's ``loss_stderr`` (shape ``shape``) if it has a usable one, else None."""
    value = getattr(result, "loss_stderr", None)
    if value is None:
        return None
    arr = to_numpy(value)
    if arr.shape != shape or not np.all(np.isfinite(arr) & (arr >= 0)):
        return None
    return arr


def reported_tolerance(
    estimate: LossEstimate, n_examples: int, stderr: Array | None = None
) -> Array:
    """How far a trainer's reported loss may be from the truth: ``max(plain_halfwidth,
    z · stderr)`` plus float32 rounding (see :func:`assert_loss_consistent`)."""
    tol = estimate.plain_halfwidth(n_examples)
    if stderr is not None:
        z = NormalDist().inv_cdf(1 - estimate.delta / 2)
        tol = np.maximum(tol, z * stderr)
    return np.asarray(tol + FLOAT_RTOL * np.abs(estimate.mean) + 1e-12)


def assert_loss_consistent(
    reported: Array,
    estimate: LossEstimate,
    n_examples: int,
    what: str,
    *,
    stderr: Array | None = None,
) -> None:
    """``reported`` (C,) — the trainer's estimate from ``n_examples`` fresh examples — agrees with
    the independent ``estimate``::

        |reported − estimate| ≤ halfwidth + max(plain_halfwidth, z · stderr) + rounding

    ``plain_halfwidth`` is the Bernstein bound for a plain average of ``n_examples`` examples
    (valid however skewed the loss); ``stderr``, the trainer's own standard error when it reports
    one, can only widen the tolerance (z = the normal quantile at the same error probability):
    a trainer may use a different estimator (e.g. toysup's stratified one, whose effective sample
    size differs from ``eval_samples``). Each bound holds with probability ≥ 1 − δ; a best-of-k
    selection of the reported value stays inside as long as every seed's estimate does.
    """
    tol = estimate.halfwidth + reported_tolerance(estimate, n_examples, stderr)
    gap = np.abs(reported - estimate.mean)
    bad = gap > tol
    assert not bad.any(), (
        f"{what}: reported loss disagrees with a fresh Monte Carlo estimate of the same W, b at "
        f"instances {np.flatnonzero(bad).tolist()}: reported {reported[bad]}"
        f"{'' if stderr is None else f' ± {stderr[bad]} (its stderr)'}, fresh "
        f"{estimate.mean[bad]} ± {estimate.halfwidth[bad]}, tolerance {tol[bad]} "
        f"(reported on {n_examples} examples, error probability {estimate.delta:g} per bound)"
    )


def _rotation(m: int, rng: np.random.Generator) -> Array:
    q, r = np.linalg.qr(rng.standard_normal((m, m)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)[None, :]


def _drop_tiny_columns(W: Array) -> Array:
    norms = np.linalg.norm(W, axis=-2)  # (..., n)
    top = norms.max(axis=-1, keepdims=True)
    return np.where((norms <= TINY_COLUMN * top)[..., None, :], 0.0, W)


def assert_metric_invariants(W: Any, rng: np.random.Generator, what: str = "W") -> None:
    """The geometry invariants of toysup.metrics on W (..., m, n).

    - 0 ≤ D_i ≤ 1 and Σ_i D_i ≤ rank W ≤ m (README reference facts; tolerance: float64
      rounding, 1e-9 per feature);
    - D_i, ‖W_i‖ and the interference are unchanged by W → QW for a random orthogonal Q
      (rotations of the hidden space; rtol 1e-9 for norms, atol 1e-6 for the [0, 1]-valued
      D_i, whose rounding grows like eps·‖W‖²/‖W_i‖² ≤ 1e-16·1e12 after dropping tiny columns);
    - n=2/m=1 and n=3/m=2 phase labels are unchanged by W → −W (exactly).
    """
    arr = to_numpy(W)
    m, n = arr.shape[-2:]
    clean = _drop_tiny_columns(arr)
    flat = clean.reshape(-1, m, n)
    D = dimensionality(flat)  # (K, n)
    assert np.all(D >= 0) and np.all(D <= 1 + 1e-9), f"{what}: D_i outside [0, 1]: {D}"
    rank = np.array([np.linalg.matrix_rank(w) for w in flat])
    total = D.sum(-1)
    bad = total > rank + 1e-9 * n
    assert not bad.any(), f"{what}: Σ D_i = {total[bad]} exceeds rank W = {rank[bad]}"
    assert np.all(rank <= m), f"{what}: rank {rank} exceeds m = {m}"

    Q = _rotation(m, rng)
    rotated = Q @ flat  # (K, m, n)
    np.testing.assert_allclose(
        dimensionality(rotated), D, rtol=0, atol=1e-6, err_msg=f"{what}: D_i changed by W → QW"
    )
    norms = feature_norms(flat)
    scale = max(float(norms.max()), 1e-300)
    np.testing.assert_allclose(
        feature_norms(rotated),
        norms,
        rtol=1e-9,
        atol=1e-12 * scale,
        err_msg=f"{what}: ‖W_i‖ changed by W → QW",
    )
    np.testing.assert_allclose(
        interference(rotated),
        interference(flat),
        rtol=1e-6,
        atol=1e-9 * scale**2,
        err_msg=f"{what}: interference changed by W → QW",
    )
    for shape, label in (((1, 2), phase_label_n2m1), ((2, 3), phase_label_n3m2)):
        if (m, n) == shape:
            same = label(arr) == label(-arr)
            assert np.all(same), f"{what}: phase labels changed by W → −W: {label(arr)[~same]}"
