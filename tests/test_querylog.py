"""The query log's reading API (the fixture's `dns_server.queries`, GET /queries): numbers, times, filters, waiting."""

from __future__ import annotations

import asyncio
import datetime
import io
import json
import re
import threading
import time

import dns.message
import dns.query
import pytest

from zonetool.server.api import SSE_QUEUE, _Subscriber
from zonetool.server.querylog import QueryLog
from zonetool.server.responder import QueryInfo
from zonetool.testing import DNSTestServer

ZONE = {"origin": "example.com", "nameservers": ["ns1"], "records": {"ns1": {"A": "192.0.2.53"}}}


def info(name: str, rtype: str = "A", rcode: str = "NOERROR", transport: str = "udp") -> QueryInfo:
    return QueryInfo(("127.0.0.1", 5000), transport, name, rtype, rcode, 1)


def test_filter_count_since_and_clear() -> None:
    log = QueryLog(keep=True)
    log(info("example.com.", "MX"), 10)
    log(info("nx.example.com.", "A", "NXDOMAIN"), 12)
    log(info("example.com.", "A", transport="tcp"), 14)
    assert log.count("example.com") == 2 and log.count("EXAMPLE.COM.", "mx") == 1
    assert [e.qname for e in log.filter(rcode="NXDOMAIN")] == ["nx.example.com."]
    assert [e.qtype for e in log.filter("example.com", transport="tcp")] == ["A"]
    assert log.count(rcode="NOERROR") == 2 and len(log) == 3
    assert [e.seq for e in log] == [1, 2, 3] and log.last_seq == 3
    assert [e.seq for e in log.since(1)] == [2, 3] and [e.seq for e in log.since(0, limit=1)] == [1]
    log.clear()
    assert len(log) == 0 and list(log) == []
    log(info("example.com.", "MX"), 10)
    assert log.entries[0].seq == 4  # numbers keep rising after clear()
    assert log.totals()["rcode"] == {"NOERROR": 3, "NXDOMAIN": 1}


def test_text_and_json_lines_carry_the_time() -> None:
    out = io.StringIO()
    log = QueryLog(out)
    log(info("example.com.", "MX"), 41)
    assert log.drain()  # the stream is written by its own thread
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z 127\.0\.0\.1:5000 udp example\.com\. MX NOERROR "
                        r"answers=1 41us\n", out.getvalue()), out.getvalue()
    out = io.StringIO()
    log = QueryLog(out, fmt="json")
    log(info("example.com.", "MX"), 41)
    assert log.drain()
    line = json.loads(out.getvalue())
    assert line["qname"] == line["name"] == "example.com." and line["micros"] == line["latency_us"] == 41
    logged = datetime.datetime.fromisoformat(line["ts"].replace("Z", "+00:00"))
    assert line["seq"] == 1 and abs(time.time() - logged.timestamp()) < 60


def test_the_memory_is_bounded() -> None:
    log = QueryLog(keep=True, limit=10)
    for i in range(25):
        log(info(f"n{i}.example.com."), 1)
    assert 5 <= len(log) <= 10 and log.entries[-1].qname == "n24.example.com."
    assert [e.seq for e in log] == list(range(26 - len(log), 26))


def test_repr_shows_the_last_queries() -> None:
    log = QueryLog(keep=True)
    assert repr(log) == "<QueryLog: no queries>"
    for i in range(7):
        log(info(f"n{i}.example.com."), 1)
    shown = repr(log)
    assert shown.startswith("<QueryLog 7 queries, the last 5:") and "n6.example.com. A NOERROR" in shown
    assert "n1.example.com." not in shown


def test_wait_for_a_query_from_another_thread_and_time_out_saying_what_came() -> None:
    log = QueryLog(keep=True)
    timer = threading.Timer(0.2, lambda: log(info("mx1.example.com.", "A", "SERVFAIL"), 5))
    timer.start()
    entry = log.wait_for("mx1.example.com", "A", timeout=10)
    assert entry.rcode == "SERVFAIL"
    timer.join()
    said = r"no query for mx2\.example\.com AAAA within 0\.2s(.|\n)*mx1\.example\.com\."
    with pytest.raises(TimeoutError, match=said):
        log.wait_for("mx2.example.com", "AAAA", timeout=0.2)
    assert log.wait_for("mx1.example.com", rcode="SERVFAIL", timeout=0.1) is entry


def test_the_fixture_queries_api_over_real_udp(dns_server: DNSTestServer) -> None:
    dns_server.load(ZONE)
    query = dns.message.make_query("ns1.example.com", "A")
    for _ in range(5):  # repeats are answered by the batched loop's raw path
        dns.query.udp(query, dns_server.host, port=dns_server.port, timeout=3)
    entry = dns_server.queries.wait_for("ns1.example.com", "A", timeout=5)
    assert (entry.client[0], entry.transport, entry.answers) == ("127.0.0.1", "udp", 1)
    assert dns_server.queries.count("ns1.example.com", "A") == 5
    assert "ns1.example.com. A NOERROR answers=1" in repr(dns_server.queries)


def test_a_slow_event_reader_loses_the_newest_and_is_counted() -> None:
    loop = asyncio.new_event_loop()
    try:
        sub = _Subscriber(loop)
        for i in range(SSE_QUEUE + 25):
            sub._put("query", i)  # what push() schedules on the API's loop
        assert sub.queue.qsize() == SSE_QUEUE and sub.dropped == 25
    finally:
        loop.close()


def test_raw_hits_are_numbered_in_order_counted_when_dropped_and_decoded_when_read() -> None:
    query = dns.message.make_query("mx1.example.com", "A")
    query.id = 0
    wire_query = query.to_wire()
    answer = dns.message.make_response(query)
    answer.set_rcode(3)  # NXDOMAIN
    wire_answer = answer.to_wire()
    peers = bytes([2, 0, 0x13, 0x88, 127, 0, 0, 1]) + bytes(120)  # sockaddr_in 127.0.0.1:5000, slot 0

    def decode(blob: bytes, slot: int) -> tuple[str, int]:
        at = slot * 128
        return ".".join(str(b) for b in blob[at + 4 : at + 8]), int.from_bytes(blob[at + 2 : at + 4])

    log = QueryLog(keep=True, limit=10)
    log(info("first.example.com."), 1)
    for _ in range(12):  # 24 hits through a 10-entry memory
        log.remember_raw([0, wire_query[2:], wire_answer[2:]] * 2, 3, peers, decode)
    log(info("last.example.com."), 1)
    kept = log.entries
    assert [e.seq for e in kept] == list(range(27 - len(kept), 27)) and kept[-1].qname == "last.example.com."
    hit = kept[-2]
    assert (hit.client, hit.transport, hit.qname, hit.qtype, hit.rcode, hit.answers, hit.micros) == (
        ("127.0.0.1", 5000), "udp", "mx1.example.com.", "A", "NXDOMAIN", 0, 3)
    assert log.totals()["rcode"] == {"NOERROR": 2, "NXDOMAIN": 24}  # the dropped ones too
