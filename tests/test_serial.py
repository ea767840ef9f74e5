"""Auto serials: same content -> same serial; any change -> a strictly greater date-based one."""

from __future__ import annotations

from datetime import date

from zonetool.compile import compile_zone
from zonetool.serial import content_digest, date_serial, next_serial, serial_gt, stamp
from zonetool.zone import Zone

DAY = date(2025, 6, 7)


def zone(**records: object) -> Zone:
    spec = {"origin": "example.com", "nameservers": ["ns1", "ns2"], "records": {"ns1": {"A": "192.0.2.1"}, **records}}
    z, findings = compile_zone(spec, None, today=DAY)
    assert z is not None and not findings
    return z


def test_date_serial() -> None:
    assert date_serial(DAY) == 2025060700
    assert date_serial(date(1999, 12, 31)) == 1999123100


def test_digest_ignores_serial_and_order_but_not_content() -> None:
    a = zone(www={"A": ["192.0.2.1", "192.0.2.2"]})
    b = zone(www={"A": ["192.0.2.2", "192.0.2.1"]})
    assert content_digest(a) == content_digest(b)
    a.set_serial(1)
    assert content_digest(a) == content_digest(b)
    assert content_digest(zone(www={"A": "192.0.2.3"})) != content_digest(b)
    assert content_digest(zone(www={"A": "192.0.2.1", "ttl": 60})) != content_digest(zone(www={"A": "192.0.2.1"}))
    assert content_digest(zone(WWW={"A": "192.0.2.1"})) != content_digest(zone(www={"A": "192.0.2.1"}))


def test_next_serial_rules() -> None:
    assert next_serial(None, None, "d1", DAY) == 2025060700
    assert next_serial(2025060700, "d1", "d1", DAY) == 2025060700  # unchanged content keeps its serial
    assert next_serial(2025060700, "d1", "d2", DAY) == 2025060701  # second change on the same day
    assert next_serial(2025060599, "d1", "d2", DAY) == 2025060700  # a new day starts at nn = 00
    assert next_serial(2025060799, "d1", "d2", DAY) == 2025060800  # past 99: borrow from tomorrow
    assert next_serial(7, "d1", "d2", DAY) == 2025060700  # a small counter serial moves to the date scheme
    assert next_serial(4000000000, "d1", "d2", DAY) == 4000000001  # date would be smaller (RFC 1982)
    assert next_serial(4294967295, "d1", "d2", DAY) == 2025060700  # RFC 1982: more than 2**31 ahead = greater
    assert next_serial(4294967295, "d1", "d2", date(2200, 1, 1)) == 0  # wraps modulo 2**32
    assert serial_gt(0, 4294967295)


def test_stamp_sets_auto_serial_only() -> None:
    z = zone(www={"A": "192.0.2.1"})
    assert z.auto_serial and z.soa is not None and z.soa.serial == 2025060700
    serial, digest = stamp(z, 2025060703, "old", DAY)
    assert serial == 2025060704 and z.soa.serial == 2025060704 and digest == content_digest(z)
    assert stamp(z, serial, digest, DAY) == (serial, digest)
    fixed, _ = compile_zone({"origin": "example.com", "nameservers": ["ns1"], "soa": {"serial": 42}}, None)
    assert fixed is not None and not fixed.auto_serial
    stamp(fixed, 100, "x", DAY)
    assert fixed.soa is not None and fixed.soa.serial == 42
