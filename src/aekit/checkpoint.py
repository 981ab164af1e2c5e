"""Checkpoints of a training run: saved at epoch boundaries, resumed bit for bit.

A checkpoint directory holds one folder per saved point::

    DIR/ckpt-000012/           12 epochs done
    DIR/ckpt-000012-000034/    34 steps into epoch 13 (written on an interrupt)
        state.safetensors      weights, best weights, Adam state, RNG states, scaling
        state.json             everything else, and the SHA-256 of state.safetensors

Both files are written into a hidden temporary folder, flushed to disk, and
only then is that folder renamed to its final name (the commit). A save killed
at any moment leaves at most a hidden ``.tmp-*`` folder, which loading ignores
and the next save removes; a folder named ``ckpt-*`` is always complete.
Nothing is unpickled: tensors come from safetensors, the rest from JSON.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import signal
import tempfile
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import torch
from torch import nn

from .errors import DataError, DivergenceError, ModelFormatError, TrainingInterrupted
from .io import folder_lock, fsync_dir
from .model import AEConfig
from .scaling import MinMaxScaling
from .train import Callback, TrainConfig, TrainState, make_optimizer

FORMAT = "aekit-checkpoint"
FORMAT_VERSION = 1
STATE_FILE = "state.json"
TENSORS_FILE = "state.safetensors"
MAX_STATE_BYTES = 256 * 2**20  # a state.json beyond this is not ours
_NAME = re.compile(r"^ckpt-(\d{6,})(?:-(\d{6,}))?$")
_TMP_PREFIX = ".tmp-ckpt-"
_TRASH_PREFIX = ".trash-ckpt-"

# Estimator parameters that may differ between a checkpoint and the AutoEncoder
# resuming it. Changing lr is allowed to recover from a divergence; the run is
# then no longer bitwise equal to an uninterrupted one.
RESUME_MAY_CHANGE = (
    "max_epochs",
    "patience",
    "verbose",
    "device",
    "random_state",
    "lr",
)


# -- writing -----------------------------------------------------------------


def checkpoint_name(epoch: int, step: int) -> str:
    """Folder name of the point `step` batches into the epoch after `epoch`."""
    return f"ckpt-{epoch:06d}" if step == 0 else f"ckpt-{epoch:06d}-{step:06d}"


def _write_file(path: Path, data: bytes) -> None:
    """Write and fsync one file of a checkpoint that is not committed yet."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _optimizer_tensors(
    optimizer: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    """Adam's per-parameter tensors by name, and its param_groups as JSON values."""
    sd = optimizer.state_dict()
    tensors = {}
    for idx, per_param in sd["state"].items():
        for key, value in per_param.items():
            if not isinstance(value, torch.Tensor):  # pragma: no cover - not Adam
                value = torch.tensor(value)
            tensors[f"optim.{int(idx)}.{key}"] = value
    groups = []
    for g in sd["param_groups"]:
        group = {k: list(v) if isinstance(v, tuple) else v for k, v in g.items()}
        groups.append(group)
    return tensors, groups


def _finite_or_none(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (list, tuple)):
        return [_finite_or_none(x) for x in v]
    if isinstance(v, dict):
        return {k: _finite_or_none(x) for k, x in v.items()}
    return v


