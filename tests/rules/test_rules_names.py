"""Names: targets are host names and never addresses; owners and wildcards are well formed."""

from __future__ import annotations

from collections.abc import Callable

from zonetool.names import Name
from zonetool.rules.names import looks_like_address

ORIGIN = Name.from_text("example.com.")

MAIL_OK = """
@ MX 10 mx1
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject"
mx1 A 192.0.2.10
"""


def test_looks_like_address() -> None:
    assert looks_like_address(Name.from_text("192.0.2.1", ORIGIN), ORIGIN) == "192.0.2.1"
    assert looks_like_address(Name.from_text("192.0.2.1."), ORIGIN) == "192.0.2.1"
    assert looks_like_address(Name.from_text("12345", ORIGIN), ORIGIN) == "12345"
    assert looks_like_address(Name.from_text("mx1", ORIGIN), ORIGIN) is None
    assert looks_like_address(Name.from_text("3com.example.net."), ORIGIN) is None
    assert looks_like_address(Name.from_text("1.2.3.example.net."), ORIGIN) is None


def test_target_is_address(findings: Callable) -> None:
    assert findings(MAIL_OK) == []
    # "10 192.0.2.10" written without a dot becomes 192.0.2.10.example.com.
    report = findings(MAIL_OK + "sub MX 10 192.0.2.10\nsub2 NS 198.51.100.1.\n_sip._tcp SRV 0 0 5060 10.0.0.1")
    assert sorted(report.lines("target-is-address")) == [5, 6, 7]
    assert "192.0.2.10" in report[0].message
    # one mistake, one finding: no "no address" or "not a host name" on top
    assert set(report.codes()) == {"target-is-address"}


def test_target_not_hostname(findings: Callable) -> None:
    assert findings(MAIL_OK + "_sip._tcp SRV 0 0 5060 sip-1\nsip-1 A 192.0.2.5") == []
    report = findings(MAIL_OK + "sub MX 10 mail_host.example.net.\n_sip._tcp SRV 0 0 5060 -sip.example.net.")
    assert sorted(report.lines("target-not-hostname")) == [5, 6]


def test_owner_chars(findings: Callable) -> None:
    ok = "_dmarc.sub TXT x\n*.dev A 192.0.2.1\n0/26.rev NS ns1\nmy-host_1 A 192.0.2.2"
    assert "owner-chars" not in findings(ok).codes()
    report = findings(r"my\032host A 192.0.2.1" + "\nhost A 192.0.2.2\nb\\195\\169 A 192.0.2.3")
    assert sorted(report.lines("owner-chars")) == [1, 3]


def test_wildcard_label(findings: Callable) -> None:
    assert findings("*.dev A 192.0.2.1\n* A 192.0.2.2") == []
    report = findings("dev.* A 192.0.2.1\na*b A 192.0.2.2\n*.ok A 192.0.2.3")
    assert sorted(report.lines("wildcard-label")) == [1, 2]


def test_name_repeats_origin(findings: Callable) -> None:
    # written with their dots, or relative: fine
    ok = MAIL_OK + "sub MX 10 mx2.example.com.\nwww CNAME mx1\nexample TXT fine\nexample.com.sub TXT fine"
    assert "name-repeats-origin" not in findings(ok).codes()
    # issue 11: `mx2.example.com` without its dot became mx2.example.com.example.com.
    report = findings(MAIL_OK + "sub MX 10 mx2.example.com\nwww.example.com A 192.0.2.1\n"
                      "alias CNAME www.Example.COM\n_sip._tcp SRV 0 0 5060 sip.example.com")
    assert sorted(report.lines("name-repeats-origin")) == [5, 6, 7, 8]
    by_line = {f.where.line: f for f in report if f.code == "name-repeats-origin"}
    assert by_line[5].hint is not None and "add a trailing dot: write mx2.example.com." in by_line[5].hint
