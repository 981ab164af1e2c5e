"""`aekit score`: the anomaly score and flag of every row, to a table (or parts)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..arguments import add_data_options, add_use_arguments
from ..inputs import FeatureChoice
from ..options import EXIT_OK, CommandError
from ..parts import in_parts, write_parts
from ..stream import Columns, write_streamed

if TYPE_CHECKING:
    import numpy as np

    from ...data import Features
    from ...estimator import AutoEncoder

NAME = "score"
HELP = "write the anomaly score and flag of every row"
EXAMPLE = """\
example:
  aekit score model new.csv -o scores.csv --carry-columns id
  aekit score model new.csv -o scores.parquet --per-feature

Columns: row (0-based), reconstruction_error (mean squared error per row in the
model's [0, 1] scaled space; higher is more anomalous), is_anomaly (error above
the threshold stored with the model: the 99th percentile of the training rows'
errors) and, with --per-feature, error_<feature> (squared error per value).
Carried columns come first. A .npy output holds the same columns as numbers."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL_DIR DATA -o OUT, the data options and --per-feature."""
    add_use_arguments(p, output=True)
    add_data_options(p, carry=True)
    p.add_argument(
        "--per-feature",
        action="store_true",
        help="add the squared error of every feature, columns error_<feature>",
    )


def run(args: argparse.Namespace) -> int:
    """Write the scores of DATA's rows to -o; say how many are flagged."""
    choice = FeatureChoice.from_args(args, carry=True)
    columns = score_columns(args.per_feature)
    if in_parts():  # under torchrun: one Parquet part per rank
        return write_parts(
            args.model, args.data, args.output, "scores", columns, choice, args.key
        )
    done = write_streamed(args.model, args.data, args.output, columns, choice, args.key)
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


def score_columns(per_feature: bool) -> Columns:
    """Scores of a block's rows, `row` counted from the table's first row."""

    def columns(
        est: AutoEncoder, features: Features, first_row: int
    ) -> dict[str, np.ndarray]:
        from ...evaluate import score_table

        scores = score_table(
            est.fitted_, features.X, per_feature=per_feature, feature_names=features.names
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
