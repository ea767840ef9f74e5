"""Fuzz `zonetool serve` with malformed packets of every kind (issue 16), over IPv4 and IPv6.

A seeded generator makes lying counts, pointer loops, bad OPT records, every opcode, odd classes
and types, truncated headers, 65 KB datagrams, random octets and mutated valid queries. Every
answer must pass dnspython's strict parser and carry the packet's ID (silence is allowed); a
valid question asked after every few packets must be answered correctly; the server's stderr
must hold no traceback and no internal error. CI sends 20,000 packets; a longer run is

    ZONETOOL_FUZZ_PACKETS=1000000 ZONETOOL_FUZZ_SECONDS=3600 pytest tests/test_fuzz_packets.py

(ZONETOOL_FUZZ_SEED picks another sequence; a failure names the seed and the packet's octets.)
"""

from __future__ import annotations

import os
import random
import socket
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.exception
import dns.message
import dns.rcode
import pytest
from test_server_hostile import Proc

from zonetool.names import Name
from zonetool.wire import make_query

PACKETS = int(os.environ.get("ZONETOOL_FUZZ_PACKETS", "20000"))
SECONDS = float(os.environ.get("ZONETOOL_FUZZ_SECONDS", "240"))  # the whole run's bound
SEED = int(os.environ.get("ZONETOOL_FUZZ_SEED", "16"))
CHECK_EVERY = 25  # a valid question after this many fuzz packets
WINDOW = 4  # checks (and their fuzz packets) in flight at once

ZONE = """\
origin: fuzz.test
ttl: 5m
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {{host: mx1, priority: 10, addresses: [192.0.2.25, "2001:db8::25"]}}
    - {{host: mx2, priority: 20, addresses: [192.0.2.26]}}
records:
  "@": {{TXT: "v=spf1 mx -all"}}
  _dmarc: {{TXT: "v=DMARC1; p=reject"}}
  ns1: {{A: 192.0.2.53}}
  ns2: {{A: 192.0.2.54}}
  "*.wild": {{A: 192.0.2.99, TXT: "wildcard"}}
  www: {{CNAME: "@"}}
  chain: {{CNAME: www}}
  sub: {{NS: [ns1.sub, ns2.sub]}}
  ns1.sub: {{A: 192.0.2.60}}
  ns2.sub: {{A: 192.0.2.61}}
  big: {{TXT: [{big}]}}
"""
NAMES = ["fuzz.test.", "mx1.fuzz.test.", "x.wild.fuzz.test.", "www.fuzz.test.", "chain.fuzz.test.",
         "a.sub.fuzz.test.", "big.fuzz.test.", "nothere.fuzz.test.", "example.org.", "."]
TYPES = [1, 2, 5, 6, 15, 16, 28, 33, 255, 252, 251, 41, 0, 65535, 99, 257, 46, 43]


# ---------------------------------------------------------------------------
# the generator: each kind makes one packet from the random source
# ---------------------------------------------------------------------------
def _valid(rng: random.Random) -> bytes:
    edns = rng.choice([None, 512, 1232, 4096, 65535, 0])
    return make_query(Name.from_text(rng.choice(NAMES)), rng.choice(TYPES), rng.getrandbits(16),
                      edns_size=edns, rd=rng.random() < 0.5)


def _header(qid: int, flags: int, qd: int, an: int, ns: int, ar: int) -> bytes:
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def _qname(rng: random.Random) -> bytes:
    labels = Name.from_text(rng.choice(NAMES)).labels
    return b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"


def random_octets(rng: random.Random) -> bytes:
    return rng.randbytes(rng.choice([0, 1, 2, 5, 12, 13, 17, 30, 64, 300, 512, 1500]))


def truncated_header(rng: random.Random) -> bytes:
    return _valid(rng)[: rng.randrange(0, 12)]


def cut_short(rng: random.Random) -> bytes:
    query = _valid(rng)
    return query[: rng.randrange(12, len(query))]


def lying_counts(rng: random.Random) -> bytes:
    query = _valid(rng)
    counts = [rng.choice([0, 1, 2, 3, 255, 65535]) for _ in range(4)]
    return query[:4] + struct.pack("!HHHH", *counts) + query[12:]


