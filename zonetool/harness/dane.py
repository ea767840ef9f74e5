"""`serve --smtp --dane`: each sink's certificate published as `3 1 1` TLSA at `_PORT._tcp.<exchanger>`.

The TLSA goes into the served zone that holds the exchanger's name (RFC 7672 2.2.1: a sender looks it
up at the MX host's `_25._tcp` name; `_587._tcp` for a submission SRV target, RFC 7673). A name that
already has TLSA in the zone file keeps it and gets none added: a lab can publish a wrong one on
purpose (a sender doing DANE must then defer). The zones read from the files are never changed: a
zone that gets records is a copy, the same copy as long as the same zone object comes back (so an
unchanged zone stays one version for IXFR and the answer cache).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from zonetool.harness.sinks import _zone_of, exchangers
from zonetool.mailpolicy.dane import tlsa_311_text
from zonetool.names import Name
from zonetool.rrtypes import RRType, parse_rdata
from zonetool.zone import Record, Zone

TLSA_CODE = int(RRType.TLSA)
DANE_TTL = 300  # the lab's certificates are new at every start: resolvers should not keep old hashes long


def tlsa_owner(host: Name, port: int) -> Name:
    """`_25._tcp.mx1.example.com.` (RFC 6698 3: _port._protocol.name)."""
    return Name((f"_{port}".encode(), b"_tcp", *host.labels))


class DanePublisher:
    """Zones in, the same zones with each exchanger's `3 1 1` TLSA added (certificate_of(host) -> PEM)."""

    def __init__(self, certificate_of: Callable[[str], bytes], ttl: int = DANE_TTL) -> None:
        self.certificate_of = certificate_of
        self.ttl = ttl
        self.notes: list[str] = []  # what the last call published or left alone, for the serve log
        self._memo: dict[int, tuple[Zone, tuple[Record, ...], Zone]] = {}

    def __call__(self, zones: Sequence[Zone]) -> list[Zone]:
        zones = list(zones)
        found, _skipped = exchangers(zones)
        adds: dict[Name, list[Record]] = {}  # zone origin -> TLSA records to add
        notes: list[str] = []
        seen: set[Name] = set()
        for host_text, _address, port in found:
            host = Name.from_text(host_text)
            owner = tlsa_owner(host, port)
            zone = _zone_of(zones, host)
            if owner in seen or zone is None:
                continue
            seen.add(owner)
            if zone.rrset(owner, TLSA_CODE) is not None:
                notes.append(f"{owner.to_text()} TLSA kept as the zone file has it (not the sink's certificate)")
                continue
            text = tlsa_311_text(self.certificate_of(host_text))
            record = Record(owner, self.ttl, parse_rdata("TLSA", text, zone.origin), origin="dane")
            adds.setdefault(zone.origin, []).append(record)
            notes.append(f"{owner.to_text()} TLSA {text}")
        self.notes = notes
        out = [self._with(zone, tuple(adds.get(zone.origin, ()))) for zone in zones]
        live = {id(z) for z in zones}
        self._memo = {k: v for k, v in self._memo.items() if k in live}
        return out

    def _with(self, zone: Zone, records: tuple[Record, ...]) -> Zone:
        if not records:
            return zone
        memo = self._memo.get(id(zone))
        if memo is not None and memo[0] is zone and memo[1] == records:
            return memo[2]
        from zonetool.server.control import copy_zone

        copy = copy_zone(zone)
        copy.extend(records)
        self._memo[id(zone)] = (zone, records, copy)
        return copy


def published(zones: Iterable[Zone]) -> list[tuple[str, str]]:
    """(owner, TLSA text) of every TLSA the publisher added (for tests and reports)."""
    return [(r.owner.to_text(), r.rdata.to_text()) for zone in zones for r in zone.records()
            if r.code == TLSA_CODE and r.origin == "dane"]