def save_checkpoint(
    directory: str | os.PathLike[str],
    state: TrainState,
    meta: dict[str, Any] | None = None,
    tensors: dict[str, torch.Tensor] | None = None,
    keep_last: int | None = None,
) -> Path:
    """Write `state` as a new checkpoint folder in `directory`; return its path.

    `meta` (JSON values, e.g. the estimator's parameters) and `tensors` (e.g.
    the scaling) are stored alongside and come back from `load_checkpoint`.
    Afterwards only the newest `keep_last` checkpoints are kept (None: all).
    """
    from safetensors.torch import save

    from . import __version__

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    blobs: dict[str, torch.Tensor] = {}
    for k, v in state.module.state_dict().items():
        blobs[f"model.{k}"] = v
    for k, v in (state.best_weights or {}).items():
        blobs[f"best.{k}"] = v
    optim_tensors, groups = _optimizer_tensors(state.optimizer)
    blobs.update(optim_tensors)
    blobs["rng.generator"] = state.generator.get_state()
    if state.epoch_rng_state is not None:
        blobs["rng.epoch"] = state.epoch_rng_state
    for k, v in (tensors or {}).items():
        blobs[f"extra.{k}"] = v
    blob = save({k: v.detach().cpu().contiguous() for k, v in blobs.items()})
    config = getattr(state.module, "config", None)
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "aekit_version": __version__,
        "meta": meta or {},
        "architecture": config.to_dict() if isinstance(config, AEConfig) else None,
        "state": {
            "epoch": state.epoch,
            "step": state.step,
            "loss_sum": state.loss_sum,
            "history": _finite_or_none(state.history),
            "best_loss": _finite_or_none(state.best_loss),
            "best_epoch": state.best_epoch,
            "bad_epochs": state.bad_epochs,
            "warned_layers": list(state.warned_layers),
        },
        "optimizer": {"param_groups": groups},
        "tensors_sha256": hashlib.sha256(blob).hexdigest(),
    }
    text = json.dumps(doc, indent=1, allow_nan=False).encode()
    name = checkpoint_name(state.epoch, state.step)
    with folder_lock(directory):
        _remove_debris(directory)
        tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=directory))
        _write_file(tmp / TENSORS_FILE, blob)
        _write_file(tmp / STATE_FILE, text)  # last: it vouches for the tensors
        fsync_dir(tmp)
        final = directory / name
        if final.exists():  # the same point saved again (e.g. after a replay)
            _discard(final)
        os.rename(tmp, final)  # the commit
        fsync_dir(directory)
        if keep_last is not None:
            for old in list_checkpoints(directory)[:-keep_last]:
                _discard(old)
    return final


def _discard(folder: Path) -> None:
    """Retire a checkpoint: one atomic rename out of sight, then delete."""
    trash = Path(tempfile.mkdtemp(prefix=_TRASH_PREFIX, dir=folder.parent))
    os.rename(folder, trash / folder.name)
    fsync_dir(folder.parent)
    shutil.rmtree(trash, ignore_errors=True)


def _remove_debris(directory: Path) -> None:
    """Delete what killed saves left behind (callers hold the folder lock)."""
    for p in directory.iterdir():
        if p.name.startswith((_TMP_PREFIX, _TRASH_PREFIX)):
            shutil.rmtree(p, ignore_errors=True)


