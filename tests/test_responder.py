"""The byte-level responder, checked by an independent implementation (dnspython), without sockets."""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from conftest import names_to_ask, require_tool

from zonetool.names import Name
from zonetool.rrtypes import parse_rdata
from zonetool.server.responder import QueryInfo, Reply, Responder
from zonetool.zone import Record, Zone

ZONES_DIR = Path(__file__).resolve().parent.parent / "zones"

EXAMPLE_COM = """
@            3600 SOA   ns1 hostmaster 7 3600 900 604800 300
@            3600 NS    ns1
@            3600 MX    10 mx1
@            3600 MX    20 mx2
ns1          3600 A     192.0.2.53
mx1          3600 A     192.0.2.10
mx1          3600 AAAA  2001:db8::10
mx2          3600 A     192.0.2.11
_smtp._tcp   3600 SRV   0 0 25 mx1
www          3600 CNAME @
loop1        3600 CNAME loop2
loop2        3600 CNAME loop1
sub          3600 NS    ns1.sub
ns1.sub      3600 A     192.0.2.60
*.dev        3600 A     192.0.2.99
\\200byte    3600 A     192.0.2.200
a\\.b        3600 TXT   "escaped dot"
"""


def make_zone(origin: str, text: str) -> Zone:
    apex = Name.from_text(origin)
    zone = Zone(apex)
    for line in filter(str.strip, text.splitlines()):
        owner, ttl, rtype, rdata = line.split(None, 3)
        zone.add(Record(Name.from_text(owner, apex), int(ttl), parse_rdata(rtype, rdata, apex)))
    return zone


def big_txt_zone(count: int = 30, size: int = 100) -> Zone:
    zone = make_zone("big.test.", "@ 300 SOA ns hostmaster 1 1 1 1 60\n@ 300 NS ns\nns 300 A 192.0.2.1")
    owner = Name.from_text("txt.big.test.")
    for i in range(count):
        zone.add(Record(owner, 300, parse_rdata("TXT", f'"{i:03d}{"x" * (size - 3)}"', None)))
    return zone


@pytest.fixture
def zone() -> Zone:
    return make_zone("example.com.", EXAMPLE_COM)


@pytest.fixture
def responder(zone: Zone) -> Responder:
    return Responder([zone, big_txt_zone()], allow_transfer=["127.0.0.1", "10.0.0.0/8"])


CLIENT = ("127.0.0.1", 40000)


def send(r: Responder, query: dns.message.Message | bytes, transport: str = "udp", client=CLIENT) -> Reply:
    data = query if isinstance(query, bytes) else query.to_wire()
    return r.respond(data, client, transport)


def answer(r: Responder, query: dns.message.Message, transport: str = "udp", client=CLIENT) -> dns.message.Message:
    reply = send(r, query, transport, client)
    assert len(reply.messages) == 1
    msg = dns.message.from_wire(reply.messages[0])
    assert msg.id == query.id
    return msg


def q(name: str, rtype: str = "A", **kw) -> dns.message.Message:
    return dns.message.make_query(name, rtype, **kw)


# -- header bits ---------------------------------------------------------------------
@pytest.mark.parametrize("rd", [True, False])
def test_header_bits_aa_ra_rd_ad_cd(responder: Responder, rd: bool) -> None:
    query = q("example.com", "MX")
    query.flags = (dns.flags.RD if rd else 0) | dns.flags.AD | dns.flags.CD
    m = answer(responder, query)
    assert m.flags & dns.flags.QR and m.flags & dns.flags.AA
    assert bool(m.flags & dns.flags.RD) == rd  # RD copied
    assert not m.flags & (dns.flags.RA | dns.flags.AD | dns.flags.CD)  # never set
    assert m.rcode() == dns.rcode.NOERROR
    assert {str(r) for r in m.answer[0]} == {"10 mx1.example.com.", "20 mx2.example.com."}
    assert {(str(r.name), dns.rdatatype.to_text(r.rdtype)) for r in m.additional} == {
        ("mx1.example.com.", "A"),
        ("mx1.example.com.", "AAAA"),
        ("mx2.example.com.", "A"),
    }


def test_nxdomain_and_nodata_with_negative_ttl(responder: Responder) -> None:
    nx = answer(responder, q("nothere.example.com"))
    assert nx.rcode() == dns.rcode.NXDOMAIN and nx.flags & dns.flags.AA
    assert [(str(r.name), r.rdtype, r.ttl) for r in nx.authority] == [("example.com.", dns.rdatatype.SOA, 300)]
    nodata = answer(responder, q("mx2.example.com", "AAAA"))
    assert nodata.rcode() == dns.rcode.NOERROR and nodata.answer == []
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA and nodata.authority[0].ttl == 300
    ent = answer(responder, q("_tcp.example.com", "TXT"))
    assert ent.rcode() == dns.rcode.NOERROR and ent.authority[0].rdtype == dns.rdatatype.SOA


def test_cname_chain_and_loop_on_the_wire(responder: Responder) -> None:
    m = answer(responder, q("www.example.com", "MX"))
    assert [r.rdtype for r in m.answer] == [dns.rdatatype.CNAME, dns.rdatatype.MX]
    loop = answer(responder, q("loop1.example.com"))
    assert loop.rcode() == dns.rcode.NOERROR and len(loop.answer) == 2


def test_wildcard_owner_is_the_qname(responder: Responder) -> None:
    m = answer(responder, q("Some.Host.dev.example.com"))
    assert str(m.answer[0].name) == "Some.Host.dev.example.com."
    assert m.answer[0][0].address == "192.0.2.99"


