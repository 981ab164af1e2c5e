"""`aekit report`: one self-contained HTML report of a model, on a table or not."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from ..arguments import add_data_options, add_model_dir
from ..inputs import FeatureChoice, labels, load_model, model_features
from ..options import EXIT_OK, CommandError, parse_image_shape

if TYPE_CHECKING:
    import numpy as np

NAME = "report"
HELP = "write a self-contained HTML report of a model"
EXAMPLE = """\
example:
  aekit report model -o report.html
  aekit report model digits.csv -o report.html --label-column label
  aekit report model pixels.npy -o report.html --image-shape 28x28

One self-contained HTML file (images inlined, nothing fetched): the model, the
training curves and the fit-time comparison with PCA; with DATA, reconstruction
examples, the error per feature, the latent space and diagnostics, and with
--label-column the probe accuracies. Needs matplotlib: pip install aekit[report]"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL_DIR, an optional DATA, -o OUT, the data options, --image-shape, --title."""
    add_model_dir(p)
    p.add_argument(
        "data",
        metavar="DATA",
        nargs="?",
        help="table to report on: .npy, .npz, .csv, .tsv, .parquet (optional)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        required=True,
        help="the HTML file to write, e.g. report.html",
    )
    add_data_options(p)
    p.add_argument(
        "--image-shape",
        type=parse_image_shape,
        metavar="HxW",
        help="draw rows as images of this shape (default: square images when the "
        "number of features is a square)",
    )
    p.add_argument("--title", metavar="TEXT", help="the report's title")


def run(args: argparse.Namespace) -> int:
    """Write the report of the model (on DATA, if given) to -o."""
    out = check_report_output(Path(args.output))
    _check_data_options(args)
    est = load_model(args.model)
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
        choice = FeatureChoice.from_args(args)
        features = model_features(est, args.data, choice, args.key)
        X, y = features.X, labels(features.label)
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


def _check_data_options(args: argparse.Namespace) -> None:
    """Refuse a data option given without DATA."""
    if args.data is not None:
        return
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


def check_report_output(out: Path) -> Path:
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
