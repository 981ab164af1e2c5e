"""One self-contained HTML report of a fitted model: curves, reconstructions, baselines.

The report is a single file: the plots are PNG images inlined as base64, the
styles are inline, nothing is fetched, so it opens offline and can be mailed.
matplotlib (the ``report`` extra) is imported only when a report is written,
and only its Agg canvas is used: the pyplot state of the caller is untouched.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .evaluate import evaluate_model
from .io import write_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .estimator import AutoEncoder
    from .model import AutoEncoderNet

MAX_SCATTER_POINTS = 5000  # rows drawn in the 2-D projection
LINE_PLOT_ROWS = 4  # reconstruction examples drawn as line plots when not images

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


def _matplotlib() -> Any:
    """The Figure class and Agg canvas; ImportError naming the extra when missing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "the HTML report needs matplotlib: pip install aekit[report]"
        ) from None
    return Figure, FigureCanvasAgg


def _png(fig: Figure) -> str:
    """The figure as a base64 PNG data URI."""
    _, canvas_cls = _matplotlib()
    canvas_cls(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Figure:
    figure_cls, _ = _matplotlib()
    return figure_cls(figsize=(width, height), layout="constrained")


def _img(uri: str, caption: str) -> str:
    return (
        f'<figure><img src="{uri}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None or isinstance(v, float) and not math.isfinite(v):
        return "&ndash;"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return html.escape(str(v))


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _kv(rows: Sequence[tuple[str, Any]]) -> str:
    """A two-column table of names and values."""
    cells = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    return f'<table class="kv">{cells}</table>'


def _integer_ticks(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _image_side(
    n_features: int, image_shape: tuple[int, int] | None
) -> tuple[int, int] | None:
    if image_shape is not None:
        h, w = (int(s) for s in image_shape)
        if h * w != n_features:
            raise ValueError(
                f"image_shape {image_shape} holds {h * w} pixels, but the model has "
                f"{n_features} features"
            )
        return h, w
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features and side > 1 else None


# -- the sections ----------------------------------------------------------------------


def _loss_curves(history: list[dict[str, Any]], best_epoch: int | None) -> str:
    fig = _figure(7, 3.6)
    ax = fig.add_subplot()
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["train_loss"] for h in history], label="training")
    val = [
        (h["epoch"], h["val_loss"]) for h in history if h.get("val_loss") is not None
    ]
    if val:
        ax.plot(*zip(*val, strict=False), label="validation")
    if best_epoch:
        ax.axvline(
            best_epoch, color="grey", linestyle=":", label=f"best epoch ({best_epoch})"
        )
    ax.set_xlabel("epoch")
    _integer_ticks(ax)
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    return _img(_png(fig), "Training and validation loss per epoch (log scale).")


def _dead_curves(history: list[dict[str, Any]]) -> str:
    layers = sorted({k for h in history for k in h.get("dead_fraction", {})})
    if not layers:
        return '<p class="note">No hidden layers: no dead-unit curves.</p>'
    fig = _figure(7, 3.6)
    ax = fig.add_subplot()
    epochs = [h["epoch"] for h in history]
    for layer in layers:
        ax.plot(
            epochs,
            [100 * h["dead_fraction"].get(layer, 0.0) for h in history],
            label=layer,
        )
    ax.set_xlabel("epoch")
    _integer_ticks(ax)
    ax.set_ylabel("dead units (%)")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", ncol=2)
    return _img(
        _png(fig),
        "Share of each hidden layer's units whose input is <= 0 for every "
        "validation row (dead for ReLU), per epoch.",
    )


def _examples(
    A: np.ndarray, R: np.ndarray, P: np.ndarray | None, shape: tuple[int, int] | None
) -> str:
    rows = [("original", A), ("autoencoder", R)] + (
        [("PCA", P)] if P is not None else []
    )
    if shape is not None:
        from matplotlib import colormaps

        n = len(A)
        h, w = shape
        fig = _figure(min(1.3 * n * w / h + 1.0, 11.0), 1.3 * len(rows))
        axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
        cmap = colormaps["gray"].with_extremes(bad="white")
        for ax, (label, M) in zip(axes, rows, strict=False):
            # one strip per model: the n images side by side, a blank column between
            strip = np.full((h, n * (w + 1) - 1), np.nan)
            for j in range(n):
                strip[:, j * (w + 1) : j * (w + 1) + w] = np.clip(M[j], 0, 1).reshape(
                    shape
                )
            ax.imshow(strip, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_ylabel(label)
        caption = "Reconstruction examples (rows of the data, scaled to [0, 1])."
        return _img(_png(fig), caption)
    n = min(len(A), LINE_PLOT_ROWS)
    fig = _figure(8, 2.0 * n)
    axes = fig.subplots(n, 1, squeeze=False)
    x = np.arange(A.shape[1])
    for j in range(n):
        ax = axes[j][0]
        for label, M in rows:
            ax.plot(
                x,
                M[j],
                label=label,
                marker="." if A.shape[1] <= 60 else None,
                linewidth=1,
            )
        ax.set_ylabel(f"example {j + 1}")
        ax.grid(alpha=0.3)
        _integer_ticks(ax)
    axes[0][0].legend(fontsize="small", ncol=3)
    axes[-1][0].set_xlabel("feature index")
    return _img(_png(fig), "Reconstruction examples, value per feature (scaled space).")


def _feature_errors(ev: dict[str, Any], shape: tuple[int, int] | None) -> str:
    ae = np.asarray(ev["autoencoder"]["per_feature"]["mse"])
    pca = None if ev["pca"] is None else np.asarray(ev["pca"]["per_feature"]["mse"])
    if shape is not None:
        maps = [("autoencoder", ae)] + ([("PCA", pca)] if pca is not None else [])
        fig = _figure(3.2 * len(maps) + 0.8, 3.2)
        axes = fig.subplots(1, len(maps), squeeze=False)[0]
        # a few pixels rarely lit in the training rows can dwarf the rest: the colour
        # scale ends at the 99th percentile and the colour bar marks values beyond
        top = max(float(m.max()) for _, m in maps)
        vmax = max(float(np.percentile(m, 99)) for _, m in maps) or top or 1.0
        im = None
        for ax, (label, m) in zip(axes, maps, strict=True):
            im = ax.imshow(m.reshape(shape), cmap="magma", vmin=0, vmax=vmax)
            ax.set_title(label)
            ax.set_xticks([])
            ax.set_yticks([])
        assert im is not None
        fig.colorbar(
            im,
            ax=list(axes),
            shrink=0.8,
            label="MSE",
            extend="max" if top > vmax else "neither",
        )
        caption = "Mean squared error per pixel (same colour scale for both)."
        if top > vmax:
            caption += (
                f" Pixels above {vmax:.3g} (largest {top:.3g}) show as the top colour."
            )
        return _img(_png(fig), caption)
    fig = _figure(8, 3.4)
    ax = fig.add_subplot()
    x = np.arange(len(ae))
    if len(ae) <= 60:
        width = 0.4 if pca is not None else 0.8
        ax.bar(
            x - (width / 2 if pca is not None else 0), ae, width, label="autoencoder"
        )
        if pca is not None:
            ax.bar(x + width / 2, pca, width, label="PCA")
    else:
        ax.plot(x, ae, label="autoencoder", linewidth=1)
        if pca is not None:
            ax.plot(x, pca, label="PCA", linewidth=1)
    ax.set_xlabel("feature index")
    _integer_ticks(ax)
    ax.set_ylabel("MSE")
    ax.grid(alpha=0.3)
    ax.legend()
    return _img(_png(fig), "Mean squared error per feature (scaled space).")


def _projection(Z: np.ndarray, y: np.ndarray | None) -> str:
    from sklearn.decomposition import PCA

    if Z.shape[1] >= 2 and len(Z) >= 2:
        P = PCA(2).fit_transform(Z.astype(np.float64))
        xlabel, ylabel = "latent PC 1", "latent PC 2"
    else:
        P = np.column_stack([Z[:, 0], np.zeros(len(Z))])
        xlabel, ylabel = "latent dimension 0", ""
    fig = _figure(6.5, 5)
    ax = fig.add_subplot()
    if y is None:
        ax.scatter(P[:, 0], P[:, 1], s=6, alpha=0.6)
    else:
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) <= 20:
            from matplotlib import colormaps

            cmap = colormaps["tab10" if len(classes) <= 10 else "tab20"]
            for i, c in enumerate(classes):
                m = codes == i
                ax.scatter(
                    P[m, 0],
                    P[m, 1],
                    s=6,
                    alpha=0.7,
                    color=cmap(i % cmap.N),
                    label=str(c),
                )
            ax.legend(
                fontsize="small",
                markerscale=2.5,
                ncol=2 if len(classes) > 10 else 1,
                loc="center left",
                bbox_to_anchor=(1.01, 0.5),
                title="label",
            )
        else:
            sc = ax.scatter(P[:, 0], P[:, 1], s=6, alpha=0.7, c=codes, cmap="viridis")
            fig.colorbar(sc, ax=ax, label="label (rank)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return _img(
        _png(fig),
        "The latent codes projected on their first two principal "
        "components" + (", coloured by label." if y is not None else "."),
    )


def _latent_variance(ev: dict[str, Any]) -> str:
    var = np.sort(np.asarray(ev["latent"]["variance"]))[::-1]
    fig = _figure(7, 3)
    ax = fig.add_subplot()
    ax.bar(np.arange(len(var)), var, color="#4c72b0")
    if var.size and var[0] > 0:
        ax.set_yscale("log")
    ax.set_xlabel("latent dimension (sorted by variance)")
    _integer_ticks(ax)
    ax.set_ylabel("variance")
    ax.grid(alpha=0.3, axis="y")
    return _img(
        _png(fig), "Variance of each latent dimension over the rows, largest first."
    )


# -- assembling ------------------------------------------------------------------------


def _summary(est: AutoEncoder) -> str:
    net = cast("AutoEncoderNet", est.module_)
    cfg = net.config
    widths = cfg.widths
    rows = [
        ("architecture", " → ".join(str(w) for w in [*widths, *widths[-2::-1]])),
        ("parameters", f"{net.n_parameters():,}"),
        ("hidden activation", cfg.activation),
        ("loss", est.loss),
        (
            "epochs trained",
            f"{est.n_epochs_} (best {est.best_epoch_}"
            + (", stopped early)" if est.stopped_early_ else ")"),
        ),
        (
            "training time",
            "–" if est.fit_seconds_ is None else f"{est.fit_seconds_:.1f} s",
        ),
        ("anomaly threshold", _fmt(getattr(est, "threshold_", None))),
    ]
    return _kv(rows)


def _fit_metrics(est: AutoEncoder) -> str:
    m = getattr(est, "metrics_", None) or {}
    if not m:
        return '<p class="note">No fit-time metrics stored with this model.</p>'
    pca = m.get("pca") or {}
    rows = []
    for split in ("train", "validation"):
        ae_s = (m.get("autoencoder") or {}).get(split)
        pca_s = pca.get(split)
        if ae_s is None:
            continue
        rows.append(
            (f"autoencoder, {split} rows", ae_s["mse"], ae_s["mae"], ae_s["r2"])
        )
        if pca_s is not None:
            rows.append(
                (
                    f"PCA ({pca.get('n_components')}), {split} rows",
                    pca_s["mse"],
                    pca_s["mae"],
                    pca_s["r2"],
                )
            )
    note = f'<p class="note">{html.escape(pca["note"])}</p>' if pca.get("note") else ""
    return _table(("model", "MSE", "MAE", "R²"), rows) + note


def _comparison(ev: dict[str, Any]) -> str:
    probes = ev.get("probes") or {}
    res = probes.get("results", {})
    reps = [
        (
            "autoencoder",
            ev["autoencoder"],
            len(ev["latent"]["variance"]),
        )
    ]
    if ev["pca"] is not None:
        reps.append(("PCA", ev["pca"], ev["pca"].get("n_components")))
    reps.append(("raw features", None, ev["n_features"]))
    keys = {"autoencoder": "autoencoder", "PCA": "pca", "raw features": "raw"}
    rows = []
    for name, rec, dims in reps:
        p = res.get(keys[name], {})
        if rec is None and not p:
            continue
        row = [
            name,
            dims,
            None if rec is None else rec["mse"],
            None if rec is None else rec["mae"],
            None if rec is None else rec["r2"],
        ]
        rows.append(row + ([p.get("logistic"), p.get("knn")] if res else []))
    header = ["representation", "dims", "MSE", "MAE", "R²"]
    out = _table(header + (["logistic probe", "5-NN probe"] if res else []), rows)
    notes = []
    if not res:
        notes.append(probes.get("skipped") or "no labels given: no probes")
    else:
        any_rep = next(iter(res.values()))
        notes.append(
            f"probe accuracy, {any_rep['cv']} cross-validation on {probes['rows']} rows"
        )
        if probes.get("note"):
            notes.append(probes["note"])
    return out + "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)


def _diagnostics(ev: dict[str, Any]) -> str:
    dead = _table(
        ("hidden layer", "dead units on these rows"),
        [(k, f"{v:.0%}") for k, v in ev["dead_units"].items()],
    )
    lat, sat, tr = ev["latent"], ev["saturation"], ev["training"]
    facts = [
        (
            "idle latent dimensions",
            f"{lat['n_idle']} of {len(lat['variance'])} ({lat['idle_threshold']})",
        ),
        (
            "saturated outputs",
            f"{sat['fraction']:.1%} (< {sat['limits'][0]}: "
            f"{sat['low']:.1%}, > {sat['limits'][1]}: {sat['high']:.1%}); targets in "
            f"those ranges: {sat['target_fraction']:.1%}",
        ),
    ]
    if tr.get("available"):
        facts.append(
            (
                "validation / training loss at best epoch",
                _fmt(tr["gap_ratio_at_best"], 3),
            )
        )
        facts.append(
            (
                "validation loss change after best epoch",
                f"{tr['val_rise_after_best']:+.1%}",
            )
        )
    facts_t = _kv(facts)
    worst = _table(
        ("feature", "autoencoder MSE", "PCA MSE"),
        [(w["feature"], w["mse"], w["pca_mse"]) for w in ev["worst_features"]],
    )
    return dead + facts_t + "<h3>Worst reconstructed features</h3>" + worst


def build_report(
    est: AutoEncoder,
    X: Any = None,
    y: Any = None,
    *,
    evaluation: dict[str, Any] | None = None,
    title: str | None = None,
    image_shape: tuple[int, int] | None = None,
    n_examples: int = 8,
    random_state: int = 0,
) -> str:
    """The HTML text of the report (see `write_report`)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est)
    _matplotlib()  # fail early, before any work, when matplotlib is missing
    shape = _image_side(int(est.n_features_in_), image_shape)
    if y is not None and X is not None and len(np.asarray(y).ravel()) != len(X):
        raise ValueError(f"y has {len(np.asarray(y).ravel())} labels for {len(X)} rows")
    title = title or f"aekit model report: latent_dim={est._n_features_out}"
    parts = [f"<h1>{html.escape(title)}</h1>"]
    ev = evaluation
    if ev is None and X is not None:
        ev = evaluate_model(est, X, y, random_state=random_state)
    warnings = list(ev["warnings"]) if ev is not None else []
    history = getattr(est, "history_", None) or []
    if ev is None and history:
        from .evaluate import training_gap

        w = training_gap(history).get("warning")
        warnings += [w] if w else []
    if warnings:
        parts.append("<h2>Warnings</h2>")
        parts += [f'<div class="warn">{html.escape(w)}</div>' for w in warnings]
    parts += ["<h2>Model</h2>", _summary(est)]
    parts += [
        "<h2>At fit time: autoencoder vs PCA of the same size</h2>",
        _fit_metrics(est),
    ]
    if history:
        parts += [
            "<h2>Training curves</h2>",
            _loss_curves(history, est.best_epoch_),
            _dead_curves(history),
        ]
    if ev is None:
        parts.append(
            '<p class="note">Pass X (and y) to add reconstructions, per-feature '
            "errors, probes and the latent projection.</p>"
        )
    else:
        Xu = est._to_unit(est._validate(X, reset=False)) if X is not None else None
        parts += [
            f"<h2>On the data: {ev['n_rows']} rows, {ev['n_features']} features</h2>",
            _comparison(ev),
        ]
        if Xu is not None:
            rng = np.random.default_rng(random_state)
            pick = np.sort(rng.choice(len(Xu), min(n_examples, len(Xu)), replace=False))
            A = Xu[pick]
            R = est._batched(est.module_, A)
            base = getattr(est, "pca_", None)
            P = base.reconstruct(A) if base is not None else None
            parts += ["<h2>Reconstruction examples</h2>", _examples(A, R, P, shape)]
        parts += ["<h2>Error per feature</h2>", _feature_errors(ev, shape)]
        if Xu is not None:
            rng = np.random.default_rng(random_state)
            keep = np.sort(rng.choice(len(Xu), min(MAX_SCATTER_POINTS, len(Xu)), False))
            Z = est._batched(est.module_.encode, Xu[keep])
            labels = None if y is None else np.asarray(y).ravel()[keep]
            parts += ["<h2>Latent space</h2>", _projection(Z, labels)]
        parts += [
            "<h3>Variance per latent dimension</h3>",
            _latent_variance(ev),
            "<h2>Diagnostics</h2>",
            _diagnostics(ev),
        ]
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def write_report(
    est: AutoEncoder,
    path: str | os.PathLike[str],
    X: Any = None,
    y: Any = None,
    **kwargs: Any,
) -> Path:
    """Write a self-contained HTML report of `est` to `path`; return the path.

    Without X the report shows the model, the fit-time comparison with PCA and
    the training curves; with X it adds reconstruction examples (as images
    when the number of features is a perfect square or `image_shape` is
    given), the error per feature, the autoencoder/PCA/raw comparison with
    probe accuracies when labels y are given, the latent codes projected to
    2-D and diagnostics. The file is written atomically.

    Parameters
    ----------
    est : AutoEncoder
        A fitted model.
    path : path
        The HTML file to write.
    X : array-like of shape (n_samples, n_features), optional
    y : array-like of shape (n_samples,), optional
        Class labels: colour the projection and run the probes.
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
    >>> p = write_report(ae, os.path.join(tempfile.mkdtemp(), "r.html"), X)
    >>> p.read_text().startswith("<!DOCTYPE html>")
    True
    """
    if y is not None and X is None:
        raise ValueError("y was given without X; pass the rows the labels belong to")
    text = build_report(est, X, y, **kwargs)
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{path} is a folder; pass a file name such as report.html"
        )
    write_atomic(path, text.encode("utf-8"))
    return path
