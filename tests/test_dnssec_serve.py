"""Online signing in `serve` (issue 14 part 2): with DO, RRSIGs, DNSKEY and denial proofs; without DO, nothing new.

Referees: `delv` with the zone's KSK as trust anchor says "fully validated" for every positive
and negative answer (NXDOMAIN, NODATA, wildcard expansion, wildcard NODATA, empty non-terminals,
DS and no DS), with NSEC and with NSEC3; NSD serving the same signed zone gives the same answers
to the same DO questions (sections as sets, as tests/test_responder.py compares them).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import pytest
from conftest import require_tool, zonetool_exe
from test_responder import _sections, running_nsd
from test_server_cli import Serve, serve  # noqa: F401  (the fixture)
from test_server_secondary import processes  # noqa: F401  (the fixture)

from zonetool.dnssec import window
from zonetool.dnssec.sign import sign_zone
from zonetool.loader import load_file
from zonetool.names import Name
from zonetool.server.responder import Responder
from zonetool.source.dnskeys import zone_keys

CLIENT = ("127.0.0.1", 5300)
LAB = """\
origin: lab.example
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [192.0.2.25]}
records:
  "@": {TXT: "v=spf1 mx -all"}
  _dmarc: {TXT: "v=DMARC1; p=reject"}
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
  "*.wild": {A: 192.0.2.9, TXT: "from a wildcard"}
  a.b.c.ent: {A: 192.0.2.10}
  secure: {NS: [ns.secure], DS: "12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"}
  ns.secure: {A: 192.0.2.77}
  insecure: {NS: [ns.insecure]}
  ns.insecure: {A: 192.0.2.78}
  www: {A: 192.0.2.1, AAAA: "2001:db8::1"}
  alias: {CNAME: www}
