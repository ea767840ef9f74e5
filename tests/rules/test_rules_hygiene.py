"""Mail hygiene: SPF and DMARC that agree with what the MX records say."""

from __future__ import annotations

from collections.abc import Callable

RECEIVES = "@ MX 10 mx1\nmx1 A 192.0.2.10\n"
SPF = '@ TXT "v=spf1 mx -all"\n'
DMARC = '_dmarc TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"\n'


def test_receiving_domain_with_spf_and_dmarc_is_clean(findings: Callable) -> None:
    assert findings(RECEIVES + SPF + DMARC) == []


def test_no_mail_no_hygiene_findings(findings: Callable) -> None:
    assert findings("www A 192.0.2.1") == []


def test_spf_missing(findings: Callable) -> None:
    report = findings(RECEIVES + DMARC + '@ TXT "google-site-verification=abc"')
    assert report.codes() == ["spf-missing"]
    assert report.lines("spf-missing") == [1]  # points at the MX that makes the domain receive mail


def test_spf_all(findings: Callable) -> None:
    assert findings(RECEIVES + DMARC + '@ TXT "v=spf1 mx ~all"') == []
    assert findings(RECEIVES + DMARC + '@ TXT "v=spf1 redirect=_spf.example.net"') == []
    assert findings(RECEIVES + DMARC + '@ TXT "v=spf1 mx -all exp=explain._spf.example.com"') == []
    report = findings(RECEIVES + DMARC + '@ TXT "v=spf1 mx ?all"')
    assert report.codes() == ["spf-all"]
    assert report.lines("spf-all") == [4]
    assert "ends in ?all" in report[0].message
    assert "no final 'all'" in findings(RECEIVES + DMARC + '@ TXT "v=spf1 mx"')[0].message
    assert findings(RECEIVES + DMARC + '@ TXT "v=spf1 mx all"').codes() == ["spf-all"]  # "all" is "+all"


def test_spf_null_mx(findings: Callable) -> None:
    assert findings('@ MX 0 .\n@ TXT "v=spf1 -all"') == []
    assert findings('@ MX 0 .\n@ TXT "v=spf1 ip4:192.0.2.0/24 -all"') == []
    report = findings('@ MX 0 .\n@ TXT "v=spf1 ip4:192.0.2.0/24 ~all"')
    assert report.codes() == ["spf-null-mx"]
    assert report.lines("spf-null-mx") == [2]
    bare = findings("@ MX 0 .")
    assert bare.lines("spf-null-mx") == [1] and "publishes no SPF" in bare[0].message


def test_spf_multiple(findings: Callable) -> None:
    report = findings(RECEIVES + DMARC + SPF + '@ TXT "v=spf1 ip4:192.0.2.1 -all"')
    assert report.codes() == ["spf-multiple"]
    assert report.lines("spf-multiple") == [5]


def test_dmarc_missing(findings: Callable) -> None:
    report = findings(RECEIVES + SPF + '_dmarc TXT "not a policy"')
    assert report.codes() == ["dmarc-missing"]
    assert report.lines("dmarc-missing") == [1]


def test_dmarc_policy(findings: Callable) -> None:
    report = findings(RECEIVES + SPF + '_dmarc TXT "v=DMARC1; rua=mailto:d@example.com"')
    assert report.codes() == ["dmarc-policy"]
    assert report.lines("dmarc-policy") == [4]


def test_dmarc_multiple(findings: Callable) -> None:
    report = findings(RECEIVES + SPF + DMARC + '_dmarc TXT "v=DMARC1; p=none"')
    assert report.codes() == ["dmarc-multiple"]
    assert report.lines("dmarc-multiple") == [5]
