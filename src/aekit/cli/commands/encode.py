"""`aekit encode`: the latent code of every row, to a table (or Parquet parts)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..arguments import add_data_options, add_use_arguments
from ..inputs import FeatureChoice
from ..options import EXIT_OK
from ..parts import in_parts, write_parts
from ..stream import write_streamed

if TYPE_CHECKING:
    import numpy as np

    from ...data import Features
    from ...estimator import AutoEncoder

NAME = "encode"
HELP = "write the latent code of every row"
EXAMPLE = """\
example:
  aekit encode model digits.csv -o codes.csv --carry-columns label

Columns are matched to the model's features by name where both have names;
columns the model does not use are ignored."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL_DIR DATA -o OUT and the data options, --carry-columns included."""
    add_use_arguments(p, output=True)
    add_data_options(p, carry=True)


def run(args: argparse.Namespace) -> int:
    """Write the codes of DATA's rows to -o."""
    choice = FeatureChoice.from_args(args, carry=True)
    if in_parts():  # under torchrun: one Parquet part per rank
        return write_parts(
            args.model, args.data, args.output, "codes", code_columns, choice, args.key
        )
    done = write_streamed(
        args.model, args.data, args.output, code_columns, choice, args.key
    )
    width = len(done.columns) - len(choice.carry_columns)
    print(f"wrote {done.rows} codes of {width} dimensions to {args.output}")
    return EXIT_OK


def code_columns(
    est: AutoEncoder, features: Features, first_row: int
) -> dict[str, np.ndarray]:
    """The carried columns, then one column per code dimension."""
    from ...data.write import join_columns

    Z = est.transform(features.X)
    names = list(est.get_feature_names_out())
    return join_columns(features.carried, {n: Z[:, i] for i, n in enumerate(names)})