class CheckpointCallback(Callback):
    """Save a checkpoint every `every` epochs, and where training stops.

    The final save covers the last epoch, early stopping, and a stop requested
    mid-epoch (e.g. by `StopOnSignal`): ``last_path`` then names a checkpoint
    of the exact point reached. A divergence raises before ``on_train_end``, so
    the checkpoints already written stay as they were.

    Parameters
    ----------
    directory : path
        Folder of the checkpoints; created when missing.
    every : int, default=1
        Epochs between checkpoints.
    keep_last : int or None, default=3
        How many checkpoints to keep, newest first; None keeps all.
    meta, tensors : optional
        Stored with every checkpoint (JSON values; tensors), see `save_checkpoint`.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from aekit import AutoEncoder
    >>> from aekit.checkpoint import load_checkpoint
    >>> X = np.random.default_rng(0).random((64, 8))
    >>> d = tempfile.mkdtemp()
    >>> ae = AutoEncoder(latent_dim=2, max_epochs=3, verbose=0, random_state=0)
    >>> ae = ae.fit(X, checkpoint_dir=d, checkpoint_every=1, keep_last=2)
    >>> load_checkpoint(d).epoch
    3
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        every: int = 1,
        keep_last: int | None = 3,
        meta: dict[str, Any] | None = None,
        tensors: dict[str, torch.Tensor] | None = None,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(
                f"checkpoint_every must be a positive integer, got {every!r}"
            )
        if keep_last is not None and (
            isinstance(keep_last, bool)
            or not isinstance(keep_last, int)
            or keep_last < 1
        ):
            raise ValueError(
                f"keep_last must be a positive integer or None, got {keep_last!r}"
            )
        self.directory = Path(directory)
        self.every = every
        self.keep_last = keep_last
        self.meta = meta
        self.tensors = tensors
        self.last_path: Path | None = None
        self._saved_at: tuple[int, int] | None = None

    def on_train_begin(self, state: TrainState) -> None:
        if self.directory.exists() and not self.directory.is_dir():
            raise FileExistsError(
                f"checkpoint_dir {self.directory} exists and is not a folder; "
                "choose another path"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        self._saved_at = (state.epoch, state.step)  # the start is not worth a save

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every == 0:
            self.save(state)

    def on_train_end(self, state: TrainState) -> None:
        if (state.epoch, state.step) != self._saved_at:
            self.save(state)

    def save(self, state: TrainState) -> Path:
        """Write a checkpoint of `state` now (it must be at a step boundary)."""
        self.last_path = save_checkpoint(
            self.directory, state, self.meta, self.tensors, self.keep_last
        )
        self._saved_at = (state.epoch, state.step)
        return self.last_path


# -- reading -----------------------------------------------------------------


def _point(folder: Path) -> tuple[int, int] | None:
    m = _NAME.match(folder.name)
    return None if m is None else (int(m.group(1)), int(m.group(2) or 0))


def list_checkpoints(directory: str | os.PathLike[str]) -> list[Path]:
    """Committed checkpoint folders in `directory`, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for p in directory.iterdir():
        point = _point(p)
        if point is not None and p.is_dir():
            found.append((point, p))
    return [p for _, p in sorted(found)]


def latest_checkpoint(directory: str | os.PathLike[str]) -> Path | None:
    """The newest committed checkpoint folder in `directory`, or None."""
    found = list_checkpoints(directory)
    return found[-1] if found else None


@dataclass
class Checkpoint:
    """A loaded checkpoint: the estimator's settings and the pieces of a TrainState."""

    path: Path  # the ckpt-* folder read
    meta: dict[str, Any]  # what the writer stored, e.g. params, seed, data fingerprint
    architecture: dict[str, Any] | None  # AEConfig.to_dict() of the module
    epoch: int  # epochs completed
    step: int  # batches completed in the next epoch
    loss_sum: float
    history: list[dict[str, Any]]
    best_loss: float
    best_epoch: int
    bad_epochs: int
    warned_layers: list[str]
    model_state: dict[str, torch.Tensor]
    best_weights: dict[str, torch.Tensor] | None
    optimizer_state: dict[str, Any]  # in torch's Optimizer.state_dict() form
    generator_state: torch.Tensor
    epoch_rng_state: torch.Tensor | None
    tensors: dict[str, torch.Tensor]  # the `tensors` given to save_checkpoint

    @property
    def params(self) -> dict[str, Any]:
        """The AutoEncoder parameters of the run (empty when not saved by one)."""
        params = self.meta.get("params")
        return dict(params) if isinstance(params, dict) else {}

    def train_state(
        self, module: nn.Module, optimizer: torch.optim.Optimizer, patience: int | None
    ) -> TrainState:
        """Load weights and optimizer state; return the TrainState to resume from."""
        device = next(module.parameters()).device
        try:
            module.load_state_dict(self.model_state)
            optimizer.load_state_dict(self.optimizer_state)
            generator = torch.Generator(device="cpu")
            generator.set_state(self.generator_state)
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as e:
            raise ModelFormatError(
                f"checkpoint {self.path} does not fit the model being resumed: {e}"
            ) from None
        best = None
        if self.best_weights is not None:
            best = {k: v.to(device) for k, v in self.best_weights.items()}
        return TrainState(
            module=module,
            optimizer=optimizer,
            generator=generator,
            epoch=self.epoch,
            step=self.step,
            epoch_rng_state=self.epoch_rng_state,
            loss_sum=self.loss_sum,
            history=self.history,
            best_loss=self.best_loss,
            best_epoch=self.best_epoch,
            best_weights=best,
            bad_epochs=self.bad_epochs,
            warned_layers=self.warned_layers,
            stopped_early=self.step == 0
            and patience is not None
            and self.bad_epochs >= patience,
        )


