"""Issue 10 part 3, the reported defects: runtime names, a delay fault without a delay, the query log's face."""

from __future__ import annotations

import re

import dns.message
import dns.query
import dns.rcode
import pytest

from zonetool.testing import DNSTestServer

ZONE = {
    "origin": "example.com",
    "nameservers": ["ns1"],
    "mail": {"exchangers": [{"host": "mx1", "priority": 10, "addresses": ["192.0.2.10"]}]},
    "records": {"ns1": {"A": "192.0.2.53"}},
}


def ask(server: DNSTestServer, name: str, rtype: str) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rtype), server.host, port=server.port, timeout=3)


def test_a_relative_fault_name_means_the_only_zone(dns_server: DNSTestServer) -> None:
    dns_server.load(ZONE)
    dns_server.fault("mx1", "A", "servfail")  # was accepted as the absolute name mx1. and never fired
    assert ask(dns_server, "mx1.example.com", "A").rcode() == dns.rcode.SERVFAIL


def test_a_delay_fault_without_a_delay_is_refused(dns_server: DNSTestServer) -> None:
    dns_server.load(ZONE)
    with pytest.raises(ValueError, match="delay"):
        dns_server.fault("mx1", "A", "delay")


def test_the_query_log_says_what_it_holds_and_when(dns_server: DNSTestServer) -> None:
    dns_server.load(ZONE)
    ask(dns_server, "example.com", "MX")
    shown = repr(dns_server.queries)
    assert "example.com. MX NOERROR" in shown, shown
    entry = dns_server.queries.entries[-1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry.time_text()), entry.time_text()
    assert entry.seq >= 1
