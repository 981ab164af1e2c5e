"""Resuming an AutoEncoder: what it stores, what must match, how a run ends.

These are the pieces `AutoEncoder.fit` uses: the data fingerprint and the meta
stored with every checkpoint, the checks that refuse other settings or data,
the TrainState to continue from, and the errors for a divergence or an
interrupt that name the checkpoint to resume.
"""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import (
    DataError,
    DivergenceError,
    InvalidParameterError,
    ModelFormatError,
    TrainingInterrupted,
)
from ..families import get_family
from ..memory import check_training_memory
from ..params import RESUME_MAY_CHANGE, same
from ..scaling import MinMaxScaling
from ..train import Callback, TrainConfig, TrainState, make_optimizer
from .callback import CheckpointCallback
from .signals import StopOnSignal
from .state import Checkpoint
from .store import latest_checkpoint


def data_fingerprint(X: np.ndarray) -> dict[str, Any]:
    """Shape and SHA-256 of the training rows: cheap proof of "the same data"."""
    A = np.ascontiguousarray(X)
    return {
        "shape": list(A.shape),
        "dtype": str(A.dtype),
        "sha256": hashlib.sha256(A.data).hexdigest(),  # no copy of the rows
    }


def fit_meta(
    params: dict[str, Any],
    n_features: int,
    feature_names: Sequence[str] | None,
    seed: int,
    fingerprint: dict[str, Any] | None,
    scaling: MinMaxScaling | None,
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """What a fit stores with its checkpoints: (JSON meta, tensors).

    `params` are the estimator's parameters as JSON values (a RandomState as
    None: the `seed` drawn from it is what resumes).
    """
    meta = {
        "params": dict(params),
        "seed": seed,
        "data": fingerprint,
        "n_features_in": int(n_features),
        "feature_names": None
        if feature_names is None
        else [str(n) for n in feature_names],
    }
    tensors = {}
    if scaling is not None:
        tensors["scaling.data_min"] = torch.from_numpy(scaling.data_min)
        tensors["scaling.data_range"] = torch.from_numpy(scaling.data_range)
    return meta, tensors


def check_resume(
    ckpt: Checkpoint,
    params: dict[str, Any],
    fingerprint: dict[str, Any] | None,
    feature_names: Sequence[str] | None,
) -> tuple[int, Any]:
    """Refuse to resume with other settings or data; return (seed, family config)."""
    saved = ckpt.params
    seed = ckpt.meta.get("seed")
    if not saved or not isinstance(seed, int) or ckpt.architecture is None:
        raise ModelFormatError(
            f"checkpoint {ckpt.path} was not written by AutoEncoder.fit (no "
            "parameters, seed or architecture); it cannot resume an AutoEncoder"
        )
    try:
        family = get_family(saved.get("model", "halving"))
        arch = family.config_from_dict(ckpt.architecture)
    except (TypeError, ValueError) as e:
        raise ModelFormatError(
            f"checkpoint {ckpt.path}: bad architecture ({e})"
        ) from None
    _check_consistent(
        ckpt, {**saved, "n_features": ckpt.meta.get("n_features_in")}, arch
    )
    try:  # on the meta device: a forged size is refused before any allocation
        check_training_memory(family, arch, torch.device("cpu"))
    except InvalidParameterError as e:
        raise ModelFormatError(f"checkpoint {ckpt.path}: {e}") from None
    for key, value in params.items():
        if key in RESUME_MAY_CHANGE or key not in saved:
            continue
        if not same(value, saved[key]):
            raise ValueError(
                f"cannot resume from {ckpt.path}: it was trained with {key}="
                f"{saved[key]!r}, this AutoEncoder has {key}={value!r}; create the "
                "AutoEncoder with the checkpoint's parameters "
                "(aekit.checkpoint.load_checkpoint(dir).params) or start a new fit"
            )
    old = ckpt.meta.get("data")
    if fingerprint is None or old != fingerprint:
        new = fingerprint or {}
        shape = old.get("shape") if isinstance(old, dict) else None
        raise DataError(
            f"X does not match the data checkpoint {ckpt.path} was trained on "
            f"(checkpoint: shape {shape}, sha256 {_short(old)}; X: shape "
            f"{new.get('shape')}, sha256 {_short(new)}); resume with the same "
            "training rows in the same order, or start a new fit without resume_from"
        )
    old_names = ckpt.meta.get("feature_names")
    new_names = None if feature_names is None else [str(n) for n in feature_names]
    if old_names != new_names:
        raise DataError(
            f"X has feature names {new_names}, but checkpoint {ckpt.path} was trained "
            f"with {old_names}; resume with the same columns"
        )
    return seed, arch


def _check_consistent(ckpt: Checkpoint, saved: dict[str, Any], arch: Any) -> None:
    """Refuse a checkpoint whose parameters and architecture tell two stories."""
    differ = []
    if saved.get("n_features") != getattr(arch, "n_features", None):
        differ.append(f"n_features {saved.get('n_features')!r}")
    if saved.get("latent_dim") != getattr(arch, "latent_dim", None):
        differ.append(f"latent_dim {saved.get('latent_dim')!r}")
    if isinstance(saved.get("hidden_dims"), (list, tuple)):
        if tuple(saved["hidden_dims"]) != tuple(getattr(arch, "hidden_dims", ())):
            differ.append(f"hidden_dims {list(saved['hidden_dims'])!r}")
    options = saved.get("model_options") or {}
    if isinstance(options, dict):
        for name, value in options.items():
            if hasattr(arch, name) and not _same_option(arch, name, value):
                differ.append(f"model option {name}={value!r}")
    if differ:
        raise ModelFormatError(
            f"checkpoint {ckpt.path} is inconsistent: its parameters say "
            f"{', '.join(differ)}, its architecture {_arch_values(arch, differ)}; "
            "it was edited or damaged: resume from another checkpoint or start a "
            "new fit"
        )


def _same_option(arch: Any, name: str, value: Any) -> bool:
    """Whether option `name` given as `value` is the architecture's, once stored.

    The config stores an option in its own form ('8x8' as (8, 8, 1)): the
    value goes through the config's checks before it is compared.
    """
    import dataclasses

    try:
        stored = getattr(dataclasses.replace(arch, **{name: value}), name)
    except (TypeError, ValueError):
        return False
    return bool(same(stored, getattr(arch, name)))


def _arch_values(arch: Any, differ: list[str]) -> str:
    names = [
        d.removeprefix("model option ").split("=")[0].split(" ")[0] for d in differ
    ]
    return ", ".join(f"{n}={getattr(arch, n, None)!r}" for n in names)


def stored_scaling(ckpt: Checkpoint, n_features: int) -> MinMaxScaling:
    """The scaling saved with the checkpoint."""
    try:
        d = {
            k: ckpt.tensors[f"scaling.{k}"].tolist() for k in ("data_min", "data_range")
        }
        return MinMaxScaling.from_dict(d, n_features)
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFormatError(f"checkpoint {ckpt.path}: bad scaling ({e})") from None


def resume_state(ckpt: Checkpoint, module: nn.Module, cfg: TrainConfig) -> TrainState:
    """The TrainState to resume from, on a fresh optimizer made for `module`."""
    state = ckpt.train_state(module, make_optimizer(module, cfg), cfg.patience)
    for group in state.optimizer.param_groups:
        group["lr"] = cfg.lr  # the only hyperparameter allowed to change
    return state


def divergence_note(
    error: DivergenceError,
    directory: str | os.PathLike[str] | None,
    how: str | None = None,
) -> DivergenceError:
    """The DivergenceError, naming the last good checkpoint in `directory`.

    `how` says how to go on from it in the caller's terms (the CLI gives a
    command line); by default, `fit` with resume_from and a smaller lr.
    Without a checkpoint, `error` itself.
    """
    last = None if directory is None else latest_checkpoint(directory)
    if last is None or directory is None:
        return error
    how = how or (
        f"fit(X, resume_from={os.fspath(directory)!r}) with a smaller lr continues "
        "from it"
    )
    return DivergenceError(
        f"{error.reason}; the last checkpoint, {last}, is intact: {how}",
        reason=error.reason,
        checkpoint=os.fspath(last),
    )


def raise_if_interrupted(
    state: TrainState,
    cfg: TrainConfig,
    callbacks: Sequence[Callback],
    saver: CheckpointCallback | None,
    resumed: Checkpoint | None,
) -> None:
    """Raise TrainingInterrupted when a signal stopped an unfinished run.

    Among ranks, the signal may have reached another rank only
    (``state.stop_signal`` is agreed among them): every rank raises.
    """
    signum = state.stop_signal or next(
        (
            cb.received
            for cb in callbacks
            if isinstance(cb, StopOnSignal) and cb.received is not None
        ),
        None,
    )
    done = state.stopped_early or (state.step == 0 and state.epoch >= cfg.max_epochs)
    if signum is None or done:
        return
    path = saver.last_path if saver is not None else None
    if path is None and resumed is not None and saver is not None:
        path = resumed.path  # stopped before the first step after resuming
    name = signal.Signals(signum).name
    where = f"epoch {state.epoch + 1}, step {state.step}"
    if path is None:
        tail = "no checkpoint was saved (pass checkpoint_dir to be able to resume)"
    else:
        tail = f"saved {path}; continue with fit(X, resume_from={os.fspath(path)!r})"
    raise TrainingInterrupted(
        f"training interrupted by {name} at {where}; {tail}",
        checkpoint=None if path is None else os.fspath(path),
        signal=signum,
        epoch=state.epoch,
        step=state.step,
    )


def _short(fp: Any) -> str:
    digest = fp.get("sha256") if isinstance(fp, dict) else None
    return f"{digest[:12]}..." if isinstance(digest, str) else "?"