def pointer_loop(rng: random.Random) -> bytes:
    qid = rng.getrandbits(16)
    kind = rng.randrange(5)
    if kind == 0:  # the question's name points at itself
        return _header(qid, 0, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01"
    if kind == 1:  # two names pointing at each other in the additional section
        body = _qname(rng) + b"\x00\x01\x00\x01"
        at = 12 + len(body)
        rr = struct.pack("!H", 0xC000 | (at + 2)) + struct.pack("!H", 0xC000 | at) + b"\x00\x01\x00\x01\0\0\0\0\0\0"
        return _header(qid, 0, 1, 0, 0, 1) + body + rr
    if kind == 2:  # a pointer forward, past the end
        return _header(qid, 0, 1, 0, 0, 0) + b"\x03www\xc3\xff\x00\x01\x00\x01"
    if kind == 3:  # a label running past the end, or an extended label type
        return _header(qid, 0, 1, 0, 0, 0) + rng.choice([b"\x3fabc", b"\x40abc\x00\x00\x01\x00\x01",
                                                           b"\x80\x00\x00\x01\x00\x01"])
    long_name = b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x00"  # over 255 octets
    return _header(qid, 0, 1, 0, 0, 0) + long_name + b"\x00\x01\x00\x01"


def bad_opt(rng: random.Random) -> bytes:
    qid = rng.getrandbits(16)
    question = _qname(rng) + struct.pack("!HH", rng.choice(TYPES), 1)
    good = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
    kind = rng.randrange(8)
    if kind == 0:  # two OPT records
        return _header(qid, 0, 1, 0, 0, 2) + question + good + good
    if kind == 1:  # OPT in the answer section
        return _header(qid, 0, 1, 1, 0, 0) + question + good
    if kind == 2:  # owner not the root
        return _header(qid, 0, 1, 0, 0, 1) + question + b"\x01a\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
    if kind == 3:  # an option running past RDLEN
        option = b"\x00\x0a\x00\x08ab"  # a cookie said to be 8 octets, with 2
        return _header(qid, 0, 1, 0, 0, 1) + question + b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x06" + option
    if kind == 4:  # EDNS version 1..255 (BADVERS), DO set, an extended rcode
        ttl = rng.getrandbits(8) << 24 | rng.randrange(1, 256) << 16 | 0x8000
        return _header(qid, 0, 1, 0, 0, 1) + question + b"\x00\x00\x29\x04\xd0" + struct.pack("!IH", ttl, 0)
    if kind == 5:  # options of every shape (cookie, padding, unknown, empty)
        options = b"".join(struct.pack("!HH", rng.choice([10, 12, 8, 15, 65001]), n) + rng.randbytes(n)
                           for n in (rng.randrange(0, 40) for _ in range(rng.randrange(1, 4))))
        return (_header(qid, 0, 1, 0, 0, 1) + question + b"\x00\x00\x29" + struct.pack("!HIH", rng.getrandbits(16), 0,
                len(options)) + options)
    if kind == 6:  # RDLEN past the end
        return _header(qid, 0, 1, 0, 0, 1) + question + b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\xff\xff"
    return _header(qid, 0, 1, 0, 0, 1) + question + good[:rng.randrange(1, 11)]  # OPT cut short


def opcodes(rng: random.Random) -> bytes:
    query = bytearray(rng.choice([_valid, lying_counts, random_octets])(rng).ljust(12, b"\x00"))
    query[2] = (query[2] & 0x87) | rng.choice([1, 2, 3, 4, 5, 6, 7, 15]) << 3  # IQUERY STATUS NOTIFY UPDATE DSO ...
    return bytes(query)


def classes(rng: random.Random) -> bytes:
    query = bytearray(_valid(rng))
    end = 12 + len(_qname_of(query)) + 2
    query[end : end + 2] = struct.pack("!H", rng.choice([0, 2, 3, 4, 254, 255, 65535, rng.getrandbits(16)]))
    return bytes(query)


def _qname_of(query: bytes | bytearray) -> bytes:
    pos = 12
    while query[pos]:
        pos += query[pos] + 1
    return bytes(query[12 : pos + 1])


def flags(rng: random.Random) -> bytes:
    query = bytearray(_valid(rng))
    query[2] = rng.getrandbits(8) & 0x87  # QR, AA, TC, RD in any mix (opcode left QUERY)
    query[3] = rng.getrandbits(8)  # RA, Z, AD, CD, rcode
    return bytes(query)


def huge(rng: random.Random) -> bytes:
    query = _valid(rng)
    return query + rng.choice([b"\x00", b"\xff", rng.randbytes(1)]) * rng.choice([1000, 30000, 65000 - len(query)])


def mutated(rng: random.Random) -> bytes:
    query = bytearray(_valid(rng))
    for _ in range(rng.randrange(1, 6)):
        op = rng.randrange(3)
        at = rng.randrange(len(query))
        if op == 0:
            query[at] = rng.getrandbits(8)
        elif op == 1:
            query.insert(at, rng.getrandbits(8))
        elif len(query) > 1:
            del query[at]
    return bytes(query)


KINDS: list[Callable[[random.Random], bytes]] = [
    random_octets, truncated_header, cut_short, lying_counts, pointer_loop, bad_opt, opcodes, classes, flags,
    huge, mutated, mutated, _valid,
]


def packets(seed: int, count: int) -> Iterator[tuple[str, bytes]]:
    rng = random.Random(seed)
    for _ in range(count):
        kind = rng.choice(KINDS)
        yield kind.__name__, kind(rng)


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------
def check_reply(reply: bytes, sent: bytes, kind: str) -> str | None:
    """None if `reply` is a well-formed answer to `sent`; else what is wrong."""
    try:
        msg = dns.message.from_wire(reply)  # strict: trailing junk, bad sections, bad names all raise
    except dns.exception.DNSException as exc:
        return f"{kind}: dnspython cannot parse the answer ({type(exc).__name__}: {exc}): {reply[:64].hex()}"
    if len(sent) < 12:
        return f"{kind}: answered a {len(sent)}-octet packet"
    if msg.id != struct.unpack("!H", sent[:2])[0] or not msg.flags & 0x8000:
        return f"{kind}: answer with ID {msg.id} and flags {msg.flags:#x}"
    if sent[2] & 0x80:
        return f"{kind}: answered a response"
    return None


def fuzz(host: str, port: int, seed: int, count: int, deadline: float) -> dict[str, int]:
    """Send `count` packets to the server; assert everything about the answers; tallies by outcome."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    check = dns.message.make_query("mx1.fuzz.test", "A")
    tally: dict[str, int] = {}
    problems: list[str] = []
    source = packets(seed, count)
    sent_total = 0
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        done = False
        while not done:
            assert time.monotonic() < deadline, f"the run took over {SECONDS:g} s (seed {seed}, {sent_total} sent)"
            # IDs: fuzz packets 0..n, checks 0xF000+; one window's IDs are all different
            flight: dict[bytes, tuple[str, bytes]] = {}
            checks: set[bytes] = set()
            next_id = 0
            for w in range(WINDOW):
                for _ in range(CHECK_EVERY):
                    item = next(source, None)
                    if item is None:
                        done = True
                        break
                    kind, data = item
                    if len(data) >= 2:
                        data = struct.pack("!H", next_id) + data[2:]
                        flight[data[:2]] = (kind, data)
                        next_id += 1
                    else:  # no ID to answer with: silence is the only answer, and no answer is checked
                        tally["silence"] = tally.get("silence", 0) + 1
                    sock.sendto(data, (host, port))
                    sent_total += 1
                check.id = 0xF000 + w
                checks.add(struct.pack("!H", check.id))
                sock.sendto(check.to_wire(), (host, port))
                if done:
                    break
            answered: set[bytes] = set()
            wait_until = time.monotonic() + 5
            while checks - answered:
                sock.settimeout(max(0.01, wait_until - time.monotonic()))
                try:
                    reply = sock.recv(65535)
                except TimeoutError:
                    raise AssertionError(f"the server stopped answering (seed {seed}, after {sent_total})") from None
                rid = reply[:2]
                if rid in checks:
                    msg = dns.message.from_wire(reply)
                    assert msg.rcode() == dns.rcode.NOERROR and msg.answer[0][0].to_text() == "192.0.2.25", msg
                    answered.add(rid)
                    continue
                sent = flight.pop(rid, None)
                if sent is None:
                    problems.append(f"an answer to no packet sent (or a second one): {reply[:64].hex()}")
                    continue
                kind, data = sent
                problem = check_reply(reply, data, kind)
                if problem:
                    problems.append(f"{problem}; sent {data[:80].hex()}")
                outcome = dns.rcode.to_text(dns.message.from_wire(reply).rcode()) if not problem else "bad"
                tally[outcome] = tally.get(outcome, 0) + 1
            tally["silence"] = tally.get("silence", 0) + len(flight)
            assert not problems, f"seed {seed}: {len(problems)} problems, first: {problems[:5]}"
    assert sent_total == count
    return tally


def test_fuzzed_packets_get_well_formed_answers_or_silence(tmp_path: Path, procs: list[Proc]) -> None:
    big = ", ".join(f'"{i:03d}{"x" * 97}"' for i in range(30))  # ~3 KB: truncation at 512 and 1232
    (tmp_path / "fuzz.test.yaml").write_text(ZONE.format(big=big))
    deadline = time.monotonic() + SECONDS
    hosts = ["127.0.0.1"]
    if socket.has_ipv6:
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
                probe.bind(("::1", 0))
            hosts.append("::1")
        except OSError:
            pytest.fail("IPv6 loopback (::1) is not available; the fuzz run covers IPv6 too")
    tallies = {}
    for i, host in enumerate(hosts):
        p = Proc(tmp_path, str(tmp_path), "--quiet", "--address", host)
        procs.append(p)
        share = PACKETS * 4 // 5 if i == 0 else PACKETS - PACKETS * 4 // 5
        tallies[host] = fuzz(host, p.port, SEED + i, share, deadline)
        assert p.stop() == 0
        err = p.stderr()
        assert "Traceback" not in err and "internal-error" not in err, err[-3000:]
        assert "malformed-packet" in err and "unsupported-opcode" in err  # said, once per interval
        assert err.count("malformed-packet") <= 2 + 2 * SECONDS / 5
    for host, tally in tallies.items():
        # the mix really exercised the server: errors of each kind, answers, and silence
        for outcome in ("FORMERR", "NOTIMP", "NOERROR", "silence"):
            assert tally.get(outcome, 0) > 0, (host, tally)
    print(f"fuzz tallies (seed {SEED}):", tallies)
    assert sum(sum(t.values()) for t in tallies.values()) == PACKETS
