"""The TCP transport (RFC 7766): 2-octet length framing, pipelined queries, bounded resources.

An asyncio Protocol rather than streams: `data_received` cuts frames out of one buffer and
answers each at once, with no task or timeout object per query (streams with `wait_for`
cost ~70 us of CPU per query; this costs a fraction). A delayed reply is sent by a timer, so
later queries on the same connection are not held up (RFC 7766 6.2.1.1 allows replies out of
order).

Hostile clients (issue 16) meet the limits of `TCPLimits`, each a flag of `zonetool serve`:
- replies a client does not read: once `max_queued` octets wait, its queries wait too (reading
  stops); after `drain_timeout` seconds without the client reading, the connection is closed;
- a zone transfer is a lazy sequence of messages, packed and written one message per turn of the
  event loop while the client drains it, so one AXFR neither fills memory nor stalls the others;
- a message must arrive whole within `read_timeout` of its first octet, and a connection with
  nothing to say is closed after `idle_timeout` (RFC 7766 6.2.3);
- at most `max_connections` in total and `max_per_client` per address; when full, the
  connection idle longest is closed to make room (RFC 7766 6.2.2), else the new one is refused;
- out of descriptors, accepting pauses for a moment instead of spinning.
Each kind of trouble is said once per interval through `Trouble`, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import resource
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from zonetool.rrtypes import RRType
from zonetool.server.trouble import Trouble

IDLE_TIMEOUT = 10.0  # seconds; RFC 7766 6.2.3 suggests a few seconds for an idle client
MAX_MESSAGE = 65535  # RFC 1035 4.2.2: the length prefix is 16 bits
ACCEPT_BATCH = 64  # connections taken per readiness event, so one burst cannot hog the loop
ACCEPT_PAUSE = 0.1  # seconds without accepting after the descriptors ran out
RESERVE_FDS = 32  # descriptors kept for everything but connections (zone files, logs, the API)
_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
_REFUSED = 5
_TRANSFERS = frozenset((RRType.AXFR.name, RRType.IXFR.name))  # query-log names of the transfer types


@dataclass(frozen=True, slots=True)
class TCPLimits:
    """What TCP clients may hold, per server process; README "Limits and security defaults"."""

    max_connections: int = 512  # in total (also capped by the descriptor limit)
    max_per_client: int = 64  # per client address; RFC 7766 6.2.2: looser than clients' own limits
    idle_timeout: float = IDLE_TIMEOUT  # seconds with nothing to read or send
    read_timeout: float = 5.0  # seconds for one whole message once its first octet came
    max_queued: int = 256 * 1024  # reply octets waiting for one client before its queries wait
    drain_timeout: float = 10.0  # seconds a client may leave its replies unread before it is closed


def descriptor_budget(reserve: int = RESERVE_FDS) -> int:
    """How many more descriptors this process may open for connections, keeping `reserve`."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    try:
        used = len(os.listdir("/proc/self/fd"))
    except OSError:
        used = 16
    return max(soft - used - reserve, 1)


