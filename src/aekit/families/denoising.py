"""Denoising autoencoder: reconstruct each clean row from a corrupted copy.

In training (the objective's ``rng`` draws the noise, so a resumed fit draws
the same noise), each batch is corrupted before it is encoded, and the loss
compares the reconstruction with the clean rows. The validation loss scores
the same task with noise drawn from a generator of fixed seed (the same
corruption of the same rows at every epoch), so that early stopping and the
best epoch follow what training optimises, not clean reconstruction (which a
denoising model gives up a little of). transform and reconstruct see rows as
they are: the noise is never applied outside the objective. Option ``noise``:

- ``"gaussian"``: add N(0, ``level``^2) to every value;
- ``"mask"``: set a share ``level`` of the values to 0 (input dropout);
- ``"swap"``: replace a share ``level`` of the values with the same column of
  another row of the batch, drawn at random (noise that keeps each column's
  distribution, for tables whose columns have different scales or meanings).

Either base network (option ``base``, see `penalized`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .base import Parts, reconstruction_loss
from .options import choice, number, option
from .penalized import PenalizedConfig, PenalizedFamily
from .registry import register_family

NOISES = ("gaussian", "mask", "swap")
EVAL_SEED = 0  # the validation noise's generator seed


@dataclass
class DenoisingConfig(PenalizedConfig):
    """A base network's config with the training noise."""

    noise: str = option("mask", choice(lambda: list(NOISES)))
    # gaussian: standard deviation (of data in [0, 1]); mask, swap: share of values
    level: float = option(0.2, number(0, 10))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.noise != "gaussian" and self.level > 1:
            raise ValueError(
                f"level is a share for {self.noise} noise: <= 1, got {self.level}"
            )


def corrupt(
    xb: torch.Tensor, noise: str, level: float, rng: torch.Generator
) -> torch.Tensor:
    """A corrupted copy of the batch `xb`, the noise drawn from `rng`."""
    if noise == "gaussian":
        return xb + level * torch.randn(xb.shape, generator=rng, device=xb.device).to(
            xb.dtype
        )
    hit = torch.rand(xb.shape, generator=rng, device=xb.device) < level
    if noise == "mask":
        return xb.masked_fill(hit, 0.0)
    donors = torch.randint(0, len(xb), xb.shape, generator=rng, device=xb.device)
    return torch.where(hit, xb.gather(0, donors), xb)


class Denoising(PenalizedFamily):
    name = "denoising"
    search_space = {
        "noise": ["mask", "gaussian", "swap"],
        "level": {"low": 0.05, "high": 0.5, "log": True},
    }
    config_class = DenoisingConfig
    summary = (
        "denoising: learns to reconstruct clean rows from corrupted ones "
        "(gaussian, mask or swap noise in training only), on the pca_anchored "
        "or halving network"
    )

    def objective(
        self, module: Any, xb: torch.Tensor, *, loss: str, rng: torch.Generator | None
    ) -> tuple[torch.Tensor, Parts]:
        c: DenoisingConfig = module.config
        if rng is None:  # evaluation: the same noise every time
            rng = torch.Generator(device=xb.device).manual_seed(EVAL_SEED)
        seen = corrupt(xb, c.noise, c.level, rng)
        recon = reconstruction_loss(module(seen), xb, loss)
        return recon, {}


DENOISING = register_family(Denoising())
