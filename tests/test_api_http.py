"""The HTTP control API with a real HTTP client (urllib) against the real server on a free port.

Every endpoint and status code of issue 10's table, errors naming the bad field, the token, the
next query seeing each change, and the server-sent event stream.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import dns.message
import dns.query
import dns.rcode
import pytest
from conftest import http_call as call
from conftest import read_events

from zonetool.testing import DNSTestServer

ZONE = {
    "origin": "example.com",
    "nameservers": ["ns1"],
    "mail": {"exchangers": [{"host": "mx1", "priority": 10, "addresses": ["192.0.2.10"]}]},
    "records": {"ns1": {"A": "192.0.2.53"}},
}
RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"


def ask(server: DNSTestServer, name: str, rtype: str) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rtype), server.host, port=server.port, timeout=3)


def rdatas(reply: dns.message.Message) -> list[str]:
    return sorted(rd.to_text() for rrset in reply.answer for rd in rrset)


@pytest.fixture
def lab() -> Iterator[DNSTestServer]:
    with DNSTestServer(api=True) as server:
        server.load(ZONE)
        yield server


def test_zones_and_records(lab: DNSTestServer) -> None:
    api = lab.api_url
    status, zones = call("GET", f"{api}/zones")
    assert status == 200 and [(z["origin"], z["records"]) for z in zones] == [("example.com.", 5)]
    assert isinstance(zones[0]["serial"], int)
    assert rdatas(ask(lab, "example.com", "MX")) == ["10 mx1.example.com."]  # cached now

    status, body = call("POST", f"{api}/records", {"owner": "mx9.example.com.", "type": "A", "ttl": 60,
                                                    "data": "127.0.0.19"})
    assert (status, body) == (201, {"owner": "mx9.example.com.", "type": "A", "ttl": 60, "data": "127.0.0.19"})
    status, _ = call("POST", f"{api}/records", {"owner": "@", "type": "MX", "data": "20 mx9"})
    assert status == 201
    assert rdatas(ask(lab, "example.com", "MX")) == ["10 mx1.example.com.", "20 mx9.example.com."]  # not the cache
    reply = ask(lab, "mx9.example.com", "A")
    assert rdatas(reply) == ["127.0.0.19"] and reply.answer[0].ttl == 60

    status, body = call("PUT", f"{api}/records", {"owner": "example.com.", "type": "MX", "ttl": 300,
                                                   "data": ["5 mx9", "10 backup.example.net."]})
    assert status == 200 and body["data"] == ["5 mx9.example.com.", "10 backup.example.net."]
    assert rdatas(ask(lab, "example.com", "MX")) == ["10 backup.example.net.", "5 mx9.example.com."]

    status, body = call("DELETE", f"{api}/records", {"owner": "mx9", "type": "A", "data": "127.0.0.19"})
    assert (status, body) == (200, {"removed": 1})
    assert ask(lab, "mx9.example.com", "A").rcode() == dns.rcode.NXDOMAIN
    status, body = call("DELETE", f"{api}/records", {"owner": "mx9", "type": "A", "data": "127.0.0.19"})
    assert status == 404 and body["error"].startswith("data: ")

    status, overlay = call("GET", f"{api}/overlay")
    assert status == 200 and {e["owner"] for e in overlay} == {"mx9.example.com.", "example.com."}
    assert call("DELETE", f"{api}/overlay")[0] == 204
    assert rdatas(ask(lab, "example.com", "MX")) == ["10 mx1.example.com."]  # back to the loaded zone

    status, served = call("GET", f"{api}/records?owner=mx1&type=A")
    assert status == 200 and served == [{"owner": "mx1.example.com.", "type": "A", "ttl": 3600, "data": "192.0.2.10"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "A", "data": "192.0.2.1"}, "owner"),
        ({"owner": "mx9", "data": "192.0.2.1"}, "type"),
        ({"owner": "mx9", "type": "NOSUCHTYPE", "data": "192.0.2.1"}, "type"),
        ({"owner": "mx9", "type": "A", "ttl": "soon", "data": "192.0.2.1"}, "ttl"),
        ({"owner": "mx9", "type": "A", "data": "192.0.2.300"}, "data"),
        ({"owner": "mx9", "type": "MX", "data": "ten mx1"}, "data"),
        ({"owner": "mx9", "type": "A"}, "data"),
        ({"owner": "mx1.example.com", "type": "A", "data": "192.0.2.1"}, "owner"),  # relative, repeats the origin
        ({"owner": "a..b", "type": "A", "data": "192.0.2.1"}, "owner"),
    ],
)
def test_a_bad_record_is_400_naming_the_field(lab: DNSTestServer, body: dict[str, Any], field: str) -> None:
    status, answer = call("POST", f"{lab.api_url}/records", body)
    assert status == 400, answer
    assert answer["field"] == field and answer["error"].startswith(f"{field}: "), answer
    assert not lab.control.edits


def test_not_json_and_outside_every_zone(lab: DNSTestServer) -> None:
    status, body = call("POST", f"{lab.api_url}/records", b"{not json")
    assert status == 400 and body["field"] == "body"
    status, body = call("POST", f"{lab.api_url}/records", {"owner": "mx9.example.org.", "type": "A",
                                                            "data": "192.0.2.1"})
    assert status == 404 and "no served zone contains mx9.example.org." in body["error"]
    status, body = call("PUT", f"{lab.api_url}/records", {"owner": "mx9", "type": "A", "data": "192.0.2.1"})
    assert status == 400 and body["field"] == "data"  # PUT takes a list
    status, body = call("GET", f"{lab.api_url}/nowhere")
    assert status == 404 and "error" in body


def test_faults(lab: DNSTestServer) -> None:
    api = lab.api_url
    status, body = call("POST", f"{api}/faults", {"name": "example.com.", "type": "MX", "action": "servfail",
                                                   "delay": "2s"})
    assert status == 201 and isinstance(body["id"], int) and body["delay_ms"] == 2000
    first = body["id"]
    status, body = call("POST", f"{api}/faults", {"name": "mx1", "type": "A", "action": "refused"})
    assert status == 201
    assert ask(lab, "mx1.example.com", "A").rcode() == dns.rcode.REFUSED
    for bad, field in (
        ({"name": "mx1", "action": "explode"}, "action"),
        ({"name": "mx1", "action": "delay"}, "delay"),
        ({"name": "mx1", "action": "delay", "delay": "later"}, "delay"),
        ({"name": "mx1.example.org.", "action": "servfail"}, "name"),
        ({"action": "servfail"}, "name"),
        ({"name": "mx1", "type": "NOPE", "action": "servfail"}, "type"),
    ):
        status, answer = call("POST", f"{api}/faults", bad)
        assert status == 400 and answer["field"] == field, (bad, answer)
    status, faults = call("GET", f"{api}/faults")
    assert status == 200 and [f["id"] for f in faults] == [first, body["id"]]
    assert call("DELETE", f"{api}/faults/{body['id']}")[0] == 204
    assert ask(lab, "mx1.example.com", "A").rcode() == dns.rcode.NOERROR
    assert call("DELETE", f"{api}/faults/{body['id']}")[0] == 404
    assert call("DELETE", f"{api}/faults")[0] == 204
    assert call("GET", f"{api}/faults") == (200, [])


def test_the_query_log(lab: DNSTestServer) -> None:
    api = lab.api_url
    ask(lab, "example.com", "MX")
    ask(lab, "nothere.example.com", "A")
    status, entries = call("GET", f"{api}/queries?since=0")
    assert status == 200
    assert [(e["name"], e["type"], e["rcode"], e["answers"], e["transport"]) for e in entries] == [
        ("example.com.", "MX", "NOERROR", 1, "udp"), ("nothere.example.com.", "A", "NXDOMAIN", 0, "udp")]
    assert all(re.fullmatch(RFC3339, e["ts"]) and e["client"] == "127.0.0.1" for e in entries)
    assert all(isinstance(e["latency_us"], int) and e["fault"] is None for e in entries)
    assert entries[1]["seq"] > entries[0]["seq"]
    assert [e["name"] for e in call("GET", f"{api}/queries?since={entries[0]['seq']}")[1]] == ["nothere.example.com."]
    assert [e["name"] for e in call("GET", f"{api}/queries?rcode=NXDOMAIN")[1]] == ["nothere.example.com."]
    assert call("GET", f"{api}/queries?since=x")[1]["field"] == "since"
    status, stats = call("GET", f"{api}/stats")
    assert status == 200 and stats["queries"]["rcode"] == {"NOERROR": 1, "NXDOMAIN": 1}
    assert stats["queries"]["transport"] == {"udp": 2} and isinstance(stats["trouble"], dict)
    assert call("DELETE", f"{api}/queries")[0] == 204
    assert call("GET", f"{api}/queries")[1] == []
    ask(lab, "example.com", "MX")
    assert call("GET", f"{api}/queries")[1][0]["seq"] > entries[1]["seq"]  # numbers keep rising


def test_many_repeated_queries_are_all_logged(lab: DNSTestServer) -> None:
    """The UDP loop's raw path for cache hits (memory-only log) loses nothing and keeps the order."""
    for _ in range(40):
        ask(lab, "example.com", "MX")
    entries = call("GET", f"{lab.api_url}/queries")[1]
    assert len(entries) == 40 and all(e["name"] == "example.com." and e["answers"] == 1 for e in entries)
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert call("GET", f"{lab.api_url}/queries")[1] == entries  # decoded once, read again the same
    middle = entries[19]["seq"]
    assert [e["seq"] for e in call("GET", f"{lab.api_url}/queries?since={middle}")[1]] == [
        e["seq"] for e in entries[20:]]
    assert lab.queries.count("example.com", "MX") == 40
    assert call("GET", f"{lab.api_url}/stats")[1]["queries"]["rcode"] == {"NOERROR": 40}


