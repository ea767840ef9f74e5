"""The UDP loop on real sockets: the batched loop (recvmmsg/sendmmsg) and the portable one give
every client exactly the reference answers, in order, to the right address, also when drops,
misses, delays and the query log sit between cache hits in one batch."""

from __future__ import annotations

import random
import socket
import sys
import threading
import time
from pathlib import Path

import dns.message
import pytest
from conftest import names_to_ask

from zonetool.faults import Fault, ZoneFaults
from zonetool.loader import load_file
from zonetool.server.mmsg import open_batch
from zonetool.server.responder import QueryInfo, Responder
from zonetool.server.udp import UDPServer

ZONES_DIR = Path(__file__).resolve().parents[1] / "zones"
LINUX = sys.platform.startswith("linux")


@pytest.fixture(scope="module")
def zones() -> list:
    loaded = [load_file(p)[0] for p in sorted(ZONES_DIR.glob("*.yaml"))]
    return [z for z in loaded if z is not None]


def schedule(delay: float, fn) -> None:  # type: ignore[no-untyped-def]
    threading.Timer(delay, fn).start()


def packets(rng: random.Random) -> list[bytes]:
    """Cache hits with misses and drops among them: garbage, a response (QR=1), new names, TC."""
    names = ["example.com", "mx1.example.com", "_submission._tcp.example.com", "example.net", "www.example.org"]
    out = []
    for i in range(150):
        kind = i % 7
        if kind == 3:
            out.append(rng.randbytes(rng.randint(0, 11)))  # too short for a header: dropped
        elif kind == 5:
            reply = dns.message.make_query("example.com", "MX")
            reply.flags |= dns.flags.QR  # a response sent to us: dropped, never answered
            out.append(reply.to_wire())
        elif kind == 6:
            out.append(dns.message.make_query(f"new{i}.example.com", "A").to_wire())  # a miss, NXDOMAIN
        else:
            qtype = rng.choice(["A", "MX", "SRV", "TXT", "ANY"])
            out.append(dns.message.make_query(rng.choice(names), qtype, use_edns=rng.choice([False, 0])).to_wire())
    return out


def family_params() -> list[tuple[int, str]]:
    params = [(socket.AF_INET, "127.0.0.1")]
    if socket.has_ipv6:
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
                s.bind(("::1", 0))
            params.append((socket.AF_INET6, "::1"))
        except OSError:
            pass
    return params


