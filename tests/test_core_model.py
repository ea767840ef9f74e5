"""The pure core: names, record classes and the zone's indexes, without files or sockets."""

from __future__ import annotations

import pytest

from zonetool.names import Name, NameError_
from zonetool.rrtypes import AAAA, MX, SRV, TXT, A, Generic, RdataError, parse_rdata
from zonetool.zone import Record, Zone

ORIGIN = Name.from_text("example.com.")


def test_relative_and_absolute_names() -> None:
    assert Name.from_text("mx1", ORIGIN).to_text() == "mx1.example.com."
    assert Name.from_text("mx1.example.net.", ORIGIN).to_text() == "mx1.example.net."
    assert Name.from_text("@", ORIGIN) == ORIGIN
    assert Name.from_text("MX1", ORIGIN) == Name.from_text("mx1", ORIGIN)
    assert Name.from_text("MX1", ORIGIN).to_text() == "MX1.example.com."


def test_escapes_survive_round_trip() -> None:
    name = Name.from_text(r"a\.b.\128byte.example.com.")
    assert name.labels[0] == b"a.b"
    assert name.labels[1] == b"\x80byte"
    assert name.to_text() == r"a\.b.\128byte.example.com."
    assert Name.from_text(name.to_text()) == name


def test_name_limits() -> None:
    with pytest.raises(NameError_, match="63"):
        Name.from_text("a" * 64 + ".example.com.")
    with pytest.raises(NameError_, match="255"):
        Name.from_text(".".join(["a" * 60] * 5) + ".")
    Name.from_text("a" * 63 + ".example.com.")


def test_canonical_order_rfc4034() -> None:
    names = [Name.from_text(t) for t in ["z.example.", "a.example.", "example.", "*.z.example.", "yljkjljk.a.example."]]
    ordered = [n.to_text() for n in sorted(names)]
    assert ordered == ["example.", "a.example.", "yljkjljk.a.example.", "z.example.", "*.z.example."]


def test_records_parse_and_print() -> None:
    mx = parse_rdata("MX", "10 mx1", ORIGIN)
    assert mx == MX(10, Name.from_text("mx1.example.com."))
    assert mx.to_text(ORIGIN) == "10 mx1"
    srv = parse_rdata("SRV", "5 70 5269 xmpp1.example.com.", ORIGIN)
    assert isinstance(srv, SRV) and srv.weight == 70
    assert parse_rdata("AAAA", "2001:DB8::0:10", None) == AAAA("2001:db8::10")
    with pytest.raises(RdataError, match=r"0\.\.65535"):
        parse_rdata("MX", "70000 mx1", ORIGIN)
    with pytest.raises(RdataError, match="IPv4"):
        A("300.1.1.1")


def test_txt_splits_long_text_into_255_octet_strings() -> None:
    txt = TXT.from_value("x" * 600)
    assert [len(s) for s in txt.strings] == [255, 255, 90]
    assert txt.joined() == b"x" * 600


def test_rfc3597_generic_and_known_type_in_generic_form() -> None:
    unknown = parse_rdata("TYPE65534", r"\# 3 abcdef", None)
    assert isinstance(unknown, Generic) and unknown.to_text() == r"\# 3 abcdef"
    assert parse_rdata("A", r"\# 4 c0000201", None) == A("192.0.2.1")


def test_zone_ents_cuts_and_duplicates() -> None:
    zone = Zone(ORIGIN)
    srv_owner = Name.from_text("_smtp._tcp", ORIGIN)
    zone.add(Record(srv_owner, 300, parse_rdata("SRV", "0 1 25 mx1", ORIGIN)))
    zone.add(Record(Name.from_text("sub", ORIGIN), 300, parse_rdata("NS", "ns.sub", ORIGIN)))
    zone.add(Record(Name.from_text("sub", ORIGIN), 300, parse_rdata("NS", "ns.sub", ORIGIN)))
    assert Name.from_text("_tcp", ORIGIN) in zone.ents
    assert zone.exists(Name.from_text("_tcp", ORIGIN))
    assert not zone.exists(Name.from_text("_udp", ORIGIN))
    assert zone.cuts == {Name.from_text("sub", ORIGIN)}
    assert zone.is_occluded(Name.from_text("ns.sub", ORIGIN))
    assert not zone.is_occluded(Name.from_text("sub", ORIGIN))
    assert len(zone.duplicates) == 1 and len(zone) == 2
