"""The UDP transport: one thread in a tight receive/respond/send loop.

Issue 6 measured a plain Python loop answering from precomputed bytes at ~87k queries/s
and dnslib's thread-per-request server at 3.4k, so there is no thread per request and no
event loop between the socket and the responder. On Linux the loop takes every queued
datagram with one recvmmsg and answers them with one sendmmsg (`mmsg.py`); elsewhere it is
recvfrom/sendto per datagram. Replies that must wait (`Reply.delay`) are handed to a
scheduler so one slow answer never holds up the others.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from zonetool.server.mmsg import SLOT, Batch, open_batch

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
        table: Callable[[], dict[bytes, bytes] | None] | None = None,
        batched: bool = True,
        limit: Callable[[bytes, str], bytes | None] | None = None,
    ) -> None:
        self.sock = sock
        self.respond = respond
        # Response-rate limiting (rrl.ResponseRateLimit): the octets to send, or None to drop. When on,
        # every answer takes the full path below, so the fast paths stay exactly as fast when it is off.
        self.limit = limit
        # Responder.udp_fast_paths(): bytes for a cache hit, no Reply object; only when nothing is logged,
        # or (batched loop) when the log keeps entries in memory only and takes hits raw (QueryLog.remember_raw).
        self.tap = querylog if batched and limit is None and hasattr(querylog, "remember_raw") else None
        fast = limit is None and (querylog is None or self.tap is not None)
        self.cached = cached if fast else None
        self.table = table if fast else None
        self.querylog = querylog
        self.schedule = schedule
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.batch = open_batch(sock) if batched else None  # None: the portable loop

    def start(self) -> None:
        run = self._run if self.batch is None else self._run_batched
        self._thread = threading.Thread(target=run, name="zonetool-udp", daemon=True)
        self._thread.start()

    def _send_later(self, messages: list[bytes], addr: Any) -> Callable[[], None]:
        def send() -> None:
            for message in messages:
                with contextlib.suppress(OSError):
                    self.sock.sendto(message, addr)

        return send

    def _full_answer(self, data: bytes, addr: Any) -> list[bytes]:
        """The responder's reply to one datagram, logged; the messages to send now (none when the
        query is dropped or the reply waits on the scheduler, which sends it later)."""
        start = time.perf_counter_ns()
        try:
            reply = self.respond(data, addr[:2], "udp")
        except Exception:  # the responder must never take the server down
            log.exception("responder failed on a %d-octet UDP query from %s", len(data), addr[0])
            return []
        messages, info = reply.messages, None
        if self.limit is not None and messages:
            kept = self.limit(messages[0], addr[0])
            if kept is not messages[0]:  # over the rate: dropped, or slipped as an empty TC=1 answer
                info = reply.info
                info.fault = "rrl-drop" if kept is None else "rrl-slip"
                messages = [] if kept is None else [kept]
        # Logged before sending, so a test that got its answer always finds its question in the log.
        if self.querylog is not None:
            self.querylog(info or reply.info, (time.perf_counter_ns() - start) // 1000)
        if reply.delay > 0:
            self.schedule(reply.delay, self._send_later(messages, addr))
            return []
        return messages

    def _run(self) -> None:
        recvfrom, sendto = self.sock.recvfrom, self.sock.sendto
        cached = self.cached if self.querylog is None else None
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
            for message in self._full_answer(data, addr):
                try:
                    sendto(message, addr)
                except OSError as exc:  # a full buffer or a vanished client: drop, as a server does
                    log.debug("sendto %s failed: %s", addr, exc)

    def _run_batched(self) -> None:
        """`_run` over a `Batch`: every queued datagram in with one call, every immediate reply out
        with one more. The exact-octets table is fetched once per batch (a swap or a fault lands
        between batches); a hit copies the query's ID and the stored octets straight into the
        reply slot."""
        batch = self.batch
        assert batch is not None
        recv, rbuf, sbuf, lens, slens = batch.recv, batch.rbuf, batch.sbuf, batch.lens, batch.slens
        lstride, len_at, table_now, tap = batch.lstride, batch.len_at, self.table, self.tap
        empty: dict[bytes, bytes] = {}
        while True:
            n = recv()
            if self._stopping:
                return
            # n < 0: EINTR, or an ICMP error for an earlier reply reported here: go on, as `_run`
            table = (table_now() if table_now is not None else None) or empty
            cached = self.cached
            # memory-only log: hits go in raw, three flat items each (slot, query, answer; no tuple,
            # nothing for the GC to walk), decoded when read; a stream or a listener: the full path
            hits: list[int | bytes] | None = None
            push = None
            started = 0
            if tap is not None:
                if tap.raw_ok:
                    hits, started = [], time.perf_counter_ns()
                    push = hits.append
                else:
                    table, cached = empty, None
            count = 0
            for i in range(n):
                at = i * SLOT
                end = at + lens[i * lstride + len_at]
                tail = bytes(rbuf[at + 2 : end])
                hit = table.get(tail)
                if hit is not None:
                    if push is not None:
                        push(i)
                        push(tail)
                        push(hit)
                    out = count * SLOT
                    sbuf[out : out + 2] = rbuf[at : at + 2]
                    sbuf[out + 2 : out + 2 + len(hit)] = hit
                    slens[2 * count + 1] = len(hit) + 2
                else:
                    data = bytes(rbuf[at:end])
                    reply = cached(data) if cached is not None else None
                    if reply is None:
                        addr = batch.peer(i)
                        messages = self._full_answer(data, addr)
                        if len(messages) != 1:  # none (dropped, delayed) or several: not for the batch
                            self._send_later(messages, addr)()
                            continue
                        reply = messages[0]
                    elif push is not None:
                        push(i)
                        push(data[2:])
                        push(reply[2:])
                    out = count * SLOT
                    sbuf[out : out + len(reply)] = reply
                    slens[2 * count + 1] = len(reply)
                if count != i:
                    batch.aim(count, i)
                count += 1
            if hits:  # logged before sending, as `_full_answer` does
                assert tap is not None
                micros = (time.perf_counter_ns() - started) * 3 // 1000 // len(hits)
                tap.remember_raw(hits, micros, batch.peers(n), batch.peer_in)
            if count:
                self._flush(batch, count, count != n)

    def _flush(self, batch: Batch, count: int, skewed: bool) -> None:
        sent = 0
        while sent < count:
            done = batch.send_from(sent, count - sent)
            if done <= 0:  # a full buffer or a vanished client: drop that reply, as a server does
                log.debug("sendmmsg failed: %s", os.strerror(ctypes.get_errno()))
                done = 1
            sent += done
        if skewed:  # reply slots were re-aimed at other queries' addresses: put them back
            for j in range(count):
                batch.aim(j, j)

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
