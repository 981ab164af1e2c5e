"""aekit: compact representations of feature vectors with autoencoders.

Public names are imported lazily so that ``aekit --help`` does not load torch.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from .version import __version__

# a library's logger: records go where the application sends them (see aekit.logs)
logging.getLogger("aekit").addHandler(logging.NullHandler())

_EXPORTS = {
    "AutoEncoder": "estimator",
    "AutoEncoderNet": "families",
    "AEConfig": "families",
    "HalvingNet": "families",
    "HalvingConfig": "families",
    "PCAAnchoredNet": "families",
    "PCAAnchoredConfig": "families",
    "Family": "families",
    "FittedModel": "fitted",
    "FitRecord": "record",
    "register_family": "families",
    "get_family": "families",
    "TrainConfig": "train",
    "Callback": "train",
    "load": "estimator",
    "AekitError": "errors",
    "ModelFormatError": "errors",
    "InvalidParameterError": "errors",
    "DataError": "errors",
    "DivergenceError": "errors",
    "TrainingInterrupted": "errors",
    "NotFittedError": "errors",
    "DeadUnitWarning": "errors",
    "evaluate_model": "evaluate",
    "score_table": "evaluate",
    "write_report": "report",
    "to_onnx": "export",
    "tune": "search",
    "plan": "planning",
    "TuneResult": "search",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from .errors import (
        AekitError,
        DataError,
        DeadUnitWarning,
        DivergenceError,
        InvalidParameterError,
        ModelFormatError,
        NotFittedError,
        TrainingInterrupted,
    )
    from .estimator import AutoEncoder, load
    from .evaluate import evaluate_model, score_table
    from .export import to_onnx
    from .families import (
        AEConfig,
        AutoEncoderNet,
        Family,
        HalvingConfig,
        HalvingNet,
        PCAAnchoredConfig,
        PCAAnchoredNet,
        get_family,
        register_family,
    )
    from .fitted import FittedModel
    from .planning import plan
    from .record import FitRecord
    from .report import write_report
    from .search import TuneResult, tune
    from .train import Callback, TrainConfig


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'aekit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
