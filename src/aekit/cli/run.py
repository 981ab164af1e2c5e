"""Running a command: parse, dispatch, and turn errors into one line and a status."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import Any

from .options import (
    EXIT_BROKEN_PIPE,
    EXIT_DIVERGED,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CommandError,
)
from .parser import _unknown_arguments, build_parser
from .train import _interrupted_text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the aekit command line on `argv` (default: sys.argv[1:]); return the status.

    Examples
    --------
    >>> main(["--version"])  # doctest: +SKIP
    aekit 0.1.0
    0
    """
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            _unknown_arguments(parser, args.command, extra)
    except CommandError as e:
        return _error(str(e))
    except SystemExit as e:  # --help and --version
        return e.code if isinstance(e.code, int) else EXIT_OK
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from ..errors import AekitError, DivergenceError, TrainingInterrupted

    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            # encode & co. pass plain arrays after matching columns by name themselves
            warnings.filterwarnings(
                "ignore", message="X does not have valid feature names"
            )
            status = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:  # e.g. `aekit evaluate --json | head`: the reader left
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        if args.debug:
            traceback.print_exc()
        print("aekit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except TrainingInterrupted as e:
        if args.debug:
            traceback.print_exc()
        print(f"aekit: {_interrupted_text(e, args)}", file=sys.stderr)
        return e.exit_code
    except DivergenceError as e:
        return _error(str(e), args.debug, EXIT_DIVERGED)
    except (CommandError, AekitError, ValueError) as e:
        return _error(str(e), args.debug)
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        return _error(f"{where}{e.strerror or e}", args.debug)


def _error(message: str, debug: bool = False, status: int = EXIT_ERROR) -> int:
    if debug:
        traceback.print_exc()
    print(f"aekit: error: {' '.join(message.split())}", file=sys.stderr)
    return status


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    print(f"aekit: warning: {message}", file=sys.stderr)
