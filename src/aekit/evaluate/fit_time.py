"""What `fit` computes besides the network: baseline scores, model scores, threshold."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..data.rows import ScaledRows
from ..fitted import EVAL_BATCH
from ..pca import PCABaseline
from ..train import EVAL_VALUES
from .anomaly import THRESHOLD_QUANTILE
from .metrics import ErrorSums

if TYPE_CHECKING:
    from ..fitted import FittedModel


def fit_time_evaluation(
    fitted: FittedModel,
    train: ScaledRows,
    val: ScaledRows | None,
    base: PCABaseline | None,
    info: dict[str, Any],
) -> tuple[PCABaseline | None, dict[str, Any], float]:
    """Held-out scores of a just-fitted model and its PCA baseline, and the threshold.

    Returns ``(pca_, metrics_, threshold_)``. `train` and `val` are the
    training and validation rows passed to `fit`; `base` and `info` are what
    `fit_baseline` gave for the training rows (computed once per fit, before
    training, since a family may start from it). Both models are scored on
    both splits, a chunk at a time.
    """
    n_features = train.X.shape[1]
    metrics: dict[str, Any] = {
        "space": "scaled [0, 1]",
        "rows": {"train": len(train), "validation": len(val) if val else 0},
        "autoencoder": {},
        "pca": info,
    }
    row_errors = []
    size = max(1, min(EVAL_BATCH, EVAL_VALUES // (4 * n_features)))  # 2 work buffers
    project = None if base is None else base.projection(fitted.device)
    for split, rows in (("train", train), ("validation", val)):
        if not rows:
            metrics["autoencoder"][split] = info[split] = None
            continue
        ae = ErrorSums(n_features)
        pca = ErrorSums(n_features, targets=ae)  # the same rows: their sums once
        row_errors.append(_score_rows(fitted, rows, size, project, ae, pca))
        metrics["autoencoder"][split] = ae.result(per_feature=False)
        info[split] = pca.result(per_feature=False) if base is not None else None
    row_error = np.concatenate(row_errors)
    threshold = float(np.quantile(row_error, THRESHOLD_QUANTILE))
    metrics["threshold"] = {
        "value": threshold,
        "quantile": THRESHOLD_QUANTILE,
        "rows": len(row_error),
        "of": "per-row MSE of all rows passed to fit (training and validation)",
    }
    return (base if info["stored"] else None), metrics, threshold


def _score_rows(
    fitted: FittedModel,
    rows: ScaledRows,
    size: int,
    project: Callable[[torch.Tensor], torch.Tensor] | None,
    ae: ErrorSums,
    pca: ErrorSums,
) -> np.ndarray:
    """Both models' error sums over `rows`, in torch; the model's per-row errors.

    One forward pass per chunk of `size` rows; the PCA's sums read the
    model's sums of the targets (the same rows).
    """

    def score(xb: torch.Tensor) -> torch.Tensor:
        row = ae.add(xb, fitted.module(xb))
        if project is not None:
            pca.add(xb, project(xb))
        return row

    return np.concatenate(
        [fitted.apply(score, ScaledRows(chunk)) for chunk in rows.chunks(size)]
    )

