"""The option groups that several commands share, and the model families' names.

Estimator options (`aekit train`'s flags, from `ESTIMATOR_OPTIONS`), data
options, checkpoint options and the MODEL_DIR DATA -o arguments of the commands
that use a saved model. Nothing here imports torch: `aekit --help` and
`aekit train --help` stay fast.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from .options import (
    ESTIMATOR_OPTIONS,
    parse_int_or_auto,
    parse_int_or_none,
    parse_keep_last,
    parse_model_options,
    parse_names,
    parse_track,
    parse_widths,
)

# how each kind of ESTIMATOR_OPTIONS is parsed, and the metavar it shows
_PARSE: dict[str, Callable[[str], Any]] = {
    "int": int,
    "float": float,
    "str": str,
    "widths": parse_widths,
    "int_or_none": parse_int_or_none,
    "int_or_auto": parse_int_or_auto,
    "options": parse_model_options,
}
_METAVAR = {
    "int": "N",
    "float": "X",
    "str": "NAME",
    "widths": "W,W",
    "int_or_none": "N",
    "int_or_auto": "N",
    "options": "K=V,K=V",
}


class ArgumentAdder(Protocol):
    """A parser or one of its argument groups: what `add_argument` is called on."""

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        """Add an argument, as `argparse.ArgumentParser.add_argument`."""


TABLE_HELP = "table: .npy, .npz, .csv, .tsv, .parquet"
MODEL_DIR_HELP = "a folder written by 'aekit train'"


def family_choices() -> list[str]:
    """The names --model takes: the registered model families, sorted.

    The registry imports torch; once it is loaded, it answers (with any family
    registered since). Before, the built-in families' names are read from
    their modules' source (``name = "..."``) without importing them, so that
    building the parser never loads torch.
    """
    if "aekit.families" in sys.modules:
        from ..families import family_names

        return family_names()
    return sorted(builtin_family_names())


def builtin_family_names() -> set[str]:
    """The ``name`` of every family class in aekit's families package, unimported."""
    folder = Path(__file__).resolve().parent.parent / "families"
    declared = re.compile(r'^    name = "(\w+)"$', re.MULTILINE)
    return {
        name
        for source in folder.glob("*.py")
        for name in declared.findall(source.read_text(encoding="utf-8"))
    }


def _model_help() -> str:
    """--model's help: every family by name, and the default."""
    from ..params import default_text

    names = ", ".join(family_choices())
    return f"model family: {names} (default: {default_text('model')})"


def add_estimator_options(p: argparse.ArgumentParser) -> None:
    """The AutoEncoder's parameters as flags, --verbose/--quiet for verbose."""
    g = p.add_argument_group("model and training (flags override --config)")
    for name, (kind, help_text) in ESTIMATOR_OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if name == "model":
            help_text = _model_help()
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
            g.add_argument(
                flag, type=_PARSE[kind], metavar=_METAVAR[kind], help=help_text
            )


def add_data_options(p: argparse.ArgumentParser, *, carry: bool = False) -> None:
    """--key, --label-column, --exclude-columns and, with `carry`, --carry-columns."""
    g = p.add_argument_group("data")
    g.add_argument("--key", help="the array to read from an .npz holding several")
    g.add_argument(
        "--label-column",
        metavar="NAME",
        help="a label column, left out of the features",
    )
    g.add_argument(
        "--exclude-columns",
        type=parse_names,
        metavar="A,B",
        help="columns to leave out of the features",
    )
    if carry:
        g.add_argument(
            "--carry-columns",
            type=parse_names,
            metavar="A,B",
            default=[],
            help="columns to copy to the output, e.g. id,label",
        )


def add_checkpoint_options(p: argparse.ArgumentParser) -> None:
    """--checkpoint-dir, --checkpoint-every, --keep-last and --resume."""
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
        type=parse_keep_last,
        metavar="K",
        help="how many checkpoints to keep, newest first, or 'all' (default: 3)",
    )
    g.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the run checkpointed in DIR, on the same DATA; new "
        "checkpoints go there too unless --checkpoint-dir is given",
    )


def add_tracking_options(p: argparse.ArgumentParser, *, tensorboard: bool) -> None:
    """--track (repeatable) and --experiment: log the run to MLflow or TensorBoard."""
    g = p.add_argument_group("experiment tracking")
    kinds = "mlflow[:URI] or tensorboard:DIR" if tensorboard else "mlflow[:URI]"
    g.add_argument(
        "--track",
        type=parse_track,
        action="append",
        default=[],
        metavar="TRACKER",
        help=f"log the run to {kinds}; repeatable. URI: where MLflow stores runs "
        "(default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db here); DIR: the "
        "folder of TensorBoard's event files",
    )
    g.add_argument(
        "--experiment",
        metavar="NAME",
        help="the MLflow experiment (created when missing; default: "
        "MLFLOW_EXPERIMENT_NAME, else Default)",
    )


def add_model_dir(p: argparse.ArgumentParser) -> None:
    """The MODEL_DIR argument: a saved model."""
    p.add_argument("model", metavar="MODEL_DIR", help=MODEL_DIR_HELP)


def add_use_arguments(p: argparse.ArgumentParser, *, output: bool) -> None:
    """MODEL_DIR DATA and, with `output`, -o OUT: a saved model used on a table."""
    add_model_dir(p)
    p.add_argument("data", metavar="DATA", help=TABLE_HELP)
    if output:
        add_output_table(p)


def add_output_table(p: argparse.ArgumentParser) -> None:
    """-o OUT, the table a command writes."""
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        required=True,
        help="output table: .npy, .csv, .tsv, .parquet",
    )
