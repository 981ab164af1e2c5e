"""How well a model reconstructs and represents data, next to a PCA of the same size.

Every error here is measured in the model's [0, 1] scaled space (the space the
network is trained in), so features in different units compare and the PCA
baseline, fitted on the same scaled rows, competes on equal terms.

At fit time the estimator calls `fit_time_evaluation`: a PCA with as many
components as the code has dimensions is fitted on the training rows and both
models are scored on the validation rows; the anomaly threshold is calibrated
on the rows passed to `fit`. `evaluate_model` reports on any data: errors
overall and per feature for both models, linear and k-NN probes when labels are
given, and diagnostics (dead units, latent statistics, output saturation, the
train/validation gap, the worst reconstructed features).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .train import EVAL_BATCH, evaluate_loss

if TYPE_CHECKING:
    from .estimator import AutoEncoder

BASELINE_PREFIX = "baseline."  # tensor names of the PCA baseline in model.safetensors
BASELINE_MAX_FLOATS = 2**24  # components above this (64 MiB of float32) are not kept
BASELINE_MAX_ROWS = 100_000  # the PCA is fitted on a seeded sample beyond this
THRESHOLD_QUANTILE = 0.99  # anomaly threshold: this quantile of the fit rows' errors
LATENT_VARIANCE_FLOOR = (
    1e-3  # a code dimension below this x the largest variance is idle
)
SATURATION = (0.01, 0.99)  # sigmoid outputs below / above these are saturated
OVERFIT_RISE = 0.05  # validation loss this far above its best while train loss falls
OVERFIT_GAP = 1.5  # validation / training loss at the best epoch beyond this
DEAD_WARN = 0.5  # dead share of a hidden layer worth a warning
PROBE_MAX_ROWS = 5000  # probes use a seeded sample of at most this many rows
PROBE_FOLDS = 5
PROBE_MAX_ITER = (
    100  # lbfgs iterations of the logistic probe (accuracy settles earlier)
)
PROBE_NEIGHBORS = 5


# -- the PCA baseline ------------------------------------------------------------------


@dataclass
class PCABaseline:
    """A fitted PCA, reduced to what reconstruction needs.

    ``reconstruct(x) = mean + (x - mean) W^T W`` with W the components.
    """

    components: np.ndarray  # (n_components, n_features) float32, orthonormal rows
    mean: np.ndarray  # (n_features,) float32
    explained_variance: np.ndarray  # (n_components,) float32

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    def transform(self, Xu: np.ndarray) -> np.ndarray:
        """(n, n_features) scaled rows -> (n, n_components) PCA codes."""
        return ((Xu - self.mean) @ self.components.T).astype(np.float32, copy=False)

    def reconstruct(self, Xu: np.ndarray) -> np.ndarray:
        """Scaled rows -> their projection on the principal subspace (not clipped)."""
        return (self.transform(Xu) @ self.components + self.mean).astype(
            np.float32, copy=False
        )

    def to_tensors(self) -> dict[str, torch.Tensor]:
        return {
            f"{BASELINE_PREFIX}{k}": torch.from_numpy(
                np.ascontiguousarray(v, np.float32)
            )
            for k, v in (
                ("components", self.components),
                ("mean", self.mean),
                ("explained_variance", self.explained_variance),
            )
        }

    @classmethod
    def from_tensors(
        cls, tensors: dict[str, torch.Tensor], n_features: int
    ) -> PCABaseline:
        """Rebuild from `to_tensors` output; ValueError if inconsistent."""
        names = {
            f"{BASELINE_PREFIX}{k}"
            for k in ("components", "mean", "explained_variance")
        }
        if set(tensors) != names:
            raise ValueError(f"baseline tensors {sorted(tensors)} != {sorted(names)}")
        c, m, v = (
            tensors[f"{BASELINE_PREFIX}{k}"].float().numpy()
            for k in ("components", "mean", "explained_variance")
        )
        if (
            c.ndim != 2
            or c.shape[1] != n_features
            or m.shape != (n_features,)
            or v.shape != (c.shape[0],)
        ):
            raise ValueError(
                f"baseline shapes {c.shape}, {m.shape}, {v.shape} do not fit "
                f"{n_features} features"
            )
        return cls(c, m, v)


def split_baseline(
    tensors: dict[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(network tensors, baseline tensors) of a model file."""
    base = {k: t for k, t in tensors.items() if k.startswith(BASELINE_PREFIX)}
    return {k: t for k, t in tensors.items() if k not in base}, base


