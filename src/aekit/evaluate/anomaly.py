"""Anomaly scores: per-row reconstruction errors and the threshold that flags rows.

The threshold is calibrated at fit time (`fit_time_evaluation`) as the
THRESHOLD_QUANTILE of the per-row errors of the rows passed to `fit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..fitted import FittedModel

THRESHOLD_QUANTILE = 0.99  # anomaly threshold: this quantile of the fit rows' errors


def score_table(
    model: FittedModel,
    X: Any,
    *,
    per_feature: bool = False,
    feature_names: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Per-row anomaly scores of X as columns, ready to write as a table.

    Columns: ``row`` (0-based position in X), ``reconstruction_error`` (mean
    squared error over the features in the scaled space; higher is more
    anomalous), ``is_anomaly`` (error above ``model.threshold``; left out when
    the model has no threshold) and, with `per_feature`, one
    ``error_<feature>`` column of squared errors per feature.

    Examples
    --------
    >>> from aekit import AutoEncoder
    >>> X = np.random.default_rng(0).random((100, 8))
    >>> ae = AutoEncoder(latent_dim=2, max_epochs=2, random_state=0, verbose=0).fit(X)
    >>> sorted(score_table(ae.fitted_, X[:5]))
    ['is_anomaly', 'reconstruction_error', 'row']
    """
    E = model.errors(model.rows(model.validate(X)), per_feature=True)  # (n, features)
    err = E.mean(axis=1)
    cols: dict[str, np.ndarray] = {
        "row": np.arange(len(err)),
        "reconstruction_error": err,
    }
    if model.threshold is not None:
        cols["is_anomaly"] = err > model.threshold
    if per_feature:
        for name, col in zip(model.feature_labels(feature_names), E.T, strict=True):
            cols[f"error_{name}"] = col
    return cols
