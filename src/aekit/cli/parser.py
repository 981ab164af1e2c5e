"""The argument parser of `aekit`: commands, flags, help texts and their examples."""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Callable
from typing import Any, NoReturn

from .. import __version__
from .commands import (
    _cmd_encode,
    _cmd_evaluate,
    _cmd_info,
    _cmd_reconstruct,
    _cmd_sample,
)
from .evidence import _cmd_report, _cmd_score
from .options import (
    ESTIMATOR_OPTIONS,
    CommandError,
    _image_shape,
    _int_or_auto,
    _int_or_none,
    _keep_last,
    _model_options,
    _names,
    _widths,
)
from .train import _cmd_train
from .tune import _cmd_tune


class _Parser(argparse.ArgumentParser):
    commands: dict[str, argparse.ArgumentParser]  # subcommand parsers, by name

    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{message} (see '{self.prog} --help')")


# -- option groups -------------------------------------------------------------


def _add_estimator_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model and training (flags override --config)")
    parse: dict[str, Callable[[str], Any]] = {
        "int": int,
        "float": float,
        "str": str,
        "widths": _widths,
        "int_or_none": _int_or_none,
        "int_or_auto": _int_or_auto,
        "options": _model_options,
    }
    for name, (kind, help_text) in ESTIMATOR_OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if kind == "bool":
            g.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        elif kind == "verbosity":
            v = g.add_mutually_exclusive_group()
            v.add_argument(
                "--verbose",
                dest="verbose",
                action="store_const",
                const=2,
                help="a line per epoch instead of the progress bar",
            )
            v.add_argument(
                "--quiet",
                dest="verbose",
                action="store_const",
                const=0,
                help="no progress bar and no summary",
            )
        else:
            metavar = {
                "int": "N",
                "float": "X",
                "str": "NAME",
                "widths": "W,W",
                "int_or_none": "N",
                "int_or_auto": "N",
                "options": "K=V,K=V",
            }[kind]
            g.add_argument(flag, type=parse[kind], metavar=metavar, help=help_text)


def _add_data_options(p: argparse.ArgumentParser, *, carry: bool = False) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--key", help="the array to read from an .npz holding several")
    g.add_argument(
        "--label-column",
        metavar="NAME",
        help="a label column, left out of the features",
    )
    g.add_argument(
        "--exclude-columns",
        type=_names,
        metavar="A,B",
        help="columns to leave out of the features",
    )
    if carry:
        g.add_argument(
            "--carry-columns",
            type=_names,
            metavar="A,B",
            default=[],
            help="columns to copy to the output, e.g. id,label",
        )


def _add_checkpoint_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("checkpoints and interrupts")
    g.add_argument(
        "--checkpoint-dir",
        metavar="DIR",
        help="save the training state in DIR every --checkpoint-every epochs, at "
        "the end and when interrupted",
    )
    g.add_argument(
        "--checkpoint-every",
        type=int,
        metavar="N",
        help="epochs between checkpoints (default: 1)",
    )
    g.add_argument(
        "--keep-last",
        type=_keep_last,
        metavar="K",
        help="how many checkpoints to keep, newest first, or 'all' (default: 3)",
    )
    g.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the run checkpointed in DIR, on the same DATA; new "
        "checkpoints go there too unless --checkpoint-dir is given",
    )


def _add_use_arguments(p: argparse.ArgumentParser, *, output: bool) -> None:
    p.add_argument(
        "model", metavar="MODEL_DIR", help="a folder written by 'aekit train'"
    )
    p.add_argument(
        "data", metavar="DATA", help="table: .npy, .npz, .csv, .tsv, .parquet"
    )
    if output:
        p.add_argument(
            "-o",
            "--output",
            metavar="OUT",
            required=True,
            help="output table: .npy, .csv, .tsv, .parquet",
        )


# -- the parser ----------------------------------------------------------------

