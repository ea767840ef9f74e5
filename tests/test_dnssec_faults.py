"""DNSSEC as a validator meets it (issue 14 part 2): secure answers, and faults that make them fail.

Referees: unbound (tests/validating.py) as the validating resolver a sender asks, with the zone's
KSK as trust anchor, forwarding to `zonetool serve`: AD on secure answers (RFC 4035 3.2.3),
SERVFAIL on bogus ones (RFC 4035 5.5); `dig` reads its flags. `delv` with the same anchor says
why each faulted answer fails (its own words: "RRSIG failed to verify", "RRSIG has expired", ...)
while the names and types without a fault stay "fully validated". The faults are set each way a
test can set them: the zone file's `faults:`, the HTTP API (urllib, a real client) and the
pytest fixture (DNSTestServer). unbound keeps bogus answers for a while (val-bogus-ttl), so
after a fault is cleared the tests flush it (`ValidatingResolver.flush`, unbound-control).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import http_call, require_tool, zonetool_exe
from test_dnssec_serve import LAB, _anchor, _lab
from test_server_cli import Serve, serve  # noqa: F401  (the fixture)
from validating import ValidatingResolver, ksk_anchors

from zonetool.atomic import write_atomic
from zonetool.harness.resolvers import WireResolver
from zonetool.names import Name
from zonetool.rrtypes import RRType
from zonetool.testing import DNSTestServer

TLSA = '  _25._tcp.mx1: {TLSA: "3 1 1 ' + "ab" * 32 + '"}\n'
FAULTS = """\
faults:
  - {name: www, type: A, action: bogus-signature}
  - {name: www, type: AAAA, action: expired-signature}
  - {name: mx1, type: A, action: missing-rrsig}
  - {name: _25._tcp.mx1, type: TLSA, action: bogus-signature}
  - {name: x.wild, action: expired-signature}
  - {name: nx, action: bogus-signature}