def _check(cond: bool, path: Path, what: str) -> None:
    if not cond:
        raise ModelFormatError(f"checkpoint {path} is corrupted: {what}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _read_one(folder: Path) -> Checkpoint:
    from safetensors import SafetensorError
    from safetensors.torch import load

    from .io import _read

    raw = _read(folder / STATE_FILE, MAX_STATE_BYTES)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ModelFormatError(
            f"checkpoint {folder}: {STATE_FILE} is not valid JSON ({e})"
        ) from None
    _check(
        isinstance(doc, dict) and doc.get("format") == FORMAT,
        folder,
        f"{STATE_FILE} is not an aekit checkpoint",
    )
    version = doc.get("format_version")
    if not _is_int(version) or not 1 <= version <= FORMAT_VERSION:
        raise ModelFormatError(
            f"checkpoint {folder} has format version {version!r} (written by aekit "
            f"{doc.get('aekit_version', '?')}); this aekit reads version "
            f"{FORMAT_VERSION}: resume with the aekit version that wrote it"
        )
    blob = _read(folder / TENSORS_FILE)
    _check(
        hashlib.sha256(blob).hexdigest() == doc.get("tensors_sha256"),
        folder,
        f"{TENSORS_FILE} does not match the checksum in {STATE_FILE}",
    )
    try:
        tensors = load(blob)
    except (SafetensorError, ValueError, RuntimeError, OverflowError) as e:
        raise ModelFormatError(
            f"checkpoint {folder}: {TENSORS_FILE} is unreadable: {e}"
        ) from None
    s, meta, arch = doc.get("state"), doc.get("meta"), doc.get("architecture")
    opt = doc.get("optimizer")
    _check(isinstance(s, dict) and isinstance(meta, dict), folder, "no state or meta")
    _check(arch is None or isinstance(arch, dict), folder, "architecture is not a dict")
    _check(
        isinstance(opt, dict) and isinstance(opt.get("param_groups"), list),
        folder,
        "no optimizer param_groups",
    )
    for key in ("epoch", "step", "best_epoch", "bad_epochs"):
        _check(_is_int(s.get(key)), folder, f"{key} is not a count")
    loss_sum, best_loss = s.get("loss_sum"), s.get("best_loss")
    _check(
        isinstance(loss_sum, (int, float)) and not isinstance(loss_sum, bool),
        folder,
        "loss_sum is not a number",
    )
    _check(
        best_loss is None or isinstance(best_loss, (int, float)),
        folder,
        "best_loss is not a number",
    )
    history, warned = s.get("history"), s.get("warned_layers")
    _check(
        isinstance(history, list) and all(isinstance(h, dict) for h in history),
        folder,
        "history is not a list of records",
    )
    _check(
        isinstance(warned, list) and all(isinstance(w, str) for w in warned),
        folder,
        "warned_layers is not a list of names",
    )
    _check("rng.generator" in tensors, folder, "the random generator state is missing")
    groups: dict[str, dict[str, torch.Tensor]] = {
        "model": {},
        "best": {},
        "optim": {},
        "extra": {},
        "rng": {},
    }
    for name, t in tensors.items():
        prefix, _, rest = name.partition(".")
        _check(prefix in groups and bool(rest), folder, f"unexpected tensor {name!r}")
        groups[prefix][rest] = t
    per_param: dict[int, dict[str, torch.Tensor]] = {}
    for name, t in groups["optim"].items():
        idx, _, key = name.partition(".")
        _check(idx.isdigit() and bool(key), folder, f"bad optimizer tensor {name!r}")
        per_param.setdefault(int(idx), {})[key] = t
    param_groups = []
    for g in opt["param_groups"]:
        _check(
            isinstance(g, dict) and isinstance(g.get("params"), list),
            folder,
            "bad optimizer param_group",
        )
        param_groups.append(
            {
                k: tuple(v) if k == "betas" and isinstance(v, list) else v
                for k, v in g.items()
            }
        )
    return Checkpoint(
        path=folder,
        meta=meta,
        architecture=arch,
        epoch=s["epoch"],
        step=s["step"],
        loss_sum=float(loss_sum),
        history=history,
        best_loss=math.inf if best_loss is None else float(best_loss),
        best_epoch=s["best_epoch"],
        bad_epochs=s["bad_epochs"],
        warned_layers=warned,
        model_state=groups["model"],
        best_weights=groups["best"] or None,
        optimizer_state={"state": per_param, "param_groups": param_groups},
        generator_state=groups["rng"]["generator"],
        epoch_rng_state=groups["rng"].get("epoch"),
        tensors=groups["extra"],
    )


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint: a ``ckpt-*`` folder, or the newest good one in a directory.

    When the newest checkpoint of a directory cannot be read (damaged on disk
    after it was written), the next older one is used, with a warning.

    Raises
    ------
    ModelFormatError
        No readable checkpoint is there.
    """
    path = Path(path)
    if (path / STATE_FILE).exists() or _point(path) is not None:
        return _read_one(path)
    if not path.is_dir():
        raise ModelFormatError(f"checkpoint directory {path} does not exist")
    problems = []
    for folder in reversed(list_checkpoints(path)):
        try:
            ckpt = _read_one(folder)
        except ModelFormatError as e:
            problems.append(str(e))
            continue
        for p in problems:
            warnings.warn(f"{p}; resuming from the older {folder.name}", stacklevel=2)
        return ckpt
    detail = f" ({'; '.join(problems)})" if problems else ""
    raise ModelFormatError(
        f"no complete checkpoint in {path}{detail}; start a new fit without resume_from"
    )


# -- resuming an estimator ---------------------------------------------------


def data_fingerprint(X: np.ndarray) -> dict[str, Any]:
    """Shape and SHA-256 of the training rows: cheap proof of "the same data"."""
    A = np.ascontiguousarray(X)
    return {
        "shape": list(A.shape),
        "dtype": str(A.dtype),
        "sha256": hashlib.sha256(A.tobytes()).hexdigest(),
    }


def estimator_meta(
    est: Any, seed: int, fingerprint: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """What an AutoEncoder stores with its checkpoints: (JSON meta, tensors)."""
    params = est.get_params()
    if params.get("hidden_dims") is not None:
        params["hidden_dims"] = list(params["hidden_dims"])
    rs = params.get("random_state")
    if not (isinstance(rs, int) and not isinstance(rs, bool)):
        params["random_state"] = None  # a RandomState object; the seed below is kept
    names = getattr(est, "feature_names_in_", None)
    meta = {
        "params": params,
        "seed": seed,
        "data": fingerprint,
        "n_features_in": int(est.n_features_in_),
        "feature_names": None if names is None else [str(n) for n in names],
    }
    tensors = {}
    if est.scaling_ is not None:
        tensors["scaling.data_min"] = torch.from_numpy(est.scaling_.data_min)
        tensors["scaling.data_range"] = torch.from_numpy(est.scaling_.data_range)
    return meta, tensors


def check_resume(
    ckpt: Checkpoint,
    params: dict[str, Any],
    fingerprint: dict[str, Any] | None,
    feature_names: Sequence[str] | None,
) -> tuple[int, AEConfig]:
    """Refuse to resume with other settings or data; return (seed, architecture)."""
    saved = ckpt.params
    seed = ckpt.meta.get("seed")
    if not saved or not isinstance(seed, int) or ckpt.architecture is None:
        raise ModelFormatError(
            f"checkpoint {ckpt.path} was not written by AutoEncoder.fit (no "
            "parameters, seed or architecture); it cannot resume an AutoEncoder"
        )
    try:
        arch = AEConfig.from_dict(ckpt.architecture)
    except (TypeError, ValueError) as e:
        raise ModelFormatError(
            f"checkpoint {ckpt.path}: bad architecture ({e})"
        ) from None
    for key, value in params.items():
        if key in RESUME_MAY_CHANGE or key not in saved:
            continue
        if _plain(value) != _plain(saved[key]):
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
    error: DivergenceError, saver: CheckpointCallback | None
) -> Exception:
    """The DivergenceError, naming the last good checkpoint when there is one."""
    if saver is None or (last := latest_checkpoint(saver.directory)) is None:
        return error
    return DivergenceError(
        f"{error}; the last checkpoint, {last}, is intact: fit(X, resume_from="
        f"{os.fspath(saver.directory)!r}) with a smaller lr continues from it"
    )


def raise_if_interrupted(
    state: TrainState,
    cfg: TrainConfig,
    callbacks: Sequence[Callback],
    saver: CheckpointCallback | None,
    resumed: Checkpoint | None,
) -> None:
    """Raise TrainingInterrupted when a StopOnSignal stopped an unfinished run."""
    signum = next(
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


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _short(fp: Any) -> str:
    digest = fp.get("sha256") if isinstance(fp, dict) else None
    return f"{digest[:12]}..." if isinstance(digest, str) else "?"


# -- signals -----------------------------------------------------------------


class StopOnSignal(Callback):
    """Turn SIGINT/SIGTERM into a stop at the next step boundary.

    While training runs, the first signal sets ``state.stop_requested`` and is
    remembered in ``received``; `AutoEncoder.fit` then saves a checkpoint of
    that exact point (when given a ``checkpoint_dir``) and raises
    `aekit.errors.TrainingInterrupted`. A second signal gives up waiting and
    raises KeyboardInterrupt at once. Handlers can only be installed from the
    main thread; elsewhere this callback warns and does nothing. It can also
    be used as a context manager, which installs the handlers for the block.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from aekit import AutoEncoder
    >>> from aekit.errors import TrainingInterrupted
    >>> X = np.random.default_rng(0).random((64, 8))
    >>> ae = AutoEncoder(latent_dim=2, max_epochs=2, verbose=0)
    >>> d = tempfile.mkdtemp()
    >>> try:
    ...     ae = ae.fit(X, callbacks=[StopOnSignal()], checkpoint_dir=d)
    ... except TrainingInterrupted as e:
    ...     print("resume from", e.checkpoint)
    """

    def __init__(
        self, signals: Iterable[int] = (signal.SIGINT, signal.SIGTERM)
    ) -> None:
        self.signals = tuple(signals)
        self.received: int | None = None
        self._state: TrainState | None = None
        self._previous: dict[int, Any] = {}

    def on_train_begin(self, state: TrainState) -> None:
        self._state = state
        self.received = None
        self.install()

    def on_train_end(self, state: TrainState) -> None:
        self.restore()

    def install(self) -> None:
        """Install the handlers (idempotent)."""
        if self._previous:
            return
        if threading.current_thread() is not threading.main_thread():
            warnings.warn(
                "StopOnSignal only works in the main thread; signals keep their "
                "default behaviour",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        for s in self.signals:
            self._previous[s] = signal.signal(s, self._handle)

    def restore(self) -> None:
        """Put the previous handlers back (idempotent)."""
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            self.restore()
            raise KeyboardInterrupt(f"second signal {signal.Signals(signum).name}")
        self.received = signum
        if self._state is not None:
            self._state.stop_requested = True

    def __enter__(self) -> StopOnSignal:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()
