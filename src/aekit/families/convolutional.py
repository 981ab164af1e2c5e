"""Convolutional autoencoder for rows that are images.

Each row is an image of shape ``image_shape`` (option; ``"HxW"`` or ``"HxWxC"``,
the row being the image flattened in that order, channels last). When it is
not given, a row of n features is a square ``sqrt(n) x sqrt(n)`` one-channel
image when n is a square, and otherwise a ``1 x n`` strip (a one-dimensional
signal). The resolved shape is stored in the model's config.

Encoder: one 3x3 convolution of stride 2 (padding 1) per entry of
``hidden_dims`` (its channels; default 16, 32), each halving the height and
width (rounding up), then a linear map to the code. Decoder: a linear map back
to the last feature map, then transposed convolutions mirroring the encoder
back to the exact image size, the last with a sigmoid output (data in [0, 1]).

Not composable with the PCA-anchored start: a PCA map is dense over all
pixels, which is what the convolutions are there to avoid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..kernels import Dense
from ..layers import RELU_LIKE, check_hidden_activation, get_activation
from .base import Family, check_undercomplete, check_widths
from .options import Option, check_declared, option
from .registry import register_family

DEFAULT_CHANNELS = (16, 32)


def parse_image_shape(value: Any, n_features: int) -> tuple[int, int, int]:
    """(H, W, C) from "HxW", "HxWxC", a sequence of 2 or 3 ints, or None (inferred)."""
    if value is None:
        side = math.isqrt(n_features)
        return (side, side, 1) if side * side == n_features else (1, n_features, 1)
    if isinstance(value, str):
        parts = value.lower().split("x")
        try:
            dims = [int(p) for p in parts]
        except ValueError:
            dims = []
    elif isinstance(value, (list, tuple)) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        dims = list(value)
    else:
        dims = []
    if len(dims) not in (2, 3) or any(v < 1 for v in dims):
        raise ValueError(
            f"image_shape must be 'HxW' or 'HxWxC' with positive sizes, got {value!r}"
        )
    shape = (dims[0], dims[1], dims[2] if len(dims) == 3 else 1)
    if math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape {'x'.join(map(str, shape))} has {math.prod(shape)} values, "
            f"but the rows have {n_features} features"
        )
    return shape


def _shape_like(v: Any) -> bool:
    """None, a string, or a list of 2 or 3 positive ints (the sizes are checked later)."""
    if v is None or isinstance(v, str):
        return True
    return (
        isinstance(v, (list, tuple))
        and len(v) in (2, 3)
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in v)
    )


IMAGE_SHAPE = Option(
    _shape_like,
    lambda: (
        "'HxW' or 'HxWxC' (sizes whose product is the number of features), "
        "or none to infer it"
    ),
)


def halve(n: int) -> int:
    """Output size of a 3x3 convolution of stride 2, padding 1."""
    return (n + 1) // 2


@dataclass
class ConvolutionalConfig:
    """Everything needed to rebuild a `ConvolutionalNet` (no weights)."""

    n_features: int
    latent_dim: int = 1000
    hidden_dims: tuple[int, ...] | None = (
        None  # channels per strided conv; None: 16, 32
    )
    activation: str = "relu"
    # "HxW", "HxWxC" or None (inferred); stored as [H, W, C]
    image_shape: Any = option(None, IMAGE_SHAPE)

    def __post_init__(self) -> None:
        self.n_features = int(self.n_features)
        self.latent_dim = int(self.latent_dim)
        check_undercomplete(self.n_features, self.latent_dim)
        self.hidden_dims = check_widths(self.hidden_dims)
        if self.hidden_dims == ():
            raise ValueError(
                "the convolutional family needs at least one channel width"
            )
        check_hidden_activation(self.activation)
        check_declared(self)
        self.image_shape = parse_image_shape(self.image_shape, self.n_features)

    @property
    def channels(self) -> list[int]:
        return list(self.hidden_dims or DEFAULT_CHANNELS)

    @property
    def sizes(self) -> list[tuple[int, int]]:
        """(height, width) of the image and of each feature map."""
        h, w, _ = self.image_shape
        out = [(h, w)]
        for _ in self.channels:
            h, w = halve(h), halve(w)
            out.append((h, w))
        return out


class ConvolutionalNet(nn.Module):
    """Strided convolutions to a linear code; transposed convolutions back.

    Examples
    --------
    >>> net = ConvolutionalNet(ConvolutionalConfig(n_features=64, latent_dim=8))
    >>> net.config.image_shape, net.config.sizes
    ((8, 8, 1), [(8, 8), (4, 4), (2, 2)])
    >>> net(torch.rand(5, 64)).shape
    torch.Size([5, 64])
    """

    def __init__(self, config: ConvolutionalConfig) -> None:
        super().__init__()
        self.config = config
        _, _, c_in = config.image_shape
        chans, sizes = [c_in, *config.channels], config.sizes
        enc: list[nn.Module] = []
        for a, b in zip(chans[:-1], chans[1:], strict=True):
            enc += [
                nn.Conv2d(a, b, 3, stride=2, padding=1),
                get_activation(config.activation),
            ]
        self.conv_encoder = nn.Sequential(*enc)
        h, w = sizes[-1]
        flat = chans[-1] * h * w
        self.to_code = Dense(flat, config.latent_dim)
        self.from_code = Dense(config.latent_dim, flat)
        self.from_code_act = get_activation(config.activation)
        dec: list[nn.Module] = []
        for i in range(len(chans) - 1, 0, -1):
            (ho, wo), (hi, wi) = sizes[i - 1], sizes[i]
            pad = (ho - (2 * hi - 1), wo - (2 * wi - 1))  # 0 or 1: the exact size
            dec += [
                nn.ConvTranspose2d(
                    chans[i], chans[i - 1], 3, stride=2, padding=1, output_padding=pad
                ),
                get_activation("sigmoid" if i == 1 else config.activation),
            ]
        self.conv_decoder = nn.Sequential(*dec)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """He-normal before ReLU-like units, Xavier-normal elsewhere, zero bias."""
        layers = [
            *self.conv_encoder,
            self.to_code,
            nn.Identity(),
            self.from_code,
            self.from_code_act,
            *self.conv_decoder,
        ]
        for layer, act in zip(layers[:-1], layers[1:], strict=True):
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                if isinstance(act, RELU_LIKE):
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                else:
                    nn.init.xavier_normal_(layer.weight)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_features) -> (batch, latent_dim)"""
        h, w, c = self.config.image_shape
        img = x.reshape(x.shape[0], h, w, c).permute(0, 3, 1, 2)
        return self.to_code(self.conv_encoder(img).flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(batch, latent_dim) -> (batch, n_features), values in (0, 1)"""
        (h, w), c = self.config.sizes[-1], self.config.channels[-1]
        m = self.from_code_act(self.from_code(z)).reshape(z.shape[0], c, h, w)
        return self.conv_decoder(m).permute(0, 2, 3, 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class Convolutional(Family):
    name = "convolutional"
    # widths are channels: a convolution costs channels_in x channels_out per
    # pixel, so the dense families' range (up to 1024) would cost tens of
    # times a dense layer's; 8-128 keeps a trial within a few times of theirs
    search_space = {"width": {"low": 8, "high": 128, "log": True}}
    config_class = ConvolutionalConfig
    summary = (
        "convolutional, for rows that are images (image_shape HxW or HxWxC): "
        "strided 3x3 convolutions, linear code, transposed convolutions, sigmoid output"
    )

    def build(self, config: ConvolutionalConfig) -> nn.Module:
        return ConvolutionalNet(config)

    def architecture(self, module: Any) -> str:
        c = module.config
        (h, w, ch), sizes = c.image_shape, c.sizes
        maps = [f"{ch}@{h}x{w}"] + [
            f"{k}@{a}x{b}" for k, (a, b) in zip(c.channels, sizes[1:], strict=True)
        ]
        enc = " → ".join(maps)
        dec = " → ".join(maps[::-1])
        return f"conv {enc} → code {c.latent_dim} → {dec} (transposed conv)"

    def layers(self, module: Any) -> list[dict[str, Any]]:
        out = []
        mods = dict(module.named_modules())
        names = list(mods)
        for i, name in enumerate(names):
            m = mods[name]
            if isinstance(m, nn.ConvTranspose2d | nn.Conv2d):
                kind, n_in, n_out = type(m).__name__, m.in_channels, m.out_channels
            elif isinstance(m, nn.Linear):
                kind, n_in, n_out = "Linear", m.in_features, m.out_features
            else:
                continue
            nxt = mods[names[i + 1]] if i + 1 < len(names) else None
            act_is_next = nxt is not None and not isinstance(
                nxt, nn.Linear | nn.Conv2d | nn.ConvTranspose2d | nn.Sequential
            )
            out.append(
                {
                    "layer": name,
                    "kind": kind,
                    "in": n_in,
                    "out": n_out,
                    "activation_layer": names[i + 1] if act_is_next else "",
                    "activation": _act(nxt) if act_is_next else "linear",
                }
            )
        return out


def _act(m: Any) -> str:
    from .base import act_name

    return act_name(m)


CONVOLUTIONAL = register_family(Convolutional())
