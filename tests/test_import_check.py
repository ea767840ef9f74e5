"""The compile-back check of `zonetool import` compares fields, not text: it must still see every difference."""

from __future__ import annotations

from zonetool.cli.bindfiles import _differences
from zonetool.source.bind import read_zone

BASE = """$ORIGIN check.example.
$TTL 3600
@ SOA ns1 hostmaster 1 7200 1800 1209600 300
@ NS ns1
ns1 A 192.0.2.53
@ MX 10 mx1
mx1 AAAA 2001:db8::1
_sip._tcp SRV 0 5 5060 Sip
txt TXT "one" "two"
"""


def zone(text: str):  # type: ignore[no-untyped-def]
    return read_zone(text, "check.example.", "check.example.zone")


def test_same_records_same_zone() -> None:
    assert _differences(zone(BASE), zone(BASE)) == []


def test_every_kind_of_difference_is_seen() -> None:
    cases = {
        "name case inside rdata": BASE.replace("5060 Sip", "5060 sip"),
        "owner case": BASE.replace("ns1 A", "NS1 A"),
        "ttl": BASE.replace("mx1 AAAA", "mx1 60 AAAA"),
        "address": BASE.replace("2001:db8::1", "2001:db8::2"),
        "txt strings": BASE.replace('"one" "two"', '"onetwo"'),
        "missing record": BASE.replace("@ MX 10 mx1\n", ""),
    }
    for what, other in cases.items():
        lines = _differences(zone(BASE), zone(other))
        assert lines, what
        assert all(line.startswith(("lost: ", "added: ")) for line in lines), what
    lost = _differences(zone(BASE), zone(cases["missing record"]))
    assert lost == ["lost: check.example. 3600 type 15"]
