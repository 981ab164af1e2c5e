"""The report's plots, drawn on matplotlib's Agg canvas and inlined as PNG.

matplotlib (the ``report`` extra) is imported only when a plot is drawn, and
only its Figure and Agg canvas are used: the pyplot state of the caller is
untouched. Each section function returns an HTML ``<figure>``.
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_SCATTER_POINTS = 5000  # rows drawn in the 2-D projection
LINE_PLOT_ROWS = 4  # reconstruction examples drawn as line plots when not images


def import_matplotlib() -> Any:
    """The Figure class and Agg canvas; ImportError naming the extra when missing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "the HTML report needs matplotlib: pip install aekit[report]"
        ) from None
    return Figure, FigureCanvasAgg


def png(fig: Figure) -> str:
    """The figure as a base64 PNG data URI."""
    _, canvas_cls = import_matplotlib()
    canvas_cls(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figure(width: float, height: float) -> Figure:
    """A blank matplotlib Figure of `width` x `height` inches, laid out to fit."""
    figure_cls, _ = import_matplotlib()
    return figure_cls(figsize=(width, height), layout="constrained")


def img(uri: str, caption: str) -> str:
    """An HTML ``<figure>`` of the image at `uri` with `caption`."""
    return (
        f'<figure><img src="{uri}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def integer_ticks(ax: Any) -> None:
    """Put the x-axis ticks of `ax` on whole numbers (epochs, trials)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def image_side(
    n_features: int, image_shape: tuple[int, int] | None
) -> tuple[int, int] | None:
    """The (height, width) to draw rows as images, or None when they are not."""
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


def loss_curves(history: list[dict[str, Any]], best_epoch: int | None) -> str:
    """The training and validation loss per epoch, with the best epoch marked."""
    fig = figure(7, 3.6)
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
    integer_ticks(ax)
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    return img(png(fig), "Training and validation loss per epoch (log scale).")


def part_curves(history: list[dict[str, Any]]) -> str:
    """The parts of a family's objective per epoch (e.g. kl, l1, jacobian); '' if none."""
    names = sorted({k for h in history for k in (h.get("train_parts") or {})})
    if not names:
        return ""
    fig = figure(7, 2.4 * len(names))
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    epochs = [h["epoch"] for h in history]
    for ax, name in zip(axes, names, strict=True):
        for split, label in (("train_parts", "training"), ("val_parts", "validation")):
            pts = [
                (e, (h.get(split) or {}).get(name))
                for e, h in zip(epochs, history, strict=True)
            ]
            pts = [(e, v) for e, v in pts if v is not None]
            if pts:
                ax.plot(*zip(*pts, strict=True), label=label)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        integer_ticks(ax)
    axes[0].legend(fontsize="small")
    axes[-1].set_xlabel("epoch")
    return img(png(fig), "The parts of the model family's objective per epoch.")


def samples(S: np.ndarray, shape: tuple[int, int]) -> str:
    """A grid of rows drawn from a generative model, as images."""
    h, w = shape
    cols = 8
    rows = -(-len(S) // cols)
    fig = figure(1.1 * cols * w / h, 1.1 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i < len(S):
            ax.imshow(np.clip(S[i], 0, 1).reshape(shape), cmap="gray", vmin=0, vmax=1)
        else:
            ax.axis("off")
    return img(png(fig), "Rows drawn from the model (codes from the prior, decoded).")


def dead_curves(history: list[dict[str, Any]]) -> str:
    """The share of dead units of each hidden layer per epoch."""
    layers = sorted({k for h in history for k in h.get("dead_fraction", {})})
    if not layers:
        return '<p class="note">No hidden layers: no dead-unit curves.</p>'
    fig = figure(7, 3.6)
    ax = fig.add_subplot()
    epochs = [h["epoch"] for h in history]
    for layer in layers:
        ax.plot(
            epochs,
            [100 * h["dead_fraction"].get(layer, 0.0) for h in history],
            label=layer,
        )
    ax.set_xlabel("epoch")
    integer_ticks(ax)
    ax.set_ylabel("dead units (%)")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", ncol=2)
    return img(
        png(fig),
        "Share of each hidden layer's units whose input is <= 0 for every "
        "validation row (dead for ReLU), per epoch.",
    )


def examples(
    A: np.ndarray, R: np.ndarray, P: np.ndarray | None, shape: tuple[int, int] | None
) -> str:
    """Rows `A` beside their reconstructions `R` (and PCA's `P`): images or lines."""
    rows = [("original", A), ("autoencoder", R)] + (
        [("PCA", P)] if P is not None else []
    )
    if shape is not None:
        from matplotlib import colormaps

        n = len(A)
        h, w = shape
        fig = figure(min(1.3 * n * w / h + 1.0, 11.0), 1.3 * len(rows))
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
        return img(png(fig), caption)
    n = min(len(A), LINE_PLOT_ROWS)
    fig = figure(8, 2.0 * n)
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
        integer_ticks(ax)
    axes[0][0].legend(fontsize="small", ncol=3)
    axes[-1][0].set_xlabel("feature index")
    return img(png(fig), "Reconstruction examples, value per feature (scaled space).")


def feature_errors(ev: dict[str, Any], shape: tuple[int, int] | None) -> str:
    """The MSE per feature of the autoencoder and PCA: a map or bars."""
    ae = np.asarray(ev["autoencoder"]["per_feature"]["mse"])
    pca = None if ev["pca"] is None else np.asarray(ev["pca"]["per_feature"]["mse"])
    if shape is not None:
        maps = [("autoencoder", ae)] + ([("PCA", pca)] if pca is not None else [])
        fig = figure(3.2 * len(maps) + 0.8, 3.2)
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
        return img(png(fig), caption)
    fig = figure(8, 3.4)
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
    integer_ticks(ax)
    ax.set_ylabel("MSE")
    ax.grid(alpha=0.3)
    ax.legend()
    return img(png(fig), "Mean squared error per feature (scaled space).")


def projection(Z: np.ndarray, y: np.ndarray | None) -> str:
    """The latent codes `Z` on their first two principal components, by label."""
    from sklearn.decomposition import PCA

    if Z.shape[1] >= 2 and len(Z) >= 2:
        P = PCA(2).fit_transform(Z.astype(np.float64))
        xlabel, ylabel = "latent PC 1", "latent PC 2"
    else:
        P = np.column_stack([Z[:, 0], np.zeros(len(Z))])
        xlabel, ylabel = "latent dimension 0", ""
    fig = figure(6.5, 5)
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
    return img(
        png(fig),
        "The latent codes projected on their first two principal "
        "components" + (", coloured by label." if y is not None else "."),
    )


def latent_variance(ev: dict[str, Any]) -> str:
    """The variance of each latent dimension, largest first."""
    var = np.sort(np.asarray(ev["latent"]["variance"]))[::-1]
    fig = figure(7, 3)
    ax = fig.add_subplot()
    ax.bar(np.arange(len(var)), var, color="#4c72b0")
    if var.size and var[0] > 0:
        ax.set_yscale("log")
    ax.set_xlabel("latent dimension (sorted by variance)")
    integer_ticks(ax)
    ax.set_ylabel("variance")
    ax.grid(alpha=0.3, axis="y")
    return img(
        png(fig), "Variance of each latent dimension over the rows, largest first."
    )
