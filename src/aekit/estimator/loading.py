"""A saved model folder as a fitted `AutoEncoder`."""

from __future__ import annotations

import os

from ..serialize import read_model
from .autoencoder import AutoEncoder


def load(path: str | os.PathLike[str]) -> AutoEncoder:
    """Load a model folder written by `AutoEncoder.save`.

    The estimator's parameters are those saved (``get_params()`` as it was),
    its learned attributes those of the fit that wrote it.

    Raises
    ------
    ModelFormatError
        The folder or a file in it is missing, truncated, corrupted or foreign.

    Examples
    --------
    >>> import aekit, numpy as np, tempfile
    >>> X = np.random.default_rng(0).random((100, 8))
    >>> ae = aekit.AutoEncoder(latent_dim=2, max_epochs=2, verbose=0).fit(X)
    >>> d = tempfile.mkdtemp(); ae.save(d)
    >>> bool((aekit.load(d).transform(X) == ae.transform(X)).all())
    True
    """
    saved = read_model(path)
    est = AutoEncoder(**saved.params)
    est._set_fitted(saved.fitted, saved.record)
    return est
