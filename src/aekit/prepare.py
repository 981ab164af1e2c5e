"""From a user's array to what training needs: device, float32, scaling, the split."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .errors import DataError
from .scaling import MinMaxScaling

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; 'cuda' without a GPU is refused."""
    if not isinstance(device, str) or device.split(":")[0] not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose from {list(DEVICES)}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but no CUDA GPU is available; use device='cpu'"
        )
    return torch.device(device)


def as_codes(Z: Any, latent_dim: int) -> np.ndarray:
    from sklearn.utils import check_array

    Z = check_array(Z, dtype=[np.float32, np.float64])
    if Z.shape[1] != latent_dim:
        raise ValueError(
            f"X has {Z.shape[1]} features, but inverse_transform is expecting "
            f"{latent_dim} latent dimensions as input"
        )
    return np.asarray(Z, dtype=np.float32)


def as_float32(X: np.ndarray) -> np.ndarray:
    """X as float32, refusing values beyond float32's range (they would become inf)."""
    with np.errstate(over="ignore"):
        X32 = np.asarray(X, dtype=np.float32)
    if X32 is not X and not np.isfinite(X32).all():
        j = int(np.flatnonzero(~np.isfinite(X32).all(axis=0))[0])
        raise DataError(
            f"X has values too large for float32 in column {j} (up to "
            f"{float(np.abs(X[:, j]).max()):g}); aekit computes in float32, whose "
            f"largest value is {float(np.finfo(np.float32).max):.4g}: rescale that "
            "column"
        )
    return X32


def fit_scaling(X: np.ndarray) -> MinMaxScaling:
    """Min-max scaling of X, refusing a column whose range overflows float32."""
    with np.errstate(over="ignore"):
        scaling = MinMaxScaling.fit(X)
    if not np.isfinite(scaling.data_range).all():
        j = int(np.flatnonzero(~np.isfinite(scaling.data_range))[0])
        raise DataError(
            f"column {j} of X spans {float(X[:, j].min()):g} to "
            f"{float(X[:, j].max()):g}, a range too wide for float32; rescale that column"
        )
    return scaling


def split_rows(
    n: int, validation_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of range(n) into (train, validation) row indices; train keeps >= 1 row."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = min(int(round(n * validation_fraction)), n - 1)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])
