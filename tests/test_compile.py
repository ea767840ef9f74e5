"""The compiler: YAML spec -> records, and every structural/value finding with its line:column.

Each finding code has a zone that raises it (asserting the code and the place) and a
corrected zone that does not. Zones are loaded through `load_text`, so positions come
from the real YAML edge.
"""

from __future__ import annotations

import textwrap
from datetime import date

import pytest

from zonetool.compile import compile_zone
from zonetool.findings import Finding
from zonetool.loader import load_text
from zonetool.names import Name
from zonetool.rrtypes import MX, SRV, TXT, A
from zonetool.zone import Zone

ORIGIN = Name.from_text("example.com.")

BASE = """\
origin: example.com
nameservers: [ns1, ns2]
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
"""


def load(text: str) -> tuple[Zone | None, list[Finding]]:
    return load_text(textwrap.dedent(text), "z.yaml")


def placed(findings: list[Finding], code: str) -> list[tuple[int | None, int | None]]:
    return [(f.where.line, f.where.column) for f in findings if f.code == code]


def the(findings: list[Finding], code: str) -> Finding:
    hits = [f for f in findings if f.code == code]
    assert len(hits) == 1, [f.format() for f in findings]
    return hits[0]


def records(zone: Zone, owner: str, rtype: str) -> list[str]:
    name = Name.from_text(owner, ZONE_ORIGIN) if owner != "@" else ZONE_ORIGIN
    return sorted(r.rdata.to_text(ZONE_ORIGIN) for r in zone.records() if r.owner == name and r.rtype == rtype)


ZONE_ORIGIN = ORIGIN


# ---------------------------------------------------------------------------
# a full zone compiles to the expected records, with provenance
# ---------------------------------------------------------------------------
FULL = """\
origin: example.com
ttl: 1h
soa:
  primary: ns1
  contact: host.master@example.com
  serial: 2024010101
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
  imaps: {hosts: [{host: imap, weight: 5}]}
  pop3: false
services:
  - name: _xmpp-server._tcp
    ttl: 10m
    targets:
      - {host: xmpp1, port: 5269, priority: 5, weight: 70, addresses: [192.0.2.30]}
records:
  "@": {A: 192.0.2.1, TXT: "v=spf1 mx -all"}
  ns1: {A: 192.0.2.53}
  imap: {A: [192.0.2.20, 192.0.2.21]}
  host:
    ttl: 5m
    AAAA: {ttl: 1m, values: ["2001:DB8::7"]}
    MX: ["10 mx1", {priority: 20, host: mx2}]
    TXT: ["one record", ["two strings", "in one record"]]
    SRV: {priority: 0, weight: 5, port: 5060, host: sip, ttl: 30s}
    CAA: ['0 issue "letsencrypt.org"', {tag: iodef, value: "mailto:sec@example.com"}]
    TYPE65534: '\\# 3 abcdef'
  bücher: {A: 192.0.2.9}
silence:
  spf-missing: "a lab zone"
faults: [{name: mx1, action: refuse}]
"""


def test_full_zone_records() -> None:
    zone, _ = load(FULL)
    assert zone is not None
    soa = zone.soa
    assert soa is not None
    assert soa.rname.to_text() == "host\\.master.example.com."  # RFC 1035 8: local-part dots escaped
    assert (soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum) == (2024010101, 7200, 1800, 1209600, 3600)
    assert zone.auto_serial is False
    assert records(zone, "@", "MX") == ["10 mx1", "10 mx2", "50 backup.example.net."]
    assert records(zone, "_smtp._tcp", "SRV") == ["10 1 25 mx2", "10 3 25 mx1", "50 0 25 backup.example.net."]
    assert records(zone, "_submission._tcp", "SRV") == ["0 0 587 mx1"]
    assert records(zone, "_imaps._tcp", "SRV") == ["0 5 993 imap"]  # RFC 8314 default port
    assert records(zone, "_pop3._tcp", "SRV") == ["0 0 0 ."]  # RFC 6186 3.4: not offered
    assert records(zone, "mx1", "AAAA") == ["2001:db8::10"]
    assert records(zone, "_xmpp-server._tcp", "SRV") == ["5 70 5269 xmpp1"]
    assert records(zone, "host", "TXT") == ['"one record"', '"two strings" "in one record"']
    assert records(zone, "host", "CAA") == ['0 iodef "mailto:sec@example.com"', '0 issue "letsencrypt.org"']
    assert records(zone, "host", "TYPE65534") == ["\\# 3 abcdef"]
    assert records(zone, "xn--bcher-kva", "A") == ["192.0.2.9"]  # IDNA
    ttls = {(r.owner.relativize(ORIGIN), r.rtype): r.ttl for r in zone.records()}
    assert ttls[("host", "AAAA")] == 60 and ttls[("host", "MX")] == 300 and ttls[("host", "SRV")] == 30
    assert ttls[("_xmpp-server._tcp", "SRV")] == 600 and ttls[("@", "A")] == 3600
    assert zone.silence == {"spf-missing": "a lab zone"}
    assert zone.faults_spec == [{"name": "mx1", "action": "refuse"}]


def test_provenance_paths_and_origins() -> None:
    zone, _ = load(FULL)
    assert zone is not None
    by = {(r.owner.relativize(ORIGIN), r.rtype, r.rdata.to_text(ORIGIN)): r for r in zone.records()}
    mx2 = by[("@", "MX", "10 mx2")]
    assert mx2.where.path == ("mail", "exchangers", 1, "host") and mx2.origin == "mail"
    assert by[("mx1", "AAAA", "2001:db8::10")].where.path == ("mail", "exchangers", 0, "addresses", 1)
    assert by[("xmpp1", "A", "192.0.2.30")].origin == "services"
    assert by[("host", "AAAA", "2001:db8::7")].where.path == ("records", "host", "AAAA", "values", 0)
    assert by[("host", "MX", "20 mx2")].where.path == ("records", "host", "MX", 1)
    assert by[("@", "NS", "ns2.example.net.")].where.path == ("nameservers", 1)
    assert by[("@", "NS", "ns1")].origin is None
    assert by[("@", "SOA", zone.soa.to_text(ORIGIN))].where.path == ("soa",)  # type: ignore[union-attr]


def test_compile_is_deterministic() -> None:
    texts = []
    for _ in range(2):
        zone, findings = load(FULL)
        assert zone is not None
        texts.append([(str(r.owner), r.ttl, r.rtype, r.rdata.to_text(), r.where.path) for r in zone.records()])
        texts.append([f.format() for f in findings])
    assert texts[0] == texts[2] and texts[1] == texts[3]


def test_compile_from_plain_mapping_without_yaml() -> None:
    spec = {"origin": "example.org.", "nameservers": ["ns.example.net."], "mail": {None: True}}  # ruamel: null: -> None
    zone, findings = compile_zone(spec, None)
    assert zone is not None and not findings
    mx = zone.rrset(Name.from_text("example.org."), MX.code)
    assert mx is not None and mx.rdatas == [MX(0, Name(()))]


def test_soa_defaults_and_auto_serial() -> None:
    zone, findings = compile_zone({"origin": "example.com", "nameservers": ["ns1"]}, None, today=date(2025, 3, 4))
    assert zone is not None and not findings
    soa = zone.soa
    assert soa is not None and zone.auto_serial
    assert soa.mname.to_text() == "ns1.example.com." and soa.rname.to_text() == "hostmaster.example.com."
    assert (soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum) == (2025030400, 3600, 900, 604800, 300)


def test_txt_long_string_is_split_at_255() -> None:
    zone, _ = compile_zone({"origin": "example.com", "records": {"k": {"TXT": "x" * 300}}}, None)
    assert zone is not None
    txt = zone.rrset(Name.from_text("k.example.com."), TXT.code)
    assert txt is not None and txt.rdatas[0].strings == (b"x" * 255, b"x" * 45)  # type: ignore[attr-defined]


def test_null_mx_and_smtp_srv_not_offered() -> None:
    zone, findings = load("origin: send.example\nmail: {null: true, srv: true}\n")
    assert zone is not None and not [f for f in findings if f.code in ("wrong-type", "unknown-key")]
    apex = Name.from_text("send.example.")
    assert zone.rrset(apex, MX.code).rdatas == [MX(0, Name(()))]  # type: ignore[union-attr]
    smtp = zone.rrset(Name.from_text("_smtp._tcp.send.example."), SRV.code)
    assert smtp is not None and smtp.rdatas == [SRV(0, 0, 0, Name(()))]


def test_bad_item_does_not_stop_the_rest() -> None:
    zone, findings = load(
        """\
        origin: example.com
        records:
          a: {A: 300.1.1.1}
          b: {A: 192.0.2.2}
          c: {MX: "x mx1"}
          d: {A: 192.0.2.4}
        """
    )
    assert zone is not None
    assert placed(findings, "bad-address") == [(3, 10)]
    assert placed(findings, "bad-rdata") == [(5, 11)]
    assert records(zone, "b", "A") == ["192.0.2.2"] and records(zone, "d", "A") == ["192.0.2.4"]
    assert zone.rrset(Name.from_text("a.example.com."), A.code) is None


# ---------------------------------------------------------------------------
# each finding code: failing zone (code + line:column) and passing zone
# ---------------------------------------------------------------------------
CASES = [
    # code, bad zone, (line, column), good zone
    ("unknown-key", "origin: example.com\nnameserver: [ns1]\n", (2, 1), "origin: example.com\nnameservers: [ns1]\n"),
    ("unknown-key", "origin: example.com\nsoa: {primary: ns1, refesh: 1h}\n", (2, 21),
     "origin: example.com\nsoa: {primary: ns1, refresh: 1h}\n"),
    ("unknown-key", "origin: example.com\nrecords:\n  www: {mx: '10 mx1'}\n", (3, 9),
     "origin: example.com\nrecords:\n  www: {MX: '10 mx1'}\n"),
    ("unknown-key", "origin: example.com\nmail:\n  exchangers:\n    - {host: mx1, priority: 1, wieght: 2}\n",
     (4, 32), "origin: example.com\nmail:\n  exchangers:\n    - {host: mx1, priority: 1, weight: 2}\n"),
    ("wrong-type", "origin: example.com\nnameservers: {a: b}\n", (2, 14), "origin: example.com\nnameservers: [a]\n"),
    ("wrong-type", "origin: example.com\nmail: {srv: 'yes', exchangers: []}\n", (2, 13),
     "origin: example.com\nmail: {srv: false, exchangers: []}\n"),
    ("wrong-type", "origin: example.com\nrecords:\n  www: [192.0.2.1]\n", (3, 3),
     "origin: example.com\nrecords:\n  www: {A: [192.0.2.1]}\n"),
    ("wrong-type", "origin: example.com\nrecords:\n  www:\n    A: true\n", (4, 8),
     "origin: example.com\nrecords:\n  www:\n    A: 192.0.2.1\n"),
    ("missing-key", "ttl: 1h\n", (1, 1), "origin: example.com\nttl: 1h\n"),
    ("missing-key", "origin: example.com\nsoa: {refresh: 1h}\nnameservers: []\n", (2, 6),
     "origin: example.com\nsoa: {refresh: 1h}\nnameservers: [ns1]\n"),
    ("missing-key", "origin: example.com\nmail:\n  exchangers:\n    - {host: mx1}\n", (4, 7),
     "origin: example.com\nmail:\n  exchangers:\n    - {host: mx1, priority: 0}\n"),
    ("bad-name", "origin: example.com\nrecords:\n  " + "a" * 64 + ": {A: 192.0.2.1}\n", (3, 3),
     "origin: example.com\nrecords:\n  " + "a" * 63 + ": {A: 192.0.2.1}\n"),
    ("bad-name", "origin: example..com\n", (1, 9), "origin: example.com\n"),
    ("bad-name", "origin: example.com\nnameservers: ['ns\u3002\u3002x']\n", (2, 15),
     "origin: example.com\nnameservers: ['ns\u3002x']\n"),
    ("bad-ttl", "origin: example.com\nttl: 1x\n", (2, 6), "origin: example.com\nttl: 1h\n"),
    ("bad-ttl", "origin: example.com\nrecords:\n  a: {ttl: 2147483648, A: 192.0.2.1}\n", (3, 12),
     "origin: example.com\nrecords:\n  a: {ttl: 2147483647, A: 192.0.2.1}\n"),
    ("bad-duration", "origin: example.com\nsoa: {primary: ns1, retry: 5 min}\n", (2, 28),
     "origin: example.com\nsoa: {primary: ns1, retry: 5m}\n"),
    ("bad-serial", "origin: example.com\nsoa: {primary: ns1, serial: 4294967296}\n", (2, 29),
     "origin: example.com\nsoa: {primary: ns1, serial: 4294967295}\n"),
    ("bad-address", "origin: example.com\nrecords:\n  a: {AAAA: '2001:db8::g'}\n", (3, 13),
     "origin: example.com\nrecords:\n  a: {AAAA: '2001:db8::f'}\n"),
    ("bad-address", "origin: example.com\nmail:\n  exchangers:\n    - {host: mx, priority: 1, addresses: [192.0.2]}\n",
     (4, 43), "origin: example.com\nmail:\n  exchangers:\n    - {host: mx, priority: 1, addresses: [192.0.2.1]}\n"),
    ("bad-rdata", "origin: example.com\nrecords:\n  a:\n    SRV: '0 5 sip'\n", (4, 10),
     "origin: example.com\nrecords:\n  a:\n    SRV: '0 5 5060 sip'\n"),
    ("bad-rdata", "origin: example.com\nrecords:\n  a:\n    TXT: [['" + "y" * 256 + "']]\n", (4, 12),
     "origin: example.com\nrecords:\n  a:\n    TXT: ['" + "y" * 256 + "']\n"),
    ("bad-rdata", "origin: example.com\nrecords:\n  a: {CAA: '0 is-sue \"ca\"'}\n", (3, 12),
     "origin: example.com\nrecords:\n  a: {CAA: '0 issue \"ca\"'}\n"),
    ("out-of-range", "origin: example.com\nmail:\n  exchangers:\n    - {host: mx1, priority: 65536}\n", (4, 29),
     "origin: example.com\nmail:\n  exchangers:\n    - {host: mx1, priority: 65535}\n"),
    ("host-is-address", "origin: example.com\nmail:\n  exchangers:\n    - {host: 192.0.2.25, priority: 10}\n",
     (4, 14), "origin: example.com\nmail:\n  exchangers:\n    - {host: mx, priority: 10}\n"),
    ("host-is-address", "origin: example.com\nrecords:\n  '@': {MX: '10 192.0.2.25'}\n", (3, 13),
     "origin: example.com\nrecords:\n  '@': {MX: '10 mx.example.net.'}\n"),
    ("addresses-not-in-zone",
     "origin: example.com\nmail:\n  exchangers:\n    - {host: mx.example.net., priority: 1, addresses: [192.0.2.1]}\n",
     (4, 55),
     "origin: example.com\nmail:\n  exchangers:\n    - {host: mx.example.com., priority: 1, addresses: [192.0.2.1]}\n"),
    ("null-mx-with-exchangers", "origin: example.com\nmail:\n  null: true\n  exchangers: [{host: mx1, priority: 1}]\n",
     (4, 15), "origin: example.com\nmail:\n  null: true\n"),
    ("soa-in-records", "origin: example.com\nrecords:\n  '@': {SOA: 'ns1 h 1 2 3 4 5'}\n", (3, 9),
     "origin: example.com\nsoa: {primary: ns1}\n"),
    ("empty-list", "origin: example.com\nservices:\n  - {name: _sip._tcp, targets: []}\n", (3, 32),
     "origin: example.com\nservices:\n  - {name: _sip._tcp, targets: [{host: '.', port: 0}]}\n"),
]


