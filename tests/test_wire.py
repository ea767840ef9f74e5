"""The wire layer: our query parser and packer, checked against dnspython, and the dnslib traps avoided."""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from zonetool import wire
from zonetool.lookup import Answer
from zonetool.names import Name
from zonetool.rrtypes import parse_rdata
from zonetool.zone import Record, RRset

ORIGIN = Name.from_text("example.com.")


def test_parse_query_plain_and_with_edns() -> None:
    query = dns.message.make_query("Mx1.Example.COM", "MX")
    query.flags |= dns.flags.CD
    parsed = wire.parse_query(query.to_wire())
    assert parsed.id == query.id and parsed.qtype == 15 and parsed.qclass == 1
    assert parsed.labels == (b"Mx1", b"Example", b"COM")  # spelling kept
    assert parsed.name == Name.from_text("mx1.example.com.")
    assert parsed.edns is None and parsed.opcode == 0
    assert parsed.question_end == len(query.to_wire())
    edns = dns.message.make_query("example.com", "A", use_edns=0, payload=1400, want_dnssec=True)
    parsed = wire.parse_query(edns.to_wire())
    assert parsed.edns == wire.Edns(1400, 0, True, 0)


def test_parse_query_names_dnslib_cannot() -> None:
    """dnslib 0.9.26 fails on non-UTF-8 labels and prints a\\.b as a.b; our parser keeps octets."""
    raw = dns.name.Name([b"\xc8byte", b"a.b", b"example", b"com", b""])
    parsed = wire.parse_query(dns.message.make_query(raw, "A").to_wire())
    assert parsed.labels == (b"\xc8byte", b"a.b", b"example", b"com")
    assert parsed.qname_text() == "\\200byte.a\\.b.example.com."


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda w: w[:4] + b"\x00\x02" + w[6:], "QDCOUNT"),
        (lambda w: w[:-2], "QTYPE"),
        (lambda w: w[:12] + b"\xc0\x0c" + w[-4:], "compressed"),
        (lambda w: w[:12] + b"\x05ab", "past the end"),
    ],
)
def test_malformed_questions(mutate, reason: str) -> None:  # type: ignore[no-untyped-def]
    data = mutate(dns.message.make_query("example.com", "A").to_wire())
    with pytest.raises(wire.WireError, match=reason):
        wire.parse_query(data)


def test_malformed_opt() -> None:
    good = dns.message.make_query("example.com", "A", use_edns=0).to_wire()
    two = good[:11] + b"\x02" + good[12:] + good[-11:]  # ARCOUNT 2, the OPT twice
    with pytest.raises(wire.WireError, match="more than one OPT"):
        wire.parse_query(two)
    bad_option = good[:-2] + b"\x00\x03" + b"\x00\x0a\x00"  # option header cut short
    with pytest.raises(wire.WireError, match="option"):
        wire.parse_query(bad_option)
    not_root = good[:-11] + b"\x01a\x00" + good[-10:]
    with pytest.raises(wire.WireError, match="root"):
        wire.parse_query(not_root)


def test_udp_limit_rfc6891() -> None:
    assert wire.udp_limit(None, 1232) == 512
    assert wire.udp_limit(wire.Edns(100, 0, False), 1232) == 512  # below 512 counts as 512 (6.2.3)
    assert wire.udp_limit(wire.Edns(900, 0, False), 1232) == 900
    assert wire.udp_limit(wire.Edns(4096, 0, False), 1232) == 1232


ALL_TYPES = [
    ("A", "192.0.2.1"),
    ("AAAA", "2001:db8::1"),
    ("NS", "ns1.example.com."),
    ("CNAME", "target.example.net."),
    ("PTR", "host.example.com."),
    ("MX", "10 mx1.example.com."),
    ("SRV", "0 5 25 mx1.example.com."),
    ("TXT", '"v=spf1 -all" "second \\200 string"'),
    ("CAA", '0 issue "letsencrypt.org"'),
    ("SOA", "ns1.example.com. hostmaster.example.com. 1 3600 900 604800 300"),
    ("TYPE65534", "\\# 3 abcdef"),
]


