"""`aekit reconstruct`: every row passed through the model, in original units."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..arguments import add_data_options, add_use_arguments
from ..inputs import FeatureChoice
from ..options import EXIT_OK
from ..stream import write_streamed

if TYPE_CHECKING:
    import numpy as np

    from ...data import Features
    from ...estimator import AutoEncoder

NAME = "reconstruct"
HELP = "write the reconstruction of every row, in original units"
EXAMPLE = """\
example:
  aekit reconstruct model digits.csv -o reconstructed.parquet"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL_DIR DATA -o OUT and the data options."""
    add_use_arguments(p, output=True)
    add_data_options(p)


def run(args: argparse.Namespace) -> int:
    """Write the reconstruction of DATA's rows to -o."""
    choice = FeatureChoice.from_args(args)
    done = write_streamed(
        args.model, args.data, args.output, reconstruction_columns, choice, args.key
    )
    print(
        f"wrote {done.rows} reconstructed rows of {len(done.columns)} features "
        f"to {args.output}"
    )
    return EXIT_OK


def reconstruction_columns(
    est: AutoEncoder, features: Features, first_row: int
) -> dict[str, np.ndarray]:
    """One column per feature, named as the input's (x0, x1, ... without names)."""
    R = est.reconstruct(features.X)
    names = features.names or [f"x{i}" for i in range(R.shape[1])]
    return {n: R[:, i] for i, n in enumerate(names)}
