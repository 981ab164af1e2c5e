"""The aekit command line: train, encode, reconstruct, evaluate, score, report, info.

A thin layer over the library: it parses arguments, calls aekit, prints, and
turns the errors a user can fix into one line on stderr. Exit status: 0 ok,
2 usage, data or model errors, 3 when training diverges, 128 + the signal when
interrupted (130 for Ctrl-C, 143 for SIGTERM).
torch and the estimator are imported inside the commands, so ``aekit --help``
stays fast.

The modules, from the shell down: `run` (main: dispatch, errors and statuses),
`parser` (the subcommands, assembled from `commands`), `commands` (one module
per command: its flags, its example and what it does), `arguments` (the option
groups several commands share), `config` (--config files, flags and checkpoints
resolved to options), `resume`, `model_dir` and `text` (what train and tune
write and say), `stream` and `parts` (encode, reconstruct and score, a block or
a rank at a time), `inputs` (the saved model and a table's features, which all
of them read) and `options` (the option tables, value types and statuses they
all share).
"""

from __future__ import annotations

from .commands.info import describe_model
from .config import checkpoint_options, read_config, resolve_train_options
from .model_dir import history_csv
from .options import (
    DATA_OPTIONS,
    ESTIMATOR_OPTIONS,
    EXIT_BROKEN_PIPE,
    EXIT_DIVERGED,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXPLICIT_NONE,
    HISTORY_FILE,
    TRAIN_CONFIG_FILE,
    CommandError,
)
from .parser import build_parser
from .resume import resume_command
from .run import main

__all__ = [
    "DATA_OPTIONS",
    "ESTIMATOR_OPTIONS",
    "EXIT_BROKEN_PIPE",
    "EXIT_DIVERGED",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXPLICIT_NONE",
    "HISTORY_FILE",
    "TRAIN_CONFIG_FILE",
    "CommandError",
    "build_parser",
    "checkpoint_options",
    "describe_model",
    "history_csv",
    "main",
    "read_config",
    "resolve_train_options",
    "resume_command",
]
