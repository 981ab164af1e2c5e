"""Reconstruction errors in the model's [0, 1] scaled space: MSE, MAE and R^2.

`ErrorSums` sums them chunk by chunk, per feature, so that any number of rows
fits in memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor


def _tensor(A: ArrayLike) -> torch.Tensor:
    """A float32 tensor of A on its device, sharing its memory where it can."""
    t = A if isinstance(A, torch.Tensor) else torch.from_numpy(np.asarray(A))
    return t.detach().float()


def _f64(t: torch.Tensor) -> np.ndarray:
    return t.double().cpu().numpy()


class ErrorSums:
    """Streaming per-feature sums for MSE, MAE and R^2 of one model.

    ``targets``: another `ErrorSums` fed the same targets chunk for chunk (a
    second model scored on the same rows), whose sums of the targets this
    one reads instead of summing them again.
    """

    def __init__(self, n_features: int, targets: ErrorSums | None = None) -> None:
        self.n = 0
        self.sse = np.zeros(n_features)
        self.sae = np.zeros(n_features)
        self.sx = np.zeros(n_features)
        self.sxx = np.zeros(n_features)
        self.targets = targets
        self._work: tuple[torch.Tensor, torch.Tensor] | None = None  # see `add`

    def add(self, A: ArrayLike, R: ArrayLike) -> torch.Tensor:
        """Add a chunk of targets A and reconstructions R; return its per-row MSE.

        Each chunk is summed in float32 (torch's cascade sums, on the rows'
        device; a relative error near 1e-7) into two work buffers kept from
        chunk to chunk, the chunks' sums in float64: on MNIST the float64
        NumPy version of the same cost more than the model's forward pass
        (`benchmarks/fit_evaluation.py`).
        """
        a, r = _tensor(A), _tensor(R)
        if self._work is None or self._work[0].shape[0] < len(a):
            self._work = (torch.empty_like(a), torch.empty_like(a))
        d, tmp = (w[: len(a)] for w in self._work)
        torch.sub(r, a, out=d)
        self.sae += _f64(torch.abs(d, out=tmp).sum(dim=0))
        d2 = d.mul_(d)
        self.n += len(a)
        self.sse += _f64(d2.sum(dim=0))
        if self.targets is None:
            self.sx += _f64(a.sum(dim=0))
            self.sxx += _f64(torch.mul(a, a, out=tmp).sum(dim=0))
        return d2.mean(dim=1)

    def result(self, per_feature: bool = True) -> dict[str, Any]:
        n = max(self.n, 1)
        sx, sxx = (self.sx, self.sxx) if self.targets is None else (
            self.targets.sx, self.targets.sxx
        )
        sst = np.maximum(sxx - sx**2 / n, 0.0)
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
