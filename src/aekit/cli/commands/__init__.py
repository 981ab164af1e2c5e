"""The commands of `aekit`, one module each.

A command module declares its ``NAME``, its one-line ``HELP``, its ``EXAMPLE``
(the epilog of its --help), ``add_arguments(parser)`` (its flags) and
``run(args) -> int`` (what it does, returning the exit status). `COMMANDS` is
their order in ``aekit --help``. The modules import torch, numpy and the
estimator inside `run`, so that building the parser stays fast.
"""

from __future__ import annotations

import argparse
from typing import Protocol

from . import (
    encode,
    evaluate,
    export,
    info,
    plan,
    reconstruct,
    report,
    sample,
    score,
    train,
    tune,
)


class Command(Protocol):
    """What the parser needs of a command module."""

    NAME: str
    HELP: str
    EXAMPLE: str

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        """Add the command's arguments and flags to its parser `p`."""

    def run(self, args: argparse.Namespace) -> int:
        """Do the command; return the exit status."""


COMMANDS: tuple[Command, ...] = (
    train,
    plan,
    tune,
    encode,
    reconstruct,
    evaluate,
    score,
    report,
    sample,
    export,
    info,
)

__all__ = ["COMMANDS", "Command"]
