"""`zonetool serve` against hostile clients (issue 16): a log reader that never reads, floods, bad packets.

Real processes and real sockets; the client side sends queries pipelined (a window at a time) so
thousands fit in a few seconds on a loaded machine.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import dns.message
import dns.rcode
from test_server_cli import ZONETOOL, write_zone

from zonetool.names import Name
from zonetool.wire import make_query


class Proc:
    """A `zonetool serve` whose stderr goes to a file (read when wanted) and stdout where the test says."""

    def __init__(self, tmp: Path, *args: str, stdout: int | object = subprocess.DEVNULL) -> None:
        self.err_path = tmp / f"stderr-{time.monotonic_ns()}.txt"
        self._err = self.err_path.open("w")
        self.proc = subprocess.Popen(
            [*ZONETOOL, "serve", *args, "--port", "0"], stdout=stdout, stderr=self._err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.port = int(self.wait_err(r"serving .* on \S+:(\d+) \(UDP and TCP").group(1))

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait_err(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.stderr(), re.M)
            if match:
                return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no stderr line matching {pattern!r}; stderr: {self.stderr()[-3000:]}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._err.close()
        return self.proc.returncode


def queries(count: int, name: str = "example.com.", qtype: int = 15, first_id: int = 0) -> list[bytes]:
    return [make_query(Name.from_text(name), qtype, (first_id + i) & 0xFFFF) for i in range(count)]


def udp_burst(
    port: int, messages: list[bytes], host: str = "127.0.0.1", window: int = 50, timeout: float = 2.0
) -> list[bytes | None]:
    """Send `messages` a window at a time; the reply to each by its ID (None: no reply within `timeout`).

    The IDs in one window must differ; a reply is matched to the message with its ID in that window.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    out: list[bytes | None] = []
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        for start in range(0, len(messages), window):
            chunk = messages[start : start + window]
            want = {m[:2]: i for i, m in enumerate(chunk)}
            got: list[bytes | None] = [None] * len(chunk)
            for m in chunk:
                sock.sendto(m, (host, port))
            deadline = time.monotonic() + timeout
            missing = len(chunk)
            while missing and time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    data = sock.recv(65535)
                except TimeoutError:
                    break
                i = want.get(data[:2])
                if i is not None and got[i] is None:
                    got[i] = data
                    missing -= 1
            out.extend(got)
    return out


def tcp_burst(port: int, messages: list[bytes], host: str = "127.0.0.1", timeout: float = 10.0) -> list[bytes]:
    """Every message down one TCP connection at once (RFC 7766 6.2.1.1 pipelining); the replies in order."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(b"".join(struct.pack("!H", len(m)) + m for m in messages))
        reader = sock.makefile("rb")
        replies = []
        for _ in messages:
            size = reader.read(2)
            if len(size) < 2:
                break
            replies.append(reader.read(struct.unpack("!H", size)[0]))
        del family
        return replies


def is_mx_answer(reply: bytes | None) -> bool:
    if reply is None:
        return False
    msg = dns.message.from_wire(reply)
    return msg.rcode() == dns.rcode.NOERROR and len(msg.answer) == 1 and len(msg.answer[0]) == 2


# ---------------------------------------------------------------------------
# the query log
# ---------------------------------------------------------------------------
def test_a_log_reader_that_never_reads_does_not_stop_the_answers(tmp_path: Path, procs: list[Proc]) -> None:
    """Issue 16 item 10: stdout a pipe nobody reads stopped UDP and TCP after ~1,120 queries (64 KiB)."""
    write_zone(tmp_path / "example.com.yaml", 1)
    p = Proc(tmp_path, str(tmp_path), stdout=subprocess.PIPE)
    procs.append(p)
    assert p.proc.stdout is not None
    udp, tcp = 9000, 1500
    answered = 0
    for round_ in range(3):  # UDP and TCP interleaved, so neither path is asked only before the pipe fills
        answers = udp_burst(p.port, queries(udp // 3, first_id=round_ * 3000))
        answered += sum(map(is_mx_answer, answers))
        replies = tcp_burst(p.port, queries(tcp // 3, first_id=40000 + round_ * 500))
        answered += sum(map(is_mx_answer, replies))
    assert answered == udp + tcp  # every question answered although the log could not be written
    notice = p.wait_err(r"query-log: dropped (\d+) log lines so far")
    assert int(notice.group(1)) >= 1
    # now the reader reads: the lines that were queued come out whole, then the rest of the log goes on
    lines = []
    deadline = time.monotonic() + 30
    while len(lines) < 8192 and time.monotonic() < deadline:
        lines.append(p.proc.stdout.readline().decode())
    assert all(re.fullmatch(r"\S+Z 127\.0\.0\.1:\d+ (udp|tcp) example\.com\. MX NOERROR answers=2 \d+us\n", line)
               for line in lines), lines[:3]
    assert p.stop() == 0
    rest = p.proc.stdout.read().decode().splitlines()
    assert len(lines) + len(rest) < udp + tcp  # some were dropped, as the notice said
    assert "Traceback" not in p.stderr()


def test_every_question_is_logged_when_the_reader_keeps_up(tmp_path: Path, procs: list[Proc]) -> None:
    """The writer thread loses nothing: N questions, then a stop, give exactly N lines."""
    write_zone(tmp_path / "example.com.yaml", 1)
    out = (tmp_path / "log.txt").open("w")
    p = Proc(tmp_path, str(tmp_path), stdout=out)
    procs.append(p)
    answers = udp_burst(p.port, queries(3000))
    replies = tcp_burst(p.port, queries(500, first_id=10000))
    assert sum(map(is_mx_answer, answers + replies)) == 3500  # type: ignore[arg-type]
    assert p.stop() == 0
    out.close()
    lines = (tmp_path / "log.txt").read_text().splitlines()
    assert len(lines) == 3500
    assert sum(" tcp " in line for line in lines) == 500
    assert "dropped" not in p.stderr()


def test_malformed_packets_are_one_line_per_interval(tmp_path: Path, procs: list[Proc]) -> None:
    write_zone(tmp_path / "example.com.yaml", 1)
    p = Proc(tmp_path, str(tmp_path), "--quiet")
    procs.append(p)
    good = queries(1)[0]
    bad = [good[:2] + b"\x00\x00\x00\x01" + good[6:12] + b"\x03www\xc0\x0c\x00\x01\x00\x01"] * 2000
    replies = udp_burst(p.port, [struct.pack("!H", i) + m[2:] for i, m in enumerate(bad)])
    assert all(r is not None and dns.message.from_wire(r).rcode() == dns.rcode.FORMERR for r in replies)
    assert is_mx_answer(udp_burst(p.port, [good])[0])
    p.wait_err(r"malformed-packet: 127\.0\.0\.1:\d+ udp: compressed or extended label in the question")
    assert p.stderr().count("malformed-packet") == 1  # the interval (5 s) has not passed: one line only
    # one interval later the held-back count is said, in one more line
    p.wait_err(r"malformed-packet: 1999 more in the last 5s \(last: 127\.0\.0\.1:\d+ udp: compressed", 15)
    udp_burst(p.port, [struct.pack("!H", i) + m[2:] for i, m in enumerate(bad[:10])])
    assert p.stderr().count("malformed-packet") == 2  # held back until the next interval...
    assert p.stop() == 0
    assert re.search(r"malformed-packet: 10 more in the last 5s", p.stderr())  # ...or the stop
    assert p.stderr().count("malformed-packet") == 3
    assert "Traceback" not in p.stderr()
