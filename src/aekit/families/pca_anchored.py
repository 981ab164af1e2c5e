"""An autoencoder that starts as the PCA of its size and learns what PCA misses.

code = (x - mean) W^T + g(x), reconstruction = mean + z W + f(z), where W holds
the top principal components of the training rows and g, f are small ReLU
networks whose last layers start at zero. At the first step the model *is*
the PCA; everything then trains together. Early stopping counts that starting
point, so a table on which a network cannot beat the PCA keeps the PCA.

The output is linear: a sigmoid cannot start exactly at the PCA's
reconstruction (it would need infinite pre-activations at 0 and 1, and bends
everything in between). Outside training, reconstructions are clipped to the
training range of the features that look bounded: a feature whose training
rows sit exactly on their minimum (or maximum) in at least BOUND_SHARE of the
rows (a pixel's 0, a count's 0) is a bounded measurement and is clipped to
[0, 1] on both sides; a measurement whose extremes are single rows is not,
since new rows go beyond them (clipping every feature to [0, 1] cost 17% of
held-out MSE on scikit-learn's wine, and gained 14-20% on images).
``clip_output`` "auto" (the default), True (every feature to [0, 1]) or False
(never).

When no epoch beats the start on the validation rows, the start is rebuilt
from the PCA of all rows passed to fit (training and validation), so such a
model is exactly the PCA a user would have fitted on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..kernels import Dense
from ..layers import DenseStack, n_parameters, stack_overrides
from .base import Family, check_common
from .options import BOOLEAN, check_declared, choice, option
from .registry import register_family

MAX_HIDDEN = 512  # widest correction layer
BOUND_SHARE = 0.05  # share of training rows exactly at a feature's min/max: a bound
BIG = float(torch.finfo(torch.float32).max)  # "no bound"


CLIP_OUTPUT = choice(lambda: ["auto", True, False])


def correction_widths(n_features: int, latent_dim: int) -> list[int]:
    """Hidden widths of the correction networks: min(512, d/2), then half of it.

    >>> correction_widths(784, 32)
    [392, 196]
    >>> correction_widths(4096, 32)
    [512, 256]
    """
    h1 = max(min(MAX_HIDDEN, n_features // 2), latent_dim, 2)
    return [h1, max(h1 // 2, latent_dim, 2)]


@dataclass
class PCAAnchoredConfig:
    """Everything needed to rebuild a `PCAAnchoredNet` (no weights)."""

    n_features: int  # width of the input and of the reconstruction
    latent_dim: int = 1000  # width of the code; must be < n_features
    hidden_dims: tuple[int, ...] | None = None  # correction widths; None: the rule
    activation: str = "relu"  # hidden activation of the corrections
    # the PCA maps train with the rest (False: frozen)
    train_pca: bool = option(True, BOOLEAN)
    # outside training: "auto", True or False
    clip_output: bool | str = option("auto", CLIP_OUTPUT)
    # per-layer overrides, e.g. {"encoder.1": "leaky_relu"} after a dead-unit switch
    layer_activations: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_common(self)
        check_declared(self)

    @property
    def hidden(self) -> list[int]:
        """Widths of the correction networks' hidden layers."""
        return PCA_ANCHORED.hidden_of(self)


