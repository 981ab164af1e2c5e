"""The argument parser of `aekit`: the commands of `COMMANDS` as subcommands."""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Sequence
from typing import NoReturn

from ..version import __version__
from .commands import COMMANDS
from .options import CommandError


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors raise `CommandError`."""

    commands: dict[str, argparse.ArgumentParser]  # subcommand parsers, by name

    def error(self, message: str) -> NoReturn:
        """Raise the usage error as a CommandError that names the --help to read."""
        raise CommandError(f"{message} (see '{self.prog} --help')")


def build_parser() -> Parser:
    """The argument parser of the `aekit` command."""
    parser = Parser(
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
    common = Parser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="show the full traceback of an error"
    )
    for command in COMMANDS:
        p = sub.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.HELP[0].upper() + command.HELP[1:] + ".",
            epilog=command.EXAMPLE,
            parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=command.run)
        command.add_arguments(p)
        parser.commands[command.NAME] = p
    return parser


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command and its arguments from `argv`; CommandError on a usage error.

    --help and --version print and raise SystemExit, as argparse does.
    """
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        _unknown_arguments(parser, args.command, extra)
    return args


def _unknown_arguments(parser: Parser, command: str, extra: list[str]) -> NoReturn:
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
