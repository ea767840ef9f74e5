"""Hostile TCP clients (issue 16): unread replies, descriptor exhaustion, slow senders, connection
floods, oversized transfers, and an AXFR beside other clients. Real `zonetool serve` processes
(memory and CPU are read from /proc) or a real in-process server, with real sockets.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from test_server_cli import Serve

from zonetool.faults import Fault, FaultSet
from zonetool.rrtypes import TXT
from zonetool.server.tcp import TCPLimits
from zonetool.testing import DNSTestServer

BIG_TXT = 240  # 240 TXT records of 250 octets: a ~61 KB answer, as in the issue
BULK = 100_000  # records in the zone the transfer tests pull


def big_zone_yaml() -> str:
    strings = ", ".join(f'"{i:03d}{"x" * 247}"' for i in range(BIG_TXT))
    return ("origin: big.test\nttl: 1h\nsoa: {serial: 1}\nnameservers: [ns1]\nrecords:\n"
            f"  ns1: {{A: 192.0.2.53}}\n  txt: {{TXT: [{strings}]}}\n")


def bulk_zone_yaml(n: int = BULK) -> str:
    lines = ["origin: bulk.test", "ttl: 1h", "soa: {serial: 1}", "nameservers: [ns1]", "records:",
             "  ns1: {A: 192.0.2.53}"]
    lines += [f"  h{i}: {{A: 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}}}" for i in range(n - 3)]
    return "\n".join(lines) + "\n"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, clock ticks (USER_HZ = 100)


def frame(query: dns.message.Message | bytes) -> bytes:
    wire = query if isinstance(query, bytes) else query.to_wire()
    return struct.pack("!H", len(wire)) + wire


def connect(port: int, source: str = "127.0.0.1", rcvbuf: int | None = None) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:  # before connect, so the window stays small: the kernel holds little for us
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def send_unread(s: socket.socket, payload: bytes, seconds: float) -> int:
    """Send as much of `payload` as the server takes within `seconds`, reading nothing."""
    s.setblocking(False)
    sent, deadline = 0, time.monotonic() + seconds
    while sent < len(payload) and time.monotonic() < deadline:
        try:
            sent += s.send(payload[sent : sent + 65536])
        except BlockingIOError:
            time.sleep(0.01)
    s.settimeout(5)
    return sent


def closed_by_server(s: socket.socket, deadline: float) -> tuple[bool, int]:
    """Read until the server closes (EOF or reset) or `deadline`; (closed?, octets read)."""
    got = 0
    while time.monotonic() < deadline:
        s.settimeout(max(deadline - time.monotonic(), 0.05))
        try:
            chunk = s.recv(1 << 20)
        except (ConnectionResetError, BrokenPipeError):
            return True, got
        except TimeoutError:
            return False, got
        if not chunk:
            return True, got
        got += len(chunk)
    return False, got


def server_holds(port: int, clients: list[socket.socket]) -> int:
    """How many of `clients`' connections the server on `port` still holds open, from /proc/net/tcp.

    Once the server closes its socket, the kernel's side leaves ESTABLISHED (FIN_WAIT1: the unsent
    octets wait for a window that never opens).

    Looked at without reading: a read opens the client's window, the server's writes resume, and
    the drain timeout being tested would never fire.
    """
    wanted = {c.getsockname()[1] for c in clients}
    held = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, state = line.split()[1:4]
        if state == "01" and int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) in wanted:
            held += 1
    return held


def tcp_ask(s: socket.socket, name: str, rtype: str = "A") -> dns.message.Message:
    query = dns.message.make_query(name, rtype)
    s.sendall(frame(query))
    (length,) = struct.unpack("!H", recv_exact(s, 2))
    reply = dns.message.from_wire(recv_exact(s, length))
    assert reply.id == query.id
    return reply


def recv_exact(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


@pytest.fixture(scope="module")
def zones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    (root / "big.test.yaml").write_text(big_zone_yaml())
    (root / "bulk.test.yaml").write_text(bulk_zone_yaml())
    return root


@pytest.fixture(scope="module")
def bulk_server(zones: Path) -> Iterator[Serve]:
    """One `zonetool serve` for the transfer tests: the 100k zone and the big TXT, AXFR allowed."""
    p = Serve(str(zones), "-q", "--allow-transfer", "127.0.0.1", "--tcp-drain-timeout", "3",
              "--no-cache")  # the snapshot written in the background after start would count in the RSS
    try:
        yield p.started()
    finally:
        p.stop()


# -- 1. unread replies ---------------------------------------------------------------------------
@pytest.fixture
def served_big(zones: Path) -> Iterator[Serve]:
    p = Serve(str(zones / "big.test.yaml"), "-q", "--tcp-drain-timeout", "3")
    try:
        yield p.started()
    finally:
        p.stop()


def test_unread_replies_keep_memory_bounded_and_the_client_is_closed(served_big: Serve) -> None:
    """Issue 16 item 1: 2 clients pipeline 5,000 queries for a 61 KB answer each and never read.

    Before: +212 MiB per connection. Bound now: per connection --tcp-max-queued (256 KiB) + one
    reply (64 KiB) + one read of queries (256 KiB), so 2 x ~0.6 MiB, plus 8 MiB for the
    allocator and the packing of the answers; the connections go after --tcp-drain-timeout.
    """
    p = served_big
    pid = p.proc.pid
    warm = dns.query.tcp(dns.message.make_query("txt.big.test", "TXT"), "127.0.0.1", port=p.port, timeout=5)
    assert len(warm.answer[0]) == BIG_TXT and len(warm.to_wire()) > 60_000
    time.sleep(0.3)
    before = rss_kib(pid)
    payload = b"".join(frame(dns.message.make_query("txt.big.test", "TXT")) for _ in range(5000))
    socks = [connect(p.port, rcvbuf=4096) for _ in range(2)]
    started = time.monotonic()
    for s in socks:
        send_unread(s, payload, 1.0)
    peak = before
    while time.monotonic() < started + 2.5:
        peak = max(peak, rss_kib(pid))
        time.sleep(0.1)
    growth_mib = (peak - before) / 1024
    print(f"RSS growth for 2 clients with 5,000 unread 61 KB answers each: {growth_mib:.1f} MiB")
    assert growth_mib < 10, f"server RSS grew by {growth_mib:.1f} MiB for 2 unread connections"
    time.sleep(max(started + 3 + 2 - time.monotonic(), 0))  # past the drain timeout, reading nothing
    for s in socks:
        closed, got = closed_by_server(s, time.monotonic() + 5)
        assert closed, "the client that reads nothing was not closed after --tcp-drain-timeout"
        assert got < 2 * 1024 * 1024, got  # it got what the buffers held, not 5,000 answers
        s.close()
    # still serving, and the trouble said in a line or two, no traceback
    again = dns.query.tcp(dns.message.make_query("txt.big.test", "TXT"), "127.0.0.1", port=p.port, timeout=5)
    assert len(again.answer[0]) == BIG_TXT
    p.stop()
    err = p.err_lines + [p.err.get() for _ in range(p.err.qsize())]
    assert any("tcp-drain-timeout" in line for line in err), err
    assert not any("Traceback" in line for line in err) and len(err) < 10, err


def test_an_unread_axfr_of_a_big_zone_keeps_memory_bounded(bulk_server: Serve) -> None:
    """Issue 16 item 1: an unread AXFR of a 100k-record zone cost +255 MiB; now one message at a time.
    One transfer (2.3 MB) fits in the kernel's buffers, so each client asks for 20 in a row."""
    pid, port = bulk_server.proc.pid, bulk_server.port
    time.sleep(0.3)
    before = rss_kib(pid)
    socks = [connect(port, rcvbuf=4096) for _ in range(2)]
    started = time.monotonic()
    for s in socks:
        s.sendall(b"".join(frame(dns.message.make_query("bulk.test", "AXFR")) for _ in range(20)))
    peak = before
    while time.monotonic() < started + 2.5:
        peak = max(peak, rss_kib(pid))
        time.sleep(0.1)
    growth_mib = (peak - before) / 1024
    print(f"RSS growth for 2 clients with 20 unread transfers each: {growth_mib:.1f} MiB")
    assert growth_mib < 10, f"server RSS grew by {growth_mib:.1f} MiB for 2 unread transfers"
    # The server closes each after --tcp-drain-timeout (3 s) of no reading; on a loaded machine the
    # kernel's buffers fill (and the timer starts) late, so wait for the close itself, reading nothing.
    deadline = started + 30
    while server_holds(port, socks) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not server_holds(port, socks), "the server kept connections whose client read nothing"
    for s in socks:
        closed, got = closed_by_server(s, time.monotonic() + 5)
        assert closed and got < 8 * 1024 * 1024, (closed, got)  # what the kernel buffers held, not 46 MB
        s.close()


