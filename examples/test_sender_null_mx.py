"""Does a mail sender honour a null MX (RFC 7505), and fall back to A/AAAA only when there is no MX at all?

A null MX (`MX 0 .`) says "this domain accepts no mail": a compliant sender bounces at once
(556 5.1.10) and never connects anywhere -- not even to the domain's own address, which would
be the implicit MX if there were no MX records at all (RFC 5321 5.1). A DNS error on the MX
lookup is neither: the sender must keep the message and try later.

Copy this file and replace `send_mail` with your sender; the domain's own address (127.0.0.20)
has an SMTP sink, so a sender that wrongly falls back is caught connecting there.
"""

from __future__ import annotations

import smtplib

import dns.exception
import dns.name
import dns.resolver
import pytest

from zonetool.harness import WireResolver, check_attempts, plan_route


def zone(**mail_block: object) -> dict[str, object]:
    data: dict[str, object] = {
        "origin": "example.com",
        "nameservers": ["ns1", "ns2"],
        "records": {"ns1": {"A": "192.0.2.53"}, "ns2": {"A": "192.0.2.54"}, "@": {"A": "127.0.0.20"}},
    }
    if mail_block:
        data["mail"] = mail_block
    return data


def send_mail(rcpt: str, dns_host: str, dns_port: int, smtp_port: int) -> str:
    """The sender under test (replace with yours): 'sent', 'deferred' or 'bounced'."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = [dns_host], dns_port, 2.0
    domain = rcpt.rsplit("@", 1)[1]
    try:
        records = list(resolver.resolve(domain, "MX"))
    except dns.resolver.NoAnswer:
        records = []  # no MX at all: the domain itself is the implicit MX
    except dns.resolver.NXDOMAIN:
        return "bounced"
    except dns.exception.DNSException:
        return "deferred"  # SERVFAIL, REFUSED, timeout: never "no MX"
    if len(records) == 1 and records[0].exchange == dns.name.root:
        return "bounced"  # RFC 7505: null MX, no fallback
    hosts = [r.exchange.to_text() for r in sorted(records, key=lambda r: r.preference)] or [domain]
    for host in hosts:
        try:
            addresses = [r.address for r in resolver.resolve(host, "A")]
        except dns.exception.DNSException:
            continue
        for address in addresses:
            try:
                with smtplib.SMTP(address, smtp_port, timeout=2) as smtp:
                    smtp.sendmail("sender@example.org", [rcpt], "Subject: test\r\n\r\nhello\r\n")
                return "sent"
            except (OSError, smtplib.SMTPException):
                continue
    return "deferred"


def run(dns_server, smtp_sinks, data: dict[str, object], fault: str | None = None) -> str:  # type: ignore[no-untyped-def]
    dns_server.load(data)
    if fault is not None:  # the server misbehaves for the MX question only (a fault needs its zone served)
        dns_server.fault("@", "MX", fault)
    smtp_sinks.add_zones(dns_server.zones.values())  # a sink on 127.0.0.20, the domain's own address
    return send_mail("user@example.com", dns_server.host, dns_server.port, smtp_sinks.port_for(25))


def test_null_mx_bounces_without_connecting(dns_server, smtp_sinks) -> None:  # type: ignore[no-untyped-def]
    assert run(dns_server, smtp_sinks, zone(null=True)) == "bounced"
    assert smtp_sinks.attempts == [], smtp_sinks.report()
    plan = plan_route("user@example.com", WireResolver(dns_server.host, dns_server.port))
    assert plan.outcome == "null-mx"
    assert ("example.com", "A") not in dns_server.queries  # it did not even look for a fallback


def test_no_mx_at_all_uses_the_domain_itself(dns_server, smtp_sinks) -> None:  # type: ignore[no-untyped-def]
    assert run(dns_server, smtp_sinks, zone()) == "sent"
    assert smtp_sinks.delivered_to() == ["example.com."]
    plan = plan_route("user@example.com", WireResolver(dns_server.host, dns_server.port))
    assert plan.implicit and check_attempts(plan, smtp_sinks.hosts_tried()) == []


@pytest.mark.parametrize("action", ["servfail", "refused", "timeout"])
def test_dns_failure_on_mx_is_try_later_not_no_mx(dns_server, smtp_sinks, action: str) -> None:  # type: ignore[no-untyped-def]
    data = zone(exchangers=[{"host": "mx1", "priority": 10, "addresses": ["127.0.0.10"]}])
    assert run(dns_server, smtp_sinks, data, fault=action) == "deferred"
    assert smtp_sinks.attempts == []  # neither mx1 nor the domain's own address
    plan = plan_route("user@example.com", WireResolver(dns_server.host, dns_server.port, timeout=1.0))
    assert plan.outcome == "defer" and not plan.implicit