"""
# the question, and what delv says of it: its reason for a faulted one, "fully validated" for the rest
DELV = [
    ("www.lab.example A", ";; resolution failed: RRSIG failed to verify"),
    ("www.lab.example AAAA", ";; resolution failed: RRSIG has expired"),
    ("mx1.lab.example A", ";; resolution failed: insecurity proof failed"),
    ("_25._tcp.mx1.lab.example TLSA", ";; resolution failed: RRSIG failed to verify"),
    ("x.wild.lab.example A", ";; resolution failed: RRSIG has expired"),
    ("nx.lab.example A", "validating lab.example/SOA: no valid signature found"),
    ("www.lab.example TXT", "; negative response, fully validated"),  # the same name, another type
    ("lab.example MX", "; fully validated"),
    ("ns1.lab.example A", "; fully validated"),
    ("y.wild.lab.example A", "; fully validated"),  # the same wildcard, another name
    ("nx2.lab.example A", "; negative response, fully validated"),
]


# what `route --server` (the wire resolver, asking with DO) records for each faulted question of DELV; none for the rest
WIRE_EVENTS = {
    "www.lab.example A": "dnssec-bogus",
    "www.lab.example AAAA": "dnssec-expired",
    "mx1.lab.example A": "dnssec-unsigned",
    "_25._tcp.mx1.lab.example TLSA": "dnssec-bogus",
    "x.wild.lab.example A": "dnssec-expired",
    "nx.lab.example A": "dnssec-bogus",
}


def _dig(port: int, *question: str) -> tuple[str, set[str], str]:
    """dig +dnssec through a resolver: (status, header flags, whole output)."""
    done = subprocess.run([require_tool("dig"), "@127.0.0.1", "-p", str(port), "+dnssec", "+tries=1", "+time=10",
                           *question], capture_output=True, text=True, timeout=60)
    for line in done.stdout.splitlines():
        if line.startswith(";; ->>HEADER<<-"):
            status = line.split("status: ")[1].split(",")[0]
        if line.startswith(";; flags:"):
            flags = set(line.split(";")[2].split(":")[1].split())
            return status, flags, done.stdout
    raise AssertionError(done.stdout + done.stderr)


def _signed_serve(tmp_path: Path, serve: list[Serve], *args: str) -> Serve:  # noqa: F811
    _lab(tmp_path, "nsec")
    server = Serve("lab.yaml", "-q", *args, cwd=tmp_path)
    serve.append(server)
    return server.started()


def test_unbound_sets_ad_on_secure_answers_positive_and_negative(tmp_path: Path, serve) -> None:  # noqa: F811
    server = _signed_serve(tmp_path, serve)
    with ValidatingResolver(server.port, ksk_anchors(tmp_path / "keys"), tmp_path / "unbound") as resolver:
        for question, want in ((("www.lab.example", "A"), "NOERROR"), (("lab.example", "MX"), "NOERROR"),
                               (("nx.lab.example", "A"), "NXDOMAIN"), (("www.lab.example", "MX"), "NOERROR")):
            status, flags, text = _dig(resolver.port, *question)
            assert status == want and "ad" in flags, (question, text, resolver.log())
        status, flags, text = _dig(resolver.port, "www.lab.example", "A")
        assert "192.0.2.1" in text and "RRSIG" in text


def test_unbound_without_the_anchor_answers_but_never_sets_ad(tmp_path: Path, serve) -> None:  # noqa: F811
    server = _signed_serve(tmp_path, serve)
    with ValidatingResolver(server.port, [], tmp_path / "unbound", zones=["lab.example"]) as resolver:
        status, flags, text = _dig(resolver.port, "www.lab.example", "A")
        assert status == "NOERROR" and "ad" not in flags and "192.0.2.1" in text, text


def test_a_fault_that_keeps_the_answer_keeps_its_signatures_with_do(tmp_path: Path) -> None:
    """A late (or wrong-ID) answer from a signed zone is still a signed answer: a validator must not see it bogus."""
    import dns.dnssec
    import dns.message
    import dns.name
    import dns.rdatatype
    from test_dnssec_serve import CLIENT, _signed_responder

    from zonetool.faults import Fault, FaultSet

    responder, _, _ = _signed_responder(tmp_path, "nsec")
    keys_query = dns.message.make_query("lab.example", "DNSKEY", want_dnssec=True)
    keys = dns.message.from_wire(responder.respond(keys_query.to_wire(), CLIENT, "tcp").messages[0]).answer[0]
    responder.faults = FaultSet([Fault.make("www.lab.example.", "A", "delay", 5)])
    query = dns.message.make_query("www.lab.example", "A", want_dnssec=True)
    reply = dns.message.from_wire(responder.respond(query.to_wire(), CLIENT, "udp").messages[0])
    a = reply.find_rrset(reply.answer, dns.name.from_text("www.lab.example."), 1, dns.rdatatype.A)
    sig = reply.find_rrset(reply.answer, a.name, 1, dns.rdatatype.RRSIG, dns.rdatatype.A)
    dns.dnssec.validate(a, sig, {dns.name.from_text("lab.example."): keys})


def _signed_zone(tmp_path: Path, extra: str = "") -> Path:
    """The lab zone of test_dnssec_serve with a TLSA for mx1, signed with NSEC, keys made by `zonetool keygen`."""
    path = tmp_path / "lab.yaml"
    records_end = LAB.index("  www:")
    path.write_text(LAB[:records_end] + TLSA + LAB[records_end:] + extra + "dnssec: {denial: nsec}\n")
    done = subprocess.run([zonetool_exe(), "keygen", "lab.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return path


def _delv(port: int, anchor: Path, question: str) -> str:
    done = subprocess.run([require_tool("delv"), "@127.0.0.1", "-p", str(port), "-a", str(anchor),
                           "+root=lab.example", *question.split()], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def test_delv_says_why_each_faulted_answer_fails_and_validates_the_rest(tmp_path: Path, serve) -> None:  # noqa: F811
    _signed_zone(tmp_path, FAULTS)
    anchor = _anchor(tmp_path)
    server = Serve("lab.yaml", "-q", cwd=tmp_path)
    serve.append(server)
    server.started()
    wire = WireResolver("127.0.0.1", server.port, timeout=5)
    for question, said in DELV:
        text = _delv(server.port, anchor, question)
        assert said in text, (question, text)
        assert ("fully validated" in text) == ("fully validated" in said), (question, text)
        name, qtype = question.split()
        events = wire.resolve(Name.from_text(name + "."), int(RRType[qtype])).events
        dnssec = [e for e in events if e.startswith("dnssec-")]
        assert dnssec == ([WIRE_EVENTS[question]] if question in WIRE_EVENTS else []), (question, events, text)


def test_unbound_answers_servfail_for_a_bogus_signature_from_faults_and_ad_again_once_it_is_gone(
    tmp_path: Path, serve  # noqa: F811
) -> None:
    zone = _signed_zone(tmp_path, FAULTS)
    server = Serve("lab.yaml", "-q", cwd=tmp_path)
    serve.append(server)
    server.started()
    with ValidatingResolver(server.port, ksk_anchors(tmp_path / "keys"), tmp_path / "unbound") as resolver:
        for question, want in ((("www.lab.example", "A"), "SERVFAIL"), (("_25._tcp.mx1.lab.example", "TLSA"),
                                                                         "SERVFAIL"),
                               (("www.lab.example", "TXT"), "NOERROR"), (("ns1.lab.example", "A"), "NOERROR")):
            status, flags, text = _dig(resolver.port, *question)
            assert status == want and ("ad" in flags) == (want == "NOERROR"), (question, text, resolver.log())
        assert "192.0.2.1" not in _dig(resolver.port, "www.lab.example", "A")[2]  # bogus data is never passed on
        write_atomic(zone, zone.read_text().replace("www, type: A, action: bogus-signature",
                                                    "www, type: A, action: delay, delay: 1ms"))
        server.wait_err(r"reloaded \(file change\)")
        resolver.flush()
        status, flags, text = _dig(resolver.port, "www.lab.example", "A")
        assert status == "NOERROR" and "ad" in flags and "192.0.2.1" in text, (text, resolver.log())


def test_faults_set_over_http_make_unbound_fail_and_clearing_them_brings_ad_back(
    tmp_path: Path, serve  # noqa: F811
) -> None:
    _signed_zone(tmp_path)
    anchor = _anchor(tmp_path)
    server = Serve("lab.yaml", "-q", "--api", "127.0.0.1:0", cwd=tmp_path)
    serve.append(server)
    server.started()
    url = server.wait_err(r"control API on (http://\S+)").group(1)
    with ValidatingResolver(server.port, ksk_anchors(tmp_path / "keys"), tmp_path / "unbound") as resolver:
        assert "ad" in _dig(resolver.port, "www.lab.example", "A")[1]
        status, made = http_call("POST", f"{url}/faults", {"name": "www", "type": "A", "action": "bogus-signature"})
        assert status == 201 and made["action"] == "bogus-signature", made
        resolver.flush()  # the secure answer above is cached
        assert _dig(resolver.port, "www.lab.example", "A")[0] == "SERVFAIL", resolver.log()
        assert _dig(resolver.port, "ns1.lab.example", "A")[0] == "NOERROR"
        assert http_call("DELETE", f"{url}/faults/{made['id']}")[0] in (200, 204)
        resolver.flush()
        status, flags, text = _dig(resolver.port, "www.lab.example", "A")
        assert status == "NOERROR" and "ad" in flags, text
        # no-dnskey on the apex: no key to check anything with, so every answer of the zone fails
        status, made = http_call("POST", f"{url}/faults", {"name": "@", "type": "DNSKEY", "action": "no-dnskey"})
        assert status == 201, made
        assert ";; resolution failed: broken trust chain" in _delv(server.port, anchor, "ns1.lab.example A")
        resolver.flush()
        assert _dig(resolver.port, "ns1.lab.example", "A")[0] == "SERVFAIL", resolver.log()
        assert http_call("DELETE", f"{url}/faults")[0] in (200, 204)
        assert "; fully validated" in _delv(server.port, anchor, "ns1.lab.example A").splitlines()


def test_a_fault_set_through_the_fixture_makes_unbound_fail_and_removing_it_brings_ad_back(tmp_path: Path) -> None:
    zone = _signed_zone(tmp_path)
    with DNSTestServer() as dns_server:
        dns_server.load(zone)
        with ValidatingResolver(dns_server.port, ksk_anchors(tmp_path / "keys"), tmp_path / "unbound") as resolver:
            fault = dns_server.fault("_25._tcp.mx1", "TLSA", "bogus-signature")
            status, flags, text = _dig(resolver.port, "_25._tcp.mx1.lab.example", "TLSA")
            assert status == "SERVFAIL" and "ad" not in flags, (text, resolver.log())
            assert re.search(r"validation failure <_25\._tcp\.mx1\.lab\.example\. TLSA IN>", resolver.log())
            assert dns_server.queries.count("_25._tcp.mx1.lab.example", "TLSA") >= 1
            dns_server.remove_fault(fault)
            resolver.flush()
            status, flags, text = _dig(resolver.port, "_25._tcp.mx1.lab.example", "TLSA")
            assert status == "NOERROR" and "ad" in flags and "TLSA\t3 1 1 ABABABAB" in text, text


@pytest.mark.parametrize("action", ["expired-signature", "missing-rrsig"])
def test_unbound_answers_servfail_for_the_other_signature_faults_too(tmp_path: Path, action: str) -> None:
    zone = _signed_zone(tmp_path)
    with DNSTestServer() as dns_server:
        dns_server.load(zone)
        dns_server.fault("www", "A", action)
        with ValidatingResolver(dns_server.port, ksk_anchors(tmp_path / "keys"), tmp_path / "unbound") as resolver:
            assert _dig(resolver.port, "www.lab.example", "A")[0] == "SERVFAIL", resolver.log()
            status, flags, _ = _dig(resolver.port, "www.lab.example", "AAAA")
            assert status == "NOERROR" and "ad" in flags


def test_a_validator_fault_that_can_change_nothing_is_a_warning_with_its_place(tmp_path: Path) -> None:
    from zonetool.loader import load_file

    body = LAB + """faults:
  - {name: www, type: A, action: bogus-signature}
  - {name: www, action: no-dnskey}
  - {name: "@", type: DNSKEY, action: no-dnskey}
