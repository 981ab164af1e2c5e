"""``python -m aekit`` and the ``aekit`` command: `entry`.

The command line's first imports (argparse, the command modules) take a
tenth of a second; a Ctrl-C that lands in them is an interruption like any
other, one line and status 130, not a traceback of the import.
"""

import sys

EXIT_INTERRUPTED = 128 + 2  # SIGINT, as aekit.cli.options has it


def entry() -> int:
    """Import the command line and run it on ``sys.argv``; return its status."""
    try:
        from .cli import main
    except KeyboardInterrupt:
        print("aekit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return main()


if __name__ == "__main__":
    sys.exit(entry())
