"""What sparse, denoising and contractive autoencoders share: either base network.

These variants change the objective, not the network, so each one trains on
top of either base architecture, chosen by the option ``base``:
``"pca_anchored"`` (the default, as for the plain model: the module starts as
the PCA of its size) or ``"halving"`` (the founding design); any registered
family with ``is_base`` can be one. The module is exactly the base family's,
built by it from the variant's config (which hands its width questions to the
base), so weights, the dead-unit monitor and activation switches behave as
they do for the base.

A variant subclasses `PenalizedConfig` (adding its options) and
`PenalizedFamily` (overriding `objective`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from ..layers import DenseStack
from .base import Family, check_common
from .options import BOOLEAN, check_declared, choice, option
from .pca_anchored import CLIP_OUTPUT
from .registry import FAMILIES, get_family


def base_names() -> list[str]:
    """The registered families a penalized variant can train on (``base``)."""
    return sorted(name for name, f in FAMILIES.items() if f.is_base)


@dataclass
class PenalizedConfig:
    """The options of either base network, and which one (``base``)."""

    n_features: int
    latent_dim: int = 1000
    hidden_dims: tuple[int, ...] | None = None  # None: the base's width rule
    activation: str = "relu"
    # the network: "pca_anchored" or "halving"
    base: str = option("pca_anchored", choice(base_names))
    # pca_anchored base: the PCA maps train (False: frozen)
    train_pca: bool = option(True, BOOLEAN)
    # pca_anchored base: see PCAAnchoredConfig
    clip_output: bool | str = option("auto", CLIP_OUTPUT)
    layer_activations: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_common(self)
        check_declared(self)

    @property
    def hidden(self) -> list[int]:
        """Hidden widths, by the base family's rule unless ``hidden_dims`` is given."""
        return get_family(self.base).hidden_of(self)

    @property
    def widths(self) -> list[int]:
        """Encoder widths from input to code (what a dense base builds)."""
        return [self.n_features, *self.hidden, self.latent_dim]


class PenalizedFamily(Family):
    """A base network (``config.base``) with the variant's objective."""

    needs_pca: ClassVar[bool] = True  # the pca_anchored base starts from it
    start_is_candidate: ClassVar[bool] = True  # the PCA start counts, as for its base

    def start_candidate(self, config: Any) -> bool:
        return get_family(config.base).start_candidate(config)

    def build(self, config: Any) -> nn.Module:
        return get_family(config.base).build(config)

    def unit_output(self, config: Any) -> bool:
        return get_family(config.base).unit_output(config)

    def initialize(self, module: Any, pca: Any = None, rows: Any = None) -> None:
        get_family(module.config.base).initialize(module, pca, rows)

    def base_family(self, module: Any) -> Family:
        return get_family(module.config.base)

    def architecture(self, module: Any) -> str:
        return f"{module.config.base} base: " + self.base_family(module).architecture(
            module
        )


@contextmanager
def hidden_inputs(stack: DenseStack) -> Iterator[list[torch.Tensor]]:
    """Collect the inputs (pre-activations) of `stack`'s hidden activations, in order."""
    seen: list[torch.Tensor] = []
    handles = [
        stack[i].register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
        for i in stack.hidden()
    ]
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()
