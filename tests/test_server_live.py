"""The running server (in-process, through the `dns_server` fixture) against real clients: dig and dnspython.

Each test starts a real server on a free port and talks to it over real UDP and TCP sockets.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.xfr
import dns.zone
import pytest

from zonetool.faults import Fault, FaultSet
from zonetool.testing import DNSTestServer

EXAMPLE = {
    "origin": "example.com",
    "ttl": "1h",
    "nameservers": ["ns1"],
    "mail": {
        "exchangers": [
            {"host": "mx1", "priority": 10, "weight": 3, "addresses": ["192.0.2.10", "2001:db8::10"]},
            {"host": "mx2", "priority": 20, "addresses": ["192.0.2.11"]},
        ],
        "srv": True,
    },
    "records": {
        "@": {"A": "192.0.2.1", "TXT": "v=spf1 mx -all"},
        "ns1": {"A": "192.0.2.53"},
        "slow": {"A": "192.0.2.99"},
        # ten 200-octet TXT records: about 2 KB, more than any default UDP size
        "big": {"TXT": [f"{i:02d}" + "x" * 198 for i in range(10)]},
    },
}

LAB = {
    "origin": "lab.example.com",
    "nameservers": ["ns1"],
    "mail": {"exchangers": [{"host": "mx", "priority": 5, "addresses": ["198.51.100.5"]}]},
    "records": {"ns1": {"A": "198.51.100.53"}},
}


def run_dig(dig: str, port: int, *args: str, server: str = "127.0.0.1") -> str:
    out = subprocess.run(
        [dig, f"@{server}", "-p", str(port), "+time=3", "+tries=1", *args],
        capture_output=True, text=True, timeout=30, check=False,
    )
    return out.stdout


def flags_of(dig_output: str) -> set[str]:
    match = re.search(r";; flags: ([a-z ]+);", dig_output)
    assert match, dig_output
    return set(match.group(1).split())


def status_of(dig_output: str) -> str:
    match = re.search(r"status: ([A-Z]+)", dig_output)
    assert match, dig_output
    return match.group(1)


def answer_lines(dig_output: str) -> list[str]:
    """Records of the ANSWER SECTION as 'name ttl class type rdata', whitespace normalised."""
    lines, inside = [], False
    for line in dig_output.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            lines.append(" ".join(line.split()))
    return sorted(lines)


@pytest.fixture
def served(dns_server: DNSTestServer) -> DNSTestServer:
    dns_server.load(EXAMPLE, LAB)
    return dns_server


def test_dig_udp_norec_is_authoritative_without_recursion(dig: str, served: DNSTestServer) -> None:
    out = run_dig(dig, served.port, "+norec", "MX", "example.com")
    assert status_of(out) == "NOERROR"
    assert flags_of(out) == {"qr", "aa"}  # RFC 1035 4.1.1: AA on our data; RD not asked, RA never
    assert answer_lines(out) == [
        "example.com. 3600 IN MX 10 mx1.example.com.",
        "example.com. 3600 IN MX 20 mx2.example.com.",
    ]
    assert "mx1.example.com. 3600 IN AAAA 2001:db8::10" in " ".join(out.split())


def test_dig_rd_copied_and_ra_never_set(dig: str, served: DNSTestServer) -> None:
    out = run_dig(dig, served.port, "+rec", "A", "ns1.example.com")
    assert flags_of(out) == {"qr", "aa", "rd"}
    assert answer_lines(out) == ["ns1.example.com. 3600 IN A 192.0.2.53"]


def test_dig_tcp_gives_the_same_answer_as_udp(dig: str, served: DNSTestServer) -> None:
    udp = run_dig(dig, served.port, "SRV", "_smtp._tcp.example.com")
    tcp = run_dig(dig, served.port, "+tcp", "SRV", "_smtp._tcp.example.com")
    assert answer_lines(udp) == answer_lines(tcp)
    assert answer_lines(tcp) == [
        "_smtp._tcp.example.com. 3600 IN SRV 10 3 25 mx1.example.com.",
        "_smtp._tcp.example.com. 3600 IN SRV 20 0 25 mx2.example.com.",
    ]
    assert ("_smtp._tcp.example.com", "SRV") in served.queries
    transports = {e.transport for e in served.queries if e.matches("_smtp._tcp.example.com", "SRV")}
    assert transports == {"udp", "tcp"}


def test_edns_version_1_gets_badvers(dig: str, served: DNSTestServer) -> None:
    out = run_dig(dig, served.port, "+edns=1", "+noednsnegotiation", "MX", "example.com")
    assert status_of(out) == "BADVERS"  # RFC 6891 6.1.3
    assert "OPT PSEUDOSECTION" in out and "version: 0" in out
    assert answer_lines(out) == []


def test_truncation_over_udp_and_full_answer_over_tcp(dig: str, served: DNSTestServer) -> None:
    small = run_dig(dig, served.port, "+bufsize=512", "+ignore", "TXT", "big.example.com")
    assert "tc" in flags_of(small)
    assert len(answer_lines(small)) < 10
    plain = run_dig(dig, served.port, "+noedns", "+ignore", "TXT", "big.example.com")
    assert "tc" in flags_of(plain)  # RFC 1035 4.2.1: 512 octets without EDNS
    retried = run_dig(dig, served.port, "+bufsize=512", "TXT", "big.example.com")  # dig retries over TCP
    assert "Truncated, retrying in TCP mode" in retried
    assert len(answer_lines(retried)) == 10
    large = run_dig(dig, served.port, "+bufsize=4096", "TXT", "big.example.com")
    assert "tc" not in flags_of(large)
    assert len(answer_lines(large)) == 10
    # we advertise and honour at most 1232 octets (issue 3), whatever the client offers
    query = dns.message.make_query("big.example.com", "TXT", use_edns=0, payload=4096)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(query.to_wire(), ("127.0.0.1", served.port))
        data = sock.recv(65535)
    assert len(data) <= 1232
    assert dns.message.from_wire(data).flags & dns.flags.TC


def test_dnspython_udp_tcp_and_pipelined_queries_on_one_connection(served: DNSTestServer) -> None:
    q = dns.message.make_query("example.com", "MX")
    udp = dns.query.udp(q, "127.0.0.1", port=served.port, timeout=3)
    tcp = dns.query.tcp(q, "127.0.0.1", port=served.port, timeout=3)
    assert udp.answer == tcp.answer and len(udp.answer[0]) == 2

    names = [("example.com", "MX"), ("ns1.example.com", "A"), ("nope.example.com", "A"), ("lab.example.com", "MX")]
    queries = [dns.message.make_query(n, t) for n, t in names]
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        # all four queries in one write: RFC 7766 6.2.1.1 pipelining
        sock.sendall(b"".join(len(w).to_bytes(2, "big") + w for w in (q.to_wire() for q in queries)))
        replies = {}
        for _ in queries:
            length = int.from_bytes(_recv_exact(sock, 2), "big")
            reply = dns.message.from_wire(_recv_exact(sock, length))
            replies[reply.id] = reply
    assert set(replies) == {q.id for q in queries}
    by_id = [replies[q.id] for q in queries]
    assert by_id[0].rcode() == dns.rcode.NOERROR and len(by_id[0].answer[0]) == 2
    assert by_id[1].answer[0][0].address == "192.0.2.53"
    assert by_id[2].rcode() == dns.rcode.NXDOMAIN
    assert by_id[3].answer[0][0].exchange.to_text() == "mx.lab.example.com."


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {n} octets")
        data += chunk
    return data


def test_idle_tcp_connection_is_closed_by_the_server() -> None:
    with DNSTestServer(tcp_idle=0.3) as server:
        server.load(EXAMPLE)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            q = dns.message.make_query("example.com", "A").to_wire()
            sock.sendall(len(q).to_bytes(2, "big") + q)
            length = int.from_bytes(_recv_exact(sock, 2), "big")
            assert dns.message.from_wire(_recv_exact(sock, length)).rcode() == 0
            # then silence: the server closes the connection (recv returns b"" long before our 10 s timeout)
            assert sock.recv(10) == b""


def test_most_specific_zone_wins(dig: str, served: DNSTestServer) -> None:
    parent = run_dig(dig, served.port, "MX", "example.com")
    child = run_dig(dig, served.port, "MX", "lab.example.com")
    assert answer_lines(child) == ["lab.example.com. 3600 IN MX 5 mx.lab.example.com."]
    assert "mx1.example.com" not in " ".join(answer_lines(child))
    assert "mx.lab.example.com" not in " ".join(answer_lines(parent))
    missing = run_dig(dig, served.port, "A", "nothing.lab.example.com")
    assert status_of(missing) == "NXDOMAIN"
    assert re.search(r"^lab\.example\.com\.\s+\d+\s+IN\s+SOA", missing, re.M)  # the child's SOA in authority
    outside = run_dig(dig, served.port, "A", "example.org")
    assert status_of(outside) == "REFUSED"


def test_axfr_allowed_with_dnspython_and_dig(dig: str, served: DNSTestServer) -> None:
    zone = dns.zone.Zone("example.com.")
    dns.query.inbound_xfr("127.0.0.1", zone, port=served.port, timeout=5, lifetime=20)
    mx = zone.get_rdataset("@", "MX")
    assert mx is not None and sorted(r.exchange.to_text() for r in mx) == ["mx1", "mx2"]
    big = zone.get_rdataset("big", "TXT")
    assert big is not None and len(big) == 10
    out = run_dig(dig, served.port, "AXFR", "example.com")
    records = [line for line in out.splitlines() if line and not line.startswith(";")]
    assert records[0].split()[3] == "SOA" and records[-1].split()[3] == "SOA"  # RFC 5936 2.2
    assert ("example.com", "AXFR") in served.queries


def test_axfr_refused_when_not_allowed(dig: str) -> None:
    with DNSTestServer(allow_transfer=()) as server:
        server.load(EXAMPLE)
        out = run_dig(dig, server.port, "AXFR", "example.com")
        assert "Transfer failed" in out
        zone = dns.zone.Zone("example.com.")
        with pytest.raises(dns.xfr.TransferError) as info:
            dns.query.inbound_xfr("127.0.0.1", zone, port=server.port, timeout=5, lifetime=20)
        assert info.value.rcode == dns.rcode.REFUSED
        assert any(e.qtype == "AXFR" and e.rcode == "REFUSED" for e in server.queries)


def test_a_delayed_reply_does_not_hold_up_other_clients() -> None:
    slow = Fault.make("slow.example.com.", "A", "delay", delay_ms=2500)
    with DNSTestServer(faults=FaultSet([slow])) as server:
        server.load(EXAMPLE)
        late: dict[str, object] = {}

        def ask_slow() -> None:
            q = dns.message.make_query("slow.example.com", "A")
            late["reply"] = dns.query.udp(q, "127.0.0.1", port=server.port, timeout=10)

        thread = threading.Thread(target=ask_slow)
        thread.start()
        try:
            # asked after the slow one, with a timeout shorter than its delay: answered anyway
            fast = dns.query.udp(dns.message.make_query("example.com", "MX"), "127.0.0.1", port=server.port,
                                 timeout=1.5)
            assert len(fast.answer[0]) == 2
            assert "reply" not in late  # the slow one is still waiting
        finally:
            thread.join(15)
        reply = late["reply"]
        assert isinstance(reply, dns.message.Message) and reply.answer[0][0].address == "192.0.2.99"

        # over TCP too: on one connection the fast answer overtakes the slow one (RFC 7766 6.2.1.1)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            qs = [dns.message.make_query("slow.example.com", "A"), dns.message.make_query("example.com", "MX")]
            sock.sendall(b"".join(len(w).to_bytes(2, "big") + w for w in (q.to_wire() for q in qs)))
            order = []
            for _ in qs:
                length = int.from_bytes(_recv_exact(sock, 2), "big")
                order.append(dns.message.from_wire(_recv_exact(sock, length)).id)
        assert order == [qs[1].id, qs[0].id]


def test_ipv6_loopback(dig: str) -> None:
    with DNSTestServer(address="::1") as server:
        server.load(EXAMPLE)
        out = run_dig(dig, server.port, "MX", "example.com", server="::1")
        assert len(answer_lines(out)) == 2
        tcp = run_dig(dig, server.port, "+tcp", "MX", "example.com", server="::1")
        assert answer_lines(tcp) == answer_lines(out)
        assert all(e.client[0] == "::1" for e in server.queries)


def test_axfr_of_a_big_zone_is_a_stream_of_messages(dns_server: DNSTestServer) -> None:
    records = {f"host{i}": {"TXT": f"record {i} " + "y" * 150} for i in range(1500)}
    dns_server.load({**EXAMPLE, "records": {**EXAMPLE["records"], **records}})  # type: ignore[dict-item]
    messages = list(dns.query.xfr("127.0.0.1", "example.com", port=dns_server.port, timeout=10, lifetime=60,
                                   relativize=False))
    assert len(messages) > 3  # ~250 KB: several messages, each under 64 KiB (RFC 5936 2.2)
    rrsets = [rrset for m in messages for rrset in m.answer]
    assert rrsets[0].rdtype == dns.rdatatype.SOA and rrsets[-1].rdtype == dns.rdatatype.SOA
    names = {rrset.name.to_text() for rrset in rrsets if rrset.rdtype == dns.rdatatype.TXT}
    assert {f"host{i}.example.com." for i in range(1500)} <= names
