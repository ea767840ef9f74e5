"""IXFR (RFC 1995): the deltas between a zone's versions, and the answers built from them.

dnspython is the referee for the wire form: its `dns.query.inbound_xfr` applies an incremental
answer to the zone it holds, and the result must equal the new version.
"""

from __future__ import annotations

import itertools

import dns.message
import dns.query
import dns.rdatatype
import dns.zone
import pytest
from dns.xfr import Inbound
from test_responder import make_zone

from zonetool import ixfr
from zonetool.server.responder import Responder
from zonetool.zone import Zone

BASE = """\
@    300 SOA ns hostmaster {serial} 3600 900 604800 60
@    300 NS  ns
ns   300 A   192.0.2.1
mx1  300 A   192.0.2.10
@    300 MX  10 mx1
""" + "".join(f"f{i} 300 A 198.51.100.{i}\n" for i in range(20))  # filler: deltas stay smaller than the zone


def version(serial: int, extra: str = "", mx_ttl: int = 300) -> Zone:
    return make_zone("example.com.", BASE.format(serial=serial).replace("@    300 MX", f"@    {mx_ttl} MX") + extra)


def test_a_delta_has_what_went_and_what_came_and_a_ttl_change_is_both() -> None:
    step = ixfr.delta(version(1, "www 300 A 192.0.2.80\n"), version(2, "web 300 A 192.0.2.81\n", mx_ttl=600))
    assert step is not None and (step.old_serial, step.new_serial) == (1, 2)
    assert sorted(r.owner.to_text() + f" {r.ttl}" for r in step.removed) == ["example.com. 300", "www.example.com. 300"]
    assert sorted(r.owner.to_text() + f" {r.ttl}" for r in step.added) == ["example.com. 600", "web.example.com. 300"]
    assert ixfr.delta(version(2), version(2)) is None  # same serial: nothing to keep


def test_the_history_chains_versions_and_falls_back_when_it_cannot() -> None:
    history = ixfr.History(limit=2)
    zones = [version(n, f"h{n} 300 A 192.0.2.{n}\n") for n in range(1, 5)]
    for old, new in itertools.pairwise(zones):
        step = ixfr.delta(old, new)
        assert step is not None
        history.add(step, len(new))
    assert [d.old_serial for d in history.deltas] == [2, 3]  # the limit: the oldest went
    chain = history.since(2, zone_size=100)
    assert chain is not None and [(d.old_serial, d.new_serial) for d in chain] == [(2, 3), (3, 4)]
    assert history.since(1, zone_size=100) is None  # forgotten: the whole zone
    assert history.since(2, zone_size=3) is None  # the chain is bigger than the zone: the whole zone


def serve(responder: Responder, query: dns.message.Message) -> list[bytes]:
    return list(responder.respond(query.to_wire(), ("127.0.0.1", 5300), "tcp").messages)


def records(messages: list[bytes]) -> list[dns.rdata.Rdata]:
    """Every answer record of the messages, in order (one per RRset, as a transfer carries them)."""
    return [rr for m in messages for rrset in dns.message.from_wire(m, xfr=True, one_rr_per_rrset=True).answer
            for rr in rrset]


def ixfr_query(serial: int) -> dns.message.Message:
    q = dns.message.make_query("example.com.", "IXFR")
    soa = dns.rrset.from_text("example.com.", 0, "IN", "SOA", f"ns.example.com. h.example.com. {serial} 0 0 0 0")
    q.authority.append(soa)
    return q


def test_the_responder_answers_ixfr_with_the_deltas_and_dnspython_applies_them() -> None:
    v1, v2, v3 = (version(n, f"h{n} 300 A 192.0.2.{n}\n" * 1) for n in (1, 2, 3))
    r = Responder([v1], allow_transfer=["127.0.0.1"])
    r.swap([v2])
    r.swap([v3])
    messages = serve(r, ixfr_query(1))
    got = records(messages)
    # SOA 3, (SOA 1, -h1, SOA 2, +h2), (SOA 2, -h2, SOA 3, +h3), SOA 3
    assert [getattr(rr, "serial", None) for rr in got if rr.rdtype == dns.rdatatype.SOA] == [3, 1, 2, 2, 3, 3]
    assert len(got) == 10
    # the client's copy of version 1, brought to version 3 by the incremental answer
    held = dns.zone.from_text(BASE.format(serial=1) + "h1 300 A 192.0.2.1\n", origin="example.com.",
                              relativize=False)
    with Inbound(held, dns.rdatatype.IXFR, serial=1) as inbound:
        for m in messages:
            inbound.process_message(dns.message.from_wire(m, xfr=True, origin=None))
    want = dns.zone.from_text(BASE.format(serial=3) + "h3 300 A 192.0.2.3\n", origin="example.com.",
                              relativize=False)
    assert held == want


def test_a_current_client_gets_the_soa_alone_and_an_unknown_serial_the_whole_zone() -> None:
    r = Responder([version(1)], allow_transfer=["127.0.0.1"])
    r.swap([version(2, "www 300 A 192.0.2.80\n")])
    (only,) = serve(r, ixfr_query(2))
    answer = dns.message.from_wire(only).answer
    assert [rrset.rdtype for rrset in answer] == [dns.rdatatype.SOA] and len(answer[0]) == 1
    whole = records(serve(r, ixfr_query(0)))
    assert len(whole) == len(version(2, "www 300 A 192.0.2.80\n")) + 1  # AXFR form: SOA, records, SOA


@pytest.mark.parametrize("limit", [0])
def test_no_history_means_the_whole_zone(limit: int) -> None:
    r = Responder([version(1)], allow_transfer=["127.0.0.1"], ixfr_history=limit)
    r.swap([version(2, "www 300 A 192.0.2.80\n")])
    assert r.histories == {}
    assert len(records(serve(r, ixfr_query(1)))) == len(version(2, "www 300 A 192.0.2.80\n")) + 1


def test_a_prepared_swap_does_not_compare_the_zones_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reload computes the deltas in its worker thread (`prepare`); `swap` on the event loop reuses them."""
    r = Responder([version(1)], allow_transfer=["127.0.0.1"])
    v2 = version(2, "www 300 A 192.0.2.80\n")
    r.prepare([v2])
    calls: list[object] = []
    real = ixfr.delta
    monkeypatch.setattr(ixfr, "delta", lambda old, new: calls.append(new) or real(old, new))
    r.swap([v2])
    assert calls == [] and [d.new_serial for d in r.histories[v2.origin].deltas] == [2]
    v3 = version(3)
    r.swap([v3])  # not prepared (an API change, a test): computed here
    assert calls == [v3]
