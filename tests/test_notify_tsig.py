"""The answer to a signed NOTIFY is checked (issue 13, 1; RFC 8945 5.4): a secondary's answer that
is unsigned, signed with another secret, or carries a TSIG error is said once per secondary.

dnspython signs the replies of the in-process checks; then NSD, Knot and BIND `named`, started by
the test, answer zonetool's signed NOTIFY: with the key they share, nothing is said; with another
secret for the same key name, zonetool says so once however many NOTIFYs go out.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.tsig
import pytest
from secondaries import KEY as KEY_NAME
from secondaries import SECONDARIES, launch
from test_server_cli import Serve, start
from test_server_secondary import free_port, primaries, processes, wait_until  # noqa: F401 (fixtures)
from test_tsig_secondaries import keygen, zone_text

from zonetool import tsig
from zonetool.atomic import write_atomic
from zonetool.names import Name
from zonetool.server.notify import ReplyCheck, Target, send_notify

SECRET = b"0123456789abcdef0123456789abcdef"
KEY = tsig.Key(Name.from_text("xfr.example."), "hmac-sha256", SECRET)
RING = {dns.name.from_text("xfr.example."): dns.tsig.Key("xfr.example.", SECRET, "hmac-sha256")}
OTHER = {dns.name.from_text("xfr.example."): dns.tsig.Key("xfr.example.", b"another secret, same name", "hmac-sha256")}


def reply_to(signed: bytes, how: str) -> bytes:
    """dnspython's answer to our signed request: signed right, unsigned, another secret, or late."""
    query = dns.message.from_wire(signed, keyring=RING)
    answer = dns.message.make_response(query)
    if how == "unsigned":
        return _unsigned(query)
    if how == "other":
        answer.use_tsig(OTHER, keyname="xfr.example.")
    return answer.to_wire()


def _unsigned(query: dns.message.Message) -> bytes:
    plain = dns.message.Message(query.id)
    plain.flags = dns.flags.QR | dns.flags.AA
    plain.set_opcode(query.opcode())
    plain.question = list(query.question)
    return plain.to_wire()


@pytest.mark.parametrize(("how", "problem"), [
    ("right", None), ("unsigned", "not signed"), ("other", "a MAC that does not verify"),
])
def test_reply_problem_names_what_is_wrong_with_a_reply(how: str, problem: str | None) -> None:
    signed, mac = tsig.sign_request(dns.message.make_query("example.com.", "SOA").to_wire(), KEY, int(time.time()))
    said = tsig.reply_problem(reply_to(signed, how), KEY, mac, int(time.time()))
    assert said == problem or (problem is not None and said is not None and said.startswith(problem))
    if how == "right":
        late = int(time.time()) + 3600  # our clock an hour on: the reply's time is outside its fudge
        assert "beyond its fudge" in (tsig.reply_problem(reply_to(signed, how), KEY, mac, late) or "")
        assert tsig.reply_problem(reply_to(signed, how), KEY, b"\x00" * 32) is not None  # not over our MAC


@pytest.fixture
def fake_secondary() -> Iterator[Callable[[str], int]]:
    """A UDP socket answering NOTIFYs the given way (one thread per test)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    state = {"how": "right", "stop": False}

    def serve() -> None:
        while not state["stop"]:
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            sock.sendto(reply_to(data, str(state["how"])), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def answering(how: str) -> int:
        state["how"] = how
        return int(sock.getsockname()[1])

    yield answering
    state["stop"] = True
    thread.join(2)
    sock.close()


def test_a_bad_answer_to_a_signed_notify_is_said_once_per_secondary(fake_secondary: Callable[[str], int]) -> None:
    said: list[str] = []
    check = ReplyCheck(said.append)
    origin = Name.from_text("example.com.")
    target = Target("127.0.0.1", fake_secondary("right"), KEY)
    assert send_notify(origin, target, check=check) == 0 and said == []
    fake_secondary("unsigned")
    for _ in range(3):
        assert send_notify(origin, target, check=check) == 0  # the answer still counts
    fake_secondary("other")
    assert send_notify(Name.from_text("example.net."), target, check=check) == 0
    assert len(said) == 2, said
    assert ": not signed (said once for this secondary)" in said[0] and "example.com." in said[0]
    assert "a MAC that does not verify" in said[1]


def listening(port: int) -> bool:
    """Does anything answer DNS on `port` (any RCODE: the secondary has no zone yet)?"""
    import dns.exception
    import dns.query

    try:
        dns.query.udp(dns.message.make_query("example.com.", "SOA"), "127.0.0.1", port=port, timeout=0.5)
    except (dns.exception.DNSException, OSError):
        return False
    return True


@pytest.mark.parametrize("kind", list(SECONDARIES))
@pytest.mark.parametrize("secret_matches", [True, False], ids=["same-secret", "other-secret"])
def test_a_real_secondary_s_answer_to_signed_notify_is_checked(
    kind: str, secret_matches: bool, tmp_path: Path, primaries: list[Serve],  # noqa: F811
    processes: list[subprocess.Popen[str]],  # noqa: F811
) -> None:
    secret = keygen(tmp_path / "xfr.key")
    theirs = secret if secret_matches else keygen(tmp_path / "other.key")
    zone = tmp_path / "example.com.yaml"
    write_atomic(zone, zone_text(1, 10))
    port = free_port()
    launch(SECONDARIES[kind](tmp_path, port, free_port(), theirs), tmp_path, processes)  # its primary: nobody
    assert wait_until(lambda: listening(port), timeout=30), (tmp_path / "secondary.log").read_text()[-2000:]
    primary = start(primaries, str(zone), "--quiet", "--tsig-key", str(tmp_path / "xfr.key"),
                    "--allow-transfer", f"key={KEY_NAME}", "--notify", f"127.0.0.1:{port},key={KEY_NAME}")
    primary.wait_err(r"NOTIFY example\.com\. to 127\.0\.0\.1:\d+: (acknowledged|answered)", timeout=30)
    write_atomic(zone, zone_text(2, 10))  # a second NOTIFY
    primary.wait_err(r"reloaded", timeout=30)
    primary.wait_err(r"NOTIFY example\.com\. to 127\.0\.0\.1:\d+: (acknowledged|answered)", timeout=30)
    said = [line for line in primary.err_lines if "the answer to our signed NOTIFY" in line]
    log = (tmp_path / "secondary.log").read_text()[-2000:]
    if secret_matches:
        assert said == [], f"{kind}'s signed answer did not verify: {said}\n{log}"
        assert any("acknowledged" in line for line in primary.err_lines)
    else:
        assert len(said) == 1, f"{kind}: {said}\n{primary.err_lines}\n{log}"  # once, for two NOTIFYs
        assert "BADSIG" in said[0] or "not signed" in said[0] or "does not verify" in said[0]
