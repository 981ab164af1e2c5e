"""What `aekit` accepts and answers: the train options, their value types, statuses.

`ESTIMATOR_OPTIONS` and `DATA_OPTIONS` are the single list of the options that
`aekit train` takes as flags and from --config files; the parser, the config
reader and the commands all read them from here.
"""

from __future__ import annotations

import argparse
from typing import Any

EXIT_OK = 0
EXIT_ERROR = 2  # usage, data and model errors
EXIT_DIVERGED = 3  # aekit.DivergenceError
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT (TrainingInterrupted has its own)
EXIT_BROKEN_PIPE = 141  # the reader of stdout left: 128 + SIGPIPE, as shell tools do

TRAIN_CONFIG_FILE = "train_config.json"
HISTORY_FILE = "history.csv"

# The verbose level of `aekit train` without --verbose or --quiet: a progress bar
# and a summary, whatever the estimator's own default is.
DEFAULT_VERBOSE = 1


class CommandError(Exception):
    """A problem the user can fix; printed as ``aekit: error: ...``, exit status 2."""


# -- option values -------------------------------------------------------------

_NONE = "none"  # typed on the command line to set an option to None explicitly


class _ExplicitNone:
    """An option given as 'none'/'auto': it overrides the config with None."""


EXPLICIT_NONE: Any = _ExplicitNone()


def parse_widths(text: str) -> Any:
    """--hidden-dims: comma-separated widths, or 'auto'/'none' for the rule."""
    if text.strip().lower() in (_NONE, "auto"):
        return EXPLICIT_NONE
    try:
        return [int(w) for w in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated widths such as 512,128 (or 'auto'), got {text!r}"
        ) from None


def parse_int_or_none(text: str) -> Any:
    """An integer, or 'none' to set the option to None."""
    if text.strip().lower() == _NONE:
        return EXPLICIT_NONE
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer or 'none', got {text!r}"
        ) from None


def parse_names(text: str) -> list[str]:
    """Comma-separated column names, blanks dropped."""
    return [n.strip() for n in text.split(",") if n.strip()]


def parse_image_shape(text: str) -> tuple[int, int]:
    """HEIGHTxWIDTH, e.g. 28x28."""
    try:
        h, w = (int(s) for s in text.lower().split("x"))
    except ValueError:
        h = w = 0
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(
            f"expected HEIGHTxWIDTH such as 28x28, got {text!r}"
        )
    return h, w


def parse_keep_last(text: str) -> Any:
    """--keep-last: an integer, or 'all' to keep every checkpoint."""
    if text.strip().lower() == "all":
        return EXPLICIT_NONE
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer or 'all', got {text!r}"
        ) from None


def parse_int_or_auto(text: str) -> Any:
    """An integer, 'auto', or 'none' to set the option to None."""
    t = text.strip().lower()
    if t == "auto":
        return "auto"
    if t == _NONE:
        return EXPLICIT_NONE
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer or 'auto', got {text!r}"
        ) from None


TRACKERS = ("mlflow", "tensorboard")


def parse_track(text: str) -> tuple[str, str | None]:
    """--track: mlflow, mlflow:URI or tensorboard:DIR, as (tracker, URI or DIR)."""
    name, colon, where = text.partition(":")
    name = name.strip().lower()
    if name not in TRACKERS:
        raise argparse.ArgumentTypeError(
            f"expected mlflow, mlflow:URI or tensorboard:DIR, got {text!r}"
        )
    if name == "tensorboard" and not where.strip():
        raise argparse.ArgumentTypeError(
            f"tensorboard needs a folder for its event files: tensorboard:DIR, "
            f"got {text!r}"
        )
    return name, where.strip() or None


def parse_option_value(text: str) -> Any:
    """A model option's value: true/false, null, an int, a float, else the text."""
    t = text.strip()
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    if t.lower() in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(t)
        except ValueError:
            pass
    return t


def parse_model_options(text: str) -> Any:
    """--model-options: name=value pairs, or 'none'."""
    if text.strip().lower() == _NONE:
        return EXPLICIT_NONE
    options = {}
    for part in text.split(","):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise argparse.ArgumentTypeError(
                f"expected name=value pairs such as train_pca=false, got {text!r}"
            )
        options[key.strip()] = parse_option_value(value)
    return options


def _estimator_options() -> dict[str, tuple[str, str]]:
    """name -> (kind, help with the default) of every AutoEncoder parameter."""
    from ..params import PARAMS, default_text

    return {
        name: (p.cli, f"{p.help} (default: {default_text(name)})" if p.help else "")
        for name, p in PARAMS.items()
    }


# The AutoEncoder parameters that `train` exposes: name -> (kind, help), from
# the one parameter table, aekit.params.
ESTIMATOR_OPTIONS: dict[str, tuple[str, str]] = _estimator_options()

# Data options that a config file may hold too.
DATA_OPTIONS: dict[str, str] = {
    "key": "str",
    "label_column": "str",
    "exclude_columns": "names",
}

# Recorded in train_config.json for the record and ignored when it is read back.
INFO_KEYS = ("aekit_version", "data", "seed")