def test_referral_has_glue_and_no_aa(responder: Responder) -> None:
    m = answer(responder, q("www.sub.example.com"))
    assert not m.flags & dns.flags.AA and m.rcode() == dns.rcode.NOERROR and m.answer == []
    assert [(str(r.name), r.rdtype) for r in m.authority] == [("sub.example.com.", dns.rdatatype.NS)]
    assert [(str(r.name), r[0].address) for r in m.additional] == [("ns1.sub.example.com.", "192.0.2.60")]


def test_outside_zones_refused(responder: Responder) -> None:
    m = answer(responder, q("example.org"))
    assert m.rcode() == dns.rcode.REFUSED and not m.flags & dns.flags.AA
    assert m.question[0].name == dns.name.from_text("example.org")


# -- opcode, format, class ------------------------------------------------------------
@pytest.mark.parametrize("opcode", [dns.opcode.NOTIFY, dns.opcode.UPDATE, dns.opcode.STATUS, dns.opcode.IQUERY])
def test_other_opcodes_notimp(responder: Responder, opcode: int) -> None:
    query = q("example.com", "SOA")
    query.set_opcode(opcode)
    m = answer(responder, query)
    assert m.rcode() == dns.rcode.NOTIMP and m.opcode() == opcode
    assert not m.flags & dns.flags.AA


def test_formerr_for_bad_question_counts(responder: Responder) -> None:
    good = q("example.com").to_wire()
    for qdcount in (0, 2):
        data = good[:4] + qdcount.to_bytes(2) + good[6:]
        reply = send(responder, data)
        m = dns.message.from_wire(reply.messages[0], question_only=True) if qdcount else None
        header = reply.messages[0]
        assert header[:2] == good[:2] and header[3] & 0xF == dns.rcode.FORMERR and header[2] & 0x80
        assert reply.info.rcode == "FORMERR"
        del m
    # A question cut short, a compression pointer in the qname, an overlong label.
    for data in (good[:20], good[:12] + b"\xc0\x0c\x00\x01\x00\x01", good[:12] + b"\x50" + b"a" * 80 + b"\x00\x00\x01"):
        reply = send(responder, data)
        assert reply.messages[0][3] & 0xF == dns.rcode.FORMERR and len(reply.messages[0]) == 12


def test_formerr_for_records_in_answer_section(responder: Responder) -> None:
    query = q("example.com")
    query.answer.append(dns.rrset.from_text("example.com.", 60, "IN", "A", "192.0.2.1"))
    assert answer(responder, query).rcode() == dns.rcode.FORMERR


def test_no_header_or_a_response_means_silence(responder: Responder) -> None:
    assert send(responder, b"\x12\x34\x00").messages == []
    assert send(responder, b"", "tcp").close
    response = dns.message.make_response(q("example.com"))
    assert send(responder, response).messages == []  # QR set: never answer an answer


def test_other_classes_refused(responder: Responder) -> None:
    for rdclass in ("CH", "HS", "ANY"):
        m = answer(responder, q("version.bind" if rdclass == "CH" else "example.com", "TXT", rdclass=rdclass))
        assert m.rcode() == dns.rcode.REFUSED


# -- EDNS --------------------------------------------------------------------------------
def test_opt_only_when_asked_and_our_size_advertised(responder: Responder) -> None:
    plain = answer(responder, q("example.com"))
    assert plain.edns == -1
    with_edns = answer(responder, q("example.com", use_edns=0, payload=4096))
    assert with_edns.edns == 0 and with_edns.payload == 1232
    assert not with_edns.ednsflags & dns.flags.DO


def test_badvers_for_edns_version_above_zero(responder: Responder) -> None:
    m = answer(responder, q("example.com", use_edns=1))
    assert m.rcode() == dns.rcode.BADVERS and m.edns == 0
    assert m.answer == [] and not m.flags & dns.flags.AA


def test_unknown_edns_options_ignored(responder: Responder) -> None:
    option = dns.edns.GenericOption(65001, b"hello")
    m = answer(responder, q("example.com", "MX", use_edns=0, options=[option]))
    assert m.rcode() == dns.rcode.NOERROR and len(m.answer[0]) == 2 and m.options == ()


# -- truncation ---------------------------------------------------------------------------
def test_truncation_without_edns_at_512(responder: Responder) -> None:
    reply = send(responder, q("txt.big.test", "TXT"))
    m = dns.message.from_wire(reply.messages[0])
    assert m.flags & dns.flags.TC and m.answer == [] and len(reply.messages[0]) <= 512
    assert m.question[0].name == dns.name.from_text("txt.big.test")


def test_truncation_at_the_client_size_capped_by_ours(responder: Responder) -> None:
    for payload in (600, 1232, 4096, 65000):
        reply = send(responder, q("txt.big.test", "TXT", use_edns=0, payload=payload))
        m = dns.message.from_wire(reply.messages[0])
        assert m.flags & dns.flags.TC and len(reply.messages[0]) <= min(payload, 1232)
        assert m.edns == 0  # OPT kept in a truncated answer


def test_small_client_size_is_treated_as_512(zone: Zone) -> None:
    r = Responder([zone, big_txt_zone(count=4)])
    m = dns.message.from_wire(send(r, q("txt.big.test", "TXT", use_edns=0, payload=100)).messages[0])
    assert not m.flags & dns.flags.TC and len(m.answer[0]) == 4  # ~450 octets fit in 512


