"""A small AXFR client (RFC 5936) over TCP: what a running server actually serves, as a Zone.

Used by `zonetool diff --server` to compare a zone file with the copy a server holds.
Only loopback or an address the user names is contacted; one connection, one transfer.
"""

from __future__ import annotations

import secrets
import socket
import struct
from dataclasses import replace

from zonetool.findings import Where
from zonetool.lookup import RCODE_NAMES
from zonetool.names import Name
from zonetool.rrtypes import RRType
from zonetool.wire import WireError, make_query, parse_message
from zonetool.zone import SOA_CODE, Zone

AXFR = int(RRType.AXFR)


class AxfrError(Exception):
    """The transfer failed: refused, cut short, malformed, or the server is not there."""


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise AxfrError("the server closed the connection in the middle of the transfer")
        data += chunk
    return data


def fetch_zone(host: str, port: int, origin: Name, timeout: float = 5.0) -> Zone:
    """Transfer `origin` from host:port; the zone ends with the second SOA (RFC 5936 2.2)."""
    qid = secrets.randbelow(65536)
    wire = make_query(origin, AXFR, qid, edns_size=None)
    where = Where(f"axfr://{host}:{port}")
    zone = Zone(origin, file=where.file)
    soas = 0
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack("!H", len(wire)) + wire)
            while soas < 2:
                (length,) = struct.unpack("!H", _recv_exact(sock, 2))
                try:
                    reply = parse_message(_recv_exact(sock, length))
                except WireError as exc:
                    raise AxfrError(f"malformed reply: {exc}") from None
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
    except TimeoutError:
        raise AxfrError(f"no complete answer within {timeout:g}s") from None
    except OSError as exc:
        raise AxfrError(f"cannot transfer from {host}:{port}: {exc.strerror or exc}") from None
    return zone
