"""Resolvers for the route planner: straight from loaded zones, or over the wire from a server.

Both return `plan.Result`, so a plan made from YAML files and one made by asking a running
server (ours, NSD, Knot, a recursive resolver) can be compared line by line.
"""

from __future__ import annotations

import secrets
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from zonetool.faults import FaultSet, effect
from zonetool.harness.plan import OUTSIDE, RCODE_ERRORS, REFERRAL, TIMEOUT, Result
from zonetool.names import Name
from zonetool.rrtypes import Rdata, RRType
from zonetool.wire import Message, WireError, make_query, parse_message
from zonetool.zone import Zone

CNAME_CODE = int(RRType.CNAME)
MAX_CHAIN = 16  # aliases followed before calling it a loop


class ZoneResolver:
    """Answers from zones in memory through `lookup`, with the same faults the server would apply.

    A fault is turned into what a compliant resolver would make of it, from its row of
    `zonetool.faults.EFFECTS`: no reply or a wrong ID (discarded, RFC 5452 9.1) become a timeout,
    an RCODE that RCODE, TC over UDP a retry over TCP that succeeds, a delay a late but normal
    answer; the row's event is recorded for the route notes. It does not validate DNSSEC: a
    validator fault (bogus-signature, ...) in a signed zone gives the normal answer and its event,
    whose note says that a validating resolver would answer SERVFAIL; in an unsigned zone, no event.
    """

    def __init__(self, zones: Sequence[Zone], faults: FaultSet | None = None) -> None:
        from zonetool.lookup import ZoneSet

        self.zoneset = ZoneSet(zones)
        self.faults = faults if faults is not None else FaultSet()
        self.asked: list[tuple[Name, int]] = []

    def resolve(self, name: Name, qtype: int) -> Result:
        chain: list[Name] = []
        events: list[str] = []
        current = name
        for _ in range(MAX_CHAIN):
            self.asked.append((current, qtype))
            fault = self.faults.match(current, qtype)
            if fault is not None:
                events.append(f"fault:{fault.describe()}")
                how = effect(fault.action)
                event = how.event_text(fault.delay_ms)
                if not how.applies(True, self._signed(current)):
                    event = None  # a validator fault changes nothing in an unsigned zone (the server's neither)
                if event is not None:
                    events.append(event)
                if how.drop or how.wrong_id:  # a reply with a wrong ID is discarded (RFC 5452 9.1)
                    return Result(None, (), tuple(chain), TIMEOUT, tuple(events))
                if how.rcode is not None:
                    return Result(how.rcode, (), tuple(chain), RCODE_ERRORS.get(how.rcode), tuple(events))
            step = self._one(current, qtype)
            if isinstance(step, Result):
                return Result(step.rcode, step.records, (*chain, *step.chain), step.error, tuple(events))
            chain.extend(step)
            current = step[-1]
        return Result(2, (), tuple(chain), "cname-loop", tuple(events))

    def _signed(self, name: Name) -> bool:
        zone = self.zoneset.find(name)
        return zone is not None and zone.dnssec is not None

    def _one(self, name: Name, qtype: int) -> Result | list[Name]:
        """One lookup; a list of aliases means: the chain leaves the served zones, ask for its end."""
        from zonetool.lookup import lookup

        ans = lookup(self.zoneset, name, qtype)
        if ans.zone is None and ans.rcode == 5:
            return Result(5, (), (), OUTSIDE)
        if not ans.authoritative:
            return Result(0, (), (), REFERRAL)
        records, aliases, final = _walk(name, qtype, ((rs.owner, rs.code, rs.rdatas) for rs in ans.answer))
        error = None if ans.rcode in (0, 3) else RCODE_ERRORS.get(ans.rcode, f"rcode {ans.rcode}")
        if records or not aliases or ans.rcode != 0:
            return Result(ans.rcode, tuple(records), tuple(aliases), error)
        if final == name or final in aliases[:-1]:
            return Result(2, (), tuple(aliases), "cname-loop")
        if self.zoneset.find(final) is None:
            return aliases  # lookup stops where our zones end; resolve() asks for the target
        return Result(0, (), tuple(aliases), None)  # NODATA at the end of the chain


def _walk(qname: Name, qtype: int, rrsets: object) -> tuple[list[Rdata], list[Name], Name]:
    """Follow CNAMEs from `qname` through an answer section; the data of `qtype` at the end."""
    by_owner: dict[tuple[Name, int], list[Rdata]] = {}
    for owner, code, rdatas in rrsets:  # type: ignore[attr-defined]
        by_owner.setdefault((owner, code), []).extend(rdatas)
    current = qname
    aliases: list[Name] = []
    for _ in range(MAX_CHAIN):
        data = by_owner.get((current, qtype))
        if data:
            return data, aliases, current
        cname = by_owner.get((current, CNAME_CODE))
        if not cname or qtype == CNAME_CODE:
            break
        current = cname[0].target  # type: ignore[attr-defined]
        aliases.append(current)
        if aliases.count(current) > 1:
            break
    return [], aliases, current


