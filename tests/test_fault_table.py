"""Fault actions are data (issue 15, item 3): every row of `EFFECTS` is honoured by the server over
real UDP/TCP, by the in-process resolver, and the route notes are the row's text.

The expectations are read from each row's fields, so a new row is tested here without a new test.
The validator rows (`Effect.dnssec`: issue 14) act on DO answers of a signed zone only: over the
wire they are checked on a signed copy of the zone with dnspython's `dns.dnssec`, and shown to
change nothing without DO and nothing in an unsigned zone.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
import yaml
from conftest import zonetool_exe

from zonetool.compile import compile_zone
from zonetool.faults import EFFECTS, Effect, Fault, FaultSet, actions_help
from zonetool.harness.plan import TIMEOUT, Result, _event_notes
from zonetool.harness.resolvers import ZoneResolver
from zonetool.names import Name
from zonetool.schema import SCHEMA
from zonetool.server.responder import Responder
from zonetool.testing import DNSTestServer
from zonetool.zone import Zone

SPEC = {"origin": "example.com", "nameservers": ["ns1"], "records": {"ns1": {"A": "192.0.2.53"},
                                                                    "mx1": {"A": "192.0.2.10"}}}
MX1 = Name.from_text("mx1.example.com.")
DELAY_MS = 150


def delay_for(e: Effect) -> int:
    return DELAY_MS if e.needs_delay else 0


@pytest.fixture(scope="module")
def zone() -> Zone:
    z, findings = compile_zone(SPEC)
    assert z is not None and not findings
    return z


@pytest.fixture(scope="module")
def server() -> Iterator[DNSTestServer]:
    with DNSTestServer() as srv:
        srv.load(SPEC)
        yield srv


def test_every_row_changes_something() -> None:
    for e in EFFECTS.values():
        assert e.rcode is not None or e.drop or e.tc_udp or e.wrong_id or e.needs_delay or e.dnssec, e.action
        assert e.note is None or e.event is not None, f"{e.action}: a note needs the event it is for"


def ask_udp(srv: DNSTestServer, query: dns.message.Message, wait: float) -> tuple[bytes | None, float]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(wait)
        start = time.monotonic()
        s.sendto(query.to_wire(), (srv.host, srv.port))
        try:
            data, _ = s.recvfrom(65535)
        except TimeoutError:
            return None, time.monotonic() - start
        return data, time.monotonic() - start


@pytest.mark.parametrize("action", list(EFFECTS))
def test_the_server_honours_the_row_over_udp_and_tcp(server: DNSTestServer, action: str) -> None:
    e = EFFECTS[action]
    fault = server.fault("mx1", "A", action, delay_ms=delay_for(e))
    try:
        query = dns.message.make_query("mx1.example.com.", "A", want_dnssec=e.dnssec)  # unsigned: nothing to change
        data, took = ask_udp(server, query, wait=1.0)
        if e.drop:
            assert data is None
            return
        assert data is not None, f"{action}: no reply"
        assert took >= delay_for(e) / 1000
        msg = dns.message.from_wire(data, ignore_trailing=True)
        assert (msg.id != query.id) == e.wrong_id
        if e.rcode is not None:
            assert msg.rcode() == e.rcode and msg.answer == []
            assert bool(msg.authority and msg.authority[0].rdtype == dns.rdatatype.SOA) == e.negative
        elif e.tc_udp:
            assert msg.flags & dns.flags.TC and msg.answer == []
        else:
            assert [r.to_text() for rrset in msg.answer for r in rrset] == ["192.0.2.10"]
        if e.tc_udp and not e.wrong_id:  # over TCP the same question is answered normally
            tcp = dns.query.tcp(dns.message.make_query("mx1.example.com.", "A"), server.host, port=server.port,
                                timeout=5)
            assert not tcp.flags & dns.flags.TC
            assert [r.to_text() for rrset in tcp.answer for r in rrset] == ["192.0.2.10"]
    finally:
        server.remove_fault(fault)


VALIDATOR_ROWS = [a for a, e in EFFECTS.items() if e.dnssec]
APEX = dns.name.from_text("example.com.")


@pytest.fixture(scope="module", params=["nsec", "nsec3"])
def signed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DNSTestServer]:
    """The same zone signed (keys made by `zonetool keygen`), with a TLSA where a DANE sender looks."""
    folder = tmp_path_factory.mktemp("signed")
    records = {**SPEC["records"], "_25._tcp.mx1": {"TLSA": "3 1 1 " + "ab" * 32}}  # type: ignore[dict-item]
    spec = {**SPEC, "records": records, "dnssec": {"denial": request.param}}
    (folder / "example.com.yaml").write_text(yaml.safe_dump(spec))
    done = subprocess.run([zonetool_exe(), "keygen", "example.com.yaml"], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with DNSTestServer() as srv:
        srv.load(folder / "example.com.yaml")
        yield srv


def _do(srv: DNSTestServer, name: str, qtype: str, transport: str, dnssec: bool = True) -> dns.message.Message:
    query = dns.message.make_query(name, qtype, want_dnssec=dnssec, payload=1232)
    if transport == "tcp":
        return dns.query.tcp(query, srv.host, port=srv.port, timeout=5)
    return dns.query.udp(query, srv.host, port=srv.port, timeout=5)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("question", [("mx1", "A"), ("_25._tcp.mx1", "TLSA"), ("nx", "A")], ids="/".join)
@pytest.mark.parametrize("action", VALIDATOR_ROWS)
def test_a_validator_row_changes_what_a_validator_checks_with_do_only(
    signed: DNSTestServer, action: str, question: tuple[str, str], transport: str
) -> None:
    e = EFFECTS[action]
    name, qtype = f"{question[0]}.example.com.", question[1]
    keys = {APEX: _do(signed, "example.com.", "DNSKEY", transport).answer[0]}
    genuine = _do(signed, name, qtype, transport)
    genuine_nodata = _do(signed, "example.com.", "TYPE1000", transport)  # the apex's own denial proof
    plain = _do(signed, name, qtype, transport, dnssec=False)
    fault = signed.fault(question[0], qtype, action) if not e.hide_dnskey else signed.fault("@", "DNSKEY", action)
    try:
        asked = ("example.com.", "DNSKEY") if e.hide_dnskey else (name, qtype)
        reply = _do(signed, *asked, transport)
        without_do = _do(signed, name, qtype, transport, dnssec=False)
    finally:
        signed.remove_fault(fault)
    assert (without_do.rcode(), without_do.answer, without_do.authority) == (plain.rcode(), plain.answer,
                                                                               plain.authority)
    if e.hide_dnskey:  # NODATA for the keys: no DNSKEY, the SOA and its proof (RFC 2308 2.2)
        assert reply.rcode() == dns.rcode.NOERROR and reply.answer == []
        proof = {dns.rdatatype.to_text(r.rdtype) for r in genuine_nodata.authority} - {"SOA", "RRSIG"}
        assert proof in ({"NSEC"}, {"NSEC3"})
        assert {dns.rdatatype.to_text(r.rdtype) for r in reply.authority} == {"SOA", "RRSIG", *proof}
        return
    section = "answer" if genuine.answer else "authority"
    signed_sets = [r for r in getattr(genuine, section) if r.rdtype != dns.rdatatype.RRSIG]
    assert signed_sets, (action, question)
    for rrset in signed_sets:  # the same data as the genuine answer, each RRset's RRSIGs changed as the row says
        got = reply.find_rrset(getattr(reply, section), rrset.name, rrset.rdclass, rrset.rdtype)
        assert got == rrset
        sigs = reply.get_rrset(getattr(reply, section), rrset.name, rrset.rdclass, dns.rdatatype.RRSIG, rrset.rdtype)
        real = genuine.find_rrset(getattr(genuine, section), rrset.name, rrset.rdclass, dns.rdatatype.RRSIG,
                                  rrset.rdtype)
        dns.dnssec.validate(rrset, real, keys)
        if e.rrsig == "strip":
            assert sigs is None
            continue
        assert sigs is not None and len(sigs) == len(real)
        for sig, was in zip(sorted(sigs, key=str), sorted(real, key=str), strict=True):
            reason = "expired" if e.rrsig == "expired" else "verify failure"
            with pytest.raises(dns.dnssec.ValidationFailure, match=reason):
                dns.dnssec.validate_rrsig(rrset, sig, keys)
            assert (sig.key_tag, sig.algorithm, sig.labels, sig.original_ttl) == (was.key_tag, was.algorithm,
                                                                                 was.labels, was.original_ttl)
            if e.rrsig == "expired":  # genuine, only too old: it verifies at a time inside its window
                assert sig.expiration < time.time() - 86400
                dns.dnssec.validate_rrsig(rrset, sig, keys, now=sig.expiration - 60)
            else:
                assert (sig.inception, sig.expiration) == (was.inception, was.expiration)


@pytest.fixture(scope="module")
def signed_zone() -> Zone:
    """The zone with `dnssec:` (the in-process resolver needs no keys: it does not validate)."""
    z, findings = compile_zone({**SPEC, "dnssec": True})
    assert z is not None and z.dnssec is not None and not [f for f in findings if f.severity.value == "error"]
    return z


@pytest.mark.parametrize("signed_policy", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize("action", list(EFFECTS))
def test_the_in_process_resolver_honours_the_row(zone: Zone, signed_zone: Zone, action: str,
                                                 signed_policy: bool) -> None:
    e = EFFECTS[action]
    fault = Fault.make(MX1, "A", action, delay_for(e))
    res = ZoneResolver([signed_zone if signed_policy else zone], FaultSet([fault])).resolve(MX1, 1)
    expected_events = [f"fault:{fault.describe()}"]
    if e.event is not None and (signed_policy or not e.dnssec):  # a validator fault: signed zones only
        expected_events.append(e.event_text(fault.delay_ms))
    assert list(res.events) == expected_events
    if e.drop or e.wrong_id:  # no reply, or one a resolver must discard (RFC 5452 9.1)
        assert res.rcode is None and res.error == TIMEOUT
    elif e.rcode is not None:
        assert res.rcode == e.rcode and res.records == ()
    else:
        assert [r.to_text() for r in res.records] == ["192.0.2.10"]


@pytest.mark.parametrize("action", list(EFFECTS))
def test_the_route_notes_are_the_rows_text(signed_zone: Zone, action: str) -> None:
    e = EFFECTS[action]
    fault = Fault.make(MX1, "A", action, delay_for(e))
    res = ZoneResolver([signed_zone], FaultSet([fault])).resolve(MX1, 1)
    notes = _event_notes(res, "A mx1.example.com.", "mx1.example.com.")
    assert notes[0].code == "fault" and notes[0].message == f"A mx1.example.com.: injected {fault.describe()}"
    if e.note is None:
        assert len(notes) == 1
    else:
        code, text = e.note
        assert [(n.code, n.message) for n in notes[1:]] == [
            (code, text.format(what="A mx1.example.com.", detail=str(delay_for(e))))
        ]


def test_help_and_schema_list_every_row() -> None:
    assert DNSTestServer.fault.__doc__ is not None
    enum = SCHEMA["$defs"]["fault"]["properties"]["action"]["anyOf"][0]["enum"]
    assert enum == list(EFFECTS)
    width = max(map(len, EFFECTS))
    for e in EFFECTS.values():
        assert f"{e.action:<{width}}  {e.summary}" in DNSTestServer.fault.__doc__
        assert e.summary in actions_help()


def test_a_new_action_is_one_row(zone: Zone, monkeypatch: pytest.MonkeyPatch) -> None:
    """A toy action added only to the table: parsed from `faults:`, served, resolved and noted."""
    toy = Effect("formerr", "RCODE 1 (a test action)", rcode=1, event="odd:{delay_ms}",
                 note=("dns-odd", "{what}: odd after {detail} ms"))
    monkeypatch.setitem(EFFECTS, "formerr", toy)
    faults, findings = FaultSet.from_spec([{"name": "mx1", "action": "FORMERR", "delay": 5}], zone.origin)
    assert findings == [] and [f.action for f in faults] == ["formerr"]
    reply = Responder([zone], faults=faults).respond(dns.message.make_query("mx1.example.com.", "A").to_wire(),
                                                     ("127.0.0.1", 5300), "udp")
    assert dns.message.from_wire(reply.messages[0]).rcode() == dns.rcode.FORMERR and reply.delay == 0.005
    res = ZoneResolver([zone], faults).resolve(MX1, 1)
    assert res.rcode == 1 and res.events[1:] == ("odd:5",)
    assert [(n.code, n.message) for n in _event_notes(res, "A mx1")][1:] == [("dns-odd", "A mx1: odd after 5 ms")]
    assert "formerr" in actions_help()
    assert _event_notes(Result(events=("odd:1",)), "x") != []  # the note follows the row, not a branch


FAULT_ITEMS = [
    *({"name": "mx1", "action": a, **({"delay": "2s"} if e.needs_delay else {})} for a, e in EFFECTS.items()),
    {"names": ["mx1", "*.lab"], "types": ["A", 28], "action": "SERVFAIL", "delay": "1500ms"},
    {"name": "mx1", "action": "explode"},  # unknown action
    {"action": "servfail"},  # no name
    {"name": "mx1", "names": ["mx2"], "action": "refused"},
    {"name": "mx1", "type": "A", "types": ["MX"], "action": "refused"},
    *({"name": "mx1", "action": a} for a, e in EFFECTS.items() if e.needs_delay),  # a delay action without delay
    {"name": "mx1", "action": "timeout", "when": "always"},  # unknown key
    {"name": "mx1", "action": "delay", "delay": "soon"},
]


@pytest.mark.parametrize("item", FAULT_ITEMS, ids=repr)
def test_the_faults_schema_agrees_with_the_parser(item: dict[str, object]) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    schema_ok = not list(validator.iter_errors({"origin": "example.com", "faults": [item]}))
    _, findings = FaultSet.from_spec([item], Name.from_text("example.com."))
    errors = [f for f in findings if f.severity.value == "error"]  # a warning (fault-no-effect) refuses nothing
    assert schema_ok == (not errors), [f.message for f in findings]
