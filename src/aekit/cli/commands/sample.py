"""`aekit sample`: new rows drawn from a generative model."""

from __future__ import annotations

import argparse

from ..arguments import add_model_dir, add_output_table
from ..inputs import load_model
from ..options import EXIT_OK, CommandError

NAME = "sample"
HELP = "draw new rows from a generative model"
EXAMPLE = """\
example:
  aekit sample model -n 64 -o samples.npy --random-state 0

Only models of a generative family (--model variational) can draw rows; they
are decoded from codes drawn from the prior, in the training data's units."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL_DIR, -n, -o OUT and --random-state."""
    add_model_dir(p)
    p.add_argument(
        "-n", type=int, required=True, metavar="N", help="how many rows to draw"
    )
    add_output_table(p)
    p.add_argument(
        "--random-state",
        type=int,
        default=None,
        metavar="SEED",
        help="seed of the draw",
    )


def run(args: argparse.Namespace) -> int:
    """Draw -n rows and write them to -o, columns named as the training data's."""
    from ... import data

    if args.n < 0:
        raise CommandError(f"-n must be >= 0, got {args.n}")
    seed = args.random_state
    if seed is not None and not 0 <= seed < 2**32:
        raise CommandError(f"--random-state must be in [0, 2**32 - 1], got {seed}")
    data.check_output(args.output, inputs=(args.model,))
    est = load_model(args.model)
    R = est.sample(args.n, random_state=args.random_state)
    names = getattr(est, "feature_names_in_", None)
    columns = [str(c) for c in names] if names is not None else None
    data.write_table(args.output, R, columns or [f"x{i}" for i in range(R.shape[1])])
    print(f"wrote {R.shape[0]} sampled rows of {R.shape[1]} features to {args.output}")
    return EXIT_OK
