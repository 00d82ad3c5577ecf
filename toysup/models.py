"""The toy-model family, batched over instances (paper §"Demonstrating Superposition",
§"Superposition in a Privileged Basis", §"Computation in Superposition").

    h  = W x                 (hidden_activation="none")   or   h = ReLU(W x)   ("relu")
    x' = f(W_dec h + b)      W_dec = Wᵀ when tied (the paper's basic models), else its own matrix

with ``f`` the output activation (``"relu"``, ``"linear"``, ``"gelu"``, ``"softplus"``). The basic
models are the tied ones with no hidden activation: ``x' = WᵀW x + b`` (linear) and
``x' = ReLU(WᵀW x + b)``; the privileged-basis model is ``x' = ReLU(Wᵀ ReLU(W x) + b)``; the
absolute-value circuit is the untied ``y = ReLU(W_dec ReLU(W x) + b)`` trained on ``|x|``.

``W`` has shape ``(instances, n_hidden, n_features)`` (feature i's direction is ``W[..., :, i]``),
``b`` has shape ``(instances, n_features)``, ``W_dec`` (untied only) ``(instances, n_features,
n_hidden)``. :class:`ToyModel` is a plain ``nn.Module`` for users who want autograd; the trainer
uses the hand-derived gradients in :mod:`toysup.step` where they apply and
:mod:`toysup.step_general` elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toysup._validation import check_choice, check_int
from toysup.config import ACTIVATIONS, HIDDEN_ACTIVATIONS, REDUCTIONS, TARGETS, ModelConfig


def xavier_std(n_features: int, n_hidden: int) -> float:
    """Xavier/Glorot normal std for one instance's ``W`` (fan-in n, fan-out m): ``sqrt(2/(n+m))``."""
    return math.sqrt(2.0 / (n_features + n_hidden))


def init_weights(
    config: ModelConfig,
    n_instances: int,
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
    decoder: bool = False,
) -> Tensor:
    """Initial ``W`` of shape ``(n_instances, n_hidden, n_features)`` (``decoder=True``: an untied
    ``W_dec`` of shape ``(n_instances, n_features, n_hidden)``, same scale).

    The scale uses each instance's own fan-in/fan-out, never the instance count (a pitfall of
    ``nn.init.xavier_normal_`` on a 3-D tensor). Instance i's weights are the i-th slice of one
    draw, so they do not depend on how many instances follow it.
    """
    n, m = config.n_features, config.n_hidden
    shape = (n_instances, n, m) if decoder else (n_instances, m, n)
    if config.init == "xavier_normal":
        W = torch.randn(shape, generator=generator, dtype=dtype, device=generator.device)
        return W.mul_(config.init_scale * xavier_std(n, m))
    bound = config.init_scale * math.sqrt(6.0 / (n + m))
    W = torch.rand(shape, generator=generator, dtype=dtype, device=generator.device)
    return W.mul_(2 * bound).sub_(bound)