# -- 11. an AXFR beside other TCP clients -----------------------------------------------------------
def pull_axfr(port: int) -> int:
    """One AXFR of bulk.test, read whole; a query sent behind it marks its end (replies keep order)."""
    with connect(port) as s:
        s.settimeout(30)
        marker = dns.message.make_query("ns1.bulk.test", "A")
        s.sendall(frame(dns.message.make_query("bulk.test", "AXFR")) + frame(marker))
        messages = 0
        while True:
            (length,) = struct.unpack("!H", recv_exact(s, 2))
            body = recv_exact(s, length)
            assert length < 65536
            if body[:2] == marker.id.to_bytes(2, "big"):
                return messages
            messages += 1


def test_a_transfer_does_not_starve_other_tcp_clients(bulk_server: Serve) -> None:
    """Issue 16 item 11: queries on another connection waited up to 421 ms during an AXFR.

    Goal: p50 under 50 ms while 100k-record AXFRs run back to back; the assertion leaves room
    for a loaded machine (max under 250 ms). The latencies are printed (pytest -s).
    """
    port = bulk_server.port
    assert pull_axfr(port) > 50  # warm, and a 100k zone takes many messages
    stop = threading.Event()
    pulled: list[int] = []

    def puller() -> None:
        while not stop.is_set() and len(pulled) < 6:
            pulled.append(pull_axfr(port))

    udp: list[float] = []

    def measure(seconds: float, until: threading.Thread | None = None) -> list[float]:
        out: list[float] = []
        with connect(port) as s:
            end = time.monotonic() + seconds
            while time.monotonic() < end and (until is None or until.is_alive()):
                t = time.perf_counter()
                assert tcp_ask(s, "ns1.bulk.test").rcode() == dns.rcode.NOERROR
                out.append((time.perf_counter() - t) * 1000)
                if until is not None:
                    t = time.perf_counter()
                    dns.query.udp(dns.message.make_query("ns1.bulk.test", "A"), "127.0.0.1", port=port, timeout=5)
                    udp.append((time.perf_counter() - t) * 1000)
                time.sleep(0.005)
        return out

    quiet = measure(1.0)
    thread = threading.Thread(target=puller, daemon=True)
    thread.start()
    time.sleep(0.05)
    busy = measure(20.0, thread)
    stop.set()
    thread.join(60)
    assert len(pulled) >= 1 and len(busy) > 20, (pulled, len(busy))
    p50, worst = statistics.median(busy), max(busy)
    print(f"TCP query latency: quiet p50 {statistics.median(quiet):.2f} ms; during AXFR p50 {p50:.2f} ms, "
          f"max {worst:.1f} ms over {len(busy)} queries, {len(pulled)} transfers; "
          f"UDP p50 {statistics.median(udp):.2f} ms, max {max(udp):.1f} ms")
    assert p50 < 50 and worst < 250, (p50, worst)
    assert statistics.median(udp) < 50


