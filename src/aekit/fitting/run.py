"""`run_fit`: train, decide the start, evaluate; a model and its record."""

from __future__ import annotations

import time
import warnings
from typing import Any

from sklearn.exceptions import ConvergenceWarning

from .. import checkpoint as ck
from ..errors import DivergenceError
from ..evaluate import fit_time_evaluation
from ..fitted import FittedModel
from ..record import FitRecord
from ..train import StartDecision, TrainState, restore_best, train
from .setup import FitRun
from .start import rebuilt_start, start_decision, start_test, tests_start

REFIT_NOTE = (
    "the trained model did not beat its starting point clearly enough on the "
    "validation rows: the model is the start rebuilt from all rows passed to fit, "
    "so its validation scores are not held out"
)


def run_fit(run: FitRun) -> tuple[FittedModel, FitRecord]:
    """Train, decide the start and evaluate the fit `run` (see `setup_run`).

    With ``run.evaluate``, the PCA baseline, the fit-time scores and the
    anomaly threshold are computed as well (see
    `aekit.evaluate.fit_time_evaluation`); the PCA was computed once, before
    training, and served the family too. The callbacks' fit hooks run around
    it all: ``on_fit_begin`` with the parameters, ``on_fit_end`` with the final
    record, and ``on_exception`` when it raises.
    """
    for cb in run.callbacks:
        cb.on_fit_begin(run.params)
    try:
        fitted, record = _fit(run)
    except BaseException as e:
        for cb in run.callbacks:
            cb.on_exception(e)
        raise
    for cb in run.callbacks:
        cb.on_fit_end(record)
    return fitted, record


def _fit(run: FitRun) -> tuple[FittedModel, FitRecord]:
    """Train, decide the start, evaluate: the model and its record."""
    state = _train(run)
    fitted, record = _trained(run, state)
    decision = next((c for c in state.callbacks if isinstance(c, StartDecision)), None)
    del state
    start = None
    if tests_start(run):
        t = time.perf_counter()
        known = None if decision is None else decision.start_errors
        start = start_test(run, fitted, record.best_epoch or 0, known)
        start["decided_epoch"] = None if decision is None else decision.decided_epoch
        if not start["trained_kept"]:  # the start wins: rebuilt from every row
            fitted.module = rebuilt_start(run).eval()
            record.best_epoch = 0
            run.timings["start_refit"] = time.perf_counter() - t
    if run.evaluate:
        _evaluate(run, fitted, record, start)
    record.seconds = time.perf_counter() - run.started
    record.timings = run.timings
    return fitted, record


def _train(run: FitRun) -> TrainState:
    """The module built (or resumed) and trained; the state where training ended."""
    module = run.new_module()
    state = None
    if run.resumed is not None:
        state = ck.resume_state(run.resumed, module, run.tcfg)
    else:
        run.family.initialize(module, run.pca, run.train)
    callbacks = list(run.callbacks)
    if run.saver is not None:
        run.saver.meta, run.saver.tensors = ck.fit_meta(
            run.params, run.config.n_features, run.feature_names, run.seed,
            run.fingerprint, run.scaling,
        )  # fmt: skip
        run.saver.meta["precision"] = run.tcfg.precision  # what "auto" resumes in
        callbacks.insert(0, run.saver)
    decision = start_decision(run, None if run.resumed is not None else module)
    if decision is not None:  # before the saver: a checkpoint holds what it saw
        callbacks.insert(0, decision)
    t = time.perf_counter()
    try:
        state = train(
            module, run.train, run.val, run.tcfg,
            family=run.family, seed=run.seed, state=state, callbacks=callbacks,
        )  # fmt: skip
    except DivergenceError as e:
        raise ck.divergence_note(e, run.checkpoint_dir) from None
    finally:
        for cb in run.callbacks:
            if isinstance(cb, ck.StopOnSignal):
                cb.restore()
    run.timings["training"] = time.perf_counter() - t
    ck.raise_if_interrupted(state, run.tcfg, run.callbacks, run.saver, run.resumed)
    if run.params["max_epochs"] == "auto":
        _warn_if_budget_spent(state, run.tcfg.max_epochs)
    return state


def _warn_if_budget_spent(state: TrainState, max_epochs: int) -> None:
    """ConvergenceWarning when max_epochs='auto' ran out while still improving."""
    if (
        not state.stopped_early
        and state.best_epoch == state.epoch == max_epochs  # not stopped by a callback
        and state.epoch > 0
    ):
        warnings.warn(
            f"the validation loss was still improving at the last of the "
            f"{state.epoch} epochs max_epochs='auto' allowed; pass a larger "
            "max_epochs to train longer",
            ConvergenceWarning,
            stacklevel=5,
        )


def _trained(run: FitRun, state: TrainState) -> tuple[FittedModel, FitRecord]:
    """The best weights as a FittedModel, and the record of the training."""
    restore_best(state)
    # Training is over: free the best-weights copy, the gradients and Adam's
    # moments before the fit-time evaluation needs memory of its own.
    state.best_weights = None
    state.optimizer.zero_grad(set_to_none=True)
    state.optimizer.state.clear()
    fitted = FittedModel(
        state.module,
        run.family.name,
        run.scaling,
        run.feature_names,
        loss=run.params["loss"],
        precision=run.tcfg.precision,  # "auto" resolved
    )
    record = FitRecord(
        history=state.history,
        seed=run.seed,
        n_epochs=state.epoch,
        best_epoch=state.best_epoch,
        best_loss=state.best_loss,
        stopped_early=state.stopped_early,
        precision=None if run.precision is None else run.precision.to_dict(),
    )
    return fitted, record


def _evaluate(
    run: FitRun,
    fitted: FittedModel,
    record: FitRecord,
    start: dict[str, Any] | None,
) -> None:
    """The fit-time scores, the PCA baseline kept and the anomaly threshold."""
    t = time.perf_counter()
    assert run.pca_info is not None
    fitted.pca, metrics, fitted.threshold = fit_time_evaluation(
        fitted, run.train, run.val, run.pca, run.pca_info
    )
    if start is not None:
        metrics["start_test"] = start
    if "start_refit" in run.timings:
        metrics["note"] = REFIT_NOTE
    record.metrics = metrics
    run.timings["evaluation"] = time.perf_counter() - t
