"""`zonetool serve` as a user runs it: a real process, real sockets, dig and dnspython as clients.

Covers start-up and its errors, the query log, signals, reload (file watch, SIGHUP, invalid edits,
reload under load) and --workers.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdata
import pytest

from zonetool.atomic import write_atomic

ROOT = Path(__file__).resolve().parent.parent
ZONETOOL = [sys.executable, "-c", "from zonetool.cli import main; main()"]

ZONE = """\
origin: example.com
ttl: 1h
soa: {{serial: auto}}
nameservers: [ns1]
mail:
  exchangers:
    - {{host: mx-{v}-a, priority: 10, addresses: [192.0.2.10]}}
    - {{host: mx-{v}-b, priority: 20, addresses: [192.0.2.11]}}
  srv: true
records:
  ns1: {{A: 192.0.2.53}}
  version: {{TXT: "v{v}"}}
"""

TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z "  # the RFC 3339 time each query log line starts with


class Serve:
    """A `zonetool serve` process whose stdout and stderr are read line by line in the background."""

    def __init__(
        self, *args: str, cwd: Path | None = None, port: str = "0", preexec: Callable[[], None] | None = None
    ) -> None:
        cmd = [*ZONETOOL, "serve", *args]
        if port:
            cmd += ["--port", port]
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=preexec,  # e.g. a low descriptor limit
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.err_lines: list[str] = []
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for t in self._readers:
            t.start()
        self.port = 0

    @staticmethod
    def _pump(stream: object, sink: queue.Queue[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            sink.put(line.rstrip("\n"))

    def wait_err(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.err.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.err.empty():
                    break
                continue
            self.err_lines.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"no stderr line matching {pattern!r}; got: {self.err_lines}")

    def started(self) -> Serve:
        match = self.wait_err(r"serving .* on (\S+):(\d+) \(UDP and TCP")
        self.port = int(match.group(2))
        return self

    def out_lines(self, n: int, timeout: float = 10) -> list[str]:
        lines = []
        deadline = time.monotonic() + timeout
        while len(lines) < n and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                lines.append(self.out.get(timeout=0.1))
        return lines

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for t in self._readers:
            t.join(5)
        return self.proc.returncode


@pytest.fixture
def serve() -> Iterator[list[Serve]]:
    """Processes started in a test; every one is stopped (and killed if need be) afterwards."""
    procs: list[Serve] = []
    yield procs
    for p in procs:
        p.stop()


def start(procs: list[Serve], *args: str, cwd: Path | None = None, port: str = "0") -> Serve:
    p = Serve(*args, cwd=cwd, port=port)
    procs.append(p)
    return p.started()


def ask(port: int, name: str, rtype: str, tcp: bool = False) -> dns.message.Message:
    q = dns.message.make_query(name, rtype)
    if tcp:
        return dns.query.tcp(q, "127.0.0.1", port=port, timeout=3)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=3)


def dig_short(dig: str, port: int, *args: str) -> str:
    out = subprocess.run([dig, "@127.0.0.1", "-p", str(port), "+time=3", "+tries=2", "+short", *args],
                         capture_output=True, text=True, timeout=30, check=False)
    return out.stdout.strip()


def write_zone(path: Path, version: int) -> None:
    write_atomic(path, ZONE.format(v=version))


def port_is_free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


# ---------------------------------------------------------------------------
# start-up
# ---------------------------------------------------------------------------
def test_serve_with_no_arguments_serves_the_bundled_zones(dig: str, serve: list[Serve]) -> None:
    """Issue 3's done-when: `zonetool serve` from the repository root answers `dig -p PORT MX example.com`."""
    from zonetool.cli.serve import DEFAULT_PORT

    assert DEFAULT_PORT != 5353  # mDNS: avahi holds it on most desktops (issue 11)
    zones = ROOT / "zones"
    if not any(zones.glob("*.yaml")):
        pytest.fail("the repository has no bundled zones/*.yaml")
    default = port_is_free(DEFAULT_PORT)
    p = start(serve, cwd=ROOT, port="" if default else "0")
    if default:
        assert p.port == DEFAULT_PORT
    assert "example.com." in p.err_lines[-1]
    hint = re.search(r"ask it: (dig .*)$", p.err_lines[-1])
    assert hint is not None  # the start line says how to ask, and that command works
    assert hint.group(1) == f"dig @127.0.0.1 -p {p.port} MX example.com"
    answer = dig_short(dig, p.port, "MX", "example.com")
    assert re.search(r"^\d+ \S+\.example\.com\.$", answer, re.M), answer


