"""Every rule through the real YAML path: a zone file on disk -> loader -> finding at file:line.

Each failing zone marks the line the finding must point at with `# <-`; one complete zone
that uses every block of the format passes every rule without a single finding.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rules.test_rules_mail import SHA256, rsa_key
from zonetool import loader
from zonetool.findings import Finding
from zonetool.rules import RULES

HEAD = "origin: example.com\nnameservers: [ns1, ns2]\n"
HOSTS = "  ns1: {A: 192.0.2.53}\n  ns2: {A: 192.0.2.54}\n"
MX1 = "mail:\n  exchangers:\n    - {host: mx1, priority: 10, addresses: [192.0.2.1]}"

CLEAN = """\
origin: example.com
ttl: 1h
soa:
  primary: ns1
  contact: hostmaster@example.com
  serial: auto
  refresh: 2h
  retry: 30m
  expire: 2w
  negative: 1h
nameservers: [ns1, ns2.example.net.]
mail:
  exchangers:
    - {host: mx1, priority: 10, weight: 3, port: 25, addresses: [192.0.2.10, "2001:db8::10"]}
    - {host: mx2, priority: 10, weight: 1, addresses: [192.0.2.11]}
    - {host: backup.example.net., priority: 50}
  srv: true
  submission: {port: 587, hosts: [mx1]}
  imaps: {port: 993, hosts: [{host: imap, addresses: [192.0.2.20]}]}
  pop3: false
services:
  - name: _xmpp-server._tcp
    targets:
      - {host: xmpp1, port: 5269, priority: 5, weight: 70, addresses: [192.0.2.30]}
      - {host: xmpp2, port: 5269, priority: 5, weight: 30, addresses: [192.0.2.31]}
records:
  "@":
    A: 192.0.2.1
    TXT: "v=spf1 mx -all"
    CAA: ['0 issue "letsencrypt.org"', {flags: 0, tag: iodef, value: "mailto:sec@example.com"}]
  ns1: {A: 192.0.2.53}
  www: {CNAME: "@"}
  "*.dev": {A: 192.0.2.40}
  _dmarc: {TXT: "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"}
  sub: {NS: [ns1.sub, ns2.example.net.]}
  ns1.sub: {A: 192.0.2.60}
