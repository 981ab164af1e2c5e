"""The test rows' verdict: the tuned model against the PCA and the default AutoEncoder.

The test rows are never seen by the search. Every error is a mean squared
error in the [0, 1] space of the search rows' scaling (the tuned model's), so
the three compare on the same numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import DeadUnitWarning


def held_out_mse(
    est: Any,
    X_search: np.ndarray,
    X_test: np.ndarray,
    *,
    base: Mapping[str, Any],
    random_state: int,
    compare_default: bool,
) -> dict[str, float]:
    """Test MSE of `est` (``model``), of the PCA of its size (``pca``) and, asked, the default.

    The default (``default``) is an AutoEncoder of `est`'s code size with the
    search's `base` parameters, fitted on the search rows without evaluation.
    """
    k = est.get_params()["latent_dim"]
    out = {"model": float(est.reconstruction_error(X_test).mean())}
    out["pca"] = pca_mse(
        est.fitted_.to_unit(X_search), est.fitted_.to_unit(X_test), k, random_state
    )
    if compare_default:
        out["default"] = default_mse(X_search, X_test, {**base, "latent_dim": k})
    return out


def pca_mse(U_search: np.ndarray, U_test: np.ndarray, k: int, seed: int) -> float:
    """Test MSE of the PCA with `k` components fitted on the search rows."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=k, random_state=seed).fit(U_search)
    R = pca.inverse_transform(pca.transform(U_test))
    return float(np.mean((U_test.astype(np.float64) - R) ** 2))


def default_mse(
    X_search: np.ndarray, X_test: np.ndarray, params: Mapping[str, Any]
) -> float:
    """Test MSE of an AutoEncoder of `params` fitted on the search rows."""
    from ..estimator import AutoEncoder

    default = AutoEncoder(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeadUnitWarning)
        default.fit(X_search, evaluate=False)
    return float(default.reconstruction_error(X_test).mean())
