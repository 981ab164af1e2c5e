"""What `AutoEncoder.fit` computes besides the network: baseline, scores, threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..train import EVAL_BATCH
from .anomaly import THRESHOLD_QUANTILE
from .baseline import PCABaseline, fit_baseline
from .metrics import _Errors, _recon_unit

if TYPE_CHECKING:
    from ..estimator import AutoEncoder


def fit_time_evaluation(
    est: AutoEncoder, Xu: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray
) -> tuple[PCABaseline | None, dict[str, Any], float]:
    """PCA baseline, held-out scores and the anomaly threshold of a just-fitted model.

    Returns ``(pca_, metrics_, threshold_)``. Xu holds all rows passed to
    `fit`, scaled; the PCA is fitted on ``Xu[train_idx]`` and both models are
    scored on ``Xu[train_idx]`` and ``Xu[val_idx]``.
    """
    base, info = fit_baseline(Xu[train_idx], est._n_features_out, int(est.seed_))
    metrics: dict[str, Any] = {
        "space": "scaled [0, 1]",
        "rows": {"train": int(len(train_idx)), "validation": int(len(val_idx))},
        "autoencoder": {},
        "pca": info,
    }
    row_error = np.empty(len(Xu))
    for split, idx in (("train", train_idx), ("validation", val_idx)):
        if len(idx) == 0:
            metrics["autoencoder"][split] = info[split] = None
            continue
        ae, pca = _Errors(Xu.shape[1]), _Errors(Xu.shape[1])
        for i in range(0, len(idx), EVAL_BATCH):
            rows = idx[i : i + EVAL_BATCH]
            A = Xu[rows]
            row_error[rows] = ae.add(A, _recon_unit(est, A))
            if base is not None:
                pca.add(A, base.reconstruct(A))
        metrics["autoencoder"][split] = ae.result(per_feature=False)
        info[split] = pca.result(per_feature=False) if base is not None else None
    threshold = float(np.quantile(row_error, THRESHOLD_QUANTILE))
    metrics["threshold"] = {
        "value": threshold,
        "quantile": THRESHOLD_QUANTILE,
        "rows": int(len(Xu)),
        "of": "per-row MSE of all rows passed to fit (training and validation)",
    }
    return (base if info["stored"] else None), metrics, threshold
