"""zonetool as a hidden primary: real Knot DNS and NSD secondaries transfer a zone from `zonetool serve`.

Each secondary runs as the current user on 127.0.0.1 with a free port and a config, run
directory and storage written into tmp_path. It must answer MX and SRV exactly as zonetool
does, and pick up an edit through NOTIFY (its SOA refresh is an hour, so only NOTIFY explains it).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import require_tool
from test_server_cli import Serve, dig_short, start, write_zone

QUESTIONS = [("MX", "example.com"), ("SRV", "_smtp._tcp.example.com"), ("A", "mx-{v}-a.example.com"),
             ("SOA", "example.com")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], bool], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def primaries() -> Iterator[list[Serve]]:
    procs: list[Serve] = []
    yield procs
    for proc in procs:
        proc.stop()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def same_answers(dig: str, primary: int, secondary: int, version: int) -> None:
    for rtype, name in QUESTIONS:
        name = name.format(v=version)
        ours = sorted(dig_short(dig, primary, rtype, name).splitlines())
        theirs = sorted(dig_short(dig, secondary, rtype, name).splitlines())
        assert ours, (rtype, name)
        assert theirs == ours, (rtype, name)


def run_secondary_case(
    dig: str, tmp_path: Path, primaries: list[Serve], processes: list[subprocess.Popen[str]],
    launch: Callable[[int, int], subprocess.Popen[str]],
) -> None:
    zone = tmp_path / "example.com.yaml"
    write_zone(zone, 1)
    port = free_port()
    primary = start(primaries, str(zone), "--quiet", "--allow-transfer", "127.0.0.1", "--notify", f"127.0.0.1:{port}")
    processes.append(launch(primary.port, port))
    assert wait_until(lambda: "mx-1-a.example.com." in dig_short(dig, port, "MX", "example.com")), \
        "the secondary never served the transferred zone"
    same_answers(dig, primary.port, port, 1)

    write_zone(zone, 2)  # zonetool reloads, raises the serial and NOTIFies the secondary
    primary.wait_err(r"NOTIFY example\.com\. to 127\.0\.0\.1:\d+: acknowledged")
    assert wait_until(lambda: "mx-2-a.example.com." in dig_short(dig, port, "MX", "example.com")), \
        "the secondary did not transfer the new version after NOTIFY"
    same_answers(dig, primary.port, port, 2)


def test_knot_secondary_transfers_and_answers_alike(
    dig: str, tmp_path: Path, primaries: list[Serve], processes: list[subprocess.Popen[str]]
) -> None:
    knotd = require_tool("knotd")
    (tmp_path / "run").mkdir()
    (tmp_path / "storage").mkdir()

    def launch(primary: int, port: int) -> subprocess.Popen[str]:
        conf = tmp_path / "knot.conf"
        conf.write_text(f"""\
server:
    rundir: "{tmp_path}/run"
    listen: 127.0.0.1@{port}
database:
    storage: "{tmp_path}/storage"
log:
  - target: stderr
    any: info
remote:
  - id: zonetool
    address: 127.0.0.1@{primary}
acl:
  - id: notify-from-zonetool
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "{tmp_path}/storage"
zone:
  - domain: example.com
    master: zonetool
    acl: notify-from-zonetool
""")
        return subprocess.Popen([knotd, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                text=True)

    run_secondary_case(dig, tmp_path, primaries, processes, launch)


def test_nsd_secondary_transfers_and_answers_alike(
    dig: str, tmp_path: Path, primaries: list[Serve], processes: list[subprocess.Popen[str]]
) -> None:
    nsd = require_tool("nsd")

    def launch(primary: int, port: int) -> subprocess.Popen[str]:
        conf = tmp_path / "nsd.conf"
        conf.write_text(f"""\
server:
    ip-address: 127.0.0.1@{port}
    port: {port}
    username: ""
    chroot: ""
    zonesdir: "{tmp_path}"
    pidfile: "{tmp_path}/nsd.pid"
    xfrdfile: "{tmp_path}/xfrd.state"
    xfrdir: "{tmp_path}"
    zonelistfile: "{tmp_path}/zone.list"
    database: ""
    logfile: "{tmp_path}/nsd.log"
    server-count: 1
remote-control:
    control-enable: no
zone:
    name: example.com
    zonefile: "example.com.zone"
    request-xfr: AXFR 127.0.0.1@{primary} NOKEY
    allow-notify: 127.0.0.1 NOKEY
""")
        return subprocess.Popen([nsd, "-c", str(conf), "-d"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                text=True)

    run_secondary_case(dig, tmp_path, primaries, processes, launch)
