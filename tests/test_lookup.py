"""The pure answer logic (RFC 1034 4.3.2, RFC 2308, RFC 4592, RFC 8020), without bytes or sockets."""

from __future__ import annotations

import pytest

from zonetool.lookup import NOERROR, NXDOMAIN, REFUSED, Answer, ZoneSet, lookup
from zonetool.names import Name
from zonetool.rrtypes import parse_rdata, type_code
from zonetool.zone import Record, Zone

EXAMPLE_COM = """
@            3600 SOA   ns1 hostmaster 7 3600 900 604800 300
@            3600 NS    ns1
@            3600 NS    ns2.example.net.
@            3600 MX    10 mx1
@            3600 MX    20 mx2
@            3600 MX    30 mx.example.net.
ns1          3600 A     192.0.2.53
mx1          3600 A     192.0.2.10
mx1          3600 AAAA  2001:db8::10
mx2          3600 A     192.0.2.11
_smtp._tcp   3600 SRV   0 0 25 mx1
_imap._tcp   3600 SRV   0 0 143 mx2
www          3600 CNAME @
chain1       3600 CNAME chain2
chain2       3600 CNAME mx1
loop1        3600 CNAME loop2
loop2        3600 CNAME loop1
self         3600 CNAME self
away         3600 CNAME mail.example.net.
dangling     3600 CNAME nothere
into-lab     3600 CNAME host.lab
into-sub     3600 CNAME x.sub
sub          3600 NS    ns1.sub
sub          3600 NS    ns.example.net.
ns1.sub      3600 A     192.0.2.60
deep.ns1.sub 3600 A     192.0.2.61
*.dev        3600 A     192.0.2.99
*.dev        3600 MX    10 mx1
Mixed.Case   3600 TXT   "spelling kept"
"""

LAB = """
@     60   SOA  ns1 hostmaster 1 3600 900 604800 600
@     60   NS   ns1
ns1   60   A    192.0.2.70
host  60   A    192.0.2.71
"""

# RFC 4592 2.1 example zone.
RFC4592 = """
@                  3600 SOA ns.example.com. hostmaster 1 3600 900 604800 300
@                  3600 NS  ns.example.com.
@                  3600 NS  ns.example.net.
*                  3600 TXT "this is a wildcard"
*                  3600 MX  10 host1
sub.*              3600 TXT "this is not a wildcard"
host1              3600 A   192.0.2.1
_ssh._tcp.host1    3600 SRV 0 0 22 host1
_ssh._tcp.host2    3600 SRV 0 0 22 host2
subdel             3600 NS  ns.example.com.
subdel             3600 NS  ns.example.net.
"""


def make_zone(origin: str, text: str) -> Zone:
    """A zone from `owner ttl type rdata` lines, built with the core's own record parser."""
    apex = Name.from_text(origin)
    zone = Zone(apex)
    for line in text.strip().splitlines():
        owner, ttl, rtype, rdata = line.split(None, 3)
        zone.add(Record(Name.from_text(owner, apex), int(ttl), parse_rdata(rtype, rdata, apex)))
    return zone


@pytest.fixture(scope="module")
def zs() -> ZoneSet:
    return ZoneSet(
        [make_zone("example.com.", EXAMPLE_COM), make_zone("lab.example.com.", LAB), make_zone("example.", RFC4592)]
    )


def ask(zs: ZoneSet, qname: str, qtype: str) -> Answer:
    return lookup(zs, Name.from_text(qname), type_code(qtype))


def section(rrsets: list) -> list[tuple[str, str, list[str]]]:
    return [(r.owner.to_text(), r.rtype, sorted(x.rdata.to_text() for x in r.records)) for r in rrsets]


def owners(rrsets: list) -> list[str]:
    return [r.owner.to_text().lower() for r in rrsets]


def test_positive_answer_is_authoritative_with_additional_for_mx(zs: ZoneSet) -> None:
    a = ask(zs, "example.com.", "MX")
    assert (a.rcode, a.authoritative) == (NOERROR, True)
    assert section(a.answer) == [
        ("example.com.", "MX", ["10 mx1.example.com.", "20 mx2.example.com.", "30 mx.example.net."])
    ]
    # RFC 1034 4.3.2 step 6: addresses of in-zone exchanges, nothing for the outside one.
    assert sorted((r.owner.to_text(), r.rtype) for r in a.additional) == [
        ("mx1.example.com.", "A"),
        ("mx1.example.com.", "AAAA"),
        ("mx2.example.com.", "A"),
    ]
    assert a.authority == []


