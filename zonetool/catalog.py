"""Catalog zones (RFC 9432): the served zones listed as one zone that secondaries provision from. Pure.

A secondary configured with only the catalog zone (Knot's `catalog-role: interpret`, BIND's
`catalog-zones`) transfers it and then serves every zone it names. The catalog is built from the
member origins alone: the version TXT, and one PTR per member under `zones.` whose label is a
hash of the member's name (RFC 9432 4.1 leaves the label's choice to the producer), so a member
keeps its label across reloads and restarts and a consumer never mistakes a restart for a
re-added zone (which would reset it, RFC 9432 5.6).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable

from zonetool.names import Name
from zonetool.rrtypes import NS, PTR, SOA, TXT
from zonetool.zone import Record, Zone

SCHEMA_VERSION = b"2"  # RFC 9432 4.2.1
INVALID = Name((b"invalid",))  # RFC 9432 4: the apex NS points at "invalid.", the catalog is not for resolvers
TTL = 0  # nothing in a catalog zone is meant to be cached by resolvers
# SOA timers: NOTIFY tells the consumers of a change; refresh is the fallback if one is lost.
REFRESH, RETRY, EXPIRE, MINIMUM = 60, 30, 2_419_200, 0


def member_label(member: Name) -> bytes:
    """The unique label of a member (RFC 9432 4.1): the SHA-1 of its lower-case wire name, in hex.

    Derived from the name only, so it is the same in every process and after every restart."""
    wire = b"".join(len(label).to_bytes(1, "big") + label for label in member.key) + b"\x00"
    return hashlib.sha1(wire, usedforsecurity=False).hexdigest().encode("ascii")


def member_owner(catalog: Name, member: Name) -> Name:
    """Where a member's PTR lives: <unique-N>.zones.<catalog> (RFC 9432 4.1)."""
    return Name((member_label(member), b"zones", *catalog.labels))


def build(catalog: Name, members: Iterable[Name], serial: int) -> Zone:
    """The catalog zone `catalog` listing `members` (the catalog itself and duplicates left out)."""
    zone = Zone(catalog)
    zone.add(Record(catalog, TTL, SOA(INVALID, INVALID, serial, REFRESH, RETRY, EXPIRE, MINIMUM)))
    zone.add(Record(catalog, TTL, NS(INVALID)))
    zone.add(Record(Name((b"version", *catalog.labels)), TTL, TXT((SCHEMA_VERSION,))))
    for member in members:
        if member != catalog:
            zone.add(Record(member_owner(catalog, member), TTL, PTR(member)))
    return zone


class Catalog:
    """The catalog across reloads: rebuilt, with a new serial, only when the set of members changes.

    The first serial is the clock's (Unix time, as Knot's generated catalogs use), so a restarted
    server starts above what it published before; each change then adds one. Worker processes
    that see the same reloads thus publish the same serial."""

    def __init__(self, name: Name, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.clock = clock
        self.zone: Zone | None = None
        self._members: frozenset[Name] = frozenset()

    def update(self, members: Iterable[Name]) -> tuple[Zone, bool]:
        """The catalog for `members`, and whether it changed since the last call."""
        wanted = frozenset(m for m in members if m != self.name)
        if self.zone is not None and wanted == self._members:
            return self.zone, False
        # RFC 1982: one more than the last serial, modulo 2**32
        last = int(self.clock()) - 1 if self.zone is None or self.zone.soa is None else self.zone.soa.serial
        serial = (last + 1) % (1 << 32)
        self.zone = build(self.name, sorted(wanted, key=Name.canonical_key), serial)
        self._members = wanted
        return self.zone, True