def test_default_zones_come_from_the_current_directory_first(tmp_path: Path, serve: list[Serve]) -> None:
    (tmp_path / "zones").mkdir()
    write_zone(tmp_path / "zones" / "example.com.yaml", 42)
    p = start(serve, "--quiet", cwd=tmp_path)
    assert ask(p.port, "version.example.com", "TXT").answer[0][0].strings == (b"v42",)
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    q = start(serve, "--quiet", cwd=elsewhere)  # none here: the repository's bundled zones/
    bundled = {r.exchange.to_text() for r in ask(q.port, "example.com", "MX").answer[0]}
    assert bundled == {r.exchange.to_text() for r in _bundled_mx()}
    assert ask(q.port, "version.example.com", "TXT").rcode() == dns.rcode.NXDOMAIN


def _bundled_mx() -> list:  # type: ignore[type-arg]
    from zonetool.loader import load_paths

    (zone,) = [z for z in load_paths([ROOT / "zones"]).zones if z.origin.to_text() == "example.com."]
    rrset = zone.rrset(zone.origin, 15)
    assert rrset is not None
    return [dns.rdata.from_text("IN", "MX", r.rdata.to_text()) for r in rrset.records]


def test_ipv6_address(dig: str, tmp_path: Path, serve: list[Serve]) -> None:
    write_zone(tmp_path / "example.com.yaml", 1)
    p = start(serve, str(tmp_path), "--address", "::1")
    assert "[::1]:" in p.err_lines[-1]
    for extra in ([], ["+tcp"]):
        out = subprocess.run([dig, "@::1", "-p", str(p.port), "+time=3", "+tries=1", "+short", *extra,
                              "MX", "example.com"], capture_output=True, text=True, timeout=30).stdout
        assert sorted(out.split("\n")[:2]) == ["10 mx-1-a.example.com.", "20 mx-1-b.example.com."]
    assert re.fullmatch(TS + r"\[::1\]:\d+ udp example\.com\. MX NOERROR answers=2 \d+us", p.out_lines(1)[0])


