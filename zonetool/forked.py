"""Half of a one-shot job on the second core: `fork()`, run a function, pickle its result back.

Why fork and not a process pool: the child starts with the zone already built (copy-on-write),
so nothing big is pickled on the way in; only the (small) result comes back. Used only by
one-shot commands, which run no other thread that a fork could catch holding a lock. Where
fork is missing or the child fails, `Child.result()` is None and the caller does the work itself.

A child never outlives its parent (a `kill -9` of the command must not leave work running):
on Linux the kernel kills it when the parent dies (prctl PR_SET_PDEATHSIG); everywhere, a
thread in the child waits on a "lifeline" pipe whose only writer is the parent, and ends
the child when it reads end-of-file.
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


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_LIFELINES: set[int] = set()  # write ends only the parent may hold (lifelines, feeds): a later child closes its copies


def parent_only(fd: int, held: bool = True) -> None:
    """Every child forked from now on closes `fd` (`held=False`: no longer): the write end of a pipe
    whose end-of-file one child waits for must not be kept open by its siblings."""
    if held:
        _LIFELINES.add(fd)
    else:
        _LIFELINES.discard(fd)


def _die_with_parent(parent: int, lifeline: int) -> None:
    """In the child: end as soon as the parent is gone, however it ended."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    import threading

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(lifeline, 1):
                pass
        os._exit(1)  # end-of-file: the parent's end is closed, so the parent is gone

    threading.Thread(target=watch, daemon=True).start()


class Child(Generic[T]):
    """A forked child computing one value."""

    def __init__(self, pid: int, read_end: int, lifeline: int = -1) -> None:
        self.pid, self.read_end, self.lifeline = pid, read_end, lifeline

    def _release(self) -> None:
        if self.lifeline >= 0:
            _LIFELINES.discard(self.lifeline)
            with contextlib.suppress(OSError):
                os.close(self.lifeline)
            self.lifeline = -1

    def cancel(self) -> None:
        """Stop the child and reap it: its value is not wanted any more."""
        os.close(self.read_end)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        self._release()

    def result(self) -> T | None:
        """The child's value, or None if it did not finish (waits for it)."""
        with os.fdopen(self.read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self._release()
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
        life_read, life_write = os.pipe()
    except OSError:
        return None
    for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice
        with contextlib.suppress(Exception):
            stream.flush()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        for fd in (read_end, write_end, life_read, life_write):
            os.close(fd)
        return None
    if pid:
        os.close(write_end)
        os.close(life_read)
        _LIFELINES.add(life_write)
        return Child(pid, read_end, life_write)
    status = 1  # the child: send the value and leave without the parent's exit handlers
    try:
        import pickle

        os.close(read_end)
        os.close(life_write)
        for fd in _LIFELINES:  # other children's lifelines: only the parent may hold them open
            with contextlib.suppress(OSError):
                os.close(fd)
        _die_with_parent(parent, life_read)
        data = pickle.dumps(work())
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)
        status = 0
    finally:
        os._exit(status)
