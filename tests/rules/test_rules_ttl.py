"""TTL, duplicates, out-of-zone owners, SOA timers and CAA: one passing and one failing zone each."""

from __future__ import annotations

from collections.abc import Callable

from zonetool.names import Name
from zonetool.rrtypes import SOA
from zonetool.zone import Record, Zone


def test_base_zone_is_clean(findings: Callable) -> None:
    assert findings("") == []


def test_ttl_range(zone: Callable, findings: Callable) -> None:
    assert findings("www 2147483647 A 192.0.2.1") == []
    z: Zone = zone("www 60 A 192.0.2.1")
    rec = z.rrset(Name.from_text("www.example.com."), 1).records[0]
    z.remove(rec.owner)
    z.add(Record(rec.owner, 2147483648, rec.rdata, rec.where))
    from zonetool.rules import run_rules

    assert [f.where.line for f in run_rules(z) if f.code == "ttl-range"] == [1]


def test_rrset_ttl_mismatch(findings: Callable) -> None:
    assert findings("www 300 A 192.0.2.1\nwww 300 A 192.0.2.2\nwww 60 AAAA 2001:db8::1") == []
    report = findings("www 300 A 192.0.2.1\nwww 60 A 192.0.2.2")
    assert report.lines("rrset-ttl-mismatch") == [2]


def test_duplicate_record(findings: Callable) -> None:
    assert findings("www A 192.0.2.1\nwww A 192.0.2.2") == []
    report = findings("www A 192.0.2.1\nWWW A 192.0.2.1")
    assert report.lines("duplicate-record") == [2]


def test_owner_outside_origin(findings: Callable) -> None:
    assert findings("www.example.com. A 192.0.2.1") == []
    report = findings("www.example.org. A 192.0.2.1")
    assert report.lines("owner-outside-origin") == [1]
    assert report[0].hint and "trailing dot" in report[0].hint


def test_soa_missing(findings: Callable) -> None:
    assert "soa-missing" not in findings("").codes()
    report = findings("@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\nns2 A 192.0.2.2", base=False)
    assert report.codes() == ["soa-missing"]


def _soa(refresh: int, retry: int, expire: int, minimum: int) -> str:
    soa = f"@ SOA ns1 hostmaster 1 {refresh} {retry} {expire} {minimum}"
    return soa + "\n@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\nns2 A 192.0.2.2"


def test_soa_timers_defaults_pass(findings: Callable) -> None:
    # the format's defaults: refresh 1h, retry 15m, expire 1w, negative 5m
    assert findings(_soa(3600, 900, 604800, 300), base=False) == []
    assert findings(_soa(7200, 1800, 1209600, 3600), base=False) == []


def test_soa_refresh(findings: Callable) -> None:
    assert findings(_soa(60, 30, 604800, 300), base=False).lines("soa-refresh") == [1]
    assert findings(_soa(86400, 900, 1209600, 300), base=False).codes() == ["soa-refresh"]


def test_soa_retry(findings: Callable) -> None:
    assert findings(_soa(3600, 3600, 604800, 300), base=False).codes() == ["soa-retry"]


def test_soa_expire(findings: Callable) -> None:
    assert findings(_soa(3600, 900, 86400, 300), base=False).codes() == ["soa-expire"]
    report = findings(_soa(43200, 40000, 80000, 300), base=False)
    assert report.codes() == ["soa-expire"] and "refresh + retry" in report[0].message


def test_soa_minimum(findings: Callable) -> None:
    assert findings(_soa(3600, 900, 604800, 86400), base=False) == []
    assert findings(_soa(3600, 900, 604800, 172800), base=False).codes() == ["soa-minimum"]


def test_soa_rule_reads_soa_dataclass() -> None:
    # guard: the rules read these field names
    assert {"refresh", "retry", "expire", "minimum"} <= set(SOA.__dataclass_fields__)


def test_caa_unknown_tag(findings: Callable) -> None:
    ok = '@ CAA 0 issue "letsencrypt.org"\n@ CAA 0 issuewild ";"\n@ CAA 0 contactemail "sec@example.com"'
    assert findings(ok) == []
    report = findings('@ CAA 0 issue "letsencrypt.org"\n@ CAA 128 tbs "x"')
    assert report.lines("caa-unknown-tag") == [2]
    assert "critical" in report[0].message


def test_caa_iodef(findings: Callable) -> None:
    assert findings('@ CAA 0 iodef "mailto:sec@example.com"\n@ CAA 0 iodef "https://example.com/caa"') == []
    report = findings('@ CAA 0 iodef "sec@example.com"')
    assert report.lines("caa-iodef") == [1]


def test_caa_issue_value(findings: Callable) -> None:
    ok = '@ CAA 0 issue "letsencrypt.org; validationmethods=dns-01"\n@ CAA 0 issue ";"\n@ CAA 0 issuewild "pki.goog"'
    assert findings(ok) == []
    report = findings('@ CAA 0 issue "letsencrypt.org"\n@ CAA 0 issue "https://letsencrypt.org/"')
    assert report.lines("caa-issue-value") == [2]


def test_rrsigs_carry_the_ttl_of_what_they_cover(findings: Callable) -> None:
    # RFC 4034 3: RRSIGs of one owner differ in TTL by design; they are not one RRset in RFC 2181's sense
    assert findings("www 300 A 192.0.2.1\nwww 300 RRSIG \\# 3 000001\nwww 60 RRSIG \\# 3 000010") == []
    assert findings("www 300 TXT a\nwww 60 TXT b").lines("rrset-ttl-mismatch") == [2]


def _txt_lines(count: int, size: int) -> str:
    return "\n".join(f'big TXT "{i:05d}{"x" * (size - 5)}"' for i in range(count))


def test_rrset_too_big(findings: Callable) -> None:
    """RFC 1035 4.2.2: the whole RRset must fit one 65,535-octet message (RFC 2181 5.1: never split)."""
    assert findings(_txt_lines(60, 250) + "\n" + "\n".join(f"many A 192.0.{i // 250}.{i % 250}"
                                                          for i in range(3000))) == []
    report = findings(_txt_lines(280, 250))  # 280 x (12 + 251) octets: about 73,600
    assert report.codes() == ["rrset-too-big"]
    assert report.lines("rrset-too-big") == [1]  # the set's first record
    assert "280 records need a 73,67" in report[0].message
    addresses = findings("\n".join(f"many A 10.{i >> 16}.{(i >> 8) & 255}.{i & 255}" for i in range(4200)))
    assert addresses.codes() == ["rrset-too-big"]  # 4,200 x 16 octets: short records add up too
