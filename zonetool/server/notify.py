"""NOTIFY (RFC 1996): tell secondaries that a zone changed, so they transfer it now, not at refresh.

Sent over UDP from a fresh socket, retried a few times until the secondary answers (RFC 1996
3.6); a secondary that never answers is reported, not fatal.
"""

from __future__ import annotations

import contextlib
import random
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from zonetool import tsig
from zonetool.names import Name
from zonetool.rrtypes import RRType
from zonetool.server.sockets import family_of

OPCODE_NOTIFY = 4  # RFC 1996 3.1
SOA = int(RRType.SOA)


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int
    key: tsig.Key | None = None  # the NOTIFY is signed with it (RFC 8945; the secondary's allow-notify key)

    @classmethod
    def parse(cls, text: str, keys: Mapping[Name, tsig.Key] | None = None) -> Target:
        """HOST:PORT, [V6]:PORT, or a bare host (port 53); `,key=NAME` signs the NOTIFY with a --tsig-key."""
        text, _, options = text.strip().partition(",")
        key = None
        if options:
            if not options.startswith("key="):
                raise ValueError(f"{options!r}: expected key=NAME after the comma")
            raw = options[4:]
            name = Name.from_text(raw if raw.endswith(".") else raw + ".")
            key = (keys or {}).get(name)
            if key is None:
                raise ValueError(f"no --tsig-key file defines the key {raw!r}")
        host, port = text, 53
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            if rest.startswith(":"):
                port = _port(rest[1:], text)
        elif text.count(":") == 1:
            host, _, p = text.partition(":")
            port = _port(p, text)
        family_of(host)  # raises a clear error for a non-address
        return cls(host, port, key)

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{whole!r}: the port must be a number 1..65535")
    return int(text)


def _message(origin: Name, msg_id: int) -> bytes:
    # Header: ID, flags (opcode NOTIFY, AA set: RFC 1996 3.7), QDCOUNT 1; question <origin> SOA IN.
    flags = (OPCODE_NOTIFY << 11) | 0x0400
    header = msg_id.to_bytes(2, "big") + flags.to_bytes(2, "big") + (1).to_bytes(2, "big") + bytes(6)
    qname = b"".join(len(label).to_bytes(1, "big") + label for label in origin.labels) + b"\x00"
    return header + qname + SOA.to_bytes(2, "big") + (1).to_bytes(2, "big")


class ReplyCheck:
    """Says once per secondary and problem that the answer to a signed NOTIFY was not signed right
    (the answer still counts: a secondary that answers has the NOTIFY; a false answer only costs a
    refresh), so a key mismatch shows in the log without a line per zone."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self._said: set[tuple[str, str]] = set()

    def __call__(self, origin: Name, target: Target, problem: str) -> None:
        if (str(target), problem) not in self._said:
            self._said.add((str(target), problem))
            self.say(f"NOTIFY {origin.to_text()} to {target}: the answer to our signed NOTIFY: {problem} "
                     "(said once for this secondary)")


def send_notify(origin: Name, target: Target, *, timeout: float = 1.0, tries: int = 3,
                check: Callable[[Name, Target, str], None] | None = None) -> int | None:
    """Send one NOTIFY and wait for its answer; returns the answer's RCODE, or None if none came.
    A signed NOTIFY's answer is checked (tsig.reply_problem); `check` hears what is wrong with it."""
    msg_id = random.randrange(1 << 16)
    packet = _message(origin, msg_id)
    mac = b""
    if target.key is not None:
        packet, mac = tsig.sign_request(packet, target.key, int(time.time()))
    with socket.socket(family_of(target.host), socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        for _ in range(tries):
            with contextlib.suppress(OSError):
                sock.sendto(packet, (target.host, target.port))
            try:
                while True:
                    data, _addr = sock.recvfrom(4096)
                    if len(data) >= 4 and int.from_bytes(data[:2], "big") == msg_id and data[2] & 0x80:
                        if target.key is not None and check is not None:
                            problem = tsig.reply_problem(data, target.key, mac, int(time.time()))
                            if problem is not None:
                                check(origin, target, problem)
                        return data[3] & 0x0F
            except (TimeoutError, OSError):
                continue
    return None
