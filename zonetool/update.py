"""RFC 2136 UPDATE messages that turn a live zone into the wanted one, as pure bytes (no sockets).

`zonetool push` reads the live zone by AXFR, then sends what `build_update` returns. Every part is
guarded by a prerequisite on the exact SOA it expects (RFC 2136 2.4.2, "RRset exists (value
dependent)"), so an edit someone else made in between makes the server answer NXRRSET and nothing
of that part is applied. Each part also sets the SOA serial, and the next part expects that serial:
a push split at the 64 KiB message limit (RFC 1035 4.2.2) is a chain no other edit can slip into.
The changes are `zonetool.diff`'s, so `plan` prints exactly what `push` sends.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from datetime import date
from itertools import groupby

from zonetool.diff import ADDED, REMOVED, TTL_CHANGED, Change, diff_zones
from zonetool.names import Name
from zonetool.rrtypes import SOA, Rdata, type_name
from zonetool.serial import next_serial, serial_gt
from zonetool.wire import HEADER, MAX_MESSAGE, Packer
from zonetool.zone import NS_CODE, SOA_CODE, Record, Zone

UPDATE = 5  # RFC 2136 1: the UPDATE opcode
# RFC 2136 2.5: the class says add (IN), delete an RR (NONE), delete a set (ANY)
CLASS_IN, CLASS_NONE, CLASS_ANY = 1, 254, 255
ADD, DELETE, DELETE_RRSET = "add", "delete", "delete-rrset"


class UpdateError(ValueError):
    """The changes cannot be sent as asked (a serial that cannot rise, a record no message can hold)."""


@dataclass(frozen=True, slots=True)
class Op:
    """One RR of the update section (RFC 2136 2.5.1 add, 2.5.4 delete an RR, 2.5.2 delete an RRset)."""

    kind: str  # ADD, DELETE or DELETE_RRSET
    owner: Name
    code: int
    ttl: int = 0
    rdata: Rdata | None = None  # None for DELETE_RRSET

    def to_text(self) -> str:
        """The op as nsupdate reads it, so a dry run can be replayed by hand."""
        head = f"update {'delete' if self.kind != ADD else 'add'} {self.owner.to_text()}"
        if self.kind == ADD:
            head += f" {self.ttl}"
        tail = f" {self.rdata.to_text()}" if self.rdata is not None else ""
        return f"{head} {type_name(self.code)}{tail}"

    def pack(self, packer: Packer) -> None:
        if self.rdata is None:  # RFC 2136 2.5.2: class ANY, TTL 0, RDLENGTH 0
            packer.name(self.owner)
            packer.buf += struct.pack("!HHIH", self.code, CLASS_ANY, 0, 0)
        elif self.kind == DELETE:  # RFC 2136 2.5.4: class NONE, TTL 0
            packer.record(self.owner, 0, self.rdata, CLASS_NONE)
        else:
            packer.record(self.owner, self.ttl, self.rdata, CLASS_IN)


@dataclass(frozen=True, slots=True)
class Part:
    """One UPDATE message (ID 0, unsigned: the sender sets the ID and signs it) and what it does."""

    message: bytes
    expected: SOA  # the prerequisite: the zone's SOA must be exactly this
    soa: Record  # the SOA this part leaves behind (the next part's expectation)
    ops: tuple[Op, ...]  # the update section after the SOA

    @property
    def serial(self) -> int:
        return self.soa.rdata.serial  # type: ignore[attr-defined, no-any-return]

    def to_text(self, origin: Name) -> str:
        """The part as nsupdate commands: zone, prerequisite, SOA, ops."""
        lines = [f"zone {origin.to_text()}", f"prereq yxrrset {origin.to_text()} SOA {self.expected.to_text()}",
                 Op(ADD, origin, SOA_CODE, self.soa.ttl, self.soa.rdata).to_text()]
        return "\n".join(lines + [op.to_text() for op in self.ops])


def _no_serial(soa: SOA) -> SOA:
    return replace(soa, serial=0)


def apex_changes(changes: list[Change], origin: Name) -> list[Change]:
    """The changes to the apex NS set and to the SOA other than its serial: `push` needs --allow-apex."""
    out = [c for c in changes if c.owner == origin and c.code == NS_CODE]
    soa = [c for c in changes if c.owner == origin and c.code == SOA_CODE]
    removed = {(_no_serial(c.rdata), c.ttl) for c in soa if c.kind == REMOVED}  # type: ignore[arg-type]
    added = {(_no_serial(c.rdata), c.ttl) for c in soa if c.kind == ADDED}  # type: ignore[arg-type]
    if removed != added or any(c.kind == TTL_CHANGED for c in soa):
        out += soa
    return out


def operations(changes: list[Change], live: Zone, wanted: Zone) -> list[Op]:
    """The update section for `changes` (SOA aside), owner by owner in canonical order: each
    owner's deletes before its adds, so a name can change from A to CNAME (RFC 2136 3.4.2.2)."""
    origin = wanted.origin
    ops: list[Op] = []
    for owner, of_owner in groupby(changes, key=lambda c: c.owner):
        deletes: list[Op] = []
        adds: list[Op] = []
        for code, group in groupby(of_owner, key=lambda c: c.code):
            if code == SOA_CODE and owner == origin:
                continue  # each part sets the SOA itself
            items = list(group)
            # RFC 2136 3.4.2.3: a set delete (class ANY) never touches the apex NS set
            whole = not (owner == origin and code == NS_CODE)
            live_set, wanted_set = live.rrset(owner, code), wanted.rrset(owner, code)
            if whole and any(c.kind == TTL_CHANGED for c in items):
                # one TTL per RRset (RFC 2181 5.2): the set again, whole, with the new TTL
                deletes.append(Op(DELETE_RRSET, owner, code))
                adds += [Op(ADD, owner, code, r.ttl, r.rdata) for r in wanted_set.records] if wanted_set else []
                continue
            if whole and wanted_set is None and live_set is not None:
                deletes.append(Op(DELETE_RRSET, owner, code))
                continue
            for c in items:
                if c.kind == REMOVED:
                    deletes.append(Op(DELETE, owner, code, 0, c.rdata))
                else:  # ADDED, or a TTL change of the apex NS set: adding with the new TTL sets it
                    adds.append(Op(ADD, owner, code, c.ttl, c.rdata))
        ops += deletes + adds
    return ops