def test_additional_for_srv_and_ns(zs: ZoneSet) -> None:
    srv = ask(zs, "_smtp._tcp.example.com.", "SRV")
    assert sorted(owners(srv.additional)) == ["mx1.example.com.", "mx1.example.com."]
    ns = ask(zs, "example.com.", "NS")
    assert [(r.owner.to_text(), r.rtype) for r in ns.additional] == [("ns1.example.com.", "A")]


def test_nxdomain_carries_soa_with_negative_ttl(zs: ZoneSet) -> None:
    a = ask(zs, "nothere.example.com.", "A")
    assert (a.rcode, a.authoritative, a.answer) == (NXDOMAIN, True, [])
    assert [(r.owner.to_text(), r.rtype) for r in a.authority] == [("example.com.", "SOA")]
    assert a.authority[0].ttl == 300  # RFC 2308 3: min(SOA TTL 3600, MINIMUM 300)


def test_negative_ttl_uses_soa_ttl_when_smaller(zs: ZoneSet) -> None:
    a = ask(zs, "nothere.lab.example.com.", "A")
    assert a.rcode == NXDOMAIN
    assert a.authority[0].ttl == 60  # min(SOA TTL 60, MINIMUM 600)
    assert a.authority[0].owner == Name.from_text("lab.example.com.")


def test_nodata_carries_soa(zs: ZoneSet) -> None:
    a = ask(zs, "mx2.example.com.", "AAAA")
    assert (a.rcode, a.answer) == (NOERROR, [])
    assert section(a.authority)[0][:2] == ("example.com.", "SOA")
    assert a.authority[0].ttl == 300


def test_empty_non_terminal_is_nodata_not_nxdomain(zs: ZoneSet) -> None:
    # RFC 8020: _tcp.example.com exists because _smtp._tcp.example.com does.
    a = ask(zs, "_tcp.example.com.", "A")
    assert (a.rcode, a.answer) == (NOERROR, [])
    assert section(a.authority)[0][1] == "SOA"
    assert ask(zs, "_udp.example.com.", "A").rcode == NXDOMAIN


def test_cname_chain_followed_inside_zone(zs: ZoneSet) -> None:
    a = ask(zs, "chain1.example.com.", "A")
    assert a.rcode == NOERROR and a.authoritative
    assert section(a.answer) == [
        ("chain1.example.com.", "CNAME", ["chain2.example.com."]),
        ("chain2.example.com.", "CNAME", ["mx1.example.com."]),
        ("mx1.example.com.", "A", ["192.0.2.10"]),
    ]


def test_cname_query_returns_cname_itself(zs: ZoneSet) -> None:
    a = ask(zs, "chain1.example.com.", "CNAME")
    assert section(a.answer) == [("chain1.example.com.", "CNAME", ["chain2.example.com."])]


def test_cname_to_apex_then_mx_gets_additional(zs: ZoneSet) -> None:
    a = ask(zs, "www.example.com.", "MX")
    assert [r.rtype for r in a.answer] == ["CNAME", "MX"]
    assert "mx1.example.com." in owners(a.additional)


def test_cname_loops_stop(zs: ZoneSet) -> None:
    a = ask(zs, "loop1.example.com.", "A")
    assert a.rcode == NOERROR
    assert section(a.answer) == [
        ("loop1.example.com.", "CNAME", ["loop2.example.com."]),
        ("loop2.example.com.", "CNAME", ["loop1.example.com."]),
    ]
    assert section(ask(zs, "self.example.com.", "A").answer) == [("self.example.com.", "CNAME", ["self.example.com."])]


def test_cname_outside_stops(zs: ZoneSet) -> None:
    a = ask(zs, "away.example.com.", "A")
    assert (a.rcode, a.authority) == (NOERROR, [])
    assert section(a.answer) == [("away.example.com.", "CNAME", ["mail.example.net."])]


def test_cname_to_missing_name_is_nxdomain_with_chain(zs: ZoneSet) -> None:
    # RFC 6604 2.1: the rcode is about the last name of the chain.
    a = ask(zs, "dangling.example.com.", "A")
    assert a.rcode == NXDOMAIN
    assert [r.rtype for r in a.answer] == ["CNAME"]
    assert [r.rtype for r in a.authority] == ["SOA"]