def fit_baseline(
    Xu: np.ndarray, n_components: int, seed: int
) -> tuple[PCABaseline | None, dict[str, Any]]:
    """PCA of the scaled rows Xu with min(n_components, rows, features) components."""
    from sklearn.decomposition import PCA

    n, d = Xu.shape
    k = min(int(n_components), n, d)
    info: dict[str, Any] = {
        "n_components": k,
        "fit_rows": n,
        "stored": False,
        "note": None,
    }
    if n < 2:
        info["note"] = "no PCA baseline: fewer than 2 training rows"
        return None, info
    if n > BASELINE_MAX_ROWS:
        rows = np.random.default_rng(seed).choice(n, BASELINE_MAX_ROWS, replace=False)
        Xu = Xu[np.sort(rows)]
        info["fit_rows"] = BASELINE_MAX_ROWS
        info["note"] = (
            f"PCA fitted on a seeded sample of {BASELINE_MAX_ROWS} of {n} rows"
        )
    t0 = time.perf_counter()
    pca = PCA(n_components=k, random_state=seed).fit(Xu)
    info["seconds"] = time.perf_counter() - t0
    if k < n_components:
        info["note"] = (
            f"PCA capped at {k} components (min of rows and features) for a "
            f"{n_components}-dimensional code"
        )
    base = PCABaseline(
        pca.components_.astype(np.float32),
        pca.mean_.astype(np.float32),
        pca.explained_variance_.astype(np.float32),
    )
    if k * d > BASELINE_MAX_FLOATS:
        info["note"] = (
            f"PCA components ({k} x {d} = {k * d} floats) exceed "
            f"{BASELINE_MAX_FLOATS} and are not kept; its scores were computed at "
            "fit time"
        )
        return base, info  # the caller scores it, then drops it
    info["stored"] = True
    return base, info


# -- reconstruction metrics ------------------------------------------------------------


class _Errors:
    """Streaming per-feature sums for MSE, MAE and R^2 of one model."""

    def __init__(self, n_features: int) -> None:
        self.n = 0
        self.sse = np.zeros(n_features)
        self.sae = np.zeros(n_features)
        self.sx = np.zeros(n_features)
        self.sxx = np.zeros(n_features)

    def add(self, A: np.ndarray, R: np.ndarray) -> np.ndarray:
        """Add a chunk of targets A and reconstructions R; return its per-row MSE."""
        A64 = A.astype(np.float64)
        d = R.astype(np.float64) - A64
        self.n += len(A)
        self.sse += (d**2).sum(axis=0)
        self.sae += np.abs(d).sum(axis=0)
        self.sx += A64.sum(axis=0)
        self.sxx += (A64**2).sum(axis=0)
        return (d**2).mean(axis=1)

    def result(self, per_feature: bool = True) -> dict[str, Any]:
        n = max(self.n, 1)
        sst = np.maximum(self.sxx - self.sx**2 / n, 0.0)
        # sklearn's force_finite rule for a constant feature: 1 if exact, else 0
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(
                sst > 0, 1 - self.sse / sst, np.where(self.sse == 0, 1.0, 0.0)
            )
        total_sst = sst.sum()
        out: dict[str, Any] = {
            "mse": float(self.sse.sum() / (n * len(self.sse))),
            "mae": float(self.sae.sum() / (n * len(self.sae))),
            # share of the total variance explained (variance-weighted R^2)
            "r2": float(1 - self.sse.sum() / total_sst) if total_sst > 0 else None,
        }
        if per_feature:
            out["per_feature"] = {
                "mse": (self.sse / n).tolist(),
                "mae": (self.sae / n).tolist(),
                "r2": r2.tolist(),
            }
        return out


def _unit(est: AutoEncoder, X: Any) -> np.ndarray:
    """X validated against the model and mapped to its [0, 1] scaled space."""
    return est._to_unit(est._validate(X, reset=False))


def _recon_unit(est: AutoEncoder, Xu: np.ndarray) -> np.ndarray:
    return est._batched(est.module_, Xu)