"""
POSITIVE = ["www.lab.example A", "lab.example MX", "lab.example DNSKEY", "x.wild.lab.example A",
            "x.y.wild.lab.example TXT", "alias.lab.example A", "secure.lab.example DS", "lab.example NS"]
NEGATIVE = ["nx.lab.example A", "www.lab.example MX", "x.wild.lab.example MX", "ent.lab.example A",
            "c.ent.lab.example TXT", "nx.ent.lab.example A", "insecure.lab.example DS", "nx.wild.lab.example AAAA",
            "_dmarc.lab.example A"]


def _lab(tmp_path: Path, denial: str) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(LAB + f"dnssec: {{denial: {denial}}}\n")
    done = subprocess.run([zonetool_exe(), "keygen", "lab.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return path


def _anchor(tmp_path: Path, origin: str = "lab.example") -> Path:
    """delv's trust anchor: the zone's KSK as `trust-anchors { ... static-key ... }`."""
    for key in sorted((tmp_path / "keys").glob(f"K{origin}.+*.key")):
        fields = next(line for line in key.read_text().splitlines() if not line.startswith(";")).split()
        if fields[3] == "257":
            anchor = tmp_path / f"anchor-{origin}.conf"
            anchor.write_text(f'trust-anchors {{ {origin}. static-key {" ".join(fields[3:6])} '
                              f'"{"".join(fields[6:])}"; }};\n')
            return anchor
    raise AssertionError("no KSK")


@pytest.mark.parametrize("denial", ["nsec", "nsec3"])
def test_delv_fully_validates_every_positive_and_negative_answer(tmp_path: Path, serve, denial: str) -> None:  # noqa: F811
    delv = require_tool("delv")
    _lab(tmp_path, denial)
    anchor = _anchor(tmp_path)
    server = Serve("lab.yaml", "-q", cwd=tmp_path)
    serve.append(server)
    server.started()
    for question in POSITIVE + NEGATIVE:
        done = subprocess.run([delv, "@127.0.0.1", "-p", str(server.port), "-a", str(anchor), "+root=lab.example",
                               *question.split()], capture_output=True, text=True, timeout=60)
        want = "; fully validated" if question in POSITIVE else "; negative response, fully validated"
        assert want in done.stdout.splitlines(), (question, done.stdout, done.stderr)


def _ask(responder: Responder, name: str, qtype: str, do: bool, transport: str = "tcp") -> dns.message.Message:
    query = dns.message.make_query(name, qtype, want_dnssec=do, payload=1232)
    return dns.message.from_wire(responder.respond(query.to_wire(), CLIENT, transport).messages[0])


def _signed_responder(tmp_path: Path, denial: str) -> tuple[Responder, object, object]:
    zone, _ = load_file(_lab(tmp_path, denial))
    assert zone is not None and zone.dnssec is not None
    unsigned = load_file(tmp_path / "lab.yaml")[0]
    unsigned.dnssec = None  # type: ignore[union-attr]
    return Responder([zone]), zone, unsigned


QUESTIONS = [q.split() for q in POSITIVE + NEGATIVE] + [
    ["foo.secure.lab.example", "A"], ["foo.insecure.lab.example", "A"], ["mx1.lab.example", "AAAA"],
    ["lab.example", "SOA"], ["a.b.c.ent.lab.example", "A"]]


@pytest.mark.parametrize("denial", ["nsec", "nsec3"])
def test_without_do_the_answers_are_those_of_the_unsigned_zone(tmp_path: Path, denial: str) -> None:
    signed, _, unsigned = _signed_responder(tmp_path, denial)
    plain = Responder([unsigned])  # type: ignore[list-item]
    for name, qtype in QUESTIONS:
        if qtype == "DNSKEY":
            continue  # asked for by type, the keys are zone data (as NSD answers them); nothing else is added
        for edns in (False, True):
            q = dns.message.make_query(name, qtype, use_edns=0 if edns else False, payload=1232)
            mine = signed.respond(q.to_wire(), CLIENT, "udp").messages[0]
            assert mine == plain.respond(q.to_wire(), CLIENT, "udp").messages[0], (name, qtype, edns)


@pytest.mark.parametrize("denial", ["nsec", "nsec3"])
def test_with_do_every_rrset_is_signed_and_referrals_carry_ds_or_its_absence(tmp_path: Path, denial: str) -> None:
    responder, _, _ = _signed_responder(tmp_path, denial)
    apex = dns.name.from_text("lab.example.")
    keys = {apex: _ask(responder, "lab.example", "DNSKEY", True).answer[0]}
    for name, qtype in QUESTIONS:
        reply = _ask(responder, name, qtype, True)
        assert reply.ednsflags & dns.flags.DO, (name, qtype)  # RFC 3225 3: DO copied
        for section in (reply.answer, reply.authority):
            sigs = {(r.name, r.covers): r for r in section if r.rdtype == dns.rdatatype.RRSIG}
            for rrset in section:
                if rrset.rdtype == dns.rdatatype.RRSIG or (rrset.rdtype == dns.rdatatype.NS and not reply.flags
                                                           & dns.flags.AA):
                    continue  # the NS of a referral is the child's, never signed by the parent
                dns.dnssec.validate(rrset, sigs[(rrset.name, rrset.rdtype)], keys)
    secure = _ask(responder, "foo.secure.lab.example", "A", True)
    assert {dns.rdatatype.to_text(r.rdtype) for r in secure.authority} == {"NS", "DS", "RRSIG"}
    insecure = _ask(responder, "foo.insecure.lab.example", "A", True)
    proof = "NSEC3" if denial == "nsec3" else "NSEC"
    assert {dns.rdatatype.to_text(r.rdtype) for r in insecure.authority} == {"NS", proof, "RRSIG"}


@pytest.mark.parametrize("denial", ["nsec", "nsec3"])
def test_do_answers_match_nsd_serving_the_signed_zone(tmp_path: Path, denial: str) -> None:
    responder, zone, _ = _signed_responder(tmp_path, denial)
    policy = zone.dnssec  # type: ignore[attr-defined]
    signed = sign_zone(zone, zone_keys(zone, policy), policy, window(policy, int(time.time())), 3600)  # type: ignore[arg-type]
    with running_nsd([signed], tmp_path / "nsd" if (tmp_path / "nsd").mkdir() is None else tmp_path) as port:
        names = {n.to_text() for n in zone.nodes} | {"zz." + n.to_text() for n in zone.nodes}  # type: ignore[attr-defined]
        names |= {n.to_text() for n in zone.ents}  # type: ignore[attr-defined]
        every = [(n, t) for n in sorted(names) for t in ("A", "AAAA", "MX", "TXT", "NS", "SOA", "DS", "CNAME")]
        for name, qtype in QUESTIONS + every:
            query = dns.message.make_query(name, qtype, want_dnssec=True, payload=1232)
            theirs = dns.query.tcp(query, "127.0.0.1", port=port, timeout=5)
            mine = _ask(responder, name, qtype, True)
            a, b = _sections(mine), _sections(theirs)
            diff = [(set(x) - set(y), set(y) - set(x)) for x, y in zip(a, b, strict=True) if x != y]
            assert a == b, (name, qtype, diff)


def test_a_zone_without_keys_is_served_unsigned_and_the_server_says_why(tmp_path: Path, serve) -> None:  # noqa: F811
    (tmp_path / "lab.yaml").write_text(LAB + "dnssec: true\n")
    server = Serve("lab.yaml", "-q", cwd=tmp_path)
    serve.append(server)
    server.wait_err(r"no ECDSAP256SHA256 key for lab\.example\. in keys/.*; served unsigned")
    server.started()
    reply = dns.query.udp(dns.message.make_query("www.lab.example", "A", want_dnssec=True), "127.0.0.1",
                          port=server.port, timeout=5)
    assert reply.answer and not [r for r in reply.answer if r.rdtype == dns.rdatatype.RRSIG]


def test_signatures_are_renewed_while_serving_when_the_refresh_period_is_over(tmp_path: Path) -> None:
    responder, zone, _ = _signed_responder(tmp_path, "nsec")
    first = _ask(responder, "www.lab.example", "A", True)
    sig = next(r for r in first.answer if r.rdtype == dns.rdatatype.RRSIG)[0]
    serial = _ask(responder, "lab.example", "SOA", False).answer[0][0].serial
    assert responder.refresh_signatures() == []  # the same period: nothing to do
    later = time.time() + zone.dnssec.refresh  # type: ignore[attr-defined]
    responder.signer.clock = lambda: later
    assert responder.refresh_signatures() == [zone.origin]  # type: ignore[attr-defined]
    again = _ask(responder, "www.lab.example", "A", True)
    renewed = next(r for r in again.answer if r.rdtype == dns.rdatatype.RRSIG)[0]
    assert renewed.inception == sig.inception + zone.dnssec.refresh  # type: ignore[attr-defined]
    assert renewed.expiration == sig.expiration + zone.dnssec.refresh  # type: ignore[attr-defined]
    assert responder.refresh_signatures() == []
    # a new version for secondaries (RFC 1996 3.11: they compare serials), the source zone untouched
    assert _ask(responder, "lab.example", "SOA", False).answer[0][0].serial == serial + 1
    assert zone.soa.serial == serial  # type: ignore[attr-defined]
    steps = responder.histories[zone.origin].since(serial, len(responder.zones[0]))  # type: ignore[attr-defined]
    assert steps is not None and len(steps) == 1  # the refresh is one IXFR step from the old serial to the new


def test_a_do_answer_too_big_for_the_udp_size_sets_tc_and_comes_whole_over_tcp(tmp_path: Path) -> None:
    responder, _, _ = _signed_responder(tmp_path, "nsec3")
    query = dns.message.make_query("nx.lab.example", "A", want_dnssec=True, payload=512)
    small = dns.message.from_wire(responder.respond(query.to_wire(), CLIENT, "udp").messages[0])
    assert small.flags & dns.flags.TC and not small.authority  # RFC 2181 9: no RRset cut, the client retries
    whole = dns.message.from_wire(responder.respond(query.to_wire(), CLIENT, "tcp").messages[0])
    assert not whole.flags & dns.flags.TC and len(whole.to_wire()) > 512
    assert {dns.rdatatype.to_text(r.rdtype) for r in whole.authority} == {"SOA", "NSEC3", "RRSIG"}
    plain = dns.message.from_wire(responder.respond(dns.message.make_query("nx.lab.example", "A", payload=512)
                                                    .to_wire(), CLIENT, "udp").messages[0])
    assert not plain.flags & dns.flags.TC  # without DO the same question fits


# -- incremental re-signing (issue 14 part 2: "re-signed on reload, only the RRsets that changed") ------------
HOSTS = 1000


def _big_text(denial: str, serial: int, change: dict[str, str | None] | None = None) -> str:
    """A zone of HOSTS names h0..h999 (an A each); `change` maps a host to its new A, or None to drop it."""
    hosts = {f"h{i}": f"10.0.{i >> 8}.{i & 255}" for i in range(HOSTS)}
    for host, address in (change or {}).items():
        if address is None:
            del hosts[host]
        else:
            hosts[host] = address
    body = "\n".join(f"  {host}: {{A: {address}}}" for host, address in hosts.items())
    return (f"origin: big.example\nnameservers: [ns1, ns2]\nsoa: {{serial: {serial}}}\nrecords:\n"
            f"  ns1: {{A: 192.0.2.53}}\n  ns2: {{A: 192.0.2.54}}\n{body}\ndnssec: {{denial: {denial}}}\n")


def _big(tmp_path: Path, denial: str) -> Path:
    path = tmp_path / "big.yaml"
    path.write_text(_big_text(denial, 1))
    done = subprocess.run([zonetool_exe(), "keygen", "big.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return path


def _rrsets(zone: object) -> dict[tuple[object, int], set[tuple[int, object]]]:
    return {(rrset.owner, rrset.code): {(r.ttl, r.rdata) for r in rrset.records}
            for node in zone.nodes.values() for rrset in node.values()}  # type: ignore[attr-defined]


def _validate_every_rrsig(zone: object) -> int:
    """Every RRSIG of a signed zone checked by dnspython against the zone's DNSKEY; returns how many."""
    from test_dnssec import _validate

    from zonetool.source.bind import write_zone

    text = write_zone(zone)  # type: ignore[arg-type]
    return sum(_validate(text, zone.origin.to_text(), when=int(time.time())).values())  # type: ignore[attr-defined]