def test_smtp_endpoints_need_smtp(lab: DNSTestServer) -> None:
    status, body = call("GET", f"{lab.api_url}/smtp/events")
    assert status == 404 and "--smtp" in body["error"]


def test_server_sent_events_deliver_a_query(lab: DNSTestServer) -> None:
    response = urllib.request.urlopen(f"{lab.api_url}/events", timeout=10)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    reader, lines = read_events(response, lambda line: line.startswith("data:") and "mx1.example.com." in line)
    ask(lab, "mx1.example.com", "A")
    reader.join(10)
    response.close()
    event = lines.index("event: query")
    entry = json.loads(lines[event + 1].removeprefix("data: "))
    assert (entry["name"], entry["type"], entry["rcode"]) == ("mx1.example.com.", "A", "NOERROR")


def test_a_token_guards_every_request() -> None:
    with DNSTestServer(api=True, api_token="s3cret") as server:
        server.load(ZONE)
        assert call("GET", f"{server.api_url}/zones")[0] == 401
        status, body = call("GET", f"{server.api_url}/zones", token="wrong")
        assert status == 401 and body["error"].startswith("authorization: ")
        assert call("POST", f"{server.api_url}/faults", {"name": "mx1", "action": "servfail"})[0] == 401
        assert not server.control.faults.runtime
        assert call("GET", f"{server.api_url}/zones", token="s3cret")[0] == 200


