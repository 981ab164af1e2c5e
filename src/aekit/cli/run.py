"""Running a command: parse, dispatch, and turn errors into one line and a status."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any

from ..logs import cli_logging
from .options import (
    EXIT_BROKEN_PIPE,
    EXIT_DIVERGED,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CommandError,
)
from .parser import parse_arguments
from .resume import interrupted_text

logger = logging.getLogger("aekit")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the aekit command line on `argv` (default: sys.argv[1:]); return the status.

    SIGTERM is turned into an exception for the command's duration, as Ctrl-C
    is, so that every `finally` runs and no temporary file is left behind.
    Logging is set up once, here (`aekit.logs.cli_logging`): the library's
    records (``aekit.*``, INFO; WARNING and up with --quiet) and the command's
    one-line errors and warnings go to stderr through the ``"aekit"`` logger;
    the command's own results go to stdout.

    Examples
    --------
    >>> main(["--version"])  # doctest: +SKIP
    aekit 0.1.0
    0
    """
    with cli_logging():
        try:
            with _sigterm_raises():
                try:
                    args = parse_arguments(argv)
                except CommandError as e:
                    return _error(str(e))
                except SystemExit as e:  # --help and --version
                    return e.code if isinstance(e.code, int) else EXIT_OK
                if getattr(args, "verbose", None) == 0:  # --quiet
                    logger.setLevel(logging.WARNING)  # cli_logging restores it
                return _run(args)
        except KeyboardInterrupt as e:  # e.g. during the first imports, before _run
            return _interrupted(e)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, so that cleanup runs as for Ctrl-C."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"signal {signal.Signals(signum).name}")


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` (where it has its default action)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupted(e: KeyboardInterrupt, debug: bool = False) -> int:
    if debug:
        traceback.print_exc()
    if isinstance(e, Terminated):
        logger.error("interrupted by SIGTERM")
        return 128 + signal.SIGTERM
    logger.error("interrupted")
    return EXIT_INTERRUPTED


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
    except KeyboardInterrupt as e:
        return _interrupted(e, args.debug)
    except TrainingInterrupted as e:
        if args.debug:
            traceback.print_exc()
        logger.error("%s", interrupted_text(e, args))
        return e.exit_code
    except DivergenceError as e:
        return _error(str(e), args.debug, EXIT_DIVERGED)
    except (CommandError, AekitError, ValueError) as e:
        return _error(str(e), args.debug)
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        return _error(f"{where}{e.strerror or e}", args.debug)


MAX_MESSAGE = 2000  # characters of an error line; the rest of a long one is cut


def _error(message: str, debug: bool = False, status: int = EXIT_ERROR) -> int:
    if debug:
        traceback.print_exc()
    logger.error("error: %s", bounded(message))
    return status


def bounded(message: str, limit: int = MAX_MESSAGE) -> str:
    """`message` on one line, cut to `limit` characters, saying how much was cut."""
    text = " ".join(message[: 2 * limit].split())
    if len(message) <= 2 * limit and len(text) <= limit:
        return text
    return f"{text[:limit]} ... ({len(message):,} characters in all)"


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    logger.warning("warning: %s", bounded(str(message)))
