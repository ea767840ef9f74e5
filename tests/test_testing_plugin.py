"""The Python API and pytest plugin: DNSTestServer, `dns_server`, `dns_server_session`, against dnspython."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

from zonetool.testing import DNSTestServer, ZoneLoadError

ZONE = {
    "origin": "example.com",
    "nameservers": ["ns1"],
    "mail": {"exchangers": [{"host": "mx1", "priority": 10, "addresses": ["192.0.2.10"]}]},
    "records": {"ns1": {"A": "192.0.2.53"}},
}
YAML = """\
origin: example.org
nameservers: [ns1]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [192.0.2.20]}
    - {host: backup.example.net., priority: 50}
records:
  ns1: {A: 192.0.2.54}
"""


def ask(server: DNSTestServer, name: str, rtype: str, tcp: bool = False) -> dns.message.Message:
    q = dns.message.make_query(name, rtype)
    if tcp:
        return dns.query.tcp(q, server.host, port=server.port, timeout=3)
    return dns.query.udp(q, server.host, port=server.port, timeout=3)


def mx(reply: dns.message.Message) -> list[str]:
    return sorted(f"{r.preference} {r.exchange}" for rrset in reply.answer for r in rrset)


def test_fixture_serves_a_dict_and_logs_queries(dns_server: DNSTestServer) -> None:
    dns_server.load(ZONE)
    assert mx(ask(dns_server, "example.com", "MX")) == ["10 mx1.example.com."]
    assert ("example.com", "MX") in dns_server.queries
    assert ("EXAMPLE.com.", "mx") in dns_server.queries  # case and trailing dot do not matter
    assert ("example.com", "A") not in dns_server.queries
    entry = dns_server.queries.entries[-1]
    assert (entry.qname, entry.qtype, entry.rcode, entry.answers, entry.transport) == (
        "example.com.", "MX", "NOERROR", 1, "udp")
    dns_server.clear_log()
    assert ("example.com", "MX") not in dns_server.queries and len(dns_server.queries) == 0


def test_load_a_file_and_a_folder(dns_server: DNSTestServer, tmp_path: Path) -> None:
    path = tmp_path / "example.org.yaml"
    path.write_text(YAML)
    dns_server.load(path)
    assert mx(ask(dns_server, "example.org", "MX")) == ["10 mx1.example.org.", "50 backup.example.net."]
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "example.info.yaml").write_text(YAML.replace("origin: example.org", "origin: example.info"))
    dns_server.load(str(folder))
    assert ask(dns_server, "ns1.example.info", "A").answer[0][0].address == "192.0.2.54"
    assert ask(dns_server, "ns1.example.org", "A").rcode() == dns.rcode.NOERROR  # earlier zones stay


def test_set_and_remove_records_at_runtime(dns_server: DNSTestServer) -> None:
    dns_server.load(ZONE)
    serial = ask(dns_server, "example.com", "SOA").answer[0][0].serial
    assert mx(ask(dns_server, "example.com", "MX")) == ["10 mx1.example.com."]  # now cached
    dns_server.set("example.com.", "MX", ["10 mx1", "20 backup.example.net."], ttl=300)
    reply = ask(dns_server, "example.com", "MX", tcp=True)
    assert mx(reply) == ["10 mx1.example.com.", "20 backup.example.net."]  # no stale cached answer
    assert reply.answer[0].ttl == 300
    assert ask(dns_server, "example.com", "SOA").answer[0][0].serial > serial  # auto serial follows changes
    dns_server.set("new.example.com.", "A", "192.0.2.99")
    assert ask(dns_server, "new.example.com", "A").answer[0][0].address == "192.0.2.99"
    assert dns_server.remove("new.example.com.") == 1
    assert ask(dns_server, "new.example.com", "A").rcode() == dns.rcode.NXDOMAIN
    assert dns_server.remove("example.com.", "MX") == 2
    no_mx = ask(dns_server, "example.com", "MX")
    assert no_mx.rcode() == dns.rcode.NOERROR and not no_mx.answer  # NODATA
    with pytest.raises(KeyError, match=r"no served zone contains example\.org"):
        dns_server.set("example.org.", "A", "192.0.2.1")


def test_a_zone_with_errors_is_refused_with_its_findings(dns_server: DNSTestServer) -> None:
    dns_server.load(ZONE)
    bad = {**ZONE, "mail": {"exchangers": [{"host": "mx1", "priority": "high"}]}}
    with pytest.raises(ZoneLoadError, match=r"priority"):
        dns_server.load(bad)
    assert mx(ask(dns_server, "example.com", "MX")) == ["10 mx1.example.com."]  # the good version stays


def test_session_fixture_is_shared(dns_server_session: DNSTestServer) -> None:
    dns_server_session.load(ZONE)
    assert dns_server_session.running
    assert mx(ask(dns_server_session, "example.com", "MX")) == ["10 mx1.example.com."]


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_no_threads_or_sockets_leak() -> None:
    threads_before = set(threading.enumerate())
    fds_before = _fds()
    for _ in range(3):
        with DNSTestServer() as server:
            server.load(ZONE)
            assert mx(ask(server, "example.com", "MX")) == ["10 mx1.example.com."]
            assert mx(ask(server, "example.com", "MX", tcp=True)) == ["10 mx1.example.com."]
            assert len(threading.enumerate()) > len(threads_before)
        assert not server.running
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and set(threading.enumerate()) != threads_before:
        time.sleep(0.05)
    assert set(threading.enumerate()) == threads_before
    assert _fds() == fds_before


def test_plugin_is_registered_through_the_entry_point(tmp_path: Path) -> None:
    """A user's project with no conftest gets `dns_server` just by installing zonetool."""
    (tmp_path / "test_user.py").write_text(
        "import dns.message, dns.query\n"
        "def test_it(dns_server):\n"
        "    dns_server.load({'origin': 'example.com', 'nameservers': ['ns1'],"
        " 'records': {'ns1': {'A': '192.0.2.1'}}})\n"
        "    q = dns.message.make_query('ns1.example.com', 'A')\n"
        "    r = dns.query.udp(q, dns_server.host, port=dns_server.port, timeout=3)\n"
        "    assert r.answer[0][0].address == '192.0.2.1'\n"
        "    assert ('ns1.example.com', 'A') in dns_server.queries\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_user.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout
