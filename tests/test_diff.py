"""zonetool diff: the pure comparison, the CLI on YAML/BIND files, and a live server by AXFR."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import require_tool, zonetool_exe
from typer.testing import CliRunner

from zonetool.cli import app
from zonetool.diff import ADDED, REMOVED, TTL_CHANGED, diff_zones, format_changes
from zonetool.names import Name
from zonetool.rrtypes import parse_rdata
from zonetool.zone import Record, Zone

ORIGIN = Name.from_text("example.org.")
COMMENTED = Path(__file__).resolve().parent / "data" / "edit" / "commented.yaml"


def zone(*rows: tuple[str, int, str, str], auto: bool = False) -> Zone:
    z = Zone(ORIGIN)
    z.auto_serial = auto
    for owner, ttl, rtype, text in rows:
        z.add(Record(Name.from_text(owner, ORIGIN), ttl, parse_rdata(rtype, text, ORIGIN)))
    return z


SOA = ("@", 3600, "SOA", "ns1 hostmaster 1 3600 900 604800 300")


def test_same_zone_no_changes() -> None:
    rows = [SOA, ("@", 3600, "MX", "10 mx1"), ("mx1", 3600, "A", "192.0.2.1")]
    assert diff_zones(zone(*rows), zone(*rows)) == []


def test_record_order_and_name_case_do_not_count() -> None:
    a = zone(SOA, ("@", 3600, "MX", "10 mx1"), ("@", 3600, "MX", "20 mx2"))
    b = zone(SOA, ("@", 3600, "MX", "20 MX2"), ("@", 3600, "MX", "10 mx1"))
    assert diff_zones(a, b) == []


def test_added_removed_and_ttl_changed() -> None:
    old = zone(SOA, ("@", 3600, "MX", "10 mx1"), ("www", 300, "A", "192.0.2.1"), ("gone", 60, "TXT", '"x"'))
    new = zone(SOA, ("@", 3600, "MX", "10 mx1"), ("@", 3600, "MX", "20 mx2"), ("www", 600, "A", "192.0.2.1"))
    changes = diff_zones(old, new)
    kinds = {(c.kind, c.owner.relativize(ORIGIN), c.rtype) for c in changes}
    assert kinds == {(ADDED, "@", "MX"), (TTL_CHANGED, "www", "A"), (REMOVED, "gone", "TXT")}
    ttl = next(c for c in changes if c.kind == TTL_CHANGED)
    assert (ttl.old_ttl, ttl.ttl) == (300, 600)
    text = format_changes(changes, ORIGIN)
    assert text.splitlines() == [
        "@ MX",
        "  + 3600 20 mx2",
        "gone TXT",
        '  - 60 "x"',
        "www A",
        "  ~ ttl 300 -> 600  192.0.2.1",
        "1 added, 1 removed, 1 TTL changed",
    ]


def test_changed_data_is_a_removal_and_an_addition_grouped_under_one_owner_and_type() -> None:
    changes = diff_zones(zone(SOA, ("www", 300, "A", "192.0.2.1")), zone(SOA, ("www", 300, "A", "192.0.2.2")))
    assert [(c.kind, c.rdata.to_text()) for c in changes] == [(REMOVED, "192.0.2.1"), (ADDED, "192.0.2.2")]
    assert format_changes(changes, ORIGIN).splitlines()[0] == "www A"


def test_serial_counts_unless_a_side_is_auto() -> None:
    bumped = ("@", 3600, "SOA", "ns1 hostmaster 2 3600 900 604800 300")
    assert [c.kind for c in diff_zones(zone(SOA), zone(bumped))] == [REMOVED, ADDED]
    assert diff_zones(zone(SOA, auto=True), zone(bumped)) == []
    assert diff_zones(zone(SOA), zone(bumped), ignore_serial=True) == []


# -- CLI ---------------------------------------------------------------------------------
runner = CliRunner()


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


BASE = """origin: example.org
soa: {primary: ns1, serial: 5}
nameservers: [ns1]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [192.0.2.10]}
records:
  ns1: {A: 192.0.2.53}