def test_answer_that_fits_the_client_size_is_whole(zone: Zone) -> None:
    r = Responder([zone, big_txt_zone(count=8)])  # about 900 octets
    assert send(r, q("txt.big.test", "TXT")).messages[0][2] & 0x02  # TC at 512
    m = dns.message.from_wire(send(r, q("txt.big.test", "TXT", use_edns=0, payload=1232)).messages[0])
    assert not m.flags & dns.flags.TC and len(m.answer[0]) == 8


def test_tcp_gets_everything(responder: Responder) -> None:
    m = answer(responder, q("txt.big.test", "TXT"), "tcp")
    assert not m.flags & dns.flags.TC and len(m.answer[0]) == 30


def test_dropping_additional_data_is_not_truncation() -> None:
    text = "@ 60 SOA ns hostmaster 1 1 1 1 1\n" + "\n".join(
        f"@ 60 MX {i} mx{i}\nmx{i} 60 AAAA 2001:db8::{i}" for i in range(20)
    )
    r = Responder([make_zone("mail.test.", text)])
    m = answer(r, q("mail.test", "MX"))
    assert not m.flags & dns.flags.TC
    assert len(m.answer[0]) == 20 and 0 < len(m.additional) < 20


# -- names as asked -----------------------------------------------------------------------
def test_question_case_echoed_0x20(responder: Responder) -> None:
    for spelling in ("eXaMpLe.CoM", "EXAMPLE.COM", "example.com"):
        reply = send(responder, q(spelling, "MX"))
        m = dns.message.from_wire(reply.messages[0])
        assert m.question[0].name.to_text() == spelling + "."  # exact octets, case included
        assert reply.messages[0][12 : 12 + 13] == dns.name.from_text(spelling).to_wire()


def test_non_utf8_and_escaped_dot_names_answered(responder: Responder) -> None:
    raw = dns.name.Name([b"\xc8byte", b"example", b"com", b""])
    m = answer(responder, dns.message.make_query(raw, "A"))
    assert m.answer[0].name == raw and m.answer[0][0].address == "192.0.2.200"
    assert responder.respond(dns.message.make_query(raw, "A").to_wire(), CLIENT, "udp").info.qname == (
        "\\200byte.example.com."
    )
    dotted = dns.name.Name([b"a.b", b"example", b"com", b""])
    m = answer(responder, dns.message.make_query(dotted, "TXT"))
    assert m.answer[0].name == dotted and m.answer[0][0].strings == (b"escaped dot",)


# -- zone transfer --------------------------------------------------------------------------
def transfer_records(reply: Reply) -> list[tuple[str, int]]:
    out = []
    for wire in reply.messages:
        m = dns.message.from_wire(wire, xfr=True)
        assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AA
        assert len(wire) < 65536
        out.extend((str(rrset.name), rrset.rdtype) for rrset in m.answer for _ in rrset)
    return out


def test_axfr_allowed_over_tcp(responder: Responder, zone: Zone) -> None:
    reply = send(responder, q("example.com", "AXFR"), "tcp")
    records = transfer_records(reply)
    assert records[0] == ("example.com.", dns.rdatatype.SOA) and records[-1] == records[0]
    assert len(records) == len(zone) + 1  # the SOA twice
    assert ("ns1.sub.example.com.", dns.rdatatype.A) in records  # glue goes too
    assert reply.info.rcode == "NOERROR"
    cidr = send(responder, q("example.com", "AXFR"), "tcp", client=("10.1.2.3", 5000))
    assert transfer_records(cidr) == records


def test_axfr_refused_for_others_and_notimp_over_udp(responder: Responder) -> None:
    refused = answer(responder, q("example.com", "AXFR"), "tcp", client=("192.0.2.99", 5000))
    assert refused.rcode() == dns.rcode.REFUSED and refused.answer == []
    assert answer(Responder([make_zone("example.com.", EXAMPLE_COM)]), q("example.com", "AXFR"), "tcp").rcode() == (
        dns.rcode.REFUSED  # default: nobody may transfer
    )
    udp = answer(responder, q("example.com", "AXFR"), "udp")
    assert udp.rcode() == dns.rcode.NOTIMP  # what NSD 4.6 answers
    notauth = answer(responder, q("www.example.com", "AXFR"), "tcp")
    assert notauth.rcode() == dns.rcode.NOTAUTH


def test_allow_transfer_entries(zone: Zone) -> None:
    r = Responder([zone], allow_transfer=["2001:db8::/32", "192.0.2.7"])
    for client in (("2001:db8::5", 1), ("192.0.2.7", 1), ("::ffff:192.0.2.7", 1)):
        assert answer(r, q("example.com", "AXFR"), "tcp", client=client).rcode() == dns.rcode.NOERROR, client
    assert answer(r, q("example.com", "AXFR"), "tcp", client=("192.0.2.8", 1)).rcode() == dns.rcode.REFUSED
    with pytest.raises(ValueError, match="not an IP address or CIDR"):
        Responder([zone], allow_transfer=["secondary.example.net"])


def test_axfr_of_a_big_zone_is_split_into_messages() -> None:
    zone = big_txt_zone(count=1, size=60)
    for i in range(3000):
        zone.add(Record(Name.from_text(f"host{i}.big.test."), 300, parse_rdata("TXT", f'"{"y" * 60}"', None)))
    reply = send(Responder([zone], allow_transfer=["127.0.0.1"]), q("big.test", "AXFR"), "tcp")
    assert len(reply.messages) > 3
    records = transfer_records(reply)
    assert len(records) == 3000 + 1 + 3 + 1  # SOA, NS, A, TXT, the hosts, SOA
    assert records[0][1] == records[-1][1] == dns.rdatatype.SOA


