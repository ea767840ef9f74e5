"""zonetool as a hidden primary: real Knot DNS, NSD and BIND secondaries transfer a zone from `zonetool serve`.

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
from secondaries import SECONDARIES, launch
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


@pytest.mark.parametrize("kind", list(SECONDARIES))
def test_a_secondary_transfers_and_answers_alike(
    kind: str, dig: str, tmp_path: Path, primaries: list[Serve], processes: list[subprocess.Popen[str]]
) -> None:
    """Knot, NSD and BIND `named`, configured as tests/secondaries.py writes them (no TSIG here)."""

    def start_secondary(primary: int, port: int) -> subprocess.Popen[str]:
        launch(SECONDARIES[kind](tmp_path, port, primary), tmp_path, processes)
        return processes.pop()

    run_secondary_case(dig, tmp_path, primaries, processes, start_secondary)
