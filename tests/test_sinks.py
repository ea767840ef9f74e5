"""SMTP sinks: real aiosmtpd servers on loopback addresses, driven by smtplib."""

from __future__ import annotations

import smtplib
import socket

import pytest
from conftest import zonetool_exe

from zonetool.harness.sinks import MailSinks, SinkError, exchangers, free_port
from zonetool.names import Name
from zonetool.rrtypes import parse_rdata
from zonetool.zone import Record, Zone

MX1, MX2 = "127.0.0.10", "127.0.0.11"
MSG = "From: a@sender.test\r\nTo: user@example.com\r\nSubject: t\r\n\r\nhello\r\n"


@pytest.fixture
def sinks() -> MailSinks:
    port = free_port([MX1, MX2])
    s = MailSinks(ports={25: port})
    s.add("mx1.example.com", MX1)
    s.add("mx2.example.com", MX2)
    with s:
        yield s


def send(address: str, port: int, timeout: float = 5.0) -> None:
    with smtplib.SMTP(address, port, local_hostname="sender.test", timeout=timeout) as smtp:
        smtp.sendmail("a@sender.test", ["user@example.com"], MSG)


def test_accept_records_connection_and_message_with_envelope(sinks: MailSinks) -> None:
    send(*sinks.address_of("mx2.example.com"))
    assert sinks.hosts_tried() == ["mx2.example.com."]
    assert sinks.delivered_to() == ["mx2.example.com."]
    msg = sinks.messages[0]
    assert msg.mail_from == "a@sender.test" and msg.recipients == ("user@example.com",)
    assert b"hello" in msg.data and msg.address == MX2
    assert [e.kind for e in sinks.events] == ["connect", "rcpt", "message"]
    assert "message  mx2.example.com." in sinks.report()


def test_tempfail_and_reject_answer_rcpt(sinks: MailSinks) -> None:
    sinks.behave("mx1.example.com", "tempfail")
    sinks.behave("mx2.example.com.", "reject")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as temp:
        send(*sinks.address_of("mx1.example.com"))
    assert temp.value.recipients["user@example.com"][0] == 451
    with pytest.raises(smtplib.SMTPRecipientsRefused) as perm:
        send(*sinks.address_of("mx2.example.com"))
    assert perm.value.recipients["user@example.com"][0] == 550
    assert sinks.messages == []
    assert [(e.host, e.reply[:3]) for e in sinks.events if e.kind == "rcpt"] == [
        ("mx1.example.com.", "451"),
        ("mx2.example.com.", "550"),
    ]


def test_tempfail_greeting_refuse_hang_closed(sinks: MailSinks) -> None:
    address, port = sinks.address_of("mx1.example.com")
    sinks.behave("mx1.example.com", "tempfail-greeting")
    with pytest.raises(smtplib.SMTPConnectError) as greeting:
        smtplib.SMTP(address, port, timeout=5)
    assert greeting.value.smtp_code == 421

    sinks.behave("mx1.example.com", "refuse")
    with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError)):
        send(address, port)

    sinks.behave("mx1.example.com", "hang")
    with pytest.raises((TimeoutError, socket.timeout, smtplib.SMTPServerDisconnected)):
        send(address, port, timeout=0.5)

    sinks.behave("mx1.example.com", "closed")
    with pytest.raises(ConnectionRefusedError):
        send(address, port)

    sinks.behave("mx1.example.com", "accept")  # listening again
    send(address, port)
    assert [e.behaviour for e in sinks.attempts] == ["tempfail-greeting", "refuse", "hang", "accept"]
    assert sinks.delivered_to() == ["mx1.example.com."]


def test_order_across_sinks_and_clear(sinks: MailSinks) -> None:
    sinks.behave("mx1.example.com", "tempfail-greeting")
    for host in ("mx1.example.com", "mx2.example.com"):
        try:
            send(*sinks.address_of(host))
        except smtplib.SMTPConnectError:
            continue
    assert sinks.hosts_tried() == ["mx1.example.com.", "mx2.example.com."]
    assert [e.seq for e in sinks.events] == sorted(e.seq for e in sinks.events)
    sinks.clear()
    assert sinks.events == []


