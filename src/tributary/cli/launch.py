"""The ``trib`` console script: give the kept answer to a question asked before, else run the command.

This module and ``cli.replay`` import only the standard library, so a kept answer is given without
loading the command-line layer or the configuration models (see ``cli.replay``).
"""

from __future__ import annotations

import sys

from tributary.cli import replay


def run() -> None:
    """Exit with the command's status, after giving its kept answer or running it."""
    argv = sys.argv[1:]
    try:
        status = replay.replayed(argv)
        if status is None:
            with replay.session(argv) as current:
                from tributary.cli.app import main

                status = main(argv)
                replay.finish(current, status)
    except KeyboardInterrupt:  # while an answer is checked, given or kept (the command handles its own)
        print("interrupted", file=sys.stderr)
        status = 130
    sys.exit(status)


if __name__ == "__main__":  # pragma: no cover
    run()
