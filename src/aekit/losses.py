"""Reconstruction losses by name: (prediction in [0, 1], target in [0, 1]) -> mean."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse": F.mse_loss,
    "bce": F.binary_cross_entropy,
}


def get_loss(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Return the loss function for `name` (one of `LOSSES`)."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose from {sorted(LOSSES)}")
    return LOSSES[name]
