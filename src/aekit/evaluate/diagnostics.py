"""`evaluate_model`: reconstruction, probes and diagnostics of a model on any rows.

Diagnostics: dead units, latent statistics, output saturation, the
train/validation gap of the fit (`training_gap`) and the worst reconstructed
features, with a warning sentence for each problem found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..fitted import EVAL_BATCH, FittedModel
from ..train import evaluate_loss
from .metrics import ErrorSums
from .probes import PROBE_MAX_ROWS, probe_model

if TYPE_CHECKING:
    from ..pca import PCABaseline

LATENT_VARIANCE_FLOOR = (
    1e-3  # a code dimension below this x the largest variance is idle
)
SATURATION = (0.01, 0.99)  # sigmoid outputs below / above these are saturated
OVERFIT_RISE = 0.05  # validation loss this far above its best while train loss falls
OVERFIT_GAP = 1.5  # validation / training loss at the best epoch beyond this
DEAD_WARN = 0.5  # dead share of a hidden layer worth a warning


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


def evaluate_model(
    model: FittedModel,
    X: Any,
    y: Any = None,
    *,
    history: Sequence[dict[str, Any]] = (),
    feature_names: Sequence[str] | None = None,
    n_worst: int = 10,
    probes: Sequence[str] = ("autoencoder", "pca", "raw"),
    max_probe_rows: int = PROBE_MAX_ROWS,
    random_state: int = 0,
) -> dict[str, Any]:
    """Reconstruction, probes and diagnostics of `model` on the rows of X.

    Errors are in the model's [0, 1] scaled space, so that features in
    different units compare; ``mse`` equals ``-est.score(X)`` of the
    estimator that holds the model. The stored PCA baseline (``model.pca``)
    is scored on the same rows. `AutoEncoder.evaluate` calls this with its
    ``fitted_`` and ``history_``.

    Parameters
    ----------
    model : FittedModel
        A fitted model (``AutoEncoder.fitted_``).
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,), optional
        Class labels; when given, probes compare the latent codes, the PCA
        codes and the raw features (see `probe_model`).
    history : sequence of dict, optional
        The fit's per-epoch history (``AutoEncoder.history_``), for the
        train/validation gap (`training_gap`); empty: not available.
    feature_names : sequence of str, optional
        Names for the features; default the model's fitted feature names, else
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
    >>> r = evaluate_model(ae.fitted_, X, n_worst=3)
    >>> len(r["worst_features"]), bool(np.isclose(r["mse"], -ae.score(X)))
    (3, True)
    """
    Xu = model.unit(X)
    n, d = Xu.shape
    names = model.feature_labels(feature_names)
    ae_res, pca_res, latent, saturation = _pass(model, Xu)
    tensor = torch.from_numpy(np.ascontiguousarray(Xu)).to(model.device)
    loss, _, dead = evaluate_loss(
        model.module, tensor, model.loss, model.precision, model.family
    )
    per = np.asarray(ae_res["per_feature"]["mse"])
    pca_per = None if pca_res is None else pca_res["per_feature"]["mse"]
    order = np.argsort(-per, kind="stable")[: max(int(n_worst), 0)]
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
        "latent": latent,
        "saturation": saturation,
        "training": training_gap(history),
    }
    if y is not None and probes:
        result["probes"] = probe_model(
            model, X, y, on=probes, max_rows=max_probe_rows, random_state=random_state
        )
    result["warnings"] = _warnings(result)
    return result


def _pass(model: FittedModel, Xu: np.ndarray) -> tuple[Any, Any, Any, Any]:
    """One pass over the scaled rows: (model errors, PCA errors, latent, saturation)."""
    n, d = Xu.shape
    base: PCABaseline | None = model.pca
    ae = ErrorSums(d)
    pca = ErrorSums(d, targets=ae)  # the same rows: their sums once
    lo, hi = SATURATION
    sat = np.zeros(4)  # outputs low, outputs high, targets low, targets high
    zsum = np.zeros(model.latent_dim)  # per code dimension: sum and sum of squares
    zsq = np.zeros(model.latent_dim)
    for i in range(0, n, EVAL_BATCH):
        A = Xu[i : i + EVAL_BATCH]
        Z = model.encode(A).astype(np.float64)
        R = model.decode(Z.astype(np.float32))
        ae.add(A, R)
        if base is not None:
            pca.add(A, base.reconstruct(A))
        sat += [(R < lo).sum(), (R > hi).sum(), (A < lo).sum(), (A > hi).sum()]
        zsum += Z.sum(axis=0)
        zsq += (Z**2).sum(axis=0)
    pca_res = None
    if base is not None:
        pca_res = {**pca.result(), "n_components": base.n_components}
    variance = np.maximum(zsq / n - (zsum / n) ** 2, 0.0)
    floor = LATENT_VARIANCE_FLOOR * float(variance.max())
    idle = [int(j) for j in np.flatnonzero(variance <= floor)]
    latent = {
        "variance": variance.tolist(),
        "idle_threshold": f"variance <= {LATENT_VARIANCE_FLOOR:g} x the largest",
        "n_idle": len(idle),
        "idle": idle,
    }
    total = n * d
    saturation = {
        "low": float(sat[0] / total),
        "high": float(sat[1] / total),
        "fraction": float((sat[0] + sat[1]) / total),
        "target_fraction": float((sat[2] + sat[3]) / total),
        "limits": list(SATURATION),
    }
    return ae.result(), pca_res, latent, saturation


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
