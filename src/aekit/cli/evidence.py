"""`aekit score` and `aekit report`: anomaly scores per row, and the HTML report."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .commands import _features, _labels, _load
from .options import EXIT_OK, CommandError

if TYPE_CHECKING:
    import numpy as np

    from ..data import Features
    from ..estimator import AutoEncoder


def _cmd_score(args: argparse.Namespace) -> int:
    from .parts import in_parts, write_parts
    from .stream import write_streamed

    if in_parts():  # under torchrun: one Parquet part per rank
        return write_parts(args, "scores", _score_columns(args), carry=True)
    done = write_streamed(args, _score_columns(args), carry=True)
    n = done.rows
    print(f"wrote the reconstruction errors of {n} rows to {args.output}")
    if "is_anomaly" not in done.flagged:
        print(
            "no anomaly threshold is stored with this model (saved by an older "
            "aekit), so no row is flagged and is_anomaly is left out"
        )
        return EXIT_OK
    threshold = done.model.threshold_
    print(
        f"{done.flagged['is_anomaly']} of {n} rows flagged as anomalous: "
        f"reconstruction error above the threshold {threshold:.5g} stored with "
        "the model"
    )
    return EXIT_OK


def _score_columns(args: argparse.Namespace) -> Any:
    """Scores of one rank's rows, `row` counted from the table's first row."""

    def columns(
        est: AutoEncoder, features: Features, first_row: int
    ) -> dict[str, np.ndarray]:
        from ..evaluate import score_table

        scores = score_table(
            est.fitted_,
            features.X,
            per_feature=args.per_feature,
            feature_names=features.names,
        )
        scores["row"] = scores["row"] + first_row
        clash = sorted(set(features.carried) & set(scores))
        if clash:
            raise CommandError(
                f"--carry-columns {clash[0]!r} has the name of a score column; "
                f"the scores are {', '.join(scores)}"
            )
        return {**features.carried, **scores}

    return columns


def _cmd_report(args: argparse.Namespace) -> int:
    out = _check_report_output(Path(args.output))
    if args.data is None:
        given = [
            flag
            for flag, value in (
                ("--label-column", args.label_column),
                ("--exclude-columns", args.exclude_columns),
                ("--key", args.key),
            )
            if value
        ]
        if given:
            raise CommandError(f"{given[0]} needs DATA, the table to report on")
    est = _load(args.model)
    if args.image_shape is not None:
        h, w = args.image_shape
        if h * w != est.n_features_in_:
            raise CommandError(
                f"--image-shape {h}x{w} holds {h * w} pixels, but the model has "
                f"{est.n_features_in_} features"
            )
    X: np.ndarray | None = None
    y: np.ndarray | None = None
    if args.data is not None:
        features = _features(est, args)
        X, y = features.X, _labels(features.label)
    created = [p for p in out.parents if not p.exists()]  # innermost first
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        est.report(out, X, y, image_shape=args.image_shape, title=args.title)
    except ImportError as e:  # matplotlib, the `report` extra
        raise CommandError(str(e)) from None
    finally:
        if not out.exists():
            for folder in created:
                with contextlib.suppress(OSError):
                    folder.rmdir()
    shown = "" if X is None else f" on {len(X)} rows of {args.data}"
    print(f"wrote the report of {args.model}{shown} to {out}")
    return EXIT_OK


def _check_report_output(out: Path) -> Path:
    """Refuse, before any work, an output that is not a new or replaceable .html file."""
    if out.suffix.lower() != ".html":
        raise CommandError(
            f"{out}: the report is an HTML file; give a name ending in .html, such "
            "as report.html"
        )
    if out.is_dir():
        raise CommandError(f"{out} is a folder; give a file name such as report.html")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise CommandError(f"cannot write {out}: {parent} is a file")
            break
    return out
