"""The sparse autoencoder's configuration (frozen, validated, JSON round trip).

Three kinds of SAE on the toy model's hidden activations ``h`` (m,), each with ``width`` latents
(docs/sae.md, "Kinds"):

- ``"relu"``: ``z = ReLU(W_enc (h − b_dec) + b_enc)``, loss ``‖h − ĥ‖² + l1 · Σ_j z_j`` with the
  decoder columns kept at unit norm (Bricken et al. 2023, *Towards Monosemanticity*);
- ``"topk"``: only the ``k`` largest pre-activations are kept (then a ReLU), loss ``‖h − ĥ‖²``
  (Gao et al. 2024, *Scaling and evaluating sparse autoencoders*);
- ``"jumprelu"``: ``z_j = π_j H(π_j − θ_j)`` with a learned threshold ``θ_j > 0`` per latent, loss
  ``‖h − ĥ‖² + l0 · Σ_j H(π_j − θ_j)`` (Rajamanoharan et al. 2024, *Jumping Ahead*), trained
  through pseudo-derivatives of bandwidth ``bandwidth``.

Every kind reconstructs ``ĥ = W_dec z + b_dec`` with unit-norm decoder columns, and resamples dead
latents every ``resample_every`` steps during the first ``resample_until`` of training.
"""

from __future__ import annotations

from dataclasses import dataclass

from toysup._validation import check_choice, check_float, check_int
from toysup.config import _JsonConfig

KINDS = ("relu", "topk", "jumprelu")

#: Default L1 coefficient of the ReLU SAE (per unit of code, inputs of norm ~0.5; docs/sae.md).
DEFAULT_L1 = 0.1
#: Default L0 coefficient of the JumpReLU SAE (the squared error an active latent must save).
DEFAULT_L0 = 0.1
#: Default JumpReLU kernel bandwidth ε and initial threshold θ (pre-activations are O(0.1–1)).
DEFAULT_BANDWIDTH = 0.05
DEFAULT_THRESHOLD = 0.1


@dataclass(frozen=True, kw_only=True)
class SAEConfig(_JsonConfig):
    """One sparse autoencoder architecture and objective.

    Attributes:
        width: latents (dictionary size), ≥ 1.
        kind: ``"relu"``, ``"topk"`` or ``"jumprelu"``.
        l1: L1 coefficient (``"relu"`` only; default :data:`DEFAULT_L1`), ≥ 0.
        k: active latents per example (``"topk"`` only, required), ``1 ≤ k ≤ width``.
        l0: L0 coefficient (``"jumprelu"`` only; default :data:`DEFAULT_L0`), ≥ 0.
        bandwidth: ε of the JumpReLU pseudo-derivatives' rectangle kernel, > 0.
        threshold_init: initial JumpReLU threshold θ, > 0.
        resample_every: steps between dead-latent resamplings (a latent is dead when it has not
            fired since the previous one); ``None`` never resamples.
        resample_until: fraction of training in [0, 1] after which no latent is resampled (so
            the last resampled latents have time to settle).
    """

    width: int
    kind: str = "relu"
    l1: float | None = None
    k: int | None = None
    l0: float | None = None
    bandwidth: float = DEFAULT_BANDWIDTH
    threshold_init: float = DEFAULT_THRESHOLD
    resample_every: int | None = 250
    resample_until: float = 0.5

    def __post_init__(self) -> None:
        width = check_int("width", self.width)
        object.__setattr__(self, "width", width)
        kind = check_choice("kind", self.kind, KINDS)
        for name, owner in (("l1", "relu"), ("k", "topk"), ("l0", "jumprelu")):
            if kind != owner and getattr(self, name) is not None:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} applies only to kind={owner!r}, "
                    f"not kind={kind!r}; leave it None"
                )
        if kind == "relu":
            l1 = DEFAULT_L1 if self.l1 is None else check_float("l1", self.l1, minimum=0.0)
            object.__setattr__(self, "l1", l1)
        if kind == "jumprelu":
            l0 = DEFAULT_L0 if self.l0 is None else check_float("l0", self.l0, minimum=0.0)
            object.__setattr__(self, "l0", l0)
        if kind == "topk":
            if self.k is None:
                raise ValueError(
                    f"kind='topk' needs k (active latents, an integer 1 <= k <= {width}), "
                    f"got k={self.k!r}"
                )
            k = check_int("k", self.k)
            if k > width:
                raise ValueError(f"k must be <= width ({width}), got k={k}")
            object.__setattr__(self, "k", k)
        object.__setattr__(
            self, "bandwidth", check_float("bandwidth", self.bandwidth, exclusive_minimum=0.0)
        )
        object.__setattr__(
            self,
            "threshold_init",
            check_float("threshold_init", self.threshold_init, exclusive_minimum=0.0),
        )
        if self.resample_every is not None:
            object.__setattr__(
                self, "resample_every", check_int("resample_every", self.resample_every)
            )
        object.__setattr__(
            self,
            "resample_until",
            check_float("resample_until", self.resample_until, minimum=0.0, maximum=1.0),
        )

    @property
    def penalty(self) -> float:
        """The sparsity coefficient of the objective: ``l1`` (relu), ``l0`` (jumprelu), 0 (topk)."""
        if self.kind == "relu":
            return float(self.l1)  # type: ignore[arg-type]
        if self.kind == "jumprelu":
            return float(self.l0)  # type: ignore[arg-type]
        return 0.0

    @property
    def label(self) -> str:
        """A short name: ``relu w40 l1=0.01``, ``topk w40 k=3``, ``jumprelu w40 l0=0.003``."""
        if self.kind == "topk":
            return f"topk w{self.width} k={self.k}"
        name = "l1" if self.kind == "relu" else "l0"
        return f"{self.kind} w{self.width} {name}={self.penalty:g}"
