"""One fit of an AutoEncoder: checks, seed or resume, scaling, rows, training, results.

`AutoEncoder.fit` calls `run_fit`, which sets the estimator's fitted
attributes; `fit` itself restores the previous ones if anything here raises.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from sklearn.utils import check_random_state

from .errors import DivergenceError
from .model import AutoEncoderNet
from .prepare import ScaledRows, as_tensor, fit_scaling, resolve_device, split_rows
from .scaling import check_unit_range
from .train import Callback, TrainState, restore_best, train

if TYPE_CHECKING:
    from .estimator import AutoEncoder


def run_fit(
    est: AutoEncoder,
    X: Any,
    callbacks: list[Callback],
    checkpoint_dir: str | os.PathLike[str] | None,
    checkpoint_every: int,
    keep_last: int | None,
    resume_from: str | os.PathLike[str] | None,
) -> None:
    """Validate X, train `est`'s network on it and set its fitted attributes."""
    from . import checkpoint as ck

    t0 = time.perf_counter()
    X = est._validate(X, reset=True)
    if X.shape[0] < 2:
        raise ValueError(
            f"Found array with {X.shape[0]} sample(s) while a minimum of 2 is "
            "required by AutoEncoder: it needs rows to learn from"
        )
    arch, tcfg = est._check_params(X.shape[1])
    device = resolve_device(est.device)
    saver = resumed = fingerprint = None
    if checkpoint_dir is not None or resume_from is not None:
        fingerprint = ck.data_fingerprint(X)
    if checkpoint_dir is not None:
        saver = ck.CheckpointCallback(checkpoint_dir, checkpoint_every, keep_last)
    if resume_from is not None:
        resumed = ck.load_checkpoint(resume_from)
        names = getattr(est, "feature_names_in_", None)
        seed, arch = ck.check_resume(resumed, est.get_params(), fingerprint, names)
    else:
        rng = check_random_state(est.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
    est.scaling_ = None
    if resumed is not None and est.scale:
        est.scaling_ = ck.stored_scaling(resumed, X.shape[1])
    elif est.scale:
        est.scaling_ = fit_scaling(X)
    else:
        check_unit_range(X)
    # No scaled copy of the data: batches are gathered and scaled as they are
    # used. Rows must be contiguous for fast gathers (a DataFrame's array is
    # column-major: that one case is copied).
    X_all = as_tensor(np.ascontiguousarray(X), device)
    train_idx, val_idx = split_rows(len(X), est.validation_fraction, seed)
    X_train = ScaledRows(X_all, as_tensor(train_idx, device), est.scaling_)
    X_val = None
    if len(val_idx):
        X_val = ScaledRows(X_all, as_tensor(val_idx, device), est.scaling_)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = AutoEncoderNet(arch).to(device)
    state = None
    if resumed is not None:
        state = ck.resume_state(resumed, module, tcfg)
    if saver is not None:
        saver.meta, saver.tensors = ck.estimator_meta(est, seed, fingerprint)
    try:
        state = train(
            module,
            X_train,
            X_val,
            tcfg,
            seed=seed,
            state=state,
            callbacks=[saver, *callbacks] if saver is not None else callbacks,
        )
    except DivergenceError as e:
        raise ck.divergence_note(e, saver) from None
    finally:
        for cb in callbacks:
            if isinstance(cb, ck.StopOnSignal):
                cb.restore()
    ck.raise_if_interrupted(state, tcfg, callbacks, saver, resumed)
    _finish(est, state, seed, time.perf_counter() - t0)
    del state
    est._fit_evaluation(X_train, X_val)


def _finish(est: AutoEncoder, state: TrainState, seed: int, seconds: float) -> None:
    restore_best(state)
    # Training is over: free the best-weights copy, the gradients and Adam's
    # moments before the fit-time evaluation needs memory of its own.
    state.best_weights = None
    state.optimizer.zero_grad(set_to_none=True)
    state.optimizer.state.clear()
    est.module_ = cast(AutoEncoderNet, state.module.eval())
    est.history_ = state.history
    est.seed_ = seed
    est.n_epochs_ = state.epoch
    est.best_epoch_ = state.best_epoch
    est.best_loss_ = state.best_loss
    est.stopped_early_ = state.stopped_early
    est.fit_seconds_ = seconds
