"""Does an SRV-aware sender spread its first choices by weight, and take the port from the record? (RFC 2782)

Targets of one SRV priority are tried in a weighted random order: a target of weight 3 beside
one of weight 1 should come first three times out of four. The test sends many messages, lets
the SMTP sinks record which host each one reached first, and compares that with the shares the
records promise (a chi-square test at the 0.1% level, with a fixed seed so it cannot flake).

Copy this file and replace `send_mail` with your sender (pointed at dns_server for DNS; the
records' ports are real ports here: 2525 and 2526 need no root).
"""

from __future__ import annotations

import random
import smtplib

import dns.exception
import dns.resolver

from zonetool.harness import WireResolver, first_choice_report, matches_shares, plan_route

ZONE = {
    "origin": "example.com",
    "nameservers": ["ns1", "ns2"],
    "mail": {
        "srv": True,  # publish _smtp._tcp SRV from the exchangers: priority, weight, port
        "exchangers": [
            {"host": "heavy", "priority": 10, "weight": 3, "port": 2525, "addresses": ["127.0.0.30"]},
            {"host": "light", "priority": 10, "weight": 1, "port": 2526, "addresses": ["127.0.0.31"]},
            {"host": "spare", "priority": 20, "weight": 0, "port": 2527, "addresses": ["127.0.0.32"]},
        ],
    },
    "records": {"ns1": {"A": "192.0.2.53"}, "ns2": {"A": "192.0.2.54"}},
}


def weighted_order(records: list, rng: random.Random) -> list:  # type: ignore[type-arg]
    """RFC 2782 selection within one priority: pick by running sum of weights, repeat."""
    remaining, order = sorted(records, key=lambda r: r.weight), []
    while remaining:
        total = sum(r.weight for r in remaining)
        if total == 0:
            rng.shuffle(remaining)
            return order + remaining
        x = rng.randrange(total)
        for i, r in enumerate(remaining):
            x -= r.weight
            if x < 0:
                order.append(remaining.pop(i))
                break
    return order


def send_mail(rcpt: str, dns_host: str, dns_port: int, rng: random.Random, port_for=lambda p: p) -> str:  # type: ignore[no-untyped-def]
    """The sender under test (replace with yours): SRV lookup, weighted order, port from the record."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = [dns_host], dns_port, 2.0
    domain = rcpt.rsplit("@", 1)[1]
    try:
        records = list(resolver.resolve(f"_smtp._tcp.{domain}", "SRV"))
    except dns.exception.DNSException:
        return "deferred"
    for priority in sorted({r.priority for r in records}):
        for r in weighted_order([r for r in records if r.priority == priority], rng):
            try:
                address = resolver.resolve(r.target, "A")[0].address
                with smtplib.SMTP(address, port_for(r.port), timeout=2) as smtp:
                    smtp.sendmail("sender@example.org", [rcpt], "Subject: test\r\n\r\nhello\r\n")
                return "sent"
            except (dns.exception.DNSException, OSError, smtplib.SMTPException):
                continue
    return "deferred"


def test_first_choices_follow_the_weights(dns_server, smtp_sinks) -> None:  # type: ignore[no-untyped-def]
    dns_server.load(ZONE)
    smtp_sinks.add_zones(dns_server.zones.values())  # sinks on 127.0.0.30:2525, 127.0.0.31:2526, ...
    rng = random.Random(2782)  # a fixed seed: the same draws every run
    firsts = []
    for _ in range(200):
        before = len(smtp_sinks.attempts)
        assert send_mail("user@example.com", dns_server.host, dns_server.port, rng, smtp_sinks.port_for) == "sent"
        firsts.append(smtp_sinks.attempts[before].host)

    plan = plan_route("example.com", WireResolver(dns_server.host, dns_server.port), service="smtp")
    report = first_choice_report(plan, firsts)
    assert report.expected == {"heavy.example.com.": 0.75, "light.example.com.": 0.25}
    assert matches_shares(report), report.to_json()
    assert "spare.example.com." not in report.first  # priority 20 only when all of priority 10 fail


def test_ports_come_from_the_records(dns_server, smtp_sinks) -> None:  # type: ignore[no-untyped-def]
    dns_server.load(ZONE)
    smtp_sinks.add_zones(dns_server.zones.values(), behaviours={"heavy.example.com": "refuse"})
    smtp_sinks.behave("light.example.com", "refuse")
    assert (
        send_mail("user@example.com", dns_server.host, dns_server.port, random.Random(1), smtp_sinks.port_for) == "sent"
    )
    assert [(e.host, e.port) for e in smtp_sinks.attempts][-1] == ("spare.example.com.", 2527)
    assert {e.port for e in smtp_sinks.attempts} == {2525, 2526, 2527}