def test_the_api_thread_stops_with_the_server() -> None:
    before = set(threading.enumerate())
    with DNSTestServer(api=True) as server:
        server.load(ZONE)
        url = server.api_url
        assert call("GET", f"{url}/zones")[0] == 200
        assert any(t.name == "zonetool-api" for t in threading.enumerate())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and set(threading.enumerate()) != before:
        time.sleep(0.05)
    assert set(threading.enumerate()) == before
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/zones", timeout=2)
    with pytest.raises(RuntimeError, match="api=True"):
        _ = DNSTestServer().api_url


def test_an_open_event_stream_does_not_hold_up_the_stop() -> None:
    before = set(threading.enumerate())
    server = DNSTestServer(api=True).start()
    server.load(ZONE)
    stream = urllib.request.urlopen(f"{server.api_url}/events", timeout=10)
    assert stream.readline() == b"event: ready\n"
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
    stream.read()  # the stream ends with the server
    stream.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and set(threading.enumerate()) != before:
        time.sleep(0.05)
    assert set(threading.enumerate()) == before


def test_a_reader_that_falls_behind_is_told_how_many_events_it_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    from zonetool.server import api as api_module
    from zonetool.server.querylog import Entry

    monkeypatch.setattr(api_module, "SSE_QUEUE", 3)
    with DNSTestServer(api=True) as server:
        server.load(ZONE)
        stream = urllib.request.urlopen(f"{server.api_url}/events", timeout=10)
        assert stream.readline() == b"event: ready\n"
        deadline = time.monotonic() + 5
        while not server.queries.listeners and time.monotonic() < deadline:
            time.sleep(0.01)
        (listener,) = server.queries.listeners
        entry = Entry(("127.0.0.1", 1), "udp", "example.com.", "MX", "NOERROR", 1, 5)
        for _ in range(500):  # faster than the stream is written: the queue of 3 overflows
            listener(entry)
        lines: list[str] = []
        while not any(line.startswith("event: dropped") for line in lines) and time.monotonic() < deadline + 5:
            lines.append(stream.readline().decode().rstrip("\n"))
        lines.append(stream.readline().decode().rstrip("\n"))  # its data line
        stream.close()
    told = lines.index("event: dropped")
    assert json.loads(lines[told + 1].removeprefix("data: "))["dropped"] > 0