def test_cname_across_served_zones(zs: ZoneSet) -> None:
    a = ask(zs, "into-lab.example.com.", "A")
    assert section(a.answer)[-1] == ("host.lab.example.com.", "A", ["192.0.2.71"])
    # The chain's NODATA answer gets the SOA of the zone where it ended.
    b = ask(zs, "into-lab.example.com.", "MX")
    assert owners(b.authority) == ["lab.example.com."]


def test_cname_into_delegation_gives_referral_after_cname(zs: ZoneSet) -> None:
    a = ask(zs, "into-sub.example.com.", "A")
    assert [r.rtype for r in a.answer] == ["CNAME"]
    assert [(r.owner.to_text(), r.rtype) for r in a.authority] == [("sub.example.com.", "NS")]
    assert a.authoritative  # the CNAME is ours


def test_most_specific_zone_wins(zs: ZoneSet) -> None:
    a = ask(zs, "host.lab.example.com.", "A")
    assert section(a.answer) == [("host.lab.example.com.", "A", ["192.0.2.71"])]
    assert a.zone is not None and a.zone.origin == Name.from_text("lab.example.com.")
    assert ask(zs, "lab.example.com.", "SOA").answer[0].records[0].rdata.serial == 1


def test_outside_every_zone_is_refused(zs: ZoneSet) -> None:
    a = ask(zs, "example.org.", "A")
    assert (a.rcode, a.authoritative, a.answer, a.authority) == (REFUSED, False, [], [])
    assert ask(zs, "com.", "NS").rcode == REFUSED


def test_other_class_is_refused(zs: ZoneSet) -> None:
    assert lookup(zs, Name.from_text("example.com."), 15, qclass=3).rcode == REFUSED


def test_referral_for_names_at_and_below_a_cut(zs: ZoneSet) -> None:
    for qname, qtype in (("x.sub.example.com.", "A"), ("sub.example.com.", "NS"), ("sub.example.com.", "MX")):
        a = ask(zs, qname, qtype)
        assert (a.rcode, a.authoritative, a.answer) == (NOERROR, False, []), qname
        assert section(a.authority) == [("sub.example.com.", "NS", ["ns.example.net.", "ns1.sub.example.com."])]
        # Glue for the in-bailiwick server only.
        assert section(a.additional) == [("ns1.sub.example.com.", "A", ["192.0.2.60"])]


def test_occluded_data_is_never_answered(zs: ZoneSet) -> None:
    a = ask(zs, "ns1.sub.example.com.", "A")
    assert not a.authoritative and a.answer == [] and a.authority[0].rtype == "NS"
    a = ask(zs, "deep.ns1.sub.example.com.", "A")
    assert not a.authoritative and a.answer == []


def test_ds_at_cut_answered_from_parent_side(zs: ZoneSet) -> None:
    a = ask(zs, "sub.example.com.", "DS")
    assert (a.rcode, a.authoritative, a.answer) == (NOERROR, True, [])
    assert owners(a.authority) == ["example.com."] and a.authority[0].rtype == "SOA"


def test_ds_at_served_child_apex_comes_from_parent_zone(zs: ZoneSet) -> None:
    a = ask(zs, "lab.example.com.", "DS")
    assert (a.rcode, a.authoritative, a.answer) == (NOERROR, True, [])  # as NSD: NODATA from the parent
    assert owners(a.authority) == ["example.com."]


def test_wildcard_synthesis_uses_qname_as_owner(zs: ZoneSet) -> None:
    a = ask(zs, "Host.DEV.example.com.", "A")
    assert section(a.answer) == [("Host.DEV.example.com.", "A", ["192.0.2.99"])]
    mx = ask(zs, "a.b.dev.example.com.", "MX")
    assert section(mx.answer) == [("a.b.dev.example.com.", "MX", ["10 mx1.example.com."])]
    assert "mx1.example.com." in owners(mx.additional)
    # No A for the dev ENT itself: the wildcard does not cover its own parent.
    assert ask(zs, "dev.example.com.", "A").answer == []


def test_owner_spelling_from_the_zone_is_kept(zs: ZoneSet) -> None:
    a = ask(zs, "mixed.case.example.com.", "TXT")
    assert a.answer[0].owner.labels[:2] == (b"Mixed", b"Case")


