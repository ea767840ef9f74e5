"""Generated zones (aliases, loops, wildcards, delegations, mail): the rules never crash, speak only
registered codes, and judge a zone by its content, not by the order its records were added."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from zonetool.findings import Where
from zonetool.names import Name
from zonetool.rrtypes import CAA, CNAME, MX, NS, SOA, SRV, TXT, A, Rdata
from zonetool.rules import RULES, run_rules
from zonetool.zone import Record, Zone

ORIGIN = Name.from_text("example.com.")
LABELS = ["a", "b", "mx1", "ns1", "sub", "*", "_smtp", "_tcp", "_dmarc", "192", "0", "x_y"]

owners = st.lists(st.sampled_from(LABELS), min_size=0, max_size=3).map(
    lambda labels: Name(tuple(label.encode() for label in labels) + ORIGIN.labels)
)
targets = st.one_of(owners, st.just(Name(())), st.just(Name.from_text("ext.example.net.")))
rdatas: st.SearchStrategy[Rdata] = st.one_of(
    st.builds(lambda i: A(f"192.0.2.{i}"), st.integers(0, 3)),
    st.builds(CNAME, owners),
    st.builds(NS, owners),
    st.builds(MX, st.sampled_from([0, 10, 20]), targets),
    st.builds(SRV, st.sampled_from([0, 5]), st.sampled_from([0, 10]), st.sampled_from([0, 25]), targets),
    st.builds(lambda t: TXT.from_value(t), st.sampled_from(["v=spf1 -all", "v=spf1 mx", "v=DMARC1; p=none", "x"])),
    st.builds(lambda t, v: CAA(0, t, v), st.sampled_from(["issue", "iodef", "tbs"]), st.sampled_from([b";", b"x"])),
)
records = st.lists(st.tuples(owners, st.sampled_from([60, 300]), rdatas), max_size=25)


def _zone(items: list[tuple[Name, int, Rdata]], with_soa: bool) -> Zone:
    zone = Zone(ORIGIN, file="gen.zone")
    if with_soa:
        zone.add(Record(ORIGIN, 3600, SOA(ORIGIN.child(b"ns1"), ORIGIN, 1, 3600, 900, 604800, 300)))
    for i, (owner, ttl, rdata) in enumerate(items):
        zone.add(Record(owner, ttl, rdata, Where("gen.zone", line=i + 1)))
    return zone


def _key(findings: list) -> list[tuple[str, str]]:
    return sorted((f.code, f.message) for f in findings)


@settings(max_examples=300, deadline=None)
@given(records, st.booleans())
def test_rules_are_total_and_order_independent(items: list[tuple[Name, int, Rdata]], with_soa: bool) -> None:
    findings = run_rules(_zone(items, with_soa))
    for f in findings:
        assert f.code in RULES and f.severity is RULES[f.code].severity
        assert f.message
    # Same records, reverse order: the same verdict (duplicates and TTL mismatches name the
    # later record, so compare codes and messages only where order cannot matter).
    order_free = {"duplicate-record", "rrset-ttl-mismatch", "cname-multiple", "mx-duplicate-exchange"}
    again = run_rules(_zone(list(reversed(items)), with_soa))
    assert _key([f for f in findings if f.code not in order_free]) == _key(
        [f for f in again if f.code not in order_free]
    )
    assert {f.code for f in findings} == {f.code for f in again}