"""

FAILING: dict[str, str] = {
    "target-not-hostname": "records:\n  '@': {MX: '10 mail_in.example.net.'}  # <-\n" + HOSTS,
    "owner-chars": "records:\n  'my host': {A: 192.0.2.1}  # <-\n" + HOSTS,
    "wildcard-label": "records:\n  'dev.*': {A: 192.0.2.1}  # <-\n" + HOSTS,
    # issue 11: the exchanger meant mx2.example.com. and became mx2.example.com.example.com.
    "name-repeats-origin": MX1 + "\n    - {host: mx2.example.com, priority: 20}  # <-\nrecords:\n"
    "  mx2: {A: 192.0.2.2}\n" + HOSTS,
    "null-mx-not-alone": "records:\n  '@': {MX: ['10 mx.example.net.', '0 .']}  # <-\n" + HOSTS,
    "null-mx-preference": "records:\n  '@':\n    MX: '10 .'  # <-\n" + HOSTS,
    "mx-target-cname": "mail:\n  exchangers:\n    - {host: mail, priority: 10}  # <-\n"
    "records:\n  mail: {CNAME: ns1}\n" + HOSTS,
    "mx-target-no-address": "mail:\n  exchangers:\n    - {host: mx1, priority: 10}  # <-\nrecords:\n" + HOSTS,
    "mx-duplicate-exchange": MX1 + "\n    - {host: mx1, priority: 20}  # <-\nrecords:\n" + HOSTS,
    "srv-owner": "services:\n  - name: xmpp\n    targets:\n      - {host: ns1, port: 5269, priority: 5}  # <-\n"
    "records:\n" + HOSTS,
    "srv-service-label": "services:\n  - name: _xmpp--server._tcp\n    targets:\n"
    "      - {host: ns1, port: 5269, priority: 5}  # <-\nrecords:\n" + HOSTS,
    "srv-proto": "services:\n  - name: _sip._tpc\n    targets:\n      - {host: ns1, port: 5060, priority: 5}  # <-\n"
    "records:\n" + HOSTS,
    "srv-port-zero": "records:\n  _imap._tcp: {SRV: '0 0 0 ns1'}  # <-\n" + HOSTS,
    "srv-dot-not-alone": "records:\n  _imap._tcp:\n    SRV: ['0 0 143 ns1', '0 0 0 .']  # <-\n" + HOSTS,
    "srv-target-cname": "services:\n  - name: _xmpp-client._tcp\n    targets:\n"
    "      - {host: chat, port: 5222, priority: 5}  # <-\nrecords:\n  chat: {CNAME: ns1}\n" + HOSTS,
    "srv-target-no-address": "services:\n  - name: _xmpp-client._tcp\n    targets:\n"
    "      - {host: xmpp9, port: 5222, priority: 5}  # <-\nrecords:\n" + HOSTS,
    "srv-weight-zero-mixed": "services:\n  - name: _x._tcp\n    targets:\n"
    "      - {host: ns1, port: 80, priority: 5, weight: 10}\n"
    "      - {host: ns2, port: 80, priority: 5}  # <-\nrecords:\n" + HOSTS,
    "mx-srv-mismatch": "records:\n  '@': {MX: ['10 ns1', '20 ns2'], TXT: 'v=spf1 mx -all'}\n"
    "  _dmarc: {TXT: 'v=DMARC1; p=none'}\n  _smtp._tcp: {SRV: ['10 0 25 ns1', '30 0 25 ns2']}  # <-\n" + HOSTS,
    "cname-and-other-data": "records:\n  www: {CNAME: ns1, TXT: hello}  # <-\n" + HOSTS,
    "cname-multiple": "records:\n  www: {CNAME: [ns1, ns2]}  # <-\n" + HOSTS,
    "cname-at-apex": "records:\n  '@': {CNAME: web.example.net.}  # <-\n" + HOSTS,
    "cname-loop": "records:\n  a: {CNAME: b}  # <-\n  b: {CNAME: a}\n" + HOSTS,
    "cname-chain": "records:\n  c0: {CNAME: c1}  # <-\n"
    + "".join(f"  c{i}: {{CNAME: c{i + 1}}}\n" for i in range(1, 9))
    + "  c9: {A: 192.0.2.1}\n"
    + HOSTS,
    "ns-apex-count": "records:\n  ns1: {A: 192.0.2.53}\n",  # HEAD is replaced for this one
    "ns-target-cname": "records:\n  sub: {NS: [dns, ns2]}  # <-\n  dns: {CNAME: ns1}\n" + HOSTS,
    "ns-target-no-address": "records:\n  ns1: {A: 192.0.2.53}\n",  # line 2: nameservers: [ns1, ns2]
    "glue-missing": "records:\n  sub: {NS: [ns1.sub, ns2.sub]}  # <-\n  ns2.sub: {A: 192.0.2.61}\n" + HOSTS,
    "occluded-data": "records:\n  sub: {NS: [ns1, ns2]}\n  www.sub: {A: 192.0.2.61}  # <-\n" + HOSTS,
    "rrset-ttl-mismatch": "records:\n  www:\n    A: [192.0.2.1, {value: 192.0.2.2, ttl: 5m}]  # <-\n" + HOSTS,
    "duplicate-record": "records:\n  www:\n    A: [192.0.2.1, 192.0.2.1]  # <-\n" + HOSTS,
    "owner-outside-origin": "records:\n  www.example.org.: {A: 192.0.2.1}  # <-\n" + HOSTS,
    "soa-refresh": "soa:\n  refresh: 1d  # <-\n  expire: 2w\nrecords:\n" + HOSTS,
    "soa-retry": "soa:\n  refresh: 1h\n  retry: 2h  # <-\n  expire: 2w\nrecords:\n" + HOSTS,
    "soa-expire": "soa:\n  retry: 5m\n  expire: 2h  # <-\nrecords:\n" + HOSTS,
    "soa-minimum": "soa:\n  refresh: 1h\n  negative: 2d  # <-\nrecords:\n" + HOSTS,
    "caa-unknown-tag": "records:\n  '@': {CAA: '0 tbs \"x\"'}  # <-\n" + HOSTS,
    "caa-iodef": "records:\n  '@': {CAA: '0 iodef \"sec@example.com\"'}  # <-\n" + HOSTS,
    "caa-issue-value": "records:\n  '@': {CAA: '0 issue \"https://ca.example/\"'}  # <-\n" + HOSTS,
    "rrset-too-big": "records:\n  many: {TXT: [" + ", ".join(f"'{i:03d}{'x' * 247}'" for i in range(280))
    + "]}  # <-\n" + HOSTS,
    "spf-missing": MX1 + "  # <-\nrecords:\n  _dmarc: {TXT: 'v=DMARC1; p=none'}\n" + HOSTS,
    "spf-all": MX1 + "\nrecords:\n  '@': {TXT: 'v=spf1 mx'}  # <-\n  _dmarc: {TXT: 'v=DMARC1; p=none'}\n" + HOSTS,
    "spf-null-mx": "mail: {null: true}  # <-\nrecords:\n" + HOSTS,
    "spf-multiple": "records:\n  '@': {TXT: ['v=spf1 -all', 'v=spf1 a -all']}  # <-\n" + HOSTS,
    "dmarc-missing": MX1 + "  # <-\nrecords:\n  '@': {TXT: 'v=spf1 mx -all'}\n" + HOSTS,
    "dmarc-policy": "records:\n  _dmarc: {TXT: 'v=DMARC1; rua=mailto:d@example.com'}  # <-\n" + HOSTS,
    "dmarc-multiple": "records:\n  _dmarc: {TXT: ['v=DMARC1; p=none', 'v=DMARC1; p=reject']}  # <-\n" + HOSTS,
    # issue 12: the mail policy families, written by hand under records:
    "spf-syntax": "records:\n  '@': {TXT: 'v=spf1 include: -all'}  # <-\n" + HOSTS,
    "spf-unknown-mechanism": "records:\n  '@': {TXT: 'v=spf1 ipv4:192.0.2.1 -all'}  # <-\n" + HOSTS,
    "spf-bad-ip": "records:\n  '@': {TXT: 'v=spf1 ip4:192.0.2.0/33 -all'}  # <-\n" + HOSTS,
    "spf-version": "records:\n  '@': {TXT: 'v=spf1mx -all'}  # <-\n" + HOSTS,
    "spf-ptr": "records:\n  '@': {TXT: 'v=spf1 ptr -all'}  # <-\n" + HOSTS,
    "spf-redirect-with-all": "records:\n  '@': {TXT: 'v=spf1 redirect=_spf.example.net -all'}  # <-\n" + HOSTS,
    "spf-too-long": "records:\n  '@': {TXT: 'v=spf1 " + " ".join(f"ip6:2001:db8:{i:x}::/48" for i in range(30))
    + " -all'}  # <-\n" + HOSTS,
    "spf-too-many-lookups": "records:\n  '@': {TXT: 'v=spf1 " + " ".join(f"include:s{i}.example.net" for i in range(11))
    + " -all'}  # <-\n" + HOSTS,
    "spf-include-loop": "records:\n  '@': {TXT: 'v=spf1 include:_a.example.com -all'}  # <-\n"
    "  _a: {TXT: 'v=spf1 include:example.com -all'}  # <-\n" + HOSTS,
    "spf-include-no-spf": "records:\n  '@': {TXT: 'v=spf1 include:_a.example.com -all'}  # <-\n"
    "  _a: {TXT: hello}\n" + HOSTS,
    "spf-void-lookup": "records:\n  '@': {TXT: 'v=spf1 a:nohost.example.com -all'}  # <-\n" + HOSTS,
    "spf-too-many-void-lookups": "records:\n  '@': {TXT: 'v=spf1 a:n1.example.com a:n2.example.com mx:n3.example.com "
    "-all'}  # <-\n" + HOSTS,
    "dmarc-version": "records:\n  _dmarc: {TXT: 'p=reject; v=DMARC1'}  # <-\n" + HOSTS,
    "dmarc-syntax": "records:\n  _dmarc: {TXT: 'v=DMARC1; p=reject; p=none'}  # <-\n" + HOSTS,
    "dmarc-unknown-tag": "records:\n  _dmarc: {TXT: 'v=DMARC1; p=reject; ruaa=mailto:d@example.com'}  # <-\n" + HOSTS,
    "dmarc-tag-value": "records:\n  _dmarc: {TXT: 'v=DMARC1; p=reject; pct=150'}  # <-\n" + HOSTS,
    "dmarc-removed-tag": "records:\n  _dmarc: {TXT: 'v=DMARC1; p=reject; pct=50'}  # <-\n" + HOSTS,
    "dmarc-report-uri": "records:\n  _dmarc: {TXT: 'v=DMARC1; p=reject; rua=d@example.com'}  # <-\n" + HOSTS,
    "dmarc-too-many-uris": "records:\n  _dmarc:\n    TXT: 'v=DMARC1; p=reject; rua=mailto:a@example.com,"
    "mailto:b@example.com,mailto:c@example.com'  # <-\n" + HOSTS,
    "dkim-syntax": "records:\n  sel._domainkey: {TXT: 'v=DKIM1; k=rsa'}  # <-\n" + HOSTS,
    "dkim-key-type": f"records:\n  sel._domainkey: {{TXT: 'v=DKIM1; k=dsa; p={rsa_key(1024)}'}}  # <-\n" + HOSTS,
    "dkim-key": "records:\n  sel._domainkey: {TXT: 'v=DKIM1; p=QUJD'}  # <-\n" + HOSTS,
    "dkim-rsa-too-short": f"records:\n  sel._domainkey: {{TXT: 'v=DKIM1; p={rsa_key(768)}'}}  # <-\n" + HOSTS,
    "dkim-rsa-weak": f"records:\n  sel._domainkey: {{TXT: 'v=DKIM1; p={rsa_key(1024)}'}}  # <-\n" + HOSTS,
    "dkim-testing": f"records:\n  sel._domainkey:\n    TXT: 'v=DKIM1; t=y; p={rsa_key(2048)}'  # <-\n" + HOSTS,
    "mta-sts-record": "records:\n  _mta-sts: {TXT: 'v=STSv1; id=2026-01-01'}  # <-\n"
    "  mta-sts: {A: 192.0.2.80}\n" + HOSTS,
    "mta-sts-policy-host": "records:\n  _mta-sts: {TXT: 'v=STSv1; id=abc'}  # <-\n" + HOSTS,
    "mta-sts-mx-coverage": f"{MX1}\n  mta_sts: {{mode: enforce, mx: [mx2], addresses: [192.0.2.80]}}  # <-\n"
    "records:\n" + HOSTS,
    "dmarc-no-rua": f"{MX1}\n  dmarc: {{policy: reject}}  # <-\nrecords:\n" + HOSTS,
    "tls-rpt-record": "records:\n  _smtp._tls: {TXT: 'v=TLSRPTv1; rua=tls@example.com'}  # <-\n" + HOSTS,
    "tlsa-not-exchanger": f"records:\n  _25._tcp.www: {{TLSA: '3 1 1 {SHA256}'}}  # <-\n" + HOSTS,
    "tlsa-smtp-usage": f"{MX1}\nrecords:\n  _25._tcp.mx1: {{TLSA: '1 1 1 {SHA256}'}}  # <-\n" + HOSTS,
    "tlsa-fields": f"{MX1}\nrecords:\n  _25._tcp.mx1: {{TLSA: '3 2 1 {SHA256}'}}  # <-\n" + HOSTS,
    "tlsa-length": f"{MX1}\nrecords:\n  _25._tcp.mx1: {{TLSA: '3 1 2 {SHA256}'}}  # <-\n" + HOSTS,
    "dane-unsigned": f"{MX1}\nrecords:\n  _25._tcp.mx1: {{TLSA: '3 1 1 {SHA256}'}}  # <-\n" + HOSTS,
}
# Rules whose failing case needs a second zone validated together: (this zone, the other zone's file).
PEERS: dict[str, tuple[str, str]] = {
    "dmarc-external-report": ("records:\n  _dmarc: {TXT: 'v=DMARC1; p=reject; rua=mailto:d@example.net'}  # <-\n"
                              + HOSTS, "origin: example.net\nnameservers: [ns1.example.com.]\n"),
}
# Rules the YAML compiler makes unreachable (it refuses the input first, under its own code);
# they are proven by the core tests and, where a BIND file can reach them, by test_rules_bind.py.
COMPILER_COVERS = {
    "target-is-address": "host-is-address",
    "ttl-range": "bad-ttl",
    "soa-missing": "SOA is always generated",
    "ns-apex-missing": "nameservers default / soa primary",
}


def _load(tmp_path: Path, text: str) -> list[Finding]:
    path = tmp_path / "zone.yaml"
    path.write_text(text)
    _zone, findings = loader.load_file(path)
    return findings


def test_clean_zone_passes_every_rule(tmp_path: Path) -> None:
    path = tmp_path / "zone.yaml"
    path.write_text(CLEAN)
    zone, findings = loader.load_file(path)
    assert [f.format() for f in findings] == []
    assert zone is not None
    rtypes = {r.rtype for r in zone.records()}
    assert {"SOA", "NS", "MX", "SRV", "A", "AAAA", "TXT", "CAA", "CNAME"} <= rtypes  # the rules had work to do


def test_compiler_reports_what_it_makes_unreachable(tmp_path: Path) -> None:
    codes = {f.code for f in _load(tmp_path, HEAD + "records:\n  '@': {MX: '10 192.0.2.1'}\n" + HOSTS)}
    assert "host-is-address" in codes and "target-is-address" not in codes
    codes = {f.code for f in _load(tmp_path, HEAD + "ttl: 4294967296\nrecords:\n" + HOSTS)}
    assert "bad-ttl" in codes


def test_every_rule_has_a_yaml_case() -> None:
    assert set(FAILING) | set(COMPILER_COVERS) | set(PEERS) == set(RULES)


@pytest.mark.parametrize("code", sorted(FAILING))
def test_rule_fails_at_its_line(tmp_path: Path, code: str) -> None:
    head = "origin: example.com\nnameservers: [ns1]  # <-\n" if code == "ns-apex-count" else HEAD
    text = head + FAILING[code]
    marked = [n for n, line in enumerate(text.splitlines(), start=1) if "# <-" in line]
    if code == "ns-target-no-address":
        marked = [2]
    findings = _load(tmp_path, text)
    hits = [f for f in findings if f.code == code]
    assert hits, f"{code} not reported; got {[f.format() for f in findings]}"
    assert [f.where.line for f in hits] == marked
    assert all(f.where.file == str(tmp_path / "zone.yaml") and f.where.column for f in hits)
    assert all(f.severity is RULES[code].severity for f in hits)


def test_silenced_finding_stays_visible_with_reason(tmp_path: Path) -> None:
    text = HEAD + FAILING["spf-missing"] + "silence:\n  spf-missing: lab zone without SPF\n"
    findings = _load(tmp_path, text)
    spf = [f for f in findings if f.code == "spf-missing"]
    assert len(spf) == 1 and spf[0].silenced == "lab zone without SPF"
    assert not loader.has_errors(findings, strict=True)
    assert "silenced because: lab zone without SPF" in spf[0].format()


@pytest.fixture
def two_processes(monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> list[int]:
    """Rules on two processes whatever the zone's size (one-shot mode); the list gets each child's pid."""
    from zonetool import forked

    monkeypatch.setattr(forked, "MIN_RECORDS", 0)
    return forks


def _zones_with_findings() -> list:  # type: ignore[type-arg]
    zones = [loader.load_text(HEAD + body, "x.yaml")[0] for body in FAILING.values()]
    return [z for z in zones if z is not None]


def test_rules_on_two_processes_give_the_same_findings_in_the_same_order(two_processes: list[int]) -> None:
    from zonetool.rules import run_rules

    zones = _zones_with_findings()
    serial = [run_rules(z) for z in zones]
    parallel = [loader._run_rules(z, loader.ONE_SHOT_COMMAND) for z in zones]
    assert parallel == serial and sum(map(len, serial)) >= len(FAILING)
    assert len(two_processes) == len(zones)


def test_a_failed_rules_child_is_done_over_here(two_processes: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from zonetool import rules

    zones = _zones_with_findings()
    serial = [rules.run_rules(z) for z in zones]
    parent, real = os.getpid(), rules.run_rules

    def dying(*args, **kw):  # type: ignore[no-untyped-def]
        if os.getpid() != parent:
            os._exit(3)
        return real(*args, **kw)

    monkeypatch.setattr(rules, "run_rules", dying)
    assert [loader._run_rules(z, loader.ONE_SHOT_COMMAND) for z in zones] == serial and two_processes


@pytest.mark.parametrize("code", sorted(PEERS))
def test_cross_zone_rule_fails_at_its_line(tmp_path: Path, code: str) -> None:
    """Validated alone the zone passes the rule; with the other zone in the same run it fails at its line."""
    text, other = PEERS[code]
    text = HEAD + text
    (tmp_path / "zone.yaml").write_text(text)
    marked = [n for n, line in enumerate(text.splitlines(), start=1) if "# <-" in line]
    assert code not in [f.code for f in loader.load_paths([tmp_path / "zone.yaml"]).findings]
    (tmp_path / "other.yaml").write_text(other)
    hits = [f for f in loader.load_paths([tmp_path]).findings if f.code == code]
    assert [f.where.line for f in hits] == marked
    assert all(f.where.file == str(tmp_path / "zone.yaml") and f.where.column for f in hits)


def test_spf_lookups_counted_into_the_zones_validated_together(tmp_path: Path) -> None:
    """An include into another zone of the run costs what that zone's record costs (RFC 7208 4.6.4)."""
    text = HEAD + "records:\n  '@': {TXT: 'v=spf1 mx include:_spf.example.net -all'}  # <-\n" + HOSTS
    inner = " ".join(f"a:h{i}.example.org" for i in range(9))
    (tmp_path / "zone.yaml").write_text(text)
    assert "spf-too-many-lookups" not in [f.code for f in loader.load_paths([tmp_path]).findings]
    (tmp_path / "net.yaml").write_text(f"origin: example.net\nnameservers: [ns1.example.com.]\n"
                                       f"records:\n  _spf: {{TXT: 'v=spf1 {inner} -all'}}\n")
    hits = [f for f in loader.load_paths([tmp_path]).findings if f.code == "spf-too-many-lookups"]
    assert [(f.where.file, f.where.line) for f in hits] == [(str(tmp_path / "zone.yaml"), 4)]
    assert "needs 11" in hits[0].message


def test_a_zone_zonetool_signs_is_not_called_unsigned_for_its_tlsa(tmp_path: Path) -> None:
    """`dnssec:` means export and serve add the DNSKEY: dane-unsigned said "not signed" of such a zone
    (the DANE lab's zones, issue 14), and its hint told the user to silence it."""
    tlsa = f"records:\n  _25._tcp.mx1: {{TLSA: '3 1 1 {SHA256}'}}\n" + HOSTS
    assert "dane-unsigned" in {f.code for f in _load(tmp_path, HEAD + MX1 + "\n" + tlsa)}
    signed = {f.code for f in _load(tmp_path, HEAD + MX1 + "\n" + tlsa + "dnssec: true\n")}
    assert "dane-unsigned" not in signed, signed
