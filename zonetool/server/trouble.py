"""Trouble the server meets (bad packets, accept errors, limits hit), counted and said once per interval.

A server under a flood must not write a line per packet: that turns a fuzzer into a disk-filler
and a log reader into a bottleneck. Each kind of trouble is said at once the first time in an
interval, then only counted; `flush()` (the runner calls it every `interval` seconds) says how
many more came, with the last detail. `totals()` are the counters for `--stats` and `/stats`.
Thread-safe: the UDP thread, the event loop and the reload executor all report here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

INTERVAL = 5.0  # seconds between two lines about the same kind of trouble


class Trouble:
    """Counts trouble by kind; `emit` gets at most one line per kind per interval (plus one per flush)."""

    def __init__(
        self,
        emit: Callable[[str], None] | None = None,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.emit = emit
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._totals: dict[str, int] = {}
        self._said_at: dict[str, float] = {}  # kind -> when its last line was emitted
        self._pending: dict[str, tuple[int, str]] = {}  # kind -> (count since that line, last detail)

    def report(self, kind: str, detail: str = "", count: int = 1) -> None:
        """One more (or `count` more) of `kind`; said now if nothing about it was said this interval."""
        now = self.clock()
        line = None
        with self._lock:
            self._totals[kind] = self._totals.get(kind, 0) + count
            said = self._said_at.get(kind)
            if said is None or now - said >= self.interval:
                missed = self._pending.pop(kind, None)
                self._said_at[kind] = now
                line = _line(kind, detail, count, missed)
            else:
                n, _ = self._pending.get(kind, (0, ""))
                self._pending[kind] = (n + count, detail)
        if line is not None and self.emit is not None:
            self.emit(line)

    def flush(self, everything: bool = False) -> None:
        """Say the counts held back for kinds whose interval has passed (call it every interval);
        `everything`: all of them now (at a stop, so no count is left unsaid)."""
        now = self.clock()
        lines = []
        with self._lock:
            for kind, (n, detail) in list(self._pending.items()):
                if everything or now - self._said_at.get(kind, 0.0) >= self.interval:
                    del self._pending[kind]
                    self._said_at[kind] = now
                    lines.append(f"{kind}: {n} more in the last {self.interval:g}s (last: {detail})"
                                 if detail else f"{kind}: {n} more in the last {self.interval:g}s")
        if self.emit is not None:
            for line in lines:
                self.emit(line)

    def totals(self) -> dict[str, int]:
        """Every kind seen since start, with its count (for --stats and the control API)."""
        with self._lock:
            return dict(sorted(self._totals.items()))

    def count(self, kind: str) -> int:
        with self._lock:
            return self._totals.get(kind, 0)


def _line(kind: str, detail: str, count: int, missed: tuple[int, str] | None) -> str:
    text = f"{kind}: {detail}" if detail else kind
    if count > 1:
        text += f" (x{count})"
    if missed is not None and missed[0]:
        text += f" [{missed[0]} more since the last line]"
    return text
