"""Per-column min-max scaling to [0, 1], fitted on training rows and stored with a model.

Columns that are constant in the training rows map to 0 (no division by zero)
and are reconstructed as exactly that constant. New data outside the training range is *not*
clipped: it maps outside [0, 1], the encoder sees the true distance, and the
reconstruction error (sigmoid output, bounded to the training range) grows with
it, which is what anomaly scores want.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DataError


@dataclass
class MinMaxScaling:
    """``x_scaled = (x - data_min) / data_range``, per column, float32."""

    data_min: np.ndarray  # (n_features,) float32
    data_range: np.ndarray  # (n_features,) float32, 0 for constant columns

    @classmethod
    def fit(cls, X: np.ndarray) -> MinMaxScaling:
        lo, hi = X.min(axis=0), X.max(axis=0)
        return cls(lo.astype(np.float32), (hi - lo).astype(np.float32))

    @property
    def divisor(self) -> np.ndarray:
        """What the shifted values are divided by: the range, 1 for constant columns."""
        return np.where(self.data_range > 0, self.data_range, np.float32(1))

    def transform(self, X: np.ndarray) -> np.ndarray:
        out = np.subtract(X, self.data_min, dtype=np.float32)  # one new array,
        np.divide(out, self.divisor, out=out)  # then in place: no temporaries
        return out

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        out = np.multiply(X, self.data_range, dtype=np.float32)
        np.add(out, self.data_min, out=out)
        return out

    def to_dict(self) -> dict[str, list[float]]:
        return {
            "data_min": self.data_min.tolist(),
            "data_range": self.data_range.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, list[float]], n_features: int) -> MinMaxScaling:
        lo = np.asarray(d["data_min"], dtype=np.float32)
        rng = np.asarray(d["data_range"], dtype=np.float32)
        if lo.shape != (n_features,) or rng.shape != (n_features,):
            raise ValueError(
                f"scaling has {lo.shape[0] if lo.ndim else 0} values, expected {n_features}"
            )
        if not (np.isfinite(lo).all() and np.isfinite(rng).all() and (rng >= 0).all()):
            raise ValueError("scaling values must be finite with a non-negative range")
        return cls(lo, rng)


def check_unit_range(X: np.ndarray) -> None:
    """Refuse data outside [0, 1] when scaling is off, naming the column and the fix."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    bad = np.flatnonzero((lo < 0) | (hi > 1))
    if bad.size:
        j = int(bad[0])
        raise ValueError(
            f"X has values outside [0, 1] (column {j} spans {float(lo[j]):g} to "
            f"{float(hi[j]):g}) but scale=False; set scale=True to min-max scale "
            "each column to [0, 1] with the training rows' range"
        )


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
