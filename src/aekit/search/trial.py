"""One trial: fit an AutoEncoder drawn from the space, report each epoch, value it.

`fit_trial` is the trial whatever backend runs it: a reporting callback hands
every epoch's validation reconstruction loss to the backend's ``report``, and
when the backend says so it asks the loop to stop (a flag); the trial ends
pruned after `fit` returns. `Objective` is the trial as Optuna calls it. A completed trial's value is the mean
squared error on its validation rows, the same measure for every family
whatever its objective adds (a penalty, a KL term, noise).

On a small table one validation split is a few rows, and its value is noisy:
`make_folds` splits the search rows into k folds (seeded, the same for every
trial), and `fit_trial` given them fits k models, each on the other folds, and
values the trial by the mean error over every row of every fold. Only the
first fold's epochs are reported to the backend (its pruner compares trials
at equal epochs of the same fold); the other folds run to their end. With a
checkpoint folder each fold checkpoints into its own ``fold{j}`` in it and a
rerun resumes each fold from there: a finished fold comes back as it ended,
the unfinished one continues from its last epoch.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DeadUnitWarning
from ..train import Callback, TrainState
from .result import jsonable
from .space import sample_params
from .storage import mark_worker

if TYPE_CHECKING:
    from ..tracking import MLflowStudy


Report = Callable[[int, float], bool]
"""A search backend's hook: ``report(epoch, value)`` returns True to stop the trial."""


class ReportingCallback(Callback):
    """Hand each epoch's validation reconstruction loss to a backend's `report`.

    When `report` answers True (the backend prunes the trial) it only sets
    ``state.stop_requested``; `fit_trial` returns with ``pruned_at`` set and
    the backend ends the trial its own way (Optuna raises ``TrialPruned``).
    """

    def __init__(self, report: Report) -> None:
        self.report = report
        self.pruned = False
        self.pruned_at: int | None = None  # the epoch after which it was pruned

    def on_epoch_end(self, state: TrainState) -> None:
        val = epoch_value(state.history[-1])
        if val is None or not math.isfinite(val):
            return
        epoch = len(state.history)
        if self.report(epoch, float(val)):
            self.pruned, self.pruned_at = True, epoch
            state.stop_requested = True


class EpochHook(Callback):
    """Call `hook()` at each epoch's end (after the fit's own checkpoint there)."""

    def __init__(self, hook: Callable[[], None]) -> None:
        self.hook = hook

    def on_epoch_end(self, state: TrainState) -> None:
        self.hook()


class PruningCallback(ReportingCallback):
    """Report each epoch's validation reconstruction loss to an Optuna trial; stop when pruned.

    It only sets ``state.stop_requested``: the caller raises ``optuna.TrialPruned``
    once `fit` has returned, when ``pruned`` is true.
    """

    def __init__(self, trial: Any) -> None:
        self.trial = trial
        super().__init__(optuna_report(trial))


def optuna_report(trial: Any) -> Report:
    """The `Report` of an Optuna trial: report the value at the epoch, ask the pruner."""

    def report(epoch: int, value: float) -> bool:
        trial.report(value, epoch)
        return bool(trial.should_prune())

    return report


def epoch_value(record: Mapping[str, Any]) -> float | None:
    """An epoch's validation reconstruction loss: the objective less any penalty.

    Families whose objective adds a penalty (sparse, contractive, variational)
    record its reconstruction part; a denoising family's loss is already a
    reconstruction loss, of corrupted rows.
    """
    parts = record.get("val_parts") or {}
    return parts.get("reconstruction", record["val_loss"])


def validation_errors(est: Any, X_search: np.ndarray) -> np.ndarray:
    """Per-row squared error of a fitted AutoEncoder on its own validation rows.

    The same measure for every family (no penalty, no noise), and the one the
    test rows report at the end. Every trial of a search has the same seed,
    so the same validation rows: the errors of two trials pair row by row.
    """
    from ..data.rows import split_rows

    _, val_idx = split_rows(len(X_search), est.validation_fraction, est.seed_)
    return np.asarray(est.reconstruction_error(X_search[val_idx]), dtype=np.float64)


def validation_mse(est: Any, X_search: np.ndarray) -> float:
    """Mean squared error of a fitted AutoEncoder on its own validation rows."""
    return float(validation_errors(est, X_search).mean())


def make_folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    """`k` folds of range(n): seeded, sorted row indices, sizes differing by at most 1.

    >>> [f.tolist() for f in make_folds(5, 2, 0)]
    [[0, 2, 4], [1, 3]]
    """
    if not 2 <= k <= n:
        raise ValueError(f"k-fold needs 2 <= k <= rows, got k={k} for {n} rows")
    perm = np.random.default_rng([seed, n, k]).permutation(n)
    return [np.sort(f) for f in np.array_split(perm, k)]


@dataclass
class TrialFit:
    """What one trial's fit gave, whatever backend ran it."""

    estimator: Any  # the fitted AutoEncoder
    seconds: float
    epochs: int
    curve: list[float]  # each epoch's validation reconstruction loss
    pruned_at: int | None  # the epoch after which the backend stopped it
    value: float | None  # the trial's value (validation MSE); None when pruned
    errors: np.ndarray | None = None  # per validation row (every fold's rows, in order)


