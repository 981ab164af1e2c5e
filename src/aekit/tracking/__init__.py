"""Experiment tracking: training callbacks that log fits to MLflow and TensorBoard.

Each is an optional extra (``pip install aekit[mlflow]``,
``aekit[tensorboard]``), imported when a logger is made. The modules:
`values` (the names and numbers logged), `mlflow_logger` (`MLflowLogger`),
`tensorboard_logger` (`TensorBoardLogger`), `study` (`MLflowStudy`, a search
as a parent run with a nested run per trial). `aekit.callbacks` gathers them
with the other callbacks.
"""

from __future__ import annotations

from .mlflow_logger import MLflowLogger
from .study import MLflowStudy
from .tensorboard_logger import TensorBoardLogger
from .values import (
    MLFLOW_EXTRA,
    TENSORBOARD_EXTRA,
    epoch_values,
    fit_values,
    probe_values,
)

__all__ = [
    "MLFLOW_EXTRA",
    "TENSORBOARD_EXTRA",
    "MLflowLogger",
    "MLflowStudy",
    "TensorBoardLogger",
    "epoch_values",
    "fit_values",
    "probe_values",
]