def raise_descriptor_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (what a server may use without privileges)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class TCPServer:
    """Serves DNS over TCP on an already bound, listening socket."""

    def __init__(
        self,
        sock: socket.socket,
        respond: Callable[[bytes, tuple[str, int], str], Any],
        querylog: Callable[[Any, int], None] | None,
        limits: TCPLimits | None = None,
        trouble: Trouble | None = None,
        events: Callable[[str], None] | None = None,
    ) -> None:
        self.sock = sock
        self.respond = respond
        self.querylog = querylog
        self.limits = limits or TCPLimits()
        self.trouble = trouble if trouble is not None else Trouble()
        self.events = events
        self.budget = self.limits.max_connections  # lowered to what the descriptors allow at start
        self.connections: set[_Connection] = set()
        self.by_client: dict[str, set[_Connection]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._accepting = False
        self._resume: asyncio.TimerHandle | None = None
        self._attaching: set[asyncio.Task[None]] = set()

    @property
    def idle_timeout(self) -> float:
        return self.limits.idle_timeout

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.sock.setblocking(False)
        room = descriptor_budget()
        if room < self.budget:
            self.budget = room
            if self.events is not None:
                self.events(f"TCP: at most {room} connections, not {self.limits.max_connections}: "
                            f"the descriptor limit allows no more (raise it with `ulimit -n`)")
        self._start_accepting()

    async def stop(self) -> None:
        self._stop_accepting()
        for task in list(self._attaching):
            task.cancel()
        if self._attaching:
            await asyncio.gather(*self._attaching, return_exceptions=True)
        for conn in list(self.connections):
            conn.abort()
        await asyncio.sleep(0)  # let connection_lost callbacks run

    # -- accepting -------------------------------------------------------------------
    def _start_accepting(self) -> None:
        self._resume = None
        if self._loop is not None and not self._accepting:
            self._loop.add_reader(self.sock.fileno(), self._accept)
            self._accepting = True

    def _stop_accepting(self) -> None:
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        if self._loop is not None and self._accepting:
            self._loop.remove_reader(self.sock.fileno())
            self._accepting = False

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                sock, peer = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                self._accept_failed(exc)
                return
            self._admit(sock, peer)

    def _accept_failed(self, exc: OSError) -> None:
        """Out of descriptors (or another accept error): make room, pause, never spin or trace."""
        open_now = len(self.connections)
        if exc.errno in _OUT_OF_RESOURCES and open_now > 1 and self.budget >= open_now:
            self.budget = open_now - 1  # what the descriptors really allow; admission evicts from now on
        closed = self._evict(self.connections)
        self.trouble.report(
            "tcp-accept-failed",
            f"{exc.strerror or exc} with {open_now} connections open; "
            f"{'closed the one idle longest, ' if closed else ''}accepting again in {ACCEPT_PAUSE:g}s, "
            f"at most {self.budget} connections from now on",
        )
        self._stop_accepting()
        assert self._loop is not None
        self._resume = self._loop.call_later(ACCEPT_PAUSE, self._start_accepting)

    def _admit(self, sock: socket.socket, peer: Any) -> None:
        client = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else ("", 0)
        limits = self.limits
        mine = self.by_client.get(client[0])
        if mine is not None and len(mine) >= limits.max_per_client:
            if not self._evict(mine):
                self.trouble.report("tcp-client-limit", f"{client[0]} has {len(mine)} connections, all busy "
                                    f"(--tcp-max-per-client {limits.max_per_client}); refused a new one")
                sock.close()
                return
            self.trouble.report("tcp-client-limit", f"{client[0]} reached {limits.max_per_client} connections "
                                "(--tcp-max-per-client); closed its one idle longest")
        elif len(self.connections) >= self.budget:
            if not self._evict(self.connections):
                self.trouble.report("tcp-limit", f"{len(self.connections)} connections, all busy "
                                    f"(--tcp-max-connections {self.budget}); refused {client[0]}")
                sock.close()
                return
            self.trouble.report("tcp-limit", f"{self.budget} connections (--tcp-max-connections); "
                                "closed the one idle longest")
        conn = _Connection(self, client)
        self._register(conn)
        assert self._loop is not None
        task = self._loop.create_task(self._attach(conn, sock))
        self._attaching.add(task)
        task.add_done_callback(self._attaching.discard)

    async def _attach(self, conn: _Connection, sock: socket.socket) -> None:
        assert self._loop is not None
        try:
            await self._loop.connect_accepted_socket(lambda: conn, sock=sock)
        except asyncio.CancelledError:
            sock.close()
            self._forget(conn)
            raise
        except OSError as exc:  # the client left before the transport was made
            sock.close()
            self._forget(conn)
            self.trouble.report("tcp-accept-failed", f"{conn.client[0]}: {exc.strerror or exc}")

    def _register(self, conn: _Connection) -> None:
        self.connections.add(conn)
        self.by_client.setdefault(conn.client[0], set()).add(conn)

    def _forget(self, conn: _Connection) -> None:
        self.connections.discard(conn)
        mine = self.by_client.get(conn.client[0])
        if mine is not None:
            mine.discard(conn)
            if not mine:
                del self.by_client[conn.client[0]]

    def _evict(self, pool: Iterable[_Connection]) -> bool:
        """Close the connection idle longest in `pool` (else the one slowest to send its message)."""
        idle = [c for c in pool if c.idle()]
        if not idle:
            idle = [c for c in pool if c.reading_partial()]
        if not idle:
            return False
        victim = min(idle, key=lambda c: c.last_activity)
        self._forget(victim)  # now: the count must drop before the next admission
        victim.close()
        return True


class _Connection(asyncio.Protocol):
    """One client: a frame buffer, one timer for every deadline, and replies waiting their turn."""

    def __init__(self, server: TCPServer, client: tuple[str, int]) -> None:
        self.server = server
        self.limits = server.limits
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.client = client
        self.buffer = bytearray()
        self.frame_started = 0.0  # when the first octet of the message being read came
        self.last_activity = self.loop.time()
        self.timer: asyncio.TimerHandle | None = None
        self.late: set[asyncio.TimerHandle] = set()
        self.queue: deque[tuple[Iterable[bytes], bool]] = deque()  # replies waiting behind a transfer
        self.stream: tuple[Iterator[bytes], bool, Iterable[bytes]] | None = None  # the reply being sent
        self.pump: asyncio.Handle | None = None
        self.write_paused = False
        self.paused_at = 0.0
        self.reading = True
        self.eof = False  # the client has sent all it will send (a half-close)
        self.closing = False

    # -- asyncio callbacks -----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.closing:  # evicted before the transport existed
            transport.abort()
            return
        high = max(self.limits.max_queued, 0)
        transport.set_write_buffer_limits(high=high, low=high // 4)
        self.last_activity = self.loop.time()
        self._arm(self.last_activity + self.limits.idle_timeout)

    def data_received(self, data: bytes) -> None:
        now = self.loop.time()
        if not self.buffer:
            self.frame_started = now
        self.last_activity = now
        self.buffer += data
        self._process()

    def eof_received(self) -> bool:
        """A half-close: answer what came (a transfer included), then close (RFC 7766 6.2.4)."""
        self.eof = True
        self._finish_if_done()
        return True  # keep the transport open for the replies still to go

    def pause_writing(self) -> None:
        # back-pressure: no new queries until the client reads what is queued for it
        self.write_paused = True
        self.paused_at = self.loop.time()
        self._update_reading()
        self._arm(self.paused_at + self.limits.drain_timeout)

    def resume_writing(self) -> None:
        self.write_paused = False
        self.last_activity = self.loop.time()
        self._schedule_pump()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        if self.timer is not None:
            self.timer.cancel()
        if self.pump is not None:
            self.pump.cancel()
        for handle in self.late:
            handle.cancel()
        self.late.clear()
        self.queue.clear()
        self.stream = None
        self.server._forget(self)

    # -- reading -----------------------------------------------------------------------
    def _busy(self) -> bool:
        """Still sending an earlier reply stream: later queries wait, in order, in the buffer."""
        return self.stream is not None or bool(self.queue)

    def _process(self) -> None:
        buffer = self.buffer
        cut = False
        while len(buffer) >= 2 and not self.closing and not self.write_paused and not self._busy():
            length = (buffer[0] << 8) | buffer[1]
            if len(buffer) < 2 + length:
                break
            message = bytes(buffer[2 : 2 + length])
            del buffer[: 2 + length]
            cut = True
            self._answer(message)
        if cut and buffer:
            self.frame_started = self.loop.time()  # the rest is the start of the next message
        self._update_reading()
        self._finish_if_done()
        if buffer and self.reading:
            self._arm(self.frame_started + self.limits.read_timeout)

    def _finish_if_done(self) -> None:
        """After the client's EOF: close once every reply it can still get has been handed over."""
        if not self.eof or self.closing or self._busy() or self.late:
            return
        buffer = self.buffer
        if len(buffer) >= 2 and len(buffer) >= 2 + ((buffer[0] << 8) | buffer[1]):
            return  # whole queries still wait (for the client to read): answered when it does
        self.close()  # what is left is part of a message that can never be finished

    def _update_reading(self) -> None:
        """Read only while replies flow: a client that does not read cannot make us queue more."""
        transport = self.transport
        if transport is None or self.closing or transport.is_closing():
            return
        want = not self.write_paused and not self._busy()
        if want == self.reading:
            return
        self.reading = want
        if want:
            transport.resume_reading()
            if self.buffer:
                self.frame_started = self.loop.time()  # the wait was ours, not the client's
                self._arm(self.frame_started + self.limits.read_timeout)
        else:
            transport.pause_reading()

    # -- answering ---------------------------------------------------------------------
    def _answer(self, message: bytes) -> None:
        server = self.server
        start = time.perf_counter_ns()
        try:
            reply = server.respond(message, self.client, "tcp")
        except Exception as exc:  # a responder bug: say it once per interval, drop this client
            server.trouble.report("tcp-responder-error", f"{len(message)}-octet query from {self.client[0]}: {exc!r}")
            self.abort()
            return
        if server.querylog is not None:  # before sending: see udp.py
            server.querylog(reply.info, (time.perf_counter_ns() - start) // 1000)
        messages = reply.messages
        if type(messages) is list and messages and len(messages[0]) > 3 and messages[0][3] & 0xF == _REFUSED:
            info = reply.info
            if info.qtype in _TRANSFERS:  # RFC 5936 4.2: only --allow-transfer clients may
                server.trouble.report("transfer-refused", f"{info.qtype} {info.qname} for {self.client[0]} "
                                      "(not in --allow-transfer)")
        if reply.delay > 0:
            handle: asyncio.TimerHandle | None = None

            def send_late() -> None:
                self.late.discard(handle)  # type: ignore[arg-type]
                self._deliver(messages, reply.close)
                self._finish_if_done()

            handle = self.loop.call_later(reply.delay, send_late)
            self.late.add(handle)
        else:
            self._deliver(messages, reply.close)

    def _deliver(self, messages: Iterable[bytes], close: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if type(messages) is list and not self._busy():
            self._write(messages)
            if close:
                self.close()
            return
        self.queue.append((messages, close))  # a transfer, or a late reply behind one
        self._update_reading()
        self._schedule_pump()

    def _write(self, messages: Iterable[bytes]) -> None:
        assert self.transport is not None
        parts = []
        for m in messages:
            if len(m) > MAX_MESSAGE:  # a packer bug; the length prefix cannot say it
                self.server.trouble.report("tcp-reply-too-big", f"{len(m)} octets for {self.client[0]}; not sent")
                continue
            # RFC 1035 4.2.2: each message is preceded by its length as two octets.
            parts.append(len(m).to_bytes(2, "big"))
            parts.append(m)
        if parts:
            self.transport.write(b"".join(parts))

    def _schedule_pump(self) -> None:
        if self.pump is None and not self.write_paused and not self.closing:
            self.pump = self.loop.call_soon(self._send_next)

    def _send_next(self) -> None:
        """Send one message of the current stream, then give the loop to the others (issue 16)."""
        self.pump = None
        transport = self.transport
        if transport is None or self.closing or transport.is_closing() or self.write_paused:
            return  # resume_writing calls again
        if self.stream is None:
            if not self.queue:
                self._process()  # the stream is done: the queries that waited behind it
                return
            source, close = self.queue.popleft()
            self.stream = (iter(source), close, source)
        it, close, source = self.stream
        try:
            message = next(it, None)  # a transfer packs its next message here
        except Exception as exc:  # a packer bug: no traceback, no half stream left open
            self.server.trouble.report("transfer-failed", f"for {self.client[0]}: {exc!r}; connection closed")
            self.abort()
            return
        if message is not None:
            self._write((message,))
            self._schedule_pump()
            return
        self.stream = None
        self.last_activity = self.loop.time()
        problem = getattr(source, "problem", None)
        if problem:
            self.server.trouble.report("transfer-failed", f"for {self.client[0]}: {problem}")
        if close:
            self.close()
            return
        self._schedule_pump()

    # -- deadlines ---------------------------------------------------------------------
    def idle(self) -> bool:
        """Nothing to read, nothing to send: the first to go when the server is full (RFC 7766 6.2.2)."""
        transport = self.transport
        return (
            transport is not None
            and not self.closing
            and not transport.is_closing()
            and not self.buffer
            and not self.late
            and not self._busy()
            and transport.get_write_buffer_size() == 0
        )

    def reading_partial(self) -> bool:
        """Half a message and nothing to send: the next to go when no connection is idle."""
        transport = self.transport
        return (transport is not None and not self.closing and bool(self.buffer) and self.reading
                and not self._busy() and not self.late and transport.get_write_buffer_size() == 0)

    def _arm(self, at: float) -> None:
        """Make sure the timer fires by `at`."""
        timer = self.timer
        if timer is not None:
            if timer.when() <= at:
                return
            timer.cancel()
        self.timer = self.loop.call_at(at, self._tick)

    def _tick(self) -> None:
        self.timer = None
        transport = self.transport
        if transport is None or self.closing or transport.is_closing():
            return
        limits, now = self.limits, self.loop.time()
        if self.write_paused:
            if now - self.paused_at >= limits.drain_timeout:
                self.server.trouble.report(
                    "tcp-drain-timeout",
                    f"{self.client[0]} read none of its {transport.get_write_buffer_size()} queued octets "
                    f"for {limits.drain_timeout:g}s (--tcp-drain-timeout); closed")
                self.abort()  # close() would wait for the very flush that is not happening
                return
            self._arm(self.paused_at + limits.drain_timeout)
            return
        if self.buffer and self.reading:
            if now - self.frame_started >= limits.read_timeout:
                self.server.trouble.report(
                    "tcp-read-timeout",
                    f"{self.client[0]} sent {len(self.buffer)} octets of a message in {limits.read_timeout:g}s "
                    "(--tcp-read-timeout); closed")
                self.close()
                return
            self._arm(self.frame_started + limits.read_timeout)
            return
        if self.idle():
            if now - self.last_activity >= limits.idle_timeout:
                self.close()  # RFC 7766 6.2.3: an idle client goes quietly
                return
            self._arm(self.last_activity + limits.idle_timeout)
            return
        self._arm(now + min(limits.idle_timeout, 1.0))  # busy (a stream, a late reply, a flush): look again

    def close(self) -> None:
        """Close after the queued replies are flushed (an evicted or finished connection)."""
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.abort()
