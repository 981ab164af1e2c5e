"""Anomaly scores: per-row reconstruction errors and the threshold that flags rows.

The threshold is calibrated at fit time (`fit_time_evaluation`) as the
THRESHOLD_QUANTILE of the per-row errors of the rows passed to `fit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .metrics import _feature_names

if TYPE_CHECKING:
    from ..estimator import AutoEncoder

THRESHOLD_QUANTILE = 0.99  # anomaly threshold: this quantile of the fit rows' errors


def score_table(
    est: AutoEncoder,
    X: Any,
    *,
    per_feature: bool = False,
    feature_names: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Per-row anomaly scores of X as columns, ready to write as a table.

    Columns: ``row`` (0-based position in X), ``reconstruction_error`` (mean
    squared error over the features in the scaled space; higher is more
    anomalous), ``is_anomaly`` (error above ``est.threshold_``; left out when
    the model has no threshold) and, with `per_feature`, one
    ``error_<feature>`` column of squared errors per feature.

    Examples
    --------
    >>> from aekit import AutoEncoder
    >>> X = np.random.default_rng(0).random((100, 8))
    >>> ae = AutoEncoder(latent_dim=2, max_epochs=2, random_state=0, verbose=0).fit(X)
    >>> sorted(score_table(ae, X[:5]))
    ['is_anomaly', 'reconstruction_error', 'row']
    """
    E = est.reconstruction_error(X, per_feature=True)  # (n_samples, n_features)
    err = E.mean(axis=1)
    cols: dict[str, np.ndarray] = {
        "row": np.arange(len(err)),
        "reconstruction_error": err,
    }
    threshold = getattr(est, "threshold_", None)
    if threshold is not None:
        cols["is_anomaly"] = err > threshold
    if per_feature:
        for name, col in zip(
            _feature_names(est, E.shape[1], feature_names), E.T, strict=False
        ):
            cols[f"error_{name}"] = col
    return cols
