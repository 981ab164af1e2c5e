"""Probes: how well simple classifiers read the labels from a representation.

Logistic regression and k-NN, cross-validated, on the latent codes, the PCA
codes and the raw scaled features of the same rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..fitted import FittedModel

PROBE_MAX_ROWS = 5000  # probes use a seeded sample of at most this many rows
PROBE_FOLDS = 5
PROBE_MAX_ITER = (
    100  # lbfgs iterations of the logistic probe (accuracy settles earlier)
)
PROBE_NEIGHBORS = 5


def _splitter(y: np.ndarray, folds: int, seed: int) -> tuple[Any, str]:
    from sklearn.model_selection import KFold, StratifiedKFold

    smallest = int(np.bincount(y).min())
    if smallest >= 2:
        k = min(folds, smallest)
        return StratifiedKFold(
            k, shuffle=True, random_state=seed
        ), f"stratified {k}-fold"
    k = min(folds, len(y))
    return (
        KFold(k, shuffle=True, random_state=seed),
        f"{k}-fold, not stratified (a class has a single row)",
    )


def probe(
    Z: np.ndarray, y: Any, *, folds: int = PROBE_FOLDS, random_state: int = 0
) -> dict[str, Any]:
    """Cross-validated accuracy of a logistic-regression and a k-NN probe on Z.

    The logistic probe standardises each column first; the k-NN probe
    (k=5, Euclidean) uses Z as it is, so it measures the geometry of the
    representation itself.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _, codes = np.unique(np.asarray(y), return_inverse=True)
    cv, how = _splitter(codes, folds, random_state)
    smallest_train = len(codes) - int(np.ceil(len(codes) / cv.get_n_splits()))
    models = {
        "logistic": make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=PROBE_MAX_ITER)
        ),
        "knn": KNeighborsClassifier(min(PROBE_NEIGHBORS, max(smallest_train, 1))),
    }
    out: dict[str, Any] = {"dims": int(Z.shape[1]), "cv": how}
    for name, model in models.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            scores = cross_val_score(model, Z, codes, cv=cv)
        out[name] = float(scores.mean())
        out[f"{name}_std"] = float(scores.std())
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            out[f"{name}_note"] = (
                f"stopped at {PROBE_MAX_ITER} iterations, not converged"
            )
    return out


def probe_model(
    model: FittedModel,
    X: Any,
    y: Any,
    *,
    on: Sequence[str] = ("autoencoder", "pca", "raw"),
    max_rows: int = PROBE_MAX_ROWS,
    folds: int = PROBE_FOLDS,
    random_state: int = 0,
) -> dict[str, Any]:
    """Probe accuracies on the latent codes, the PCA codes and the raw features of X.

    Parameters
    ----------
    model : FittedModel
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Class labels (any hashable values).
    on : sequence of {"autoencoder", "pca", "raw"}
        The representations to probe; "raw" is the scaled input, "pca" needs
        the stored baseline and is skipped without it.
    max_rows : int, default=5000
        Probes run on a seeded random sample of at most this many rows.
    folds : int, default=5
        Stratified when every class has at least two rows (and fewer folds
        when the smallest class has fewer than `folds` rows).

    Returns
    -------
    dict
        ``rows``, ``classes``, ``note`` and ``results``: representation ->
        ``{"dims", "cv", "logistic", "logistic_std", "knn", "knn_std"}``, or
        ``skipped`` with the reason when the labels cannot be probed.
    """
    unknown = sorted(set(on) - {"autoencoder", "pca", "raw"})
    if unknown:
        raise ValueError(
            f"unknown probe target(s) {unknown}; choose from autoencoder, pca, raw"
        )
    Xu = model.unit(X)
    y = np.asarray(y).ravel()
    if len(y) != len(Xu):
        raise ValueError(f"y has {len(y)} labels for {len(Xu)} rows of X")
    n = len(Xu)
    out: dict[str, Any] = {"rows": int(n), "note": None, "results": {}}
    if n > max_rows:
        keep = np.sort(np.random.default_rng(random_state).choice(n, max_rows, False))
        Xu, y = Xu[keep], y[keep]
        out["rows"] = int(max_rows)
        out["note"] = f"probes on a seeded sample of {max_rows} of {n} rows"
    classes = np.unique(y)
    out["classes"] = int(len(classes))
    if len(classes) < 2 or len(classes) > len(y) // 2:
        out["skipped"] = (
            f"{len(classes)} distinct labels in {len(y)} rows: probes need at least 2 "
            "classes and at least 2 rows per class on average"
        )
        return out
    reps: dict[str, np.ndarray] = {}
    if "autoencoder" in on:
        reps["autoencoder"] = model.encode(Xu)
    if "pca" in on and model.pca is not None:
        reps["pca"] = model.pca.transform(Xu)
    if "raw" in on:
        reps["raw"] = Xu
    for name, Z in reps.items():
        out["results"][name] = probe(Z, y, folds=folds, random_state=random_state)
    return out
