"""Catalog zones (issue 13, 3) with real consumers: Knot (`catalog-role: interpret`) and BIND `named`
(`catalog-zones`), each configured with the catalog zone ONLY.

`zonetool serve FOLDER --catalog NAME` serves a generated provider set of 1,000 zones and the
catalog listing them. The secondary transfers the catalog, then every zone in it (TSIG-signed, by
the same --allow-transfer rule as any zone), and answers for all 1,000. A zone file added and one
removed make zonetool reload: the catalog gets a new serial and a NOTIFY, and the secondary starts
serving the new zone and stops serving the removed one.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest
from secondaries import CATALOG_CONSUMERS, KEY, launch
from test_server_cli import Serve, dig_short, start
from test_server_secondary import free_port, primaries, processes, wait_until  # noqa: F401 (fixtures)
from test_tsig_secondaries import keygen

from zonetool.atomic import write_atomic

ZONES = 1_000
CATALOG = "catalog.zonetool.test"


def origin(i: int) -> str:
    return f"p{i:04d}.provider.test"


def zone_text(name: str, i: int) -> str:
    return (f"origin: {name}\nttl: 1h\nsoa: {{serial: auto}}\nnameservers: [ns1]\n"
            f"records:\n  ns1: {{A: 192.0.2.53}}\n  www: {{A: 10.0.{i >> 8}.{i & 255}}}\n")


def authoritative(port: int, name: str) -> bool:
    """Does the server at `port` answer SOA for `name` as its authority (the zone is provisioned)?"""
    try:
        reply = dns.query.udp(dns.message.make_query(name, "SOA"), "127.0.0.1", port=port, timeout=2)
    except (dns.exception.Timeout, OSError):
        return False
    return reply.rcode() == dns.rcode.NOERROR and bool(reply.flags & dns.flags.AA) and bool(reply.answer)


def missing(port: int, names: list[str]) -> list[str]:
    return [name for name in names if not authoritative(port, name)]


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CATALOG_CONSUMERS))
def test_a_secondary_with_only_the_catalog_serves_all_zones_and_follows_an_added_and_a_removed_one(
    kind: str, dig: str, tmp_path: Path, primaries: list[Serve], processes: list[subprocess.Popen[str]],  # noqa: F811
) -> None:
    secret = keygen(tmp_path / "xfr.key")
    folder = tmp_path / "zones"
    folder.mkdir()
    for i in range(ZONES):
        (folder / f"{origin(i)}.yaml").write_text(zone_text(origin(i), i))
    port = free_port()
    primary = start(primaries, str(folder), "--quiet", "--catalog", CATALOG, "--tsig-key", str(tmp_path / "xfr.key"),
                    "--allow-transfer", f"key={KEY}", "--notify", f"127.0.0.1:{port},key={KEY}")
    assert dig_short(dig, primary.port, "TXT", f"version.{CATALOG}") == '"2"'  # RFC 9432 4.2.1
    launch(CATALOG_CONSUMERS[kind](tmp_path, port, primary.port, CATALOG, secret), tmp_path, processes)

    def log() -> str:
        return (tmp_path / "secondary.log").read_text()[-4000:]

    names = [origin(i) for i in range(ZONES)]
    assert wait_until(lambda: authoritative(port, names[-1]) and authoritative(port, names[0]), timeout=240), \
        f"{kind} did not provision the zones of the catalog:\n{log()}"
    pending = names

    def all_there() -> bool:
        nonlocal pending
        pending = missing(port, pending)
        return not pending

    assert wait_until(all_there, timeout=240), f"{kind} lacks {len(pending)} zones, e.g. {pending[:3]}:\n{log()}"
    for i in (0, 1, 137, 500, 999):  # a sample, first and last included: the same content as zonetool's
        for rtype, name in (("A", f"www.{origin(i)}"), ("NS", origin(i)), ("SOA", origin(i))):
            assert dig_short(dig, port, rtype, name) == dig_short(dig, primary.port, rtype, name) != ""

    added, removed = "added.provider.test", origin(500)
    write_atomic(folder / f"{added}.yaml", zone_text(added, 4000))
    (folder / f"{removed}.yaml").unlink()
    primary.wait_err(rf"NOTIFY {CATALOG}\. to 127\.0\.0\.1:\d+: acknowledged", timeout=60)
    assert wait_until(lambda: authoritative(port, added), timeout=120), f"{kind} did not add {added}:\n{log()}"
    assert dig_short(dig, port, "A", f"www.{added}") == "10.0.15.160"
    assert wait_until(lambda: not authoritative(port, removed), timeout=120), \
        f"{kind} still serves the removed {removed}:\n{log()}"
    assert authoritative(port, origin(499)) and authoritative(port, origin(501))  # the others stay