# -- 2. descriptor exhaustion -------------------------------------------------------------------------
def _fd_limit(n: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))


@pytest.mark.parametrize("when", ["at-start", "while-running"])
def test_out_of_descriptors_the_server_keeps_answering_without_spinning(zones: Path, when: str) -> None:
    """Issue 16 item 2: with the descriptors used up, accept failed in a loop (298,678 log lines a
    minute, a core at 100%). Now: at start the connection limit fits the descriptors; lowered while
    running, accept pauses and the oldest idle connection makes room. UDP, a new TCP client: answered."""
    cmd_args = (str(zones / "big.test.yaml"), "-q")
    p = Serve(*cmd_args, preexec=None if when == "while-running" else lambda: _fd_limit(64))
    held: list[socket.socket] = []
    try:
        p.started()
        if when == "while-running":
            resource.prlimit(p.proc.pid, resource.RLIMIT_NOFILE, (64, 64))
        for _ in range(120):  # far more than 64 descriptors allow
            with contextlib.suppress(OSError):
                held.append(connect(p.port))
        time.sleep(0.5)
        cpu = cpu_seconds(p.proc.pid)
        time.sleep(3)
        spent = cpu_seconds(p.proc.pid) - cpu
        assert spent < 0.6, f"the server used {spent:.2f} s of CPU in 3 s while out of descriptors"
        udp = dns.query.udp(dns.message.make_query("ns1.big.test", "A"), "127.0.0.1", port=p.port, timeout=5)
        assert udp.rcode() == dns.rcode.NOERROR and udp.answer
        with connect(p.port) as fresh:
            fresh.settimeout(10)
            assert tcp_ask(fresh, "ns1.big.test").answer  # a NEW TCP client is answered
        assert closed_by_server(held[0], time.monotonic() + 3)[0]  # the one idle longest made room
    finally:
        for s in held:
            s.close()
        p.stop()
    err = p.err_lines + [p.err.get() for _ in range(p.err.qsize())]
    # a handful of lines, not one per failed accept (a stop also says each kind's held-back count, once)
    assert not any("Traceback" in line for line in err) and len(err) < 12, err
    wanted = "at most" if when == "at-start" else "tcp-accept-failed"
    assert any(wanted in line for line in err), err


