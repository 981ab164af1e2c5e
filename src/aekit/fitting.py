"""One fit: the family's config, seed or resume, scaling, rows, PCA, training, results.

`AutoEncoder.fit` validates its parameters and X, then calls `run_fit` with
plain values and sets its fitted attributes from the `FitResult` it returns.
Nothing here reads or writes the estimator.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from . import distributed
from .data.rows import (
    SHUFFLE_BLOCK_ROWS,
    ScaledRows,
    as_tensor,
    is_mapped,
    split_rows,
)
from .devices import resolve_device
from .errors import DivergenceError
from .families import get_family
from .fitted import FittedModel
from .memory import check_training_memory
from .params import to_json
from .scaling import MinMaxScaling, check_unit_range, fit_scaling
from .train import (
    Callback,
    TrainConfig,
    TrainState,
    resolve_budget,
    restore_best,
    train,
)


@dataclass
class FitResult:
    """What one fit produced; the estimator's fitted attributes."""

    fitted: FittedModel
    history: list[dict[str, Any]]
    seed: int
    n_epochs: int
    best_epoch: int
    best_loss: float
    stopped_early: bool
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    start_test: dict[str, Any] | None = None  # see `start_test`
    pca: Any = None  # the PCA baseline (evaluate.PCABaseline) when kept
    metrics: dict[str, Any] | None = None
    threshold: float | None = None


def train_config(
    params: Mapping[str, Any], max_epochs: int, patience: int | None
) -> TrainConfig:
    return TrainConfig(
        max_epochs=max_epochs,
        batch_size=params["batch_size"],
        lr=params["lr"],
        weight_decay=params["weight_decay"],
        patience=patience,
        loss=params["loss"],
        dead_units=params["dead_units"],
        dead_unit_threshold=params["dead_unit_threshold"],
        precision=params["precision"],
        verbose=int(params["verbose"]),
    )


def run_fit(
    X: np.ndarray,
    params: Mapping[str, Any],
    *,
    feature_names: Sequence[str] | None = None,
    callbacks: Sequence[Callback] = (),
    checkpoint_dir: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1,
    keep_last: int | None = 3,
    resume_from: str | os.PathLike[str] | None = None,
    evaluate: bool = True,
) -> FitResult:
    """Train the family `params["model"]` on the validated float32 rows X.

    With `evaluate`, the PCA baseline, the fit-time scores and the anomaly
    threshold are computed as well (see `aekit.evaluate.fit_time_evaluation`);
    the PCA is computed once, before training, and serves the family too.
    """
    from . import checkpoint as ck
    from .evaluate import fit_baseline, fit_time_evaluation

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    if X.shape[0] < 2:
        raise ValueError(
            f"Found array with {X.shape[0]} sample(s) while a minimum of 2 is "
            "required by AutoEncoder: it needs rows to learn from"
        )
    n_features = X.shape[1]
    family = get_family(params["model"])
    config = family.make_config(
        n_features,
        latent_dim=params["latent_dim"],
        hidden_dims=None
        if params["hidden_dims"] is None
        else tuple(params["hidden_dims"]),
        activation=params["activation"],
        options=params["model_options"],
    )
    device = resolve_device(params["device"])
    # under torchrun: join the ranks (cuda -> cuda:LOCAL_RANK); alone, no-op
    world, device = distributed.setup(device)
    check_training_memory(family, config, device)  # before any allocation
    json_params = {k: to_json(k, v) for k, v in params.items()}
    saver = resumed = fingerprint = None
    if checkpoint_dir is not None or resume_from is not None:
        fingerprint = ck.data_fingerprint(X)
    if checkpoint_dir is not None and world.is_main:  # rank 0 alone writes
        saver = ck.CheckpointCallback(checkpoint_dir, checkpoint_every, keep_last)
    if resume_from is not None:
        resumed = ck.load_checkpoint(resume_from)
        seed, config = ck.check_resume(resumed, json_params, fingerprint, feature_names)
    else:
        rng = check_random_state(params["random_state"])
        seed = int(rng.randint(np.iinfo(np.int32).max))
        seed = distributed.broadcast_int(seed, world)  # one permutation for all ranks
    scaling: MinMaxScaling | None = None
    if resumed is not None and params["scale"]:
        scaling = ck.stored_scaling(resumed, n_features)
    elif params["scale"]:
        scaling = fit_scaling(X)
    else:
        check_unit_range(X)
    # No scaled copy of the data: batches are gathered and scaled as they are
    # used. Rows must be contiguous for fast gathers (a DataFrame's array is
    # column-major: that one case is copied).
    X_all = as_tensor(np.ascontiguousarray(X), device)
    train_idx, val_idx = split_rows(len(X), params["validation_fraction"], seed)
    X_train = ScaledRows(X_all, as_tensor(train_idx, device), scaling)
    if is_mapped(X) and device.type == "cpu":  # on disk: shuffle by blocks
        X_train.block_rows = SHUFFLE_BLOCK_ROWS
    X_val = None
    if len(val_idx):
        X_val = ScaledRows(X_all, as_tensor(val_idx, device), scaling)
    max_epochs, patience = resolve_budget(
        params["max_epochs"], params["patience"], len(train_idx), params["batch_size"]
    )
    tcfg = train_config(params, max_epochs, patience)
    base = info = None
    if evaluate or family.needs_pca:
        t = time.perf_counter()
        base, info = fit_baseline(X_train, config.latent_dim, seed)
        timings["pca"] = time.perf_counter() - t
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = family.build(config).to(device)
    state = None
    if resumed is not None:
        state = ck.resume_state(resumed, module, tcfg)
    else:
        family.initialize(module, base, X_train)
    if saver is not None:
        saver.meta, saver.tensors = ck.fit_meta(
            json_params, n_features, feature_names, seed, fingerprint, scaling
        )
    t = time.perf_counter()
    try:
        state = train(
            module,
            X_train,
            X_val,
            tcfg,
            family=family,
            seed=seed,
            state=state,
            callbacks=[saver, *callbacks] if saver is not None else list(callbacks),
        )
    except DivergenceError as e:
        raise ck.divergence_note(e, checkpoint_dir) from None
    finally:
        for cb in callbacks:
            if isinstance(cb, ck.StopOnSignal):
                cb.restore()
    timings["training"] = time.perf_counter() - t
    ck.raise_if_interrupted(state, tcfg, callbacks, saver, resumed)
    if (
        params["max_epochs"] == "auto"
        and not state.stopped_early
        and state.best_epoch == state.epoch == max_epochs  # not stopped by a callback
        and state.epoch > 0
    ):
        warnings.warn(
            f"the validation loss was still improving at the last of the "
            f"{state.epoch} epochs max_epochs='auto' allowed; pass a larger "
            "max_epochs to train longer",
            ConvergenceWarning,
            stacklevel=3,
        )
    result = _result(state, family.name, scaling, feature_names, seed)
    del state
    if family.test_start and family.start_candidate(config) and X_val is not None:
        t = time.perf_counter()
        result.start_test = start_test(family, config, base, X_train, result, X_val)
        if not result.start_test["trained_kept"]:
            # the start wins: rebuild it from every row passed to fit
            everything = ScaledRows(X_all, None, scaling)
            pca_all, _ = fit_baseline(everything, config.latent_dim, seed)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                start = family.build(config).to(device)
            family.initialize(start, pca_all, everything)
            result.fitted = FittedModel(start, family.name, scaling, feature_names)
            result.best_epoch = 0
            timings["start_refit"] = time.perf_counter() - t
    if evaluate:
        t = time.perf_counter()
        assert info is not None
        result.pca, result.metrics, result.threshold = fit_time_evaluation(
            result.fitted, X_train, X_val, base, info
        )
        if result.start_test is not None:
            result.metrics["start_test"] = result.start_test
        if "start_refit" in timings:
            result.metrics["note"] = (
                "the trained model did not beat its starting point clearly enough on "
                "the validation rows: the model is the start rebuilt from all rows "
                "passed to fit, so its validation scores are not held out"
            )
        timings["evaluation"] = time.perf_counter() - t
    result.seconds = time.perf_counter() - t0
    result.timings = timings
    return result


