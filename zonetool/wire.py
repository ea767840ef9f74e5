"""DNS messages as bytes: the one codec for the server, the AXFR client and the wire resolver.

We parse the query ourselves (12-octet header, raw qname labels, qtype/qclass, the OPT RR)
instead of through dnslib, for two reasons:
  * dnslib 0.9.26 traps: `DNSRecord.parse` fails on legal labels with non-UTF-8 octets
    (`\\200byte.example.com`), `str(DNSLabel)` loses an escaped dot (`a\\.b`), and
    `DNSRecord.reply()` sets RA and copies AD/CD from the query, which an authoritative
    server without DNSSEC must not do;
  * speed: the hot path needs only the question's span and the EDNS size, not objects.
Answers are packed by our own small packer too, with case-insensitive name compression
(RFC 1035 4.1.4) so that a cached answer is the same bytes whatever case the query used.
dnslib is therefore not used on the wire path at all: each record type packs and reads its own
RDATA (`Rdata.pack`, `read` in zonetool.rrtypes); dnslib decodes uncompressed RDATA of some types.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from zonetool.lookup import SERVFAIL, Answer
from zonetool.names import Name, escape_label
from zonetool.rrtypes import Rdata, RdataError, RRType, WireError, read_name, spec_of, type_name
from zonetool.rrtypes.generic import Generic
from zonetool.zone import Record, RRset

HEADER = struct.Struct("!HHHHHH")
OPT = int(RRType.OPT)
TSIG = int(RRType.TSIG)  # RFC 8945 4.2
MAX_MESSAGE = 65535  # RFC 1035 4.2.2: TCP length prefix is 16 bits
MIN_UDP = 512  # RFC 1035 2.3.4 / RFC 6891 6.2.3: sizes below 512 are treated as 512

# header flag bits (RFC 1035 4.1.1, RFC 4035 3.2)
QR, AA, TC, RD, RA, AD, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0020, 0x0010


class TooBig(OverflowError):
    """A record whose RDATA does not fit RDLENGTH's 16 bits: no message can carry it (RFC 1035 3.2.1).

    The compilers refuse such records; a zone from elsewhere (a test's Zone, a future reader)
    still gets a clean outcome: Packer.record leaves the message as it was and raises this
    (an OverflowError, so transfer_messages' handler sees it too)."""



@dataclass(frozen=True, slots=True)
class Edns:
    """The client's OPT RR (RFC 6891 6.1.2)."""

    udp_size: int
    version: int
    do: bool
    ext_rcode: int = 0


@dataclass(frozen=True, slots=True)
class Query:
    """What the responder needs from a query; `question` is the raw section as asked."""

    id: int
    flags: int
    qdcount: int
    ancount: int
    nscount: int
    arcount: int
    labels: tuple[bytes, ...]
    qtype: int
    qclass: int
    question_end: int  # offset just past qtype/qclass
    edns: Edns | None
    tsig_at: int | None = None  # where a TSIG RR begins (always the message's last record)

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def name(self) -> Name:
        return Name(self.labels)

    def qname_text(self) -> str:
        """Presentation text of the qname as asked (escapes kept: a\\.b, \\200)."""
        return ".".join(escape_label(label) for label in self.labels) + "." if self.labels else "."


def parse_header(data: bytes) -> tuple[int, int, int, int, int, int] | None:
    """ID, flags and the four counts, or None when there is not even a header (stay silent)."""
    if len(data) < 12:
        return None
    return HEADER.unpack_from(data)


def scan_name(data: bytes, pos: int) -> tuple[tuple[bytes, ...], int]:
    """Read an uncompressed name at `pos` (a question's qname may not be compressed)."""
    labels: list[bytes] = []
    total = 1
    n = len(data)
    while True:
        if pos >= n:
            raise WireError("question name runs past the end of the message")
        length = data[pos]
        if length == 0:
            return tuple(labels), pos + 1
        if length > 63:
            # 0xC0 is a pointer; 0x40/0x80 are obsolete extended label types (RFC 6891 5).
            raise WireError("compressed or extended label in the question")
        total += length + 1
        if total > 255:
            raise WireError("question name longer than 255 octets")
        end = pos + 1 + length
        if end > n:
            raise WireError("label runs past the end of the message")
        labels.append(data[pos + 1 : end])
        pos = end


def _skip_name(data: bytes, pos: int) -> int:
    """Skip a possibly compressed name in a record we do not otherwise read."""
    n = len(data)
    while True:
        if pos >= n:
            raise WireError("name runs past the end of the message")
        length = data[pos]
        if length == 0:
            return pos + 1
        if length & 0xC0 == 0xC0:
            if pos + 2 > n:
                raise WireError("truncated compression pointer")
            return pos + 2
        if length > 63:
            raise WireError("unknown label type")
        pos += 1 + length


def parse_query(data: bytes) -> Query:
    """Read a query (header already known to exist); WireError means FORMERR."""
    ident, flags, qd, an, ns, ar = HEADER.unpack_from(data)
    if qd != 1:
        raise WireError(f"QDCOUNT is {qd}, a query asks exactly one question")
    labels, pos = scan_name(data, 12)
    if pos + 4 > len(data):
        raise WireError("question ends before QTYPE/QCLASS")
    qtype, qclass = struct.unpack_from("!HH", data, pos)
    pos += 4
    question_end = pos
    edns: Edns | None = None
    tsig_at: int | None = None
    for index in range(an + ns + ar):
        owner_at = pos
        pos = _skip_name(data, pos)
        if pos + 10 > len(data):
            raise WireError("resource record header runs past the end")
        rtype, rclass, ttl, rdlen = struct.unpack_from("!HHIH", data, pos)
        pos += 10
        end = pos + rdlen
        if end > len(data):
            raise WireError("resource record data runs past the end")
        if rtype == TSIG:
            if index != an + ns + ar - 1:
                raise WireError("TSIG is not the last record")  # RFC 8945 4.2
            tsig_at = owner_at
        elif rtype == OPT:
            if index < an + ns:
                raise WireError("OPT outside the additional section")  # RFC 6891 6.1.1
            if edns is not None:
                raise WireError("more than one OPT record")  # RFC 6891 6.1.1
            if data[owner_at] != 0:
                raise WireError("OPT owner is not the root")  # RFC 6891 6.1.2
            _check_options(data, pos, end)
            edns = Edns(rclass, (ttl >> 16) & 0xFF, bool(ttl & 0x8000), ttl >> 24)
        pos = end
    # Octets after the last counted record are ignored, as NSD 4.6 does.
    return Query(ident, flags, qd, an, ns, ar, labels, qtype, qclass, question_end, edns, tsig_at)


def ixfr_serial(data: bytes, query: Query) -> int | None:
    """The client's serial from an IXFR query's authority SOA (RFC 1995 3), or None if there is none."""
    try:
        pos = _skip_name(data, query.question_end)
        if pos + 10 > len(data) or int.from_bytes(data[pos : pos + 2]) != 6:
            return None
        pos = _skip_name(data, _skip_name(data, pos + 10))  # MNAME, RNAME
    except WireError:
        return None
    return int.from_bytes(data[pos : pos + 4]) if pos + 4 <= len(data) else None


def tsig_start(data: bytes) -> int | None:
    """Where the TSIG RR of a whole message (a reply) begins, or None if its last record is not one."""
    header = parse_header(data)
    if header is None:
        return None
    qd, an, ns, ar = header[2:]
    try:
        pos = 12
        for _ in range(qd):
            pos = _skip_name(data, pos) + 4
        last, rtype = None, None
        for _ in range(an + ns + ar):
            last = pos
            pos = _skip_name(data, pos)
            if pos + 10 > len(data):
                return None
            rtype = int.from_bytes(data[pos : pos + 2])
            pos += 10 + int.from_bytes(data[pos + 8 : pos + 10])
    except WireError:
        return None
    return last if rtype == TSIG and pos == len(data) else None


def _check_options(data: bytes, pos: int, end: int) -> None:
    """Options are read only to be sure they are well-formed; unknown ones are ignored (RFC 6891 6.1.2)."""
    while pos < end:
        if pos + 4 > end:
            raise WireError("truncated EDNS option header")
        length = int.from_bytes(data[pos + 2 : pos + 4])
        pos += 4 + length
        if pos > end:
            raise WireError("EDNS option runs past the OPT record")


def udp_limit(edns: Edns | None, max_udp: int) -> int:
    """The largest UDP answer the client takes: 512 without EDNS, else its size within [512, max_udp]."""
    if edns is None:
        return MIN_UDP
    return max(MIN_UDP, min(edns.udp_size, max_udp))


def opt_record(udp_size: int, ext_rcode: int = 0, do: bool = False) -> bytes:
    """Our OPT RR: root owner, our UDP size, version 0, no options; DO copied from the query (RFC 3225 3)."""
    return b"\x00\x00\x29" + struct.pack("!HBBHH", udp_size, ext_rcode, 0, 0x8000 if do else 0, 0)


# ---------------------------------------------------------------------------
# packing
# ---------------------------------------------------------------------------
class Packer:
    """A growing message with case-insensitive name compression (RFC 1035 4.1.4)."""

    __slots__ = ("buf", "names")

    def __init__(self, start: bytes = b"\x00" * 12) -> None:
        self.buf = bytearray(start)
        self.names: dict[tuple[bytes, ...], int] = {}

    def name(self, name: Name, compress: bool = True) -> None:
        buf = self.buf
        labels, key = name.labels, name.key
        if not compress:
            for label in labels:
                buf.append(len(label))
                buf += label
            buf.append(0)
            return
        names = self.names
        for i in range(len(labels)):
            suffix = key[i:]
            pointer = names.get(suffix)
            if pointer is not None:
                buf += (0xC000 | pointer).to_bytes(2)
                return
            pos = len(buf)
            if pos < 0x4000:
                names[suffix] = pos
            buf.append(len(labels[i]))
            buf += labels[i]
        buf.append(0)

    def question(self, raw: bytes, labels: tuple[bytes, ...]) -> None:
        """Copy the question as asked (0x20 case echo) and remember its suffixes for compression."""
        pos = len(self.buf)
        keys = Name(labels).key
        for i in range(len(labels)):
            if pos < 0x4000:
                self.names.setdefault(keys[i:], pos)
            pos += 1 + len(labels[i])
        self.buf += raw

    def record(self, owner: Name, ttl: int, rdata: Rdata, rclass: int = 1) -> None:
        buf = self.buf
        start = len(buf)
        self.name(owner)
        buf += struct.pack("!HHI", rdata.type_code, rclass, ttl)
        at = len(buf)
        buf += b"\x00\x00"
        self.rdata(rdata)
        size = len(buf) - at - 2
        if size > MAX_MESSAGE:
            self.rollback(start)  # the message as it was before this record
            raise TooBig(f"{type_name(rdata.type_code)} record data of {size} octets")
        buf[at : at + 2] = size.to_bytes(2)

    def rrset(self, rrset: RRset, ttl: int | None = None) -> int:
        """Pack every record of the set with one TTL (RFC 2181 5.2); returns how many."""
        ttl = rrset.ttl if ttl is None else ttl
        owner = rrset.owner
        for record in rrset.records:
            self.record(owner, ttl, record.rdata)
        return len(rrset.records)

    def rollback(self, size: int) -> None:
        """Forget everything past `size` (pointers into it included)."""
        del self.buf[size:]
        self.names = {k: v for k, v in self.names.items() if v < size}

    def rdata(self, rdata: Rdata) -> None:
        rdata.pack(self)  # each type writes itself; only RFC 1035 types compress names (RFC 3597 4)


def response_flags(query_flags: int, rcode: int, aa: bool, tc: bool = False) -> int:
    """QR set, opcode and RD copied; RA, AD, CD never (an authoritative server without DNSSEC)."""
    flags = QR | (query_flags & (0x7800 | RD)) | (rcode & 0xF)
    if aa:
        flags |= AA
    if tc:
        flags |= TC
    return flags


def pack_error(data: bytes, rcode: int, query: Query | None = None, *, our_udp: int = 1232) -> bytes:
    """An error response: header, the question if we could read it, OPT if the query had one."""
    ident, flags = struct.unpack_from("!HH", data)
    if query is None:
        return HEADER.pack(ident, response_flags(flags, rcode, False), 0, 0, 0, 0)
    opt = b"" if query.edns is None else opt_record(our_udp, rcode >> 4)
    head = HEADER.pack(ident, response_flags(flags, rcode, False), 1, 0, 0, 1 if opt else 0)
    return head + data[12 : query.question_end] + opt


def pack_answer(data: bytes, query: Query, answer: Answer, limit: int, our_udp: int = 1232) -> bytes:
    """Pack an Answer for this query, cut to `limit` octets whole RRsets at a time (RFC 2181 9)."""
    p = Packer(data[:12])
    p.question(data[12 : query.question_end], query.labels)
    question_end = len(p.buf)
    ends: list[tuple[int, int, int, int]] = []  # after each RRset: (octets, an, ns, ar)
    an = ns = ar = 0
    required = len(answer.answer) + len(answer.authority)
    overflow = False
    try:
        for rrset in answer.answer:
            an += p.rrset(rrset)
            ends.append((len(p.buf), an, ns, ar))
        for rrset in answer.authority:
            ns += p.rrset(rrset)
            ends.append((len(p.buf), an, ns, ar))
        for rrset in answer.additional:
            ar += p.rrset(rrset)
            ends.append((len(p.buf), an, ns, ar))
    except TooBig:  # a record no message can carry: what came before it may still be sent
        overflow = True
        p.rollback(ends[-1][0] if ends else question_end)
    opt = b"" if query.edns is None else opt_record(our_udp, do=query.edns.do)
    room = limit - len(opt)
    tc = False
    if overflow or len(p.buf) > room:
        fit = [e for e in ends if e[0] <= room]
        if len(fit) < required and limit >= MAX_MESSAGE:
            # Over TCP nothing bigger can be sent and an RRset is never cut (RFC 2181 5.1): the honest
            # answer is SERVFAIL, "unable to process this query" (RFC 1035 4.1.1), with the question.
            flags = response_flags(query.flags, SERVFAIL, False)
            return HEADER.pack(query.id, flags, 1, 0, 0, 1 if opt else 0) + bytes(p.buf[12:question_end]) + opt
        if len(fit) < required:
            # Answer or authority does not fit: say so with the question alone (RFC 1035 4.2.1, RFC 2181 9).
            tc, cut = True, (question_end, 0, 0, 0)
        else:
            cut = fit[-1] if fit else (question_end, 0, 0, 0)
            # Dropped additional data is not a truncation, except a referral's glue (RFC 9471 3).
            tc = not answer.authoritative and any(r.code == RRType.NS for r in answer.authority)
        del p.buf[cut[0] :]
        an, ns, ar = cut[1], cut[2], cut[3]
    flags = response_flags(query.flags, answer.rcode, answer.authoritative, tc)
    p.buf[:12] = HEADER.pack(query.id, flags, 1, an, ns, ar + (1 if opt else 0))
    p.buf += opt
    return bytes(p.buf)


class RecordTooBig(Exception):
    """A record that no DNS message can carry (RDATA over 65,535 octets, or record + header over 64 KiB)."""

    def __init__(self, record: Record, size: int) -> None:
        super().__init__(f"{record.owner.to_text()} {type_name(record.code)}: {size} octets, "
                         f"more than a DNS message can carry ({MAX_MESSAGE})")
        self.record = record


def transfer_messages(
    data: bytes, query: Query, records: Iterable[Record], soa: Record, max_size: int = 16384
) -> Iterator[bytes]:
    """AXFR: SOA, every record, SOA again, as messages of about `max_size` octets, packed one at a time.

    A generator so a transport can send a big zone as the client reads it, with only one
    message in memory. Splits fall on record boundaries (RFC 5936 2.2); a record bigger than
    `max_size` travels alone in a message of up to 64 KiB, as NSD does. A record that fits in no
    message raises RecordTooBig after the messages before it were yielded.
    """
    question = data[12 : query.question_end]
    flags = response_flags(query.flags, 0, True)

    def fresh() -> Packer:
        p = Packer()
        p.question(question, query.labels)
        return p

    def add(p: Packer, record: Record) -> None:
        try:
            p.record(record.owner, record.ttl, record.rdata)
        except OverflowError:  # RDLENGTH is 16 bits (RFC 1035 3.2.1)
            raise RecordTooBig(record, len(record.rdata.to_wire())) from None

    def done(p: Packer, count: int) -> bytes:
        p.buf[:12] = HEADER.pack(query.id, flags, 1, count, 0, 0)
        return bytes(p.buf)

    p, count = fresh(), 0
    for record in _with_soa(soa, records):
        before = len(p.buf)
        add(p, record)
        if len(p.buf) > max_size and count:
            p.rollback(before)
            yield done(p, count)
            p, count = fresh(), 0
            add(p, record)
        if len(p.buf) > MAX_MESSAGE:  # alone in a fresh message and still too big
            raise RecordTooBig(record, len(p.buf) - len(question) - 12)
        count += 1
    yield done(p, count)


def _with_soa(soa: Record, records: Iterable[Record]) -> Iterator[Record]:
    yield soa
    yield from records
    yield soa


def pack_transfer(
    data: bytes, query: Query, records: Iterable[Record], soa: Record, max_size: int = 16384
) -> list[bytes]:
    """Every message of `transfer_messages` at once (for tests and small zones)."""
    return list(transfer_messages(data, query, records, soa, max_size))


# ---------------------------------------------------------------------------
# reading whole messages (answers, transfers): for clients in our own edges
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Message:
    """A parsed DNS message with core Records; use this instead of dnslib.DNSRecord.parse,
    which rejects legal labels with non-UTF-8 octets (dnslib 0.9.26)."""

    id: int
    flags: int
    rcode: int  # the full rcode: header bits plus the OPT extended bits (RFC 6891 6.1.3)
    question: tuple[Name, int, int] | None
    answer: list[Record]
    authority: list[Record]
    additional: list[Record]  # without the OPT pseudo-record
    edns: Edns | None

    @property
    def tc(self) -> bool:
        return bool(self.flags & TC)

    @property
    def aa(self) -> bool:
        return bool(self.flags & AA)


def _read_rdata(data: bytes, code: int, start: int, end: int) -> Rdata:
    """Rdata of one record, read by its type; names inside may point anywhere earlier in the message."""
    spec = spec_of(code)
    if spec is None:
        return Generic(code, data[start:end])
    try:
        rdata, pos = spec.read(data, start, end)
    except WireError:
        raise
    except (struct.error, RdataError) as exc:
        raise WireError(f"bad record data of type {code}: {exc}") from None
    if pos != end:
        raise WireError(f"record data of type {code} has {end - pos} stray octets")
    return rdata


def parse_message(data: bytes) -> Message:
    """Parse any message (a response, a transfer part); WireError says what is wrong."""
    if len(data) < 12:
        raise WireError("shorter than a DNS header")
    ident, flags, qd, an, ns, ar = HEADER.unpack_from(data)
    pos = 12
    question = None
    for _ in range(qd):
        qname, pos = read_name(data, pos)
        if pos + 4 > len(data):
            raise WireError("question ends before QTYPE/QCLASS")
        qtype, qclass = struct.unpack_from("!HH", data, pos)
        pos += 4
        question = question or (qname, qtype, qclass)
    sections: list[list[Record]] = [[], [], []]
    edns: Edns | None = None
    for index in range(an + ns + ar):
        owner, pos = read_name(data, pos)
        if pos + 10 > len(data):
            raise WireError("resource record header runs past the end")
        code, rclass, ttl, rdlen = struct.unpack_from("!HHIH", data, pos)
        pos += 10
        end = pos + rdlen
        if end > len(data):
            raise WireError("resource record data runs past the end")
        if code == OPT:
            edns = Edns(rclass, (ttl >> 16) & 0xFF, bool(ttl & 0x8000), ttl >> 24)
        else:
            section = 0 if index < an else 1 if index < an + ns else 2
            sections[section].append(Record(owner, ttl, _read_rdata(data, code, pos, end)))
        pos = end
    rcode = (flags & 0xF) | ((edns.ext_rcode << 4) if edns else 0)
    return Message(ident, flags, rcode, question, sections[0], sections[1], sections[2], edns)


def make_query(name: Name, qtype: int, qid: int, *, edns_size: int | None = 1232, rd: bool = False,
               do: bool = False) -> bytes:
    """A query for clients (AXFR, the wire resolver): raw label octets, optional OPT (RFC 6891) with DO (RFC 3225)."""
    qname = b"".join(bytes((len(label),)) + label for label in name.labels) + b"\x00"
    header = HEADER.pack(qid, RD if rd else 0, 1, 0, 0, 1 if edns_size else 0)
    return header + qname + struct.pack("!HH", qtype, 1) + (opt_record(edns_size, do=do) if edns_size else b"")
