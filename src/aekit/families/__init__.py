"""The model families, one module each, registered by name in `aekit.registry`.

- `halving`: the founding design (widths halving to the code, sigmoid output);
- `pca_anchored`: starts as the PCA of its size and learns a correction.

`base` says what a family is; see docs/families.md for when to pick which.
"""

from __future__ import annotations

from .base import Family, reconstruction_loss
from .halving import AEConfig, AutoEncoderNet
from .pca_anchored import PCAAnchoredConfig, PCAAnchoredNet

__all__ = [
    "AEConfig",
    "AutoEncoderNet",
    "Family",
    "PCAAnchoredConfig",
    "PCAAnchoredNet",
    "reconstruction_loss",
]
