"""The mail policy families (spf, dmarc, dkim, mtasts, tlsrpt, dane): each rule passes a good record and
fails a bad one at its line; the cross-zone ones read the zones validated together (peers)."""

from __future__ import annotations

import base64
from collections.abc import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.rules.conftest import Report, build_zone
from zonetool.findings import Where
from zonetool.names import Name
from zonetool.rules import run_rules
from zonetool.rules.base import Peers

# A mail domain that passes every rule: MX with an address, SPF, DMARC, and the policy names.
MAIL = '@ MX 10 mx1\nmx1 A 192.0.2.10\n@ TXT "v=spf1 mx -all"\n_dmarc TXT "v=DMARC1; p=reject"\n'
SHA256 = "ab" * 32


def spf(text: str) -> str:
    """Line 1 of a test zone: the apex SPF record (the MAIL lines follow, with their own SPF gone)."""
    return f'@ TXT "{text}"\n' + MAIL.replace('@ TXT "v=spf1 mx -all"\n', "")


def rsa_key(bits: int) -> str:
    """Base64 SubjectPublicKeyInfo of an RSA public key of `bits` (a made-up odd modulus: only its size matters)."""
    key = rsa.RSAPublicNumbers(65537, (1 << (bits - 1)) + 111).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def _ed25519() -> str:
    raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode()


def txt(text: str) -> str:
    """TXT rdata for a long text: 255-octet quoted strings (RFC 7208 3.3 joins them back)."""
    return " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255))


def test_good_mail_zone_is_clean(findings: Callable) -> None:
    zone = (
        MAIL.replace("mx -all", "mx ip4:192.0.2.0/24 ip6:2001:db8::/32 a:mx1.example.com include:_spf.example.com -all")
        + '_spf TXT "v=spf1 ip4:198.51.100.0/24 -all"\n'
        + '_dmarc TXT "v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; aspf=r; fo=0:d; '
        'rua=mailto:dmarc@example.com,mailto:d2@example.com!10m; ruf=mailto:f@example.com; t=n; psd=n"\n'
        + f"s2048._domainkey TXT {txt('v=DKIM1; k=rsa; p=' + rsa_key(2048))}\n"
        + f'ed._domainkey TXT "v=DKIM1; k=ed25519; p={_ed25519()}"\n'
        + 'old._domainkey TXT "v=DKIM1; p="\n'
        + '_mta-sts TXT "v=STSv1; id=20260101T000000"\nmta-sts A 192.0.2.80\n'
        + '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@example.com,https://reports.example.com/tls"\n'
        + f"_25._tcp.mx1 TLSA 3 1 1 {SHA256}\n@ DNSKEY 257 3 13 {base64.b64encode(bytes(64)).decode()}\n"
    )
    zone = zone.replace('_dmarc TXT "v=DMARC1; p=reject"\n', "", 1)
    assert [f.format() for f in findings(zone)] == []


# -- SPF -------------------------------------------------------------------------------------------
def test_spf_syntax(findings: Callable) -> None:
    assert "spf-syntax" not in findings(spf("v=spf1 include:_spf.example.net ?all")).codes()
    report = findings(spf("v=spf1 include: a:bad..name -all"))
    assert report.lines("spf-syntax") == [1, 1]
    assert "character 8" in next(f.message for f in report if f.code == "spf-syntax")


def test_spf_unknown_mechanism(findings: Callable) -> None:
    assert "spf-unknown-mechanism" not in findings(spf("v=spf1 mx foo=bar -all")).codes()  # unknown modifier: ignored
    report = findings(spf("v=spf1 mx ipv4:192.0.2.1 -all"))
    assert report.lines("spf-unknown-mechanism") == [1]
    assert "`ipv4`" in report[0].message and "character 11" in report[0].message


def test_spf_bad_ip(findings: Callable) -> None:
    assert "spf-bad-ip" not in findings(spf("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/48 a/24 mx//64 -all")).codes()
    for bad in ("ip4:192.0.2.300", "ip4:192.0.2.0/33", "ip6:2001:db8::/129", "ip6:192.0.2.1", "mx/40"):
        report = findings(spf(f"v=spf1 mx {bad} -all"))
        assert report.lines("spf-bad-ip") == [1], bad


