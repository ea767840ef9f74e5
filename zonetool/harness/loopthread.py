"""An asyncio loop in a daemon thread of its own.

The SMTP sinks and the MTA-STS policy server are asyncio servers, while their callers (the CLI,
the pytest fixture, the control API) are synchronous: each holds one LoopThread and hands it
coroutines to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any


class LoopThread:
    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None  # None: not running
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        ready.wait()
        self.loop = loop

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
        """Run `coro` on the loop and wait for its result (its exception is raised here)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=timeout)

    def stop(self, last: Coroutine[Any, Any, Any] | None = None) -> None:
        """Run `last` (the servers' closing; its failure does not keep the loop alive), then end the thread."""
        loop, self.loop = self.loop, None
        if loop is None:
            if last is not None:
                last.close()  # never awaited: say so to nobody
            return
        if last is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(last, loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None
