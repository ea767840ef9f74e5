"""The foreground life of `zonetool serve`: signals, and N worker processes sharing one port.

Ctrl-C (SIGINT) and SIGTERM stop cleanly; SIGHUP reloads the zone files. With `workers > 1`
the process forks before any thread exists; every process binds its own sockets with
SO_REUSEPORT, so the kernel spreads queries over them as NSD's server-count does (issue 6).
Only the parent watches the files; after each reload it has accepted it sends SIGHUP to the
workers, which then reload the same files. SIGTERM to the parent stops the workers too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType

from zonetool.server.runner import Server

MakeServer = Callable[[int], Server]  # worker number -> an unstarted Server (worker 0 is the parent)


def _serve_until_signalled(
    server: Server, children: list[int], on_start: Callable[[Server], None] | None = None
) -> None:
    # Handlers only record what came: taking a lock inside a handler (Event.set) can deadlock
    # with the main thread that was interrupted while holding that very lock.
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    old = {sig: signal.signal(sig, handler) for sig, handler in
           ((signal.SIGINT, on_signal), (signal.SIGTERM, on_signal), (signal.SIGHUP, on_signal))}
    try:
        server.start()
        if on_start is not None:
            on_start(server)
        ticks = 0
        while True:
            time.sleep(0.05)
            while received:
                signum = received.pop(0)
                if signum == signal.SIGHUP:
                    server.request_reload("SIGHUP")  # the workers follow once it succeeded (see run)
                else:
                    return
            ticks += 1
            if children and ticks % 10 == 0 and any(_reaped(pid) for pid in children):
                return  # a worker died: stop the whole group rather than serve at partial strength silently
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        server.stop()


def _reaped(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def run(make_server: MakeServer, workers: int = 1, on_start: Callable[[Server], None] | None = None) -> None:
    """Serve in the foreground until a stop signal; fork `workers - 1` extra processes first."""
    # While a reload compiles a zone in another thread, a query waiting for the GIL would wait up
    # to the switch interval (5 ms by default); 1 ms keeps answers prompt during reloads. The
    # process is ours here (not a library inside someone's tests), so this is ours to set.
    sys.setswitchinterval(0.001)
    parent = make_server(0)
    parent.bind()  # a busy port is reported before any fork
    children: list[int] = []
    for number in range(1, max(1, workers)):
        pid = os.fork()
        if pid == 0:  # the worker: its own sockets on the same port, its own threads
            code = 0
            try:
                parent.stop()  # close the parent's copies of the sockets
                child = make_server(number)
                child.requested_port = parent.port
                child.bind()
                _serve_until_signalled(child, [])
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    if children:
        # Only the parent watches the files; when it has taken a new version the workers reload too,
        # so they never serve a version the parent refused.
        def follow() -> None:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGHUP)

        parent.after_reload.append(follow)
    try:
        _serve_until_signalled(parent, children, on_start)
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for pid in children:
            while time.monotonic() < deadline and not _reaped(pid):
                time.sleep(0.05)
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                if not _reaped(pid):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
