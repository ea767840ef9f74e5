"""The TCP transport (RFC 7766): 2-octet length framing, pipelined queries, idle timeout.

Runs on an asyncio loop, so thousands of idle connections cost no threads. Each query is
answered as soon as it is read; a delayed reply is sent by its own task, so later queries on
the same connection are not held up (RFC 7766 6.2.1.1 allows out-of-order replies). All the
messages of one reply (an AXFR stream, RFC 5936 2.2) are written back to back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("zonetool.server")

IDLE_TIMEOUT = 10.0  # seconds; RFC 7766 6.2.3 suggests a few seconds for an idle client


class TCPServer:
    """Serves DNS over TCP on an already bound, listening socket."""

    def __init__(
        self,
        sock: socket.socket,
        respond: Callable[[bytes, tuple[str, int], str], Any],
        querylog: Callable[[Any, int], None] | None,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self.sock = sock
        self.respond = respond
        self.querylog = querylog
        self.idle_timeout = idle_timeout
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, sock=self.sock, limit=1 << 17)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername") or ("", 0)
        client = (str(peer[0]), int(peer[1]))
        pending: set[asyncio.Task[None]] = set()
        closing = False
        try:
            while not closing:
                try:
                    header = await asyncio.wait_for(reader.readexactly(2), self.idle_timeout)
                    length = int.from_bytes(header, "big")
                    data = await asyncio.wait_for(reader.readexactly(length), self.idle_timeout)
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    break  # idle, closed by the client, or a truncated frame
                start = time.perf_counter_ns()
                try:
                    reply = self.respond(data, client, "tcp")
                except Exception:
                    log.exception("responder failed on a %d-octet TCP query from %s", len(data), client[0])
                    break
                if self.querylog is not None:  # before sending: see udp.py
                    self.querylog(reply.info, (time.perf_counter_ns() - start) // 1000)
                if reply.delay > 0:
                    late = asyncio.create_task(self._send_later(writer, reply.messages, reply.delay, reply.close))
                    pending.add(late)
                    late.add_done_callback(pending.discard)
                else:
                    _write(writer, reply.messages)
                    await writer.drain()  # back-pressure for long AXFR streams
                    closing = reply.close
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for late in pending:
                late.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)
            self._connections.discard(task)

    async def _send_later(
        self, writer: asyncio.StreamWriter, messages: list[bytes], delay: float, close: bool
    ) -> None:
        await asyncio.sleep(delay)
        if writer.is_closing():
            return
        _write(writer, messages)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        if close:
            writer.close()


def _write(writer: asyncio.StreamWriter, messages: list[bytes]) -> None:
    # RFC 1035 4.2.2: each message is preceded by its length as two octets.
    writer.write(b"".join(len(m).to_bytes(2, "big") + m for m in messages))
