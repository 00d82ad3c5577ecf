"""Sparse autoencoders on toy-model activations (docs/sae.md).

SAEs of three kinds (ReLU with an L1 penalty, TopK, JumpReLU) trained on fresh hidden
activations ``h = W x`` of a trained toy model, batched over the toy model's configurations and
several SAE seeds, on CPU or CUDA, reproducible by seed::

    from toysup.sae import SAEConfig, train_sae
    sae = train_sae(result, SAEConfig(width=40, kind="topk", k=3))
    sae.W_dec.shape  # (configurations, m, 40): unit-norm dictionary of the best seed

Scoring against the true features: :func:`verify.sae.recovery`.
"""

from toysup.sae.config import KINDS as KINDS
from toysup.sae.config import SAEConfig as SAEConfig
from toysup.sae.models import activate as activate
from toysup.sae.models import decode as decode
from toysup.sae.models import hidden as hidden
from toysup.sae.models import pre_activations as pre_activations
from toysup.sae.result import SAEResult as SAEResult
from toysup.sae.train import DEFAULT_TRAINING as DEFAULT_TRAINING
from toysup.sae.train import train_sae as train_sae

__all__ = [
    "DEFAULT_TRAINING",
    "KINDS",
    "SAEConfig",
    "SAEResult",
    "activate",
    "decode",
    "hidden",
    "pre_activations",
    "train_sae",
]