def test_spf_version(findings: Callable) -> None:
    assert "spf-version" not in findings(MAIL + '@ TXT "google-site-verification=abc"').codes()
    report = findings(MAIL.replace('"v=spf1 mx -all"', '"v=spf1mx -all"'))
    assert report.lines("spf-version") == [3]


def test_spf_ptr(findings: Callable) -> None:
    report = findings(spf("v=spf1 mx ptr -all"))
    assert report.lines("spf-ptr") == [1]
    assert "spf-ptr" not in findings(MAIL).codes()


def test_spf_redirect_with_all(findings: Callable) -> None:
    assert "spf-redirect-with-all" not in findings(spf("v=spf1 mx redirect=_spf.example.net")).codes()
    report = findings(spf("v=spf1 mx redirect=_spf.example.net -all"))
    assert report.lines("spf-redirect-with-all") == [1]


def test_spf_too_long(findings: Callable) -> None:
    nets = " ".join(f"ip4:198.51.{i}.0/24" for i in range(22))
    assert "spf-too-long" not in findings(f"@ TXT {txt('v=spf1 ' + nets + ' -all')}\n" + MAIL[:28]).codes()
    nets = " ".join(f"ip6:2001:db8:{i:x}::/48" for i in range(30))
    report = findings(f"@ TXT {txt('v=spf1 ' + nets + ' -all')}\n" + MAIL[:28])
    assert report.lines("spf-too-long") == [1]


def test_spf_too_many_lookups(findings: Callable) -> None:
    ten = " ".join(f"include:s{i}.example.net" for i in range(10))
    assert "spf-too-many-lookups" not in findings(spf(f"v=spf1 {ten} -all")).codes()
    report = findings(spf(f"v=spf1 mx {ten} -all"))
    assert report.lines("spf-too-many-lookups") == [1]
    assert "11 DNS lookups" in report[0].message and "may cost more" in report[0].message


def test_spf_too_many_lookups_follows_includes_in_this_zone(findings: Callable) -> None:
    inner = " ".join(f"a:h{i}.example.net" for i in range(9))
    assert "spf-too-many-lookups" not in findings(spf("v=spf1 include:_spf.example.com -all")
                                                  + f'_spf TXT "v=spf1 {inner} -all"\n').codes()  # 1 + 9
    report = findings(spf("v=spf1 mx include:_spf.example.com -all") + f'_spf TXT "v=spf1 {inner} -all"\n')
    assert report.lines("spf-too-many-lookups") == [1]  # mx + include + the 9 inside it; _spf alone needs 9
    assert "needs 11 DNS lookups" in report[0].message and "may cost more" not in report[0].message


def test_spf_too_many_lookups_follows_includes_into_peer_zones() -> None:
    inner = " ".join(f"a:h{i}.example.org" for i in range(9))
    peer = build_zone(f'_spf TXT "v=spf1 {inner} -all"', origin=Name.from_text("example.net."), file="net.zone")
    zone = build_zone(spf("v=spf1 mx include:_spf.example.net -all"))
    alone = Report(run_rules(zone))
    together = Report(run_rules(zone, peers={peer.origin: peer}))
    assert "spf-too-many-lookups" not in alone.codes()
    assert together.lines("spf-too-many-lookups") == [1]


def test_spf_include_loop(findings: Callable) -> None:
    fine = findings(spf("v=spf1 include:_a.example.com -all") + '_a TXT "v=spf1 -all"')
    assert "spf-include-loop" not in fine.codes()
    report = findings(spf("v=spf1 include:_a.example.com -all") + '_a TXT "v=spf1 include:example.com -all"')
    assert report.lines("spf-include-loop") == [1, 5]


def test_spf_include_no_spf(findings: Callable) -> None:
    report = findings(spf("v=spf1 include:_a.example.com -all") + '_a TXT "v=spf1 -all"')
    assert "spf-include-no-spf" not in report.codes()
    report = findings(spf("v=spf1 include:_a.example.com -all") + '_a TXT "hello"')
    assert report.lines("spf-include-no-spf") == [1]


def test_spf_void_lookup(findings: Callable) -> None:
    assert "spf-void-lookup" not in findings(spf("v=spf1 mx a:mx1.example.com a:elsewhere.example.net -all")).codes()
    report = findings(spf("v=spf1 mx a:nohost.example.com -all"))
    assert report.lines("spf-void-lookup") == [1]
    assert "nohost.example.com" in report[0].message