def serial_chain(live: int, parts: int, wanted: int | None, today: date | None = None) -> list[int]:
    """The serial each part sets. `wanted` None (serial: auto): the zone's rule, zonetool.serial's
    next_serial, from part to part. A fixed serial: the last part sets it; the ones before count up
    from the live serial, and it must be greater than all of them (RFC 1982), else a secondary
    would never transfer the result."""
    if wanted is None:
        out, serial = [], live
        for _ in range(parts):
            serial = next_serial(serial, None, "push", today)
            out.append(serial)
        return out
    out = [(live + k) % (1 << 32) for k in range(1, parts)]
    before = out[-1] if out else live
    if not serial_gt(wanted, before):
        raise UpdateError(f"the zone's serial {wanted} is not greater than the live serial {live}"
                          + (f" plus the {parts - 1} parts before the last" if parts > 1 else "")
                          + "; raise it in the zone, or use `serial: auto`")
    return [*out, wanted]


def _start(origin: Name, expected: SOA, soa: Record) -> tuple[Packer, int, int]:
    """Header, zone section, the SOA prerequisite and the SOA update; returns where the two serials are."""
    packer = Packer(HEADER.pack(0, UPDATE << 11, 1, 1, 0, 0))
    packer.name(origin)
    packer.buf += struct.pack("!HH", SOA_CODE, CLASS_IN)  # RFC 2136 2.3: ZTYPE SOA, ZCLASS the zone's
    packer.record(origin, 0, expected, CLASS_IN)  # RFC 2136 2.4.2: TTL 0, the exact RRset
    at_expected = len(packer.buf) - 20
    packer.record(origin, soa.ttl, soa.rdata, CLASS_IN)
    return packer, at_expected, len(packer.buf) - 20


def _split(origin: Name, live: SOA, soa: Record, ops: list[Op], budget: int) -> list[tuple[Packer, int, int, list[Op]]]:
    """Ops packed into messages of at most `budget` octets, an owner's ops kept together when they fit.
    The first part expects the live SOA, each later one the SOA the part before it set."""
    assert isinstance(soa.rdata, SOA)
    parts: list[tuple[Packer, int, int, list[Op]]] = []

    def fresh() -> tuple[Packer, int, int, list[Op]]:
        parts.append((*_start(origin, soa.rdata if parts else live, soa), []))  # type: ignore[arg-type]
        return parts[-1]

    current = fresh()
    for _, group in groupby(ops, key=lambda op: op.owner):
        owner_ops = list(group)
        packer, _, _, placed = current
        mark = len(packer.buf)
        for op in owner_ops:
            op.pack(packer)
        if len(packer.buf) <= budget:
            placed += owner_ops
            continue
        packer.rollback(mark)
        if placed:
            current = fresh()
        for op in owner_ops:  # one op at a time: an owner too big for one message spans several
            packer, _, _, placed = current
            mark = len(packer.buf)
            op.pack(packer)
            if len(packer.buf) > budget:
                packer.rollback(mark)
                if not placed:
                    raise UpdateError(f"{op.owner.to_text()} {type_name(op.code)}: a record too big for "
                                      f"one UPDATE message of {budget} octets")
                current = fresh()
                packer, _, _, placed = current
                op.pack(packer)
            placed.append(op)
    return parts


def build_update(live: Zone, wanted: Zone, changes: list[Change] | None = None, *, reserve: int = 0,
                 limit: int = MAX_MESSAGE, today: date | None = None) -> list[Part]:
    """The UPDATE messages that make `live` equal `wanted`, each at most `limit - reserve` octets
    (`reserve`: room for the TSIG record the sender appends). No changes: no messages."""
    if changes is None:
        changes = diff_zones(live, wanted)
    if not changes:
        return []
    live_soa, wanted_soa = live.soa_record(), wanted.soa_record()
    if live_soa is None or wanted_soa is None:
        raise UpdateError("both zones need an SOA")
    assert isinstance(live_soa.rdata, SOA) and isinstance(wanted_soa.rdata, SOA)
    origin = wanted.origin
    packed = _split(origin, live_soa.rdata, wanted_soa, operations(changes, live, wanted), limit - reserve)
    serials = serial_chain(live_soa.rdata.serial, len(packed), None if wanted.auto_serial else
                           wanted_soa.rdata.serial, today)
    parts: list[Part] = []
    expected = live_soa.rdata
    for (packer, at_expected, at_serial, ops), serial in zip(packed, serials, strict=True):
        buf = packer.buf
        struct.pack_into("!HHHH", buf, 4, 1, 1, 1 + len(ops), 0)  # ZOCOUNT, PRCOUNT, UPCOUNT, ADCOUNT
        struct.pack_into("!I", buf, at_expected, expected.serial)
        struct.pack_into("!I", buf, at_serial, serial)
        soa = replace(wanted_soa, rdata=replace(wanted_soa.rdata, serial=serial))
        parts.append(Part(bytes(buf), expected, soa, tuple(ops)))
        expected = soa.rdata  # type: ignore[assignment]
    return parts
