"""The founding design: a symmetric network whose hidden widths halve.

Hidden widths halve from the input size down to the latent size (unless
``hidden_dims`` is given), the decoder mirrors the encoder, hidden layers use
ReLU (switched to LeakyReLU by the dead-unit monitor when asked), the code is
linear and the output a sigmoid, for data in [0, 1]. He/Xavier initialisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..layers import DenseStack, halving_widths, n_parameters, stack_overrides
from .base import Family, check_common
from .registry import register_family


@dataclass
class HalvingConfig:
    """Everything needed to rebuild a `HalvingNet` (no weights)."""

    n_features: int  # width of the input and of the reconstruction
    latent_dim: int = 1000  # width of the code; must be < n_features (undercomplete)
    hidden_dims: tuple[int, ...] | None = None  # encoder hidden widths; None: halving
    activation: str = "relu"  # hidden-layer activation, see layers.HIDDEN_ACTIVATIONS
    # per-layer overrides, e.g. {"encoder.1": "leaky_relu"} after a dead-unit switch
    layer_activations: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_common(self)

    @property
    def widths(self) -> list[int]:
        """Encoder widths from input to code, e.g. [784, 392, 196, 98, 49, 32]."""
        return [self.n_features, *HALVING.hidden_of(self), self.latent_dim]

    def to_dict(self) -> dict[str, Any]:
        return HALVING.config_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HalvingConfig:
        return cls(**d)


class HalvingNet(nn.Module):
    """A fully connected autoencoder: ``forward(x) = decode(encode(x))``.

    Parameters
    ----------
    config : HalvingConfig
        The architecture.

    Examples
    --------
    >>> net = HalvingNet(HalvingConfig(n_features=64, latent_dim=8))
    >>> net.config.widths
    [64, 32, 16, 8]
    >>> net(torch.rand(5, 64)).shape
    torch.Size([5, 64])
    """

    def __init__(self, config: HalvingConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        acts = config.layer_activations
        self.encoder = DenseStack(
            widths, config.activation, "identity", stack_overrides("encoder", acts)
        )
        self.decoder = DenseStack(
            widths[::-1], config.activation, "sigmoid", stack_overrides("decoder", acts)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-normal before ReLU-like units, Xavier-normal elsewhere, zero bias."""
        self.encoder.reset_parameters()
        self.decoder.reset_parameters()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_features) -> (batch, latent_dim)"""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(batch, latent_dim) -> (batch, n_features), values in (0, 1)"""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def n_parameters(self) -> int:
        return n_parameters(self)


class Halving(Family):
    name = "halving"
    config_class = HalvingConfig
    summary = (
        "symmetric network, hidden widths halving to the code, ReLU, linear code, "
        "sigmoid output"
    )

    is_base = True

    def hidden_widths(self, n_features: int, latent_dim: int) -> list[int]:
        return halving_widths(n_features, latent_dim)

    def build(self, config: HalvingConfig) -> nn.Module:
        return HalvingNet(config)

    def architecture(self, module: Any) -> str:
        widths = module.config.widths
        return " → ".join(str(w) for w in [*widths, *widths[-2::-1]])


HALVING = register_family(Halving())

# the founding names, kept: models and code written before families were named
AEConfig = HalvingConfig
AutoEncoderNet = HalvingNet
