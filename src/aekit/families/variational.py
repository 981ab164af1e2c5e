"""Variational autoencoder (beta-VAE): a Gaussian code, sampled in training.

The encoder gives each row a mean and a log-variance of a diagonal Gaussian
over the code; training draws one code per row by reparameterisation
(``z = mu + exp(logvar / 2) * eps``, eps from the objective's ``rng``, so a
resumed fit draws the same codes) and minimises the negative ELBO with the KL
term weighted by ``beta``:

    per row: nll(x | decode(z)) + beta * KL(N(mu, sigma^2) || N(0, I))

divided by n_features (the loss stays on the scale of a per-value loss). The
likelihood follows the estimator's ``loss``: ``"mse"`` is a Gaussian with
standard deviation ``sigma`` (nll = squared error / (2 sigma^2), constant
dropped), ``"bce"`` a Bernoulli (nll = cross-entropy; data in [0, 1]).

The history records ``reconstruction`` (the mean per-value loss, as for the
other families) and ``kl`` (nats per row). In evaluation, ``transform``
and ``reconstruct`` use the means: they are deterministic. `sample` draws new
rows by decoding codes drawn from the prior.

Not composable with the PCA-anchored start: the code is a distribution whose
scale the KL term sets, and a PCA code (whose variances are the data's) would
be pulled away from its start at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..kernels import Dense
from ..layers import DenseStack, stack_overrides
from .base import Family, Parts, check_common, reconstruction_loss
from .options import check_declared, number, option
from .pca_anchored import correction_widths
from .registry import register_family

LOGVAR_BOUND = 20.0  # log-variances are clamped to +-20 (e^20: no overflow in exp)


@dataclass
class VariationalConfig:
    """Everything needed to rebuild a `VariationalNet` (no weights)."""

    n_features: int
    latent_dim: int = 1000
    hidden_dims: tuple[int, ...] | None = None  # None: min(512, d/2), then half
    activation: str = "relu"
    beta: float = option(1.0, number(0, 1000))  # weight of the KL term (1: the ELBO)
    # loss="mse": the Gaussian likelihood's standard deviation (of data in [0, 1];
    # the loss is divided by 2 sigma^2, which float32 cannot hold below 1e-3 long)
    sigma: float = option(0.1, number(1e-3, 1000))
    layer_activations: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_common(self)
        check_declared(self)

    @property
    def hidden(self) -> list[int]:
        """Hidden widths: ``hidden_dims``, else the pca_anchored correction rule."""
        return VARIATIONAL.hidden_of(self)


class VariationalNet(nn.Module):
    """Encoder to (mean, log-variance) of the code; decoder with a sigmoid output.

    Examples
    --------
    >>> net = VariationalNet(VariationalConfig(n_features=64, latent_dim=8))
    >>> net.encode(torch.rand(5, 64)).shape
    torch.Size([5, 8])
    """

    def __init__(self, config: VariationalConfig) -> None:
        super().__init__()
        self.config = config
        d, k, h = config.n_features, config.latent_dim, config.hidden
        acts = config.layer_activations
        # the encoder's last hidden layer is followed by its activation too
        self.encoder = DenseStack(
            [d, *h],
            config.activation,
            config.activation,
            stack_overrides("encoder", acts),
        )
        width = h[-1] if h else d
        self.mean = Dense(width, k)
        self.logvar = Dense(width, k)
        self.decoder = DenseStack(
            [k, *h[::-1], d],
            config.activation,
            "sigmoid",
            stack_overrides("decoder", acts),
        )
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        self.encoder.reset_parameters()
        self.decoder.reset_parameters()
        for lin in (self.mean, self.logvar):
            nn.init.xavier_normal_(lin.weight)
            nn.init.zeros_(lin.bias)
        self.logvar.weight.mul_(0.1)  # start with unit variances, near

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-variance) of each row's code."""
        h = self.encoder(x)
        return self.mean(h), self.logvar(h).clamp(-LOGVAR_BOUND, LOGVAR_BOUND)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_features) -> the code means (batch, latent_dim)"""
        return self.mean(self.encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(batch, latent_dim) -> (batch, n_features), values in (0, 1)"""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def kl_to_prior(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per row, (batch,)."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(dim=1)


class Variational(Family):
    name = "variational"

    def hidden_widths(self, n_features: int, latent_dim: int) -> list[int]:
        return correction_widths(n_features, latent_dim)

    search_space = {"beta": {"low": 1e-3, "high": 1.0, "log": True}}
    config_class = VariationalConfig
    summary = (
        "variational (beta-VAE): Gaussian code sampled in training, KL to N(0, I) "
        "weighted by beta; transform gives the means; sample draws new rows"
    )

    def build(self, config: VariationalConfig) -> nn.Module:
        return VariationalNet(config)

    def objective(
        self, module: Any, xb: torch.Tensor, *, loss: str, rng: torch.Generator | None
    ) -> tuple[torch.Tensor, Parts]:
        c: VariationalConfig = module.config
        mu, logvar = module.posterior(xb)
        z = mu
        if rng is not None:
            eps = torch.randn(mu.shape, generator=rng, device=mu.device).to(mu.dtype)
            z = mu + torch.exp(0.5 * logvar) * eps
        recon = reconstruction_loss(module.decode(z), xb, loss)
        kl = kl_to_prior(mu, logvar).mean()
        nll_per_value = recon / (2 * c.sigma**2) if loss == "mse" else recon
        total = nll_per_value + c.beta * kl / c.n_features
        return total, {"reconstruction": recon, "kl": kl}

    def sample(self, module: Any, n: int, generator: torch.Generator) -> torch.Tensor:
        """`n` new rows in [0, 1]: decoded codes drawn from the prior N(0, I)."""
        device = next(module.parameters()).device
        z = torch.randn(
            (n, module.config.latent_dim), generator=generator, device=generator.device
        )
        return module.decode(z.to(device))


VARIATIONAL = register_family(Variational())