def test_a_transfer_is_packed_as_it_is_read_and_ends_with_servfail_on_a_record_too_big() -> None:
    from zonetool.rrtypes import TXT

    zone = big_txt_zone(count=1, size=60)
    for i in range(3000):
        zone.add(Record(Name.from_text(f"host{i}.big.test."), 300, parse_rdata("A", "192.0.2.1", None)))
    zone.add(Record(Name.from_text("huge.big.test."), 300, TXT(tuple(b"t" * 255 for _ in range(256)))))
    reply = send(Responder([zone], allow_transfer=["127.0.0.1"]), q("big.test", "AXFR"), "tcp")
    assert not isinstance(reply.messages, list) and reply.info.answers == len(zone) + 1
    messages = iter(reply.messages)
    assert dns.message.from_wire(next(messages), xfr=True).rcode() == dns.rcode.NOERROR
    rest = [dns.message.from_wire(m, xfr=True).rcode() for m in messages]
    assert rest[-1] == dns.rcode.SERVFAIL and set(rest[:-1]) == {dns.rcode.NOERROR}  # RFC 5936 2.2
    assert "huge.big.test. TXT" in (reply.messages.problem or "")  # type: ignore[union-attr]


def test_ixfr_gets_full_zone_over_tcp_and_soa_over_udp(responder: Responder, zone: Zone) -> None:
    query = dns.message.make_query("example.com", "IXFR")
    query.authority.append(dns.rrset.from_text("example.com.", 0, "IN", "SOA", ". . 1 0 0 0 0"))
    records = transfer_records(send(responder, query, "tcp"))
    assert len(records) == len(zone) + 1
    udp = answer(responder, query, "udp")
    assert [r.rdtype for r in udp.answer] == [dns.rdatatype.SOA]
    assert answer(responder, q("example.com", "IXFR"), "tcp").rcode() == dns.rcode.FORMERR  # no SOA given


# -- the cache ---------------------------------------------------------------------------
def test_cache_hit_equals_fresh_answer_byte_for_byte(zone: Zone) -> None:
    cached = Responder([zone])
    fresh = Responder([zone], cache_size=0)
    first = q("example.com", "MX", use_edns=0)
    send(cached, first)
    assert cached.cached() == 1
    second = q("ExAmple.COM", "MX", use_edns=0)
    second.id = (first.id + 1) & 0xFFFF
    hit = send(cached, second).messages[0]
    assert hit == send(fresh, second).messages[0]
    assert hit[:2] == second.id.to_bytes(2) and b"ExAmple" in hit
    assert cached.cached() == 1  # the second was a hit


def test_cache_cap_is_respected(zone: Zone) -> None:
    r = Responder([zone], cache_size=5)
    for i in range(40):
        send(r, q(f"name{i}.example.com"))
        assert r.cached() <= 5
    assert r.cached() == 5


def test_big_answers_are_not_cached() -> None:
    """The cap counts answers; leaving out the rare big ones keeps memory near cache_size x 4 KiB."""
    responder = Responder([big_txt_zone(count=45)])
    big = send(responder, q("txt.big.test", "TXT"), "tcp").messages[0]
    assert len(big) > 4096 and responder.cached() == 0
    assert send(responder, q("txt.big.test", "TXT"), "tcp").messages[0][2:] == big[2:]  # packed afresh
    send(responder, q("txt.big.test", "TXT"))  # the truncated UDP answer is small: cached
    assert responder.cached() == 1


def test_swap_drops_stale_answers(zone: Zone) -> None:
    r = Responder([zone])
    before = answer(r, q("mx2.example.com"))
    assert before.answer[0][0].address == "192.0.2.11"
    newer = make_zone("example.com.", EXAMPLE_COM.replace("192.0.2.11", "192.0.2.111"))
    r.swap([newer])
    assert r.cached() == 0
    after = answer(r, q("mx2.example.com"))
    assert after.answer[0][0].address == "192.0.2.111"
    assert r.zones == (newer,)


def test_query_info_for_the_log(responder: Responder) -> None:
    info = send(responder, q("WWW.example.com", "MX")).info
    assert info == QueryInfo(CLIENT, "udp", "www.example.com.", "MX", "NOERROR", 3, None)  # records, not RRsets
    hit = send(responder, q("www.example.com", "MX")).info
    assert hit == info
    assert send(responder, q("nope.example.com", "TYPE65534")).info.qtype == "TYPE65534"


# -- the fast path against the reference ---------------------------------------------------------
def bundled_zones() -> list[Zone]:
    """The zones shipped in zones/, through the project's loader (valid ones only)."""
    from zonetool.loader import load_file

    zones = []
    for path in sorted(ZONES_DIR.glob("*.yaml")):
        zone, _findings = load_file(path)
        if zone is not None:
            zones.append(zone)
    return zones