@pytest.mark.parametrize(("rtype", "text"), ALL_TYPES)
def test_every_record_type_packs_as_dnspython_reads_it(rtype: str, text: str) -> None:
    rdata = parse_rdata(rtype, text, ORIGIN)
    owner = Name.from_text("Host.example.com.")
    query = dns.message.make_query("host.example.com", rtype)
    data = query.to_wire()
    answer = Answer(0, True, [RRset(owner, rdata.type_code, [Record(owner, 300, rdata)])])
    packed = wire.pack_answer(data, wire.parse_query(data), answer, 65535)
    m = dns.message.from_wire(packed)
    got = m.answer[0]
    assert got.ttl == 300 and got.rdtype == rdata.type_code
    expected = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), text)
    assert got[0] == expected


def test_compression_is_case_insensitive_and_never_in_srv() -> None:
    owner = Name.from_text("MX1.example.com.")
    srv = parse_rdata("SRV", "0 0 25 mx1.example.com.", ORIGIN)
    mx = parse_rdata("MX", "10 mx1.example.com.", ORIGIN)
    data = dns.message.make_query("mx1.EXAMPLE.com", "A").to_wire()
    query = wire.parse_query(data)
    answer = Answer(0, True, [RRset(owner, 15, [Record(owner, 60, mx)]), RRset(owner, 33, [Record(owner, 60, srv)])])
    packed = wire.pack_answer(data, query, answer, 65535)
    # Both owners and the MX exchange are 2-octet pointers to the question at offset 12.
    assert packed.count(b"\xc0\x0c") == 3
    # The SRV target is written out in full (RFC 2782: no compression).
    assert b"\x03mx1\x07example\x03com\x00" in packed
    m = dns.message.from_wire(packed)
    assert str(m.answer[1][0].target) == "mx1.example.com."  # the zone's spelling, uncompressed


def test_response_flags_never_ra_ad_cd() -> None:
    """dnslib's DNSRecord.reply() sets RA and copies AD/CD; our flags never do."""
    flags = wire.response_flags(0xFFFF & ~0x8000, 0, True)
    assert flags & wire.QR and flags & wire.AA and flags & wire.RD
    assert not flags & (wire.RA | wire.AD | wire.CD)
    assert wire.response_flags(0, 5, False) == wire.QR | 5


def test_truncation_keeps_whole_rrsets_and_opt() -> None:
    owner = Name.from_text("txt.example.com.")
    records = [Record(owner, 60, parse_rdata("TXT", f'"{"x" * 200}{i}"', None)) for i in range(5)]
    query = dns.message.make_query("txt.example.com", "TXT", use_edns=0, payload=700)
    data = query.to_wire()
    parsed = wire.parse_query(data)
    answer = Answer(0, True, [RRset(owner, 16, records)])
    packed = wire.pack_answer(data, parsed, answer, wire.udp_limit(parsed.edns, 1232))
    m = dns.message.from_wire(packed)
    assert m.flags & dns.flags.TC and m.answer == [] and m.edns == 0 and m.payload == 1232
    whole = dns.message.from_wire(wire.pack_answer(data, parsed, answer, 65535))
    assert not whole.flags & dns.flags.TC and len(whole.answer[0]) == 5


def test_pack_error_echoes_question_and_opt() -> None:
    query = dns.message.make_query("example.com", "A", use_edns=1)
    data = query.to_wire()
    packed = wire.pack_error(data, 16, wire.parse_query(data))
    m = dns.message.from_wire(packed)
    assert m.rcode() == 16 and m.edns == 0 and m.question[0].name == dns.name.from_text("example.com")
    header_only = wire.pack_error(data, 1)
    assert len(header_only) == 12 and header_only[:2] == data[:2]


def test_transfer_rolls_back_compression_across_messages() -> None:
    soa = Record(ORIGIN, 60, parse_rdata("SOA", "ns1 hostmaster 1 2 3 4 5", ORIGIN))
    records = [
        Record(Name.from_text(f"h{i}.deep.example.com."), 60, parse_rdata("A", f"192.0.2.{i % 250}", None))
        for i in range(400)
    ]
    data = dns.message.make_query("example.com", "AXFR").to_wire()
    messages = wire.pack_transfer(data, wire.parse_query(data), records, soa, max_size=1000)
    assert len(messages) > 5
    names = []
    for packed in messages:
        assert len(packed) <= 1000
        m = dns.message.from_wire(packed, xfr=True)  # every pointer resolves inside its own message
        names.extend(str(r.name) for r in m.answer for _ in r)
    assert names[0] == names[-1] == "example.com." and len(names) == 402


