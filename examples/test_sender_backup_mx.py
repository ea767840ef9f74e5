"""Does a mail sender fall back to the backup MX when the primary fails? (RFC 5321 5.1)

Copy this file into your sender's test suite and replace `send_mail` with a call into your own
sender, pointed at `dns_server.host:dns_server.port` for DNS and `smtp_sinks.port_for(25)` for
SMTP. Both fixtures come with zonetool's pytest plugin; run with `pytest examples/`.

The zone's exchangers live on loopback addresses (127.0.0.x), where `smtp_sinks` starts a real
SMTP server for each one, with the behaviour the test asks for; `zonetool.harness` gives the
reference plan a compliant sender follows and judges the connections the sinks saw.
"""

from __future__ import annotations

import smtplib

import dns.exception
import dns.resolver
import pytest

from zonetool.harness import WireResolver, check_attempts, plan_route

ZONE = {
    "origin": "example.com",
    "nameservers": ["ns1", "ns2"],
    "mail": {
        "exchangers": [
            {"host": "mx1", "priority": 10, "addresses": ["127.0.0.10"]},
            {"host": "backup", "priority": 20, "addresses": ["127.0.0.12"]},
        ]
    },
    "records": {"ns1": {"A": "192.0.2.53"}, "ns2": {"A": "192.0.2.54"}},
}


def send_mail(rcpt: str, dns_host: str, dns_port: int, smtp_port: int) -> str:
    """The sender under test (replace with yours): 'sent', 'deferred' or 'bounced'."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = [dns_host], dns_port, 2.0
    domain = rcpt.rsplit("@", 1)[1]
    try:
        mx = sorted((r.preference, r.exchange.to_text()) for r in resolver.resolve(domain, "MX"))
    except dns.resolver.NoAnswer:
        mx = [(0, domain)]
    except dns.resolver.NXDOMAIN:
        return "bounced"
    except dns.exception.DNSException:
        return "deferred"
    for _, host in mx:
        try:
            addresses = [r.address for r in resolver.resolve(host, "A")]
        except dns.exception.DNSException:
            continue  # no usable address now: try the next exchange
        for address in addresses:
            try:
                with smtplib.SMTP(address, smtp_port, timeout=2) as smtp:
                    smtp.sendmail("sender@example.org", [rcpt], "Subject: test\r\n\r\nhello\r\n")
                return "sent"
            except smtplib.SMTPRecipientsRefused as exc:
                if next(iter(exc.recipients.values()))[0] >= 500:
                    return "bounced"  # a permanent answer is final: no other MX
            except (OSError, smtplib.SMTPException):
                pass  # connection refused, reset, 421, timeout: try the next host
    return "deferred"


@pytest.fixture
def mail(dns_server, smtp_sinks):  # type: ignore[no-untyped-def]
    dns_server.load(ZONE)
    smtp_sinks.add_zones(dns_server.zones.values())

    def send() -> str:
        return send_mail("user@example.com", dns_server.host, dns_server.port, smtp_sinks.port_for(25))

    return send


def reference(dns_server):  # type: ignore[no-untyped-def]
    return plan_route("user@example.com", WireResolver(dns_server.host, dns_server.port))


def test_primary_takes_the_mail_when_healthy(mail, dns_server, smtp_sinks) -> None:  # type: ignore[no-untyped-def]
    assert mail() == "sent"
    assert smtp_sinks.hosts_tried() == ["mx1.example.com."]
    assert smtp_sinks.delivered_to() == ["mx1.example.com."]


@pytest.mark.parametrize("failure", ["refuse", "tempfail-greeting", "closed"])
def test_backup_takes_the_mail_when_the_primary_fails(mail, dns_server, smtp_sinks, failure: str) -> None:  # type: ignore[no-untyped-def]
    smtp_sinks.behave("mx1.example.com", failure)
    assert mail() == "sent"
    assert smtp_sinks.delivered_to() == ["backup.example.com."], smtp_sinks.report()
    if failure != "closed":  # a closed port refuses in the kernel: that attempt leaves no record
        # the order of attempts agrees with the reference plan (primary group before backup)
        assert check_attempts(reference(dns_server), smtp_sinks.hosts_tried()) == []


def test_backup_when_the_primary_address_lookup_fails(mail, dns_server, smtp_sinks) -> None:  # type: ignore[no-untyped-def]
    dns_server.fault("mx1.example.com.", "A", "servfail")
    assert mail() == "sent"
    assert smtp_sinks.hosts_tried() == ["backup.example.com."]
    assert [e.fault for e in dns_server.queries.entries if e.matches("mx1.example.com", "A")] == ["servfail"]


def test_recipient_rejected_by_the_primary_is_final(mail, dns_server, smtp_sinks) -> None:  # type: ignore[no-untyped-def]
    smtp_sinks.behave("mx1.example.com", "reject")
    assert mail() == "bounced"
    assert smtp_sinks.hosts_tried() == ["mx1.example.com."]  # 5xx: the backup must not be asked


def test_everything_down_means_try_later(mail, dns_server, smtp_sinks) -> None:  # type: ignore[no-untyped-def]
    smtp_sinks.behave("mx1.example.com", "tempfail")
    smtp_sinks.behave("backup.example.com", "refuse")
    assert mail() == "deferred"
    assert smtp_sinks.hosts_tried() == ["mx1.example.com.", "backup.example.com."]
    assert smtp_sinks.messages == []
