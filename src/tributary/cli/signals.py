"""Stopping on SIGINT and SIGTERM the way a careful command does: clean up, say so, exit 130 or 143.

Python turns SIGINT into KeyboardInterrupt, which click reports as "Aborted!" with status 1, and
leaves SIGTERM (what a CI cancel or ``kill`` sends) to the kernel's default: the process vanishes
without running a single ``finally``, leaving scratch directories and temporary files behind. Both
signals raise ``Interrupted`` instead, so every ``finally`` and ``except BaseException`` on the way
out runs: scratch directories are removed, worker processes are stopped and locks are released. A
second signal while that clean-up runs exits at once (status 128 + signal number); the kernel still
releases every lock, and worker processes die with the command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A stop signal arrived; ``signum`` says which. Not an Exception, so no ``except Exception`` eats it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM raise ``Interrupted`` (only the main thread may take
    signals; elsewhere the block runs with the handlers as they are)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            os._exit(128 + signum)
        stopping = True
        raise Interrupted(signum)

    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
