"""Reconstruction errors in the model's [0, 1] scaled space: MSE, MAE and R^2.

`ErrorSums` sums them chunk by chunk, per feature, so that any number of rows
fits in memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class ErrorSums:
    """Streaming per-feature sums for MSE, MAE and R^2 of one model."""

    def __init__(self, n_features: int) -> None:
        self.n = 0
        self.sse = np.zeros(n_features)
        self.sae = np.zeros(n_features)
        self.sx = np.zeros(n_features)
        self.sxx = np.zeros(n_features)

    def add(self, A: np.ndarray, R: np.ndarray) -> np.ndarray:
        """Add a chunk of targets A and reconstructions R; return its per-row MSE."""
        A64 = A.astype(np.float64)
        d = R.astype(np.float64) - A64
        self.n += len(A)
        self.sse += (d**2).sum(axis=0)
        self.sae += np.abs(d).sum(axis=0)
        self.sx += A64.sum(axis=0)
        self.sxx += (A64**2).sum(axis=0)
        return (d**2).mean(axis=1)

    def result(self, per_feature: bool = True) -> dict[str, Any]:
        n = max(self.n, 1)
        sst = np.maximum(self.sxx - self.sx**2 / n, 0.0)
        # sklearn's force_finite rule for a constant feature: 1 if exact, else 0
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(
                sst > 0, 1 - self.sse / sst, np.where(self.sse == 0, 1.0, 0.0)
            )
        total_sst = sst.sum()
        out: dict[str, Any] = {
            "mse": float(self.sse.sum() / (n * len(self.sse))),
            "mae": float(self.sae.sum() / (n * len(self.sae))),
            # share of the total variance explained (variance-weighted R^2)
            "r2": float(1 - self.sse.sum() / total_sst) if total_sst > 0 else None,
        }
        if per_feature:
            out["per_feature"] = {
                "mse": (self.sse / n).tolist(),
                "mae": (self.sae / n).tolist(),
                "r2": r2.tolist(),
            }
        return out