NS_LINE = "nameservers: [ns1.example.net., ns2.example.net.]\n"


@pytest.mark.parametrize(("code", "bad", "position", "good"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_finding_code_and_position(code: str, bad: str, position: tuple[int, int], good: str) -> None:
    # every zone needs nameservers (the SOA's primary defaults to the first); added last so lines stay put
    bad, good = ((t if "nameservers" in t else t + NS_LINE) for t in (bad, good))
    _, findings = load(bad)
    assert position in placed(findings, code), [f.format() for f in findings]
    for f in findings:
        assert f.where.file == "z.yaml" and f.where.line is not None and f.where.column is not None
    _, findings = load(good)
    assert placed(findings, code) == [], [f.format() for f in findings]


def test_unknown_key_hints() -> None:
    _, findings = load("origin: example.com\nnameserver: [ns1]\nrecords:\n  a: {mx: '1 b', Aaaa: '::1', FOO: x}\n")
    hints = {f.message: f.hint for f in findings if f.code == "unknown-key"}
    assert hints["unknown key `nameserver` in the zone"] == "did you mean `nameservers`?"
    assert hints["unknown key `mx` in records.a"] == "did you mean `MX`?"
    assert hints["unknown key `Aaaa` in records.a"] == "did you mean `AAAA`?"
    assert "FOO" in "".join(hints) and "known keys" in (hints["unknown key `FOO` in records.a"] or "")


def test_every_problem_at_once() -> None:
    _, findings = load(
        """\
        origin: example.com
        ttl: forever
        nameservers: [ns1, 192.0.2.1]
        mail:
          exchangers:
            - {host: mx1, priority: -1}
            - {hots: mx2, priority: 5}
        records:
          a: {A: 1.2.3}
          b: {CNAME: "x..y"}
        """
    )
    got = sorted((f.where.line, f.code) for f in findings if f.severity.value == "error")
    assert (2, "bad-ttl") in got and (3, "host-is-address") in got and (6, "out-of-range") in got
    assert (7, "unknown-key") in got and (7, "missing-key") in got and (9, "bad-address") in got
    assert (10, "bad-rdata") in got or (10, "bad-name") in got


def test_idna_names_are_converted_or_refused() -> None:
    zone, findings = load("origin: münchen.example\nrecords:\n  straße: {A: 192.0.2.1}\n")
    assert zone is not None and zone.origin.to_text() == "xn--mnchen-3ya.example."
    assert [r.owner.to_text() for r in zone.records() if r.rtype == "A"] == ["strasse.xn--mnchen-3ya.example."]
    _, findings = load("origin: example.com\nrecords:\n  " + "ü" * 60 + ": {A: 192.0.2.1}\n")  # xn-- form > 63
    assert placed(findings, "bad-name") == [(3, 3)]


def test_unknown_type_mnemonic_needs_rfc3597_form() -> None:
    _, findings = load("origin: example.com\nrecords:\n  a: {NULL: 'abc'}\n")
    assert "RFC 3597" in the(findings, "bad-rdata").message
    # types in zonetool.rrtypes (SSHFP, TLSA, DS, ...) are read in their native syntax too
    sshfp = "1 1 0123456789abcdef0123456789abcdef01234567"
    zone, findings = load(f"origin: example.com\nrecords:\n  a: {{SSHFP: '{sshfp}'}}\n")
    assert zone is not None and not placed(findings, "bad-rdata")
    zone, findings = load("origin: example.com\nrecords:\n  a: {SSHFP: '\\# 3 010102'}\n")
    assert zone is not None and not placed(findings, "bad-rdata")


def test_schema_and_compiler_share_one_key_table() -> None:
    """The JSON Schema's objects are the compiler's BLOCKS: same keys, same required keys."""
    from zonetool.schema import BLOCKS, SCHEMA

    for name, block in BLOCKS.items():
        obj = SCHEMA if name == "zone" else SCHEMA["$defs"][name]
        assert set(obj["properties"]) == set(block.keys), name
        assert set(obj.get("required", [])) == set(block.required), name
        assert obj["additionalProperties"] is False
    # and the compiler really refuses a key outside the table, for every block it checks by table
    _, findings = load("origin: example.com\nsoa: {primary: ns1, bogus: 1}\nmail: {bogus: 1}\n")
    assert sorted(placed(findings, "unknown-key")) == [(2, 21), (3, 8)]


def test_a_bad_address_is_one_finding_not_two() -> None:
    _, findings = load(
        "origin: example.com\nnameservers: [ns1.example.net., ns2.example.net.]\n"
        "mail:\n  exchangers:\n    - {host: mx1, priority: 10, addresses: [192.0.2.256]}\n"
    )
    assert [f.code for f in findings if f.severity.value == "error"] == ["bad-address"]


def test_readme_zone_format_example_is_valid() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("<!-- section: zone format -->") :]
    example = section[section.index("```yaml\n") + 8 :]
    example = example[: example.index("```\n")]
    zone, findings = load_text(example, "README.md")
    assert zone is not None and findings == [], [f.format() for f in findings]
    assert len(zone) > 30


# ---------------------------------------------------------------------------
# robustness: any data shaped like YAML gives findings, never an exception
# ---------------------------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_KEYS = ["origin", "ttl", "soa", "nameservers", "mail", "services", "records", "silence", "faults", "primary",
         "contact", "serial", "exchangers", "host", "priority", "weight", "port", "addresses", "srv", "null",
         "submission", "imaps", "hosts", "name", "targets", "values", "value", "tag", "flags", "@", "www",
         "A", "AAAA", "MX", "SRV", "TXT", "CAA", "NS", "CNAME", "PTR", "SOA", "TYPE99", "LOC", None, 1]
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40),
    st.sampled_from(["example.com", "mx1", "@", ".", "1h", "auto", "192.0.2.1", "2001:db8::1", "10 mx1",
                     "0 5 5060 sip", '0 issue "ca"', "\\# 2 abcd", "bücher", "a..b", "x" * 70, "", "false"]),
    st.text(max_size=12),
)
_DATA = st.recursive(
    _SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.sampled_from(_KEYS), children,
                                                                                 max_size=5)),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.dictionaries(st.sampled_from(_KEYS), _DATA, max_size=6))