# RFC 4592 2.2.1: the queries and what they must give.
@pytest.mark.parametrize(
    ("qname", "qtype", "rcode", "answer"),
    [
        ("host3.example.", "MX", NOERROR, [("host3.example.", "MX", ["10 host1.example."])]),
        ("host3.example.", "A", NOERROR, []),
        ("foo.bar.example.", "TXT", NOERROR, [("foo.bar.example.", "TXT", ['"this is a wildcard"'])]),
        ("host1.example.", "MX", NOERROR, []),
        ("sub.*.example.", "MX", NOERROR, []),
        ("_telnet._tcp.host1.example.", "SRV", NXDOMAIN, []),
        ("ghost.*.example.", "MX", NXDOMAIN, []),
        ("_tcp.host1.example.", "SRV", NOERROR, []),  # an ENT blocks the wildcard
        ("host2.example.", "A", NOERROR, []),  # ENT again, not the wildcard
        ("*.example.", "TXT", NOERROR, [("*.example.", "TXT", ['"this is a wildcard"'])]),
    ],
)
def test_rfc4592_examples(zs: ZoneSet, qname: str, qtype: str, rcode: int, answer: list) -> None:
    a = ask(zs, qname, qtype)
    assert a.rcode == rcode
    assert section(a.answer) == answer
    if not answer:
        assert [r.rtype for r in a.authority] == ["SOA"]


def test_rfc4592_delegation_beats_wildcard(zs: ZoneSet) -> None:
    a = ask(zs, "host.subdel.example.", "A")
    assert not a.authoritative and [r.rtype for r in a.authority] == ["NS"]


def test_any_is_minimal_rfc8482(zs: ZoneSet) -> None:
    apex = ask(zs, "example.com.", "ANY")
    assert [r.rtype for r in apex.answer] == ["SOA"]  # as NSD 4.6 answers
    mx1 = ask(zs, "mx1.example.com.", "ANY")
    assert [r.rtype for r in mx1.answer] == ["A"]
    www = ask(zs, "www.example.com.", "ANY")
    assert [r.rtype for r in www.answer] == ["CNAME"]  # not chased
    assert ask(zs, "nothere.example.com.", "ANY").rcode == NXDOMAIN
    assert ask(zs, "_tcp.example.com.", "ANY").answer == []
    wild = ask(zs, "x.dev.example.com.", "ANY")
    assert owners(wild.answer) == ["x.dev.example.com."]


def test_non_utf8_and_escaped_dot_names() -> None:
    zone = make_zone(
        "example.com.",
        "@ 60 SOA ns hostmaster 1 1 1 1 1\n\\200byte 60 A 192.0.2.1\na\\.b 60 TXT dotted",
    )
    zs = ZoneSet([zone])
    raw = lookup(zs, Name((b"\xc8byte", b"example", b"com")), 1)  # \200 is decimal: octet 0xC8
    assert section(raw.answer) == [("\\200byte.example.com.", "A", ["192.0.2.1"])]
    dotted = lookup(zs, Name((b"A.B", b"example", b"com")), 16)
    assert dotted.answer[0].owner.labels[0] == b"a.b"
    # The escaped dot is one label: a.b.example.com (two labels) does not exist.
    assert lookup(zs, Name.from_text("a.b.example.com."), 16).rcode == NXDOMAIN


def test_zoneset_accepts_a_plain_sequence() -> None:
    zone = make_zone("example.org.", "@ 60 SOA ns hostmaster 1 1 1 1 1\n@ 60 A 192.0.2.5")
    a = lookup([zone], Name.from_text("EXAMPLE.org."), 1)
    assert section(a.answer) == [("example.org.", "A", ["192.0.2.5"])]


# -- ZoneSet.updated: a reload's next set, patched, must answer as a rebuilt one (issue 11) --------
PARENT = """
@          60 SOA ns1 hostmaster 1 3600 900 604800 300
@          60 NS  ns1
ns1        60 A   192.0.2.1
www        60 A   192.0.2.2
a.b        60 A   192.0.2.3
sub        60 NS  ns1.sub
ns1.sub    60 A   192.0.2.4
*.wild     60 A   192.0.2.5
"""
CHILD = """
@          60 SOA ns1 hostmaster {v} 3600 900 604800 300
@          60 NS  ns1
ns1        60 A   192.0.2.{v}
www        60 CNAME www.example.com.
"""
TOP = """
@          60 SOA ns hostmaster {v} 3600 900 604800 300
@          60 NS  ns
ns         60 A   192.0.2.9
example.com 60 NS ns
"""
# nested: lab beside its parent; sub delegated by its parent and served too; b.example.com is an
# empty non-terminal of example.com (a.b owns a record) until a zone of its own is served there
ORIGINS = ["example.", "example.com.", "lab.example.com.", "sub.example.com.", "b.example.com.", "x.lab.example.com."]
QUESTIONS = [(f"{left}{o}", t) for o in ORIGINS for left in ("", "www.", "ns1.", "a.", "q.wild.", "z.")
             for t in ("A", "SOA", "NS", "DS", "CNAME")]


