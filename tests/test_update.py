"""zonetool.update: the RFC 2136 messages `push` sends, read back by dnspython (an independent parser).

The prerequisite section, the order of deletes and adds, the split at the message limit and the
serial chain from part to part. The real primaries that apply them are in tests/test_push.py.
"""

from __future__ import annotations

from datetime import date

import dns.message
import dns.opcode
import dns.rdataclass
import dns.rdatatype
import dns.update
import pytest

from zonetool.diff import diff_zones
from zonetool.names import Name
from zonetool.rrtypes import parse_rdata
from zonetool.update import (
    ADD,
    DELETE,
    DELETE_RRSET,
    UpdateError,
    apex_changes,
    build_update,
    operations,
    serial_chain,
)
from zonetool.zone import Record, Zone

ORIGIN = Name.from_text("example.org.")
TODAY = date(2026, 12, 2)
SOA = ("@", 3600, "SOA", "ns1 hostmaster 2026010100 3600 900 604800 300")
BASE = [SOA, ("@", 3600, "NS", "ns1"), ("ns1", 3600, "A", "192.0.2.53")]


def zone(*rows: tuple[str, int, str, str], auto: bool = True) -> Zone:
    z = Zone(ORIGIN)
    z.auto_serial = auto
    for owner, ttl, rtype, text in rows:
        z.add(Record(Name.from_text(owner, ORIGIN), ttl, parse_rdata(rtype, text, ORIGIN)))
    return z


def parsed(message: bytes) -> dns.update.UpdateMessage:
    msg = dns.message.from_wire(message)
    assert isinstance(msg, dns.update.UpdateMessage)
    assert msg.opcode() == dns.opcode.UPDATE
    return msg


def rows(section: list[dns.rrset.RRset]) -> list[tuple[str, str, str, int, str]]:
    """(owner, class, type, ttl, data) of every RR of a section, in order (empty data: a set delete)."""
    out = []
    for rrset in section:
        cls, rtype = dns.rdataclass.to_text(rrset.deleting or rrset.rdclass), dns.rdatatype.to_text(rrset.rdtype)
        if not len(rrset):
            out.append((rrset.name.to_text(), cls, rtype, rrset.ttl, ""))
        out += [(rrset.name.to_text(), cls, rtype, rrset.ttl, rd.to_text()) for rd in rrset]
    return out


def test_one_part_expects_the_exact_live_soa_and_sets_the_next_serial() -> None:
    live = zone(*BASE, ("www", 300, "A", "192.0.2.1"), ("old", 300, "TXT", '"bye"'))
    wanted = zone(*BASE, ("www", 300, "A", "192.0.2.1"), ("www", 300, "A", "192.0.2.2"), ("new", 60, "MX", "10 mx"))
    [part] = build_update(live, wanted, today=TODAY)
    msg = parsed(part.message)
    assert [(z.name.to_text(), dns.rdatatype.to_text(z.rdtype)) for z in msg.zone] == [("example.org.", "SOA")]
    # RFC 2136 2.4.2: class IN, TTL 0, the whole SOA as it is now
    assert rows(msg.prerequisite) == [
        ("example.org.", "IN", "SOA", 0, "ns1.example.org. hostmaster.example.org. 2026010100 3600 900 604800 300")]
    assert rows(msg.update) == [
        ("example.org.", "IN", "SOA", 3600, "ns1.example.org. hostmaster.example.org. 2026120200 3600 900 604800 300"),
        ("new.example.org.", "IN", "MX", 60, "10 mx.example.org."),
        ("old.example.org.", "ANY", "TXT", 0, ""),  # RFC 2136 2.5.2: the whole set goes
        ("www.example.org.", "IN", "A", 300, "192.0.2.2"),
    ]
    assert part.serial == 2026120200 and part.expected.serial == 2026010100


def test_nothing_to_change_is_no_message() -> None:
    assert build_update(zone(*BASE), zone(*BASE), today=TODAY) == []


def test_a_removed_record_of_a_kept_set_is_a_class_none_delete_before_the_owners_adds() -> None:
    live = zone(*BASE, ("www", 300, "A", "192.0.2.1"), ("www", 300, "A", "192.0.2.2"))
    wanted = zone(*BASE, ("www", 300, "A", "192.0.2.1"), ("www", 300, "AAAA", "2001:db8::1"))
    [part] = build_update(live, wanted, today=TODAY)
    assert rows(parsed(part.message).update)[1:] == [
        ("www.example.org.", "NONE", "A", 0, "192.0.2.2"),  # RFC 2136 2.5.4
        ("www.example.org.", "IN", "AAAA", 300, "2001:db8::1"),
    ]


def test_a_name_turning_into_a_cname_loses_its_data_first() -> None:
    live = zone(*BASE, ("www", 300, "A", "192.0.2.1"))
    wanted = zone(*BASE, ("www", 300, "CNAME", "ns1"))
    ops = operations(diff_zones(live, wanted), live, wanted)
    assert [(op.kind, op.code) for op in ops] == [(DELETE_RRSET, 1), (ADD, 5)]  # RFC 2136 3.4.2.2


