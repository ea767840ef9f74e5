"""MX: exchanges are real hosts with addresses, null MX exactly as RFC 7505 writes it."""

from __future__ import annotations

from collections.abc import Callable

HYGIENE = '@ TXT "v=spf1 mx -all"\n_dmarc TXT "v=DMARC1; p=reject"\n'


def test_good_mail_zone_is_clean(findings: Callable) -> None:
    zone = "@ MX 10 mx1\n@ MX 20 mx2\n@ MX 50 backup.example.net.\nmx1 A 192.0.2.10\nmx2 AAAA 2001:db8::11\n"
    assert findings(zone + HYGIENE) == []


def test_null_mx_not_alone(findings: Callable) -> None:
    assert findings('@ MX 0 .\n@ TXT "v=spf1 -all"') == []
    report = findings("@ MX 10 mx1\n@ MX 0 .\nmx1 A 192.0.2.10\n" + HYGIENE)
    assert report.lines("null-mx-not-alone") == [2]


def test_null_mx_preference(findings: Callable) -> None:
    report = findings('@ MX 10 .\n@ TXT "v=spf1 -all"')
    assert report.codes() == ["null-mx-preference"]
    assert report.lines("null-mx-preference") == [1]


def test_mx_target_cname(findings: Callable) -> None:
    report = findings("@ MX 10 mail\nmail CNAME mx1\nmx1 A 192.0.2.10\n" + HYGIENE)
    assert report.codes() == ["mx-target-cname"]
    assert report.lines("mx-target-cname") == [1]
    assert "mx1" in (report[0].hint or "")


def test_mx_target_no_address(findings: Callable) -> None:
    # out-of-zone exchanges and wildcard-covered names are not ours to check / do resolve
    assert findings("@ MX 10 mx.example.net.\n@ MX 20 a.mail\n*.mail A 192.0.2.9\n" + HYGIENE) == []
    report = findings("@ MX 10 mx1\n@ MX 20 mx2\nmx1 A 192.0.2.10\n" + HYGIENE)
    assert report.codes() == ["mx-target-no-address"]
    assert report.lines("mx-target-no-address") == [2]


def test_mx_duplicate_exchange(findings: Callable) -> None:
    report = findings("@ MX 10 mx1\n@ MX 20 MX1\nmx1 A 192.0.2.10\n" + HYGIENE)
    assert report.codes() == ["mx-duplicate-exchange"]
    assert report.lines("mx-duplicate-exchange") == [2]
