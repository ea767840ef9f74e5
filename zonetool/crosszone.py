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
from typing import TYPE_CHECKING, TypeVar

from zonetool.findings import Finding
from zonetool.names import Name, NameError_
from zonetool.rrtypes import RRType
from zonetool.rules import RULES, apply_silence, run_rules
from zonetool.rules.base import Peers
from zonetool.zone import Zone

if TYPE_CHECKING:
    from zonetool.blocks.mailpolicy import Consents

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
    every zone that includes it. An index from each origin to the verdicts that looked it up finds
    them without a look at every zone. A fresh Refiner judges every zone (`refine` without one)."""

    def __init__(self) -> None:
        self._by_origin: dict[Name, Zone] = {}  # the last load's peers, as a plain dict
        self._zones: dict[int, Zone] = {}  # id(zone) -> zone, of the last load
        self._judged: dict[int, _Judged] = {}  # id(zone) -> its verdict (the entry holds the zone)
        self._readers: dict[Name, set[int]] = {}  # origin -> the verdicts that looked it up
        self._everything: set[int] = set()  # the verdicts that read every zone
        self._stale: set[int] = set()  # restored verdicts of older code: run again
        self._found: dict[str | None, list[Finding]] = {}  # file -> its verdict's findings, in load order
        self._ordered = False  # _found follows the last load's order of files
        self._flat: list[Finding] = []  # _found's lists, concatenated
        self.consents: Consents | None = None  # what authorize_reports keeps (set by loader.across)

    def _peers(self, zones: list[Zone]) -> tuple[_Watched, set[Name], list[int], list[int]]:
        """This load's peers, the origins whose zone is another object than at the last load (new or
        gone), and the ids of the zones new and gone. Built from the last load's by replacing what
        changed (zones compared by identity): an edit among 10,000 zones hashes no 10,000 origins."""
        now = {id(z): z for z in zones}
        before = self._zones
        new = list(now.keys() - before.keys())
        gone = list(before.keys() - now.keys())
        self._zones = now
        if before and len(self._by_origin) == len(before):  # no two files with one origin
            plain = self._by_origin.copy()
            moved: set[Name] = set()
            for key in gone:
                zone = before[key]
                if plain.get(zone.origin) is zone:
                    del plain[zone.origin]
                    moved.add(zone.origin)
            for key in new:
                zone = now[key]
                plain[zone.origin] = zone
                moved.add(zone.origin)
            if len(plain) == len(now):
                everyone = _Watched(())
                dict.update(everyone, plain)
                self._by_origin = plain
                return everyone, moved, new, gone
        everyone = _Watched(zones)
        plain = dict(dict.items(everyone))
        old = self._by_origin
        moved = {o for o, z in plain.items() if old.get(o) is not z}
        moved.update(o for o in old if o not in plain)
        self._by_origin = plain
        return everyone, moved, new, gone

    def _keep(self, judged: _Judged) -> None:
        key = id(judged.zone)
        self._judged[key] = judged
        if judged.looked is None:
            self._everything.add(key)
        else:
            for origin in judged.looked:
                self._readers.setdefault(origin, set()).add(key)

    def _drop(self, key: int) -> _Judged | None:
        judged = self._judged.pop(key, None)
        self._stale.discard(key)
        if judged is not None:
            if judged.looked is None:
                self._everything.discard(key)
            else:
                for origin in judged.looked:
                    readers = self._readers.get(origin)
                    if readers is not None:
                        readers.discard(key)
                        if not readers:
                            del self._readers[origin]
        return judged

    def refine(self, zones: list[Zone], findings: list[Finding]) -> list[Finding]:
        cross = [code for code, r in RULES.items() if r.cross_zone]
        everyone, moved, new, gone = self._peers(zones)
        todo = set(new) | self._stale
        for origin in moved:
            todo.update(self._readers.get(origin, ()))
        if moved:
            todo.update(self._everything)
        before = {key: self._drop(key) for key in gone}
        dirty = not self._ordered or any(j is not None and j.found for j in before.values())
        now = self._zones
        # judged in file order (the order of `zones` for one folder), as a full validation does
        for zone in sorted((now[key] for key in todo if key in now), key=lambda z: z.file or ""):
            old = self._drop(id(zone))
            everyone.start(zone)
            peers = everyone if _names_a_peer(zone, everyone) else None  # alone: the same findings, cheaper
            found = _place(apply_silence(run_rules(zone, only=cross, peers=peers), zone.silence), zone)
            self._keep(_Judged(zone, everyone.taken(), found))
            self._found[zone.file] = found
            dirty = dirty or bool(found) or bool(old is not None and old.found)
        # a file replaced by its new version keeps its place; files added or gone: the order anew
        if sorted(b.zone.file or "" for b in before.values() if b is not None) != \
                sorted(now[key].file or "" for key in new):
            self._ordered = False
        if not self._ordered:
            self._found = {z.file: self._judged[id(z)].found or [] for z in zones}
            self._ordered, dirty = True, True
        if dirty:
            self._flat = [f for found in self._found.values() for f in found]
        codes = set(cross)
        kept = [f for f in findings if not (f.code in codes and f.where.file in self._found)]
        return kept + self._flat

    def state(self) -> tuple[list[Zone], list[tuple[Zone, frozenset[Name] | None, list[Finding] | None]]]:
        """The last load's zones and verdicts, keyed by nothing process-bound (serve --cache)."""
        return list(self._zones.values()), [(j.zone, j.looked, j.found) for j in list(self._judged.values())]

    def restore(self, zones: list[Zone],
                judged: list[tuple[Zone, frozenset[Name] | None, list[Finding] | None]]) -> None:
        """Continue from `state()` of an earlier process, as if its last load had been ours."""
        self.__init__()  # type: ignore[misc]
        self._zones = {id(z): z for z in zones}
        self._by_origin = {z.origin: z for z in zones}
        for zone, looked, found in judged:
            self._keep(_Judged(zone, looked, found))
            if found is None:
                self._stale.add(id(zone))


def refine(zones: list[Zone], findings: list[Finding], refiner: Refiner | None = None) -> list[Finding]:
    """`findings` with every zone's cross-zone findings (re)done: with the other zones as peers for a
    zone that names one, on its own for the rest. The loader leaves these rules to this pass
    (`Policy.cross_zone`), so each runs once per zone; findings a caller's own loader made for them
    are replaced. With a `refiner`, verdicts of the last load that no change can touch are reused."""
    return (refiner if refiner is not None else Refiner()).refine(zones, findings)


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
