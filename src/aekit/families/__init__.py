"""The model families, one module each, and their registry.

- `halving`: the founding design (widths halving to the code, sigmoid output);
- `pca_anchored`: starts as the PCA of its size and learns a correction;
- `sparse`, `denoising`, `contractive`: a penalty or training noise on top of
  either of those networks (`penalized`);
- `variational`: a beta-VAE, which can also draw new rows;
- `convolutional`: for rows that are images.

`base` says what a family is, `registry` holds them by name. Importing this
package imports every built-in family, and each registers itself, so the
registry is complete once `aekit.families` is imported. See docs/families.md
and docs/variants.md for when to pick which.
"""

from __future__ import annotations

from .base import Family, reconstruction_loss
from .contractive import ContractiveConfig
from .convolutional import ConvolutionalConfig, ConvolutionalNet
from .denoising import DenoisingConfig
from .halving import AEConfig, AutoEncoderNet, HalvingConfig, HalvingNet
from .pca_anchored import PCAAnchoredConfig, PCAAnchoredNet
from .registry import (
    DEFAULT_FAMILY,
    FAMILIES,
    family_names,
    get_family,
    register_family,
)
from .sparse import SparseConfig
from .variational import VariationalConfig, VariationalNet

__all__ = [
    "AEConfig",
    "AutoEncoderNet",
    "ContractiveConfig",
    "ConvolutionalConfig",
    "ConvolutionalNet",
    "DEFAULT_FAMILY",
    "DenoisingConfig",
    "FAMILIES",
    "Family",
    "HalvingConfig",
    "HalvingNet",
    "PCAAnchoredConfig",
    "PCAAnchoredNet",
    "SparseConfig",
    "VariationalConfig",
    "VariationalNet",
    "family_names",
    "get_family",
    "reconstruction_loss",
    "register_family",
]