_EXAMPLES = {
    "tune": """\
example:
  aekit tune digits.npy -o best --latent-dim 32 --trials 30 --timeout 1200
  aekit tune digits.npy -o best --latent-dim 32 --trials 10 \\
      --storage journal:study.log --study-name digits   # run it in several shells
""",
    "train": """\
example:
  aekit train digits.csv -o model --label-column label --latent-dim 16 \\
      --max-epochs 30 --random-state 0
  aekit train features.npy -o model --config train.yaml --lr 3e-4
  aekit train features.npy -o model --checkpoint-dir ckpt   # then, if stopped:
  aekit train features.npy -o model --resume ckpt

A config file (.json, .yaml) maps option names (latent_dim: 16) to values; flags
given on the command line win. The resolved configuration is written to
MODEL_DIR/train_config.json, which can be passed back as --config.

SIGINT (Ctrl-C) or SIGTERM stops training after the current batch; with
--checkpoint-dir that exact point is saved, and the command that resumes it is
printed. --resume takes the options from the checkpoint; options given
(e.g. --max-epochs, --lr) override them where a resumed run allows it.""",
    "encode": """\
example:
  aekit encode model digits.csv -o codes.csv --carry-columns label

Columns are matched to the model's features by name where both have names;
columns the model does not use are ignored.""",
    "reconstruct": """\
example:
  aekit reconstruct model digits.csv -o reconstructed.parquet""",
    "evaluate": """\
example:
  aekit evaluate model digits.csv
  aekit evaluate model digits.csv --label-column label
  aekit evaluate model digits.csv --json > metrics.json

Errors are measured in the model's [0, 1] scaled space, next to the PCA of the
same size stored with the model. With --label-column, probes (logistic
regression and 5-nearest-neighbours, cross-validated) compare how well the
labels can be read from the latent codes, the PCA codes and the raw features;
--no-probes skips them.""",
    "score": """\
example:
  aekit score model new.csv -o scores.csv --carry-columns id
  aekit score model new.csv -o scores.parquet --per-feature

Columns: row (0-based), reconstruction_error (mean squared error per row in the
model's [0, 1] scaled space; higher is more anomalous), is_anomaly (error above
the threshold stored with the model: the 99th percentile of the training rows'
errors) and, with --per-feature, error_<feature> (squared error per value).
Carried columns come first. A .npy output holds the same columns as numbers.""",
    "report": """\
example:
  aekit report model -o report.html
  aekit report model digits.csv -o report.html --label-column label
  aekit report model pixels.npy -o report.html --image-shape 28x28

One self-contained HTML file (images inlined, nothing fetched): the model, the
training curves and the fit-time comparison with PCA; with DATA, reconstruction
examples, the error per feature, the latent space and diagnostics, and with
--label-column the probe accuracies. Needs matplotlib: pip install aekit[report]""",
    "sample": """\
example:
  aekit sample model -n 64 -o samples.npy --random-state 0

Only models of a generative family (--model variational) can draw rows; they
are decoded from codes drawn from the prior, in the training data's units.""",
    "info": """\
example:
  aekit info model""",
}


def _add_tune_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data", metavar="DATA", help="table: .npy, .npz, .csv, .tsv, .parquet"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="MODEL_DIR",
        required=True,
        help="folder for the best model, study.json and study.html",
    )
    g = p.add_argument_group("search")
    g.add_argument(
        "--latent-dim", type=int, required=True, metavar="K", help="size of the code"
    )
    g.add_argument(
        "--trials",
        type=int,
        default=20,
        metavar="N",
        help="trials this process runs (default: 20)",
    )
    g.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="start no trial after this many seconds",
    )
    g.add_argument(
        "--storage",
        metavar="URL",
        help="journal:PATH (processes of one machine) or a database URL such as "
        "sqlite:///study.db or postgresql://user:pass@host/db (many machines); "
        "default: in memory",
    )
    g.add_argument(
        "--study-name", metavar="NAME", help="the study in --storage (default: aekit)"
    )
    g.add_argument(
        "--space", metavar="FILE", help="search space overrides, .json or .yaml"
    )
    g.add_argument(
        "--pruner",
        choices=["hyperband", "halving", "median", "none"],
        default="hyperband",
        help="stops bad trials early (default: hyperband)",
    )
    g.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        metavar="F",
        help="share of rows held out from the search and scored at the end "
        "(default: 0.2)",
    )
    g.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="N",
        help="seed of the test split and of every trial (default: 0)",
    )
    g.add_argument(
        "--max-epochs",
        type=int,
        metavar="N",
        help="epochs per trial at most (default: the estimator's 'auto' budget)",
    )
    g.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    g.add_argument(
        "--no-default",
        action="store_true",
        help="skip fitting the default model for the test comparison",
    )


