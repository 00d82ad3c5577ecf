"""The trivial model's loss, and the check that a trained model did not end up worse than it.

The *trivial model* has ``W = 0`` and the best constant bias: its output is a constant ``c_i`` per
feature, and its loss ``Σ_i I_i E[(t_i − c_i)²]`` (``t`` the target, here ``x``) is least for the
constant nearest ``E[t_i]`` that the output activation can produce:

    L_trivial = Σ_i I_i (Var(t_i) + (E[t_i] − c_i)²),    c_i = clip(E[t_i], output range).

For the paper's features (``x_i = 0`` w.p. ``1 − p_i``, else ``Uniform[0, 1]``):
``E[x_i] = p_i/2``, ``E[x_i²] = p_i/3``, so ``Var(x_i) = p_i/3 − p_i²/4``. Both the ReLU and the
linear output reach ``c_i = p_i/2 ≥ 0``, so ``L_trivial = Σ_i I_i (p_i/3 − p_i²/4)``, divided by
``n`` for ``loss_reduction="mean"`` (docs/training.md, "Divergence").

A model whose final loss is clearly above both the trivial loss and its own loss at
initialisation has diverged as surely as one whose loss is NaN: training made it worse than
doing nothing. "Clearly" means both margins of :func:`worse_than`: ``4`` standard errors of the
final loss estimate, and ``1 %`` of the reference, so that a model that learns (almost) nothing
(a density so low that the best model is the trivial one, or a run of a few steps) never trips
it.

The model family enters through :func:`target_moments` (signed values, ``|x|`` targets; the set
structure does not change a feature's moments) and :func:`output_range` (the output activation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

#: A final loss this many standard errors above the reference is not sampling noise.
SIGMAS = 4.0
#: ... and it must exceed the reference by this factor as well.
RATIO = 1.01

FloatArray = NDArray[np.float64]

#: min_b b·Φ(b), the least value of GELU (at b ≈ −0.75179).
GELU_MIN = -0.1699712074799


def target_moments(features: Any, target: str = "identity") -> tuple[FloatArray, FloatArray]:
    """``(E[t], E[t²])`` of every target, each of shape ``(n_instances, n_features)``.

    The features of :class:`toysup.FeatureConfig`: zero w.p. ``1 − p``, else ``Uniform[0, 1]``
    (``values="unit"``) or ``Uniform[−1, 1]`` (``"signed"``), whatever the set structure (each
    feature's marginal density is p). ``E[t²] = p/3`` in every case; ``E[t] = p/2``, except for
    signed values with the identity target (``t = x``), where it is 0. ``target="abs"`` is
    ``t = |x|``."""
    p = features.density_array
    signed_identity = getattr(features, "values", "unit") == "signed" and target != "abs"
    return (np.zeros_like(p) if signed_identity else p / 2), p / 3


def output_range(model: Any) -> tuple[float, float]:
    """The values the output activation ``f`` can take: ``f(b)`` for a constant bias ``b``."""
    ranges = {
        "relu": (0.0, np.inf),
        "linear": (-np.inf, np.inf),
        "softplus": (0.0, np.inf),  # log(1 + e^b) > 0: any positive constant, 0 in the limit
        "gelu": (GELU_MIN, np.inf),  # b Φ(b) is least at b ≈ -0.7518
    }
    if model.activation not in ranges:
        raise ValueError(
            f"no trivial loss is known for the output activation {model.activation!r}; "
            f"known: {sorted(ranges)}"
        )
    return ranges[model.activation]


def trivial_loss(
    features: Any, model: Any, *, loss_reduction: str = "sum", target: str = "identity"
) -> FloatArray:
    """Loss of the best model with ``W = 0`` (module docstring), per configuration: shape
    ``(n_instances,)``, in the trainer's convention (summed over features, or their mean), for
    the target ``x`` or ``|x|`` (``target="abs"``). With ``W = 0`` (and ``W_dec`` anything) the
    hidden layer is 0 and no penalty applies."""
    mean, second = target_moments(features, target)
    low, high = output_range(model)
    best = np.clip(mean, low, high)
    per_feature = second - 2 * best * mean + best**2  # E[(t − c)²] = Var(t) + (E[t] − c)²
    loss = np.sum(features.importance_array * per_feature, axis=1)
    return loss / model.n_features if loss_reduction == "mean" else loss


def worse_than(loss: Any, stderr: Any, reference: Any) -> NDArray[np.bool_]:
    """``loss > reference + SIGMAS · stderr`` and ``loss > RATIO · reference``, elementwise."""
    loss, stderr, reference = (np.asarray(a, dtype=np.float64) for a in (loss, stderr, reference))
    return (loss > reference + SIGMAS * stderr) & (loss > RATIO * reference)


def divergence_message(
    *,
    instance: int,
    config: int,
    seed: int,
    loss: float,
    trivial: float,
    initial: float,
    lr: float,
    count: int,
) -> str:
    more = f" ({count} instances in all)" if count > 1 else ""
    return (
        f"training diverged: instance {instance} (configuration {config}, seed {seed}) ended "
        f"with loss {loss:.4g}, worse than the trivial model's {trivial:.4g} (W = 0, best "
        f"constant bias) and than its own {initial:.4g} at initialisation{more}; lower the "
        f"learning rate (lr = {lr:g})"
    )
