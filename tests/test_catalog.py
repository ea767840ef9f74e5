"""Catalog zones (RFC 9432), the pure part: what the catalog holds, its member labels and its serial.

dnspython is the referee for the member labels' input (the member's wire name) and for the
catalog's content (it reads the catalog back from the BIND text zonetool writes). The real
consumers, Knot and BIND, are in tests/test_catalog_secondaries.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import dns.name
import dns.rdatatype
import dns.zone

from zonetool.catalog import Catalog, build, member_label, member_owner
from zonetool.names import Name
from zonetool.server.catalogsource import CatalogSource
from zonetool.source.bind import write_zone

CAT = Name.from_text("catalog.zonetool.")


def names(*texts: str) -> list[Name]:
    return [Name.from_text(t) for t in texts]


def as_dnspython(zone_text: str) -> dns.zone.Zone:
    return dns.zone.from_text(zone_text, origin="catalog.zonetool.", relativize=False)


def test_a_member_label_is_the_hash_of_its_wire_name_whatever_the_case() -> None:
    wire = dns.name.from_text("Example.COM.").canonicalize().to_wire()
    assert member_label(Name.from_text("Example.COM.")) == hashlib.sha1(wire).hexdigest().encode()
    assert member_label(Name.from_text("example.com.")) == member_label(Name.from_text("EXAMPLE.com."))
    assert member_label(Name.from_text("example.com.")) != member_label(Name.from_text("example.net."))
    assert member_owner(CAT, Name.from_text("example.com.")).to_text().endswith(".zones.catalog.zonetool.")


def test_the_catalog_has_the_version_the_apex_and_one_ptr_per_member() -> None:
    members = names("a.example.", "b.example.", "catalog.zonetool.")  # the catalog never lists itself
    zone = as_dnspython(write_zone(build(CAT, members, 7)))
    version = zone.find_rdataset("version.catalog.zonetool.", dns.rdatatype.TXT)
    assert [r.strings for r in version] == [(b"2",)]  # RFC 9432 4.2.1
    assert [r.to_text() for r in zone.find_rdataset("catalog.zonetool.", dns.rdatatype.NS)] == ["invalid."]
    assert zone.find_rdataset("catalog.zonetool.", dns.rdatatype.SOA)[0].serial == 7
    ptrs = {name.to_text(): rds[0].target.to_text() for name, rds in zone.iterate_rdatasets(dns.rdatatype.PTR)}
    assert ptrs == {member_owner(CAT, m).to_text(): m.to_text() for m in members[:2]}


def test_labels_and_serial_survive_a_new_catalog_object_and_a_change_moves_the_serial() -> None:
    first = Catalog(CAT, clock=lambda: 1_700_000_000.5)
    zone, changed = first.update(names("a.example.", "b.example."))
    assert changed and zone.soa is not None and zone.soa.serial == 1_700_000_000
    same, changed = first.update(names("b.example.", "a.example."))  # the same set, another order
    assert not changed and same is zone
    grown, changed = first.update(names("a.example.", "b.example.", "c.example."))
    assert changed and grown.soa is not None and grown.soa.serial == 1_700_000_001
    shrunk, changed = first.update(names("a.example.", "c.example."))
    assert changed and shrunk.soa is not None and shrunk.soa.serial == 1_700_000_002
    assert shrunk.rrset(member_owner(CAT, Name.from_text("b.example.")), 12) is None  # b went
    # a restart: another process later; the same members have the same owners, the serial is higher
    again, _ = Catalog(CAT, clock=lambda: 1_700_000_100).update(names("c.example.", "a.example."))
    assert sorted(again.nodes) == sorted(shrunk.nodes) and again.soa.serial > shrunk.soa.serial  # type: ignore[union-attr]


def zone_file(folder: Path, origin: str) -> None:
    (folder / f"{origin}.yaml").write_text(f"origin: {origin}\nnameservers: [ns1]\nrecords:\n  ns1: {{A: 192.0.2.1}}\n")


def test_the_catalog_source_adds_the_catalog_to_every_load_and_names_it_changed(tmp_path: Path) -> None:
    zone_file(tmp_path, "a.example")
    zone_file(tmp_path, "b.example")
    source = CatalogSource([tmp_path], CAT)
    first = source.load()
    assert first.zones is not None and first.zones[-1].origin == CAT and CAT in first.changed
    serial = first.zones[-1].soa.serial  # type: ignore[union-attr]
    members = {r.rdata.target for r in first.zones[-1].records() if r.code == 12}  # type: ignore[attr-defined]
    assert members == set(names("a.example.", "b.example."))
    assert CAT not in source.load().changed  # nothing changed: same catalog, same serial
    zone_file(tmp_path, "c.example")
    (tmp_path / "a.example.yaml").unlink()
    source.grace = 0  # a removed file's zone goes at once
    later = source.load()
    assert later.zones is not None and CAT in later.changed
    catalog = later.zones[-1]
    assert catalog.soa is not None and catalog.soa.serial == serial + 1
    assert {r.rdata.target for r in catalog.records() if r.code == 12} == set(names("b.example.", "c.example."))  # type: ignore[attr-defined]


def test_serve_refuses_a_catalog_without_a_transfer_rule_or_with_a_zone_s_name(tmp_path: Path) -> None:
    import subprocess

    from test_server_cli import ZONETOOL

    zone_file(tmp_path, "a.example")

    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*ZONETOOL, "serve", str(tmp_path), "--port", "0", *args], capture_output=True,
                              text=True, timeout=60)

    bare = serve("--catalog", "catalog.zonetool")
    assert bare.returncode == 2 and "--catalog needs --allow-transfer" in bare.stderr
    clash = serve("--catalog", "a.example", "--allow-transfer", "127.0.0.1")
    assert clash.returncode == 2 and "a.example.yaml is a zone of that name" in clash.stderr
    bad = serve("--catalog", "a..b", "--allow-transfer", "127.0.0.1")
    assert bad.returncode == 2 and "--catalog 'a..b'" in bad.stderr
    for out in (bare, clash, bad):
        assert "Traceback" not in out.stderr


def test_the_catalog_is_transferred_under_the_transfer_rules_and_by_ixfr_after_a_change(
    tmp_path: Path, dig: str,
) -> None:
    """Like any zone: AXFR only with the --allow-transfer key, and after a zone is added an IXFR
    from the old serial gets the one new PTR (RFC 1995), signed (dnspython checks every message)."""
    import base64
    import subprocess

    import dns.message
    import dns.query
    import dns.tsig
    import dns.tsigkeyring
    from test_server_cli import Serve

    from zonetool.atomic import write_atomic

    secret = base64.b64encode(b"k" * 32).decode()
    (tmp_path / "xfr.key").write_text(f'key "xfr.example" {{ algorithm hmac-sha256; secret "{secret}"; }};\n')
    (tmp_path / "xfr.key").chmod(0o600)
    zones = tmp_path / "zones"
    zones.mkdir()
    zone_file(zones, "a.example")
    server = Serve(str(zones), "--quiet", "--catalog", CAT.to_text(), "--tsig-key", str(tmp_path / "xfr.key"),
                   "--allow-transfer", "key=xfr.example")
    try:
        server.started()
        server.wait_err(r"catalog zone catalog\.zonetool\. lists the other 1 zone")
        ring = dns.tsigkeyring.from_text({"xfr.example.": ("hmac-sha256", secret)})

        def transfer(rdtype: str, serial: int = 0, keyring: object = ring) -> list[str]:
            msgs = dns.query.xfr("127.0.0.1", CAT.to_text(), rdtype=rdtype, serial=serial, port=server.port,
                                 keyring=keyring, keyname="xfr.example.", timeout=10, relativize=False)
            return [f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} {rr}" for m in msgs
                    for rrset in m.answer for rr in rrset]

        with_key = transfer("AXFR")
        assert f"{member_owner(CAT, Name.from_text('a.example.')).to_text()} PTR a.example." in with_key
        unsigned = subprocess.run([dig, "@127.0.0.1", "-p", str(server.port), "AXFR", CAT.to_text()],
                                  capture_output=True, text=True, timeout=30).stdout
        assert "Transfer failed" in unsigned and "PTR" not in unsigned  # the catalog tells who serves what
        old = int(next(line for line in with_key if " SOA " in line).split()[4])
        write_atomic(zones / "b.example.yaml", "origin: b.example\nnameservers: [ns1]\nrecords:\n"
                     "  ns1: {A: 192.0.2.1}\n")
        server.wait_err(r"reloaded .*catalog\.zonetool\. serial \d+")
        delta = transfer("IXFR", serial=old)
        b_ptr = f"{member_owner(CAT, Name.from_text('b.example.')).to_text()} PTR b.example."
        assert [line.split()[4] for line in delta if " SOA " in line] == [str(old + 1), str(old), str(old + 1),
                                                                           str(old + 1)]
        assert [line for line in delta if " SOA " not in line] == [b_ptr]  # nothing removed, one member added
    finally:
        server.stop()


def test_worker_processes_publish_the_same_catalog_serial_before_and_after_a_reload(tmp_path: Path) -> None:
    """With --workers 2 each process builds its own catalog; the serial comes from the member set and
    the start, not from when a process reloads, so every answer (from either worker) has one serial."""
    import time

    import dns.message
    import dns.query
    from test_server_cli import Serve

    from zonetool.atomic import write_atomic

    zone_file(tmp_path, "a.example")
    server = Serve(str(tmp_path), "--quiet", "--workers", "2", "--catalog", CAT.to_text(),
                   "--allow-transfer", "127.0.0.1")
    try:
        server.started()

        def serials() -> set[int]:  # each query from a new socket: SO_REUSEPORT spreads them over both workers
            return {dns.query.udp(dns.message.make_query(CAT.to_text(), "SOA"), "127.0.0.1", port=server.port,
                                  timeout=3).answer[0][0].serial for _ in range(40)}

        (first,) = serials()
        write_atomic(tmp_path / "b.example.yaml", "origin: b.example\nnameservers: [ns1]\nrecords:\n"
                     "  ns1: {A: 192.0.2.1}\n")
        deadline, seen = time.monotonic() + 30, {first}
        while time.monotonic() < deadline and (seen := serials()) != {first + 1}:
            time.sleep(0.2)
        assert seen == {first + 1}
    finally:
        server.stop()