def test_transfer_messages_is_lazy_and_stops_at_a_record_no_message_can_carry() -> None:
    from zonetool.rrtypes import TXT

    soa = Record(ORIGIN, 60, parse_rdata("SOA", "ns1 hostmaster 1 2 3 4 5", ORIGIN))
    taken: list[int] = []

    def records():  # type: ignore[no-untyped-def]
        for i in range(400):
            taken.append(i)
            yield Record(Name.from_text(f"h{i}.example.com."), 60, parse_rdata("A", "192.0.2.1", None))
        too_big = TXT(tuple(b"t" * 255 for _ in range(256)))  # RDATA 65,536 octets: one more than RDLENGTH says
        yield Record(Name.from_text("big.example.com."), 60, too_big)

    data = dns.message.make_query("example.com", "AXFR").to_wire()
    stream = wire.transfer_messages(data, wire.parse_query(data), records(), soa, max_size=1000)
    first = next(stream)
    assert len(taken) < 100  # one message packed, not the zone
    assert dns.message.from_wire(first, xfr=True).answer
    with pytest.raises(wire.RecordTooBig, match=r"big\.example\.com\. TXT: 65536 octets"):
        for _ in stream:
            pass
    assert len(taken) == 400  # every message before the big record was packed and yielded


# -- reading whole messages (for our own clients: AXFR, the harness resolver) -----------------
def test_parse_message_reads_what_dnslib_cannot() -> None:
    import dns.rrset

    raw = dns.name.Name([b"\xc8byte", b"a.b", b"example", b"com", b""])
    response = dns.message.make_response(dns.message.make_query(raw, "MX", use_edns=0))
    response.answer.append(dns.rrset.from_text(raw, 60, "IN", "MX", "10 mx1.example.com."))
    response.authority.append(dns.rrset.from_text("example.com.", 300, "IN", "NS", "ns1.example.com."))
    response.additional.append(dns.rrset.from_text("mx1.example.com.", 60, "IN", "A", "192.0.2.10"))
    m = wire.parse_message(response.to_wire())  # dnspython compresses every name it can
    assert m.id == response.id and m.question == (Name((b"\xc8byte", b"a.b", b"example", b"com")), 15, 1)
    assert [(r.owner.to_text(), r.rtype, r.rdata.to_text()) for r in m.answer] == [
        ("\\200byte.a\\.b.example.com.", "MX", "10 mx1.example.com.")
    ]
    assert [r.rtype for r in m.authority] == ["NS"] and [r.rtype for r in m.additional] == ["A"]
    assert m.edns is not None and m.rcode == 0 and not m.tc


@pytest.mark.parametrize(("rtype", "text"), ALL_TYPES)
def test_parse_message_round_trips_our_packer(rtype: str, text: str) -> None:
    rdata = parse_rdata(rtype, text, ORIGIN)
    owner = Name.from_text("host.example.com.")
    data = dns.message.make_query("host.example.com", rtype).to_wire()
    answer = Answer(0, True, [RRset(owner, rdata.type_code, [Record(owner, 300, rdata)] * 2)])
    m = wire.parse_message(wire.pack_answer(data, wire.parse_query(data), answer, 65535))
    assert [r.rdata for r in m.answer] == [rdata, rdata] and m.aa


def test_parse_message_rejects_pointer_loops_and_cuts() -> None:
    header = b"\x00\x01\x84\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    with pytest.raises(wire.WireError, match="loops or points forward"):
        wire.parse_message(header + b"\xc0\x0c\x00\x01\x00\x01")  # points at itself
    good = dns.message.make_query("example.com", "A").to_wire()
    with pytest.raises(wire.WireError):
        wire.parse_message(good[:-3])
    badvers = dns.message.make_query("example.com", "A", use_edns=1)
    packed = wire.pack_error(badvers.to_wire(), 16, wire.parse_query(badvers.to_wire()))
    assert wire.parse_message(packed).rcode == 16  # extended rcode put back together
