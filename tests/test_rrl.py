"""Response-rate limiting: the token buckets with a fake clock, the accounts, and a live burst."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import dns.flags
import dns.message
import pytest
from test_responder import EXAMPLE_COM, make_zone
from test_server_cli import ZONETOOL, write_zone
from test_server_hostile import Proc, is_mx_answer, queries, tcp_burst, udp_burst
from test_udp_batch import family_params, schedule

from zonetool.lookup import ZoneSet
from zonetool.server.responder import Responder
from zonetool.server.rrl import (
    ALLOW,
    DROP,
    SLIP,
    RateLimiter,
    ResponseRateLimit,
    account,
    client_prefix,
    default_rate,
    slipped,
)

CLIENT = ("198.51.100.7", 5300)


def test_a_burst_passes_rate_answers_then_drops_and_slips_every_nth() -> None:
    limiter = RateLimiter(10, slip=3)
    verdicts = [limiter.allow(b"\xc6\x33\x64", "k", 100.0) for _ in range(40)]
    assert verdicts[:10] == [ALLOW] * 10  # one second's worth passes at once
    over = verdicts[10:]
    assert over.count(SLIP) == 10 and over.count(DROP) == 20
    assert [i for i, v in enumerate(over) if v == SLIP] == list(range(2, 30, 3))  # every 3rd limited one
    assert (limiter.allowed, limiter.dropped, limiter.slipped) == (10, 20, 10)


def test_tokens_come_back_at_rate_per_second_and_never_pile_up() -> None:
    limiter = RateLimiter(10, slip=0)
    p = b"\x0a\x00\x00"
    assert [limiter.allow(p, "k", 0.0) for _ in range(11)] == [ALLOW] * 10 + [DROP]
    assert limiter.allow(p, "k", 0.05) == DROP  # half a token
    assert limiter.allow(p, "k", 0.1) == ALLOW  # one token after 1/10 s
    assert limiter.allow(p, "k", 0.1) == DROP
    # a client quiet for an hour gets one second's burst back, not an hour's
    assert [limiter.allow(p, "k", 3600.0) for _ in range(11)] == [ALLOW] * 10 + [DROP]


def test_prefixes_and_accounts_are_counted_apart() -> None:
    limiter = RateLimiter(1, slip=0)
    assert limiter.allow(b"a", "x", 0) == ALLOW and limiter.allow(b"a", "x", 0) == DROP
    assert limiter.allow(b"b", "x", 0) == ALLOW  # another prefix
    assert limiter.allow(b"a", "y", 0) == ALLOW  # another answer


def test_memory_is_bounded_least_recently_used_goes_first() -> None:
    limiter = RateLimiter(1, slip=0, max_entries=1000)
    limiter.allow(b"keep", "k", 0)
    for i in range(100_000):
        limiter.allow(i.to_bytes(4), "k", 0)
        if i % 500 == 0:
            assert limiter.allow(b"keep", "k", 0) == DROP  # touched often: still remembered, still limited
    assert len(limiter) == 1000


def test_client_prefixes() -> None:
    assert client_prefix("192.0.2.1") == client_prefix("192.0.2.254") == bytes([192, 0, 2])
    assert client_prefix("192.0.3.1") != client_prefix("192.0.2.1")
    assert client_prefix("::ffff:192.0.2.9") == client_prefix("192.0.2.1")  # dual-stack sockets
    assert client_prefix("2001:db8:0:ff::1") == client_prefix("2001:db8:0:1::2")  # same /56
    assert client_prefix("2001:db8:0:100::1") != client_prefix("2001:db8:0:1::2")
    assert client_prefix("fe80::1%lo") == client_prefix("fe80::2")


def _reply(r: Responder, name: str, qtype: str = "A") -> bytes:
    return r.respond(dns.message.make_query(name, qtype, use_edns=0).to_wire(), CLIENT, "udp").messages[0]


def test_accounts_group_random_names_by_zone() -> None:
    zone = make_zone("example.com.", EXAMPLE_COM)
    r = Responder([zone])
    zones = ZoneSet([zone])
    # NXDOMAIN for random names: one account (the zone), so random subdomains cannot dodge the limit
    assert account(_reply(r, "a1.example.com"), zones) == account(_reply(r, "zz9.example.com"), zones)
    # wildcard answers: one account for the zone too (*.dev.example.com)
    assert account(_reply(r, "x.dev.example.com"), zones) == account(_reply(r, "y.dev.example.com"), zones)
    assert account(_reply(r, "x.dev.example.com"), zones)[0] == "wildcard"
    # NODATA
    assert account(_reply(r, "mx1.example.com", "TXT"), zones) == account(_reply(r, "ns1.example.com", "TXT"), zones)
    # positive answers: per name and type
    assert account(_reply(r, "mx1.example.com"), zones) != account(_reply(r, "mx2.example.com"), zones)
    assert account(_reply(r, "mx1.example.com"), zones) != account(_reply(r, "mx1.example.com", "AAAA"), zones)
    assert account(_reply(r, "MX1.Example.com"), zones) == account(_reply(r, "mx1.example.com"), zones)
    # errors by rcode (REFUSED: not our zone)
    assert account(_reply(r, "example.org"), zones) == account(_reply(r, "other.test"), zones) == ("error", 5)


def test_a_slipped_answer_is_header_and_question_with_tc() -> None:
    r = Responder([make_zone("example.com.", EXAMPLE_COM)])
    full = _reply(r, "example.com", "MX")
    msg = dns.message.from_wire(slipped(full))
    assert msg.flags & dns.flags.TC and msg.flags & dns.flags.AA
    assert msg.answer == [] and msg.additional == [] and msg.edns == 0 and msg.payload == 1232
    assert msg.question[0].to_text() == "example.com. IN MX"
    assert len(slipped(full)) < len(full)
    formerr = r.respond(b"\x00\x07\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff", CLIENT, "udp").messages[0]
    assert dns.message.from_wire(slipped(formerr)).flags & dns.flags.TC


def test_the_edge_reports_once_per_kind_and_turns_the_reply() -> None:
    reports: list[tuple[str, str]] = []
    r = Responder([make_zone("example.com.", EXAMPLE_COM)])
    limit = ResponseRateLimit(RateLimiter(5, 2), lambda: r.zoneset, lambda k, d: reports.append((k, d)),
                              clock=lambda: 7.0)
    full = _reply(r, "example.com", "MX")
    out = [limit(full, "192.0.2.1") for _ in range(9)]
    assert out[:5] == [full] * 5
    assert out[5:] == [None, slipped(full), None, slipped(full)]
    assert [k for k, _ in reports] == ["rrl-dropped", "rrl-slipped"] * 2
    assert reports[0][1] == "192.0.2.1 (/24): over 5 answers/s, dropped"


# -- live ----------------------------------------------------------------------------------
def test_a_live_burst_is_limited_over_udp_not_over_tcp(tmp_path: Path, procs: list[Proc]) -> None:
    write_zone(tmp_path / "example.com.yaml", 1)
    p = Proc(tmp_path, str(tmp_path), "--rrl", "50", "--rrl-slip", "2")
    procs.append(p)
    assert "response-rate limit: 50 UDP answers/s" in p.stderr()
    began = time.monotonic()
    replies = udp_burst(p.port, queries(400), window=400, timeout=1.5)  # one window: no refill while waiting
    elapsed = time.monotonic() - began
    full = [m for m in replies if m is not None and not dns.message.from_wire(m).flags & dns.flags.TC]
    tc = [m for m in replies if m is not None and dns.message.from_wire(m).flags & dns.flags.TC]
    dropped = replies.count(None)
    # 50 pass at once, plus what the burst's own duration refills; the rest half slipped, half dropped
    assert 50 <= len(full) <= 50 + 50 * elapsed + 1, (len(full), elapsed)
    assert len(full) < 400 - 100, (len(full), elapsed)
    assert all(is_mx_answer(m) for m in full)
    assert all(dns.message.from_wire(m).answer == [] for m in tc)
    assert abs(len(tc) - dropped) <= 2 and len(tc) > 50
    # another answer is another account; TCP is never limited
    other = udp_burst(p.port, queries(10, "version.example.com.", 16, first_id=5000))
    assert all(m is not None and dns.message.from_wire(m).answer for m in other)
    assert sum(map(is_mx_answer, tcp_burst(p.port, queries(300, first_id=9000)))) == 300
    p.wait_err(r"rrl-dropped: 127\.0\.0\.1 \(/24\): over 50 answers/s, dropped")
    p.wait_err(r"rrl-slipped: 127\.0\.0\.1 \(/24\): over 50 answers/s, slipped \(TC=1\)")
    assert p.stop() == 0
    assert "Traceback" not in p.stderr()


def test_the_default_rate_is_off_on_loopback_only() -> None:
    assert default_rate("127.0.0.1") == default_rate("::1") == default_rate("127.0.0.53") == 0
    for address in ("0.0.0.0", "::", "192.0.2.53", "2001:db8::53", "fe80::1%eth0"):
        assert default_rate(address) == 200, address


def test_rrl_is_off_on_loopback_by_default(tmp_path: Path, procs: list[Proc]) -> None:
    write_zone(tmp_path / "example.com.yaml", 1)
    p = Proc(tmp_path, str(tmp_path), "--quiet")
    procs.append(p)
    assert "response-rate limit" not in p.stderr()
    replies = udp_burst(p.port, queries(2000), window=100)
    assert sum(map(is_mx_answer, replies)) == 2000


@pytest.mark.parametrize(("args", "message"), [
    (["--rrl", "-1"], "--rrl must be 0 (off) to 1000000"),
    (["--rrl-slip", "101"], "--rrl-slip must be 0..100"),
])
def test_rrl_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    write_zone(tmp_path / "example.com.yaml", 1)
    out = subprocess.run([*ZONETOOL, "serve", str(tmp_path), "--port", "0", *args], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_the_query_log_names_limited_answers() -> None:
    """In-process Server with a kept query log: each limited question is still logged, with what became of it."""
    from zonetool.server.querylog import QueryLog
    from zonetool.server.runner import Server

    log = QueryLog(keep=True)
    responder = Responder([make_zone("example.com.", EXAMPLE_COM)])
    with Server(responder, querylog=log, rrl=RateLimiter(20, 4), watch=False) as server:
        replies = udp_burst(server.port, queries(200), window=200, timeout=1.5)
        faults = [e.fault for e in log.entries]
        assert len(faults) == 200
        assert faults.count("rrl-slip") == sum(1 for m in replies if m and dns.message.from_wire(m).flags & 0x200)
        assert faults.count("rrl-drop") == replies.count(None) > 0
        assert server.trouble.count("rrl-dropped") == faults.count("rrl-drop")
        assert server.trouble.count("rrl-slipped") == faults.count("rrl-slip")


@pytest.mark.parametrize("family,host", family_params())
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "portable"])
def test_both_udp_loops_limit(batched: bool, family: int, host: str) -> None:
    """The batched (recvmmsg) and the portable loop alike, IPv4 and IPv6: 10 pass, then 1 in 2 slips."""
    import socket

    from zonetool.server.udp import UDPServer

    responder = Responder([make_zone("example.com.", EXAMPLE_COM)])
    table, cached = responder.udp_fast_paths()
    limit = ResponseRateLimit(RateLimiter(10, 2), lambda: responder.zoneset, clock=lambda: 1.0)  # time stands still
    with socket.socket(family, socket.SOCK_DGRAM) as sock, socket.socket(family, socket.SOCK_DGRAM) as client:
        sock.bind((host, 0))
        server = UDPServer(sock, responder.respond, None, schedule, cached, table, batched=batched, limit=limit)
        assert server.cached is None and server.table is None  # the limit sees every answer
        query = dns.message.make_query("example.com", "MX")
        for i in range(100):
            query.id = i
            client.sendto(query.to_wire(), sock.getsockname())
        server.start()
        try:
            replies = []
            client.settimeout(2)
            while len(replies) < 55:
                replies.append(dns.message.from_wire(client.recv(65535)))
        finally:
            server.stop()
    full = [m for m in replies if not m.flags & dns.flags.TC]
    assert len(full) == 10 and all(len(m.answer[0]) == 2 for m in full)
    assert [m.id for m in full] == list(range(10))
    assert [m.id for m in replies if m.flags & dns.flags.TC] == list(range(11, 100, 2))
