"""Sizes checked where they are born (issue 16, item 9): RDATA over 65,535 octets is a compile
error in YAML and BIND files; an RRset too big for any message is a rule error, and a server
that serves it anyway answers cleanly (TC over UDP, SERVFAIL over TCP), never an exception."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import pytest
from conftest import zonetool_exe

from zonetool import wire
from zonetool.lookup import Answer
from zonetool.names import Name
from zonetool.rrtypes import TXT, parse_rdata
from zonetool.server.responder import Responder
from zonetool.testing import DNSTestServer, ZoneFindingsWarning
from zonetool.zone import Record, Zone

# the TXT of 65,280 characters: 256 character-strings of 255, 65,536 octets of RDATA
LONG_TXT = "a" * 65_280
SOA = "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 host 1 2 3 4 5\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([zonetool_exe(), *args], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc


def test_yaml_rdata_over_65535_octets_is_a_compile_error(tmp_path: Path) -> None:
    zone = tmp_path / "z.yaml"
    zone.write_text("origin: example.com\nnameservers: [ns1.example.net., ns2.example.net.]\nrecords:\n"
                    f'  big:\n    TXT: "{LONG_TXT}"\n  fits:\n    TXT: "{LONG_TXT[:65_000]}"\n')
    proc = run("validate", str(zone))
    assert proc.returncode == 1
    assert re.search(rf"^{re.escape(str(zone))}:5:10: error bad-rdata: TXT: the record data is 65,536 octets; "
                     r"RDLENGTH allows at most 65,535", proc.stdout, re.M), proc.stdout
    assert "1 error" in proc.stdout  # the 65,000-character one fits
    out = tmp_path / "z.zone"
    assert run("export", str(zone), "-o", str(out)).returncode == 1 and not out.exists()


def test_bind_rdata_over_65535_octets_is_a_syntax_error(tmp_path: Path) -> None:
    zone = tmp_path / "example.com.zone"
    zone.write_text(SOA + "big IN TXT " + " ".join([f'"{"a" * 255}"'] * 256) + "\n")
    for command in ("validate", "import"):
        proc = run(command, str(zone))
        assert proc.returncode == 1
        assert f"{zone}:6:12: " in proc.stdout + proc.stderr
        assert "the record data is 65,536 octets" in proc.stdout + proc.stderr


def _big_zone() -> Zone:
    """A zone built without a compiler: one record over RDLENGTH's limit, one RRset over a
    TCP message, and a small name beside them."""
    origin = Name.from_text("big.test.")
    zone = Zone(origin)
    for text in ("@ 300 SOA ns hostmaster 1 3600 900 604800 60", "@ 300 NS ns", "ns 300 A 192.0.2.1"):
        owner, ttl, rtype, rdata = text.split(None, 3)
        zone.add(Record(Name.from_text(owner, origin), int(ttl), parse_rdata(rtype, rdata, origin)))
    zone.add(Record(Name.from_text("huge.big.test."), 300, TXT((b"a" * 255,) * 257)))  # 65,792 octets
    many = Name.from_text("many.big.test.")
    for i in range(280):
        zone.add(Record(many, 300, TXT((f"{i:05d}".encode() + b"x" * 245,))))
    return zone


@pytest.mark.parametrize("name", ["huge.big.test.", "many.big.test."])
def test_responder_answers_what_cannot_be_packed_cleanly(name: str) -> None:
    responder = Responder([_big_zone()])
    query = dns.message.make_query(name, "TXT", use_edns=0, payload=1232)
    udp = dns.message.from_wire(responder.respond(query.to_wire(), ("127.0.0.1", 5000), "udp").messages[0])
    assert udp.flags & dns.flags.TC and udp.rcode() == dns.rcode.NOERROR and not udp.answer
    tcp = dns.message.from_wire(responder.respond(query.to_wire(), ("127.0.0.1", 5000), "tcp").messages[0])
    assert tcp.rcode() == dns.rcode.SERVFAIL and not tcp.answer and not tcp.flags & dns.flags.TC
    assert str(tcp.question[0].name) == name
    small = dns.message.make_query("ns.big.test.", "A")
    ok = dns.message.from_wire(responder.respond(small.to_wire(), ("127.0.0.1", 5000), "tcp").messages[0])
    assert ok.rcode() == dns.rcode.NOERROR and [str(r) for r in ok.answer[0]] == ["192.0.2.1"]


def test_packer_refuses_one_record_and_keeps_what_came_before() -> None:
    zone = _big_zone()
    rrset = zone.rrset(Name.from_text("huge.big.test."), 16)
    ns = zone.rrset(Name.from_text("big.test."), 2)
    assert rrset is not None and ns is not None
    query_wire = dns.message.make_query("big.test.", "NS").to_wire()
    query = wire.parse_query(query_wire)
    # an oversized record in the additional section: the answer goes out without it
    body = wire.pack_answer(query_wire, query, Answer(0, True, answer=[ns], additional=[rrset]), 65535)
    msg = dns.message.from_wire(body)
    assert msg.rcode() == dns.rcode.NOERROR and [str(r) for r in msg.answer[0]] == ["ns.big.test."]
    assert not msg.additional


YAML_BIG_RRSET = {
    "origin": "big.test",
    "nameservers": ["ns1"],
    "records": {"ns1": {"A": "192.0.2.53"}, "many": {"TXT": [f"{i:05d}" + "x" * 245 for i in range(280)]}},
}


def test_served_zone_with_an_rrset_too_big_answers_tc_then_servfail(dig: str) -> None:
    """The lead's serve policy serves zones with rule findings: the name that cannot be sent gets
    TC over UDP and SERVFAIL over TCP from a real server asked by dig; the rest is answered."""
    with DNSTestServer() as server:
        with pytest.warns(ZoneFindingsWarning, match="rrset-too-big"):
            server.load(YAML_BIG_RRSET)
        base = [dig, "@127.0.0.1", "-p", str(server.port), "+time=5", "+tries=1"]
        udp = subprocess.run([*base, "+ignore", "TXT", "many.big.test"], capture_output=True, text=True, timeout=60)
        assert re.search(r";; flags: [a-z ]*\btc\b", udp.stdout), udp.stdout
        tcp = subprocess.run([*base, "+tcp", "TXT", "many.big.test"], capture_output=True, text=True, timeout=60)
        assert "status: SERVFAIL" in tcp.stdout, tcp.stdout
        ok = subprocess.run([*base, "+tcp", "+short", "A", "ns1.big.test"], capture_output=True, text=True, timeout=60)
        assert ok.stdout.strip() == "192.0.2.53"
