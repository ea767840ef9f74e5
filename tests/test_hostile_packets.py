"""Packets a server must survive (issue 16): unsupported opcodes, malformed queries, counted as trouble.

The answers are checked by dnspython's strict parser (an independent reader) and, for the opcodes,
against the octets NSD 4.6 sends for the same packet.
"""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import dns.exception
import dns.message
import dns.opcode
import dns.rcode
import dns.update
import pytest
from test_responder import CLIENT, EXAMPLE_COM, make_zone, running_nsd

from zonetool.server.responder import Responder
from zonetool.server.trouble import Trouble


def _update() -> bytes:
    upd = dns.update.UpdateMessage("example.com")
    upd.add("www", 300, "A", "192.0.2.9")
    return upd.to_wire()


def _with_opcode(opcode: int, edns: bool, qtype: str = "MX") -> bytes:
    query = dns.message.make_query("example.com", qtype, use_edns=0 if edns else False)
    query.set_opcode(opcode)
    return query.to_wire()


def _garbage(opcode: int) -> bytes:
    """A header with lying counts and nothing readable after it."""
    return struct.pack("!HHHHHH", 7, opcode << 11 | 0x0100, 1, 3, 4, 5) + b"\xff" * 10


# IQUERY, STATUS, UPDATE, unassigned ones; NOTIFY is left out: NSD refuses a NOTIFY it did not ask for.
OPCODE_CASES = {
    "update": _update(),
    "update-with-a-zone-of-type-A": _with_opcode(5, False, "A"),  # dnspython rejects a non-SOA zone echoed
    "update-no-zone": struct.pack("!HHHHHH", 9, 5 << 11, 0, 0, 0, 0),
    "update-garbage": _garbage(5),
    **{f"opcode-{op}{'-edns' if edns else ''}": _with_opcode(op, edns) for op in (1, 2, 3, 5, 6, 15) for edns in
       (False, True)},
    "status-garbage": _garbage(2),
}


@pytest.fixture
def responder() -> Responder:
    return Responder([make_zone("example.com.", EXAMPLE_COM)])


@pytest.mark.parametrize("case", sorted(OPCODE_CASES))
def test_unsupported_opcodes_get_a_well_formed_notimp(responder: Responder, case: str) -> None:
    data = OPCODE_CASES[case]
    reply = responder.respond(data, CLIENT, "udp")
    assert len(reply.messages) == 1
    wire = reply.messages[0]
    msg = dns.message.from_wire(wire)  # strict: the sections must make sense for the opcode
    assert msg.id == struct.unpack("!H", data[:2])[0]
    assert msg.rcode() == dns.rcode.NOTIMP
    assert msg.opcode() == (data[2] >> 3) & 0xF
    assert wire[4:12] == b"\x00" * 8  # header only, as NSD: an UPDATE's "question" is its zone section
    assert reply.info.rcode == "NOTIMP"


def test_notify_gets_notimp_header_only(responder: Responder) -> None:
    data = _with_opcode(4, True, "SOA")
    msg = dns.message.from_wire(responder.respond(data, CLIENT, "udp").messages[0])
    assert msg.rcode() == dns.rcode.NOTIMP and msg.opcode() == dns.opcode.NOTIFY


def test_unsupported_opcodes_answered_as_nsd_does(responder: Responder) -> None:
    """The same octets as NSD 4.6 (its ID, flags, counts) for every case."""
    with running_nsd([make_zone("example.com.", EXAMPLE_COM)], Path(tempfile.mkdtemp())) as port:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            for case, data in sorted(OPCODE_CASES.items()):
                s.sendto(data, ("127.0.0.1", port))
                theirs, _ = s.recvfrom(65535)
                ours = responder.respond(data, CLIENT, "udp").messages[0]
                assert ours == theirs, case


def test_malformed_packets_are_counted_as_trouble_not_logged_each(responder: Responder) -> None:
    lines: list[str] = []
    trouble = Trouble(lines.append)
    responder.trouble = trouble
    good = dns.message.make_query("example.com", "MX").to_wire()
    bad = [
        b"\x00\x01\x00",  # shorter than a header: silence
        good[:2] + b"\x81\x00" + good[4:],  # QR set: a response, never answered
        good[:12] + b"\x03www\xc0\x0c\x00\x01\x00\x01",  # a compressed question name
        good[:-3],  # cut short
    ] * 500
    for data in bad:
        reply = responder.respond(data, ("192.0.2.7", 5300), "udp")
        for wire in reply.messages:
            assert dns.message.from_wire(wire).rcode() == dns.rcode.FORMERR
    assert trouble.count("malformed-packet") == 2000
    assert len(lines) == 1 and lines[0].startswith("malformed-packet: 192.0.2.7")
    responder.respond(_update(), ("192.0.2.7", 5300), "udp")
    assert trouble.count("unsupported-opcode") == 1
    assert "UPDATE" in lines[-1]
    # a good query is not trouble
    assert dns.message.from_wire(responder.respond(good, CLIENT, "udp").messages[0]).answer
    assert sum(trouble.totals().values()) == 2001


def test_dnspython_rejects_what_we_used_to_send() -> None:
    """Why the header-only form: an UPDATE reply echoing a non-SOA zone entry is malformed to dnspython."""
    bad = bytearray(_with_opcode(5, False, "A"))
    bad[2] |= 0x80
    with pytest.raises(dns.exception.FormError):
        dns.message.from_wire(bytes(bad))


def test_a_stop_says_every_count_held_back() -> None:
    lines: list[str] = []
    trouble = Trouble(lines.append, interval=60)
    for _ in range(5):
        trouble.report("malformed-packet", "192.0.2.7:5300 udp: cut short")
    trouble.flush()
    assert lines == ["malformed-packet: 192.0.2.7:5300 udp: cut short"]  # the interval has not passed
    trouble.flush(everything=True)
    assert lines[1] == "malformed-packet: 4 more in the last 60s (last: 192.0.2.7:5300 udp: cut short)"