def serve_burst(
    responder: Responder, batched: bool, family: int, host: str, burst: list[bytes], log: list[QueryInfo] | None = None
) -> tuple[UDPServer, list[tuple[socket.socket, list[bytes]]]]:
    """Queue the whole burst from 5 clients before the loop starts, so it arrives in full batches."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    table, cached = responder.udp_fast_paths()
    querylog = None if log is None else (lambda info, _us: log.append(info))
    server = UDPServer(sock, responder.respond, querylog, schedule, cached, table, batched=batched)
    clients = [socket.socket(family, socket.SOCK_DGRAM) for _ in range(5)]
    sent: list[tuple[socket.socket, list[bytes]]] = [(c, []) for c in clients]
    for i, data in enumerate(burst):
        client, mine = sent[i % 5]
        client.sendto(data, sock.getsockname())
        mine.append(data)
    server.start()
    return server, sent


def receive_all(client: socket.socket, expected: int, linger: float = 0.1) -> list[bytes]:
    """The `expected` replies (each within 5 s), then whatever else comes within `linger`."""
    got = []
    while True:
        client.settimeout(5 if len(got) < expected else linger)
        try:
            got.append(client.recv(65535))
        except TimeoutError:
            return got


@pytest.mark.parametrize("family,host", family_params())
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "portable"])
def test_every_client_gets_the_reference_answers_in_order(zones: list, batched: bool, family: int, host: str) -> None:
    burst = packets(random.Random(7))
    fast, reference = Responder(zones), Responder(zones, cache_size=0)
    for data in burst[::2]:  # half the questions warm the exact-octets table: hits and misses mix
        fast.respond(data, (host, 1), "udp")
    server, sent = serve_burst(fast, batched, family, host, burst)
    try:
        if batched and LINUX:
            assert server.batch is not None, "recvmmsg is available on Linux: the batched loop must be the one used"
        for client, mine in sent:
            want = [m for data in mine for m in reference.respond(data, (host, 1), "udp").messages]
            assert len(want) < len(mine), "the burst should hold dropped questions"
            assert receive_all(client, len(want)) == want
    finally:
        server.stop()
        server.sock.close()
        for client, _ in sent:
            client.close()


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "portable"])
def test_delays_and_drops_from_faults_and_the_query_log(zones: list, batched: bool) -> None:
    fast = Responder(zones)
    fast.faults = ZoneFaults(lambda: fast.zones)
    fast.faults.runtime.add(Fault.make("mx1.example.com.", None, "timeout"))
    fast.faults.runtime.add(Fault.make("example.net.", None, "delay", delay_ms=300))
    burst = [
        dns.message.make_query(name, "A", id=i).to_wire()
        for i, name in enumerate(["example.com", "mx1.example.com", "example.net", "example.org"] * 5)
    ]
    log: list[QueryInfo] = []
    server, sent = serve_burst(fast, batched, socket.AF_INET, "127.0.0.1", burst, log)
    try:
        started = time.monotonic()
        for client, mine in sent:
            asked = {dns.message.from_wire(d).id: dns.message.from_wire(d).question[0].name.to_text() for d in mine}
            want = [n for n in asked.values() if n != "mx1.example.com."]
            got = [dns.message.from_wire(m) for m in receive_all(client, len(want), linger=0.2)]
            answered = [asked[m.id] for m in got]
            assert "mx1.example.com." not in answered  # timeout: never answered
            assert sorted(answered) == sorted(want)
            if "example.net." in want:
                assert answered[-1] == "example.net."  # the delayed one comes last...
        assert time.monotonic() - started >= 0.3  # ...and only after its delay
        # the log names every question with the port it really came from
        ports = {c.getsockname()[1] for c, _ in sent}
        assert len(log) == len(burst) and {info.client[1] for info in log} == ports
        assert {info.client[0] for info in log} == {"127.0.0.1"}
    finally:
        server.stop()
        server.sock.close()
        for client, _ in sent:
            client.close()


@pytest.mark.skipif(not LINUX, reason="recvmmsg/sendmmsg are Linux system calls")
def test_batch_reaims_reply_slots_and_puts_them_back() -> None:
    """Reply j may go to query i's address (a drop before it); the next batch starts straight again."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, socket.socket(
        socket.AF_INET, socket.SOCK_DGRAM
    ) as a, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
        sock.bind(("127.0.0.1", 0))
        batch = open_batch(sock, size=4)
        assert batch is not None
        a.sendto(b"from-a", sock.getsockname())
        b.sendto(b"from-b", sock.getsockname())
        time.sleep(0.05)
        assert batch.recv() == 2
        assert batch.peer(1) == ("127.0.0.1", b.getsockname()[1])
        batch.sbuf[0:5] = b"for-b"
        batch.slens[1] = 5
        batch.aim(0, 1)  # query 0 was dropped: reply slot 0 goes to query 1's sender
        assert batch.send_from(0, 1) == 1
        b.settimeout(1)
        assert b.recv(100) == b"for-b"
        batch.aim(0, 0)
        a.sendto(b"again", sock.getsockname())
        assert batch.recv() == 1
        batch.sbuf[0:5] = b"for-a"
        assert batch.send_from(0, 1) == 1
        a.settimeout(1)
        assert a.recv(100) == b"for-a"


def test_the_batched_loop_matches_the_reference_for_every_name_and_type(zones: list) -> None:
    """Issue 6's equivalence, through real sockets and the batched loop's own table look-up: every
    owner, ENT, random, wildcard and NXDOMAIN name of zones/ x 11 types x 5 UDP sizes (and
    none), random letter case, asked twice (the second answer comes from the exact-octets table)."""
    rng = random.Random(11)
    names = names_to_ask(zones)
    names.update({"example.invalid.", "."})
    queries = []
    for name in sorted(names):
        for qtype in ["A", "AAAA", "MX", "SRV", "TXT", "NS", "SOA", "CNAME", "ANY", "DS", "TYPE65534"]:
            for size in (None, 512, 700, 1232, 4096):
                text = "".join(c.upper() if rng.random() < 0.5 else c for c in name)
                query = dns.message.make_query(text, qtype, use_edns=size is not None and 0, payload=size or 512)
                query.id = len(queries) % 65536
                queries.append(query.to_wire())
    fast, reference = Responder(zones), Responder(zones, cache_size=0)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    table, cached = fast.udp_fast_paths()
    server = UDPServer(sock, fast.respond, None, schedule, cached, table)
    if LINUX:
        assert server.batch is not None
    server.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    client.settimeout(5)
    try:
        for _ in range(2):  # the first round fills the caches, the second reads the table
            for start in range(0, len(queries), 40):  # bursts: the server sees full batches
                burst = queries[start : start + 40]
                for data in burst:
                    client.sendto(data, sock.getsockname())
                got = {}
                for _ in burst:
                    reply = client.recv(65535)
                    got[reply[:2]] = reply
                for data in burst:
                    want = reference.respond(data, ("127.0.0.1", 1), "udp").messages
                    assert [got[data[:2]]] == want, dns.message.from_wire(data).question
        assert len(queries) > 3000 and len(fast._snap.exact) > 1000
    finally:
        server.stop()
        sock.close()
        client.close()
