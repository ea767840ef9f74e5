"""`serve --smtp --mta-sts` (issue 12 section 4): an HTTPS client that resolves names through the
served zones (aiohttp with a resolver asking `zonetool serve`, dnspython) and trusts only the test CA
fetches `https://mta-sts.<domain>/.well-known/mta-sts.txt` (RFC 8461 3.3), verifying the policy host's
certificate by name; the policy lists the exchangers dig sees."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import dns.resolver
import pytest
from aiohttp.abc import AbstractResolver
from conftest import require_tool, zonetool_exe
from test_sinks_tls import serving

from zonetool.harness.sinks import free_port

ZONE = """
origin: sts.example
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [127.0.0.34]}
    - {host: mx2, priority: 20, addresses: [127.0.0.35]}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
  _mta-sts: {TXT: "v=STSv1; id=20261202"}
  mta-sts: {A: 127.0.0.36}
"""
OTHER = """
origin: other.example
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mx, priority: 10, addresses: [127.0.0.37]}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
  _mta-sts: {TXT: "v=STSv1; id=1"}
  mta-sts: {CNAME: web}
  web: {A: 127.0.0.36}
"""


class ServedResolver(AbstractResolver):
    """Names resolved by asking `zonetool serve` (as a sender's resolver would), never /etc/hosts."""

    def __init__(self, port: int) -> None:
        self.dns = dns.resolver.Resolver(configure=False)
        self.dns.nameservers, self.dns.port = ["127.0.0.1"], port

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        answer = await asyncio.to_thread(self.dns.resolve, host, "A")
        return [{"hostname": host, "host": rr.address, "port": port, "family": socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST} for rr in answer]

    async def close(self) -> None:
        return None


async def fetch(url: str, dns_port: int, ca_file: Path | None) -> tuple[int, str, str]:
    """(status, content type, text) of a GET with certificate and host name checked against `ca_file`."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    connector = aiohttp.TCPConnector(ssl=context, resolver=ServedResolver(dns_port))
    async with aiohttp.ClientSession(connector=connector) as session, \
            session.get(url, allow_redirects=False) as response:
        return response.status, response.content_type, await response.text()


def test_mta_sts_policy_over_https_with_the_test_ca(tmp_path: Path) -> None:
    dig = require_tool("dig")
    (tmp_path / "zones").mkdir()
    (tmp_path / "zones" / "sts.example.yaml").write_text(ZONE)
    (tmp_path / "zones" / "other.example.yaml").write_text(OTHER)
    ca_file = tmp_path / "ca.pem"
    smtp_port = free_port(["127.0.0.34", "127.0.0.35", "127.0.0.37"])
    https_port = free_port(["127.0.0.36"], exclude=[smtp_port])
    with serving(tmp_path / "zones", "--smtp-port", f"25={smtp_port}", "--tls-ca-out", str(ca_file),
                 "--mta-sts", "--mta-sts-port", str(https_port)) as (seen, out):
        text = "".join(seen)
        dns_port = int(next(line for line in seen if "serving" in line).split(" on 127.0.0.1:")[1].split()[0])
        url = f"https://mta-sts.sts.example:{https_port}/.well-known/mta-sts.txt"
        assert f"mta-sts: policy for mta-sts.sts.example on [127.0.0.36]:{https_port}: {url}" in text, text

        status, content_type, policy = asyncio.run(fetch(url, dns_port, ca_file))
        assert (status, content_type) == (200, "text/plain")
        lines = policy.split("\r\n")  # RFC 8461 3.2: CRLF-ended key: value lines, version first
        assert lines[0] == "version: STSv1" and lines[-1] == "", policy
        fields = [line.split(": ", 1) for line in lines[:-1]]
        mx_seen = subprocess.run([dig, "+short", "@127.0.0.1", "-p", str(dns_port), "MX", "sts.example"],
                                               capture_output=True, text=True, check=True).stdout
        exchangers = sorted(line.split()[1].rstrip(".") for line in mx_seen.splitlines())
        assert sorted(v for k, v in fields if k == "mx") == exchangers == ["mx1.sts.example", "mx2.sts.example"]
        assert ("mode", "enforce") in [tuple(f) for f in fields]
        assert any(k == "max_age" and v.isdigit() for k, v in fields)

        # a second policy host on the same address (through a CNAME): the SNI picks its certificate
        other_url = f"https://mta-sts.other.example:{https_port}/.well-known/mta-sts.txt"
        status, _, other = asyncio.run(fetch(other_url, dns_port, ca_file))
        assert status == 200 and "mx: mx.other.example\r\n" in other, other

        missing = asyncio.run(fetch(f"https://mta-sts.sts.example:{https_port}/nothing", dns_port, ca_file))
        assert missing[0] == 404
        with pytest.raises(aiohttp.ClientConnectorCertificateError):  # the test CA is not a public one
            asyncio.run(fetch(url, dns_port, None))
    log = "".join(out)
    assert re.search(rf"^mta-sts 1\. GET /\.well-known/mta-sts\.txt from mta-sts\.sts\.example \[127\.0\.0\.36\]:"
                     rf"{https_port} -> 200 TLSv1\.[23] sni=mta-sts\.sts\.example$", log, re.M), log
    assert "from mta-sts.other.example [127.0.0.36]" in log and "sni=mta-sts.other.example" in log, log
    assert re.search(r"GET /nothing from mta-sts\.sts\.example .* -> 404", log), log


def test_mta_sts_needs_a_policy_host_address(tmp_path: Path) -> None:
    (tmp_path / "sts.example.yaml").write_text(ZONE.replace("  mta-sts: {A: 127.0.0.36}\n", ""))
    done = subprocess.run([zonetool_exe(), "serve", str(tmp_path), "--port", "0", "--smtp", "--smtp-port",
                           f"25={free_port(['127.0.0.34', '127.0.0.35'])}", "--mta-sts"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2 and "--mta-sts: no served zone's mta-sts.<domain> has a loopback address" in \
        done.stderr and "Traceback" not in done.stderr, done.stderr


def _zone(policy_address: str) -> Any:
    from zonetool.names import Name
    from zonetool.rrtypes import parse_rdata
    from zonetool.zone import Record, Zone

    origin = Name.from_text("follow.example.")
    zone = Zone(origin)
    for owner, rtype, rest in (("@", "MX", "10 mx1"), ("mx1", "A", "127.0.0.34"), ("mta-sts", "A", policy_address)):
        zone.add(Record(Name.from_text(owner, origin), 3600, parse_rdata(rtype, rest, origin)))
    return zone


def _get(address: str, port: int, host: str, ca_pem: bytes) -> tuple[int, str]:
    """GET the policy from `address`, checking the certificate for `host` (sent as SNI and Host)."""
    import http.client

    context = ssl.create_default_context(cadata=ca_pem.decode())
    raw = socket.create_connection((address, port), timeout=10)
    conn = http.client.HTTPSConnection(host, port, context=context, timeout=10)
    conn.sock = context.wrap_socket(raw, server_hostname=host)
    conn.request("GET", "/.well-known/mta-sts.txt", headers={"Host": host})
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, body


def test_the_policy_server_follows_the_zones() -> None:
    """A reload that moves mta-sts.<domain> to another address opens a server there, closes the old one."""
    from zonetool.harness.policy_http import PolicyServer
    from zonetool.harness.testca import TestCA

    ca = TestCA()
    port = free_port(["127.0.0.38", "127.0.0.39"])
    server = PolicyServer(ca, port)
    server.follow_zones([_zone("127.0.0.38")])
    with server:
        status, body = _get("127.0.0.38", port, "mta-sts.follow.example", ca.ca_pem)
        assert status == 200, body
        assert body == "version: STSv1\r\nmode: enforce\r\nmx: mx1.follow.example\r\nmax_age: 604800\r\n"
        assert server.follow_zones([_zone("127.0.0.39")]) == (["127.0.0.39"], ["127.0.0.38"])
        assert _get("127.0.0.39", port, "mta-sts.follow.example", ca.ca_pem)[0] == 200
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.38", port), timeout=5).close()
    assert [(e.address, e.status, e.sni) for e in server.events] == [
        ("127.0.0.38", 200, "mta-sts.follow.example"), ("127.0.0.39", 200, "mta-sts.follow.example")]
    ca.close()


BLOCK_ZONE = """
origin: block.example
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [127.0.0.44]}
  mta_sts: {mode: testing, max_age: 1d, addresses: [127.0.0.43]}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
