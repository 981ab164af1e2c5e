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
    import numpy as np

    from .. import data
    from ..evaluate import score_table
    from .parts import in_parts, write_parts

    if in_parts():  # under torchrun: one Parquet part per rank
        return write_parts(args, "scores", _score_columns(args), carry=True)
    out = data.check_output(
        args.output, carried=bool(args.carry_columns), inputs=(args.data, args.model)
    )
    est = _load(args.model)
    features = _features(est, args, carry=args.carry_columns)
    scores = score_table(
        est, features.X, per_feature=args.per_feature, feature_names=features.names
    )
    _write_scores(out, scores, features.carried)
    n = len(scores["row"])
    print(f"wrote the reconstruction errors of {n} rows to {out}")
    threshold = getattr(est, "threshold_", None)
    if threshold is None:
        print(
            "no anomaly threshold is stored with this model (saved by an older "
            "aekit), so no row is flagged and is_anomaly is left out"
        )
        return EXIT_OK
    flagged = int(np.count_nonzero(scores["is_anomaly"]))
    print(
        f"{flagged} of {n} rows flagged as anomalous: reconstruction error above "
        f"the threshold {threshold:.5g} stored with the model"
    )
    return EXIT_OK


def _score_columns(args: argparse.Namespace) -> Any:
    """Scores of one rank's rows, `row` counted from the table's first row."""

    def columns(
        est: AutoEncoder, features: Features, first_row: int
    ) -> dict[str, np.ndarray]:
        from ..evaluate import score_table

        scores = score_table(
            est, features.X, per_feature=args.per_feature, feature_names=features.names
        )
        scores["row"] = scores["row"] + first_row
        clash = sorted(set(features.carried) & set(scores))
        if clash:
            raise CommandError(
                f"--carry-columns {clash[0]!r} has the name of a score column"
            )
        return {**features.carried, **scores}

    return columns


def _write_scores(
    out: Path, scores: dict[str, np.ndarray], carried: dict[str, np.ndarray]
) -> None:
    """Write the carried columns, then the scores, each column with its own type.

    Text and Parquet outputs keep ``row`` an integer and ``is_anomaly`` a
    boolean; .npy holds one float64 matrix of the same columns (is_anomaly 0/1).
    """
    import numpy as np

    from .. import data

    clash = sorted(set(carried) & set(scores))
    if clash:
        raise CommandError(
            f"--carry-columns {clash[0]!r} has the name of a score column; the "
            f"scores are {', '.join(scores)}"
        )
    n = len(scores["row"])
    if out.suffix.lower() == ".npy":
        matrix = np.column_stack([c.astype(np.float64) for c in scores.values()])
        data.write_table(out, matrix, list(scores))
    else:  # every column through `carried`, so that each keeps its type
        data.write_table(out, np.empty((n, 0)), [], {**carried, **scores})


def _cmd_report(args: argparse.Namespace) -> int:
    from ..report import write_report

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
        write_report(est, out, X, y, image_shape=args.image_shape, title=args.title)
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
