"""The rules that read other zones, run once every zone of one validation is loaded (issue 12).

A zone judged on its own (`loader.judge`, default policy) runs them with no peers: an SPF include
of another domain then counts as one lookup, a DMARC report domain is not ours to check. When
zones are loaded together (`loader.load_listed`, a server), the loader leaves them out
(`Policy.cross_zone`) and `refine` runs them here, once per zone, with the others as `peers`
for each zone that names one. A server keeps a `Refiner` so that a reload re-runs them only
where the change can reach. This is an edge (it re-reads a YAML file to place what it found),
called from `loader.load_listed`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from zonetool.findings import Finding
from zonetool.names import Name, NameError_
from zonetool.rrtypes import RRType
from zonetool.rules import RULES, apply_silence, run_rules
from zonetool.rules.base import Peers
from zonetool.zone import Zone

T = TypeVar("T")
TXT_CODE, TLSA_CODE = int(RRType.TXT), int(RRType.TLSA)
_DOMAIN = re.compile(rb"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+")


@dataclass(slots=True)
class _Judged:
    """One zone's cross-zone verdict: what its cross-zone rules found and the origins they looked up
    (None: all of them, through `Context.across`)."""

    zone: Zone
    looked: frozenset[Name] | None
    found: list[Finding] | None  # None only in a snapshot of older code: run again


class _Watched(Peers):
    """Peers that note which origins are looked up while one zone is judged (hits and misses alike:
    a zone added at a missed origin would have answered), and when a rule reads them all."""

    def __init__(self, zones: Iterable[Zone]) -> None:
        super().__init__(zones)
        self.looked: set[Name] = set()
        self.everything = False

    def get(self, key: Name, default: Zone | None = None) -> Zone | None:  # type: ignore[override]
        self.looked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: Name) -> Zone:
        self.looked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, Name):
            self.looked.add(key)
        return super().__contains__(key)

    def _all(self) -> None:
        self.everything = True

    def __iter__(self):  # type: ignore[no-untyped-def]
        self._all()
        return super().__iter__()

    def keys(self):  # type: ignore[no-untyped-def]
        self._all()
        return super().keys()

    def values(self):  # type: ignore[no-untyped-def]
        self._all()
        return super().values()

    def items(self):  # type: ignore[no-untyped-def]
        self._all()
        return super().items()

    def memo(self, key: str, build: Callable[[Peers], T]) -> T:
        self._all()  # an index over every zone (tlsa-not-exchanger's MX hosts)
        return super().memo(key, build)

    def start(self, zone: Zone) -> None:
        self.looked = {zone.origin}
        self.everything = False

    def taken(self) -> frozenset[Name] | None:
        return None if self.everything else frozenset(self.looked)


class Refiner:
    """Cross-zone verdicts kept from one load to the next (a server's reloads, issue 11): a zone's
    rules run again only if its file changed or a zone it looked up changed, appeared or went, so
    one edited customer zone of 10,000 re-runs one zone's rules, and an edited provider zone re-runs
    every zone that includes it. The findings are those of `refine` without it."""

    def __init__(self) -> None:
        self._by_origin: dict[Name, Zone] = {}  # the last load's peers, as a plain dict
        self._zones: dict[int, Zone] | None = None  # id(zone) -> zone, of the last load
        self._judged: dict[int, _Judged] = {}  # id(zone) -> its verdict (the entry holds the zone)

    def peers(self, zones: list[Zone]) -> tuple[_Watched, set[Name]]:
        """This load's peers and the origins whose zone is another object than at the last load, new
        or gone. Built from the last load's by replacing what changed (zones compared by identity),
        so an edit among 10,000 zones does not hash 10,000 origins again."""
        now = {id(z): z for z in zones}
        before = self._zones
        if before is not None and len(self._by_origin) == len(before):  # no two files with one origin
            plain = self._by_origin.copy()
            moved: set[Name] = set()
            for key, zone in before.items():
                if key not in now and plain.get(zone.origin) is zone:
                    del plain[zone.origin]
                    moved.add(zone.origin)
            for key, zone in now.items():
                if key not in before:
                    plain[zone.origin] = zone
                    moved.add(zone.origin)
            if len(plain) == len(now):
                everyone = _Watched(())
                dict.update(everyone, plain)
                self._by_origin, self._zones = plain, now
                return everyone, moved
        everyone = _Watched(zones)
        plain = dict(dict.items(everyone))
        old = self._by_origin
        moved = {o for o, z in plain.items() if old.get(o) is not z}
        moved.update(o for o in old if o not in plain)
        self._by_origin, self._zones = plain, now
        return everyone, moved

    def reusable(self, zone: Zone, moved: set[Name]) -> _Judged | None:
        judged = self._judged.get(id(zone))
        if judged is None or judged.zone is not zone or judged.found is None:  # None: a verdict of old code
            return None
        if judged.looked is None:
            return judged if not moved else None
        return judged if judged.looked.isdisjoint(moved) else None

    def keep(self, judged: list[_Judged]) -> None:
        self._judged = {id(j.zone): j for j in judged}

    def forget(self) -> None:
        self._by_origin, self._zones, self._judged = {}, None, {}

    def state(self) -> tuple[list[Zone], list[tuple[Zone, frozenset[Name] | None, list[Finding] | None]]]:
        """The last load's zones and verdicts, keyed by nothing process-bound (serve --cache)."""
        zones = list(self._zones.values()) if self._zones is not None else []
        return zones, [(j.zone, j.looked, j.found) for j in list(self._judged.values())]

    def restore(self, zones: list[Zone],
                judged: list[tuple[Zone, frozenset[Name] | None, list[Finding] | None]]) -> None:
        """Continue from `state()` of an earlier process, as if its last load had been ours."""
        self._zones = {id(z): z for z in zones} if zones else None
        self._by_origin = {z.origin: z for z in zones}
        self._judged = {id(zone): _Judged(zone, looked, found) for zone, looked, found in judged}


def refine(zones: list[Zone], findings: list[Finding], refiner: Refiner | None = None) -> list[Finding]:
    """`findings` with every zone's cross-zone findings (re)done: with the other zones as peers for a
    zone that names one, on its own for the rest. The loader leaves these rules to this pass
    (`Policy.cross_zone`), so each runs once per zone; findings a caller's own loader made for them
    are replaced. With a `refiner`, verdicts of the last load that no change can touch are reused."""
    cross = [code for code, r in RULES.items() if r.cross_zone]
    # one set for all zones: its indexes are built once
    everyone, moved = refiner.peers(zones) if refiner is not None else (_Watched(zones), set())
    verdicts: list[_Judged] = []
    redone: dict[str | None, list[Finding]] = {}
    for zone in zones:
        judged = refiner.reusable(zone, moved) if refiner is not None else None
        if judged is None:
            everyone.start(zone)
            peers = everyone if _names_a_peer(zone, everyone) else None  # alone: the same findings, cheaper
            found = _place(apply_silence(run_rules(zone, only=cross, peers=peers), zone.silence), zone)
            judged = _Judged(zone, everyone.taken(), found)
        verdicts.append(judged)
        redone[zone.file] = judged.found or []
    if refiner is not None:
        refiner.keep(verdicts)
    codes = set(cross)
    kept = [f for f in findings if not (f.code in codes and f.where.file in redone)]
    return kept + [f for found in redone.values() for f in found]


def _names_a_peer(zone: Zone, everyone: Peers) -> bool:
    """Cheap test: a TXT record of the zone mentions a name in another zone, or the zone has TLSA
    (whose exchanger's MX may sit in another zone). Zones that fail it would get the same findings."""
    for node in zone.nodes.values():
        if TLSA_CODE in node:
            return True
        rrset = node.get(TXT_CODE)
        if rrset is None:
            continue
        for r in rrset.records:
            for m in _DOMAIN.finditer(b"".join(getattr(r.rdata, "strings", ()))):
                if _in_peer(m.group(), zone, everyone):
                    return True
    return False


def _in_peer(text: bytes, zone: Zone, everyone: Peers) -> bool:
    try:
        labels = Name.from_text(text.decode("ascii", "replace").rstrip(".") + ".").labels
    except NameError_:
        return False
    for i in range(len(labels)):
        found = everyone.get(Name(labels[i:]))
        if found is not None:
            return found is not zone
    return False


def _place(found: list[Finding], zone: Zone) -> list[Finding]:
    """Line and column for findings of a YAML zone (BIND records carry theirs already)."""
    file = zone.file
    if not found or file is None or not file.endswith((".yaml", ".yml")):
        return found
    from zonetool.source import yaml as yaml_source

    try:
        text = yaml_source.decode(Path(file).read_bytes(), file)
    except (OSError, yaml_source.YamlSyntax):
        return found
    return yaml_source.locate(found, text, file)