def test_unknown_host_and_behaviour(sinks: MailSinks) -> None:
    with pytest.raises(KeyError, match="no sink for"):
        sinks.behave("nope.example.com", "accept")
    with pytest.raises(ValueError, match="unknown sink behaviour"):
        sinks.behave("mx1.example.com", "explode")


def zone(lines: str) -> Zone:
    origin = Name.from_text("example.com.")
    z = Zone(origin)
    for line in lines.strip().splitlines():
        owner, rtype, rest = line.split(None, 2)
        z.add(Record(Name.from_text(owner, origin), 3600, parse_rdata(rtype, rest, origin)))
    return z


ZONE = """@ MX 10 mx1
@ MX 20 mx2
@ MX 30 far.example.net.
_submission._tcp SRV 0 0 587 mx1
_imaps._tcp SRV 0 0 993 imap
mx1 A 127.0.0.10
mx1 AAAA ::1
mx2 A 192.0.2.11
imap A 127.0.0.30"""


def test_exchangers_from_zone() -> None:
    found, skipped = exchangers([zone(ZONE)])
    assert sorted(found) == [
        ("mx1.example.com.", "127.0.0.10", 25),
        ("mx1.example.com.", "127.0.0.10", 587),
        ("mx1.example.com.", "::1", 25),
        ("mx1.example.com.", "::1", 587),
    ]
    assert any("192.0.2.11" in s and "loopback" in s for s in skipped)
    assert any("far.example.net." in s for s in skipped)
    assert not any("imap" in h for h, _, _ in found)  # only SMTP services get sinks


def test_an_exchanger_that_is_a_cname_gets_a_sink_at_the_canonical_address() -> None:
    """Senders follow an MX that points to a CNAME (RFC 2181 10.3 forbids it, they cope): the sink
    must listen where they connect, named for the MX target they connect as."""
    lines = "@ MX 10 alias\nalias CNAME real\nreal A 127.0.0.19\n@ MX 20 loop\nloop CNAME loop"
    found, skipped = exchangers([zone(lines)])
    assert found == [("alias.example.com.", "127.0.0.19", 25)]
    assert any(s.startswith("loop.example.com.") for s in skipped)  # a CNAME loop: no sink, no hang


def test_sinks_from_zone_with_port_mapping() -> None:
    port = free_port(["127.0.0.10", "::1"])
    with MailSinks(ports={25: port, 587: port + 0}) as s:
        s.add_zones([zone(ZONE)], behaviours={"mx1.example.com": "accept"})
        assert {(ep.address, ep.port) for ep in s.endpoints} == {("127.0.0.10", port), ("::1", port)}
        send("::1", port)
        send("127.0.0.10", port)
        assert [e.address for e in s.messages] == ["::1", "127.0.0.10"]


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.10", 0))
        holder.listen()
        port = holder.getsockname()[1]
        s = MailSinks()
        s.add("mx1.example.com", "127.0.0.10", port)
        with pytest.raises(SinkError, match=r"cannot listen on \[127.0.0.10\]"):
            s.start()
        assert not s.running


# ---------------------------------------------------------------------------
# zonetool serve --smtp: sinks beside the DNS server, events on stdout
# ---------------------------------------------------------------------------
SERVE_ZONE = """
origin: sinks.example
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [127.0.0.10]}
    - {host: backup, priority: 20, addresses: [127.0.0.12]}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
"""


def _zonetool() -> str:
    return zonetool_exe()


