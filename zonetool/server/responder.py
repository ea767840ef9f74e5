"""Bytes in, bytes out: the authoritative server's brain, with no sockets (transports call it).

Speed (issue 6): a packed answer is cached per (question in lower case, RD bit, size limit,
EDNS presence); a hit costs a dict look-up and a few slices that patch in the query's ID and
the question's letter case. That is exact because the packer compresses names
case-insensitively, so the only octets that depend on the query are the ID, RD and the
question itself. Zones and cache live together in one immutable snapshot swapped by a
single attribute store, so a reload can never pair new zones with old answers.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Protocol

from zonetool import ixfr, tsig, wire
from zonetool.faults import NORMAL, Effect, effect
from zonetool.lookup import (
    NOERROR,
    NOTAUTH,
    NOTIMP,
    RCODE_NAMES,
    REFUSED,
    SERVFAIL,
    Answer,
    ZoneSet,
    lookup,
    negative_soa,
)
from zonetool.names import Name
from zonetool.rrtypes import RRType, type_name
from zonetool.serial import serial_gt
from zonetool.server import acl
from zonetool.server.signing import OnlineSigner
from zonetool.server.trouble import Trouble
from zonetool.zone import Record, Zone

FORMERR = 1
BADVERS = 16  # RFC 6891 6.1.3, carried in the OPT extended rcode
AXFR, IXFR = int(RRType.AXFR), int(RRType.IXFR)
TCP_LIMIT = wire.MAX_MESSAGE
_PLAIN_HEADER = b"\x00\x01\x00\x00\x00\x00"  # QDCOUNT=1, ANCOUNT=0, NSCOUNT=0
MAX_CACHED = 4096  # octets: bigger answers (rare, TCP) are packed each time, so memory stays ~cache_size x 4 KiB
_OPT_HEAD = b"\x00\x00\x29"  # root owner, TYPE 41 (RFC 6891 6.1.2)
_TYPE_NAMES: dict[int, str] = {}
_OPCODE_NAMES = {1: "IQUERY", 2: "STATUS", 4: "NOTIFY", 5: "UPDATE", 6: "DSO"}  # RFC 1035, 1996, 2136, 8490


def _type_text(code: int) -> str:
    name = _TYPE_NAMES.get(code)
    if name is None:
        name = _TYPE_NAMES[code] = type_name(code)
    return name


class Fault(Protocol):
    action: str  # a row of zonetool.faults.EFFECTS
    delay_ms: int


class FaultMatcher(Protocol):
    def match(self, qname: Name, qtype: int) -> Fault | None: ...


@dataclass(slots=True)
class QueryInfo:
    """One line of the query log. `qname` is lower-case presentation text with the final dot."""

    client: tuple[str, int]
    transport: str  # "udp" | "tcp"
    qname: str
    qtype: str
    rcode: str
    answers: int
    fault: str | None = None


class Transfer:
    """The messages of one zone transfer over TCP, packed one at a time as the transport asks.

    Why lazy (issue 16): packed whole, a 100k-record zone held ~10 MB per client and stalled the
    event loop for a third of a second; as a sequence the transport sends one message per turn
    and only as fast as the client reads. Each iteration packs afresh from the zone it started
    with (a reload meanwhile does not mix versions). Records go in the zone's own order, not the
    canonical one: RFC 5936 2.2 fixes only the SOA first and last, and sorting 100k names would
    stall the loop again. A record that no message can carry ends the transfer with SERVFAIL
    (RFC 5936 2.2: an error RCODE ends it and the client keeps nothing); `problem` then names it.
    """

    __slots__ = ("_all", "_chain", "_data", "_our_udp", "_query", "_zone", "problem")

    def __init__(self, data: bytes, query: wire.Query, zone: Zone, our_udp: int,
                 chain: list[ixfr.Delta] | None = None) -> None:
        self._data, self._query, self._zone, self._our_udp = data, query, zone, our_udp
        self._chain = chain  # an incremental answer (RFC 1995 4): these deltas instead of every record
        self._all: list[bytes] | None = None
        self.problem: str | None = None

    # len() and [i] pack every message at once and keep them: for tests and small zones, never a transport
    def __len__(self) -> int:
        return len(self._packed())

    def __getitem__(self, index: int) -> bytes:
        return self._packed()[index]

    def _packed(self) -> list[bytes]:
        if self._all is None:
            self._all = list(iter(self))  # a generator: list() must not ask our own __len__
        return self._all

    def __iter__(self) -> Iterator[bytes]:
        zone = self._zone
        soa = zone.soa_record()
        assert soa is not None
        try:
            records = _zone_records(zone) if self._chain is None else ixfr.ixfr_records(self._chain)
            yield from wire.transfer_messages(self._data, self._query, records, soa)
        except wire.RecordTooBig as exc:
            self.problem = f"{exc}; the transfer of {zone.origin.to_text()} ended with SERVFAIL"
            yield wire.pack_error(self._data, SERVFAIL, self._query, our_udp=self._our_udp)


class SignedTransfer:
    """A transfer whose every message is signed as it is packed (RFC 8945 5.3.1), still lazy."""

    __slots__ = ("_signer", "_transfer")

    def __init__(self, transfer: Transfer, signer: tsig.Signer) -> None:
        self._transfer, self._signer = transfer, signer

    def __iter__(self) -> Iterator[bytes]:
        for message in self._transfer:
            yield self._signer.sign(message, int(time.time()))

    def __len__(self) -> int:
        return len(self._transfer)

    @property
    def problem(self) -> str | None:
        return self._transfer.problem


def _zone_records(zone: Zone) -> Iterator[Record]:
    """Every record but the SOA, node by node as stored (a snapshot of the nodes: no sort)."""
    for node in list(zone.nodes.values()):
        for code, rrset in list(node.items()):
            if code != RRType.SOA:
                yield from rrset.records


@dataclass(slots=True)
class Reply:
    """What to send: no message = stay silent; a `Transfer` (lazy, TCP only) for a zone transfer."""

    messages: list[bytes] | Transfer | SignedTransfer
    info: QueryInfo
    delay: float = 0.0
    close: bool = False  # TCP: the stream cannot be trusted any more; close it


class _Hit(Reply):
    """A cache hit: the log line is built only if someone reads `info` (a quiet server never does)."""

    __slots__ = ("_client", "_meta", "_transport")

    def __init__(self, message: bytes, client: tuple[str, int], transport: str, meta: tuple[str, str, str, int]):
        self.messages = [message]
        self.delay = 0.0
        self.close = False
        self._client, self._transport, self._meta = client, transport, meta

    @property  # type: ignore[override]
    def info(self) -> QueryInfo:
        return QueryInfo(self._client, self._transport, *self._meta)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    zoneset: ZoneSet
    # (qname case-folded, QTYPE+QCLASS, limit << 3 | DO << 2 | RD << 1 | EDNS) -> (header after the ID,
    # message after the question, log fields)
    cache: OrderedDict[tuple[bytes, bytes, int], tuple[bytes, bytes, tuple[str, str, str, int]]] = field(
        default_factory=OrderedDict
    )
    # UDP only: the query's octets after the ID -> the answer's octets after the ID (see udp_answerer)
    exact: dict[bytes, bytes] = field(default_factory=dict)


class Responder:
    """Answers DNS messages for a set of zones, like an authoritative-only NSD."""

    def __init__(
        self,
        zones: Sequence[Zone],
        *,
        max_udp: int = 1232,
        cache_size: int = 100_000,
        allow_transfer: Sequence[str] = (),
        faults: FaultMatcher | None = None,
        keys: Iterable[tsig.Key] = (),
        ixfr_history: int = ixfr.DEFAULT_HISTORY,
        signer: OnlineSigner | None = None,
    ) -> None:
        self.max_udp = max(wire.MIN_UDP, min(max_udp, wire.MAX_MESSAGE))
        self.cache_size = cache_size
        self.keys: Mapping[Name, tsig.Key] = {key.name: key for key in keys}  # --tsig-key (RFC 8945)
        self.allow_transfer = tuple(acl.parse_rule(a, self.keys) for a in allow_transfer)
        self.faults = faults
        # where bad packets are counted (the Server sets its Trouble here): once per interval, never per packet
        self.trouble: Trouble | None = None
        self.signer = signer or OnlineSigner()  # zones with `dnssec:` are served signed (issue 14 part 2)
        self._swapping = threading.Lock()  # a reload and a signature refresh never interleave
        self._snap = _Snapshot(ZoneSet(self.signer.sign(zones)))
        self.ixfr_history = ixfr_history  # deltas kept per zone for IXFR (0: always the whole zone)
        self.histories: dict[Name, ixfr.History] = {}
        self._prepared: dict[int, tuple[Zone, ixfr.Delta | None]] = {}  # id(new zone) -> (old zone, delta)

    # -- zones ---------------------------------------------------------------------
    @property
    def zones(self) -> tuple[Zone, ...]:
        return self._snap.zoneset.zones

    @property
    def zoneset(self) -> ZoneSet:
        """The zones served right now (response-rate limiting groups answers by their zone)."""
        return self._snap.zoneset

    def swap(self, zones: Sequence[Zone]) -> None:
        """Serve `zones` from now on; the cache goes with the old zones (one atomic store). A zone
        that changed its serial leaves its delta in the IXFR history (a zone object reused by the
        reload is the same version: nothing to compare)."""
        with self._swapping:
            self._swap(zones)

    def refresh_signatures(self) -> list[Name]:
        """Sign the served zones again when their signing window has moved on (RRSIGs renewed before
        they expire while serving, each with a higher serial); returns the zones refreshed, which
        `serve` (checking every minute or more often) NOTIFYs to secondaries as after a reload."""
        with self._swapping:
            due = self.signer.due()
            if due:
                self._swap(self.signer.sources())
            return due

    def _swap(self, zones: Sequence[Zone]) -> None:
        zones = self.signer.sign(zones)
        prepared, self._prepared = self._prepared, {}
        for zone, _old, step in self._deltas(zones, prepared):
            if step is not None:
                self.histories.setdefault(zone.origin, ixfr.History(self.ixfr_history)).add(step, len(zone))
        zoneset = self._snap.zoneset.updated(zones)  # a few changed among 10,000: not rebuilt (issue 11)
        for origin in [o for o in self.histories if o not in zoneset.by_apex]:
            del self.histories[origin]
        self._snap = _Snapshot(zoneset)

    def prepare(self, zones: Sequence[Zone]) -> None:
        """Compute the IXFR deltas of the next `swap(zones)` now, off the event loop (a reload calls
        it in its worker thread: a 100,000-record zone costs about half a second)."""
        self._prepared = {id(zone): (old, step) for zone, old, step in self._deltas(zones, {})}

    def _deltas(self, zones: Sequence[Zone], prepared: dict[int, tuple[Zone, ixfr.Delta | None]],
                ) -> Iterator[tuple[Zone, Zone, ixfr.Delta | None]]:
        """(new, old, delta) for each zone that is a new version of one served now."""
        if not self.ixfr_history:
            return
        current = self._snap.zoneset
        # by identity first: a reload of one file among 10,000 looks up one origin, not all of them
        # (a zone object reused by the reload is the same version)
        for zone in current.newcomers(zones):
            old = current.by_apex.get(zone.origin)
            if old is None or old is zone:
                continue
            done = prepared.get(id(zone))
            yield zone, old, done[1] if done is not None and done[0] is old else ixfr.delta(old, zone)

    def cached(self) -> int:
        """How many answers are cached now (for tests and the benchmark)."""
        return len(self._snap.cache)

    # -- the hot path -------------------------------------------------------------
    def respond(self, data: bytes, client: tuple[str, int], transport: str) -> Reply:
        """Answer one message. Never raises for bad input: bad packets get FORMERR or silence."""
        snap = self._snap
        if self.cache_size > 0 and not self.faults:  # an empty FaultSet keeps the fast path
            hit = self._probe(snap, data, transport)
            if hit is not None:
                return _Hit(hit[0], client, transport, hit[1])
        try:
            return self._respond(snap, data, client, transport)
        except Exception as exc:  # a bug must not kill the server: answer SERVFAIL and say why
            header = wire.parse_header(data)
            self._trouble("internal-error", client, transport, f"{exc!r} on a {len(data)}-octet message")
            if header is None:
                return Reply([], QueryInfo(client, transport, "", "", "", 0))
            info = QueryInfo(client, transport, "", "", "SERVFAIL", 0, f"internal error: {exc!r}")
            return Reply([wire.pack_error(data, SERVFAIL)], info)

    def cached_answer(self, data: bytes, transport: str) -> bytes | None:
        """The answer if it is already cached (no log record, no fault applies), else None.

        For a transport's tightest loop when nobody reads the query log: bytes only, no Reply.
        Exactly `respond(...).messages[0]` whenever it is not None.
        """
        if self.cache_size > 0 and not self.faults:
            hit = self._probe(self._snap, data, transport)
            if hit is not None:
                return hit[0]
        return None

    def udp_answerer(self) -> Callable[[bytes], bytes | None]:
        """`cached_answer(data, "udp")` as one closure for the UDP thread's loop (same bytes or None)."""
        return self.udp_fast_paths()[1]

    def udp_fast_paths(self) -> tuple[Callable[[], dict[bytes, bytes] | None], Callable[[bytes], bytes | None]]:
        """(table, answer) for the UDP thread: `table()` is the exact-octets table when it may
        answer right now (else None), `answer(data)` is `cached_answer(data, "udp")`.

        Why: at ~150k queries/s every microsecond is ~15% of the budget. Measured per cache hit on
        the benchmark mix: `cached_answer` 3.4-3.7 us, `answer` 1.0-1.3 us; the batched loop asks
        `table()` once per batch of datagrams and then pays one dict look-up per datagram.
        - The exact-octets table: the answer is a pure function of the query's octets after the ID
          (the snapshot fixes zones and limits), so a repeated question costs one slice, one dict
          look-up and the ID in front: reply = data[:2] + table[data[2:]]. It lives in the
          snapshot, so a swap drops it with the zones, and it is emptied when it reaches
          --cache-size entries, so questions in ever new letter cases (0x20 resolvers) cannot grow
          it without bound.
        - The faults check: ZoneFaults' declared set changes only with the zones (i.e. with the
          snapshot), so it is asked once per snapshot; the runtime set is its tuple, read per call.
          Any other fault matcher is asked on every call, as `cached_answer` does.
        """
        probe = self._probe
        seen: list[object] = [None, None, True]  # snapshot, faults object, "declared faults are empty"

        def usable() -> _Snapshot | None:
            snap = self._snap
            faults = self.faults
            if faults is not None:
                runtime = getattr(faults, "runtime", None)
                if runtime is None or not hasattr(faults, "declared"):
                    if faults:
                        return None
                else:
                    if snap is not seen[0] or faults is not seen[1]:
                        seen[0], seen[1], seen[2] = snap, faults, not faults.declared
                    if runtime._faults or not seen[2]:  # the FaultSet's tuple, swapped whole on change
                        return None
            return snap if self.cache_size > 0 else None

        def table() -> dict[bytes, bytes] | None:
            snap = usable()
            return None if snap is None else snap.exact

        def answer(data: bytes) -> bytes | None:
            snap = usable()
            if snap is None:
                return None
            tail = data[2:]
            hit = snap.exact.get(tail)
            if hit is not None:
                return data[:2] + hit
            found = probe(snap, data, "udp")
            if found is None:
                return None
            exact = snap.exact
            if len(exact) >= self.cache_size:
                exact.clear()
            exact[tail] = found[0][2:]
            return found[0]

        return table, answer

    def _probe(self, snap: _Snapshot, data: bytes, transport: str) -> tuple[bytes, tuple[str, str, str, int]] | None:
        """The cache look-up for the common query shapes, without parsing; None = take the full path.

        It does not walk the labels: a key is only ever made from a question that parsed, and case
        folding cannot turn a bad length octet (>63) into a good one, so a hit proves the question
        well-formed and the spans below right.
        """
        n = len(data)
        if n < 17 or data[2] & 0xF8 or data[4:10] != _PLAIN_HEADER:  # QR=0, QUERY, QD=1, AN=NS=0
            return None
        counts = data[10:12]
        if counts == b"\x00\x00":
            qend = n
            mode = (TCP_LIMIT << 3 if transport == "tcp" else wire.MIN_UDP << 3) | (data[2] & 1) << 1
        elif (
            counts == b"\x00\x01"
            and n >= 28
            and data[n - 11 : n - 8] == _OPT_HEAD
            and not data[n - 5]  # EDNS version 0
            and data[n - 2 :] == b"\x00\x00"  # RDLEN 0: no options (what dnsperf and most stubs send)
        ):
            qend = n - 11
            if transport == "tcp":
                limit = TCP_LIMIT
            else:
                size = data[n - 8] << 8 | data[n - 7]
                limit = self.max_udp if size >= self.max_udp else max(size, wire.MIN_UDP)
            mode = limit << 3 | (data[n - 4] & 0x80) >> 5 | (data[2] & 1) << 1 | 1  # DO: RFC 3225
        else:
            return None
        entry = snap.cache.get((data[12 : qend - 4].lower(), data[qend - 4 : qend], mode))
        if entry is None:
            return None
        return data[:2] + entry[0] + data[12:qend] + entry[1], entry[2]

    # -- the full path --------------------------------------------------------------
    def _respond(self, snap: _Snapshot, data: bytes, client: tuple[str, int], transport: str) -> Reply:
        header = wire.parse_header(data)
        if header is None:
            # RFC 1035 4.1.1: no header, no one to answer; on TCP the stream is lost.
            self._trouble("malformed-packet", client, transport, f"{len(data)} octets, shorter than a DNS header")
            return Reply([], QueryInfo(client, transport, "", "", "", 0), close=transport == "tcp")
        flags = header[1]
        if flags & wire.QR:
            self._trouble("malformed-packet", client, transport, "QR set: a response, not a query (not answered)")
            return Reply([], QueryInfo(client, transport, "", "", "", 0))  # a response: never answer it
        opcode = (flags >> 11) & 0xF
        if opcode != 0:
            # RFC 1035 4.1.1: only QUERY is implemented. Header only, no OPT, as NSD 4.6: the sections
            # of another opcode are not a question (an UPDATE's first one is its zone, RFC 2136 2.3).
            name = _OPCODE_NAMES.get(opcode, str(opcode))
            self._trouble("unsupported-opcode", client, transport, f"opcode {name} answered NOTIMP")
            return Reply([wire.pack_error(data, NOTIMP)], QueryInfo(client, transport, "", "", "NOTIMP", 0))
        try:
            query = wire.parse_query(data)
        except wire.WireError as exc:
            # RFC 1035 4.1.1: FORMERR, header only, since the question is unreadable
            self._trouble("malformed-packet", client, transport, f"{exc} (FORMERR)")
            return Reply([wire.pack_error(data, FORMERR)], QueryInfo(client, transport, "", "", "FORMERR", 0, None))
        if query.tsig_at is not None:
            return self._signed(snap, data, query, client, transport)
        return self._answer(snap, data, query, client, transport)

    def _answer(
        self, snap: _Snapshot, data: bytes, query: wire.Query, client: tuple[str, int], transport: str,
        key: Name | None = None, reserve: int = 0,
    ) -> Reply:
        """The answer to a parsed query; `key` signed it (checked), `reserve` octets are kept free for its TSIG."""
        flags = query.flags
        qname = query.qname_text().lower()
        qtype = _type_text(query.qtype)

        def error(rcode: int) -> Reply:
            body = wire.pack_error(data, rcode, query, our_udp=self.max_udp)
            return Reply([body], QueryInfo(client, transport, qname, qtype, RCODE_NAMES[rcode], 0))

        if query.edns is not None and query.edns.version > 0:
            return error(BADVERS)  # RFC 6891 6.1.3
        if query.ancount or (query.nscount and query.qtype != IXFR):
            self._trouble("malformed-packet", client, transport, "records in the answer or authority section (FORMERR)")
            return error(FORMERR)  # a query carries no answer; only IXFR carries an authority SOA
        if query.qclass != 1:
            return error(REFUSED)  # we serve class IN only
        if query.qtype in (AXFR, IXFR):
            return self._transfer(snap, data, query, client, transport, qname, qtype, key)

        limit = (TCP_LIMIT if transport == "tcp" else wire.udp_limit(query.edns, self.max_udp)) - reserve
        fault = self.faults.match(query.name, query.qtype) if self.faults is not None else None
        if fault is not None:
            return self._fault(snap, data, query, fault, limit, client, transport, qname, qtype)

        qend = query.question_end
        # (qname with case folded, QTYPE/QCLASS as sent: 0x41 is not 0x61, limit | DO | RD | EDNS)
        edns = query.edns
        do = edns is not None and edns.do
        key = (
            data[12 : qend - 4].lower(),
            data[qend - 4 : qend],
            limit << 3 | do << 2 | ((flags >> 8) & 1) << 1 | (edns is not None),
        )
        cache = snap.cache if self.cache_size > 0 else None
        if cache is not None:
            entry = cache.get(key)
            if entry is not None:
                return _Hit(data[:2] + entry[0] + data[12:qend] + entry[1], client, transport, entry[2])
        answer = self._lookup(snap, query)
        body = wire.pack_answer(data, query, answer, limit, self.max_udp)
        rcode = RCODE_NAMES.get(answer.rcode, str(answer.rcode))
        answers = int.from_bytes(body[6:8])
        if cache is not None and len(body) <= MAX_CACHED:
            if len(cache) >= self.cache_size:
                with suppress(KeyError):  # another thread may have emptied it meanwhile
                    cache.popitem(last=False)  # the oldest entry goes first (FIFO keeps hits cheap)
            # Only the ID and the question depend on the query (case-insensitive compression).
            cache[key] = (body[2:12], body[qend:], (qname, qtype, rcode, answers))
        return Reply([body], QueryInfo(client, transport, qname, qtype, rcode, answers))

    def _lookup(self, snap: _Snapshot, query: wire.Query, how: Effect = NORMAL) -> Answer:
        """The answer from the zones; with DO from a signed zone with its RRSIGs and denial proofs
        (RFC 4035 3.1), made wrong as a validator fault's row says (`how.rrsig`, `how.hide_dnskey`)."""
        answer = lookup(snap.zoneset, query.name, query.qtype, query.qclass)
        edns = query.edns
        if edns is None or not edns.do or answer.zone is None or answer.zone.dnssec is None:
            return answer  # without DO nothing of DNSSEC is added, and no validator fault applies
        from zonetool.dnssec.answer import secure, tamper

        answer = secure(snap.zoneset, answer, query.name, query.qtype)
        if how.dnssec:
            answer = tamper(snap.zoneset, answer, how.rrsig, how.hide_dnskey, self.signer.keys,
                            int(self.signer.clock()))
        return answer

    def _signed(self, snap: _Snapshot, data: bytes, query: wire.Query, client: tuple[str, int], transport: str,
                ) -> Reply:
        """A request with a TSIG (RFC 8945 5.2): checked, answered as if unsigned, every reply message signed."""
        assert query.tsig_at is not None
        qname, qtype = query.qname_text().lower(), _type_text(query.qtype)
        try:
            checked = tsig.check_request(data, query.tsig_at, self.keys, int(time.time()))
        except tsig.TsigFormError as exc:
            self._trouble("malformed-packet", client, transport, f"{exc} (FORMERR)")
            return Reply([wire.pack_error(data, FORMERR)], QueryInfo(client, transport, qname, qtype, "FORMERR", 0))
        stripped = data[:10] + (query.arcount - 1).to_bytes(2) + data[12 : query.tsig_at]
        inner = wire.parse_query(stripped)
        if checked.error:
            why = tsig.ERROR_NAMES[checked.error]
            self._trouble("tsig-refused", client, transport,
                          f"{qtype} {qname} signed with key {checked.key_name}: {why} (answered NOTAUTH)")
            body = wire.pack_error(stripped, NOTAUTH, inner, our_udp=self.max_udp)
            if checked.signer is not None:  # BADTIME: signed, with our time (RFC 8945 5.2.3)
                body = checked.signer.sign(body, int(time.time()))
            else:  # BADKEY, BADSIG, BADTRUNC: unsigned (RFC 8945 5.2.1, 5.2.2)
                body = tsig.unsigned_error(body, checked.record, checked.error)
            return Reply([body], QueryInfo(client, transport, qname, qtype, "NOTAUTH", 0))
        assert checked.key is not None and checked.signer is not None
        reply = self._answer(snap, stripped, inner, client, transport, checked.key.name,
                             tsig.record_size(checked.key))
        signer = checked.signer
        if isinstance(reply.messages, Transfer):
            reply.messages = SignedTransfer(reply.messages, signer)
        else:
            now = int(time.time())
            reply.messages = [signer.sign(m, now) for m in reply.messages]
        return reply

    def _trouble(self, kind: str, client: tuple[str, int], transport: str, reason: str) -> None:
        trouble = self.trouble
        if trouble is not None:
            host, port = client[0], client[1]
            where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            trouble.report(kind, f"{where} {transport}: {reason}")

    # -- zone transfer -------------------------------------------------------------------
    def _transfer(
        self,
        snap: _Snapshot,
        data: bytes,
        query: wire.Query,
        client: tuple[str, int],
        transport: str,
        qname: str,
        qtype: str,
        key: Name | None,
    ) -> Reply:
        """AXFR over TCP to allowed clients (RFC 5936); IXFR with the deltas since the client's serial
        when they are kept, else with the whole zone (RFC 1995 4).
        `key` is the TSIG key that signed the request (already checked), for rules that name one."""

        def error(rcode: int) -> Reply:
            body = wire.pack_error(data, rcode, query, our_udp=self.max_udp)
            return Reply([body], QueryInfo(client, transport, qname, qtype, RCODE_NAMES[rcode], 0))

        if query.qtype == AXFR and transport != "tcp":
            return error(NOTIMP)  # RFC 5936 4.2: AXFR is TCP only; NSD 4.6 answers NOTIMP over UDP
        if query.qtype == IXFR and query.nscount != 1:
            return error(FORMERR)  # RFC 1995 3: an IXFR query carries the client's SOA in authority
        if not acl.allowed(self.allow_transfer, client, key):
            return error(REFUSED)  # RFC 5936 4.2: the primary decides who may transfer
        zone = snap.zoneset.by_apex.get(query.name)
        soa = zone.soa_record() if zone is not None else None
        if zone is None or soa is None:
            return error(NOTAUTH)  # not the apex of a zone we serve (RFC 5936 2.2.1)

        def soa_alone(limit: int) -> Reply:
            answer = Answer(NOERROR, True, [zone.rrset(zone.origin, RRType.SOA)], zone=zone)  # type: ignore[list-item,union-attr]
            body = wire.pack_answer(data, query, answer, limit, self.max_udp)
            return Reply([body], QueryInfo(client, transport, qname, qtype, "NOERROR", 1))

        if transport != "tcp":
            # RFC 1995 2: an IXFR over UDP that cannot fit gets the current SOA; the client retries over TCP.
            return soa_alone(wire.udp_limit(query.edns, self.max_udp))
        if query.qtype == IXFR:
            serial = wire.ixfr_serial(data, query)
            current = soa.rdata.serial  # type: ignore[attr-defined]
            if serial is not None and not serial_gt(current, serial):
                return soa_alone(TCP_LIMIT)  # RFC 1995 2: the client is current (or ahead): the SOA alone
            history = self.histories.get(zone.origin)
            chain = history.since(serial, len(zone)) if history is not None and serial is not None else None
            if chain is not None:  # RFC 1995 4: the differences; else the whole zone, AXFR form
                count = sum(len(step) for step in chain) + 2
                transfer = Transfer(data, query, zone, self.max_udp, chain)
                return Reply(transfer, QueryInfo(client, transport, qname, qtype, "NOERROR", count))
        transfer = Transfer(data, query, zone, self.max_udp)
        return Reply(transfer, QueryInfo(client, transport, qname, qtype, "NOERROR", len(zone) + 1))  # SOA twice

    # -- faults ------------------------------------------------------------------------
    def _fault(
        self,
        snap: _Snapshot,
        data: bytes,
        query: wire.Query,
        fault: Fault,
        limit: int,
        client: tuple[str, int],
        transport: str,
        qname: str,
        qtype: str,
    ) -> Reply:
        """Misbehave on purpose for the sender harness; never cached, always named in the log.

        What the action does comes from its row of `zonetool.faults.EFFECTS`.
        """
        action = fault.action
        how = effect(action)
        delay = max(0, int(getattr(fault, "delay_ms", 0) or 0)) / 1000.0  # any action may come late

        if how.dnssec:  # the log names a validator fault only where it changed the answer
            zone = snap.zoneset.find(query.name)
            do = query.edns is not None and query.edns.do
            if not how.applies(do, zone is not None and zone.dnssec is not None) and not delay:
                action = None

        def info(rcode: int, answers: int = 0) -> QueryInfo:
            return QueryInfo(client, transport, qname, qtype, RCODE_NAMES.get(rcode, str(rcode)), answers, action)

        if how.drop:
            return Reply([], info(NOERROR))
        if how.rcode is not None and not how.negative:
            return Reply([wire.pack_error(data, how.rcode, query, our_udp=self.max_udp)], info(how.rcode), delay=delay)
        if how.rcode is not None:  # a negative answer: the zone's SOA for caching it (RFC 2308 3)
            zone = snap.zoneset.find(query.name)
            answer = Answer(how.rcode, zone is not None, authority=negative_soa(zone) if zone else [], zone=zone)
            body = wire.pack_answer(data, query, answer, limit, self.max_udp)
            return Reply([body], info(how.rcode), delay=delay)
        if how.tc_udp and transport != "tcp":
            body = wire.pack_answer(data, query, Answer(NOERROR, True), limit, self.max_udp)
            body = body[:2] + ((body[2] | 0x02).to_bytes(1)) + body[3:]  # TC, no records (RFC 1035 4.2.1)
            return Reply([body], info(NOERROR), delay=delay)
        answer = self._lookup(snap, query, how)  # a late or wrong-ID answer is still signed with DO
        body = wire.pack_answer(data, query, answer, limit, self.max_udp)
        answers = int.from_bytes(body[6:8])
        if how.wrong_id:
            body = ((int.from_bytes(body[:2]) ^ 0xFFFF).to_bytes(2)) + body[2:]  # never the ID asked (RFC 5452 9.1)
        return Reply([body], info(answer.rcode, answers), delay=delay)
