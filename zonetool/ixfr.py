"""Incremental zone transfer (RFC 1995): the differences between a zone's last versions, pure.

The server keeps, per zone, the deltas of its last `limit` versions (one `Delta` per reload that
changed the serial). An IXFR for serial S is answered with the chain of deltas from S to now
when it is known and smaller than the zone, and with the whole zone otherwise (RFC 1995 4).
Memory is bounded: at most `limit` deltas per zone, and a delta bigger than the zone is not kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from zonetool.names import Name
from zonetool.serial import serial_gt
from zonetool.zone import SOA_CODE, Record, Zone

DEFAULT_HISTORY = 20


@dataclass(frozen=True, slots=True)
class Delta:
    """From one version to the next: the old SOA, what went, the new SOA, what came (RFC 1995 4)."""

    old_soa: Record
    new_soa: Record
    removed: tuple[Record, ...]
    added: tuple[Record, ...]

    @property
    def old_serial(self) -> int:
        return self.old_soa.rdata.serial  # type: ignore[attr-defined,no-any-return]

    @property
    def new_serial(self) -> int:
        return self.new_soa.rdata.serial  # type: ignore[attr-defined,no-any-return]

    def __len__(self) -> int:
        return len(self.removed) + len(self.added) + 2


def delta(old: Zone, new: Zone) -> Delta | None:
    """The delta from `old` to `new`, or None when there is none to keep (same serial, no SOA).

    One pass over the nodes, RRsets compared as (data, TTL) sets only where their record lists
    differ: a reload of a 100,000-record zone with one change costs a dict look-up per node.
    """
    old_soa, new_soa = old.soa_record(), new.soa_record()
    if old_soa is None or new_soa is None or not serial_gt(new_soa.rdata.serial, old_soa.rdata.serial):  # type: ignore[attr-defined]
        return None
    removed: list[Record] = []
    added: list[Record] = []
    _changes(old, new, removed)
    _changes(new, old, added)
    return Delta(old_soa, new_soa, tuple(removed), tuple(added))


def _changes(this: Zone, other: Zone, out: list[Record]) -> None:
    """The records of `this` that `other` lacks (a TTL change counts: RFC 1995 4 removes and adds)."""
    others = other.nodes
    for owner, node in this.nodes.items():
        there = others.get(owner)
        for code, rrset in node.items():
            if code == SOA_CODE:
                continue  # the SOAs are the delta's own delimiters
            theirs = there.get(code) if there is not None else None
            if theirs is None:
                out.extend(rrset.records)
            elif theirs.records != rrset.records:
                keep = {(r.rdata, r.ttl) for r in theirs.records}
                out.extend(r for r in rrset.records if (r.rdata, r.ttl) not in keep)


class History:
    """The deltas of one zone, oldest first, at most `limit` of them."""

    def __init__(self, limit: int = DEFAULT_HISTORY) -> None:
        self.deltas: deque[Delta] = deque(maxlen=max(limit, 0))

    def add(self, step: Delta, zone_size: int) -> None:
        if self.deltas.maxlen == 0:
            return
        if self.deltas and self.deltas[-1].new_serial != step.old_serial:
            self.deltas.clear()  # a gap (a version we never served): older deltas cannot chain to it
        if len(step) > zone_size:
            self.deltas.clear()  # a rewrite: the zone itself is the smaller answer, now and for older serials
            return
        self.deltas.append(step)

    def since(self, serial: int, zone_size: int) -> list[Delta] | None:
        """The chain from `serial` to the newest version, or None (answer with the whole zone)."""
        for index, step in enumerate(self.deltas):
            if step.old_serial == serial:
                chain = list(self.deltas)[index:]
                return chain if sum(len(d) for d in chain) <= zone_size else None
        return None


def ixfr_records(chain: Iterable[Delta]) -> Iterator[Record]:
    """The records between the first and last SOA of an incremental answer (RFC 1995 4)."""
    for step in chain:
        yield step.old_soa
        yield from step.removed
        yield step.new_soa
        yield from step.added


# -- the journal's form (serve --journal): one zone's history as bytes and back ------------------
JOURNAL_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Saved:
    """What a journal file holds for one zone: the version last served (its serial and content
    digest, zonetool.serial.content_digest) and the deltas that lead to it, oldest first."""

    origin: Name
    serial: int
    digest: str
    deltas: tuple[Delta, ...]


def _record_json(record: Record) -> list[object]:
    return [record.owner.to_text(), record.ttl, record.code, record.rdata.to_wire().hex()]


def _record_of(item: object) -> Record:
    from zonetool.rrtypes.convert import from_wire

    if not (isinstance(item, list) and len(item) == 4 and isinstance(item[0], str) and isinstance(item[1], int)
            and isinstance(item[2], int) and isinstance(item[3], str)):
        raise ValueError(f"not a record: {str(item)[:80]}")
    return Record(Name.from_text(item[0]), item[1], from_wire(item[2], bytes.fromhex(item[3])))


def encode_saved(saved: Saved) -> bytes:
    """The journal file's bytes: JSON, each record as owner, TTL, type code and RDATA in wire form (hex)."""
    import json

    return json.dumps({
        "format": JOURNAL_FORMAT, "origin": saved.origin.to_text(), "serial": saved.serial, "digest": saved.digest,
        "deltas": [{"old_soa": _record_json(d.old_soa), "new_soa": _record_json(d.new_soa),
                    "removed": [_record_json(r) for r in d.removed], "added": [_record_json(r) for r in d.added]}
                   for d in saved.deltas],
    }, separators=(",", ":")).encode("ascii")


def decode_saved(data: bytes) -> Saved:
    """The inverse of encode_saved; ValueError says what is wrong with a damaged or truncated file."""
    import json

    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("format") != JOURNAL_FORMAT:
            raise ValueError(f"not a zonetool journal of format {JOURNAL_FORMAT}")
        deltas = []
        for d in doc["deltas"]:
            step = Delta(_record_of(d["old_soa"]), _record_of(d["new_soa"]),
                         tuple(_record_of(r) for r in d["removed"]), tuple(_record_of(r) for r in d["added"]))
            if step.old_soa.code != SOA_CODE or step.new_soa.code != SOA_CODE:
                raise ValueError("a delta without its SOAs")
            deltas.append(step)
        serial, digest = doc["serial"], doc["digest"]
        if not isinstance(serial, int) or not isinstance(digest, str):
            raise ValueError("no serial or digest")
        saved = Saved(Name.from_text(doc["origin"]), serial, digest, tuple(deltas))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"missing or malformed field {exc}") from None
    except ValueError as exc:  # json, hex, names, RDATA (WireError is a ValueError)
        raise ValueError(str(exc) or type(exc).__name__) from None
    if deltas and deltas[-1].new_serial != serial:
        raise ValueError(f"the last delta ends at serial {deltas[-1].new_serial}, not {serial}")
    return saved