def version(origin: str, v: int) -> Zone:
    if origin == "example.com.":
        return make_zone(origin, PARENT + f"v{v} 60 A 192.0.2.{v % 250}\n")
    return make_zone(origin, (TOP if origin == "example." else CHILD).format(v=v % 250 + 1))


def same_answers(patched: ZoneSet, rebuilt: ZoneSet) -> None:
    assert patched.zones == rebuilt.zones
    assert {k: id(z) for k, z in patched.by_apex.items()} == {k: id(z) for k, z in rebuilt.by_apex.items()}
    for qname, qtype in QUESTIONS:
        name = Name.from_text(qname)
        assert patched.find(name) is rebuilt.find(name), qname
        a, b = ask(patched, qname, qtype), ask(rebuilt, qname, qtype)
        assert (a.rcode, a.authoritative, a.zone) == (b.rcode, b.authoritative, b.zone), (qname, qtype)
        for part in ("answer", "authority", "additional"):
            assert section(getattr(a, part)) == section(getattr(b, part)), (qname, qtype, part)


def counting_builds(monkeypatch: pytest.MonkeyPatch) -> list[ZoneSet]:
    built: list[ZoneSet] = []
    real = ZoneSet.__init__

    def counting(self: ZoneSet, zones: object) -> None:
        built.append(self)
        real(self, zones)  # type: ignore[arg-type]

    monkeypatch.setattr(ZoneSet, "__init__", counting)
    return built


def test_updated_answers_as_a_rebuilt_set_through_random_reloads(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    rng = random.Random(11)
    others = [version(f"c{i}.example.", 0) for i in range(40)]  # unchanged: the patch is worth making
    current = {o: version(o, 0) for o in ORIGINS[:3]}
    zs = ZoneSet([*others, *current.values()])
    built = counting_builds(monkeypatch)
    patched_steps = 0
    for step in range(1, 120):
        for origin in rng.sample(ORIGINS, rng.randint(1, 2)):
            what = rng.random()
            if origin in current and what < 0.3:
                del current[origin]  # a zone goes (a parent too: its children then answer alone)
            else:
                current[origin] = version(origin, step)  # a new version, or a zone that comes
        zones = [*others, *current.values()]
        if step % 17 == 0:
            zones.append(version(zones[-1].origin.to_text(), step + 1000))  # two with one origin
        if step % 23 == 0:
            zones.append(zones[-1])  # one object twice
        zones.sort(key=lambda z: z.origin.to_text())  # as a reload lists its files: in the same order
        if step % 10 == 0:
            rng.shuffle(zones)  # zones that moved
        before = len(built)
        patched = zs.updated(zones)
        patched_steps += len(built) == before
        same_answers(patched, ZoneSet(zones))
        zs = patched
    assert patched_steps >= 80  # most steps took the patch, not a rebuild


def test_a_zone_that_owns_an_empty_non_terminal_of_its_parent() -> None:
    parent = version("example.com.", 0)
    zs = ZoneSet([parent])
    assert ask(zs, "b.example.com.", "A").rcode == NOERROR and ask(zs, "b.example.com.", "A").zone is parent
    child = version("b.example.com.", 3)
    with_child = zs.updated([parent, child])
    same_answers(with_child, ZoneSet([parent, child]))
    assert ask(with_child, "b.example.com.", "SOA").zone is child
    assert ask(with_child, "a.b.example.com.", "A").rcode == NXDOMAIN  # the child's now, where a.b is not
    back = with_child.updated([parent])
    same_answers(back, ZoneSet([parent]))
    assert section(ask(back, "a.b.example.com.", "A").answer) == [("a.b.example.com.", "A", ["192.0.2.3"])]


def test_updated_patches_a_few_changes_instead_of_rebuilding(monkeypatch: pytest.MonkeyPatch) -> None:
    zones = [version(f"c{i}.example.", 0) for i in range(100)]
    zs = ZoneSet(zones)
    built = counting_builds(monkeypatch)
    changed = [*zones[:40], version("c40.example.", 1), *zones[41:]]
    patched = zs.updated(changed)
    assert built == []  # one new zone among 100: patched
    assert patched.find(Name.from_text("www.c40.example.")) is changed[40]
    assert zs.newcomers(changed) == [changed[40]]
    zs.updated([*changed, changed[0]])  # the same object twice: rebuilt
    assert len(built) == 1
