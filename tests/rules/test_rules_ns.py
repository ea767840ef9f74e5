"""NS: two apex servers, reachable targets, glue, nothing hidden below a delegation."""

from __future__ import annotations

from collections.abc import Callable

SOA = "@ SOA ns1 hostmaster 1 3600 900 1209600 300\n"


def test_clean_delegation(findings: Callable) -> None:
    # glue at ns1.sub and a DS at the cut are the only data allowed there (RFC 4035 / RFC 1034 4.2.1)
    zone = "sub NS ns1.sub\nsub NS ns.example.net.\nns1.sub A 192.0.2.60\nsub DS \\# 4 abcdabcd\nsub2 NS ns1"
    assert findings(zone) == []


def test_ns_apex_missing(findings: Callable) -> None:
    assert findings(SOA + "@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\nns2 A 192.0.2.2", base=False) == []
    report = findings(SOA + "ns1 A 192.0.2.1", base=False)
    assert report.codes() == ["ns-apex-missing"]
    assert report.lines("ns-apex-missing") == [1]  # points at the SOA


def test_ns_apex_count(findings: Callable) -> None:
    report = findings(SOA + "@ NS ns1\nns1 A 192.0.2.1", base=False)
    assert report.codes() == ["ns-apex-count"]
    assert report.lines("ns-apex-count") == [2]


def test_ns_target_cname(findings: Callable) -> None:
    report = findings("sub NS dns\ndns CNAME ns1")
    assert report.codes() == ["ns-target-cname"]
    assert report.lines("ns-target-cname") == [1]


def test_ns_target_no_address(findings: Callable) -> None:
    report = findings(SOA + "@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1", base=False)
    assert report.codes() == ["ns-target-no-address"]
    assert report.lines("ns-target-no-address") == [3]
    # `nameservers:` takes no `addresses:`, so the hint must not offer it
    assert [f.hint for f in report] == ["add an A/AAAA record for ns2"]


def test_glue_missing(findings: Callable) -> None:
    report = findings("sub NS ns1.sub\nsub NS ns2.sub\nns1.sub A 192.0.2.60")
    assert report.codes() == ["glue-missing"]
    assert report.lines("glue-missing") == [2]


def test_occluded_data(findings: Callable) -> None:
    zone = "sub NS ns1.sub\nsub NS ns.example.net.\nns1.sub A 192.0.2.60\n"
    report = findings(zone + "www.sub A 192.0.2.61\nsub MX 10 mx.example.net.\nns1.sub TXT glue-with-text")
    assert report.codes().count("occluded-data") == 3
    assert sorted(report.lines("occluded-data")) == [4, 5, 6]
    assert set(report.codes()) == {"occluded-data"}


def test_signed_delegation_is_not_occluded(findings: Callable) -> None:
    # RFC 4035: a signed parent holds DS, NSEC and RRSIG at the cut; none of it is occluded
    zone = "sub NS ns.example.net.\nsub DS \\# 4 abcdabcd\nsub NSEC \\# 3 000000\nsub RRSIG \\# 3 00002b\n"
    assert findings(zone) == []
    assert findings(zone + "sub TXT hidden").lines("occluded-data") == [5]
