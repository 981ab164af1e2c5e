"""Hyperparameter search on Optuna (the ``tune`` extra): `tune`, its space, its storages."""

from __future__ import annotations

from .run import PRUNERS, PruningCallback, TuneResult, save_result, tune

__all__ = ["PRUNERS", "PruningCallback", "TuneResult", "save_result", "tune"]