@pytest.mark.parametrize("denial", ["nsec", "nsec3"])
@pytest.mark.parametrize(("change", "signed"), [
    ({"h500": "10.9.9.9"}, 2),  # the A and the SOA (its serial rose); the name's denial record is the same
    ({"h500a": "10.9.9.8"}, 4),  # the new A, the new name's NSEC/NSEC3, its predecessor's, the SOA
    ({"h600": None}, 2),  # the predecessor's NSEC/NSEC3 (now pointing past the gone name) and the SOA
], ids=["edit", "add", "delete"])
def test_a_reload_re_signs_only_the_rrsets_that_changed_and_equals_signing_all(
        tmp_path: Path, denial: str, change: dict[str, str | None], signed: int) -> None:
    path = _big(tmp_path, denial)
    zone = load_file(path)[0]
    assert zone is not None
    responder = Responder([zone])
    origin = "big.example."
    assert responder.signer.signed[origin] >= 2 * HOSTS  # the first signing signs everything
    path.write_text(_big_text(denial, 2, change))
    new = load_file(path)[0]
    assert new is not None
    responder.swap([new])
    assert responder.signer.signed[origin] == signed
    served = responder.zones[0]
    policy = new.dnssec
    win = window(policy, int(responder.signer.clock()))
    full = sign_zone(new, zone_keys(new, policy), policy, win, 3600)
    assert _rrsets(served) == _rrsets(full)  # deterministic ECDSA: the same RRSIGs, byte for byte
    assert _validate_every_rrsig(served) == sum(len(n[46].records) for n in full.nodes.values() if 46 in n)