"""


def test_the_mail_blocks_mta_sts_policy_is_served_and_its_id_matches(tmp_path: Path) -> None:
    """`mta_sts:` in the mail block: the policy host and `_mta-sts` TXT come from the block, the HTTPS
    server serves the block's policy text, and the TXT's id is the digest of exactly what is served."""
    import hashlib

    dig = require_tool("dig")
    (tmp_path / "block.example.yaml").write_text(BLOCK_ZONE)
    ca_file = tmp_path / "ca.pem"
    smtp_port = free_port(["127.0.0.44"])
    https_port = free_port(["127.0.0.43"], exclude=[smtp_port])
    with serving(tmp_path, "--smtp-port", f"25={smtp_port}", "--tls-ca-out", str(ca_file), "--quiet",
                 "--mta-sts", "--mta-sts-port", str(https_port)) as (seen, _out):
        dns_port = int(next(line for line in seen if "serving" in line).split(" on 127.0.0.1:")[1].split()[0])
        url = f"https://mta-sts.block.example:{https_port}/.well-known/mta-sts.txt"
        status, _, policy = asyncio.run(fetch(url, dns_port, ca_file))
        txt = subprocess.run([dig, "+short", "@127.0.0.1", "-p", str(dns_port), "TXT", "_mta-sts.block.example"],
                             capture_output=True, text=True, check=True).stdout.strip().strip('"')
    assert status == 200
    assert policy == "version: STSv1\r\nmode: testing\r\nmx: mx1.block.example\r\nmax_age: 86400\r\n"
    assert txt == f"v=STSv1; id={hashlib.sha256(policy.encode()).hexdigest()[:20]}"
