"""Hyperparameter search on Optuna (the ``tune`` extra): `tune`, its space, its storages.

`run` holds the entry point, `trial` what one trial does, `study` the Optuna
study, `result` what a search produced, `comparison` the test rows' verdict.
"""

from __future__ import annotations

from .result import TuneResult, save_result
from .run import tune
from .study import PRUNERS
from .trial import PruningCallback

__all__ = ["PRUNERS", "PruningCallback", "TuneResult", "save_result", "tune"]