def test_serve_smtp_runs_sinks_with_behaviours(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import select
    import subprocess
    import time

    (tmp_path / "sinks.example.yaml").write_text(SERVE_ZONE)
    port = free_port(["127.0.0.10", "127.0.0.12"])
    proc = subprocess.Popen(
        [_zonetool(), "serve", str(tmp_path), "--port", "0", "--smtp", "--smtp-port", f"25={port}",
         "--smtp-behaviour", "mx1.sinks.example=tempfail-greeting"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("serving" in line for line in seen):
            if select.select([proc.stderr], [], [], 0.5)[0]:
                seen.append(proc.stderr.readline())
        text = "".join(seen)
        assert f"smtp sink for mx1.sinks.example. on [127.0.0.10]:{port} (tempfail-greeting)" in text, text
        with pytest.raises(smtplib.SMTPConnectError):
            smtplib.SMTP("127.0.0.10", port, timeout=5)
        send("127.0.0.12", port)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "connect  mx1.sinks.example. [127.0.0.10]" in out
    assert "message  backup.sinks.example. [127.0.0.12]" in out and "<user@example.com>" in out


def test_serve_smtp_bad_options_are_clear(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    (tmp_path / "sinks.example.yaml").write_text(SERVE_ZONE)
    for extra, message in (
        (["--smtp-behaviour", "nohost.sinks.example=refuse"], "no sink for nohost.sinks.example"),
        (["--smtp-behaviour", "mx1.sinks.example=explode"], "behaviour is one of"),
        (["--smtp-port", "25:2525"], "RECORD_PORT=LISTEN_PORT"),
    ):
        done = subprocess.run(
            [_zonetool(), "serve", str(tmp_path), "--port", "0", "--smtp", *extra],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_stop_gives_back_threads_and_ports_even_with_a_hanging_client() -> None:
    import threading
    import time

    port = free_port(["127.0.0.10"])
    s = MailSinks(ports={25: port})
    s.add("mx1.example.com", "127.0.0.10", behaviour="hang")
    s.start()
    client = socket.create_connection(("127.0.0.10", port), timeout=5)  # held open, never greeted
    try:
        deadline = time.monotonic() + 5
        while not s.attempts and time.monotonic() < deadline:  # the loop accepts it in its own thread
            time.sleep(0.01)
        s.stop()
        assert not any(t.name == "zonetool-smtp-sinks" for t in threading.enumerate())
        with socket.socket() as again:
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind(("127.0.0.10", port))  # the listening socket is gone
        assert client.recv(1) == b""  # the hanging connection was closed, not leaked
    finally:
        client.close()
    assert [e.behaviour for e in s.attempts] == ["hang"]


def test_sinks_follow_a_reload(sinks: MailSinks) -> None:
    """New exchangers get sinks, gone ones lose theirs; the sinks that stay keep behaviour and events."""

    def zone(*hosts: tuple[str, str]) -> Zone:
        origin = Name.from_text("example.com.")
        z = Zone(origin)
        for i, (host, address) in enumerate(hosts):
            z.add(Record(origin, 300, parse_rdata("MX", f"{10 * (i + 1)} {host}", origin)))
            z.add(Record(Name.from_text(host, origin), 300, parse_rdata("A", address, origin)))
        return z

    port = sinks.port_for(25)
    sinks.behave("mx2.example.com", "reject")
    send(MX1, port)
    mx3 = "127.0.0.13"
    opened, closed = sinks.follow_zones([zone(("mx2", MX2), ("mx3", mx3))])
    assert [ep.name for ep in opened] == ["mx3.example.com."] and [ep.name for ep in closed] == ["mx1.example.com."]
    send(mx3, port)  # the new sink answers at once
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((MX1, port), timeout=5).close()  # the old one is gone
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(MX2, port)  # mx2 stayed, and stayed rejecting
    assert sinks.delivered_to() == ["mx1.example.com.", "mx3.example.com."]  # events from before are kept


def test_serve_smtp_sinks_follow_the_zone_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import contextlib
    import queue
    import subprocess
    import threading
    import time

    path = tmp_path / "sinks.example.yaml"
    path.write_text(SERVE_ZONE)
    port = free_port(["127.0.0.10", "127.0.0.12", "127.0.0.14"])
    proc = subprocess.Popen(
        [_zonetool(), "serve", str(tmp_path), "--port", "0", "--smtp", "--smtp-port", f"25={port}", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
    seen: list[str] = []

    def wait_for(text: str) -> str:
        deadline = time.monotonic() + 30
        while not any(text in line for line in seen) and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=0.5))
        assert any(text in line for line in seen), "".join(seen)
        return "".join(seen)

    try:
        wait_for("serving")
        path.write_text(SERVE_ZONE.replace("backup, priority: 20, addresses: [127.0.0.12]",
                                           "mx2, priority: 20, addresses: [127.0.0.14]"))  # fmt: skip
        text = wait_for("closed")
        assert f"smtp sink for mx2.sinks.example. on [127.0.0.14]:{port} (accept)" in text, text
        assert f"smtp sink for backup.sinks.example. on [127.0.0.12]:{port} closed" in text, text
        send("127.0.0.14", port)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.12", port), timeout=5).close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
