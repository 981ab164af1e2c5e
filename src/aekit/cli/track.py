"""The trackers that --track asks for, made before any data is read."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .options import CommandError


def make_trackers(args: argparse.Namespace, run_name: str) -> list[Any]:
    """An MLflowLogger or TensorBoardLogger for each --track, named `run_name`.

    A missing extra is a usage error naming it (``pip install aekit[mlflow]``).
    """
    from ..tracking import MLflowLogger, TensorBoardLogger

    trackers: list[Any] = []
    try:
        for name, where in args.track:
            if name == "mlflow":
                trackers.append(MLflowLogger(where, args.experiment, run_name))
            else:
                trackers.append(TensorBoardLogger(where or "."))
    except ImportError as e:
        raise CommandError(str(e)) from None
    return trackers


def make_study_tracker(args: argparse.Namespace, run_name: str) -> Any:
    """The MLflowStudy of `aekit tune --track mlflow[:URI]`, or None."""
    from ..tracking import MLflowStudy

    if not args.track:
        return None
    if len(args.track) > 1 or args.track[0][0] != "mlflow":
        kinds = ", ".join(f"{n}:{w}" if w else n for n, w in args.track)
        raise CommandError(
            f"aekit tune tracks one MLflow store: --track mlflow[:URI], got {kinds}"
        )
    try:
        return MLflowStudy(args.track[0][1], args.experiment, run_name)
    except ImportError as e:
        raise CommandError(str(e)) from None


def log_probes(trackers: Sequence[Any], est: Any, X: Any, y: Any) -> None:
    """Probe accuracies of the fit's validation rows (labels given) to the trackers.

    The probes of `aekit.evaluate.probe_model` on the rows the fit held out,
    at the last epoch's step; nothing without validation rows or when the
    labels cannot be probed there.
    """
    from ..data.rows import split_rows
    from ..evaluate import probe_model
    from ..tracking import probe_values

    _, val = split_rows(len(X), est.validation_fraction, est.seed_)
    if not trackers or len(val) == 0:
        return
    values = probe_values(probe_model(est.fitted_, X[val], y[val]))
    for tracker in trackers:
        tracker.log_metrics(values, step=est.n_epochs_)


def log_artifacts(
    trackers: Sequence[Any], paths: Sequence[str | os.PathLike[str]]
) -> None:
    """Give the saved files to the trackers that keep artifacts (MLflow)."""
    existing = [p for p in paths if Path(p).exists()]
    for tracker in trackers:
        if hasattr(tracker, "log_artifacts"):
            tracker.log_artifacts(existing)
