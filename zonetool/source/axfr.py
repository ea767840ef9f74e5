"""A small AXFR client (RFC 5936) over TCP: what a running server actually serves, as a Zone.

Used by `zonetool diff --server`, `plan` and `push` to compare a zone file with the copy a server
holds. Only loopback or an address the user names is contacted; one connection, one transfer. With
a TSIG key the request is signed and every message of the answer verified (RFC 8945 5.3.1).
"""

from __future__ import annotations

import contextlib
import queue
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from zonetool.findings import Where
from zonetool.lookup import RCODE_NAMES
from zonetool.names import Name
from zonetool.rrtypes import RRType
from zonetool.tsig import ERROR_NAMES, Key, ReplyError, ReplyVerifier, sign_request
from zonetool.wire import WireError, make_query, parse_message
from zonetool.zone import SOA_CODE, Zone

AXFR = int(RRType.AXFR)


class AxfrError(Exception):
    """The transfer failed: refused, cut short, malformed, or the server is not there."""

    def __init__(self, message: str, tsig_error: str | None = None) -> None:
        super().__init__(message)
        self.tsig_error = tsig_error  # BADKEY, BADSIG, ...: the server's verdict on our key


def read_message(sock: socket.socket, cut: str = "in the middle of the transfer") -> bytes:
    """One DNS message off a TCP stream (RFC 7766 8: two octets of length, then the message).

    ConnectionError (an OSError) when the server closes first, `cut` saying when.
    """
    (length,) = struct.unpack("!H", _recv_exact(sock, 2, cut))
    return _recv_exact(sock, length, cut)


def _recv_exact(sock: socket.socket, n: int, cut: str) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"the server closed the connection {cut}")
        data += chunk
    return data


def _messages(sock: socket.socket) -> Iterator[bytes]:
    """The messages of the answer as they arrive, read off the socket by a thread of their own:
    a server does not wait for a slow reader (Knot's tcp-io-timeout is 500 ms, and checking and
    parsing 100,000 records takes seconds), so the socket is drained while the records are read."""
    arrived: queue.Queue[bytes | BaseException] = queue.Queue()

    def drain() -> None:
        try:
            while True:
                arrived.put(read_message(sock))
        except BaseException as exc:  # the end, a timeout, or our own shutdown: the reader says which
            arrived.put(exc)

    threading.Thread(target=drain, name="axfr-reader", daemon=True).start()
    while True:
        item = arrived.get()
        if isinstance(item, BaseException):
            raise item
        yield item


def _verify(verifier: ReplyVerifier, data: bytes, now: int, rcode: int, origin: Name) -> None:
    """A message of the answer checked against our key; the server's TSIG error by name."""
    try:
        verifier.check(data, now)
    except ReplyError as exc:
        key = verifier.key.name.to_text()
        if exc.error and rcode:  # the server's verdict on our request (RFC 8945 5.2)
            name = ERROR_NAMES.get(exc.error, f"TSIG error {exc.error}")
            raise AxfrError(f"the server refused the key {key} for the transfer of {origin}: {name} "
                            f"(rcode {RCODE_NAMES.get(rcode, str(rcode))})", name) from None
        if rcode:
            raise AxfrError(f"the server refused the transfer of {origin} "
                            f"({RCODE_NAMES.get(rcode, str(rcode))}; {exc})") from None
        raise AxfrError(f"the transfer of {origin} with key {key}: {exc}") from None


def fetch_zone(host: str, port: int, origin: Name, timeout: float = 5.0, key: Key | None = None,
               clock: Callable[[], float] = time.time) -> Zone:
    """Transfer `origin` from host:port; the zone ends with the second SOA (RFC 5936 2.2)."""
    qid = secrets.randbelow(65536)
    wire = make_query(origin, AXFR, qid, edns_size=None)
    verifier = None
    if key is not None:
        wire, mac = sign_request(wire, key, int(clock()))
        verifier = ReplyVerifier(key, mac)
    where = Where(f"axfr://{host}:{port}")
    zone = Zone(origin, file=where.file)
    soas = 0
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            try:
                sock.sendall(struct.pack("!H", len(wire)) + wire)
                messages = _messages(sock)
                while soas < 2:
                    data = next(messages)
                    try:
                        reply = parse_message(data)
                    except WireError as exc:
                        raise AxfrError(f"malformed reply: {exc}") from None
                    if verifier is not None:
                        _verify(verifier, data, int(clock()), reply.rcode, origin)
                    if reply.id != qid:
                        raise AxfrError("reply with a different message ID")  # RFC 5936 2.2.1
                    if reply.rcode != 0:
                        rcode = RCODE_NAMES.get(reply.rcode, str(reply.rcode))
                        if soas:  # RFC 5936 2.2: an error RCODE mid-stream ends the transfer; nothing is kept
                            raise AxfrError(f"the server ended the transfer of {origin} with {rcode} "
                                            f"after {len(zone)} records")
                        raise AxfrError(f"the server refused the transfer of {origin} ({rcode})")
                    if not reply.answer:
                        raise AxfrError("empty reply in the middle of the transfer")
                    for record in reply.answer:
                        if record.code == SOA_CODE and record.owner == origin:
                            soas += 1
                            if soas == 2:
                                break
                        elif soas == 0:
                            raise AxfrError("the transfer does not start with the zone's SOA")
                        zone.add(replace(record, where=where))
                if verifier is not None:
                    try:
                        verifier.finish()
                    except ReplyError as exc:
                        raise AxfrError(f"the transfer of {origin}: {exc}") from None
            finally:  # wakes the reader thread at once (a close alone does not)
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
    except TimeoutError:
        raise AxfrError(f"no complete answer within {timeout:g}s") from None
    except OSError as exc:
        raise AxfrError(f"cannot transfer from {host}:{port}: {exc.strerror or exc}") from None
    return zone
