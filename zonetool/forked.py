"""Half of a one-shot job on the second core: `fork()`, run a function, pickle its result back.

Why fork and not a process pool: the child starts with the zone already built (copy-on-write),
so nothing big is pickled on the way in; only the (small) result comes back. Used only by
one-shot commands, which run no other thread that a fork could catch holding a lock. Where
fork is missing or the child fails, `Child.result()` is None and the caller does the work itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# Records: a zone smaller than this is done in one process (a fork costs more than it saves).
MIN_RECORDS = 20_000


class Child(Generic[T]):
    """A forked child computing one value."""

    def __init__(self, pid: int, read_end: int) -> None:
        self.pid, self.read_end = pid, read_end

    def cancel(self) -> None:
        """Stop the child and reap it: its value is not wanted any more."""
        os.close(self.read_end)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)

    def result(self) -> T | None:
        """The child's value, or None if it did not finish (waits for it)."""
        with os.fdopen(self.read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or not data:
            return None
        import pickle  # here, not at the top: importing this module must cost a small job nothing

        value: T = pickle.loads(data)
        return value


def start(work: Callable[[], T]) -> Child[T] | None:
    """`work()` in a forked child, or None where that is not possible (the caller then runs it)."""
    if not hasattr(os, "fork"):
        return None
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid:
        os.close(write_end)
        return Child(pid, read_end)
    status = 1  # the child: send the value and leave without the parent's exit handlers
    try:
        import pickle

        os.close(read_end)
        data = pickle.dumps(work())
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)
        status = 0
    finally:
        os._exit(status)
