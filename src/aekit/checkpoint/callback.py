"""The callback that saves checkpoints while training runs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..train import Callback, TrainState
from .store import save_checkpoint


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