def init_decoder(
    config: ModelConfig,
    W: Tensor,
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Initial untied ``W_dec`` (instances, n, m) for encoder weights ``W`` (instances, m, n).

    ``config.decoder_init == "random"``: a draw like ``W``'s (:func:`init_weights` with
    ``decoder=True``, the next draw of ``generator``); ``"encoder_abs"``: ``|W|ᵀ``, drawing nothing.
    With ``h = ReLU(W x)``, output i then starts as ``Σ_j |W_ji| ReLU(W_j · x)``, which for
    ``x = v e_i`` is ``|v| Σ_{j: W_ji v > 0} W_ji²``: non-negative on both sides of every feature,
    so no output starts dead for one sign (docs/training.md, "Initialisation").
    """
    if config.decoder_init == "encoder_abs":
        return W.detach().abs().transpose(-1, -2).to(dtype).contiguous()
    return init_weights(config, W.shape[0], generator=generator, dtype=dtype, decoder=True)


def _check_shapes(W_dec: Tensor | None = None, **tensors: Tensor) -> None:
    """W (I, m, n), b (I, n), x (I, B, n), importance (I, n) and an untied W_dec (I, n, m):
    tensors with matching I, n (and m)."""
    expected = {"W": "(I, m, n)", "b": "(I, n)", "x": "(I, batch, n)", "importance": "(I, n)"}
    for name, t in tensors.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape {expected[name]}, got {t!r}")
    W = tensors["W"]
    if W.ndim != 3:
        raise ValueError(f"W must have shape (instances, m, n), got shape {tuple(W.shape)}")
    i, m, n = W.shape
    for name, t in tensors.items():
        ndim = 3 if name in ("W", "x") else 2
        if t.ndim != ndim or t.shape[0] != i or t.shape[-1] != n:
            raise ValueError(
                f"{name} must have shape {expected[name]} with I = {i} instances and n = {n} "
                f"features (W has shape {tuple(W.shape)}), got shape {tuple(t.shape)}"
            )
    if W_dec is not None and (not isinstance(W_dec, Tensor) or tuple(W_dec.shape) != (i, n, m)):
        got = tuple(W_dec.shape) if isinstance(W_dec, Tensor) else repr(W_dec)
        raise ValueError(
            f"W_dec must be a tensor of shape (instances, n, m) = {(i, n, m)} (W has shape "
            f"{tuple(W.shape)}), or None for a tied model; got {got}"
        )


def output_activation(name: str) -> Callable[[Tensor], Tensor]:
    """The output nonlinearity ``f`` by name: relu, linear (identity), gelu (exact erf form),
    softplus (``log(1 + eˣ)``, torch's, linear above 20)."""
    check_choice("activation", name, ACTIVATIONS)
    return {
        "relu": torch.relu,
        "linear": lambda z: z,
        "gelu": F.gelu,
        "softplus": F.softplus,
    }[name]


def hidden(W: Tensor, x: Tensor, hidden_activation: str = "none") -> Tensor:
    """``h = W x`` or ``ReLU(W x)``: x (instances, batch, features) -> (instances, batch, hidden)."""
    check_choice("hidden_activation", hidden_activation, HIDDEN_ACTIVATIONS)
    h = torch.einsum("imn,ibn->ibm", W, x)
    return torch.relu(h) if hidden_activation == "relu" else h


def reconstruct(
    W: Tensor,
    b: Tensor,
    x: Tensor,
    activation: str = "relu",
    *,
    hidden_activation: str = "none",
    W_dec: Tensor | None = None,
) -> Tensor:
    """``x'`` for ``x`` of shape ``(instances, batch, features)``; returns the same shape.
    ``W_dec`` (instances, n, m) is the untied decoder (``None``: tied, ``W_dec = Wᵀ``)."""
    _check_shapes(W=W, b=b, x=x, W_dec=W_dec)
    check_choice("activation", activation, ACTIVATIONS)
    h = hidden(W, x, hidden_activation)  # (instances, batch, hidden)
    if W_dec is None:
        z = torch.einsum("imn,ibm->ibn", W, h)
    else:
        z = torch.einsum("inm,ibm->ibn", W_dec, h)
    return output_activation(activation)(z + b[:, None, :])  # (instances, batch, features)


def target_values(x: Tensor, target: str = "identity") -> Tensor:
    """What the model is trained to output: ``x`` or ``|x|``."""
    check_choice("target", target, TARGETS)
    return x.abs() if target == "abs" else x


def loss_per_instance(
    W: Tensor,
    b: Tensor,
    x: Tensor,
    importance: Tensor,
    activation: str = "relu",
    reduction: str = "sum",
    *,
    hidden_activation: str = "none",
    W_dec: Tensor | None = None,
    target: str = "identity",
) -> Tensor:
    """``L = mean_batch Σ_i I_i (t_i - x'_i)²`` per instance, shape ``(instances,)``, with
    ``t = x`` or ``|x|`` (``target``); no penalty (:func:`penalty_per_instance`).

    ``importance`` has shape ``(instances, features)``. ``reduction="mean"`` divides by the number
    of features (the reference notebook's convention).
    """
    _check_shapes(W=W, b=b, x=x, importance=importance, W_dec=W_dec)
    check_choice("reduction", reduction, REDUCTIONS)
    out = reconstruct(W, b, x, activation, hidden_activation=hidden_activation, W_dec=W_dec)
    err = importance[:, None, :] * (target_values(x, target) - out) ** 2
    loss = err.sum(-1).mean(-1)
    return loss / x.shape[-1] if reduction == "mean" else loss


def penalty_per_instance(
    W: Tensor,
    x: Tensor,
    *,
    hidden_activation: str = "none",
    W_dec: Tensor | None = None,
    l1_hidden: float = 0.0,
    l1_weights: float = 0.0,
) -> Tensor:
    """``l1_hidden · mean_batch Σ_j |h_j| + l1_weights · Σ|W|`` (plus ``Σ|W_dec|`` when untied)
    per instance, shape ``(instances,)``; x (instances, batch, features)."""
    _check_shapes(W=W, x=x, W_dec=W_dec)
    h = hidden(W, x, hidden_activation)
    out = l1_hidden * h.abs().sum(-1).mean(-1) + l1_weights * W.abs().sum((1, 2))
    return out if W_dec is None else out + l1_weights * W_dec.abs().sum((1, 2))


class ToyModel(nn.Module):
    """A batch of toy models: ``W`` (instances, m, n), ``b`` (instances, n) and, when the config is
    untied, ``W_dec`` (instances, n, m) (``None`` when tied)."""

    W_dec: nn.Parameter | None

    def __init__(
        self,
        config: ModelConfig,
        n_instances: int,
        *,
        generator: torch.Generator,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if not isinstance(config, ModelConfig):
            raise TypeError(f"config must be a ModelConfig, got {config!r}")
        n_instances = check_int("n_instances", n_instances)
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {generator!r}")
        self.config = config
        self.W = nn.Parameter(init_weights(config, n_instances, generator=generator, dtype=dtype))
        self.b = nn.Parameter(
            torch.full((n_instances, config.n_features), config.bias_init, dtype=dtype)
        )
        if config.tied:
            self.W_dec = None
        else:
            self.W_dec = nn.Parameter(
                init_decoder(config, self.W, generator=generator, dtype=dtype)
            )

    def hidden(self, x: Tensor) -> Tensor:
        """``h`` (after the hidden activation): (instances, batch, features) -> (instances,
        batch, hidden)."""
        return hidden(self.W, x, self.config.hidden_activation)

    def forward(self, x: Tensor) -> Tensor:
        """``x'``: (instances, batch, features) -> (instances, batch, features)."""
        return reconstruct(
            self.W, self.b, x, self.config.activation,
            hidden_activation=self.config.hidden_activation, W_dec=self.W_dec,
        )  # fmt: skip
