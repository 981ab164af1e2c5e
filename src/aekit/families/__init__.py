"""The model families, one module each, registered by name in `aekit.registry`.

- `halving`: the founding design (widths halving to the code, sigmoid output);
- `pca_anchored`: starts as the PCA of its size and learns a correction;
- `sparse`, `denoising`, `contractive`: a penalty or training noise on top of
  either of those networks (`penalized`);
- `variational`: a beta-VAE, which can also draw new rows;
- `convolutional`: for rows that are images.

`base` says what a family is; see docs/families.md and docs/variants.md for when
to pick which.
"""

from __future__ import annotations

from .base import Family, reconstruction_loss
from .contractive import ContractiveConfig
from .convolutional import ConvolutionalConfig, ConvolutionalNet
from .denoising import DenoisingConfig
from .halving import AEConfig, AutoEncoderNet
from .pca_anchored import PCAAnchoredConfig, PCAAnchoredNet
from .sparse import SparseConfig  # noqa: I001  (each import registers a family)
from .variational import VariationalConfig, VariationalNet

__all__ = [
    "AEConfig",
    "AutoEncoderNet",
    "ContractiveConfig",
    "ConvolutionalConfig",
    "ConvolutionalNet",
    "DenoisingConfig",
    "Family",
    "PCAAnchoredConfig",
    "PCAAnchoredNet",
    "SparseConfig",
    "VariationalConfig",
    "VariationalNet",
    "reconstruction_loss",
]
