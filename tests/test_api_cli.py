"""`zonetool serve --api` as a process: the lab script (curl and dig only), options, token, reloads, SMTP."""

from __future__ import annotations

import json
import os
import smtplib
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import dns.message
import dns.opcode
import dns.query
import dns.rcode
import pytest
from conftest import http_call as call
from conftest import read_events, require_tool
from test_server_cli import ZONETOOL, Serve

from zonetool.atomic import write_atomic

HERE = Path(__file__).resolve().parent
LAB = HERE / "api" / "lab.sh"
ZONE = """\
origin: example.com
nameservers: [ns1]
mail:
  exchangers:
    - {{host: mx1, priority: 10, addresses: [127.0.0.10]}}
records:
  ns1: {{A: 127.0.0.53}}
  version: {{TXT: "v{v}"}}
{extra}"""


def write(path: Path, v: int = 1, extra: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, ZONE.format(v=v, extra=extra))
    return path


def serve_api(procs: list[Serve], *args: str) -> tuple[Serve, str]:
    p = Serve(*args, "--api", "127.0.0.1:0")
    procs.append(p)
    p.started()
    url = p.wait_err(r"control API on (http://\S+)").group(1)
    return p, url


def ask(port: int, name: str, rtype: str) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rtype), "127.0.0.1", port=port, timeout=3)


def run_lab(url: str, port: int) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "API": url, "DNS_PORT": str(port)}
    return subprocess.run(["bash", str(LAB)], env=env, capture_output=True, text=True, timeout=120)


