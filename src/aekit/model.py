"""The autoencoder as plain torch modules, and the config that rebuilds it.

The default design is undercomplete and symmetric: hidden widths halve from the
input size down to the latent size, the decoder mirrors the encoder, hidden
layers use ReLU, the latent code is linear and the output is a sigmoid (data in
[0, 1]).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from .kernels import Dense
from .registry import check_hidden_activation, get_activation


@dataclass
class AEConfig:
    """Everything needed to rebuild an `AutoEncoderNet` (no weights)."""

    n_features: int  # width of the input and of the reconstruction
    latent_dim: int = 1000  # width of the code; must be < n_features (undercomplete)
    hidden_dims: tuple[int, ...] | None = (
        None  # encoder hidden widths; None: halving rule
    )
    activation: str = "relu"  # hidden-layer activation, see registry.HIDDEN_ACTIVATIONS
    # per-layer overrides, e.g. {"encoder.1": "leaky_relu"} after a dead-unit switch
    layer_activations: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.n_features = int(self.n_features)
        self.latent_dim = int(self.latent_dim)
        if self.n_features < 2:
            raise ValueError(
                f"X has {self.n_features} feature(s), but an autoencoder needs at least "
                "2 features to compress into a smaller code"
            )
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {self.latent_dim}")
        if self.latent_dim >= self.n_features:
            raise ValueError(
                f"latent_dim={self.latent_dim} is not smaller than the number of "
                f"features ({self.n_features}); an undercomplete autoencoder needs "
                f"latent_dim < {self.n_features}, e.g. latent_dim="
                f"{max(1, self.n_features // 4)}"
            )
        if self.hidden_dims is not None:
            dims = tuple(int(h) for h in self.hidden_dims)
            if any(h < 1 for h in dims):
                raise ValueError(f"hidden_dims must be positive widths, got {dims}")
            self.hidden_dims = dims
        check_hidden_activation(self.activation)
        for act in self.layer_activations.values():
            check_hidden_activation(act)

    @property
    def widths(self) -> list[int]:
        """Encoder widths from input to code, e.g. [784, 392, 196, 98, 49, 32]."""
        hidden = (
            list(self.hidden_dims)
            if self.hidden_dims is not None
            else halving_widths(self.n_features, self.latent_dim)
        )
        return [self.n_features, *hidden, self.latent_dim]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden_dims"] = None if self.hidden_dims is None else list(self.hidden_dims)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AEConfig:
        return cls(**d)


def halving_widths(n_features: int, latent_dim: int) -> list[int]:
    """Hidden widths n//2, n//4, ... while still greater than `latent_dim`.

    >>> halving_widths(4096, 1000)
    [2048, 1024]
    >>> halving_widths(784, 32)
    [392, 196, 98, 49]
    """
    widths = []
    w = n_features // 2
    while w > latent_dim:
        widths.append(w)
        w //= 2
    return widths


def _stack(widths: list[int], cfg: AEConfig, prefix: str, last: str) -> nn.Sequential:
    """Linear layers between consecutive widths, hidden activations between them."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(Dense(n_in, n_out))
        is_last = i == len(widths) - 2
        name = f"{prefix}.{len(layers)}"
        act = last if is_last else cfg.layer_activations.get(name, cfg.activation)
        layers.append(get_activation(act))
    return nn.Sequential(*layers)


class AutoEncoderNet(nn.Module):
    """A fully connected autoencoder: ``forward(x) = decode(encode(x))``.

    Parameters
    ----------
    config : AEConfig
        The architecture.

    Examples
    --------
    >>> net = AutoEncoderNet(AEConfig(n_features=64, latent_dim=8))
    >>> net.config.widths
    [64, 32, 16, 8]
    >>> net(torch.rand(5, 64)).shape
    torch.Size([5, 64])
    """

    def __init__(self, config: AEConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        self.encoder = _stack(widths, config, "encoder", last="identity")
        self.decoder = _stack(widths[::-1], config, "decoder", last="sigmoid")
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """He-normal weights before ReLU-like units, Xavier-normal elsewhere, zero bias.

        PyTorch's default Linear init (uniform, std 1/sqrt(3 fan_in)) shrinks the
        signal at every ReLU layer; through the 4-7 layers a side that the halving
        rule gives, the first layer got ~3e-3 of the last layer's gradient, and the
        network lost to PCA (benchmarks/RESULTS.md, docs/sigmoid-gradients.md).
        """
        for stack in (self.encoder, self.decoder):
            for i in range(0, len(stack), 2):
                layer, act = stack[i], stack[i + 1]
                assert isinstance(layer, nn.Linear)
                if isinstance(act, nn.ReLU | nn.LeakyReLU | nn.ELU | nn.GELU):
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                else:  # tanh, the linear code, the sigmoid output
                    nn.init.xavier_normal_(layer.weight)
                nn.init.zeros_(layer.bias)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_features) -> (batch, latent_dim)"""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(batch, latent_dim) -> (batch, n_features), values in (0, 1)"""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def hidden_layers(self) -> Iterator[tuple[str, nn.Sequential, int]]:
        """(name, stack, index) of every hidden activation module, e.g. "encoder.1"."""
        for prefix, stack in (("encoder", self.encoder), ("decoder", self.decoder)):
            n = len(stack)
            for i in range(1, n - 1, 2):  # the last activation is the code/output
                yield f"{prefix}.{i}", stack, i

    def forward_with_preactivations(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Reconstruction and the input of every hidden activation, by layer name."""
        pre: dict[str, torch.Tensor] = {}
        h = x
        for prefix, stack in (("encoder", self.encoder), ("decoder", self.decoder)):
            n = len(stack)
            for i, layer in enumerate(stack):
                if i % 2 == 1 and i < n - 1:
                    pre[f"{prefix}.{i}"] = h
                h = layer(h)
        return h, pre

    def switch_activation(self, name: str, activation: str = "leaky_relu") -> None:
        """Replace the hidden activation `name` in place, keeping all weights."""
        prefix, idx = name.split(".")
        stack = self.encoder if prefix == "encoder" else self.decoder
        stack[int(idx)] = get_activation(activation)
        self.config.layer_activations[name] = activation

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
