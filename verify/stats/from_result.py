"""The tests' inputs taken from a trained :class:`toysup.TrainResult`: one configuration's model,
its seeds, its feature law, and features with hidden activations drawn from it.

A ``TrainResult`` holds C configurations (``features.n_instances``) × k seeds; ``config`` picks
one (it may be left out when C = 1). Duck-typed, so that importing :mod:`verify.stats` does not
import torch.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields, is_dataclass
from typing import Any

import numpy as np

from verify.stats import checks as chk
from verify.stats.common import ACTIVATIONS, FloatArray
from verify.stats.loss_problem import sample_features


def is_train_result(value: Any) -> bool:
    return all(hasattr(value, a) for a in ("features", "model", "training", "W", "b", "seed_W"))


def config_index(result: Any, config: Any) -> int:
    """``config`` checked against the result's configurations (``None`` when there is one)."""
    n_configs = int(np.shape(result.W)[0])
    if config is None:
        if n_configs != 1:
            raise ValueError(
                f"the TrainResult holds {n_configs} configurations: pass config, an integer in "
                f"[0, {n_configs})"
            )
        return 0
    index = chk.check_int("config", config, minimum=0)
    if index >= n_configs:
        raise ValueError(
            f"config must be in [0, {n_configs}) (the TrainResult's configurations), got {index}"
        )
    return index


@dataclass(frozen=True)
class TrainedModel:
    """One configuration of a TrainResult: the best seed's ``W`` (m, n) and ``b`` (n,), the
    feature law (``density``, ``importance``, shape (n,)) and the output activation."""

    W: FloatArray
    b: FloatArray
    density: FloatArray
    importance: FloatArray
    activation: str


def trained_model(result: Any, config: Any) -> TrainedModel:
    """The best seed of configuration ``config`` of ``result`` (checked: tied ReLU/linear model)."""
    if not is_train_result(result):
        raise TypeError(f"result must be a toysup.TrainResult, got {type(result).__name__}")
    index = config_index(result, config)
    _check_tied_model(result.model)
    activation = getattr(result.model, "activation", None)
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"the TrainResult's model has output activation {activation!r}; the tests cover "
            f"x' = f(WᵀWx + b) with f one of {ACTIVATIONS}"
        )
    return TrainedModel(
        W=chk.as_bounded_array("result.W", result.W[index], what="an array (m, n)"),
        b=chk.as_bounded_array("result.b", result.b[index], what="an array (n,)"),
        density=np.asarray(result.features.density_array[index], dtype=np.float64),
        importance=np.asarray(result.features.importance_array[index], dtype=np.float64),
        activation=str(activation),
    )


def seed_models(result: Any, config: Any) -> list[tuple[FloatArray, FloatArray]]:
    """Every seed's ``(W (m, n), b (n,))`` of configuration ``config`` (checked as in
    :func:`trained_model`)."""
    index = config_index(result, config)
    return [
        (
            chk.as_bounded_array("result.seed_W", w, what="an array (m, n)"),
            chk.as_bounded_array("result.seed_b", b, what="an array (n,)"),
        )
        for w, b in zip(result.seed_W[index], result.seed_b[index])
    ]


#: The fields of the tied model ``x' = f(WᵀWx + b)``; any other model option must be at its default.
_TIED_FIELDS = ("n_features", "n_hidden", "activation", "init", "init_scale", "bias_init")


def _check_tied_model(model: Any) -> None:
    """Refuse models outside the tests' scope: any option beyond the tied model's, away from its
    default (an untied decoder, a hidden activation, ...), changes what the bounds mean."""
    if not is_dataclass(model):
        return
    for f in fields(model):
        if f.name in _TIED_FIELDS or f.default is MISSING:
            continue
        value = getattr(model, f.name)
        if value != f.default:
            raise ValueError(
                f"the TrainResult's model has {f.name}={value!r}; the tests cover the tied model "
                f"x' = f(WᵀWx + b) ({f.name}={f.default!r})"
            )


def sample_activations(
    result: Any, config: int | None = None, *, n_rows: int = 10_000, seed: int = 0
) -> tuple[FloatArray, FloatArray]:
    """Features ``x`` and hidden activations ``h = W x`` of a trained model, for
    :func:`verify.stats.decodability_test`.

    ``x`` (``n_rows``, n) is drawn from the configuration's feature law (``x_i = 0`` w.p.
    ``1 − p_i``, else ``Uniform[0, 1)``, independently) with ``numpy.random.default_rng(seed)``;
    ``h`` (``n_rows``, m) is the hidden layer of its best seed, ``h = W x`` (paper §"Demonstrating
    Superposition").

    Args:
        result: a :class:`toysup.TrainResult`.
        config: which configuration (may be left out when the result holds one).
        n_rows: examples to draw, ``>= 1``.
        seed: seed of the numpy ``Generator``, ``>= 0``.

    Returns:
        ``(x, h)``, float64 arrays of shapes ``(n_rows, n)`` and ``(n_rows, m)``.

    Example::

        x, h = sample_activations(result, 3, n_rows=20_000, seed=1)
        decodability_test(h, x)
    """
    model = trained_model(result, config)
    n_rows = chk.check_int("n_rows", n_rows, minimum=1)
    seed = chk.check_seed(seed)
    m, n = model.W.shape
    chk.check_memory("n_rows", n_rows, 16.0 * n_rows * (n + m), "the features and activations")
    x = sample_features(model.density, n_rows, np.random.default_rng(seed))
    return x, x @ model.W.T