def test_spf_too_many_void_lookups(findings: Callable) -> None:
    two = "a:n1.example.com a:n2.example.com"
    assert "spf-too-many-void-lookups" not in findings(spf(f"v=spf1 {two} -all")).codes()
    report = findings(spf(f"v=spf1 {two} exists:n3.example.com -all"))
    assert report.lines("spf-too-many-void-lookups") == [1]
    assert report.lines("spf-void-lookup") == [1, 1, 1]


# -- DMARC -----------------------------------------------------------------------------------------
def dmarc(text: str) -> str:
    return f'_dmarc TXT "{text}"\n' + MAIL.replace('_dmarc TXT "v=DMARC1; p=reject"\n', "")


def test_dmarc_version(findings: Callable) -> None:
    assert "dmarc-version" not in findings(dmarc("v=DMARC1;p=none")).codes()
    report = findings(dmarc("p=reject; v=DMARC1"))
    assert report.lines("dmarc-version") == [1]


def test_dmarc_syntax(findings: Callable) -> None:
    report = findings(dmarc("v=DMARC1; p=reject; rua mailto:d@example.com; p=none"))
    assert report.lines("dmarc-syntax") == [1, 1]
    assert "character 21" in report[0].message


def test_dmarc_unknown_tag(findings: Callable) -> None:
    report = findings(dmarc("v=DMARC1; p=reject; ruaa=mailto:d@example.com"))
    assert report.lines("dmarc-unknown-tag") == [1]


def test_dmarc_tag_value(findings: Callable) -> None:
    for bad in ("pct=150", "adkim=x", "sp=block", "np=all", "fo=2", "t=maybe", "psd=1", "ri=daily", "rf=json"):
        report = findings(dmarc(f"v=DMARC1; p=reject; {bad}"))
        assert report.lines("dmarc-tag-value") == [1], bad


def test_dmarc_removed_tag(findings: Callable) -> None:
    assert "dmarc-removed-tag" not in findings(dmarc("v=DMARC1; p=reject; t=y")).codes()
    report = findings(dmarc("v=DMARC1; p=reject; pct=50; ri=3600"))
    assert report.lines("dmarc-removed-tag") == [1, 1] and "`pct` at character 21" in report[0].message


def test_dmarc_report_uri(findings: Callable) -> None:
    report = findings(dmarc("v=DMARC1; p=reject; rua=dmarc@example.com; ruf=https://example.com/r"))
    assert report.lines("dmarc-report-uri") == [1, 1]
    assert "mailto:dmarc@example.com" in report[0].message


def test_dmarc_too_many_uris(findings: Callable) -> None:
    two = "mailto:a@example.com,mailto:b@example.com"
    assert "dmarc-too-many-uris" not in findings(dmarc(f"v=DMARC1; p=reject; rua={two}")).codes()
    report = findings(dmarc(f"v=DMARC1; p=reject; rua={two},mailto:c@example.com"))
    assert report.lines("dmarc-too-many-uris") == [1]


def test_dmarc_external_report() -> None:
    zone = build_zone(dmarc("v=DMARC1; p=reject; rua=mailto:d@reports.example.net"))
    without = build_zone("@ TXT \"v=spf1 -all\"", origin=Name.from_text("example.net."), file="net.zone")
    assert "dmarc-external-report" not in Report(run_rules(zone)).codes()  # example.net not validated here
    report = Report(run_rules(zone, peers={without.origin: without}))
    assert report.lines("dmarc-external-report") == [1]
    assert "example.com._report._dmarc.reports.example.net." in (report[0].hint or "")
    consent = build_zone('example.com._report._dmarc.reports TXT "v=DMARC1"', origin=without.origin, file="net.zone")
    assert "dmarc-external-report" not in Report(run_rules(zone, peers={consent.origin: consent})).codes()
    # RFC 7489 7.1 is a DNS query: a report domain that takes every sender's reports may answer by a wildcard
    wildcard = build_zone('*._report._dmarc.reports TXT "v=DMARC1"', origin=without.origin, file="net.zone")
    assert "dmarc-external-report" not in Report(run_rules(zone, peers={wildcard.origin: wildcard})).codes()
    elsewhere = build_zone('*._report._dmarc.other TXT "v=DMARC1"', origin=without.origin, file="net.zone")
    assert report.lines("dmarc-external-report") == Report(run_rules(zone, peers={elsewhere.origin: elsewhere})).lines(
        "dmarc-external-report")


