"""The zone: records grouped into RRsets by owner and type, plus the indexes lookups need.

A Zone knows nothing of where its records came from beyond each record's `Where`;
it is built by the YAML compiler, the BIND reader or by hand in tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from zonetool.findings import Where
from zonetool.names import Name
from zonetool.rrtypes import SOA, Rdata, RRType, type_name

__all__ = ["CNAME_CODE", "NS_CODE", "SOA_CODE", "RRType", "RRset", "Record", "Zone", "common_ttl"]

SOA_CODE, NS_CODE, CNAME_CODE = int(RRType.SOA), int(RRType.NS), int(RRType.CNAME)  # plain ints: hot dict keys


@dataclass(frozen=True, slots=True)
class Record:
    owner: Name
    ttl: int
    rdata: Rdata
    where: Where = field(default_factory=Where, compare=False)
    origin: str | None = field(default=None, compare=False)  # "mail", "services": which block made it

    @property
    def code(self) -> int:
        return self.rdata.type_code

    @property
    def rtype(self) -> str:
        return type_name(self.code)


@dataclass(slots=True)
class RRset:
    """All records of one owner and type; RFC 2181 5.2 wants one TTL, rules check that."""

    owner: Name
    code: int
    records: list[Record] = field(default_factory=list)
    _rdatas: set[Rdata] | None = field(default=None, repr=False, compare=False)

    def rdata_set(self) -> set[Rdata]:
        """The records' data as a set (built on first use), so adding to a big RRset stays O(1)."""
        if self._rdatas is None:
            self._rdatas = {r.rdata for r in self.records}
        return self._rdatas

    @property
    def ttl(self) -> int:
        return min(r.ttl for r in self.records)

    @property
    def rdatas(self) -> list[Rdata]:
        return [r.rdata for r in self.records]

    @property
    def rtype(self) -> str:
        return self.records[0].rtype


