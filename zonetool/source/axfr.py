"""A small AXFR client (RFC 5936) over TCP: what a running server actually serves, as a Zone.

Used by `zonetool diff --server` to compare a zone file with the copy a server holds.
Only loopback or an address the user names is contacted; one connection, one transfer.
"""

from __future__ import annotations

import socket
import struct

import dnslib

from zonetool.findings import Where
from zonetool.names import Name
from zonetool.records import RdataError, from_wire
from zonetool.zone import SOA_CODE, Record, Zone

AXFR = 252


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


def _name(label: dnslib.DNSLabel) -> Name:
    return Name(tuple(bytes(part) for part in label.label))


def _record(rr: dnslib.RR, where: Where) -> Record:
    buf = dnslib.DNSBuffer()
    rr.rdata.pack(buf)
    try:
        rdata = from_wire(rr.rtype, bytes(buf.data))
    except RdataError as exc:
        raise AxfrError(f"{_name(rr.rname)} type {rr.rtype}: {exc}") from None
    return Record(_name(rr.rname), rr.ttl, rdata, where)


def fetch_zone(host: str, port: int, origin: Name, timeout: float = 5.0) -> Zone:
    """Transfer `origin` from host:port; the zone ends with the second SOA (RFC 5936 2.2)."""
    query = dnslib.DNSRecord.question(origin.to_text(), "AXFR")
    wire = query.pack()
    where = Where(f"axfr://{host}:{port}")
    zone = Zone(origin, file=where.file)
    soas = 0
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack("!H", len(wire)) + wire)
            while soas < 2:
                (length,) = struct.unpack("!H", _recv_exact(sock, 2))
                try:
                    reply = dnslib.DNSRecord.parse(_recv_exact(sock, length))
                except dnslib.DNSError as exc:
                    raise AxfrError(f"malformed reply: {exc}") from None
                if reply.header.id != query.header.id:
                    raise AxfrError("reply with a different message ID")  # RFC 5936 2.2.1
                if reply.header.rcode != 0:
                    rcode = dnslib.RCODE.get(reply.header.rcode)
                    raise AxfrError(f"the server refused the transfer of {origin} ({rcode})")
                if not reply.rr:
                    raise AxfrError("empty reply in the middle of the transfer")
                for rr in reply.rr:
                    if rr.rtype == SOA_CODE and _name(rr.rname) == origin:
                        soas += 1
                        if soas == 2:
                            break
                    elif soas == 0:
                        raise AxfrError("the transfer does not start with the zone's SOA")
                    zone.add(_record(rr, where))
    except TimeoutError:
        raise AxfrError(f"no complete answer within {timeout:g}s") from None
    except OSError as exc:
        raise AxfrError(f"cannot transfer from {host}:{port}: {exc.strerror or exc}") from None
    return zone
