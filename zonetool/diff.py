"""Record-level differences between two zones: the plan of a deploy.

Pure core: Zone x Zone -> changes. It compares RRsets by owner and type as sets of
rdata (RFC 2181 5: an RRset is a set, so order and duplicates do not count) and reports
a TTL change separately from a data change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import groupby

from zonetool.names import Name
from zonetool.rrtypes import SOA, Rdata, type_name
from zonetool.zone import SOA_CODE, Zone

ADDED, REMOVED, TTL_CHANGED = "+", "-", "~"


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # ADDED, REMOVED or TTL_CHANGED
    owner: Name
    code: int
    rdata: Rdata
    ttl: int  # the TTL on the side that has the record (the new one for TTL changes)
    old_ttl: int | None = None  # only for TTL_CHANGED

    @property
    def rtype(self) -> str:
        return type_name(self.code)

    def to_json(self) -> dict[str, object]:
        """One change as programs read it: names absolute, data in presentation form."""
        out: dict[str, object] = {"change": {ADDED: "added", REMOVED: "removed", TTL_CHANGED: "ttl"}[self.kind],
                                  "owner": self.owner.to_text(), "type": self.rtype, "ttl": self.ttl,
                                  "data": self.rdata.to_text()}
        if self.old_ttl is not None:
            out["old_ttl"] = self.old_ttl
        return out


def _rrsets(zone: Zone, ignore_serial: bool) -> dict[tuple[Name, int], dict[Rdata, int]]:
    out: dict[tuple[Name, int], dict[Rdata, int]] = {}
    for rrset in zone.rrsets():
        data: dict[Rdata, int] = {}
        for record in rrset.records:
            rdata = record.rdata
            if ignore_serial and isinstance(rdata, SOA):
                rdata = replace(rdata, serial=0)
            data[rdata] = record.ttl
        out[(rrset.owner, rrset.code)] = data
    return out


def _order(key: tuple[Name, int]) -> tuple[tuple[bytes, ...], bool, int]:
    owner, code = key
    return owner.canonical_key(), code != SOA_CODE, code


def diff_zones(old: Zone, new: Zone, ignore_serial: bool | None = None) -> list[Change]:
    """Changes that turn `old` into `new`, in canonical owner order then type.

    An `auto` serial on either side is stamped at load time, so it is ignored unless
    `ignore_serial` says otherwise.
    """
    if ignore_serial is None:
        ignore_serial = old.auto_serial or new.auto_serial
    before, after = _rrsets(old, ignore_serial), _rrsets(new, ignore_serial)
    changes: list[Change] = []
    for key in sorted(before.keys() | after.keys(), key=_order):
        owner, code = key
        was, now = before.get(key, {}), after.get(key, {})
        for rdata, ttl in was.items():
            if rdata not in now:
                changes.append(Change(REMOVED, owner, code, rdata, ttl))
        for rdata, ttl in now.items():
            if rdata not in was:
                changes.append(Change(ADDED, owner, code, rdata, ttl))
            elif was[rdata] != ttl:
                changes.append(Change(TTL_CHANGED, owner, code, rdata, ttl, was[rdata]))
    return changes


def format_changes(changes: list[Change], origin: Name | None = None) -> str:
    """Changes grouped by owner and type; names relative to `origin` as a zone file writes them."""
    lines: list[str] = []
    for (owner, code), group in groupby(changes, key=lambda c: (c.owner, c.code)):
        name = owner.relativize(origin) if origin is not None else owner.to_text()
        lines.append(f"{name} {type_name(code)}")
        for c in group:
            text = c.rdata.to_text(origin)
            if c.kind == TTL_CHANGED:
                lines.append(f"  ~ ttl {c.old_ttl} -> {c.ttl}  {text}")
            else:
                lines.append(f"  {c.kind} {c.ttl} {text}")
    counts = {k: sum(1 for c in changes if c.kind == k) for k in (ADDED, REMOVED, TTL_CHANGED)}
    lines.append(f"{counts[ADDED]} added, {counts[REMOVED]} removed, {counts[TTL_CHANGED]} TTL changed")
    return "\n".join(lines)