"""
    (tmp_path / "plain.yaml").write_text(body)
    _, findings = load_file(tmp_path / "plain.yaml")
    said = [(f.code, f.where.line, f.message) for f in findings if f.code == "fault-no-effect"]
    first = LAB.count("\n") + 2  # the line of the first fault
    assert [(code, line) for code, line, _ in said] == [("fault-no-effect", first + i) for i in range(3)], said
    assert "lab.example. has no dnssec: block" in said[0][2]
    (tmp_path / "signed.yaml").write_text(body + "dnssec: true\n")
    _, findings = load_file(tmp_path / "signed.yaml")
    said = [(f.where.line, f.message) for f in findings if f.code == "fault-no-effect"]
    assert said == [(first + 1, "no-dnskey leaves out the apex DNSKEY RRset, which is in no answer for "
                                "www.lab.example.")]


def test_the_query_log_names_a_validator_fault_only_where_it_changed_the_answer(tmp_path: Path, serve) -> None:  # noqa: F811
    """Without DO the answer is the normal one, so the log must not say the fault fired (a lab user reads it)."""
    _signed_zone(tmp_path, FAULTS)
    server = Serve("lab.yaml", cwd=tmp_path)
    serve.append(server)
    server.started()
    dig = require_tool("dig")
    for extra in ((), ("+dnssec",)):
        done = subprocess.run([dig, "@127.0.0.1", "-p", str(server.port), "+tries=1", "+time=5", *extra,
                               "www.lab.example", "A"], capture_output=True, text=True, timeout=30)
        assert "192.0.2.1" in done.stdout, done.stdout
    lines = [line for line in server.out_lines(2) if "www.lab.example" in line]
    assert len(lines) == 2, lines
    assert "fault=" not in lines[0], lines  # no DO: nothing of DNSSEC, so no fault
    assert "fault=bogus-signature" in lines[1], lines


def test_route_over_the_wire_gives_the_validator_notes_route_from_the_zone_gives(tmp_path: Path, serve) -> None:  # noqa: F811
    """`route --server` asks with DO and checks the signatures, so a lab's validator fault shows without the YAML."""
    import json

    _signed_zone(tmp_path, FAULTS)
    server = Serve("lab.yaml", "-q", cwd=tmp_path)
    serve.append(server)
    server.started()

    def notes(*where: str) -> list[tuple[str, str]]:
        done = subprocess.run([zonetool_exe(), "route", "lab.example", *where, "--format", "json"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        plan = json.loads(done.stdout)
        return [(n["code"], n["message"]) for n in plan["notes"] if n["code"].startswith("dnssec-")]

    from_zone = notes("--zone", "lab.yaml")
    assert [code for code, _ in from_zone] == ["dnssec-unsigned"], from_zone  # mx1 A: missing-rrsig
    assert notes("--server", f"127.0.0.1:{server.port}") == from_zone


def test_the_wire_resolver_tells_a_hidden_dnskey_and_nothing_in_an_unsigned_zone(tmp_path: Path) -> None:
    zone = _signed_zone(tmp_path)
    (tmp_path / "plain.yaml").write_text(LAB.replace("lab.example", "plain.example"))
    with DNSTestServer() as dns_server:
        dns_server.load(zone, tmp_path / "plain.yaml")
        dns_server.fault("lab.example.", "DNSKEY", "no-dnskey")
        wire = WireResolver(dns_server.host, dns_server.port)
        mx = wire.resolve(Name.from_text("lab.example."), int(RRType.MX))
        assert mx.kind == "ok" and "dnssec-no-dnskey" in mx.events, mx
        dns_server.clear_faults()
        wire = WireResolver(dns_server.host, dns_server.port)
        for name in ("lab.example.", "plain.example."):
            res = wire.resolve(Name.from_text(name), int(RRType.MX))
            assert res.kind == "ok" and not [e for e in res.events if e.startswith("dnssec")], res
        plain = wire.resolve(Name.from_text("www.plain.example."), int(RRType.A))
        assert plain.kind == "ok" and plain.events == (), plain