def test_compile_never_raises(body: dict[object, object]) -> None:
    for data in (body, {"origin": "example.com", **{k: v for k, v in body.items() if k != "origin"}}):
        zone, findings = compile_zone(data, "fuzz.yaml")
        for f in findings:
            assert f.code and f.where.file == "fuzz.yaml"
        if zone is not None:
            from zonetool.loader import judge

            judge(zone)  # the rules take whatever the compiler built


def test_big_rrset_keeps_duplicates_apart() -> None:
    """Zone.add finds repeats through a set (RRsets of thousands of records stay linear to build)."""
    addresses = [f"10.0.{i >> 8}.{i & 255}" for i in range(3000)]
    records = {"big": {"A": [*addresses, "10.0.0.7"]}}
    spec = {"origin": "example.com", "nameservers": ["ns.example.net."], "records": records}
    zone, _ = compile_zone(spec, None)
    assert zone is not None and len(zone.duplicates) == 1 and zone.duplicates[0].where.path[-1] == 3000
    big = Name.from_text("big.example.com.")
    assert zone.remove(big, A.code, A("10.0.0.7")) == 1
    zone.extend([zone.duplicates[0]])  # after a removal the set is rebuilt: the record is new again
    assert len(zone.rrset(big, A.code).records) == 3000  # type: ignore[union-attr]


@settings(max_examples=300, deadline=None)
@given(address=st.ip_addresses(v=4).map(str) | st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{1,4}){2,4}\n?\Z"))
def test_a_record_fast_path_agrees_with_ipaddress(address: str) -> None:
    """records.A skips ipaddress for canonical dotted quads; the result must be what ipaddress gives."""
    import ipaddress

    from zonetool.rrtypes import RdataError

    try:
        expected: str | None = str(ipaddress.IPv4Address(address))
    except ValueError:
        expected = None
    try:
        got: str | None = A(address).address
    except RdataError:
        got = None
    assert got == expected
