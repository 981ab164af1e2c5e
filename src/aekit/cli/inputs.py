"""What the commands read: a saved model, and a table's features as it takes them.

The bottom of the commands: the writers (`stream`, `parts`) and every command
import these helpers, never the other way round. numpy, torch and the data
readers are imported inside the functions, so ``aekit --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from ..data import Features, Table
    from ..estimator import AutoEncoder


@dataclass(frozen=True)
class FeatureChoice:
    """Which columns of a table are features: the data options of a command."""

    label_column: str | None = None  # left out of the features, read as labels
    exclude_columns: Sequence[str] = ()  # left out of the features
    carry_columns: Sequence[str] = ()  # copied to the output, in front

    @classmethod
    def from_args(cls, args: argparse.Namespace, carry: bool = False) -> FeatureChoice:
        """The choice the flags make; --carry-columns only where `carry` is True."""
        return cls(
            label_column=args.label_column,
            exclude_columns=args.exclude_columns or (),
            carry_columns=(getattr(args, "carry_columns", None) or ()) if carry else (),
        )


def load_model(path: str) -> AutoEncoder:
    """The model saved in the folder `path`."""
    from ..estimator import load

    return load(path)


def select_features(est: AutoEncoder, table: Table, choice: FeatureChoice) -> Features:
    """`table`'s features (a whole table or a block) as the model takes them."""
    from .. import data

    names = getattr(est, "feature_names_in_", None)
    return data.select_features(
        table,
        label_column=choice.label_column,
        exclude_columns=choice.exclude_columns,
        carry_columns=choice.carry_columns,
        model_names=None if names is None else [str(n) for n in names],
        n_model_features=int(est.n_features_in_),
    )


def model_features(
    est: AutoEncoder, path: str, choice: FeatureChoice, key: str | None = None
) -> Features:
    """The table's features in the model's order, checked against the model."""
    from .. import data

    return select_features(est, data.read_table(path, key=key), choice)


def read_features(
    path: str,
    out: Path,
    *,
    key: str | None,
    label_column: str | None,
    exclude_columns: Sequence[str],
    quiet: bool = False,
) -> Features:
    """The features to train on; a large CSV/TSV/Parquet table via its .npy cache."""
    from .. import data

    data.check_input(path)
    if key is None and data.wants_cache(path):
        return data.cached_features(
            path,
            out,
            label_column=label_column,
            exclude_columns=exclude_columns,
            say=(lambda _: None) if quiet else print,
        )
    return data.select_features(
        data.read_table(path, key=key),
        label_column=label_column,
        exclude_columns=exclude_columns,
    )


def labels(column: np.ndarray | None) -> np.ndarray | None:
    """A label column read as text, as numbers where it is numeric (10 after 9)."""
    import numpy as np

    if column is None or column.dtype.kind not in "OSU":
        return column
    try:
        values = column.astype(np.float64)
    except (TypeError, ValueError):
        return column
    if not np.isfinite(values).all():
        return column
    return values.astype(np.int64) if (values == np.round(values)).all() else values