def random_case(text: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def test_udp_answerer_follows_swaps_faults_and_its_cap(zone: Zone) -> None:
    """The UDP loop's exact-octets table lives with the zones: no stale answer after a swap."""
    from zonetool.faults import Fault, ZoneFaults

    r = Responder([zone], cache_size=3)
    r.faults = ZoneFaults(lambda: r.zones)
    udp_answer = r.udp_answerer()
    data = q("mx2.example.com").to_wire()
    assert udp_answer(data) is None  # nothing cached yet
    r.respond(data, CLIENT, "udp")
    old = udp_answer(data)
    assert old is not None and udp_answer(data) == old  # the second comes from the exact table
    assert dns.message.from_wire(old).answer[0][0].address == "192.0.2.11"
    r.swap([make_zone("example.com.", EXAMPLE_COM.replace("192.0.2.11", "192.0.2.111"))])
    assert udp_answer(data) is None  # the old answer went with the old zone
    new = r.respond(data, CLIENT, "udp").messages[0]
    assert udp_answer(data) == new and dns.message.from_wire(new).answer[0][0].address == "192.0.2.111"
    # a fault added at runtime steps in front of the table at once
    r.faults.runtime.add(Fault.make("mx2.example.com.", action="servfail"))
    assert udp_answer(data) is None
    r.faults.runtime.clear()
    assert udp_answer(data) == new
    # bounded: the table never holds more than cache_size questions (new letter cases included)
    for i in range(20):
        variant = q(random_case("mx2.example.com", random.Random(i))).to_wire()
        r.respond(variant, CLIENT, "udp")
        udp_answer(variant)
        assert len(r._snap.exact) <= 3


def test_fast_path_matches_reference_everywhere() -> None:
    zones = [make_zone("fast.test.", EXAMPLE_COM), big_txt_zone(count=8), *bundled_zones()]
    assert len(zones) >= 5, "the bundled zones/ should be part of this comparison"
    rng = random.Random(6)
    names = names_to_ask(zones, nxdomains=5)
    for z in zones:
        names.update(f"a.b.wild{i}.{z.origin}" for i in range(2))
    names.update({"x.dev.fast.test.", "deep.www.sub.fast.test.", "example.invalid.", "."})
    qtypes = ["A", "AAAA", "MX", "SRV", "TXT", "NS", "SOA", "CNAME", "CAA", "ANY", "DS", "PTR", "TYPE65534"]
    fast = Responder(zones, cache_size=1_000_000)
    reference = Responder(zones, cache_size=0)
    udp_answer = fast.udp_answerer()  # the serve UDP thread's loop
    sizes: list[int | None] = [None, 512, 700, 1232, 4096]
    checked = bare_hits = udp_hits = 0
    for name in sorted(names):
        wire_name = dns.name.from_text(name)
        for qtype in qtypes:
            for size in sizes:
                for transport in ("udp", "tcp") if size in (None, 1232) else ("udp",):
                    for _ in range(2):  # the first fills the cache, the second is a hit
                        query = dns.message.make_query(
                            dns.name.from_text(random_case(wire_name.to_text(), rng)),
                            qtype,
                            use_edns=size is not None and 0,
                            payload=size or 512,
                        )
                        query.flags = rng.choice([0, dns.flags.RD])
                        data = query.to_wire()
                        got = fast.respond(data, CLIENT, transport)
                        want = reference.respond(data, CLIENT, transport)
                        assert got.messages == want.messages, (name, qtype, size, transport)
                        assert got.info == want.info
                        bare = fast.cached_answer(data, transport)  # the transport's tightest loop
                        if bare is not None:
                            assert [bare] == want.messages
                            bare_hits += 1
                        if transport == "udp":
                            for _ in range(2):  # the first may fill the exact-octets table, the second reads it
                                quick = udp_answer(data)
                                if quick is not None:
                                    assert [quick] == want.messages
                                    udp_hits += 1
                        checked += 1
    assert checked > 1000 and fast.cached() > 100 and bare_hits > checked // 2 and udp_hits > checked // 2


# -- faults ------------------------------------------------------------------------------
@dataclass
class _Fault:
    action: str
    delay_ms: int = 0


class _Faults:
    """The fault protocol (zonetool.faults.FaultSet has the same shape): mx1 misbehaves."""

    def __init__(self, action: str, delay_ms: int = 0) -> None:
        self.fault = _Fault(action, delay_ms)

    def match(self, qname: Name, qtype: int) -> _Fault | None:
        return self.fault if qname == Name.from_text("mx1.example.com.") else None


@pytest.mark.parametrize(
    ("action", "rcode"),
    [("servfail", dns.rcode.SERVFAIL), ("refused", dns.rcode.REFUSED), ("nxdomain", dns.rcode.NXDOMAIN)],
)
def test_fault_rcodes(zone: Zone, action: str, rcode: int) -> None:
    r = Responder([zone], faults=_Faults(action))
    reply = send(r, q("mx1.example.com"))
    m = dns.message.from_wire(reply.messages[0])
    assert m.rcode() == rcode and m.answer == [] and reply.info.fault == action
    if action == "nxdomain":
        assert m.authority[0].rdtype == dns.rdatatype.SOA
    # Other names are untouched, and nothing faulty was cached.
    assert answer(r, q("mx2.example.com")).rcode() == dns.rcode.NOERROR
    assert send(r, q("mx1.example.com")).info.fault == action


def test_fault_timeout_delay_truncate_bad_id(zone: Zone) -> None:
    assert send(Responder([zone], faults=_Faults("timeout")), q("mx1.example.com")).messages == []
    delayed = send(Responder([zone], faults=_Faults("delay", 1500)), q("mx1.example.com"))
    assert delayed.delay == 1.5 and dns.message.from_wire(delayed.messages[0]).answer
    trunc = Responder([zone], faults=_Faults("truncate"))
    m = dns.message.from_wire(send(trunc, q("mx1.example.com")).messages[0])
    assert m.flags & dns.flags.TC and m.answer == []
    assert answer(trunc, q("mx1.example.com"), "tcp").answer  # TCP answers normally
    query = q("mx1.example.com")
    bad = send(Responder([zone], faults=_Faults("bad-id")), query)
    assert int.from_bytes(bad.messages[0][:2]) != query.id and bad.info.fault == "bad-id"


def test_cached_answer_steps_aside_for_faults(zone: Zone) -> None:
    from zonetool.faults import Fault, FaultSet

    faults = FaultSet()
    r = Responder([zone], faults=faults)
    data = q("mx1.example.com").to_wire()
    assert r.cached_answer(data, "udp") is None  # not cached yet
    r.respond(data, CLIENT, "udp")
    assert r.cached_answer(data, "udp") == r.respond(data, CLIENT, "udp").messages[0]
    faults.add(Fault.make("mx1.example.com.", action="servfail"))
    assert r.cached_answer(data, "udp") is None  # faults bypass the cache
    assert dns.message.from_wire(r.respond(data, CLIENT, "udp").messages[0]).rcode() == dns.rcode.SERVFAIL


def test_real_fault_set_plugs_in(zone: Zone) -> None:
    from zonetool.faults import Fault, FaultSet

    faults = FaultSet([Fault.make("mx1.example.com.", "A", action="servfail")])
    r = Responder([zone], faults=faults)
    assert answer(r, q("mx1.example.com")).rcode() == dns.rcode.SERVFAIL
    assert answer(r, q("mx1.example.com", "AAAA")).rcode() == dns.rcode.NOERROR


# -- side by side with NSD ----------------------------------------------------------------
RFC4592 = """
@                  3600 SOA ns.example.com. hostmaster 1 3600 900 604800 300
@                  3600 NS  ns.example.com.
*                  3600 TXT "this is a wildcard"
*                  3600 MX  10 host1
sub.*              3600 TXT "this is not a wildcard"
host1              3600 A   192.0.2.1
_ssh._tcp.host1    3600 SRV 0 0 22 host1
_ssh._tcp.host2    3600 SRV 0 0 22 host2
subdel             3600 NS  ns.example.com.
"""

LAB = """
@     60   SOA  ns1 hostmaster 1 3600 900 604800 600
@     60   NS   ns1
ns1   60   A    192.0.2.70
host  60   A    192.0.2.71
"""


@contextlib.contextmanager
def running_nsd(zones: list[Zone], d: Path, minimal: bool = True) -> Iterator[int]:
    """NSD 4 serving `zones` (minimal-responses unless told, refuse-any off) on a free loopback port."""
    nsd = require_tool("nsd")
    for _attempt in range(5):  # another process may take the port between our check and NSD's bind
        port = free_port()
        proc = _start_nsd(nsd, zones, d, port, minimal)
        if proc is not None:
            break
    else:
        raise RuntimeError(f"NSD did not start: {(d / 'nsd.log').read_text(errors='replace')}")
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def free_port() -> int:
    """A loopback port free for both UDP and TCP right now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def _start_nsd(nsd: str, zones: list[Zone], d: Path, port: int, minimal: bool) -> subprocess.Popen | None:
    conf = [
        "server:",
        "  ip-address: 127.0.0.1",
        f"  port: {port}",
        f"  zonesdir: {d}",
        '  database: ""',
        f"  pidfile: {d}/nsd.pid",
        f"  xfrdfile: {d}/xfrd.state",
        f"  zonelistfile: {d}/zone.list",
        '  username: ""',
        f"  logfile: {d}/nsd.log",
        "  server-count: 1",
        f"  minimal-responses: {'yes' if minimal else 'no'}",
        "  refuse-any: no",
        "  rrl-ratelimit: 0",  # response rate limiting would truncate or drop our burst of questions
        "remote-control:",
        "  control-enable: no",
    ]
    for z in zones:
        name = f"{z.origin.to_text()}zone"
        lines = [f"{r.owner.to_text()} {r.ttl} IN {r.rtype} {r.rdata.to_text()}" for r in z.records()]
        (d / name).write_text("\n".join(lines) + "\n")
        conf += ["zone:", f"  name: {z.origin.to_text()}", f"  zonefile: {name}"]
    (d / "nsd.conf").write_text("\n".join(conf) + "\n")
    proc = subprocess.Popen([nsd, "-d", "-c", str(d / "nsd.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    probe = dns.message.make_query(zones[0].origin.to_text(), "SOA")
    while True:
        try:
            if dns.query.udp(probe, "127.0.0.1", port=port, timeout=0.5).answer:
                return proc
        except Exception:
            pass
        if proc.poll() is not None:
            return None
        if time.monotonic() > deadline:
            proc.terminate()
            proc.wait(timeout=10)
            return None
        time.sleep(0.05)


@pytest.fixture(scope="module")
def nsd_side_by_side(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    zones = [
        make_zone("example.com.", EXAMPLE_COM + "\ninto-lab 3600 CNAME host.lab\nwild 3600 CNAME x.dev"),
        make_zone("lab.example.com.", LAB),
        make_zone("example.", RFC4592),
        big_txt_zone(),
    ]
    with running_nsd(zones, tmp_path_factory.mktemp("nsd")) as port:
        yield zones, port


def _sections(m: dns.message.Message) -> tuple:
    """rcode, flags and sections; additional data only for referrals (minimal-responses drops the rest)."""
    out: list = [dns.rcode.to_text(m.rcode()), dns.flags.to_text(m.flags), m.edns, m.payload if m.edns >= 0 else 0]
    sections = (m.answer, m.authority, [] if m.flags & dns.flags.AA else m.additional)
    for section in sections:
        # Names compare case-insensitively: NSD prints names inside rdata in lower case.
        out.append(sorted((r.name.to_text().lower(), r.ttl, r.rdtype, x.to_text().lower()) for r in section for x in r))
    return tuple(out)


def test_answers_match_nsd(nsd_side_by_side) -> None:  # type: ignore[no-untyped-def]
    """Every name of the zones (plus missing, wildcard and delegated names) asked of NSD and of us."""
    zones, port = nsd_side_by_side
    ours = Responder(zones)
    names: set[str] = {"nothere.example.com.", "a.b.dev.example.com.", "host3.example.", "x.y.subdel.example."}
    for z in zones:
        for owner in z.nodes:
            names.update({owner.to_text(), "zz." + owner.to_text()})
        names.update(n.to_text() for n in z.ents)
    qtypes = ["A", "AAAA", "MX", "SRV", "TXT", "NS", "SOA", "CNAME", "DS", "ANY"]
    compared = 0
    for name in sorted(names):
        for qtype in qtypes:
            for edns in (False, 0):
                query = dns.message.make_query(name, qtype, use_edns=edns, payload=1232)
                theirs = dns.query.tcp(query, "127.0.0.1", port=port, timeout=5)
                mine = dns.message.from_wire(ours.respond(query.to_wire(), CLIENT, "tcp").messages[0])
                assert _sections(mine) == _sections(theirs), (name, qtype, edns)
                compared += 1
    # Letter case as NSD spells it: the question's case through compression, the zone's elsewhere.
    for name, qtype in (
        ("MX1.Example.COM", "A"),
        ("EXAMPLE.com", "MX"),
        ("Host3.EXAMPLE", "MX"),
        ("a.B.dev.example.COM", "A"),
    ):
        query = dns.message.make_query(name, qtype)
        theirs = dns.query.udp(query, "127.0.0.1", port=port, timeout=5)
        mine = dns.message.from_wire(ours.respond(query.to_wire(), CLIENT, "udp").messages[0])
        assert [r.to_text() for r in mine.answer] == [r.to_text() for r in theirs.answer], name
        assert mine.question[0].name.to_text() == theirs.question[0].name.to_text() == name + "."
    # Protocol corners: refusal, classes, EDNS versions, transfer over UDP, truncation at 512.
    corners = [
        dns.message.make_query("example.org", "A"),
        dns.message.make_query("example.com", "A", rdclass="CH"),
        dns.message.make_query("example.com", "A", use_edns=1),
        dns.message.make_query("example.com", "AXFR"),
        dns.message.make_query("txt.big.test", "TXT"),
        dns.message.make_query("txt.big.test", "TXT", use_edns=0, payload=1232),
    ]
    for query in corners:
        theirs = dns.query.udp(query, "127.0.0.1", port=port, timeout=5)
        mine = dns.message.from_wire(ours.respond(query.to_wire(), CLIENT, "udp").messages[0])
        assert dns.flags.to_text(mine.flags) == dns.flags.to_text(theirs.flags), query.question
        assert (mine.rcode(), mine.edns) == (theirs.rcode(), theirs.edns), query.question
    assert compared > 500


def test_cache_folds_case_of_the_qname_only(zone: Zone) -> None:
    """QTYPE 65 is octets 00 41 and QTYPE 97 is 00 61: folding them together would mix answers."""
    zone.add(Record(Name.from_text("mx1.example.com."), 60, parse_rdata("TYPE65", "\\# 3 000100", None)))
    r = Responder([zone])
    for _ in range(2):
        for code, count in ((65, 1), (97, 0)):
            m = answer(r, q("MX1.example.com", dns.rdatatype.to_text(code)))
            assert len(m.answer) == count, code
    assert r.cached() == 2


def test_hit_reply_reads_like_a_fresh_one(zone: Zone) -> None:
    r = Responder([zone])
    first = send(r, q("mx1.example.com"))
    hit = send(r, q("MX1.example.com"))
    assert type(hit) is not type(first)  # the lazy cache-hit reply
    assert (hit.delay, hit.close) == (0.0, False) and hit.info == first.info


def test_fast_path_agrees_with_reference_on_mangled_packets(zone: Zone) -> None:
    """The fast path skips the label walk (a hit proves the question sound); mangled bytes must not fool it."""
    fast = Responder([zone])
    reference = Responder([zone], cache_size=0)
    seeds = [
        dns.message.make_query(name, qtype, use_edns=edns, payload=1232).to_wire()
        for name in (
            "mx1.example.com",
            "example.com",
            "x.dev.example.com",
            "nothere.example.com",
            "www.sub.example.com",
        )
        for qtype in ("A", "MX", "TXT")
        for edns in (False, 0)
    ]
    for data in seeds:  # warm the cache with every well-formed question
        fast.respond(data, CLIENT, "udp")
    udp_answer = fast.udp_answerer()
    rng = random.Random(2024)
    for i in range(20000):
        data = bytearray(rng.choice(seeds))
        match i % 4:
            case 0:  # flip octets anywhere
                for _ in range(rng.randint(1, 3)):
                    data[rng.randrange(len(data))] = rng.randrange(256)
            case 1:  # cut or extend
                data = (
                    data[: rng.randrange(len(data) + 1)]
                    if rng.random() < 0.5
                    else data + rng.randbytes(rng.randint(1, 12))
                )
            case 2:  # shuffle letter case and one length octet
                data = bytearray(bytes(data).swapcase()) if rng.random() < 0.5 else data
                data[12] = rng.choice([data[12], data[12] ^ 0x40, 63, 64, 0xC0])
            case 3:  # flip header bits and counts
                data[rng.choice([2, 3, 5, 7, 9, 11])] ^= 1 << rng.randrange(8)
        packet = bytes(data)
        bare = fast.cached_answer(packet, "udp")
        quick = udp_answer(packet)
        got = fast.respond(packet, CLIENT, "udp")
        want = reference.respond(packet, CLIENT, "udp")
        assert got.messages == want.messages, packet.hex()
        assert got.info == want.info, packet.hex()
        assert bare is None or [bare] == want.messages, packet.hex()
        assert quick is None or [quick] == want.messages, packet.hex()


def random_zone(rng: random.Random, origin: str = "rand.test.") -> Zone:
    """A zone full of corners: wildcards at several depths, ENTs, CNAME chains and loops, cuts with glue."""
    apex = Name.from_text(origin)
    labels = ["a", "b", "c", "_tcp", "*", "Mx"]
    names = {apex}
    for _ in range(60):
        depth = rng.choice([1, 1, 2, 2, 3])
        parts = [rng.choice(labels) for _ in range(depth)]
        if "*" in parts[1:]:
            parts = [p for p in parts if p != "*"] or ["a"]
        names.add(Name.from_text(".".join(parts), apex))
    zone = Zone(apex)
    zone.add(Record(apex, 600, parse_rdata("SOA", "ns hostmaster 1 3600 900 604800 120", apex)))
    zone.add(Record(apex, 600, parse_rdata("NS", "ns", apex)))
    zone.add(Record(Name.from_text("ns", apex), 600, parse_rdata("A", "192.0.2.53", apex)))
    ordered = sorted(names - {apex})
    for i, name in enumerate(ordered):
        kind = rng.random()
        target = rng.choice([*ordered, Name.from_text("missing", apex), Name.from_text("out.example.net.")])
        if kind < 0.2 and not name.is_wildcard():
            zone.add(Record(name, 300, parse_rdata("NS", f"ns.{name}", None)))
            zone.add(Record(Name.from_text(f"ns.{name}"), 300, parse_rdata("A", f"192.0.2.{i % 250}", None)))
        elif kind < 0.4:
            zone.add(Record(name, 300, parse_rdata("CNAME", target.to_text(), None)))
        else:
            zone.add(Record(name, 300, parse_rdata("A", f"198.51.100.{i % 250}", None)))
            if rng.random() < 0.5:
                zone.add(Record(name, 300, parse_rdata("MX", f"10 {target}", None)))
            if rng.random() < 0.3:
                zone.add(Record(name, 300, parse_rdata("SRV", f"0 1 25 {target}", None)))
            if rng.random() < 0.3:
                zone.add(Record(name, 300, parse_rdata("TXT", f'"t{i}"', None)))
    return zone


def test_random_zones_match_nsd(tmp_path: Path) -> None:
    """Zones generated to be awkward, every name (and names below and beside them) asked of both."""
    rng = random.Random(4592)
    zones = [random_zone(rng, f"rand{i}.test.") for i in range(3)]
    ours = Responder(zones)
    with running_nsd(zones, tmp_path) as port:
        compared = 0
        for zone in zones:
            names = {zone.origin.to_text()}
            for owner in list(zone.nodes) + list(zone.ents):
                names.update({owner.to_text(), f"zz.{owner}", f"a.b.{owner}"})
            for name in sorted(names):
                for qtype in ("A", "MX", "SRV", "TXT", "NS", "CNAME", "DS", "ANY", "AAAA"):
                    query = dns.message.make_query(name, qtype)
                    theirs = dns.query.tcp(query, "127.0.0.1", port=port, timeout=5)
                    mine = dns.message.from_wire(ours.respond(query.to_wire(), CLIENT, "tcp").messages[0])
                    assert _sections(mine) == _sections(theirs), (name, qtype)
                    compared += 1
    assert compared > 1000


def test_additional_section_matches_nsd(tmp_path: Path) -> None:
    """NSD without minimal-responses adds addresses for MX, SRV and NS targets (never occluded ones) and
    also the apex NS with their addresses; apart from that extra NS, the additional sections agree."""
    rng = random.Random(1034)
    zones = [random_zone(rng, f"rand{i}.test.") for i in range(2)] + [make_zone("example.com.", EXAMPLE_COM)]
    ours = Responder(zones)
    checked = 0
    with running_nsd(zones, tmp_path, minimal=False) as port:
        for zone in zones:
            apex_ns = {str(r.rdata.target).lower() for r in zone.rrset(zone.origin, 2).records}
            for owner in sorted(zone.nodes):
                for qtype in ("MX", "SRV", "NS"):
                    query = dns.message.make_query(owner.to_text(), qtype)
                    theirs = dns.query.tcp(query, "127.0.0.1", port=port, timeout=5)
                    mine = dns.message.from_wire(ours.respond(query.to_wire(), CLIENT, "tcp").messages[0])
                    if not theirs.answer or not theirs.flags & dns.flags.AA:
                        continue
                    targets = {
                        str(getattr(x, "exchange", None) or getattr(x, "target", "")).lower()
                        for r in mine.answer
                        for x in r
                    }
                    extra = apex_ns - targets  # NSD's apex NS in authority brings these along
                    want = sorted(
                        (r.name.to_text().lower(), r.rdtype, x.to_text())
                        for r in theirs.additional
                        for x in r
                        if r.name.to_text().lower() not in extra
                    )
                    got = sorted((r.name.to_text().lower(), r.rdtype, x.to_text()) for r in mine.additional for x in r)
                    assert got == want, (owner.to_text(), qtype)
                    checked += 1
    assert checked > 30
