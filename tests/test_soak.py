"""Soak (issue 16): queries in a loop while the zone file is rewritten many times, valid and broken in turn.

Every answer must come from one of the valid versions written so far (a broken version is never
served, and never half of one), the last valid version must be served at the end, and the
server's memory must stay within a bound. Bounded in count and time: about half a minute.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
from test_server_cli import ZONE
from test_server_hostile import Proc

from zonetool.atomic import write_atomic

VERSIONS = int(os.environ.get("ZONETOOL_SOAK_VERSIONS", "24"))  # files written, half of them broken
SECONDS = float(os.environ.get("ZONETOOL_SOAK_SECONDS", "50"))
RSS_GROWTH = 40 << 20  # octets the server may grow by over the run

# Each broken version cannot be built at all (so the previous version stays, whatever the policy
# on rule findings): a YAML syntax error, a list instead of a zone, a zone without an origin.
BROKEN = [
    lambda v: ZONE.format(v=v).replace("records:\n", "records:\n  broken: {A: 192.0.2.1\n"),
    lambda v: "- this\n- is a list\n",
    lambda v: ZONE.format(v=v).replace("origin: example.com\n", ""),
]


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_rewritten_many_times_every_answer_is_a_valid_version(tmp_path: Path, procs: list[Proc]) -> None:
    zone = tmp_path / "example.com.yaml"
    write_atomic(zone, ZONE.format(v=1))
    valid = {1}  # versions written whole and valid, so far
    p = Proc(tmp_path, str(zone), "--quiet", "--settle", "0.2")
    procs.append(p)
    stop = threading.Event()
    wrong: list[str] = []
    seen: dict[int, int] = {}
    asked = [0]

    def check(msg: dns.message.Message, how: str) -> None:
        asked[0] += 1
        if msg.rcode() != dns.rcode.NOERROR or len(msg.answer) != 1:
            wrong.append(f"{how}: {dns.rcode.to_text(msg.rcode())} {msg.answer}")
            return
        (text,) = msg.answer[0][0].strings
        version = int(text.decode()[1:])
        if version not in valid:
            wrong.append(f"{how}: version {version} was never a valid file (valid: {sorted(valid)})")
        seen[version] = seen.get(version, 0) + 1

    def client() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(3)
            i = 0
            while not stop.is_set():
                i += 1
                query = dns.message.make_query("version.example.com", "TXT")
                try:
                    if i % 10 == 0:
                        check(dns.query.tcp(query, "127.0.0.1", port=p.port, timeout=3), "tcp")
                        continue
                    sock.sendto(query.to_wire(), ("127.0.0.1", p.port))
                    data = sock.recv(65535)
                    while data[:2] != struct.pack("!H", query.id):  # a late answer to an earlier timeout
                        data = sock.recv(65535)
                    check(dns.message.from_wire(data), "udp")
                except (OSError, dns.exception.DNSException) as exc:
                    wrong.append(f"no answer: {exc!r}")

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    deadline = time.monotonic() + SECONDS
    try:
        time.sleep(0.5)
        baseline = peak = rss(p.proc.pid)
        version = 1
        for n in range(VERSIONS):
            assert time.monotonic() < deadline, f"the soak ran out of time after {n} versions"
            version += 1
            if n % 2:
                write_atomic(zone, BROKEN[n // 2 % len(BROKEN)](version))
            else:
                valid.add(version)  # before the write: a reload may serve it at once
                write_atomic(zone, ZONE.format(v=version))
            time.sleep(0.8)  # settle (0.2 s) plus a few looks at the file (0.2 s apart), with room for a loaded machine
            peak = max(peak, rss(p.proc.pid))
        last = max(valid)
        while time.monotonic() < deadline and max(seen) != last:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(10)
    print(f"soak: {asked[0]} answers, versions seen {sorted(seen)}, RSS {baseline >> 20} -> {peak >> 20} MiB")
    assert wrong == [], wrong[:10]
    assert max(seen) == last, f"the last valid version ({last}) was never served; seen {sorted(seen)}"
    assert len(seen) >= VERSIONS // 4, sorted(seen)  # reloads really happened along the way
    assert asked[0] > 500
    assert peak - baseline < RSS_GROWTH, (baseline, peak)
    err = p.stderr()
    assert err.count("still serving the previous version") >= VERSIONS // 4, err[-2000:]
    assert p.stop() == 0
    assert "Traceback" not in p.stderr()
