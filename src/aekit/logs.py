"""aekit's messages through the standard `logging` module, the library way.

Every message aekit's library code writes (a line per search trial, a line per
epoch at ``verbose=2``) is a record at INFO on a logger under ``"aekit"``
(``aekit.search``, ``aekit.train``). At import aekit attaches nothing but a
`logging.NullHandler` to ``"aekit"``, as the logging HOWTO asks of libraries,
and it never touches the root logger: where the records go is the
application's choice (``logging.basicConfig(level=logging.INFO)``, or a
handler on ``"aekit"``). The command line configures it once per command,
in `aekit.cli.run.main` (`cli_logging`).

`verbose` still decides whether a line is made at all. While the application
has configured no handler for these records, a line asked for with `verbose`
is also written to stderr, as scikit-learn's verbose output is, so that
``aekit.tune(X, verbose=1)`` in a notebook shows its trials without any
logging setup; once a handler is there, logging alone delivers it.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

ROOT = "aekit"


def get_logger(name: str) -> logging.Logger:
    """The logger ``aekit.<name>`` (`name` a short part name such as ``"search"``)."""
    return logging.getLogger(f"{ROOT}.{name}")


def has_handler(logger: logging.Logger) -> bool:
    """Whether a handler other than a NullHandler would receive `logger`'s records."""
    current: logging.Logger | None = logger
    while current is not None:
        if any(not isinstance(h, logging.NullHandler) for h in current.handlers):
            return True
        if not current.propagate:
            return False
        current = current.parent
    return False


def say(logger: logging.Logger, line: str) -> None:
    """Log `line` at INFO; write it to stderr too while logging is not configured."""
    logger.info(line)
    if not has_handler(logger):
        print(line, file=sys.stderr, flush=True)


class _CliFormatter(logging.Formatter):
    """``aekit: `` before a warning or an error (``aekit: error: ...``); progress lines plain."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return f"{ROOT}: {line}" if record.levelno >= logging.WARNING else line


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler on whatever `sys.stderr` is when a record comes."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # not setStream: it flushes the stream before
        super().emit(record)


@contextlib.contextmanager
def cli_logging() -> Iterator[logging.Handler]:
    """The command line's logging, for one command: INFO records of ``"aekit"`` to stderr.

    Progress lines (INFO: an epoch, the precision chosen) are written as they
    are; warnings and errors get the ``aekit: `` prefix of the command's
    one-line messages (``aekit: error: ...``). One handler on ``"aekit"``, the records kept from the root logger (so a
    root handler does not print them twice); on the way out ``"aekit"`` is
    as it was, so that a command run in-process (`aekit.cli.main` from
    Python) leaves the caller's logging untouched. Nested calls share the
    outer one's handler.
    """
    logger = logging.getLogger(ROOT)
    for h in logger.handlers:
        if isinstance(h, _StderrHandler):
            yield h
            return
    before = logger.level, logger.propagate
    handler = _StderrHandler()
    handler.setFormatter(_CliFormatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before[0])
        logger.propagate = before[1]
