"""Does the trained model beat its start? The paired test, and the start rebuilt.

Families whose start is a candidate (pca_anchored: the PCA of its size) keep
the trained model only when it beats the start clearly on the validation
rows; otherwise the model is the start, rebuilt from every row passed to fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..fitted import FittedModel
from ..pca import fit_baseline
from ..train import StartDecision
from .setup import FitRun

START_Z = 1.645  # one-sided 5%: the trained model must beat its start by this many SEs
# The start test decided early (`StartDecision`): training stops once the best
# epoch fails the test and the model, at FUTILITY_Z standard errors above its
# mean gain and gaining at its rate over the last FUTILITY_EPOCHS epochs, would
# not become the best epoch before the patience runs out.
FUTILITY_Z = 1.645
FUTILITY_EPOCHS = 5
EARLY_DECISION = True  # False: StartDecision records but never stops (benchmarks)


def start_test(
    run: FitRun,
    trained: FittedModel,
    best_epoch: int,
    e_start: np.ndarray | None = None,
) -> dict[str, Any]:
    """Does the trained model beat its starting point on the validation rows?

    Early stopping picks the best epoch by the mean validation loss; on a few
    validation rows that choice is noisy, and a model that won by chance loses
    on new rows. Here the per-row errors of the start (rebuilt by `initialize`
    from the PCA of the training rows) and of the trained model are paired, and
    the trained model is kept only when its mean gain is above START_Z standard
    errors of that mean (a one-sided paired test at 5%). Families whose start
    is a candidate must have a start that `initialize` fully determines.
    `e_start`: the start's errors when already computed (`StartDecision`
    computes them before training), else `start_errors`.
    """
    assert run.val is not None  # see `tests_start`
    e_trained = trained.errors(run.val).astype(np.float64)
    e_start = start_errors(run) if e_start is None else e_start
    gain = e_start - e_trained  # > 0 where the trained model is better
    n = len(gain)
    mean = float(gain.mean())
    se = float(gain.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    kept = best_epoch > 0 and mean > START_Z * se
    return {
        "trained_kept": bool(kept),
        "best_epoch": int(best_epoch),
        "validation_rows": int(n),
        "start_mse": float(e_start.mean()),
        "trained_mse": float(e_trained.mean()),
        "mean_gain": mean,
        "standard_error": se,
        "z": START_Z,
    }


def start_errors(run: FitRun, start: torch.nn.Module | None = None) -> np.ndarray:
    """The start's per-row squared errors on the validation rows (float64).

    `start`: the run's module before its first step, which is the start (a
    fit that is not resumed); else the start is built and initialized here.
    """
    assert run.val is not None
    if start is None:
        with torch.random.fork_rng(devices=[]):
            start = run.family.build(run.config).to(run.device)
        run.family.initialize(start, run.pca, run.train)
    was_training = start.training
    try:
        fitted = FittedModel(start, run.family.name, None)
        return fitted.errors(run.val).astype(np.float64)
    finally:
        start.train(was_training)


def start_decision(
    run: FitRun, start: torch.nn.Module | None = None
) -> StartDecision | None:
    """The callback that decides the start test early, where the run has one.

    It stops training only where the final `start_test` would return the start
    on the weights kept so far; see `StartDecision` for when. `start`: as for
    `start_errors`.
    """
    if not tests_start(run):
        return None
    val, name, precision = run.val, run.family.name, run.params["precision"]
    assert val is not None  # tests_start

    def errors(module: torch.nn.Module) -> np.ndarray:
        was_training = module.training
        try:
            return FittedModel(module, name, None, precision=precision).errors(val)
        finally:
            module.train(was_training)

    return StartDecision(
        start_errors(run, start), errors, START_Z, FUTILITY_Z, FUTILITY_EPOCHS,
        run.tcfg.patience, run.tcfg.max_epochs, stop=EARLY_DECISION,
    )  # fmt: skip


def tests_start(run: FitRun) -> bool:
    """Whether this run's family asks for the start test (and there are rows for it)."""
    return bool(
        run.family.test_start
        and run.family.start_candidate(run.config)
        and run.val is not None
    )


def rebuilt_start(run: FitRun) -> torch.nn.Module:
    """The start rebuilt from the PCA of every row passed to fit."""
    everything = run.everything
    pca_all, _ = fit_baseline(everything, run.config.latent_dim, run.seed)
    start = run.new_module()
    run.family.initialize(start, pca_all, everything)
    return start