def fit_time_evaluation(
    est: AutoEncoder, Xu: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray
) -> tuple[PCABaseline | None, dict[str, Any], float]:
    """PCA baseline, held-out scores and the anomaly threshold of a just-fitted model.

    Returns ``(pca_, metrics_, threshold_)``. Xu holds all rows passed to
    `fit`, scaled; the PCA is fitted on ``Xu[train_idx]`` and both models are
    scored on ``Xu[train_idx]`` and ``Xu[val_idx]``.
    """
    base, info = fit_baseline(Xu[train_idx], est._n_features_out, int(est.seed_))
    metrics: dict[str, Any] = {
        "space": "scaled [0, 1]",
        "rows": {"train": int(len(train_idx)), "validation": int(len(val_idx))},
        "autoencoder": {},
        "pca": info,
    }
    row_error = np.empty(len(Xu))
    for split, idx in (("train", train_idx), ("validation", val_idx)):
        if len(idx) == 0:
            metrics["autoencoder"][split] = info[split] = None
            continue
        ae, pca = _Errors(Xu.shape[1]), _Errors(Xu.shape[1])
        for i in range(0, len(idx), EVAL_BATCH):
            rows = idx[i : i + EVAL_BATCH]
            A = Xu[rows]
            row_error[rows] = ae.add(A, _recon_unit(est, A))
            if base is not None:
                pca.add(A, base.reconstruct(A))
        metrics["autoencoder"][split] = ae.result(per_feature=False)
        info[split] = pca.result(per_feature=False) if base is not None else None
    threshold = float(np.quantile(row_error, THRESHOLD_QUANTILE))
    metrics["threshold"] = {
        "value": threshold,
        "quantile": THRESHOLD_QUANTILE,
        "rows": int(len(Xu)),
        "of": "per-row MSE of all rows passed to fit (training and validation)",
    }
    return (base if info["stored"] else None), metrics, threshold


# -- probes ----------------------------------------------------------------------------


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
    est: AutoEncoder,
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
    est : AutoEncoder
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
    Xu = _unit(est, X)
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
        reps["autoencoder"] = est._batched(est.module_.encode, Xu)
    base = getattr(est, "pca_", None)
    if "pca" in on and base is not None:
        reps["pca"] = base.transform(Xu)
    if "raw" in on:
        reps["raw"] = Xu
    for name, Z in reps.items():
        out["results"][name] = probe(Z, y, folds=folds, random_state=random_state)
    return out


# -- diagnostics -----------------------------------------------------------------------


