"""SIGINT and SIGTERM during training: a stop at the next step, not a crash."""

from __future__ import annotations

import signal
import threading
import warnings
from collections.abc import Iterable
from types import FrameType
from typing import Any

from ..train import Callback, TrainState


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
            self._state.stop_signal = signum  # before the request it explains
            self._state.stop_requested = True

    def __enter__(self) -> StopOnSignal:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()
