"""A search's report: optimisation history, parameter importances, the best trial's curves.

It reads the study's summary (``study.json``, `aekit.search.TuneResult.summary`)
and, when given, the refitted best model, so a report can be rebuilt from a
saved model folder alone.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..io import write_atomic
from .figures import figure, img, integer_ticks, loss_curves, png
from .page import CSS
from .tables import kv, table

if TYPE_CHECKING:
    from ..record import FitRecord


def _history(summary: dict[str, Any]) -> str:
    fig = figure(7, 3.6)
    ax = fig.add_subplot()
    done = [t for t in summary["trials"] if t["state"] == "complete"]
    pruned = [t for t in summary["trials"] if t["state"] == "pruned" and t["curve"]]
    if pruned:
        ax.scatter(
            [t["number"] for t in pruned],
            [min(t["curve"]) for t in pruned],
            color="lightgrey",
            label="pruned (best epoch before pruning)",
        )
    if done:
        ax.scatter(
            [t["number"] for t in done], [t["value"] for t in done], label="complete"
        )
        best, xs, ys = float("inf"), [], []
        for t in sorted(done, key=lambda t: t["number"]):
            best = min(best, t["value"])
            xs.append(t["number"])
            ys.append(best)
        ax.step(xs, ys, where="post", color="C3", label="best so far")
    ax.set_xlabel("trial")
    integer_ticks(ax)
    ax.set_ylabel("validation reconstruction loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    return img(png(fig), "Optimisation history: each trial's validation loss.")


def _importances(summary: dict[str, Any]) -> str:
    imp = summary.get("importances") or {}
    if not imp:
        return '<p class="note">Too few completed trials for parameter importances.</p>'
    fig = figure(7, 0.5 + 0.35 * len(imp))
    ax = fig.add_subplot()
    names = list(imp)[::-1]
    ax.barh(names, [imp[n] for n in names])
    ax.set_xlabel("importance (share of the variance of the trials' values)")
    return img(png(fig), "Parameter importances (fANOVA over the completed trials).")


def _curves(summary: dict[str, Any]) -> str:
    fig = figure(7, 3.6)
    ax = fig.add_subplot()
    best = summary.get("best_trial")
    for t in summary["trials"]:
        if t["curve"] and t["number"] != best:
            ax.plot(
                range(1, len(t["curve"]) + 1), t["curve"], color="lightgrey", lw=0.8
            )
    for t in summary["trials"]:
        if t["number"] == best and t["curve"]:
            ax.plot(
                range(1, len(t["curve"]) + 1),
                t["curve"],
                color="C3",
                label=f"best (trial {best})",
            )
            ax.legend()
    ax.set_xlabel("epoch")
    integer_ticks(ax)
    ax.set_ylabel("validation reconstruction loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    return img(png(fig), "Validation curves of every trial (grey) and of the best.")


def build_study_report(
    summary: dict[str, Any], record: FitRecord | None = None, title: str | None = None
) -> str:
    """The study report as one self-contained HTML page."""
    t = summary.get("test_mse") or {}
    r = summary.get("test_ratios") or {}
    rows = [(k, t[k]) for k in ("model", "pca", "default") if k in t]
    parts = [
        f"<h1>{html.escape(title or 'Hyperparameter search')}</h1>",
        _facts(summary),
        "<h2>Held-out test rows</h2>",
        table(["model", "test MSE"], rows)
        if rows
        else '<p class="note">No test rows.</p>',
        "<p>"
        + ", ".join(f"{k.replace('_', ' ')}: {v:.3f}" for k, v in r.items())
        + "</p>",
        "<h2>Best parameters</h2>",
        kv(sorted((k, str(v)) for k, v in summary.get("best_params", {}).items())),
        "<h2>Optimisation history</h2>",
        _history(summary),
        "<h2>Parameter importances</h2>",
        _importances(summary),
        "<h2>Training curves</h2>",
        _curves(summary),
    ]
    by = summary.get("by_latent_dim") or {}
    if by:
        parts += [
            "<h2>Validation MSE per code size</h2>",
            table(
                ["code size", "best validation MSE", "trial"],
                [(k, v["val_mse"], v["trial"]) for k, v in by.items()],
            ),
        ]
    if record is not None and record.history:
        parts += [
            "<h2>The refitted best model</h2>",
            loss_curves(record.history, record.best_epoch),
        ]
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title or 'Hyperparameter search')}</title>"
        f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def _facts(summary: dict[str, Any]) -> str:
    """The study's name, rows, code size, trials and best value."""
    setup = summary.get("setup", {})
    trials = summary.get("trials_by_state", {})
    return kv(
        [
            ("study", summary.get("study_name")),
            (
                "rows searched / held out",
                f"{setup.get('n_search_rows')} / {setup.get('n_test_rows')}",
            ),
            ("code size", setup.get("latent_dim")),
            ("trials", ", ".join(f"{k} {v}" for k, v in trials.items())),
            ("best trial", summary.get("best_trial")),
            ("best validation loss", f"{summary.get('best_value', float('nan')):.6g}"),
        ]
    )


def write_study_report(
    summary: dict[str, Any],
    path: str | os.PathLike[str],
    record: FitRecord | None = None,
    title: str | None = None,
) -> Path:
    """Write the study report of `summary` (``study.json``) to `path`, atomically.

    `record` is the refitted best model's (``TuneResult.best_estimator.record_``).
    """
    path = Path(path)
    write_atomic(path, build_study_report(summary, record, title).encode("utf-8"))
    return path
