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


class CommandError(Exception):
    """A problem the user can fix; printed as ``aekit: error: ...``, exit status 2."""


# -- option values -------------------------------------------------------------

_NONE = "none"  # typed on the command line to set an option to None explicitly


class _ExplicitNone:
    """An option given as 'none'/'auto': it overrides the config with None."""


EXPLICIT_NONE: Any = _ExplicitNone()


def _widths(text: str) -> Any:
    if text.strip().lower() in (_NONE, "auto"):
        return EXPLICIT_NONE
    try:
        return [int(w) for w in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated widths such as 512,128 (or 'auto'), got {text!r}"
        ) from None


def _int_or_none(text: str) -> Any:
    if text.strip().lower() == _NONE:
        return EXPLICIT_NONE
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer or 'none', got {text!r}"
        ) from None


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _image_shape(text: str) -> tuple[int, int]:
    try:
        h, w = (int(s) for s in text.lower().split("x"))
    except ValueError:
        h = w = 0
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(
            f"expected HEIGHTxWIDTH such as 28x28, got {text!r}"
        )
    return h, w


def _keep_last(text: str) -> Any:
    if text.strip().lower() == "all":
        return EXPLICIT_NONE
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer or 'all', got {text!r}"
        ) from None


# The AutoEncoder parameters that `train` exposes: name -> (kind, help). The
# defaults quoted in the help are the estimator's (a test keeps them in sync).
ESTIMATOR_OPTIONS: dict[str, tuple[str, str]] = {
    "latent_dim": (
        "int",
        "size of the code, below the number of features (default: 1000)",
    ),
    "hidden_dims": (
        "widths",
        "encoder hidden widths, e.g. 512,128 (the decoder mirrors them); 'auto' halves "
        "from the input size down to the code (default: auto)",
    ),
    "activation": (
        "str",
        "hidden activation: elu, gelu, leaky_relu, relu, tanh (default: relu)",
    ),
    "loss": ("str", "reconstruction loss: bce, mse (default: mse)"),
    "max_epochs": ("int", "upper bound on passes over the data (default: 100)"),
    "batch_size": ("int", "rows per optimizer step (default: 64)"),
    "lr": ("float", "Adam learning rate (default: 0.001)"),
    "weight_decay": ("float", "Adam L2 penalty (default: 0.0)"),
    "validation_fraction": (
        "float",
        "share of rows held out for early stopping, in [0, 1) (default: 0.1)",
    ),
    "patience": (
        "int_or_none",
        "stop after this many epochs without a better validation loss; 'none' trains "
        "all epochs (default: 10)",
    ),
    "random_state": (
        "int_or_none",
        "seed of weights, split and batch order (default: none, random)",
    ),
    "scale": ("bool", "min-max scale each column to [0, 1] (default: --scale)"),
    "dead_units": (
        "str",
        "when a ReLU layer dies: ignore, switch, warn (default: warn)",
    ),
    "dead_unit_threshold": (
        "float",
        "dead share of a layer that triggers --dead-units (default: 0.5)",
    ),
    "device": ("str", "auto, cpu, cuda or cuda:N (default: auto)"),
    "precision": ("str", "bf16, fp32 (default: fp32)"),
    "verbose": ("verbosity", ""),
}

# Data options that a config file may hold too.
DATA_OPTIONS: dict[str, str] = {
    "key": "str",
    "label_column": "str",
    "exclude_columns": "names",
}

# Recorded in train_config.json for the record and ignored when it is read back.
_INFO_KEYS = ("aekit_version", "data", "seed")
