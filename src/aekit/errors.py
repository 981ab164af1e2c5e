"""The exception hierarchy: every error aekit raises on purpose derives from AekitError."""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError


class AekitError(Exception):
    """Base class of every error aekit raises on purpose."""


class ModelFormatError(AekitError, ValueError):
    """Raised when a model folder is missing, truncated, corrupted or not an aekit model."""


class DataError(AekitError, ValueError):
    """Raised when input data cannot be used: wrong shape, NaN/inf, non-numeric, empty."""


class DivergenceError(AekitError, FloatingPointError):
    """Raised when the training loss becomes NaN or infinite."""


class NotFittedError(AekitError, _SklearnNotFittedError):
    """Raised when a model is used before `fit`; also a scikit-learn NotFittedError."""


class DeadUnitWarning(UserWarning):
    """Warned when a ReLU layer's fraction of dead units passes `dead_unit_threshold`."""
