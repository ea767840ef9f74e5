"""Log lines to a stream from their own thread, so a slow reader can never stop the server answering.

Issue 16: with the query log on and stdout a pipe nobody reads, `write` blocked in the UDP thread
(and the event loop) once the pipe's 64 KiB were full, and the whole server stopped answering.
Now the answering threads only put the line on a bounded queue; one writer thread takes lines
off it and writes them. When the queue is full the line is dropped and counted, and `on_drop`
is told the running total (the query log says it once per interval through the server's Trouble).
When the reader keeps up nothing is lost: `drain()` waits until every queued line is written.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Callable
from typing import TextIO

QUEUE_LINES = 8192  # lines waiting for a slow reader (~1 MB of text); beyond: dropped and counted
CHUNK = 4000  # octets per write: under PIPE_BUF (4096), so workers sharing a pipe never mix lines


class StreamWriter:
    """A bounded queue of lines in front of `stream`, written by a thread of its own (started lazily).

    `put` never blocks on the stream. The thread starts with the first line, so a process that
    forks its workers before answering gives each worker a writer thread of its own (threads do
    not survive a fork; the pid tells a copy made by fork from the original).
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        limit: int = QUEUE_LINES,
        on_drop: Callable[[int], None] | None = None,
    ) -> None:
        self.stream = stream
        self.limit = limit
        self.on_drop = on_drop
        self.dropped = 0  # lines never written because the reader was too slow
        self.written = 0
        self.dead = False  # the reader went away (`| head`): nothing more is written
        self._lines: collections.deque[str] = collections.deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._busy = False  # the thread holds lines it took off the queue and is writing them
        self._closing = False

    def put(self, line: str) -> bool:
        """Queue one line (without its newline); False once the stream is dead (stop logging)."""
        if self.dead:
            return False
        with self._cond:
            if self._thread is None or self._pid != os.getpid():
                self._start()
            if len(self._lines) >= self.limit:
                self.dropped += 1
                dropped = self.dropped
            else:
                self._lines.append(line)
                self._cond.notify()
                return True
        if self.on_drop is not None:
            self.on_drop(dropped)
        return True

    def _start(self) -> None:
        # Called with the condition held. In a forked copy the parent's queued lines are the parent's
        # to write (`zonetool serve --workers` forks before the first line, when the queue is empty).
        if self._pid != os.getpid():
            self._lines.clear()
            self._busy = False
        self._pid = os.getpid()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="zonetool-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        cond, lines = self._cond, self._lines
        while True:
            with cond:
                while not lines and not self._closing:
                    cond.wait()
                if not lines:  # closing and nothing left
                    self._thread = None
                    cond.notify_all()
                    return
                batch, size = [], 0
                while lines and size < CHUNK:
                    line = lines.popleft()
                    batch.append(line)
                    size += len(line) + 1
                self._busy = True
            try:
                self.stream.write("\n".join(batch) + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # the reader went away or the stream was closed: stop logging
                self.dead = True
                with cond:
                    lines.clear()
                    self._busy = False
                    self._thread = None
                    cond.notify_all()
                return
            with cond:
                self.written += len(batch)
                self._busy = False
                cond.notify_all()

    def drain(self, timeout: float = 5.0) -> bool:
        """Write out every queued line and end the thread (the next `put` starts another).

        True if everything was written; False after `timeout` when the reader still does not read
        (the daemon thread is then left blocked in its write, and the process may exit over it).
        """
        with self._cond:
            thread = self._thread
            if thread is None or self._pid != os.getpid():
                return not self._lines
            self._closing = True
            self._cond.notify_all()
            done = self._cond.wait_for(lambda: self._thread is None, timeout)
            if not done:
                self._closing = False  # a later put keeps using the (stuck) thread rather than start another
            return done and not self._lines

    @property
    def pending(self) -> int:
        """Lines queued or being written right now."""
        with self._cond:
            return len(self._lines) + (1 if self._busy else 0)
