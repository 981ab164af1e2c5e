"""The report's tables: the model summary, fit-time metrics, comparison, diagnostics."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..fitted import FittedModel
    from ..record import FitRecord


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None or isinstance(v, float) and not math.isfinite(v):
        return "&ndash;"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return html.escape(str(v))


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table of `rows` under `header`, floats to 4 significant digits."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def kv(rows: Sequence[tuple[str, Any]]) -> str:
    """A two-column table of names and values."""
    cells = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    return f'<table class="kv">{cells}</table>'


# -- the sections ----------------------------------------------------------------------


def summary(fitted: FittedModel, record: FitRecord) -> str:
    """The model section: family, architecture, options, training."""
    family = fitted.family
    best = record.best_epoch
    best_text = "the starting point" if best == 0 and record.n_epochs else best
    rows = [
        ("model family", f"{family.name}: {family.summary}"),
        ("architecture", fitted.architecture()),
        (
            "family options",
            ", ".join(
                f"{k}={getattr(fitted.config, k)!r}" for k in family.option_names()
            )
            or "–",
        ),
        ("parameters", f"{fitted.n_parameters():,}"),
        ("hidden activation", getattr(fitted.config, "activation", "–")),
        ("loss", fitted.loss),
        (
            "epochs trained",
            f"{record.n_epochs} (best {best_text}"
            + (", stopped early)" if record.stopped_early else ")"),
        ),
        (
            "training time",
            "–" if record.seconds is None else f"{record.seconds:.1f} s",
        ),
        ("anomaly threshold", _fmt(fitted.threshold)),
    ]
    return kv(rows)


def fit_metrics(record: FitRecord) -> str:
    """The fit-time MSE, MAE and R² of the autoencoder and PCA per split."""
    m = record.metrics or {}
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
    return table(("model", "MSE", "MAE", "R²"), rows) + note


def comparison(ev: dict[str, Any]) -> str:
    """Autoencoder, PCA and raw features on the data, with probe accuracies."""
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
    out = table(header + (["logistic probe", "5-NN probe"] if res else []), rows)
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


def diagnostics(ev: dict[str, Any]) -> str:
    """Dead units, idle codes, saturation, the training gap, worst features."""
    dead = table(
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
    facts_t = kv(facts)
    worst = table(
        ("feature", "autoencoder MSE", "PCA MSE"),
        [(w["feature"], w["mse"], w["pca_mse"]) for w in ev["worst_features"]],
    )
    return dead + facts_t + "<h3>Worst reconstructed features</h3>" + worst