def training_gap(history: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The train/validation gap in a fit's history, with a warning when it overfits.

    It warns when, after the best validation epoch, the validation loss rose more
    than OVERFIT_RISE (5%) above its best while the training loss kept falling,
    or when at the best epoch the validation loss is more than OVERFIT_GAP
    (1.5) times the training loss.
    """
    rows = [
        h
        for h in history
        if h.get("val_loss") is not None and h.get("train_loss") is not None
    ]
    if not rows:
        return {"available": False, "warning": None}
    vals = np.array([h["val_loss"] for h in rows], dtype=np.float64)
    trains = np.array([h["train_loss"] for h in rows], dtype=np.float64)
    b = int(np.argmin(vals))
    ratio = float(vals[b] / trains[b]) if trains[b] > 0 else None
    rise = float(vals[-1] / vals[b] - 1) if vals[b] > 0 else 0.0
    train_change = float(trains[-1] / trains[b] - 1) if trains[b] > 0 else 0.0
    problems = []
    if rise > OVERFIT_RISE and train_change < 0:
        problems.append(
            f"validation loss rose {rise:.0%} after its best epoch "
            f"({rows[b]['epoch']}) while the training loss fell {-train_change:.0%}"
        )
    if ratio is not None and ratio > OVERFIT_GAP:
        problems.append(
            f"at the best epoch the validation loss is {ratio:.2f}x the training "
            f"loss (warning above {OVERFIT_GAP}x)"
        )
    warning = None
    if problems:
        warning = (
            "the model overfits its training rows: "
            + "; ".join(problems)
            + f". The weights of epoch {rows[b]['epoch']} are the ones kept; judge "
            "the model by its held-out error against the PCA baseline. More rows "
            "or a smaller network narrow the gap"
        )
    return {
        "available": True,
        "best_epoch": int(rows[b]["epoch"]),
        "train_loss_at_best": float(trains[b]),
        "val_loss_at_best": float(vals[b]),
        "gap_ratio_at_best": ratio,
        "val_rise_after_best": rise,
        "train_change_after_best": train_change,
        "warning": warning,
    }


def _feature_names(est: AutoEncoder, n: int, names: Sequence[str] | None) -> list[str]:
    if names is None:
        stored = getattr(est, "feature_names_in_", None)
        names = (
            [str(s) for s in stored]
            if stored is not None
            else [f"x{i}" for i in range(n)]
        )
    if len(names) != n:
        raise ValueError(f"{len(names)} feature names for {n} features")
    return [str(s) for s in names]


def evaluate_model(
    est: AutoEncoder,
    X: Any,
    y: Any = None,
    *,
    feature_names: Sequence[str] | None = None,
    n_worst: int = 10,
    probes: Sequence[str] = ("autoencoder", "pca", "raw"),
    max_probe_rows: int = PROBE_MAX_ROWS,
    random_state: int = 0,
) -> dict[str, Any]:
    """Reconstruction, probes and diagnostics of `est` on the rows of X.

    Errors are in the model's [0, 1] scaled space, so that features in
    different units compare; ``mse`` equals ``-est.score(X)``. The stored PCA
    baseline (``est.pca_``) is scored on the same rows.

    Parameters
    ----------
    est : AutoEncoder
        A fitted model.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,), optional
        Class labels; when given, probes compare the latent codes, the PCA
        codes and the raw features (see `probe_model`).
    feature_names : sequence of str, optional
        Names for the features; default the model's ``feature_names_in_``, else
        x0, x1, ...
    n_worst : int, default=10
        How many of the worst reconstructed features to list.
    probes : sequence of {"autoencoder", "pca", "raw"}
        Representations to probe when y is given; () skips the probes.
    max_probe_rows : int, default=5000
    random_state : int, default=0
        Seeds the probes' row sample and folds.

    Returns
    -------
    dict
        JSON-ready. ``n_rows``, ``n_features``, ``mse``, ``mae``, ``r2``,
        ``loss`` (the model's training loss on X), ``feature_mse`` (name ->
        mse), ``worst_features`` (``[{"feature", "mse", "pca_mse"}]``, worst
        first), ``dead_units`` (hidden layer -> share of units whose input is
        <= 0 for every row of X: dead for ReLU), ``autoencoder`` and ``pca``
        (``{"mse", "mae", "r2", "per_feature": {"mse", "mae", "r2"}}``; pca is
        None without a stored baseline), ``probes`` (None without y),
        ``latent``, ``saturation``, ``training`` (see `training_gap`) and
        ``warnings`` (sentences).

    Examples
    --------
    >>> from aekit import AutoEncoder
    >>> X = np.random.default_rng(0).random((100, 8))
    >>> ae = AutoEncoder(latent_dim=2, max_epochs=2, random_state=0, verbose=0).fit(X)
    >>> r = evaluate_model(ae, X, n_worst=3)
    >>> len(r["worst_features"]), bool(np.isclose(r["mse"], -ae.score(X)))
    (3, True)
    """
    Xu = _unit(est, X)
    n, d = Xu.shape
    names = _feature_names(est, d, feature_names)
    base: PCABaseline | None = getattr(est, "pca_", None)
    ae, pca = _Errors(d), _Errors(d)
    lo, hi = SATURATION
    sat = np.zeros(4)  # outputs low, outputs high, targets low, targets high
    zsum = np.zeros(est._n_features_out)  # per code dimension: sum and sum of squares
    zsq = np.zeros(est._n_features_out)
    for i in range(0, n, EVAL_BATCH):
        A = Xu[i : i + EVAL_BATCH]
        Z = est._batched(est.module_.encode, A).astype(np.float64)
        R = est._batched(est.module_.decode, Z.astype(np.float32))
        ae.add(A, R)
        if base is not None:
            pca.add(A, base.reconstruct(A))
        sat += [(R < lo).sum(), (R > hi).sum(), (A < lo).sum(), (A > hi).sum()]
        zsum += Z.sum(axis=0)
        zsq += (Z**2).sum(axis=0)
    ae_res = ae.result()
    pca_res = pca.result() if base is not None else None
    if pca_res is not None:
        pca_res["n_components"] = base.n_components if base is not None else None
    tensor = torch.from_numpy(np.ascontiguousarray(Xu)).to(est._device())
    loss, dead = evaluate_loss(est.module_, tensor, est.loss, est.precision)
    per = np.asarray(ae_res["per_feature"]["mse"])
    pca_per = None if pca_res is None else pca_res["per_feature"]["mse"]
    order = np.argsort(-per, kind="stable")[: max(int(n_worst), 0)]
    variance = np.maximum(zsq / n - (zsum / n) ** 2, 0.0)
    floor = LATENT_VARIANCE_FLOOR * float(variance.max())
    idle = [int(j) for j in np.flatnonzero(variance <= floor)]
    total = n * d
    result: dict[str, Any] = {
        "n_rows": int(n),
        "n_features": int(d),
        "space": "scaled [0, 1]",
        "mse": ae_res["mse"],
        "mae": ae_res["mae"],
        "r2": ae_res["r2"],
        "loss": float(loss),
        "feature_names": names,
        "feature_mse": {s: float(v) for s, v in zip(names, per, strict=False)},
        "worst_features": [
            {
                "feature": names[j],
                "mse": float(per[j]),
                "pca_mse": None if pca_per is None else float(pca_per[j]),
            }
            for j in order
        ],
        "dead_units": dead,
        "autoencoder": ae_res,
        "pca": pca_res,
        "probes": None,
        "latent": {
            "variance": variance.tolist(),
            "idle_threshold": f"variance <= {LATENT_VARIANCE_FLOOR:g} x the largest",
            "n_idle": len(idle),
            "idle": idle,
        },
        "saturation": {
            "low": float(sat[0] / total),
            "high": float(sat[1] / total),
            "fraction": float((sat[0] + sat[1]) / total),
            "target_fraction": float((sat[2] + sat[3]) / total),
            "limits": list(SATURATION),
        },
        "training": training_gap(getattr(est, "history_", []) or []),
    }
    if y is not None and probes:
        result["probes"] = probe_model(
            est, X, y, on=probes, max_rows=max_probe_rows, random_state=random_state
        )
    result["warnings"] = _warnings(result)
    return result


def _warnings(r: dict[str, Any]) -> list[str]:
    out = []
    if r["training"].get("warning"):
        out.append(r["training"]["warning"])
    for layer, frac in r["dead_units"].items():
        if frac >= DEAD_WARN:
            out.append(
                f"{frac:.0%} of the units of hidden layer {layer} are dead on these "
                "rows (input <= 0 for every row)"
            )
    lat = r["latent"]
    if lat["n_idle"]:
        out.append(
            f"{lat['n_idle']} of {len(lat['variance'])} latent dimensions carry almost "
            f"nothing ({lat['idle_threshold']}); a smaller latent_dim would do"
        )
    if r["pca"] is not None and r["pca"]["mse"] < r["mse"]:
        out.append(
            f"the PCA baseline ({r['pca']['n_components']} components) reconstructs "
            f"these rows better than the autoencoder: MSE {r['pca']['mse']:.4g} vs "
            f"{r['mse']:.4g}"
        )
    s = r["saturation"]
    if s["fraction"] > s["target_fraction"] + 0.25:
        out.append(
            f"{s['fraction']:.0%} of the sigmoid outputs are saturated "
            f"(< {SATURATION[0]} or > {SATURATION[1]}) but only "
            f"{s['target_fraction']:.0%} of the targets are"
        )
    return out


# -- anomaly scores --------------------------------------------------------------------


def score_table(
    est: AutoEncoder,
    X: Any,
    *,
    per_feature: bool = False,
    feature_names: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Per-row anomaly scores of X as columns, ready to write as a table.

    Columns: ``row`` (0-based position in X), ``reconstruction_error`` (mean
    squared error over the features in the scaled space; higher is more
    anomalous), ``is_anomaly`` (error above ``est.threshold_``; left out when
    the model has no threshold) and, with `per_feature`, one
    ``error_<feature>`` column of squared errors per feature.

    Examples
    --------
    >>> from aekit import AutoEncoder
    >>> X = np.random.default_rng(0).random((100, 8))
    >>> ae = AutoEncoder(latent_dim=2, max_epochs=2, random_state=0, verbose=0).fit(X)
    >>> sorted(score_table(ae, X[:5]))
    ['is_anomaly', 'reconstruction_error', 'row']
    """
    E = est.reconstruction_error(X, per_feature=True)  # (n_samples, n_features)
    err = E.mean(axis=1)
    cols: dict[str, np.ndarray] = {
        "row": np.arange(len(err)),
        "reconstruction_error": err,
    }
    threshold = getattr(est, "threshold_", None)
    if threshold is not None:
        cols["is_anomaly"] = err > threshold
    if per_feature:
        for name, col in zip(
            _feature_names(est, E.shape[1], feature_names), E.T, strict=False
        ):
            cols[f"error_{name}"] = col
    return cols
