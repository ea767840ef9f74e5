"""The wire resolver against the real in-process server with faults: what a compliant resolver makes of each."""

from __future__ import annotations

import pytest

from zonetool.harness.plan import DEFER, DELIVER, TIMEOUT, plan_route
from zonetool.harness.resolvers import WireResolver, parse_server
from zonetool.names import Name

ZONE = {
    "origin": "example.com",
    "nameservers": ["ns1", "ns2"],
    "mail": {
        "exchangers": [
            {"host": "mx1", "priority": 10, "addresses": ["192.0.2.10"]},
            {"host": "mx2", "priority": 20, "addresses": ["192.0.2.11"]},
        ]
    },
    "records": {
        "ns1": {"A": "192.0.2.53"},
        "ns2": {"A": "192.0.2.54"},
        "www": {"CNAME": "@"},
        "out": {"CNAME": "elsewhere.example.net."},
        "big": {"TXT": [f"record number {i} " + "x" * 200 for i in range(12)]},
    },
    "silence": {"cname-target-outside": "on purpose"},
}
MX, A, TXT = 15, 1, 16


@pytest.fixture
def server(dns_server):  # type: ignore[no-untyped-def]
    dns_server.load(ZONE)
    return dns_server


def resolver(server, timeout: float = 1.0) -> WireResolver:  # type: ignore[no-untyped-def]
    return WireResolver(server.host, server.port, timeout=timeout)


def n(text: str) -> Name:
    return Name.from_text(text)


def test_plain_answers_nodata_nxdomain(server) -> None:  # type: ignore[no-untyped-def]
    r = resolver(server)
    ok = r.resolve(n("example.com."), MX)
    assert ok.kind == "ok" and sorted(x.preference for x in ok.records) == [10, 20]  # type: ignore[attr-defined]
    assert r.resolve(n("mx1.example.com."), MX).kind == "nodata"
    assert r.resolve(n("nope.example.com."), A).kind == "nxdomain"


def test_cname_chain_inside_and_leaving_the_zone(server) -> None:  # type: ignore[no-untyped-def]
    r = resolver(server)
    res = r.resolve(n("www.example.com."), MX)
    assert res.kind == "ok" and res.chain == (n("example.com."),)
    out = r.resolve(n("out.example.com."), A)
    # the server stops at the alias it does not serve; asking for the target gets REFUSED
    assert out.chain == (n("elsewhere.example.net."),) and out.kind == "temporary" and out.error == "refused"


def test_big_answer_is_truncated_over_udp_and_fetched_over_tcp(server) -> None:  # type: ignore[no-untyped-def]
    r = WireResolver(server.host, server.port, edns=False)
    res = r.resolve(n("big.example.com."), TXT)
    assert res.kind == "ok" and len(res.records) == 12 and "truncated" in res.events


@pytest.mark.parametrize(
    ("action", "kind", "error", "event"),
    [
        ("servfail", "temporary", "servfail", None),
        ("refused", "temporary", "refused", None),
        ("nxdomain", "nxdomain", None, None),
        ("timeout", "temporary", TIMEOUT, None),
        ("bad-id", "temporary", TIMEOUT, "bad-id"),
        ("truncate", "ok", None, "truncated"),
    ],
)
def test_each_fault_as_a_resolver_sees_it(server, action: str, kind: str, error: str | None, event: str | None) -> None:  # type: ignore[no-untyped-def]
    server.fault("example.com.", "MX", action)
    res = resolver(server, timeout=0.5).resolve(n("example.com."), MX)
    assert res.kind == kind and res.error == error
    if event:
        assert event in res.events
    # the query log names the fault that fired
    assert next(e.fault for e in server.queries.entries if e.matches("example.com", "MX")) == action


def test_delay_fault_is_noticed_and_answer_used(server) -> None:  # type: ignore[no-untyped-def]
    server.fault("mx1.example.com.", "A", "delay", delay_ms=700)
    plan = plan_route("user@example.com", resolver(server, timeout=3.0))
    assert plan.outcome == DELIVER and "dns-delay" in [x.code for x in plan.notes]


def test_plans_over_the_wire_follow_runtime_faults(server) -> None:  # type: ignore[no-untyped-def]
    f = server.fault("example.com.", "MX", "servfail")
    assert plan_route("user@example.com", resolver(server)).outcome == DEFER
    server.remove_fault(f)
    server.fault("mx1.example.com.", None, "refused")
    plan = plan_route("user@example.com", resolver(server))
    assert plan.outcome == DELIVER and plan.usable_groups() == [["mx2.example.com."]]
    server.clear_faults()
    assert plan_route("user@example.com", resolver(server)).usable_groups() == [
        ["mx1.example.com."],
        ["mx2.example.com."],
    ]


def test_parse_server() -> None:
    assert parse_server("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_server("[::1]:53") == ("::1", 53)
    assert parse_server("::1") == ("::1", 53)
    assert parse_server("localhost") == ("localhost", 53)
    for bad in ("1.2.3.4:x", ":53", "h:70000"):
        with pytest.raises(ValueError):
            parse_server(bad)
