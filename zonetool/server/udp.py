"""The UDP transport: one thread in a tight recvfrom/respond/sendto loop.

Issue 6 measured a plain Python loop answering from precomputed bytes at ~87k queries/s
and dnslib's thread-per-request server at 3.4k, so there is no thread per request and no
event loop between the socket and the responder. Replies that must wait (`Reply.delay`)
are handed to a scheduler so one slow answer never holds up the others.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("zonetool.server")

MAX_DATAGRAM = 65535
Scheduler = Callable[[float, Callable[[], None]], None]


class UDPServer:
    """Answers datagrams on `sock` from `respond` until `stop()`."""

    def __init__(
        self,
        sock: socket.socket,
        respond: Callable[[bytes, tuple[str, int], str], Any],
        querylog: Callable[[Any, int], None] | None,
        schedule: Scheduler,
        cached: Callable[[bytes], bytes | None] | None = None,
    ) -> None:
        self.sock = sock
        self.respond = respond
        # Responder.udp_answerer(): bytes for a cache hit, no Reply object; only when nothing is logged.
        self.cached = cached if querylog is None else None
        self.querylog = querylog
        self.schedule = schedule
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="zonetool-udp", daemon=True)
        self._thread.start()

    def _send_later(self, messages: list[bytes], addr: Any) -> Callable[[], None]:
        def send() -> None:
            for message in messages:
                with contextlib.suppress(OSError):
                    self.sock.sendto(message, addr)

        return send

    def _run(self) -> None:
        recvfrom, sendto = self.sock.recvfrom, self.sock.sendto
        respond, querylog, clock, cached = self.respond, self.querylog, time.perf_counter_ns, self.cached
        while True:
            try:
                data, addr = recvfrom(MAX_DATAGRAM)
            except OSError:
                if self._stopping:
                    return
                continue  # e.g. ICMP port unreachable reported on a later recv
            if self._stopping or addr is None:
                return
            if cached is not None:
                out = cached(data)
                if out is not None:
                    try:
                        sendto(out, addr)
                    except OSError as exc:
                        log.debug("sendto %s failed: %s", addr, exc)
                    continue
            start = clock()
            try:
                reply = respond(data, addr[:2], "udp")
            except Exception:  # the responder must never take the server down
                log.exception("responder failed on a %d-octet UDP query from %s", len(data), addr[0])
                continue
            # Logged before sending, so a test that got its answer always finds its question in the log.
            if querylog is not None:
                querylog(reply.info, (clock() - start) // 1000)
            if reply.delay > 0:
                self.schedule(reply.delay, self._send_later(reply.messages, addr))
            else:
                for message in reply.messages:
                    try:
                        sendto(message, addr)
                    except OSError as exc:  # a full buffer or a vanished client: drop, as a server does
                        log.debug("sendto %s failed: %s", addr, exc)

    def stop(self) -> None:
        """Wake the blocked recvfrom and wait for the thread; the socket stays open for the owner to close."""
        self._stopping = True
        thread = self._thread
        if thread is None:
            return
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RD)  # Linux wakes a blocked recvfrom on a UDP socket
        thread.join(0.5)
        if thread.is_alive():  # elsewhere: a datagram to ourselves does it
            with (
                contextlib.suppress(OSError),
                socket.socket(self.sock.family, socket.SOCK_DGRAM) as poke,
            ):
                poke.sendto(b"", self.sock.getsockname())
            thread.join(2)
        self._thread = None
