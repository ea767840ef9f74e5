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

from zonetool.dnssec.verify import Rrsig, check
from zonetool.faults import FaultSet, effect, validator_event
from zonetool.harness.plan import OUTSIDE, RCODE_ERRORS, REFERRAL, TIMEOUT, Result
from zonetool.names import Name
from zonetool.rrtypes import Rdata, RRType
from zonetool.wire import Message, WireError, make_query, parse_message
from zonetool.zone import Zone

CNAME_CODE, RRSIG_CODE, DNSKEY_CODE = int(RRType.CNAME), int(RRType.RRSIG), int(RRType.DNSKEY)
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

    With `dnssec` (the default, EDNS on) it asks with DO and checks each answer's signatures
    with its zone's DNSKEY RRset (zonetool.dnssec.verify), recording the event of the validator
    fault the answer looks like, so a lab's faults show without its YAML. A zone's apex comes from
    the signer of its RRSIGs, or a SOA question (its answer, or the SOA of its authority section);
    its keys are asked once and kept, as a validator keeps them: after changing faults, use a
    new resolver. Unsigned zones cost that one SOA and one DNSKEY question and nothing more.
    """

    host: str
    port: int = 53
    timeout: float = 2.0
    edns: bool = True
    dnssec: bool = True
    asked: list[tuple[Name, int]] = field(default_factory=list)
    _apices: dict[Name, Name | None] = field(default_factory=dict, repr=False)
    _keys: dict[Name, tuple[bytes, ...] | None] = field(default_factory=dict, repr=False)

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
        started = time.monotonic()
        try:
            reply = self._exchange(name, qtype, events)
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
        if self.dnssec and self.edns:
            verdict = self._judge(reply)
            event = validator_event(verdict) if verdict is not None else None
            if event is not None:
                events.append(event)
        rrsets = [(r.owner, r.code, [r.rdata]) for r in reply.answer]
        records, aliases, _final = _walk(name, qtype, rrsets)
        # A SOA in authority after aliases: the server followed them and found nothing at the end.
        ended = any(r.code == RRType.SOA for r in reply.authority)
        return Result(rcode, tuple(records), tuple(aliases), None), ended

    def _exchange(self, name: Name, qtype: int, events: list[str]) -> Message | None:
        qid = secrets.randbelow(65536)
        packet = make_query(name, qtype, qid, edns_size=1232 if self.edns else None, do=self.dnssec)
        data = self._udp(packet, qid, name, qtype, events)
        if data is None:
            return None
        reply = parse_message(data)
        if reply.tc:
            events.append("truncated")  # RFC 1035 4.2.1: ask again over TCP
            data = self._tcp(packet)
            return parse_message(data) if data is not None else None
        return reply

    # -- what a validator would say ---------------------------------------------
    def _judge(self, reply: Message) -> str | None:
        """The first thing wrong with the signatures of the answer section, or of the authority
        section of a negative answer (RFC 4035 5.3); None when each RRset of a signed zone holds."""
        sigs: dict[tuple[Name, int], list[Rrsig]] = {}
        rrsets: dict[tuple[Name, int], list[Rdata]] = {}
        for r in reply.answer or reply.authority:
            if r.code == RRSIG_CODE:
                sig = Rrsig.parse(r.rdata.data)  # type: ignore[attr-defined]  # RRSIGs are kept as octets
                sigs.setdefault((r.owner, sig.covered), []).append(sig)
            else:
                rrsets.setdefault((r.owner, r.code), []).append(r.rdata)
        now = int(time.time())
        for (owner, code), rdatas in rrsets.items():
            held = sigs.get((owner, code), [])
            apex = held[0].signer if held else self._apex(owner, reply)
            keys = self._dnskeys(apex) if apex is not None else None
            if keys is None:
                continue  # an unsigned zone: nothing for a validator to check
            if not keys:
                return "no-dnskey"
            verdict = check(owner, code, rdatas, held, keys, now)
            if verdict is not None:
                return verdict
        return None

    def _apex(self, owner: Name, reply: Message) -> Name | None:
        """The apex of the zone `owner` is in: the SOA of a negative answer, else a SOA question's (RFC 2136 4)."""
        for r in reply.authority:
            if r.code == RRType.SOA and owner.is_subdomain_of(r.owner):
                return r.owner
        if owner not in self._apices:
            found = self._ask(owner, int(RRType.SOA))
            records = (*found.answer, *found.authority) if found is not None else ()
            self._apices[owner] = next((r.owner for r in records
                                        if r.code == RRType.SOA and owner.is_subdomain_of(r.owner)), None)
        return self._apices[owner]

    def _dnskeys(self, apex: Name) -> tuple[bytes, ...] | None:
        """The zone's DNSKEY RDATA; () when missing from a zone whose answers are signed; None: unsigned."""
        if apex not in self._keys:
            found = self._ask(apex, DNSKEY_CODE)
            keys: tuple[bytes, ...] | None = None
            if found is not None:
                keys = tuple(r.rdata.data for r in found.answer  # type: ignore[attr-defined]
                             if r.code == DNSKEY_CODE and r.owner == apex)
                if not keys and not any(r.code == RRSIG_CODE for r in (*found.answer, *found.authority)):
                    keys = None
            self._keys[apex] = keys
        return self._keys[apex]

    def _ask(self, name: Name, qtype: int) -> Message | None:
        """A question of the signature check: asked like the rest, its events not the answer's."""
        self.asked.append((name, qtype))
        try:
            reply = self._exchange(name, qtype, [])
        except (OSError, WireError):
            return None
        return reply if reply is not None and reply.rcode in (0, 3) else None

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
