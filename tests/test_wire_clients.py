"""Our own clients (AXFR for `diff --server`, the route resolver) read any legal name.

dnslib 0.9.26 cannot parse labels with non-UTF-8 octets; both clients go through
zonetool.wire instead, and these tests fail if either falls back to dnslib parsing.
"""

from __future__ import annotations

from zonetool.harness.resolvers import WireResolver
from zonetool.names import Name
from zonetool.source.axfr import fetch_zone
from zonetool.testing import DNSTestServer

ZONE = {
    "origin": "example.com",
    "nameservers": ["ns1", "ns2"],
    "records": {
        "ns1": {"A": "192.0.2.53"},
        "ns2": {"A": "192.0.2.54"},
        "\\200byte": {"A": "192.0.2.80"},
        "a\\.b": {"TXT": "escaped dot in a label"},
    },
}


def test_axfr_client_keeps_non_utf8_and_escaped_dot_labels() -> None:
    with DNSTestServer() as server:
        server.load(ZONE)
        zone = fetch_zone(server.host, server.port, Name.from_text("example.com."))
    names = {n.to_text() for n in zone.nodes}
    assert "\\200byte.example.com." in names
    assert "a\\.b.example.com." in names
    assert Name.from_text("\\200byte.example.com.").labels[0] == b"\xc8byte"


def test_wire_resolver_reads_a_non_utf8_answer() -> None:
    with DNSTestServer() as server:
        server.load(ZONE)
        result = WireResolver(server.host, server.port).resolve(Name.from_text("\\200byte.example.com."), 1)
    assert result.error is None and result.rcode == 0
    assert [r.to_text() for r in result.records] == ["192.0.2.80"]