class PCAAnchoredNet(nn.Module):
    """PCA maps plus zero-started nonlinear corrections, in both directions.

    Examples
    --------
    >>> net = PCAAnchoredNet(PCAAnchoredConfig(n_features=64, latent_dim=8))
    >>> net(torch.rand(5, 64)).shape
    torch.Size([5, 64])
    """

    lower: torch.Tensor
    upper: torch.Tensor

    def __init__(self, config: PCAAnchoredConfig) -> None:
        super().__init__()
        self.config = config
        d, k, h = config.n_features, config.latent_dim, config.hidden
        acts = config.layer_activations
        self.pca_encoder = Dense(d, k)  # (x - mean) W^T at the start
        self.pca_decoder = Dense(k, d)  # mean + z W at the start
        self.encoder = DenseStack(
            [d, *h, k], config.activation, "identity", stack_overrides("encoder", acts)
        )
        self.decoder = DenseStack(
            [k, *h[::-1], d],
            config.activation,
            "identity",
            stack_overrides("decoder", acts),
        )
        # per-feature bounds of the reconstruction outside training, in [0, 1]
        # space; float32's extremes where unbounded (model files hold no inf)
        lo, hi = (0.0, 1.0) if config.clip_output is True else (-BIG, BIG)
        self.register_buffer("lower", torch.full((d,), lo))
        self.register_buffer("upper", torch.full((d,), hi))
        self.reset_parameters()
        for p in (*self.pca_encoder.parameters(), *self.pca_decoder.parameters()):
            p.requires_grad_(config.train_pca)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """He init in the corrections, their last layers zero; Xavier PCA maps."""
        for stack in (self.encoder, self.decoder):
            stack.reset_parameters()
            last = stack.linears()[-1]
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        for lin in (self.pca_encoder, self.pca_decoder):
            nn.init.xavier_normal_(lin.weight)
            nn.init.zeros_(lin.bias)

    @torch.no_grad()
    def set_pca(self, components: np.ndarray, mean: np.ndarray) -> None:
        """Make the linear maps the PCA's: W (k', d) with k' <= latent_dim, mean (d,).

        Code dimensions beyond the PCA's k' components start at zero.
        """
        # fresh copies: a reversed view (as eigh's output is) has negative strides
        W = torch.from_numpy(np.array(components, np.float32, order="C", copy=True))
        m = torch.from_numpy(np.array(mean, np.float32, order="C", copy=True))
        k = W.shape[0]
        dev = self.pca_encoder.weight.device
        W, m = W.to(dev), m.to(dev)
        enc, dec = self.pca_encoder, self.pca_decoder
        enc.weight.zero_()
        enc.bias.zero_()
        dec.weight.zero_()
        enc.weight[:k] = W
        enc.bias[:k] = -(W @ m)
        dec.weight[:, :k] = W.T
        dec.bias.copy_(m)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_features) -> (batch, latent_dim)"""
        return self.pca_encoder(x) + self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(batch, latent_dim) -> (batch, n_features); see ``clip_output``."""
        r = self.pca_decoder(z) + self.decoder(z)
        if self.config.clip_output is not False and not self.training:
            return torch.clamp(r, self.lower, self.upper)
        return r

    @torch.no_grad()
    def set_bounds(self, rows: Any) -> None:
        """Clip, outside training, the features whose rows pile up at 0 or 1.

        `rows` are the training rows in [0, 1] space (`ScaledRows`): a feature
        with at least BOUND_SHARE of them exactly at 0 (its minimum) or at 1
        (its maximum) is clipped to [0, 1].
        """
        if self.config.clip_output != "auto":
            return
        d = self.config.n_features
        at_low, at_high, n = torch.zeros(d), torch.zeros(d), 0
        for xb in rows.chunks(4096):
            xb = xb.float().cpu()
            at_low += (xb <= 0).sum(dim=0)
            at_high += (xb >= 1).sum(dim=0)
            n += len(xb)
        share = BOUND_SHARE * max(n, 1)
        bounded = (at_low >= share) | (at_high >= share)
        big = torch.tensor(BIG)
        self.lower.copy_(torch.where(bounded, torch.tensor(0.0), -big))
        self.upper.copy_(torch.where(bounded, torch.tensor(1.0), big))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def n_parameters(self) -> int:
        return n_parameters(self)


class PCAAnchored(Family):
    name = "pca_anchored"
    config_class = PCAAnchoredConfig
    summary = (
        "starts as the PCA of its size; ReLU corrections learn what PCA misses; "
        "linear output"
    )
    needs_pca = True
    start_is_candidate = True
    test_start = True
    is_base = True

    def hidden_widths(self, n_features: int, latent_dim: int) -> list[int]:
        return correction_widths(n_features, latent_dim)

    def unit_output(self, config: Any) -> bool:
        return False  # a linear output: the PCA's reconstruction plus corrections

    def build(self, config: PCAAnchoredConfig) -> nn.Module:
        return PCAAnchoredNet(config)

    def initialize(self, module: Any, pca: Any = None, rows: Any = None) -> None:
        if pca is not None:
            module.set_pca(pca.components, pca.mean)
        if rows is not None:
            module.set_bounds(rows)

    def architecture(self, module: Any) -> str:
        c = module.config
        h = c.hidden
        enc = " → ".join(str(w) for w in [c.n_features, *h, c.latent_dim])
        dec = " → ".join(str(w) for w in [c.latent_dim, *h[::-1], c.n_features])
        return (
            f"PCA {c.n_features} → {c.latent_dim} + correction {enc}; "
            f"PCA {c.latent_dim} → {c.n_features} + correction {dec}"
        )


PCA_ANCHORED = register_family(PCAAnchored())