def test_a_ttl_change_sends_the_set_again_and_the_apex_ns_set_is_never_deleted_whole() -> None:
    live = zone(*BASE, ("@", 3600, "NS", "ns2"), ("mx", 300, "A", "192.0.2.25"), ("mx", 300, "A", "192.0.2.26"))
    wanted = zone(SOA, ("@", 7200, "NS", "ns1"), ("@", 7200, "NS", "ns2"), ("ns1", 3600, "A", "192.0.2.53"),
                  ("mx", 60, "A", "192.0.2.25"), ("mx", 60, "A", "192.0.2.26"))
    ops = operations(diff_zones(live, wanted), live, wanted)
    assert [(op.kind, op.owner.to_text(), op.ttl) for op in ops] == [
        (ADD, "example.org.", 7200), (ADD, "example.org.", 7200),  # RFC 2136 3.4.2.3: no class ANY at the apex
        (DELETE_RRSET, "mx.example.org.", 0), (ADD, "mx.example.org.", 60), (ADD, "mx.example.org.", 60)]


def test_apex_changes_are_the_ns_set_and_the_soa_but_not_its_serial() -> None:
    fixed = [("@", 3600, "SOA", "ns1 hostmaster 2026010105 3600 900 604800 300"), *BASE[1:]]
    assert apex_changes(diff_zones(zone(*BASE, auto=False), zone(*fixed, auto=False)), ORIGIN) == []
    timers = [("@", 3600, "SOA", "ns1 hostmaster 2026010100 7200 900 604800 300"), *BASE[1:]]
    assert [c.rtype for c in apex_changes(diff_zones(zone(*BASE), zone(*timers)), ORIGIN)] == ["SOA", "SOA"]
    ns = [*BASE, ("@", 3600, "NS", "ns2")]
    assert [(c.kind, c.rtype) for c in apex_changes(diff_zones(zone(*BASE), zone(*ns)), ORIGIN)] == [("+", "NS")]
    assert apex_changes(diff_zones(zone(*BASE), zone(*BASE, ("www", 1, "A", "192.0.2.9"))), ORIGIN) == []


def test_a_change_set_over_64k_is_split_and_each_part_expects_the_serial_before_it() -> None:
    live = zone(*BASE)
    txt = [(f"t{i}", 300, "TXT", f'"{i:05d} ' + "x" * 80 + '"') for i in range(3000)]
    wanted = zone(*BASE, *txt)
    reserve = 100  # room for the TSIG record the sender appends
    parts = build_update(live, wanted, reserve=reserve, today=TODAY)
    assert len(parts) >= 4  # ~3000 x ~100 octets
    expected = 2026010100
    seen: set[str] = set()
    for part in parts:
        assert len(part.message) <= 65535 - reserve
        msg = parsed(part.message)
        [prereq] = rows(msg.prerequisite)
        assert prereq[4].split()[2] == str(expected)  # guarded by the serial the part before set
        updates = rows(msg.update)
        assert updates[0][2] == "SOA" and updates[0][4].split()[2] == str(part.serial)
        assert serial_gt_plain(part.serial, expected)
        seen.update(r[0] for r in updates[1:])
        expected = part.serial
    assert seen == {f"t{i}.example.org." for i in range(3000)}  # every record, once
    assert sum(len(p.ops) for p in parts) == 3000


def serial_gt_plain(a: int, b: int) -> bool:
    return 0 < (a - b) % (1 << 32) < (1 << 31)


def test_an_owner_with_more_data_than_one_message_spans_parts() -> None:
    big = [("big", 300, "TXT", f'"{i:04d} ' + "y" * 200 + '"') for i in range(600)]
    parts = build_update(zone(*BASE), zone(*BASE, *big), today=TODAY)
    assert len(parts) >= 2 and sum(len(p.ops) for p in parts) == 600


def test_the_serial_chain_follows_the_zones_rule() -> None:
    assert serial_chain(2026010100, 3, None, TODAY) == [2026120200, 2026120201, 2026120202]  # auto: YYYYMMDDnn
    assert serial_chain(2026120205, 2, None, TODAY) == [2026120206, 2026120207]  # later today: +1
    assert serial_chain(3000000000, 1, None, TODAY) == [3000000001]  # not a date serial: +1 (RFC 1982)
    assert serial_chain(10, 3, 50, TODAY) == [11, 12, 50]  # a fixed serial: the last part sets it
    with pytest.raises(UpdateError, match="not greater than the live serial 10"):
        serial_chain(10, 1, 10, TODAY)
    with pytest.raises(UpdateError, match="plus the 2 parts"):
        serial_chain(10, 3, 12, TODAY)


def test_a_fixed_serial_zone_gets_its_own_serial_and_a_serial_only_change_is_one_soa_update() -> None:
    fixed = [("@", 3600, "SOA", "ns1 hostmaster 2026010107 3600 900 604800 300"), *BASE[1:]]
    [part] = build_update(zone(*BASE, auto=False), zone(*fixed, auto=False), today=TODAY)
    assert part.serial == 2026010107 and part.ops == ()
    assert len(rows(parsed(part.message).update)) == 1


def test_the_dry_run_text_is_nsupdate_commands() -> None:
    [part] = build_update(zone(*BASE, ("a", 60, "A", "192.0.2.1")), zone(*BASE, ("b", 60, "A", "192.0.2.2")),
                          today=TODAY)
    assert part.to_text(ORIGIN).splitlines() == [
        "zone example.org.",
        "prereq yxrrset example.org. SOA ns1.example.org. hostmaster.example.org. 2026010100 3600 900 604800 300",
        "update add example.org. 3600 SOA ns1.example.org. hostmaster.example.org. 2026120200 3600 900 604800 300",
        "update delete a.example.org. A",
        "update add b.example.org. 60 A 192.0.2.2",
    ]
    assert DELETE == "delete"
