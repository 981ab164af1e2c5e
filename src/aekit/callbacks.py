"""Every training callback in one place: the hooks, the loop's own, checkpoints, trackers.

Pass them to ``AutoEncoder.fit(X, callbacks=[...])``. The classes live where
their idea does (`aekit.train`, `aekit.checkpoint`, `aekit.tracking`); this
module only gathers them, so that a user finds them under one name. The
trackers' libraries (mlflow, tensorboard) are imported when a logger is made,
not here.

Examples
--------
>>> from aekit.callbacks import Callback, TensorBoardLogger
>>> issubclass(TensorBoardLogger, Callback)
True
"""

from __future__ import annotations

from .checkpoint import CheckpointCallback, StopOnSignal
from .tracking import MLflowLogger, TensorBoardLogger
from .train import Callback, DeadUnitPolicy, EarlyStopping, ProgressBar

__all__ = [
    "Callback",
    "CheckpointCallback",
    "DeadUnitPolicy",
    "EarlyStopping",
    "MLflowLogger",
    "ProgressBar",
    "StopOnSignal",
    "TensorBoardLogger",
]