START_Z = 1.645  # one-sided 5%: the trained model must beat its start by this many SEs


def start_test(
    family: Any,
    config: Any,
    base: Any,
    X_train: ScaledRows,
    result: FitResult,
    X_val: ScaledRows,
) -> dict[str, Any]:
    """Does the trained model beat its starting point on the validation rows?

    Early stopping picks the best epoch by the mean validation loss; on a few
    validation rows that choice is noisy, and a model that won by chance loses
    on new rows. Here the per-row errors of the start (rebuilt by `initialize`
    from the PCA of the training rows) and of the trained model are paired, and
    the trained model is kept only when its mean gain is above START_Z standard
    errors of that mean (a one-sided paired test at 5%). Families whose start
    is a candidate must have a start that `initialize` fully determines.
    """
    trained = result.fitted
    with torch.random.fork_rng(devices=[]):
        start = family.build(config).to(trained.device)
    family.initialize(start, base, X_train)
    start_model = FittedModel(start, family.name, None)
    e_trained = trained.errors(X_val).astype(np.float64)
    e_start = start_model.errors(X_val).astype(np.float64)
    gain = e_start - e_trained  # > 0 where the trained model is better
    n = len(gain)
    mean = float(gain.mean())
    se = float(gain.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    kept = result.best_epoch > 0 and mean > START_Z * se
    return {
        "trained_kept": bool(kept),
        "best_epoch": int(result.best_epoch),
        "validation_rows": int(n),
        "start_mse": float(e_start.mean()),
        "trained_mse": float(e_trained.mean()),
        "mean_gain": mean,
        "standard_error": se,
        "z": START_Z,
    }


def _result(
    state: TrainState,
    family: str,
    scaling: MinMaxScaling | None,
    feature_names: Sequence[str] | None,
    seed: int,
) -> FitResult:
    restore_best(state)
    # Training is over: free the best-weights copy, the gradients and Adam's
    # moments before the fit-time evaluation needs memory of its own.
    state.best_weights = None
    state.optimizer.zero_grad(set_to_none=True)
    state.optimizer.state.clear()
    return FitResult(
        fitted=FittedModel(state.module, family, scaling, feature_names),
        history=state.history,
        seed=seed,
        n_epochs=state.epoch,
        best_epoch=state.best_epoch,
        best_loss=state.best_loss,
        stopped_early=state.stopped_early,
        seconds=0.0,
    )