"""


def test_cli_two_yaml_zones(tmp_path: Path) -> None:
    old = write(tmp_path, "old.yaml", BASE)
    new = write(tmp_path, "new.yaml", BASE.replace("priority: 10", "priority: 20") + "  www: {A: 192.0.2.80}\n")
    result = runner.invoke(app, ["diff", str(old), str(new)])
    assert result.exit_code == 1, result.output
    assert "@ MX\n  - 3600 10 mx1\n  + 3600 20 mx1\n" in result.output
    assert "www A\n  + 3600 192.0.2.80\n" in result.output
    same = runner.invoke(app, ["diff", str(old), str(old)])
    assert same.exit_code == 0 and "no differences" in same.output


def test_cli_yaml_against_bind_export(tmp_path: Path) -> None:
    from zonetool.loader import load_file
    from zonetool.source.bind import write_zone

    yaml_zone = write(tmp_path, "example.org.yaml", BASE)
    zone_obj, _ = load_file(yaml_zone)
    assert zone_obj is not None
    bind = write(tmp_path, "example.org.zone", write_zone(zone_obj))
    assert runner.invoke(app, ["diff", str(yaml_zone), str(bind)]).exit_code == 0
    changed = write(tmp_path, "changed.yaml", BASE.replace("192.0.2.53", "192.0.2.54"))
    result = runner.invoke(app, ["diff", str(bind), str(changed)])
    assert result.exit_code == 1
    assert "ns1 A\n  - 3600 192.0.2.53\n  + 3600 192.0.2.54\n" in result.output


def test_cli_errors_are_clear(tmp_path: Path) -> None:
    result = runner.invoke(app, ["diff", str(tmp_path / "nope.yaml"), str(tmp_path / "nope2.yaml")])
    assert result.exit_code == 2 and "no such file" in result.output
    bad = write(tmp_path, "bad.yaml", "origin: example.org\nrecords:\n  www: {A: 300.1.1.1}\n")
    result = runner.invoke(app, ["diff", str(bad), str(bad)])
    assert result.exit_code == 2 and "bad.yaml:3:" in result.output
    assert runner.invoke(app, ["diff", str(bad)]).exit_code == 2
    old = write(tmp_path, "old.yaml", BASE)
    other = write(tmp_path, "other.yaml", BASE.replace("example.org", "example.net"))
    result = runner.invoke(app, ["diff", str(old), str(other)])
    assert result.exit_code == 2 and "different origins" in result.output
    result = runner.invoke(app, ["diff", str(old), "--server", "127.0.0.1:1"])
    assert result.exit_code == 2 and "cannot transfer" in result.output


def test_cli_against_running_server_by_axfr(tmp_path: Path, dns_server) -> None:  # type: ignore[no-untyped-def]
    served = write(tmp_path, "example.org.yaml", BASE)
    dns_server.load(served)
    target = f"{dns_server.host}:{dns_server.port}"
    same = runner.invoke(app, ["diff", str(served), "--server", target])
    assert same.exit_code == 0, same.output
    plan = write(tmp_path, "plan.yaml", BASE + "  www: {A: 192.0.2.80}\n")
    result = runner.invoke(app, ["diff", str(plan), "--server", target])
    assert result.exit_code == 1
    assert "www A\n  + 3600 192.0.2.80\n" in result.output
    unknown = write(tmp_path, "other.yaml", BASE.replace("example.org", "example.net"))
    refused = runner.invoke(app, ["diff", str(unknown), "--server", target])
    assert refused.exit_code == 2 and "refused" in refused.output


def test_axfr_client_against_nsd(tmp_path: Path) -> None:
    """The AXFR client reads what a real NSD transfers, record for record."""
    nsd = require_tool("nsd")
    from zonetool.loader import load_file
    from zonetool.source.axfr import fetch_zone
    from zonetool.source.bind import write_zone

    zone_obj, _ = load_file(COMMENTED)
    assert zone_obj is not None
    (tmp_path / "example.net.zone").write_text(write_zone(zone_obj))
    port = _free_port()
    conf = tmp_path / "nsd.conf"
    conf.write_text(
        f"""server:
  ip-address: 127.0.0.1@{port}
  zonesdir: "{tmp_path}"
  pidfile: "{tmp_path}/nsd.pid"
  xfrdfile: "{tmp_path}/xfrd.state"
  zonelistfile: "{tmp_path}/zone.list"
  database: ""
  username: ""
  chroot: ""
  verbosity: 1
  logfile: "{tmp_path}/nsd.log"
remote-control:
  control-enable: no
zone:
  name: example.net
  zonefile: example.net.zone
  provide-xfr: 127.0.0.1 NOKEY
"""
    )
    proc = subprocess.Popen([nsd, "-d", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        live = _wait_for_axfr(fetch_zone, port, zone_obj.origin, proc, tmp_path)
        assert diff_zones(zone_obj, live, ignore_serial=False) == []
        assert len(live) == len(zone_obj)
    finally:
        proc.terminate()
        proc.wait(10)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_axfr(fetch, port, origin, proc, tmp_path):  # type: ignore[no-untyped-def]
    import time

    from zonetool.source.axfr import AxfrError

    last: Exception | None = None
    for _ in range(100):  # NSD needs a moment to bind; this waits for readiness, it asserts no speed
        if proc.poll() is not None:
            log = (tmp_path / "nsd.log").read_text() if (tmp_path / "nsd.log").exists() else ""
            pytest.fail(f"nsd exited: {proc.stdout.read().decode() if proc.stdout else ''} {log}")
        try:
            return fetch("127.0.0.1", port, origin, timeout=2)
        except AxfrError as exc:
            last = exc
            time.sleep(0.1)
    pytest.fail(f"nsd never answered the AXFR: {last}")


def test_one_real_subprocess(tmp_path: Path) -> None:
    exe = zonetool_exe()
    old = write(tmp_path, "old.yaml", BASE)
    new = write(tmp_path, "new.yaml", BASE + "  www: {A: 192.0.2.80}\n")
    done = subprocess.run([exe, "diff", str(old), str(new)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "www A" in done.stdout
