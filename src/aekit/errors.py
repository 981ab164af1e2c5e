"""The exception hierarchy: every error aekit raises on purpose derives from AekitError."""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError


class AekitError(Exception):
    """Base class of every error aekit raises on purpose."""


class ModelFormatError(AekitError, ValueError):
    """Raised when a model folder is missing, truncated, corrupted or not an aekit model."""


class InvalidParameterError(AekitError, ValueError, TypeError):
    """Raised by `fit` when a parameter has a value of the wrong type or range."""


class DataError(AekitError, ValueError):
    """Raised when input data cannot be used: wrong shape, NaN/inf, non-numeric, empty."""


class DocumentError(AekitError, ValueError):
    """A JSON or YAML file a user wrote (a --config, a search space) cannot be read:
    missing, too large, nested too deeply, expanding too far, or not valid."""


class DivergenceError(AekitError, FloatingPointError):
    """Raised when the training loss becomes NaN or infinite.

    ``reason`` is the sentence that says where and what to try; ``checkpoint``
    the last good checkpoint when one was saved (the message names it too).
    """

    def __init__(
        self, message: str, *, reason: str | None = None, checkpoint: str | None = None
    ) -> None:
        super().__init__(message)
        self.reason = message if reason is None else reason
        self.checkpoint = checkpoint


class NotFittedError(AekitError, _SklearnNotFittedError):
    """Raised when a model is used before `fit`; also a scikit-learn NotFittedError."""


class TrainingInterrupted(AekitError):
    """Raised by `fit` when SIGINT/SIGTERM stopped training (checkpoint.StopOnSignal).

    ``checkpoint`` is the folder of the exact point reached (None without a
    ``checkpoint_dir``), ``signal`` the signal number and ``exit_code`` the
    conventional shell status, 128 + signal (130 for SIGINT, 143 for SIGTERM).
    """

    def __init__(
        self,
        message: str,
        *,
        checkpoint: str | None,
        signal: int,
        epoch: int,
        step: int,
    ) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint
        self.signal = signal
        self.epoch = epoch
        self.step = step

    @property
    def exit_code(self) -> int:
        return 128 + self.signal


class DeadUnitWarning(UserWarning):
    """Warned when a ReLU layer's fraction of dead units passes `dead_unit_threshold`."""
