"""Testing a mail sender's routing against a real DNS server, with zonetool's `dns_server` fixture.

Run it with:  pytest examples/
The fixture comes from zonetool's pytest plugin (installed with zonetool); no conftest needed.
"""

from __future__ import annotations

import dns.resolver
import pytest
from mailroute import PermanentFailure, Route, pick_route, resolver_for

from zonetool.testing import DNSTestServer

ZONE = {
    "origin": "example.com",
    "nameservers": ["ns1"],
    "mail": {
        "exchangers": [
            {"host": "mx1", "priority": 10, "addresses": ["192.0.2.10"]},
            {"host": "backup", "priority": 50, "addresses": ["192.0.2.50"]},
        ],
    },
    "records": {"ns1": {"A": "192.0.2.53"}},
}


@pytest.fixture
def resolver(dns_server: DNSTestServer) -> dns.resolver.Resolver:
    dns_server.load(ZONE)
    return resolver_for(dns_server.host, dns_server.port)


def test_primary_exchange_is_used(dns_server: DNSTestServer, resolver: dns.resolver.Resolver) -> None:
    assert pick_route("example.com", resolver) == Route("mx1.example.com.", "192.0.2.10")
    assert ("example.com", "MX") in dns_server.queries
    assert ("mx1.example.com", "A") in dns_server.queries
    assert ("backup.example.com", "A") not in dns_server.queries  # never looked further than needed


def test_backup_mx_when_the_primary_has_no_address(dns_server: DNSTestServer, resolver: dns.resolver.Resolver) -> None:
    dns_server.remove("mx1.example.com.", "A")
    assert pick_route("example.com", resolver) == Route("backup.example.com.", "192.0.2.50")
    assert ("mx1.example.com", "A") in dns_server.queries  # it tried the primary first


def test_changed_mx_takes_effect_at_once(dns_server: DNSTestServer, resolver: dns.resolver.Resolver) -> None:
    dns_server.set("example.com.", "MX", ["5 backup"])
    assert pick_route("example.com", resolver).exchange == "backup.example.com."


def test_null_mx_is_a_permanent_failure(dns_server: DNSTestServer, resolver: dns.resolver.Resolver) -> None:
    dns_server.set("example.com.", "MX", "0 .")
    with pytest.raises(PermanentFailure, match="null MX"):
        pick_route("example.com", resolver)


def test_unknown_domain_is_a_permanent_failure(resolver: dns.resolver.Resolver) -> None:
    with pytest.raises(PermanentFailure, match="does not exist"):
        pick_route("nowhere.example.com", resolver)


def test_no_mx_means_the_domain_itself(dns_server: DNSTestServer, resolver: dns.resolver.Resolver) -> None:
    dns_server.remove("example.com.", "MX")
    dns_server.set("example.com.", "A", "192.0.2.1")
    assert pick_route("example.com", resolver) == Route("example.com.", "192.0.2.1")
