"""What the trackers log, as flat names and numbers: parameters, epochs, the fit's scores.

MLflow and TensorBoard get the same names: an epoch's ``train_loss``,
``val_loss``, ``dead_fraction/LAYER`` (and ``train_parts/PART``,
``val_parts/PART`` for families with a penalty), and at the end of a fit its
fit-time scores under ``final/`` on the validation and training rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

MLFLOW_EXTRA = "MLflow tracking needs mlflow: pip install aekit[mlflow]"
TENSORBOARD_EXTRA = (
    "TensorBoard logging needs tensorboard: pip install aekit[tensorboard]"
)


def import_mlflow() -> Any:
    """The ``mlflow`` module; ImportError naming the extra when it is missing."""
    try:
        import mlflow
        from mlflow.tracking import MlflowClient  # noqa: F401
    except ImportError:
        raise ImportError(MLFLOW_EXTRA) from None
    return mlflow


def import_summary_writer() -> Any:
    """torch's ``SummaryWriter``; ImportError naming the extra without tensorboard."""
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ImportError(TENSORBOARD_EXTRA) from None
    return SummaryWriter


def param_values(params: Mapping[str, Any]) -> dict[str, str]:
    """The estimator's parameters as text: scalars as they are, the rest as JSON."""
    out = {}
    for k, v in params.items():
        if v is None or isinstance(v, (bool, int, float, str)):
            out[k] = str(v)
        else:
            out[k] = json.dumps(v, sort_keys=True, default=str)
    return out


def epoch_values(record: Mapping[str, Any]) -> dict[str, float]:
    """One epoch's record (``state.history[-1]``) as metric names and values."""
    out = {"train_loss": float(record["train_loss"])}
    if record.get("val_loss") is not None:
        out["val_loss"] = float(record["val_loss"])
    for layer, share in (record.get("dead_fraction") or {}).items():
        out[f"dead_fraction/{layer}"] = float(share)
    for key in ("train_parts", "val_parts"):
        for part, value in (record.get(key) or {}).items():
            out[f"{key}/{part}"] = float(value)
    return out


def probe_values(probes: Mapping[str, Any] | None) -> dict[str, float]:
    """Probe accuracies (`aekit.evaluate.probe_model`) as ``final/probe/...`` values.

    ``final/probe/REPRESENTATION/PROBE`` for the autoencoder's codes, the PCA's
    and the raw features, logistic and k-NN; empty when the probes were skipped.
    """
    out: dict[str, float] = {}
    for rep, res in ((probes or {}).get("results") or {}).items():
        for name in ("logistic", "knn"):
            if isinstance(res.get(name), float):
                out[f"final/probe/{rep}/{name}"] = res[name]
    return out


def fit_values(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    """A fit's scores (``FitRecord.metrics``) as ``final/...`` names and values.

    The autoencoder's and the PCA's MSE, MAE and R^2 on each split, and the
    ratio of their validation MSEs (below 1: the autoencoder wins); empty
    without an evaluation.
    """
    if not metrics:
        return {}
    out: dict[str, float] = {}
    for model in ("autoencoder", "pca"):
        for split in ("validation", "train"):
            scores = (metrics.get(model) or {}).get(split) or {}
            for name, value in scores.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out[f"final/{model}/{split}/{name}"] = float(value)
    ae = out.get("final/autoencoder/validation/mse")
    pca = out.get("final/pca/validation/mse")
    if ae is not None and pca:
        out["final/mse_ratio_to_pca"] = ae / pca
    threshold = (metrics.get("threshold") or {}).get("value")
    if isinstance(threshold, (int, float)):
        out["final/anomaly_threshold"] = float(threshold)
    return {k: v for k, v in out.items() if math.isfinite(v)}