# -- DKIM ------------------------------------------------------------------------------------------
def dkim(text: str) -> str:
    return f"sel._domainkey TXT {txt(text)}\n" + MAIL


def test_dmarc_no_rua(zone: Callable) -> None:
    """Only records the mail block's `dmarc:` built are judged: a hand-written one is its owner's choice."""
    from zonetool.rrtypes import TXT
    from zonetool.zone import Record

    base = MAIL.replace('_dmarc TXT "v=DMARC1; p=reject"\n', "")
    owner = Name.from_text("_dmarc.example.com.")
    for text, origin, hits in (("v=DMARC1; p=reject", "mail", [9]), ("v=DMARC1; p=reject; rua=mailto:d@example.com",
                               "mail", []), ("v=DMARC1; p=reject", None, [])):
        z = zone(base)
        z.add(Record(owner, 3600, TXT.from_value(text), Where("test.zone", line=9), origin))
        assert Report(run_rules(z)).lines("dmarc-no-rua") == hits, (text, origin)


def test_dkim_syntax(findings: Callable) -> None:
    for bad in ("v=DKIM1; k=rsa", f"k=rsa; v=DKIM1; p={rsa_key(2048)}", f"v=DKIM2; p={rsa_key(2048)}",
                f"v=DKIM1; p={rsa_key(2048)}; junk"):
        assert findings(dkim(bad)).lines("dkim-syntax") == [1], bad


def test_dkim_key_type(findings: Callable) -> None:
    report = findings(dkim(f"v=DKIM1; k=dsa; p={rsa_key(2048)}"))
    assert report.lines("dkim-key-type") == [1]


def test_dkim_key(findings: Callable) -> None:
    for bad in ("v=DKIM1; p=not*base64", "v=DKIM1; p=QUJD", f"v=DKIM1; k=ed25519; p={rsa_key(2048)}"):
        assert findings(dkim(bad)).lines("dkim-key") == [1], bad


def test_dkim_rsa_too_short(findings: Callable) -> None:
    assert "dkim-rsa-too-short" not in findings(dkim(f"v=DKIM1; p={rsa_key(1024)}")).codes()
    assert findings(dkim(f"v=DKIM1; p={rsa_key(768)}")).lines("dkim-rsa-too-short") == [1]


def test_dkim_rsa_weak(findings: Callable) -> None:
    assert "dkim-rsa-weak" not in findings(dkim(f"v=DKIM1; p={rsa_key(2048)}")).codes()
    report = findings(dkim(f"v=DKIM1; p={rsa_key(1024)}"))
    assert report.lines("dkim-rsa-weak") == [1] and "1024 bits" in report[0].message


def test_dkim_testing(findings: Callable) -> None:
    assert "dkim-testing" not in findings(dkim(f"v=DKIM1; t=s; p={rsa_key(2048)}")).codes()
    assert findings(dkim(f"v=DKIM1; t=y; p={rsa_key(2048)}")).lines("dkim-testing") == [1]


# -- MTA-STS, TLS-RPT ------------------------------------------------------------------------------
def test_mta_sts_record(findings: Callable) -> None:
    host = "mta-sts A 192.0.2.80\n"
    assert "mta-sts-record" not in findings(host + '_mta-sts TXT "v=STSv1; id=abc123"\n' + MAIL).codes()
    for bad in ("v=STSv1; id=2026-01-01", "v=STSv1;", "id=abc; v=STSv1", f"v=STSv1; id={'a' * 33}"):
        report = findings(f'_mta-sts TXT "{bad}"\n' + host + MAIL)
        assert report.lines("mta-sts-record") == [1], bad


def test_mta_sts_policy_host(findings: Callable) -> None:
    report = findings('_mta-sts TXT "v=STSv1; id=abc123"\n' + MAIL)
    assert report.lines("mta-sts-policy-host") == [1]
    cname = findings('_mta-sts TXT "v=STSv1; id=abc123"\nmta-sts CNAME web.example.net.\n' + MAIL)
    assert "mta-sts-policy-host" not in cname.codes()