class Zone:
    """An authoritative zone rooted at `origin` (RFC 1034 4.2)."""

    def __init__(self, origin: Name, file: str | None = None) -> None:
        self.origin = origin
        self.file = file
        self.nodes: dict[Name, dict[int, RRset]] = {}
        self.duplicates: list[Record] = []
        self.auto_serial = False  # the source asked for `serial: auto` (see zonetool.serial)
        self.faults_spec: list[object] = []  # the YAML `faults:` list, passed through as plain data
        self.silence: dict[str, str] = {}  # finding code -> the owner's reason for accepting it
        self.dnssec: Any = None  # the `dnssec:` block's zonetool.dnssec.Policy: sign on export and serve
        self.mta_sts: object = None  # the mail block's MTA-STS policy (zonetool.mailpolicy.mtasts.Policy), not DNS data
        self._ents: set[Name] | None = None
        self._cuts: set[Name] | None = None

    # -- building -----------------------------------------------------------
    def add(self, record: Record) -> None:
        """Add a record; a repeat of data already present is set aside in `duplicates`.

        An RRset is a set (RFC 2181 5), so the zone keeps one copy and the rules
        report the repeats.
        """
        node = self.nodes.setdefault(record.owner, {})
        code = record.rdata.type_code
        rrset = node.get(code)
        if rrset is None:
            node[code] = RRset(record.owner, code, [record])
        elif record.rdata in rrset.rdata_set():
            self.duplicates.append(record)
        else:
            rrset.records.append(record)
            rrset.rdata_set().add(record.rdata)
        self._ents = self._cuts = None

    def extend(self, records: Iterable[Record]) -> None:
        for record in records:
            self.add(record)

    def remove(self, owner: Name, code: int | None = None, rdata: Rdata | None = None) -> int:
        """Remove records by owner, type and data; returns how many went."""
        node = self.nodes.get(owner)
        if not node:
            return 0
        removed = 0
        for c in list(node) if code is None else [code]:
            rrset = node.get(c)
            if rrset is None:
                continue
            keep = [r for r in rrset.records if rdata is not None and r.rdata != rdata]
            removed += len(rrset.records) - len(keep)
            if keep:
                rrset.records = keep
                rrset._rdatas = None
            else:
                del node[c]
        if not node:
            del self.nodes[owner]
        self._ents = self._cuts = None
        return removed

    # -- questions ------------------------------------------------------------
    def rrset(self, owner: Name, code: int) -> RRset | None:
        node = self.nodes.get(owner)
        return node.get(code) if node else None

    @property
    def soa(self) -> SOA | None:
        rrset = self.rrset(self.origin, SOA_CODE)
        return rrset.records[0].rdata if rrset else None  # type: ignore[return-value]

    def soa_record(self) -> Record | None:
        rrset = self.rrset(self.origin, SOA_CODE)
        return rrset.records[0] if rrset else None

    def set_serial(self, serial: int) -> None:
        """Replace the SOA serial (auto serials are stamped after compilation)."""
        from dataclasses import replace

        rrset = self.rrset(self.origin, SOA_CODE)
        if rrset is None:
            raise ValueError("zone has no SOA")
        old = rrset.records[0]
        rrset.records[0] = replace(old, rdata=replace(old.rdata, serial=serial))
        rrset._rdatas = None

    def contains(self, name: Name) -> bool:
        return name.is_subdomain_of(self.origin)

    @property
    def ents(self) -> set[Name]:
        """Empty non-terminals: names with no records but with records below (RFC 8020)."""
        if self._ents is None:
            ents: set[Name] = set()
            depth = len(self.origin.labels)
            for name in self.nodes:
                if not name.is_subdomain_of(self.origin):
                    continue
                labels = name.labels
                for i in range(1, len(labels) - depth):
                    parent = Name(labels[i:])
                    if parent in ents:
                        break
                    if parent not in self.nodes:
                        ents.add(parent)
            self._ents = ents
        return self._ents

    @property
    def cuts(self) -> set[Name]:
        """Delegation points: names below the apex that own NS records."""
        if self._cuts is None:
            self._cuts = {n for n, node in self.nodes.items() if NS_CODE in node and n != self.origin}
        return self._cuts

    def exists(self, name: Name) -> bool:
        return name in self.nodes or name in self.ents

    def find_cut(self, name: Name) -> Name | None:
        """The highest delegation point at or above `name` (RFC 1034 4.3.2 step 3b)."""
        cuts = self.cuts
        if not cuts:
            return None
        depth = len(self.origin.labels)
        labels = name.labels
        for i in range(len(labels) - depth - 1, -1, -1):
            candidate = Name(labels[i:])
            if candidate in cuts:
                return candidate
        return None

    def is_occluded(self, name: Name) -> bool:
        """True for names strictly below a delegation point (their data is not authoritative)."""
        cut = self.find_cut(name)
        return cut is not None and cut != name

    # -- iteration ------------------------------------------------------------
    def names(self) -> list[Name]:
        """Owner names in canonical order (RFC 4034 6.1), apex first."""
        return sorted(self.nodes, key=Name.canonical_key)

    def rrsets(self) -> Iterator[RRset]:
        for name in self.names():
            node = self.nodes[name]
            for code in sorted(node, key=lambda c: (c != SOA_CODE, c)):
                yield node[code]

    def records(self) -> Iterator[Record]:
        for rrset in self.rrsets():
            yield from rrset.records

    def __len__(self) -> int:
        return sum(len(rrset.records) for node in self.nodes.values() for rrset in node.values())

    def __repr__(self) -> str:
        return f"<Zone {self.origin} {len(self)} records>"


def common_ttl(zone: Zone) -> int:
    """The most common TTL (the lowest on a tie): the zone's default in both output formats."""
    # nodes walked unsorted (the choice depends only on the counts): zone.records() sorts every name
    counts = Counter(r.ttl for node in zone.nodes.values() for rrset in node.values() for r in rrset.records)
    if not counts:
        return 3600
    return min(counts, key=lambda ttl: (-counts[ttl], ttl))