@dataclass(slots=True)
class WireResolver:
    """Asks a DNS server over UDP (EDNS 1232), retrying over TCP when the answer is truncated.

    Replies with the wrong ID or question are discarded and counted (RFC 5452 9.1). No retries
    on timeout by default: a test wants one lookup to cost one timeout.
    """

    host: str
    port: int = 53
    timeout: float = 2.0
    edns: bool = True
    asked: list[tuple[Name, int]] = field(default_factory=list)

    def resolve(self, name: Name, qtype: int) -> Result:
        chain: list[Name] = []
        events: list[str] = []
        current = name
        for _ in range(MAX_CHAIN):
            res, followed_to_end = self._query(current, qtype, events)
            chain.extend(res.chain)
            done = res.error is not None or res.rcode != 0 or res.records or not res.chain or followed_to_end
            if done:
                return Result(res.rcode, res.records, tuple(chain), res.error, tuple(events))
            if chain[-1] == name or chain[-1] in chain[:-1]:
                break
            current = chain[-1]  # the server stopped at an alias it does not serve: ask for the target
        return Result(2, (), tuple(chain), "cname-loop", tuple(events))

    # -- one question -----------------------------------------------------------
    def _query(self, name: Name, qtype: int, events: list[str]) -> tuple[Result, bool]:
        """One exchange; the flag says the server followed the aliases to their end (SOA given)."""
        self.asked.append((name, qtype))
        qid = secrets.randbelow(65536)
        packet = make_query(name, qtype, qid, edns_size=1232 if self.edns else None)
        started = time.monotonic()
        try:
            data = self._udp(packet, qid, name, qtype, events)
            if data is not None:
                reply: Message | None = parse_message(data)
                if reply is not None and reply.tc:
                    events.append("truncated")  # RFC 1035 4.2.1: ask again over TCP
                    data = self._tcp(packet)
                    reply = parse_message(data) if data is not None else None
            else:
                reply = None
        except OSError as exc:
            return Result(None, (), (), f"network: {exc.strerror or exc}"), False
        except WireError as exc:
            return Result(None, (), (), f"unreadable reply: {exc}"), False
        if reply is None:
            return Result(None, (), (), TIMEOUT), False
        elapsed = int((time.monotonic() - started) * 1000)
        if elapsed >= 500:
            events.append(f"delay:{elapsed}")
        rcode = reply.rcode
        if rcode not in (0, 3):
            return Result(rcode, (), (), RCODE_ERRORS.get(rcode, f"rcode {rcode}")), False
        if not reply.aa and not reply.answer and any(r.code == RRType.NS for r in reply.authority):
            return Result(0, (), (), REFERRAL), False
        rrsets = [(r.owner, r.code, [r.rdata]) for r in reply.answer]
        records, aliases, _final = _walk(name, qtype, rrsets)
        # A SOA in authority after aliases: the server followed them and found nothing at the end.
        ended = any(r.code == RRType.SOA for r in reply.authority)
        return Result(rcode, tuple(records), tuple(aliases), None), ended

    def _family(self) -> int:
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    def _udp(self, packet: bytes, qid: int, name: Name, qtype: int, events: list[str]) -> bytes | None:
        with socket.socket(self._family(), socket.SOCK_DGRAM) as sock:
            sock.connect((self.host, self.port))
            sock.send(packet)
            deadline = time.monotonic() + self.timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                sock.settimeout(left)
                try:
                    data = sock.recv(65535)
                except TimeoutError:
                    return None
                except ConnectionRefusedError:
                    return None  # ICMP port unreachable: nobody listens; a resolver sees no answer
                if len(data) < 12:
                    continue
                if struct.unpack("!H", data[:2])[0] != qid or not _same_question(data, name, qtype):
                    events.append("bad-id")  # RFC 5452 9.1: not our answer, keep waiting
                    continue
                return data

    def _tcp(self, packet: bytes) -> bytes | None:
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
            sock.sendall(struct.pack("!H", len(packet)) + packet)
            head = _recv_exact(sock, 2)
            if head is None:
                return None
            return _recv_exact(sock, struct.unpack("!H", head)[0])


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    try:
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
    except TimeoutError:
        return None
    return buf


def _same_question(data: bytes, name: Name, qtype: int) -> bool:
    """The reply's question is ours (case-insensitively; RFC 5452 9.1)."""
    pos, labels = 12, []
    try:
        if struct.unpack("!H", data[4:6])[0] != 1:
            return False
        while data[pos]:
            n = data[pos]
            labels.append(data[pos + 1 : pos + 1 + n])
            pos += 1 + n
        pos += 1
        return Name(tuple(labels)) == name and struct.unpack("!H", data[pos : pos + 2])[0] == qtype
    except (IndexError, struct.error):
        return False


def parse_server(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[V6]:PORT`, or a bare host (port 53)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "53"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host, int(port)