def _delv(server: Serve, anchor: Path, root: str, question: str) -> str:
    delv = require_tool("delv")
    done = subprocess.run([delv, "@127.0.0.1", "-p", str(server.port), "-a", str(anchor), f"+root={root}",
                           *question.split()], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def _axfr_verifies(server: Serve, origin: str, folder: Path) -> None:
    """The served zone, transferred by AXFR, passes ldns-verify-zone (every signature, the whole chain)."""
    ldns = require_tool("ldns-verify-zone")
    rrsets = [r for m in dns.query.xfr("127.0.0.1", origin, port=server.port, timeout=30,
                                                             relativize=False) for r in m.answer]
    assert rrsets[0].rdtype == rrsets[-1].rdtype == dns.rdatatype.SOA  # RFC 5936 2.2: SOA first and last
    path = folder / f"{origin}axfr"
    path.write_text("".join(r.to_text() + "\n" for r in rrsets[:-1]))
    done = subprocess.run([ldns, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("denial", ["nsec", "nsec3"])
def test_served_zone_edited_grown_and_shrunk_stays_valid_and_its_chain_proves_the_new_names(
        tmp_path: Path, serve, denial: str) -> None:  # noqa: F811
    path = _big(tmp_path, denial)
    anchor = _anchor(tmp_path, "big.example")
    server = Serve("big.yaml", "-q", "--allow-transfer", "127.0.0.1", cwd=tmp_path)
    serve.append(server)
    server.started()
    proved = "; negative response, fully validated"
    path.write_text(_big_text(denial, 2, {"h500": "10.9.9.9", "h500a": "10.9.9.8"}))  # two As, two denial records, SOA
    server.wait_err(r"reloaded \(file change\): big\.example\. serial 2 \(5 RRsets signed\)", timeout=60)
    assert "10.9.9.8" in _delv(server, anchor, "big.example", "h500a.big.example A")
    assert "; fully validated" in _delv(server, anchor, "big.example", "h500a.big.example A")
    for near in ("h500b.big.example A", "h500.big.example TXT", "h5000.big.example A"):
        assert proved in _delv(server, anchor, "big.example", near), near
    _axfr_verifies(server, "big.example.", tmp_path)
    path.write_text(_big_text(denial, 3, {"h500": "10.9.9.9", "h500a": "10.9.9.8", "h600": None}))
    server.wait_err(r"reloaded \(file change\): big\.example\. serial 3 \(2 RRsets signed\)", timeout=60)
    for near in ("h600.big.example A", "h600.big.example TXT", "h6000.big.example A"):
        assert proved in _delv(server, anchor, "big.example", near), near
    _axfr_verifies(server, "big.example.", tmp_path)


def test_an_earlier_copy_signed_with_other_keys_or_in_another_window_lends_nothing(tmp_path: Path) -> None:
    from zonetool.dnssec import generate
    from zonetool.dnssec.sign import Signer

    zone = load_file(_big(tmp_path, "nsec"))[0]
    assert zone is not None
    policy = zone.dnssec
    keys = zone_keys(zone, policy)
    now = int(time.time())
    win = window(policy, now)
    first = Signer(zone.origin, keys, win)
    signed = sign_zone(zone, keys, policy, win, 3600, signer=first)
    everything = first.rrsets_signed
    again = Signer(zone.origin, keys, win)
    assert _rrsets(sign_zone(zone, keys, policy, win, 3600, earlier=signed, signer=again)) == _rrsets(signed)
    assert again.rrsets_signed == 0  # nothing changed: every signature lent
    other = [generate(13)]
    for made_with, when in ((other, win), (keys, window(policy, now + policy.refresh)), (keys + other, win),
                            (keys[:1], win)):
        signer = Signer(zone.origin, made_with, when)
        out = sign_zone(zone, made_with, policy, when, 3600, earlier=signed, signer=signer)
        assert signer.rrsets_signed == everything, (len(made_with), when)
        tags = {key.tag for key in made_with}
        sigs = [r.rdata.data for node in out.nodes.values() if 46 in node for r in node[46].records]
        assert {int.from_bytes(d[16:18], "big") for d in sigs} <= tags  # RFC 4034 3.1: key tag at octet 16
        assert {int.from_bytes(d[12:16], "big") for d in sigs} == {when.inception}


def _soa_and_expiration(port: int) -> tuple[int, int] | None:
    """(SOA serial, expiration of www's RRSIG) as the server at `port` answers them, None if it cannot yet."""
    try:
        soa = dns.query.udp(dns.message.make_query("example.com", "SOA"), "127.0.0.1", port=port, timeout=2)
        www = dns.query.tcp(dns.message.make_query("www.example.com", "A", want_dnssec=True), "127.0.0.1",
                            port=port, timeout=2)
    except (OSError, dns.exception.Timeout):
        return None
    sigs = [r for r in www.answer if r.rdtype == dns.rdatatype.RRSIG]
    if not soa.answer or not sigs:
        return None
    return soa.answer[0][0].serial, sigs[0][0].expiration


def test_a_secondary_transfers_the_refreshed_signatures_after_notify(
        tmp_path: Path, serve, processes: list[subprocess.Popen[str]]) -> None:  # noqa: F811
    from secondaries import launch, nsd_conf
    from test_server_secondary import free_port, wait_until

    (tmp_path / "example.com.yaml").write_text(
        "origin: example.com\nnameservers: [ns1]\nsoa: {serial: 7}\nrecords:\n  ns1: {A: 192.0.2.53}\n"
        "  www: {A: 192.0.2.1}\ndnssec: {refresh: 20s, validity: 1h}\n")
    done = subprocess.run([zonetool_exe(), "keygen", "example.com.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    port = free_port()
    primary = Serve("example.com.yaml", "-q", "--allow-transfer", "127.0.0.1", "--notify", f"127.0.0.1:{port}",
                    cwd=tmp_path)
    serve.append(primary)
    primary.started()
    launch(nsd_conf(tmp_path, port, primary.port), tmp_path, processes)
    assert wait_until(lambda: _soa_and_expiration(port) is not None, timeout=60), \
        (tmp_path / "secondary.log").read_text()[-3000:]
    first = _soa_and_expiration(port)
    assert first is not None
    for _ in range(2):  # a refresh may have come before the transfer: the one after it counts
        refreshed = int(primary.wait_err(r"signatures refreshed: example\.com\. serial (\d+)", timeout=60).group(1))
        if refreshed > first[0]:
            break
    assert refreshed > first[0], "the refresh did not raise the serial"  # the SOA refresh timer is an hour:
    # only a NOTIFY with a higher serial brings a transfer now (RFC 1996 3.11)
    primary.wait_err(rf"NOTIFY example\.com\. to 127\.0\.0\.1:{port}: acknowledged", timeout=30)
    theirs = _soa_and_expiration(primary.port)
    assert theirs is not None and theirs[0] >= refreshed and theirs[1] > first[1]
    assert wait_until(lambda: (_soa_and_expiration(port) or (0, 0))[1] > first[1], timeout=60), \
        (tmp_path / "secondary.log").read_text()[-3000:]
    second = _soa_and_expiration(port)
    assert second is not None and second[0] > first[0] and second[1] >= first[1] + 20


def test_the_served_serial_rises_with_new_signatures_and_never_goes_back() -> None:
    from zonetool.dnssec.sign import served_serial

    assert served_serial(7, None, 100) == 7  # first signing: the source's serial
    assert served_serial(7, (7, 7, 100), 100) == 7  # the same version in the same window
    assert served_serial(7, (7, 7, 100), 200) == 8  # a refresh: new signatures, a new serial
    assert served_serial(8, (7, 8, 200), 200) == 9  # the source caught up with the refresh: past it again
    assert served_serial(20, (7, 9, 200), 200) == 20  # a source serial above the served one is taken
    assert served_serial(7, (7, 9, 200), 200) == 9  # an unchanged source after refreshes: no step back
    assert served_serial(5, (2**32 - 1, 2**32 - 1, 100), 200) == 5  # RFC 1982: 5 is above 4294967295
    assert served_serial(2**32 - 1, (2**32 - 1, 2**32 - 1, 100), 200) == 0  # addition wraps (RFC 1982 3.1)


# -- a served parent publishes its signed child's DS (issue 14 part 1) ----------------------------------------
FAMILY = LAB.replace('  www: {A: 192.0.2.1, AAAA: "2001:db8::1"}\n',
                     '  www: {A: 192.0.2.1, AAAA: "2001:db8::1"}\n  kid: {NS: [ns1.kid]}\n  ns1.kid: {A: 192.0.2.90}\n'
                     '  nokid: {NS: [ns1.nokid]}\n  ns1.nokid: {A: 192.0.2.91}\n')
KID = "origin: {origin}\nnameservers: [ns1]\nrecords:\n  ns1: {{A: {ns}}}\n  www: {{A: {www}}}\ndnssec: true\n"


def _family(tmp_path: Path, denial: str = "nsec") -> None:
    """lab.example (signed) delegating to kid.lab.example (signed) and nokid.lab.example (dnssec: without keys)."""
    (tmp_path / "lab.yaml").write_text(FAMILY + f"dnssec: {{denial: {denial}}}\n")
    (tmp_path / "kid.yaml").write_text(KID.format(origin="kid.lab.example", ns="192.0.2.90", www="192.0.2.92"))
    (tmp_path / "nokid.yaml").write_text(KID.format(origin="nokid.lab.example", ns="192.0.2.91", www="192.0.2.93"))
    for name in ("lab.yaml", "kid.yaml"):
        done = subprocess.run([zonetool_exe(), "keygen", name], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def _kid_ds(tmp_path: Path) -> set[object]:
    """The DS records of kid.lab.example's KSKs, as dnspython makes them from the key files."""
    import dns.rdata

    out = set()
    for key in (tmp_path / "keys").glob("Kkid.lab.example.+*.key"):
        fields = next(line for line in key.read_text().splitlines() if not line.startswith(";")).split()
        if fields[3] == "257":
            dnskey = dns.rdata.from_text("IN", "DNSKEY", " ".join(fields[3:]))
            out.add(dns.dnssec.make_ds("kid.lab.example.", dnskey, "SHA256"))
    return out


@pytest.mark.parametrize("denial", ["nsec", "nsec3"])
def test_a_served_parent_publishes_its_signed_childs_ds_and_follows_its_key_change(
        tmp_path: Path, serve, denial: str) -> None:  # noqa: F811
    _family(tmp_path, denial)
    anchor = _anchor(tmp_path)  # the PARENT's key only: the child is reached through the DS
    server = Serve("lab.yaml", "kid.yaml", "nokid.yaml", "-q", cwd=tmp_path)
    serve.append(server)
    server.wait_err(r"no ECDSAP256SHA256 key for nokid\.lab\.example\. .*; served unsigned")
    server.started()
    for question, want in (("www.kid.lab.example A", "; fully validated"), ("kid.lab.example DS", "; fully validated"),
                           ("www.nokid.lab.example A", "; unsigned answer"),
                           ("nokid.lab.example DS", "; negative response, fully validated")):
        assert want in _delv(server, anchor, "lab.example", question).splitlines(), question

    def published() -> tuple[set[object], int]:
        ds = dns.query.tcp(dns.message.make_query("kid.lab.example", "DS"), "127.0.0.1", port=server.port, timeout=5)
        soa = dns.query.tcp(dns.message.make_query("lab.example", "SOA"), "127.0.0.1", port=server.port, timeout=5)
        return {rd for rrset in ds.answer for rd in rrset}, soa.answer[0][0].serial

    first, serial = published()
    assert first == _kid_ds(tmp_path) and len(first) == 1
    for old in (tmp_path / "keys").glob("Kkid.lab.example.+*"):  # the child's keys replaced, its file edited
        old.unlink()
    done = subprocess.run([zonetool_exe(), "keygen", "kid.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (tmp_path / "kid.yaml").write_text(KID.format(origin="kid.lab.example", ns="192.0.2.90", www="192.0.2.94"))
    server.wait_err(r"reloaded \(file change\): kid\.lab\.example\.", timeout=60)
    now, raised = published()
    assert now == _kid_ds(tmp_path) and now != first
    assert raised == serial + 1  # the parent's new DS is a new version for its secondaries
    out = _delv(server, anchor, "lab.example", "www.kid.lab.example A")
    assert "; fully validated" in out.splitlines() and "192.0.2.94" in out, out


def test_the_childs_ds_is_kept_across_reloads_of_other_zones_and_made_again_only_for_new_keys(tmp_path: Path) -> None:
    from zonetool.dnssec import generate

    _family(tmp_path)
    lab, kid, nokid = (load_file(tmp_path / f"{n}.yaml")[0] for n in ("lab", "kid", "nokid"))
    responder = Responder([lab, kid, nokid])  # type: ignore[list-item]
    parent = responder.zones[0]
    assert parent.rrset(Name.from_text("kid.lab.example."), 43) is not None
    assert parent.rrset(Name.from_text("nokid.lab.example."), 43) is None  # no keys: an insecure delegation
    assert lab.rrset(Name.from_text("kid.lab.example."), 43) is None  # type: ignore[union-attr]  # the source untouched
    nokid2 = load_file(tmp_path / "nokid.yaml")[0]
    responder.swap([lab, kid, nokid2])  # type: ignore[list-item]
    assert responder.zones[0] is parent and "lab.example." not in responder.signer.signed
    kid2 = load_file(tmp_path / "kid.yaml")[0]
    responder.swap([lab, kid2, nokid2])  # type: ignore[list-item]  # the child again, the same keys
    assert responder.zones[0] is parent and responder.signer.signed == {"kid.lab.example.": 0}  # all lent
    from zonetool.source.dnskeys import write_key

    write_key(tmp_path / "keys", kid2.origin, generate(13), int(time.time()))  # type: ignore[union-attr]  # a second KSK
    kid3 = load_file(tmp_path / "kid.yaml")[0]
    responder.swap([lab, kid3, nokid2])  # type: ignore[list-item]
    # the parent: the DS RRset (two records now) and its SOA (a new serial); nothing else
    assert responder.signer.signed["lab.example."] == 2
    assert len(responder.zones[0].rrset(Name.from_text("kid.lab.example."), 43).records) == 2  # type: ignore[union-attr]


def test_after_a_restart_with_the_journal_the_served_serial_does_not_go_back_below_a_refresh(
        tmp_path: Path, serve) -> None:  # noqa: F811
    (tmp_path / "example.com.yaml").write_text(
        "origin: example.com\nnameservers: [ns1]\nsoa: {serial: 7}\nrecords:\n  ns1: {A: 192.0.2.53}\n"
        "  www: {A: 192.0.2.1}\ndnssec: {refresh: 20s, validity: 1h}\n")
    done = subprocess.run([zonetool_exe(), "keygen", "example.com.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    first = Serve("example.com.yaml", "-q", "--journal", "journal", cwd=tmp_path)
    serve.append(first)
    first.started()
    refreshed = int(first.wait_err(r"signatures refreshed: example\.com\. serial (\d+)", timeout=60).group(1))
    assert refreshed == 8
    time.sleep(1)  # the journal is written by its own thread after the refresh
    assert first.stop() == 0
    again = Serve("example.com.yaml", "-q", "--journal", "journal", cwd=tmp_path)
    serve.append(again)
    again.started()
    soa = dns.query.udp(dns.message.make_query("example.com", "SOA"), "127.0.0.1", port=again.port, timeout=5)
    assert soa.answer[0][0].serial >= refreshed  # secondaries that took 8 must not be offered 7 again