def build_parser() -> _Parser:
    """The argument parser of the `aekit` command."""
    parser = _Parser(
        prog="aekit",
        description="Compact representations of feature vectors with autoencoders.",
        epilog="example:\n  aekit train data.csv -o model --latent-dim 16\n"
        "  aekit encode model data.csv -o codes.csv\n\n"
        "Run 'aekit COMMAND --help' for the options of a command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"aekit {__version__}")
    parser.commands = {}
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="show the full traceback of an error"
    )

    def command(
        name: str, help_text: str, func: Callable[[argparse.Namespace], int]
    ) -> Any:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text[0].upper() + help_text[1:] + ".",
            epilog=_EXAMPLES[name],
            parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func)
        parser.commands[name] = p
        return p

    p = command("train", "train a model on a table and save it to a folder", _cmd_train)
    p.add_argument(
        "data", metavar="DATA", help="table: .npy, .npz, .csv, .tsv, .parquet"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="MODEL_DIR",
        required=True,
        help="folder to save the model in (created, or an aekit model replaced)",
    )
    p.add_argument(
        "--config", metavar="FILE", help="options from a .json or .yaml file"
    )
    _add_data_options(p)
    _add_estimator_options(p)
    _add_checkpoint_options(p)

    p = command(
        "tune",
        "search hyperparameters (Optuna) and save the best model with the study",
        _cmd_tune,
    )
    _add_tune_arguments(p)
    _add_data_options(p)

    p = command("encode", "write the latent code of every row", _cmd_encode)
    _add_use_arguments(p, output=True)
    _add_data_options(p, carry=True)

    p = command(
        "reconstruct",
        "write the reconstruction of every row, in original units",
        _cmd_reconstruct,
    )
    _add_use_arguments(p, output=True)
    _add_data_options(p)

    p = command(
        "evaluate",
        "reconstruction error against PCA, probes and diagnostics on a table",
        _cmd_evaluate,
    )
    _add_use_arguments(p, output=False)
    _add_data_options(p)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--worst",
        type=int,
        default=10,
        metavar="N",
        help="how many of the worst reconstructed features to list (default: 10)",
    )
    p.add_argument(
        "--no-probes",
        action="store_true",
        help="skip the probes on --label-column (the slow part)",
    )

    p = command(
        "score",
        "write the anomaly score and flag of every row",
        _cmd_score,
    )
    _add_use_arguments(p, output=True)
    _add_data_options(p, carry=True)
    p.add_argument(
        "--per-feature",
        action="store_true",
        help="add the squared error of every feature, columns error_<feature>",
    )

    p = command("report", "write a self-contained HTML report of a model", _cmd_report)
    p.add_argument(
        "model", metavar="MODEL_DIR", help="a folder written by 'aekit train'"
    )
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
    _add_data_options(p)
    p.add_argument(
        "--image-shape",
        type=_image_shape,
        metavar="HxW",
        help="draw rows as images of this shape (default: square images when the "
        "number of features is a square)",
    )
    p.add_argument("--title", metavar="TEXT", help="the report's title")

    p = command("sample", "draw new rows from a generative model", _cmd_sample)
    p.add_argument(
        "model", metavar="MODEL_DIR", help="a folder written by 'aekit train'"
    )
    p.add_argument(
        "-n", type=int, required=True, metavar="N", help="how many rows to draw"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        required=True,
        help="output table: .npy, .csv, .tsv, .parquet",
    )
    p.add_argument(
        "--random-state",
        type=int,
        default=None,
        metavar="SEED",
        help="seed of the draw",
    )

    p = command("info", "describe a saved model", _cmd_info)
    p.add_argument(
        "model", metavar="MODEL_DIR", help="a folder written by 'aekit train'"
    )
    p.add_argument("--json", action="store_true", help="print the description as JSON")
    return parser


def _unknown_arguments(parser: _Parser, command: str, extra: list[str]) -> NoReturn:
    """Name the unknown arguments, suggesting the command's closest option."""
    sub = parser.commands[command]
    flags = re.findall(r"--[a-z][a-z0-9-]*", sub.format_usage())
    hint = ""
    first = next((a.split("=")[0] for a in extra if a.startswith("--")), None)
    close = difflib.get_close_matches(first, flags, n=1) if first else []
    if close:
        hint = f"; did you mean {close[0]}?"
    raise CommandError(
        f"unrecognized arguments: {' '.join(extra)}{hint} (see '{sub.prog} --help')"
    )