def fit_trial(
    params: Mapping[str, Any],
    X_search: np.ndarray,
    report: Report,
    callbacks: Sequence[Callback] = (),
    *,
    folds: Sequence[np.ndarray] | None = None,
    fit_kwargs: Mapping[str, Any] | None = None,
    saved: Callable[[], None] | None = None,
) -> TrialFit:
    """Fit one trial's AutoEncoder on the search rows and value it, for any backend.

    The fit skips the fit-time evaluation; `report` hears every epoch's
    validation reconstruction loss and may stop the fit (a pruned trial: no
    value). A completed trial's value is `validation_mse`; with `folds`
    (`make_folds`), the mean error over every fold's rows, each fold scored by
    a model fitted on the other folds, `report` and `callbacks` hearing the
    first fold's fit.
    ``estimator``, ``epochs`` and ``curve`` are then the first fold's.
    `fit_kwargs` go to `AutoEncoder.fit` as they are (a backend's
    ``checkpoint_dir``, ``resume_from``) on one split. With `folds`, fold j
    checkpoints into ``checkpoint_dir/fold{j}`` and resumes from there when
    it holds a checkpoint (``resume_from`` is then unused: the backend puts
    the restored folders in ``checkpoint_dir``), and `saved` is called after
    each epoch of folds 2..k, once its checkpoint is written, for a backend
    that must be handed it (fold 1's epochs go to `report`).
    """
    cb = ReportingCallback(report)
    t = time.perf_counter()
    if folds is None:
        est = _fit(params, X_search, [cb, *callbacks], fit_kwargs)
        errors = None if cb.pruned else validation_errors(est, X_search)
    else:
        est, errors = _fit_folds(
            params, X_search, folds, cb, callbacks, fit_kwargs, saved
        )
    seconds = time.perf_counter() - t
    curve = [v for v in map(epoch_value, est.history_) if v is not None]
    value = None if errors is None else float(errors.mean())
    return TrialFit(est, seconds, est.n_epochs_, curve, cb.pruned_at, value, errors)


def _fit(
    params: Mapping[str, Any],
    X: np.ndarray,
    callbacks: list[Callback],
    fit_kwargs: Mapping[str, Any] | None = None,
) -> Any:
    from ..estimator import AutoEncoder

    # a trial's dead units are the search's business
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeadUnitWarning)
        return AutoEncoder(**params).fit(
            X, evaluate=False, callbacks=callbacks, **(fit_kwargs or {})
        )


def _fit_folds(
    params: Mapping[str, Any],
    X_search: np.ndarray,
    folds: Sequence[np.ndarray],
    cb: ReportingCallback,
    callbacks: Sequence[Callback],
    fit_kwargs: Mapping[str, Any] | None = None,
    saved: Callable[[], None] | None = None,
) -> tuple[Any, np.ndarray | None]:
    """Fold 1's model and every fold's per-row errors (None once pruned)."""
    from ..checkpoint.store import latest_checkpoint

    folder = (fit_kwargs or {}).get("checkpoint_dir")
    first, errors = None, []
    for j, fold in enumerate(folds):
        rest = np.setdiff1d(np.arange(len(X_search)), fold)
        # the backend's report and the trial's hooks (a tracker) hear fold 1 alone
        hooks: list[Callback] = [cb, *callbacks] if j == 0 else []
        kwargs = None
        if folder is not None:
            here = Path(folder) / f"fold{j}"
            kwargs = {
                **(fit_kwargs or {}),
                "checkpoint_dir": here,
                "resume_from": here if latest_checkpoint(here) else None,
            }
            if j > 0 and saved is not None:
                hooks.append(EpochHook(saved))
        est = _fit(params, X_search[rest], hooks, kwargs)
        if j == 0:
            first = est
            if cb.pruned:
                return est, None
        errors.append(np.asarray(est.reconstruction_error(X_search[fold]), np.float64))
    return first, np.concatenate(errors)


@dataclass
class Objective:
    """What one trial does: the function `optuna.Study.optimize` calls per trial.

    It runs `fit_trial` with the trial's parameters and records its
    parameters, seconds, epochs and curve on the trial; it raises
    ``optuna.TrialPruned`` for a pruned trial and returns the value of a
    completed one.
    """

    X_search: np.ndarray  # (n_search_rows, n_features)
    base: Mapping[str, Any]  # estimator parameters the space does not vary
    space: Mapping[str, Any]
    latent_dim: int  # the code size unless the space varies it
    tracker: MLflowStudy | None = None  # a nested MLflow run per trial
    folds: Sequence[np.ndarray] | None = None  # k-fold validation (`make_folds`)

    def __call__(self, trial: Any) -> float:
        import optuna

        mark_worker(trial)
        params = {**self.base, **sample_params(trial, self.space, self.latent_dim)}
        trial.set_user_attr("params", jsonable(params))
        logger = (
            None if self.tracker is None else self.tracker.trial_logger(trial.number)
        )
        try:
            fit = fit_trial(
                params,
                self.X_search,
                optuna_report(trial),
                [] if logger is None else [logger],
                folds=self.folds,
            )
        except Exception:
            if self.tracker is not None and logger is not None:
                self.tracker.end_trial(logger, "FAIL")
            raise
        trial.set_user_attr("seconds", fit.seconds)
        trial.set_user_attr("epochs", fit.epochs)
        trial.set_user_attr("curve", fit.curve)
        if fit.value is None:
            if self.tracker is not None and logger is not None:
                self.tracker.end_trial(logger, "PRUNED")
            raise optuna.TrialPruned(f"pruned after epoch {fit.pruned_at}")
        trial.set_user_attr("best_loss", float(fit.estimator.best_loss_))
        if fit.errors is not None:  # for the paired test of the final pick
            trial.set_user_attr("val_errors", fit.errors.tolist())
        if self.tracker is not None and logger is not None:
            self.tracker.end_trial(logger, "COMPLETE", fit.value)
        return fit.value
