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
    """Draw -n rows and write them to -o a block at a time, columns named as the data's."""
    import shutil

    from ... import data
    from ...fitted import MAX_SAMPLE_ROWS

    if not 0 <= args.n <= MAX_SAMPLE_ROWS:
        raise CommandError(f"-n must be from 0 to 2**48 rows, got {args.n}")
    seed = args.random_state
    if seed is not None and not 0 <= seed < 2**32:
        raise CommandError(f"--random-state must be in [0, 2**32 - 1], got {seed}")
    out = data.check_output(args.output, inputs=(args.model,))
    est = load_model(args.model)
    need = args.n * est.n_features_in_ * 4  # float32 values: .npy, Parquet at least
    free = shutil.disk_usage(out.parent).free
    if need > free:
        raise CommandError(
            f"{args.n:,} rows of {est.n_features_in_} features need at least "
            f"{need / 2**30:,.1f} GiB on disk, more than the {free / 2**30:,.1f} GiB "
            f"free where {args.output} goes; draw fewer rows (-n)"
        )
    names = getattr(est, "feature_names_in_", None)
    columns = [str(c) for c in names] if names is not None else None
    columns = columns or [f"x{i}" for i in range(est.n_features_in_)]
    rows = 0
    with data.TableWriter(out) as writer:
        for block in est.fitted_.iter_sample(args.n, random_state=seed):
            writer.write(dict(zip(columns, block.T)))
            rows += len(block)
    print(f"wrote {rows} sampled rows of {len(columns)} features to {args.output}")
    return EXIT_OK
