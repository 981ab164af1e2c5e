"""Names to factories: activations, losses and model families, with their getters."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from .families.base import Family

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


# model families by name, filled by `register_family` as aekit.families loads
FAMILIES: dict[str, Family] = {}
DEFAULT_FAMILY = "pca_anchored"

FamilyT = TypeVar("FamilyT", bound="Family")


def register_family(family: FamilyT) -> FamilyT:
    """Register a `Family` instance under its ``name``; return it.

    A family registered from any module (a plugin, a test) trains, saves,
    loads and resumes like the built-in ones once that module is imported.
    """
    name = getattr(family, "name", "")
    if not isinstance(name, str) or not name:
        raise ValueError("a family needs a non-empty string name")
    FAMILIES[name] = family
    return family


def get_family(name: Any) -> Family:
    """The registered family called `name`."""
    from . import families  # noqa: F401  (registers the built-in families)

    if not isinstance(name, str) or name not in FAMILIES:
        raise _unknown("model", name, FAMILIES)
    return FAMILIES[name]