def test_mta_sts_mx_coverage(zone: Callable) -> None:
    """The mail block's policy (kept on the Zone) must name every MX host (RFC 8461 4.1)."""
    from zonetool.mailpolicy.mtasts import Policy

    text = '_mta-sts TXT "v=STSv1; id=abc123"\nmta-sts A 192.0.2.80\n' + MAIL + "@ MX 20 mx.other.example.\n"
    for patterns, mode, hits in ((("mx1.example.com", "*.other.example"), "enforce", []),
                                 (("mx1.example.com",), "enforce", [7]), (("mx1.example.com",), "testing", [7]),
                                 (("mx1.example.com",), "none", [])):
        z = zone(text)
        z.mta_sts = Policy("example.com", mode, 86400, patterns, Where("test.zone", line=7))
        assert Report(run_rules(z)).lines("mta-sts-mx-coverage") == hits, (patterns, mode)


def test_tls_rpt_record(findings: Callable) -> None:
    good = '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@example.com"\n'
    assert "tls-rpt-record" not in findings(good + MAIL).codes()
    for bad in ("v=TLSRPTv1;", "v=TLSRPTv1; rua=tls@example.com", "v=TLSRPTv1; rua=http://example.com/r",
                "rua=mailto:tls@example.com; v=TLSRPTv1"):
        report = findings(f'_smtp._tls TXT "{bad}"\n' + MAIL)
        assert report.lines("tls-rpt-record") == [1], bad


# -- DANE ------------------------------------------------------------------------------------------
SIGNED = f"@ DNSKEY 257 3 13 {base64.b64encode(bytes(64)).decode()}\n"


def test_tlsa_not_exchanger(findings: Callable) -> None:
    assert "tlsa-not-exchanger" not in findings(f"_25._tcp.mx1 TLSA 3 1 1 {SHA256}\n" + SIGNED + MAIL).codes()
    report = findings(f"_25._tcp.www TLSA 3 1 1 {SHA256}\n" + SIGNED + MAIL)
    assert report.lines("tlsa-not-exchanger") == [1]


def test_tlsa_smtp_usage(findings: Callable) -> None:
    assert "tlsa-smtp-usage" not in findings(f"_25._tcp.mx1 TLSA 2 0 1 {SHA256}\n" + SIGNED + MAIL).codes()
    report = findings(f"_25._tcp.mx1 TLSA 1 1 1 {SHA256}\n" + SIGNED + MAIL)
    assert report.lines("tlsa-smtp-usage") == [1]


def test_tlsa_fields(findings: Callable) -> None:
    report = findings(f"_25._tcp.mx1 TLSA 4 1 1 {SHA256}\n" + SIGNED + MAIL)
    assert report.lines("tlsa-fields") == [1] and "usage 4" in report[0].message


def test_tlsa_length(findings: Callable) -> None:
    assert "tlsa-length" not in findings(f"_25._tcp.mx1 TLSA 3 1 2 {SHA256 * 2}\n" + SIGNED + MAIL).codes()
    report = findings(f"_25._tcp.mx1 TLSA 3 1 1 {SHA256[:62]}\n" + SIGNED + MAIL)
    assert report.lines("tlsa-length") == [1] and "31 octets" in report[0].message


def test_dane_unsigned(findings: Callable) -> None:
    report = findings(f"_25._tcp.mx1 TLSA 3 1 1 {SHA256}\n" + MAIL)
    assert report.lines("dane-unsigned") == [1]


def test_tlsa_exchanger_named_by_an_mx_of_another_zone() -> None:
    """A provider's zone holds the TLSA; its customers' zones hold the MX (the run's shared Peers index)."""
    provider = build_zone(f"_25._tcp.mx1 TLSA 3 1 1 {SHA256}\n" + SIGNED + "mx1 A 192.0.2.10\n")
    customer = build_zone("@ MX 10 mx1.example.com.\n", origin=Name.from_text("example.org."), file="org.zone")
    assert Report(run_rules(provider)).lines("tlsa-not-exchanger") == [1]
    together = Peers([provider, customer])
    assert "tlsa-not-exchanger" not in Report(run_rules(provider, peers=together)).codes()
