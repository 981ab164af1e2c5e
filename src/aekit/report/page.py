"""Assembling the report: one HTML page with inline styles, written atomically."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..evaluate import evaluate_model, training_gap
from ..fitted import FittedModel
from ..io import write_atomic
from ..record import FitRecord
from .figures import (
    MAX_SCATTER_POINTS,
    dead_curves,
    examples,
    feature_errors,
    image_side,
    import_matplotlib,
    latent_variance,
    loss_curves,
    part_curves,
    projection,
    samples,
)
from .tables import comparison, diagnostics, fit_metrics, summary

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em;
     margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.7em; text-align: right; }
th { background: #f4f4f4; }
td:first-child, th:first-child { text-align: left; }
table.kv td { text-align: left; }
.warn { background: #fff4e5; border-left: 4px solid #f0a020; padding: 0.5em 1em;
        margin: 0.4em 0; }
.note { color: #666; font-size: 0.9em; }
figure { margin: 0.8em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
"""


def build_report(
    model: FittedModel,
    X: Any = None,
    y: Any = None,
    *,
    record: FitRecord | None = None,
    evaluation: dict[str, Any] | None = None,
    title: str | None = None,
    image_shape: tuple[int, int] | None = None,
    n_examples: int = 8,
    random_state: int = 0,
) -> str:
    """The HTML text of the report (see `write_report`)."""
    import_matplotlib()  # fail early, before any work, when matplotlib is missing
    record = record or FitRecord()
    shape = image_side(model.n_features, image_shape)
    if y is not None and X is not None and len(np.asarray(y).ravel()) != len(X):
        raise ValueError(f"y has {len(np.asarray(y).ravel())} labels for {len(X)} rows")
    title = title or f"aekit model report: latent_dim={model.latent_dim}"
    ev = evaluation
    if ev is None and X is not None:
        ev = evaluate_model(
            model, X, y, history=record.history, random_state=random_state
        )
    parts = [f"<h1>{html.escape(title)}</h1>"]
    parts += _model_sections(model, record, ev, shape, random_state)
    if ev is None:
        parts.append(
            '<p class="note">Pass X (and y) to add reconstructions, per-feature '
            "errors, probes and the latent projection.</p>"
        )
    else:
        Xu = None if X is None else model.unit(X)
        parts += _data_sections(model, ev, Xu, y, shape, n_examples, random_state)
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _model_sections(
    model: FittedModel,
    record: FitRecord,
    ev: dict[str, Any] | None,
    shape: tuple[int, int] | None,
    seed: int,
) -> list[str]:
    """Warnings, the model, its fit-time scores, training curves, drawn rows."""
    history = record.history
    warnings = list(ev["warnings"]) if ev is not None else []
    if ev is None and history:
        w = training_gap(history).get("warning")
        warnings += [w] if w else []
    parts = []
    if warnings:
        parts.append("<h2>Warnings</h2>")
        parts += [f'<div class="warn">{html.escape(w)}</div>' for w in warnings]
    parts += ["<h2>Model</h2>", summary(model, record)]
    parts += [
        "<h2>At fit time: autoencoder vs PCA of the same size</h2>",
        fit_metrics(record),
    ]
    if history:
        parts += [
            "<h2>Training curves</h2>",
            loss_curves(history, record.best_epoch),
            part_curves(history),
            dead_curves(history),
        ]
    drawn = _drawn_rows(model, shape, seed)
    if drawn:
        parts += ["<h2>Generated rows</h2>", drawn]
    return parts


def _data_sections(
    model: FittedModel,
    ev: dict[str, Any],
    Xu: np.ndarray | None,
    y: Any,
    shape: tuple[int, int] | None,
    n_examples: int,
    seed: int,
) -> list[str]:
    """The comparison, examples, errors, latent space and diagnostics on the rows."""
    parts = [
        f"<h2>On the data: {ev['n_rows']} rows, {ev['n_features']} features</h2>",
        comparison(ev),
    ]
    if Xu is not None:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(Xu), min(n_examples, len(Xu)), replace=False))
        A = Xu[pick]
        R = model.reconstruct(A)
        P = model.pca.reconstruct(A) if model.pca is not None else None
        parts += ["<h2>Reconstruction examples</h2>", examples(A, R, P, shape)]
    parts += ["<h2>Error per feature</h2>", feature_errors(ev, shape)]
    if Xu is not None:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(Xu), min(MAX_SCATTER_POINTS, len(Xu)), False))
        Z = model.encode(Xu[keep])
        labels = None if y is None else np.asarray(y).ravel()[keep]
        parts += ["<h2>Latent space</h2>", projection(Z, labels)]
    return parts + [
        "<h3>Variance per latent dimension</h3>",
        latent_variance(ev),
        "<h2>Diagnostics</h2>",
        diagnostics(ev),
    ]


def _drawn_rows(fitted: Any, shape: tuple[int, int] | None, seed: int) -> str:
    """A grid of 32 drawn rows when the family is generative and rows are images."""
    import torch

    if shape is None:
        return ""
    generator = torch.Generator(device=fitted.device).manual_seed(seed)
    try:
        with torch.inference_mode():
            S = fitted.family.sample(fitted.module, 32, generator)
    except NotImplementedError:
        return ""
    return samples(S.float().cpu().numpy(), shape)


def write_report(
    model: FittedModel,
    path: str | os.PathLike[str],
    X: Any = None,
    y: Any = None,
    *,
    record: FitRecord | None = None,
    **kwargs: Any,
) -> Path:
    """Write a self-contained HTML report of `model` to `path`; return the path.

    Without X the report shows the model, the fit-time comparison with PCA and
    the training curves; with X it adds reconstruction examples (as images
    when the number of features is a perfect square or `image_shape` is
    given), the error per feature, the autoencoder/PCA/raw comparison with
    probe accuracies when labels y are given, the latent codes projected to
    2-D and diagnostics. The file is written atomically.

    `AutoEncoder.report` calls this with its ``fitted_`` and ``record_``.

    Parameters
    ----------
    model : FittedModel
        A fitted model (``AutoEncoder.fitted_``).
    path : path
        The HTML file to write.
    X : array-like of shape (n_samples, n_features), optional
    y : array-like of shape (n_samples,), optional
        Class labels: colour the projection and run the probes.
    record : FitRecord, optional
        The fit's record (``AutoEncoder.record_``): training curves, epochs,
        fit-time scores. Without it the report shows the model alone.
    **kwargs
        `build_report` options: evaluation (a precomputed `evaluate_model`
        result for X), title, image_shape, n_examples, random_state.

    Raises
    ------
    ImportError
        matplotlib is missing (``pip install aekit[report]``).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from aekit import AutoEncoder
    >>> X = np.random.default_rng(0).random((100, 16))
    >>> ae = AutoEncoder(latent_dim=2, max_epochs=2, random_state=0, verbose=0).fit(X)
    >>> p = ae.report(os.path.join(tempfile.mkdtemp(), "r.html"), X)
    >>> p.read_text().startswith("<!DOCTYPE html>")
    True
    """
    if y is not None and X is None:
        raise ValueError("y was given without X; pass the rows the labels belong to")
    text = build_report(model, X, y, record=record, **kwargs)
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{path} is a folder; pass a file name such as report.html"
        )
    write_atomic(path, text.encode("utf-8"))
    return path
