"""How a stopped `aekit train` goes on: the command line that resumes it.

The messages on an interrupt (`interrupted_text`) and on a divergence
(`diverged`) give that command line.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..errors import TrainingInterrupted


def resume_command(
    args: argparse.Namespace, directory: str | os.PathLike[str], **override: str
) -> str:
    """The `aekit train` command line that resumes this run from `directory`.

    Data options and --config are repeated as given; the estimator's options
    come back from the checkpoint. `override` adds flags, e.g. ``lr="1e-4"``.
    """
    argv = ["aekit", "train", args.data, "-o", args.output, "--resume", directory]
    if args.config:
        argv += ["--config", args.config]
    if args.key is not None:
        argv += ["--key", args.key]
    if args.label_column is not None:
        argv += ["--label-column", args.label_column]
    if args.exclude_columns:
        argv += ["--exclude-columns", ",".join(args.exclude_columns)]
    if args.verbose is not None:
        argv.append({0: "--quiet", 2: "--verbose"}[args.verbose])
    for name, value in override.items():
        argv += ["--" + name.replace("_", "-"), value]
    return shlex.join(str(a) for a in argv)


def interrupted_text(e: TrainingInterrupted, args: argparse.Namespace) -> str:
    """One line on a TrainingInterrupted: where, what was saved, how to go on."""
    name = signal.Signals(e.signal).name
    where = f"at epoch {e.epoch + 1}, step {e.step}"
    if e.step == 0:  # stopped between two epochs
        where = f"after epoch {e.epoch}"
    if e.checkpoint is None:
        return (
            f"interrupted by {name} {where}; no checkpoint was saved (train with "
            "--checkpoint-dir DIR to be able to resume)"
        )
    return (
        f"interrupted by {name} {where}; checkpoint saved to {e.checkpoint}; "
        f"resume with: {resume_command(args, Path(e.checkpoint).parent)}"
    )


def diverged(
    e: Exception, args: argparse.Namespace, directory: Path | None, lr: float
) -> Exception:
    """The DivergenceError, naming the last good checkpoint and how to resume it."""
    from ..checkpoint import divergence_note, latest_checkpoint
    from ..errors import DivergenceError

    last = latest_checkpoint(directory) if directory is not None else None
    if last is None or not isinstance(e, DivergenceError):
        return e
    how = (
        "resume with a smaller --lr: "
        f"{resume_command(args, last.parent, lr=f'{lr / 10:g}')}"
    )
    return divergence_note(e, directory, how)
