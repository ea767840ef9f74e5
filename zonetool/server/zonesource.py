"""Where the served zones come from: files loaded and validated, watched for changes, serials kept rising.

A reload builds the whole new zone set away from the serving path and hands it over in one
swap. A file is read only once it has held still (the runner's settle time) and is looked at
again after reading, so a half-written file never reaches a client; a file whose new version
cannot be served keeps its last good version, and a file that vanishes is served for a grace
period, so an editor's delete-then-write never drops its zone.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zonetool.findings import Finding
from zonetool.loader import ZONE_SUFFIXES
from zonetool.names import Name
from zonetool.zone import Zone

Signature = tuple[tuple[str, int, int, int], ...]


@dataclass(slots=True)
class Outcome:
    """The result of one load: `zones` is None when nothing may be swapped in (see ZoneSource.load)."""

    zones: list[Zone] | None
    findings: list[Finding]
    changed: list[Name] = field(default_factory=list)  # origins whose content or serial moved
    files: list[Path] = field(default_factory=list)
    # files whose new version is not served, each with its reasons (the previous version, if any, stays)
    refused: dict[str, list[Finding]] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # files served from their previous version
    unstable: bool = False  # a file changed while it was read: nothing swapped, read again when it settles


def served_findings(outcome: Outcome) -> str:
    """'2 error(s) and 1 warning(s)' / '1 warning(s)': the rule findings of the zones served anyway."""
    live = [f for f in outcome.findings if f.silenced is None and (f.where.file or "") not in outcome.refused]
    errors = sum(1 for f in live if f.severity.value == "error")
    warnings = sum(1 for f in live if f.severity.value == "warning")
    if not errors and not warnings:
        return ""
    return f"{errors} error(s) and {warnings} warning(s)" if errors else f"{warnings} warning(s)"


class SerialBook:
    """Remembers each auto-serial zone's (serial, content digest) so a changed zone gets a higher serial.

    RFC 1982 serial arithmetic is `zonetool.serial`'s business; this only carries the state from
    one version of a zone to the next, as a server that outlives its files must.
    """

    def __init__(self) -> None:
        self._seen: dict[Name, tuple[int, str]] = {}
        self._zones: dict[Name, Zone] = {}  # the zone object each entry was computed for

    def stamp(self, zones: Iterable[Zone], today: _dt.date | None = None) -> list[Name]:
        """Give each auto zone its next serial in place; returns the origins that differ from before.

        A zone object stamped before (a file that did not change) is skipped: its digest is known.
        """
        from zonetool.serial import content_digest, next_serial

        changed: list[Name] = []
        for zone in zones:
            soa = zone.soa
            if soa is None or self._zones.get(zone.origin) is zone:
                continue
            self._zones[zone.origin] = zone
            digest = content_digest(zone)
            prev = self._seen.get(zone.origin)
            serial = soa.serial
            if zone.auto_serial and prev is not None:
                serial = next_serial(prev[0], prev[1], digest, today)
                if serial != soa.serial:
                    zone.set_serial(serial)
            if prev is None or prev != (serial, digest):
                changed.append(zone.origin)
            self._seen[zone.origin] = (serial, digest)
        return changed

    def seed(self, origin: Name, serial: int, digest: str) -> None:
        """What a previous run served (serve --journal): the first load continues from it."""
        self._seen[origin] = (serial, digest)

    def digest(self, origin: Name) -> str | None:
        """The content digest of the version of `origin` last stamped."""
        seen = self._seen.get(origin)
        return seen[1] if seen is not None else None

    def forget(self) -> None:
        self._seen.clear()
        self._zones.clear()


GRACE = 5.0  # seconds a vanished file's zone is still served (an editor's delete-then-write)


class ZoneSource:
    """Zone files (or directories of them) given on the command line, loaded through `zonetool.loader`.

    Zones are judged file by file, as NSD loads zones: a file whose new version cannot be served
    (zonetool.loader.serving_blockers) keeps its previous version, and the other files go ahead.
    With `strict`, any error keeps the whole previous set, as before issue 10.
    """

    def __init__(
        self, paths: Sequence[str | os.PathLike[str]], *, strict: bool = False, grace: float = GRACE
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.strict = strict
        self.grace = grace
        self.serials = SerialBook()
        self.files: list[Path] = []
        self._names: list[str] = []  # self.files as strings, to compare without building Paths
        self.loaded_signature: Signature | None = None  # what the files looked like when last read
        self.served: dict[str, Zone] = {}  # file -> the version of its zone being served
        self.vanished: dict[str, float] = {}  # file -> when it was first missed (monotonic)
        # file -> (its stat when read, the zone, the findings): a reload reads only what changed (issue 11)
        self._built: dict[str, tuple[tuple[int, int, int], Zone | None, list[Finding]]] = {}
        self._stats: dict[str, tuple[int, int, int]] = {}  # the signature taken at the start of this load

    def _load_file(self, path: Path) -> tuple[Zone | None, list[Finding]]:
        """`loader.load_file`, or what it gave last time if the file's stat is the same."""
        from zonetool.loader import LONG_RUNNING, load_file

        key = str(path)
        sig = self._stats.get(key) or _stat_of(key)  # the stat the signature took: no second one
        if sig[0] < 0:
            return load_file(path, LONG_RUNNING)  # says why, as a LoadError
        cached = self._built.get(key)
        if cached is not None and cached[0] == sig:
            return cached[1], cached[2]
        # A server reloads (nothing frozen) and runs threads (nothing forked): the long-running policy.
        zone, findings = load_file(path, LONG_RUNNING)
        self._built[key] = (sig, zone, findings)
        return zone, findings

    def load(self, full: bool = False) -> Outcome:
        """Load and judge every path; what can be served is in `zones` (see the class docstring).

        Files whose stat did not change are not read again, unless `full` (SIGHUP: a BIND file's
        $INCLUDE may have changed behind it).
        """
        from zonetool.loader import has_errors, load_paths, serving_blockers

        if full:
            self._built.clear()
        # Taken before reading: a write during the load shows up as a change and is read again.
        # Recorded even if the load fails (a file vanished), so the watcher waits for the next change.
        before = self.loaded_signature = self.signature()
        self._stats = {name: (m, size, ino) for name, m, size, ino in before}
        try:
            # once serving, a folder emptied for a moment is vanished files (grace), not a failed reload
            loaded: Any = load_paths(self.paths, self._load_file, empty_ok=bool(self.served))
        finally:
            self._stats = {}
        names = list(getattr(loaded, "files", []) or [])
        if names != self._names:  # first load, or a file appeared or went: look again with the full list
            self._names = names
            self.files = [Path(f) for f in names]
            before = self.loaded_signature = self.signature()
        findings = list(loaded.findings)
        if self.signature() != before:  # read once more: a writer was still at work
            return Outcome(None, findings, files=self.files, unstable=True)
        if self.strict and (has_errors(findings) or serving_blockers(findings)):
            return Outcome(None, findings, files=self.files)
        refused: dict[str, list[Finding]] = {}
        for f in serving_blockers(findings):
            refused.setdefault(f.where.file or "", []).append(f)
        zones = [z for z in loaded.zones if (z.file or "") not in refused]
        kept = [file for file in refused if file in self.served]
        present = set(self._names)
        kept += self._vanished_but_kept(present)
        origins = {z.origin for z in zones}
        for file in kept:
            old = self.served[file]
            if old.origin not in origins:
                zones.append(old)
                origins.add(old.origin)
        self.served = {z.file or "": z for z in zones}
        for file in [f for f in self._built if f not in present]:
            del self._built[file]  # a vanished file is read afresh if it comes back
        changed = self.serials.stamp(zones)
        return Outcome(zones, findings, changed, self.files, refused, kept)

    def _vanished_but_kept(self, present: set[str]) -> list[str]:
        """Files served before and missing now that are still in their grace period."""
        now = time.monotonic()
        for file in list(self.vanished):
            if file in present:
                del self.vanished[file]
        kept = []
        for file in self.served:
            if file not in present:
                since = self.vanished.setdefault(file, now)
                if now - since < self.grace:
                    kept.append(file)
                else:
                    del self.vanished[file]
        return kept

    def grace_due(self) -> bool:
        """True once a vanished file's grace period is over: the watcher reloads to drop its zone."""
        now = time.monotonic()
        return any(now - since >= self.grace for since in self.vanished.values())

    def signature(self) -> Signature:
        """What the files look like now: a change in any of them (or a file appearing) shows here.

        os.scandir and plain strings: this runs every poll, over every file of a 10,000-zone folder.
        """
        seen: dict[str, tuple[int, int, int]] = {}
        missing = (-1, -1, -1)
        for path in self.paths:
            if path.is_dir():
                try:
                    with os.scandir(path) as entries:
                        for entry in entries:
                            if entry.name.endswith(ZONE_SUFFIXES):
                                seen[entry.path] = _stat_of(entry.path)
                except OSError:
                    continue
            else:
                seen[str(path)] = _stat_of(str(path))
        for file in self.files:  # a file that vanished from its folder still counts, as missing
            seen.setdefault(str(file), missing)
        return tuple(sorted((name, *st) for name, st in seen.items()))


def _stat_of(path: str) -> tuple[int, int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1, -1)
    return (st.st_mtime_ns, st.st_size, st.st_ino)