def test_serve_raises_its_soft_descriptor_limit_to_the_hard_one(zones: Path) -> None:
    """A soft limit of 64 would allow ~20 connections; the hard limit (2048) is what serve uses."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.fail(f"this test needs a hard RLIMIT_NOFILE of 2048 or more, not {hard}")
    p = Serve(str(zones / "big.test.yaml"), "-q",
              preexec=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 2048)))
    held: list[socket.socket] = []
    try:
        p.started()
        assert resource.prlimit(p.proc.pid, resource.RLIMIT_NOFILE) == (2048, 2048)
        held = [connect(p.port) for _ in range(60)]  # under --tcp-max-per-client (64), over what 64 fds allow
        for s in held[:3]:  # the oldest are still there: nothing had to make room
            assert tcp_ask(s, "ns1.big.test").answer
    finally:
        for s in held:
            s.close()
        p.stop()
    assert not any("at most" in line for line in p.err_lines), p.err_lines


# -- 3. slow clients ----------------------------------------------------------------------------------
def test_a_message_sent_one_octet_a_second_is_cut_off_at_the_read_deadline() -> None:
    """Issue 16 item 3: each octet reset the idle timer, so a trickle was never closed.
    Default limits: the message must be whole 5 s after its first octet (idle is 10 s)."""
    with DNSTestServer() as server:
        s = connect(server.port)
        s.sendall(b"\xff\xff")  # a length prefix promising 65,535 octets
        started = time.monotonic()
        closed_at = None
        while time.monotonic() < started + 12:
            try:
                s.sendall(b"x")
            except OSError:
                closed_at = time.monotonic()
                break
            s.settimeout(0.5)
            with contextlib.suppress(TimeoutError):
                if s.recv(1) == b"":
                    closed_at = time.monotonic()
                    break
        s.close()
        assert closed_at is not None, "still open after 12 s of one octet every half second"
        assert closed_at - started < 8, closed_at - started  # the read deadline, not the idle timeout
        assert server.trouble.count("tcp-read-timeout") == 1


# -- connection limits ----------------------------------------------------------------------------------
def test_per_client_limit_closes_that_clients_oldest_idle_connection_first() -> None:
    limits = TCPLimits(max_connections=100, max_per_client=4)
    with DNSTestServer(tcp_limits=limits) as server:
        server.load({"origin": "limit.test", "soa": {"serial": 1}, "nameservers": ["ns1"],
                     "records": {"ns1": {"A": "192.0.2.53"}}})
        mine = []
        for _ in range(4):
            s = connect(server.port)
            tcp_ask(s, "ns1.limit.test")
            mine.append(s)
            time.sleep(0.05)  # an order of age
        other = connect(server.port, source="127.0.0.2")
        fifth = connect(server.port)
        assert tcp_ask(fifth, "ns1.limit.test").answer
        assert closed_by_server(mine[0], time.monotonic() + 3)[0]  # the oldest idle of that client
        for s in mine[1:]:
            assert tcp_ask(s, "ns1.limit.test").answer  # the others stay
        assert tcp_ask(other, "ns1.limit.test").answer  # another address is not counted with it
        assert server.trouble.count("tcp-client-limit") == 1
        for s in (*mine, other, fifth):
            s.close()


def test_a_client_whose_connections_are_all_busy_is_refused_a_new_one() -> None:
    slow = Fault.make("ns1.limit.test.", "A", "delay", delay_ms=4000)
    limits = TCPLimits(max_connections=100, max_per_client=3)
    with DNSTestServer(tcp_limits=limits, faults=FaultSet([slow])) as server:
        server.load({"origin": "limit.test", "soa": {"serial": 1}, "nameservers": ["ns1"],
                     "records": {"ns1": {"A": "192.0.2.53"}}})
        busy = [connect(server.port) for _ in range(3)]
        for s in busy:
            s.sendall(frame(dns.message.make_query("ns1.limit.test", "A")))  # answered in 4 s: busy till then
        time.sleep(0.3)
        refused = connect(server.port)
        assert closed_by_server(refused, time.monotonic() + 2)[0]
        assert server.trouble.count("tcp-client-limit") == 1
        for s in busy:  # each still gets its late answer
            s.settimeout(10)
            (length,) = struct.unpack("!H", recv_exact(s, 2))
            assert dns.message.from_wire(recv_exact(s, length)).answer
            s.close()
        refused.close()


def test_total_limit_closes_the_oldest_idle_connection_of_any_client() -> None:
    with DNSTestServer(tcp_limits=TCPLimits(max_connections=6, max_per_client=6)) as server:
        server.load({"origin": "limit.test", "soa": {"serial": 1}, "nameservers": ["ns1"],
                     "records": {"ns1": {"A": "192.0.2.53"}}})
        held = []
        for i in range(6):
            s = connect(server.port, source=f"127.0.0.{2 + i % 3}")
            tcp_ask(s, "ns1.limit.test")
            held.append(s)
            time.sleep(0.05)
        tcp_ask(held[0], "ns1.limit.test")  # the first is used again: now held[1] is idle longest
        time.sleep(0.05)
        newcomer = connect(server.port, source="127.0.0.9")
        assert tcp_ask(newcomer, "ns1.limit.test").answer
        assert closed_by_server(held[1], time.monotonic() + 3)[0]
        for s in (held[0], *held[2:]):
            assert tcp_ask(s, "ns1.limit.test").answer
        assert server.trouble.count("tcp-limit") == 1
        for s in (*held, newcomer):
            s.close()


# -- 9. records too big for a transfer message --------------------------------------------------------------
def _txt_of(octets: int) -> TXT:
    return TXT(tuple(b"t" * min(255, octets - i) for i in range(0, octets, 255)))


def test_axfr_with_a_65000_octet_txt_completes_in_messages_under_64k() -> None:
    with DNSTestServer() as server:
        server.load({"origin": "huge.test", "soa": {"serial": 1}, "nameservers": ["ns1"],
                     "records": {"ns1": {"A": "192.0.2.53"}, **{f"h{i}": {"A": "192.0.2.1"} for i in range(500)}}})
        server.set("long.huge.test.", "TXT", _txt_of(65_000))
        with connect(server.port) as s:
            s.settimeout(10)
            s.sendall(frame(dns.message.make_query("huge.test", "AXFR")))
            records, soas, sizes = 0, 0, []
            while soas < 2:
                (length,) = struct.unpack("!H", recv_exact(s, 2))
                sizes.append(length)
                m = dns.message.from_wire(recv_exact(s, length), xfr=True, one_rr_per_rrset=True)
                assert m.rcode() == dns.rcode.NOERROR
                records += len(m.answer)
                soas += sum(1 for r in m.answer if r.rdtype == dns.rdatatype.SOA)
            assert max(sizes) > 65_000 and all(n < 65536 for n in sizes)
            assert records == 500 + 1 + 1 + 1 + 2  # the hosts, ns1, NS, the TXT, the SOA first and last
            assert tcp_ask(s, "ns1.huge.test").answer  # the connection is still good


@pytest.mark.parametrize("octets", [65_279, 70_000])
def test_a_record_no_message_can_carry_ends_the_transfer_with_servfail(octets: int) -> None:
    """65,279 TXT octets (RDATA 65,535) fit no message with a header; 70,000 do not fit RDLENGTH.
    Before: an uncaught exception dropped the connection, or SERVFAIL from an internal OverflowError."""
    with DNSTestServer() as server:
        server.load({"origin": "huge.test", "soa": {"serial": 1}, "nameservers": ["ns1"],
                     "records": {"ns1": {"A": "192.0.2.53"}}})
        server.set("long.huge.test.", "TXT", _txt_of(octets))
        with connect(server.port) as s:
            s.settimeout(10)
            s.sendall(frame(dns.message.make_query("huge.test", "AXFR")))
            rcodes = []
            while not rcodes or rcodes[-1] == dns.rcode.NOERROR:
                (length,) = struct.unpack("!H", recv_exact(s, 2))
                assert length < 65536
                rcodes.append(dns.message.from_wire(recv_exact(s, length), xfr=True).rcode())
            assert rcodes[-1] == dns.rcode.SERVFAIL  # RFC 5936 2.2: the error ends the transfer
            assert tcp_ask(s, "ns1.huge.test").answer  # and the connection goes on
        assert server.trouble.count("transfer-failed") == 1


def test_a_client_that_half_closes_gets_its_whole_transfer_and_answers_then_eof() -> None:
    """A lazy transfer and the query behind it: all of it, in order, then EOF (RFC 7766 6.2.4)."""
    with DNSTestServer() as server:
        server.load({"origin": "half.test", "soa": {"serial": 1}, "nameservers": ["ns1"],
                     "records": {"ns1": {"A": "192.0.2.53"}, **{f"h{i}": {"A": "192.0.2.1"} for i in range(3000)}}})
        with connect(server.port) as s:
            s.settimeout(10)
            last = dns.message.make_query("ns1.half.test", "A")
            s.sendall(frame(dns.message.make_query("half.test", "AXFR")) + frame(last))
            s.shutdown(socket.SHUT_WR)
            records, ids = 0, []
            while True:
                head = s.recv(2, socket.MSG_WAITALL)
                if not head:
                    break  # the server closed after the last reply
                body = recv_exact(s, struct.unpack("!H", head)[0])
                m = dns.message.from_wire(body, xfr=body[:2] != last.id.to_bytes(2, "big"))
                ids.append(m.id)
                records += sum(len(r) for r in m.answer) if m.id != last.id else 0
            assert records == 3000 + 1 + 1 + 2 and ids[-1] == last.id and len(ids) > 3


def test_a_half_closed_client_still_gets_its_delayed_answer() -> None:
    slow = Fault.make("ns1.late.test.", "A", "delay", delay_ms=800)
    with DNSTestServer(faults=FaultSet([slow])) as server:
        server.load({"origin": "late.test", "soa": {"serial": 1}, "nameservers": ["ns1"],
                     "records": {"ns1": {"A": "192.0.2.53"}}})
        with connect(server.port) as s:
            s.settimeout(10)
            s.sendall(frame(dns.message.make_query("ns1.late.test", "A")))
            time.sleep(0.2)
            s.shutdown(socket.SHUT_WR)  # EOF while the answer waits on its timer
            (length,) = struct.unpack("!H", recv_exact(s, 2))
            assert dns.message.from_wire(recv_exact(s, length)).answer
            assert s.recv(1) == b""  # and then the server closes


def test_refused_transfers_are_counted_as_one_kind_of_trouble() -> None:
    lines: list[str] = []
    with DNSTestServer(allow_transfer=()) as server:
        server.trouble.emit = lines.append
        server.load({"origin": "closed.test", "soa": {"serial": 1}, "nameservers": ["ns1"],
                     "records": {"ns1": {"A": "192.0.2.53"}}})
        with connect(server.port) as s:
            for _ in range(50):
                s.sendall(frame(dns.message.make_query("closed.test", "AXFR")))
                (length,) = struct.unpack("!H", recv_exact(s, 2))
                assert dns.message.from_wire(recv_exact(s, length)).rcode() == dns.rcode.REFUSED
        assert server.trouble.count("transfer-refused") == 50
    assert len([line for line in lines if line.startswith("transfer-refused")]) <= 2, lines  # not 50 lines
    assert "AXFR closed.test. for 127.0.0.1" in lines[0]


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--tcp-max-queued", "1000", "--tcp-max-queued must be at least 65536"),
    ("--tcp-max-per-client", "0", "--tcp-max-per-client must be more than 0"),
    ("--tcp-read-timeout", "-1", "--tcp-read-timeout must be more than 0"),
])
def test_bad_limit_flags_are_usage_errors(zones: Path, flag: str, value: str, message: str) -> None:
    out = subprocess.run([sys.executable, "-c", "from zonetool.cli import main; main()", "serve",
                          str(zones / "big.test.yaml"), "--port", "0", flag, value],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr, out.stderr