def test_bad_zone_prints_findings_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("origin: example.com\nnameservers: [ns1]\nmail:\n  exchangers:\n    - {host: mx1, priority: abc}\n")
    out = subprocess.run([*ZONETOOL, "serve", str(bad), "--port", "0"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert f"{bad}:5:" in out.stderr  # file:line:column of the bad priority
    assert "not serving" in out.stderr
    assert "Traceback" not in out.stderr


def test_port_in_use_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    write_zone(tmp_path / "example.com.yaml", 1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([*ZONETOOL, "serve", str(tmp_path), "--port", str(port)],
                             capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in out.stderr
    assert "Traceback" not in out.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    for args, message in (
        ([str(tmp_path / "missing.yaml")], "no such file"),
        ([str(tmp_path), "--allow-transfer", "not-an-ip"], "is not an IP address or CIDR"),
        ([str(tmp_path), "--address", "localhost"], "is not an IP address"),
        ([str(tmp_path), "--notify", "127.0.0.1:99999"], "the port must be a number 1..65535"),
        ([str(tmp_path), "--notify", "ns1.example.net:53"], "is not an IP address"),
        ([str(tmp_path), "--log-format", "xml"], "--log-format must be text or json"),
    ):
        write_zone(tmp_path / "example.com.yaml", 1)
        out = subprocess.run([*ZONETOOL, "serve", *args, "--port", "0"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 2, (args, out.stderr)
        assert message in out.stderr
        assert "Traceback" not in out.stderr


# ---------------------------------------------------------------------------
# the query log and signals
# ---------------------------------------------------------------------------
def test_query_log_text_lines(tmp_path: Path, serve: list[Serve]) -> None:
    write_zone(tmp_path / "example.com.yaml", 1)
    p = start(serve, str(tmp_path))
    ask(p.port, "Example.COM", "MX")
    ask(p.port, "missing.example.com", "A", tcp=True)
    first, second = p.out_lines(2)
    # the test zone has no SPF/DMARC and one name server: served, with the warnings counted
    assert any(re.search(r"the zone files have \d+ warning\(s\)", line) for line in p.err_lines)
    assert re.fullmatch(TS + r"127\.0\.0\.1:\d+ udp example\.com\. MX NOERROR answers=2 \d+us", first), first
    assert re.fullmatch(TS + r"127\.0\.0\.1:\d+ tcp missing\.example\.com\. A NXDOMAIN answers=0 \d+us", second), second


def test_query_log_json_and_quiet(tmp_path: Path, serve: list[Serve]) -> None:
    write_zone(tmp_path / "example.com.yaml", 1)
    p = start(serve, str(tmp_path), "--log-format", "json")
    ask(p.port, "_smtp._tcp.example.com", "SRV")
    (line,) = p.out_lines(1)
    entry = json.loads(line)
    assert entry["client"] == "127.0.0.1" and entry["transport"] == "udp"
    assert (entry["qname"], entry["qtype"], entry["rcode"], entry["answers"]) == (
        "_smtp._tcp.example.com.", "SRV", "NOERROR", 2)
    assert isinstance(entry["micros"], int) and entry["micros"] >= 0
    # issue 10: the API's names and a timestamp beside the old keys
    assert (entry["name"], entry["type"], entry["latency_us"]) == (entry["qname"], entry["qtype"], entry["micros"])
    assert entry["seq"] >= 1 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry["ts"])

    quiet = start(serve, str(tmp_path), "--quiet")
    assert len(ask(quiet.port, "example.com", "MX").answer[0]) == 2
    assert quiet.stop() == 0
    assert quiet.out.empty()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_cleanly(tmp_path: Path, serve: list[Serve], sig: int) -> None:
    write_zone(tmp_path / "example.com.yaml", 1)
    p = start(serve, str(tmp_path))
    assert ask(p.port, "example.com", "MX").rcode() == dns.rcode.NOERROR
    assert p.stop(sig) == 0
    p.wait_err(r"zonetool: stopped")
    assert not any("Traceback" in line for line in p.err_lines)
    assert port_is_free(p.port)


# ---------------------------------------------------------------------------
# reload
# ---------------------------------------------------------------------------
def serial(port: int) -> int:
    return ask(port, "example.com", "SOA").answer[0][0].serial


def wait_for(predicate: object, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def _txt(reply: dns.message.Message) -> bytes:
    return b"".join(reply.answer[0][0].strings)


def test_edited_file_is_reloaded_and_auto_serial_rises(tmp_path: Path, serve: list[Serve]) -> None:
    zone = tmp_path / "example.com.yaml"
    write_zone(zone, 1)
    p = start(serve, str(zone), "--quiet")
    before = serial(p.port)
    with socket.create_connection(("127.0.0.1", p.port), timeout=5) as conn:  # open across the reload
        q = dns.message.make_query("version.example.com", "TXT")
        assert dns.query.send_tcp(conn, q) and _txt(dns.query.receive_tcp(conn)[0]) == b"v1"
        write_zone(zone, 2)
        assert wait_for(lambda: _txt(ask(p.port, "version.example.com", "TXT")) == b"v2")
        dns.query.send_tcp(conn, q)
        assert _txt(dns.query.receive_tcp(conn)[0]) == b"v2"  # same connection, new version
    after = serial(p.port)
    assert after > before
    p.wait_err(r"reloaded \(file change\): example\.com\. serial \d+")
    # rewriting the same content is no change: the serial stays
    write_zone(zone, 2)
    p.wait_err(r"reloaded \(file change\): no zone changed")
    assert serial(p.port) == after


def test_sighup_reloads_without_watching(tmp_path: Path, serve: list[Serve]) -> None:
    zone = tmp_path / "example.com.yaml"
    write_zone(zone, 1)
    p = start(serve, str(zone), "--quiet", "--no-watch")
    before = serial(p.port)
    write_zone(zone, 7)
    time.sleep(0.6)
    assert ask(p.port, "version.example.com", "TXT").answer[0][0].strings == (b"v1",)  # not watching
    p.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: ask(p.port, "version.example.com", "TXT").answer[0][0].strings == (b"v7",))
    assert serial(p.port) > before
    p.wait_err(r"reloaded \(SIGHUP\)")


def test_reload_under_load_never_fails_never_mixes(tmp_path: Path, serve: list[Serve]) -> None:
    """A client asks in a loop over UDP while the file is rewritten: every answer whole and current."""
    zone = tmp_path / "example.com.yaml"
    write_zone(zone, 1)
    p = start(serve, str(zone), "--quiet")
    seen: list[tuple[int, int]] = []  # (version from the MX set, serial)
    problems: list[str] = []
    stop = threading.Event()

    def client() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(2)
            while not stop.is_set():
                for rtype in ("MX", "SOA"):
                    q = dns.message.make_query("example.com", rtype)
                    sock.sendto(q.to_wire(), ("127.0.0.1", p.port))
                    try:
                        reply = dns.message.from_wire(sock.recv(65535))
                    except (TimeoutError, OSError) as exc:
                        problems.append(f"{rtype}: no answer ({exc})")
                        continue
                    if reply.id != q.id or reply.rcode() != dns.rcode.NOERROR or not reply.answer:
                        problems.append(f"{rtype}: bad answer {reply}")
                        continue
                    if rtype == "MX":
                        versions = {r.exchange.to_text().split("-")[1] for r in reply.answer[0]}
                        if len(versions) != 1 or len(reply.answer[0]) != 2:
                            problems.append(f"mixed or partial MX set: {reply.answer[0]}")
                            continue
                        seen.append((int(versions.pop()), seen[-1][1] if seen else 0))
                    elif seen:
                        seen[-1] = (seen[-1][0], reply.answer[0][0].serial)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        for version in range(2, 7):
            write_zone(zone, version)
            assert wait_for(lambda v=version: bool(seen) and seen[-1][0] == v), f"version {version} never served"
        # an invalid edit: the server keeps answering from version 6 and says why
        zone.write_text(ZONE.format(v=7).replace("priority: 10", "priority: ten"))
        p.wait_err(r"the new version has errors; still serving the previous version")
        time.sleep(0.5)
        assert seen[-1][0] == 6
    finally:
        stop.set()
        thread.join(10)
    assert problems == []
    versions = [v for v, _ in seen]
    assert versions == sorted(versions) and set(versions) == {1, 2, 3, 4, 5, 6}
    serials = [s for _, s in seen if s]
    assert serials == sorted(serials) and len(set(serials)) >= 6  # one new serial per version
    assert len(seen) > 100


# ---------------------------------------------------------------------------
# workers
# ---------------------------------------------------------------------------
def children_of(pid: int) -> set[int]:
    kids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.add(int(stat.parent.name))
    return kids


def test_workers_share_the_port_and_stop_together(tmp_path: Path, serve: list[Serve]) -> None:
    write_zone(tmp_path / "example.com.yaml", 1)
    p = start(serve, str(tmp_path), "--workers", "3", "--log-format", "json")
    kids = children_of(p.proc.pid)
    assert len(kids) == 2
    for i in range(60):  # each from a new socket: the kernel spreads them over the workers
        reply = ask(p.port, "example.com", "MX", tcp=i % 4 == 0)
        assert len(reply.answer[0]) == 2
    lines = p.out_lines(60)
    assert len(lines) == 60
    # the parent watches the file; the workers follow its reload, so every process serves version 2
    write_zone(tmp_path / "example.com.yaml", 2)
    p.wait_err(r"^zonetool: reloaded \(file change\)")
    followed = {p.wait_err(r"\[worker (\d)\] reloaded \(SIGHUP\)").group(1) for _ in range(2)}
    assert followed == {"1", "2"}
    for _ in range(30):
        assert ask(p.port, "version.example.com", "TXT").answer[0][0].strings == (b"v2",)
    assert p.stop() == 0
    assert wait_for(lambda: not any(Path(f"/proc/{k}").exists() for k in kids), 10)


def test_a_closed_log_reader_does_not_stop_the_answers(tmp_path: Path) -> None:
    """`zonetool serve | head -1`: once the pipe is gone the log stops, the server does not."""
    write_zone(tmp_path / "example.com.yaml", 1)
    proc = subprocess.Popen([*ZONETOOL, "serve", str(tmp_path), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None and proc.stdout is not None
        match = None
        for _ in range(10):  # a warnings line may come first
            match = re.search(r":(\d+) \(UDP", proc.stderr.readline())
            if match:
                break
        assert match, "the server never said where it listens"
        port = int(match.group(1))
        ask(port, "example.com", "MX")
        assert "example.com. MX NOERROR" in proc.stdout.readline()
        proc.stdout.close()  # the reader goes away
        for _ in range(5):
            assert len(ask(port, "example.com", "MX").answer[0]) == 2
            assert len(ask(port, "example.com", "MX", tcp=True).answer[0]) == 2
    finally:
        proc.terminate()
        proc.wait(15)
    assert proc.returncode == 0


def test_a_deleted_file_keeps_the_last_version_until_it_comes_back(tmp_path: Path, serve: list[Serve]) -> None:
    zone = tmp_path / "example.com.yaml"
    write_zone(zone, 1)
    p = start(serve, str(zone), "--quiet")
    zone.unlink()
    p.wait_err(r"reload \(file change\) failed: .*no such file.*still serving the previous version")
    time.sleep(1.0)  # five more looks at the files: the same failure is not retried or reported again
    write_zone(zone, 3)
    p.wait_err(r"reloaded \(file change\): example\.com\. serial")
    assert not any("failed" in line for line in p.err_lines[-1:])
    failures = [line for line in p.err_lines if "failed" in line]
    assert len(failures) == 1, failures
    assert _txt(ask(p.port, "version.example.com", "TXT")) == b"v3"
