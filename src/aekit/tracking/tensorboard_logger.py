"""`TensorBoardLogger`: a fit's epochs and scores as TensorBoard event files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .. import distributed
from ..record import FitRecord
from ..train import Callback, TrainState
from .values import epoch_values, fit_values, import_summary_writer, param_values


class TensorBoardLogger(Callback):
    """Write every epoch's losses and dead-unit shares to event files in `log_dir`.

    Scalars go under the names of `aekit.tracking.values` with step = epoch;
    the parameters go in as a text table, the fit-time scores at the last
    epoch's step. Rank 0 alone writes under torchrun.

    Resuming from a checkpoint logs no epoch twice and misses none: the
    checkpoint holds the last epoch this logger had written
    (``logged_through``); the resumed run opens its writer with
    ``purge_step=logged_through + 1``, so TensorBoard hides what the killed run
    wrote after that, and writes the epochs from there on again from the
    checkpoint's history.

    Parameters
    ----------
    log_dir : path
        Folder of the event files (``tensorboard --logdir`` it); created when missing.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from aekit import AutoEncoder
    >>> X = np.random.default_rng(0).random((64, 8))
    >>> tb = TensorBoardLogger(tempfile.mkdtemp())
    >>> ae = AutoEncoder(latent_dim=2, max_epochs=2, random_state=0)
    >>> ae = ae.fit(X, callbacks=[tb])
    >>> tb.logged_through
    2
    """

    def __init__(self, log_dir: str | os.PathLike[str]) -> None:
        self._writer_class = import_summary_writer()
        self.log_dir = os.fspath(log_dir)
        self.logged_through = 0  # the last epoch written (step = epoch)
        self.writer: Any = None
        self._params: dict[str, str] | None = None
        self._restored = False  # logged_through came from the checkpoint resumed

    @property
    def state_key(self) -> str:
        return f"TensorBoardLogger:{self.log_dir}"

    def state_dict(self) -> dict[str, Any]:
        return {"logged_through": self.logged_through}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.logged_through = int(state.get("logged_through", 0))
        self._restored = True

    def on_fit_begin(self, params: Mapping[str, Any]) -> None:
        self._params = param_values(params)

    def on_train_begin(self, state: TrainState) -> None:
        if not distributed.world().is_main:
            return
        resumed = bool(state.history)
        if not self._restored:  # a new fit, or a checkpoint saved without this logger
            self.logged_through = 0
        self._restored = False
        self.logged_through = min(self.logged_through, len(state.history))
        self.writer = self._writer_class(
            self.log_dir, purge_step=self.logged_through + 1 if resumed else None
        )
        if self._params and not resumed:
            rows = "\n".join(f"| {k} | {v} |" for k, v in self._params.items())
            self.writer.add_text("params", "| parameter | value |\n|---|---|\n" + rows)
        for record in state.history[self.logged_through :]:
            self._write(record)
        self.writer.flush()

    def on_epoch_end(self, state: TrainState) -> None:
        if self.writer is None:
            return
        self._write(state.history[-1])
        self.writer.flush()  # a killed run keeps every epoch it logged

    def on_train_end(self, state: TrainState) -> None:
        if self.writer is not None and self._params is None:  # not a fit: done
            self.close()

    def on_fit_end(self, record: FitRecord) -> None:
        if self.writer is None:
            return
        for name, value in fit_values(record.metrics).items():
            self.writer.add_scalar(name, value, record.n_epochs or 0)
        self.close()

    def on_exception(self, error: BaseException) -> None:
        self.close()

    def log_metrics(self, values: Mapping[str, float], step: int = 0) -> None:
        """Add scalars after the fit (e.g. `probe_values`), at `step`."""
        if not distributed.world().is_main:
            return
        writer = self.writer or self._writer_class(self.log_dir)
        for name, value in values.items():
            writer.add_scalar(name, float(value), step)
        writer.flush()
        if writer is not self.writer:
            writer.close()

    def close(self) -> None:
        """Flush and close the event file (the next fit opens a new one)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def _write(self, record: Mapping[str, Any]) -> None:
        epoch = int(record["epoch"])
        for name, value in epoch_values(record).items():
            self.writer.add_scalar(name, value, epoch)
        self.logged_through = epoch
