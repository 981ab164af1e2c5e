"""Activations and losses by name: plain dict registries and their getters."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}

# (prediction in [0,1], target in [0,1]) -> scalar mean loss
LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse": F.mse_loss,
    "bce": F.binary_cross_entropy,
}

HIDDEN_ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh")


def _unknown(kind: str, name: object, choices: object) -> ValueError:
    return ValueError(f"unknown {kind} {name!r}; choose from {sorted(choices)}")  # type: ignore[call-overload]


def get_activation(name: str) -> nn.Module:
    """Return a new activation module for `name` (one of `ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise _unknown("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name]()


def check_hidden_activation(name: str) -> str:
    """Validate a hidden-layer activation name and return it."""
    if name not in HIDDEN_ACTIVATIONS:
        raise _unknown("activation", name, HIDDEN_ACTIVATIONS)
    return name


def get_loss(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Return the loss function for `name` (one of `LOSSES`)."""
    if name not in LOSSES:
        raise _unknown("loss", name, LOSSES)
    return LOSSES[name]
