"""One trial: fit an AutoEncoder drawn from the space, report each epoch, value it.

A pruning callback reports every epoch's validation reconstruction loss to the
trial, and when the pruner says so it asks the loop to stop (a flag); the
trial ends pruned after `fit` returns. A completed trial's value is the mean
squared error on its validation rows, the same measure for every family
whatever its objective adds (a penalty, a KL term, noise).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DeadUnitWarning
from ..train import Callback, TrainState
from .result import jsonable
from .space import sample_params
from .storage import mark_worker

if TYPE_CHECKING:
    from ..tracking import MLflowStudy


class PruningCallback(Callback):
    """Report each epoch's validation reconstruction loss to an Optuna trial; stop when pruned.

    It only sets ``state.stop_requested``: the caller raises ``optuna.TrialPruned``
    once `fit` has returned, when ``pruned`` is true.
    """

    def __init__(self, trial: Any) -> None:
        self.trial = trial
        self.pruned = False
        self.pruned_at: int | None = None  # the epoch after which it was pruned

    def on_epoch_end(self, state: TrainState) -> None:
        val = epoch_value(state.history[-1])
        if val is None or not math.isfinite(val):
            return
        epoch = len(state.history)
        self.trial.report(float(val), epoch)
        if self.trial.should_prune():
            self.pruned, self.pruned_at = True, epoch
            state.stop_requested = True


def epoch_value(record: Mapping[str, Any]) -> float | None:
    """An epoch's validation reconstruction loss: the objective less any penalty.

    Families whose objective adds a penalty (sparse, contractive, variational)
    record its reconstruction part; a denoising family's loss is already a
    reconstruction loss, of corrupted rows.
    """
    parts = record.get("val_parts") or {}
    return parts.get("reconstruction", record["val_loss"])


def validation_mse(est: Any, X_search: np.ndarray) -> float:
    """Mean squared error of a fitted AutoEncoder on its own validation rows.

    The same measure for every family (no penalty, no noise), and the one the
    test rows report at the end.
    """
    from ..data.rows import split_rows

    _, val_idx = split_rows(len(X_search), est.validation_fraction, est.seed_)
    return float(est.reconstruction_error(X_search[val_idx]).mean())


@dataclass
class Objective:
    """What one trial does: the function `optuna.Study.optimize` calls per trial.

    It fits the trial's AutoEncoder on the search rows without the fit-time
    evaluation and records its parameters, seconds, epochs and curve on the
    trial; it raises ``optuna.TrialPruned`` for a pruned trial and returns the
    validation MSE of a completed one.
    """

    X_search: np.ndarray  # (n_search_rows, n_features)
    base: Mapping[str, Any]  # estimator parameters the space does not vary
    space: Mapping[str, Any]
    latent_dim: int  # the code size unless the space varies it
    tracker: MLflowStudy | None = None  # a nested MLflow run per trial

    def __call__(self, trial: Any) -> float:
        import optuna

        from ..estimator import AutoEncoder

        mark_worker(trial)
        params = {**self.base, **sample_params(trial, self.space, self.latent_dim)}
        trial.set_user_attr("params", jsonable(params))
        cb = PruningCallback(trial)
        logger = (
            None if self.tracker is None else self.tracker.trial_logger(trial.number)
        )
        t = time.perf_counter()
        # a trial's dead units are the search's business
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeadUnitWarning)
            try:
                est = AutoEncoder(**params).fit(
                    self.X_search,
                    evaluate=False,
                    callbacks=[cb] if logger is None else [cb, logger],
                )
            except Exception:
                if self.tracker is not None and logger is not None:
                    self.tracker.end_trial(logger, "FAIL")
                raise
        trial.set_user_attr("seconds", time.perf_counter() - t)
        trial.set_user_attr("epochs", est.n_epochs_)
        curve = [epoch_value(h) for h in est.history_]
        trial.set_user_attr("curve", [v for v in curve if v is not None])
        if cb.pruned:
            if self.tracker is not None and logger is not None:
                self.tracker.end_trial(logger, "PRUNED")
            raise optuna.TrialPruned(f"pruned after epoch {cb.pruned_at}")
        trial.set_user_attr("best_loss", float(est.best_loss_))
        value = validation_mse(est, self.X_search)
        if self.tracker is not None and logger is not None:
            self.tracker.end_trial(logger, "COMPLETE", value)
        return value