def test_a_shell_script_with_curl_and_dig_drives_the_lab(tmp_path: Path, procs: list[Serve]) -> None:
    require_tool("curl")
    require_tool("dig")
    zone = write(tmp_path / "example.com.yaml")
    p, url = serve_api(procs, str(zone), "--quiet")
    result = run_lab(url, p.port)
    assert result.returncode == 0, result.stderr
    assert "every check passed" in result.stdout
    # the script checks what it claims: a server that answers mx9 wrongly makes it fail, saying where
    zone2 = write(tmp_path / "b" / "example.com.yaml", extra="faults:\n  - {name: mx9, type: A, action: nxdomain}\n")
    p2, url2 = serve_api(procs, str(zone2), "--quiet")
    bad = run_lab(url2, p2.port)
    assert bad.returncode == 1 and "dig A mx9: expected [127.0.0.19 ]" in bad.stderr, bad.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--api", "192.0.2.1:8053"], "192.0.2.1 is not a loopback address; give --api-token"),
        (["--api", "127.0.0.1"], "expected HOST:PORT"),
        (["--api", "127.0.0.1:0", "--workers", "2"], "--api needs --workers 1"),
        (["--api-token", "t"], "--api-token needs --api"),
    ],
)
def test_bad_api_options_are_a_usage_error(tmp_path: Path, args: list[str], message: str) -> None:
    zone = write(tmp_path / "example.com.yaml")
    result = subprocess.run([*ZONETOOL, "serve", str(zone), "--port", "0", *args], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_a_token_is_required_on_every_request(tmp_path: Path, procs: list[Serve]) -> None:
    zone = write(tmp_path / "example.com.yaml")
    p = Serve(str(zone), "--quiet", "--api", "127.0.0.1:0", "--api-token", "s3cret")
    procs.append(p)
    p.started()
    url = p.wait_err(r"control API on (http://\S+) \(token required\)").group(1)
    for method, path in (("GET", "/zones"), ("GET", "/queries"), ("DELETE", "/faults"), ("GET", "/events")):
        assert call(method, url + path)[0] == 401, path
        assert call(method, url + path, token="nope")[0] == 401, path
    assert call("GET", url + "/zones", token="s3cret")[0] == 200


def test_runtime_records_survive_a_reload_until_deleted(tmp_path: Path, procs: list[Serve]) -> None:
    zone = write(tmp_path / "example.com.yaml")
    p, url = serve_api(procs, str(zone), "--quiet")
    assert call("POST", url + "/records", {"owner": "mx9", "type": "A", "data": "127.0.0.19"})[0] == 201
    write(zone, v=2)
    p.wait_err(r"reloaded \(file change\)")
    assert ask(p.port, "version.example.com", "TXT").answer[0][0].strings == (b"v2",)
    assert ask(p.port, "mx9.example.com", "A").answer[0][0].address == "127.0.0.19"  # the overlay stays
    assert call("DELETE", url + "/records", {"owner": "mx9", "type": "A", "data": "127.0.0.19"})[0] == 200
    assert ask(p.port, "mx9.example.com", "A").rcode() == dns.rcode.NXDOMAIN


def test_smtp_events_and_behaviours(tmp_path: Path, procs: list[Serve]) -> None:
    from zonetool.harness.sinks import free_port

    port = free_port(["127.0.0.10"])
    zone = write(tmp_path / "example.com.yaml")
    _, url = serve_api(procs, str(zone), "--quiet", "--smtp", "--smtp-port", f"25={port}")
    status, body = call("PUT", url + "/smtp/behaviours/mx1.example.com", {"behaviour": "tempfail"})
    assert (status, body) == (200, {"host": "mx1.example.com", "behaviour": "tempfail"})
    assert call("PUT", url + "/smtp/behaviours/mx1.example.com", {"behaviour": "explode"})[1]["field"] == "behaviour"
    assert call("PUT", url + "/smtp/behaviours/nowhere.example.com", {"behaviour": "accept"})[0] == 404
    stream = urllib.request.urlopen(url + "/events", timeout=10)
    reader, lines = read_events(stream, lambda line: line.startswith("data:") and '"kind":"rcpt"' in line)
    with smtplib.SMTP("127.0.0.10", port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("sender@example.org")
        code, _ = smtp.rcpt("user@example.com")
    assert code == 451
    reader.join(10)
    stream.close()
    smtp_events = [json.loads(lines[i + 1].removeprefix("data: ")) for i, x in enumerate(lines) if x == "event: smtp"]
    assert [e["kind"] for e in smtp_events][-2:] == ["connect", "rcpt"], lines  # as they happened
    deadline = time.monotonic() + 10
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not any(e["kind"] == "rcpt" for e in events):
        status, events = call("GET", url + "/smtp/events?since=0")
        time.sleep(0.05)
    assert status == 200
    rcpt = next(e for e in events if e["kind"] == "rcpt")
    assert rcpt["host"] == "mx1.example.com." and rcpt["reply"].startswith("451")
    first = events[0]["seq"]
    assert [e["seq"] for e in call("GET", f"{url}/smtp/events?since={first}")[1]] == [e["seq"] for e in events[1:]]


def test_a_runtime_change_notifies_the_secondaries(tmp_path: Path, procs: list[Serve]) -> None:
    secondary = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    secondary.bind(("127.0.0.1", 0))
    secondary.settimeout(10)
    try:
        zone = write(tmp_path / "example.com.yaml")
        p = Serve(str(zone), "--quiet", "--api", "127.0.0.1:0", "--notify", f"127.0.0.1:{secondary.getsockname()[1]}")
        procs.append(p)
        p.started()
        url = p.wait_err(r"control API on (http://\S+)").group(1)

        def answer_one() -> dns.message.Message:
            data, addr = secondary.recvfrom(4096)
            notify = dns.message.from_wire(data)
            secondary.sendto(dns.message.make_response(notify).to_wire(), addr)
            return notify

        assert answer_one().opcode() == dns.opcode.NOTIFY  # the one at start
        assert call("POST", url + "/records", {"owner": "mx9", "type": "A", "data": "127.0.0.19"})[0] == 201
        notify = answer_one()
        assert notify.opcode() == dns.opcode.NOTIFY and notify.question[0].name.to_text() == "example.com."
    finally:
        secondary.close()
