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

Stat = tuple[int, int, int, int]  # mtime_ns, size, inode, ctime_ns; all -1 for a missing file
Signature = dict[str, Stat]  # file -> its stat: compared whole, never sorted (10,000 files)


@dataclass(slots=True)
class Outcome:
    """The result of one load: `zones` is None when nothing may be swapped in (see ZoneSource.load)."""

    zones: list[Zone] | None
    findings: list[Finding]
    changed: list[Name] = field(default_factory=list)  # origins whose content or serial moved
    files: list[str] = field(default_factory=list)  # the listed files
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
        # origin -> (serial, content digest); the digest is None until a new version of the zone asks
        # for it (a start with 10,000 zones hashes none of them; an edit hashes the old and new versions)
        self._seen: dict[Name, tuple[int, str | None]] = {}
        self._zones: dict[Name, Zone] = {}  # the zone object each entry was computed for
        self._ids: set[int] = set()  # id() of those zone objects (they are held here, so ids stay theirs)

    def stamp(self, zones: Iterable[Zone], today: _dt.date | None = None) -> list[Name]:
        """Give each auto zone its next serial in place; returns the origins that differ from before.

        A zone object stamped before (a file that did not change) is skipped: its digest is known.
        """
        from zonetool.serial import content_digest, next_serial

        changed: list[Name] = []
        seen, stamped, known = self._seen, self._zones, self._ids
        for zone in zones:
            if id(zone) in known:  # stamped before, and still the one held for its origin (10,000 zones)
                continue
            origin = zone.origin
            old = stamped.get(origin)
            soa = zone.soa
            if soa is None:
                continue
            if old is not None:
                known.discard(id(old))
            stamped[origin] = zone
            known.add(id(zone))
            prev = seen.get(origin)
            if prev is None:  # first sight: nothing to compare with yet
                seen[origin] = (soa.serial, None)
                changed.append(origin)
                continue
            if prev[1] is None and old is not None:
                prev = (prev[0], content_digest(old))
            digest = content_digest(zone)
            serial = soa.serial
            if zone.auto_serial:
                serial = next_serial(prev[0], prev[1], digest, today)
                if serial != soa.serial:
                    zone.set_serial(serial)
            if prev != (serial, digest):
                changed.append(origin)
            seen[origin] = (serial, digest)
        return changed

    def seed(self, origin: Name, serial: int, digest: str) -> None:
        """What a previous run served (serve --journal): the first load continues from it."""
        self._seen[origin] = (serial, digest)

    def digest(self, origin: Name) -> str | None:
        """The content digest of the version of `origin` last stamped."""
        seen = self._seen.get(origin)
        return seen[1] if seen is not None else None

    def digest_now(self, origin: Name) -> str | None:
        """The content digest of the version of `origin` last stamped, computed now if it was not
        yet (a journal entry needs one: a signature refresh writes it for a zone never reloaded)."""
        seen, zone = self._seen.get(origin), self._zones.get(origin)
        if seen is None or zone is None:
            return None
        if seen[1] is None:
            from zonetool.serial import content_digest

            seen = self._seen[origin] = (seen[0], content_digest(zone))
        return seen[1]

    def zone(self, origin: Name) -> Zone | None:
        """The zone object last stamped for `origin` (the one being served once stamp returned)."""
        return self._zones.get(origin)

    def forget(self) -> None:
        self._seen.clear()
        self._zones.clear()
        self._ids.clear()


@dataclass(slots=True)
class _Base:
    """The zones of the listed files (in their order) and the findings they were built with, before
    what zones loaded together add (loader.across): a reload of one file replaces its entries."""

    names: list[str]  # the listing they follow (the very list: another listing, another base)
    zones: list[Zone]
    at: dict[str, int]  # file -> its zone's index in `zones`
    own: list[Finding]


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
        self._names: list[str] = []  # the listed files, as strings (a Path each costs 0.1 s at 10,000)
        self._listed: set[str] = set()  # the same, as a set
        self._notes: list[Finding] = []  # what the last listing of the folders found (skipped files)
        self._duplicates = False  # the last load had two files with one origin
        self.loaded_signature: Signature | None = None  # what the files looked like when last read (None: unknown)
        self.served: dict[str, Zone] = {}  # file -> the version of its zone being served
        self.vanished: dict[str, float] = {}  # file -> when it was first missed (monotonic)
        # file -> (its stat when read, the zone, the findings): a reload reads only what changed (issue 11)
        self._built: dict[str, tuple[Stat, Zone | None, list[Finding]]] = {}
        self._stats: dict[str, Stat] = {}  # the signature taken at the start of this load
        self._read: list[tuple[str, Stat]] = []  # the files this load read, with their stat
        self._base: _Base | None = None  # the last load's zones and own findings, which a reload patches
        # the cross-zone rules' verdicts, re-run only for the zones a change can reach (issue 11)
        from zonetool.crosszone import Refiner

        self._refiner = Refiner()

    def _load_file(self, path: Path) -> tuple[Zone | None, list[Finding]]:
        """`loader.load_file`, or what it gave last time if the file's stat is the same."""
        from zonetool.loader import LONG_RUNNING, load_file

        policy = LONG_RUNNING.refined()  # the cross-zone rules run once, in load_listed's refine

        key = str(path)
        sig = self._stats.get(key) or _stat_of(key)  # the stat the signature took: no second one
        if sig[0] < 0:
            return load_file(path, policy)  # says why, as a LoadError
        cached = self._built.get(key)
        if cached is not None and cached[0] == sig:
            return cached[1], cached[2]
        # A server reloads (nothing frozen) and runs threads (nothing forked): the long-running policy.
        zone, findings = load_file(path, policy)
        self._built[key] = (sig, zone, findings)
        self._read.append((key, sig))
        return zone, findings

    def _known_changes(self, changed: Iterable[str] | None) -> dict[str, Stat] | None:
        """The listed files among `changed` (paths as inotify gives them) with their stat now, or None
        when the folders must be listed again: no list of changes, a file that is not listed (new, or
        a dot file), one that is gone, or no signature to start from."""
        if changed is None or self.loaded_signature is None or not self._names:
            return None
        folders: dict[str, str] = {}  # resolved -> as given (the listing's names start with it)
        files: dict[str, str] = {}
        for path in self.paths:
            (folders if path.is_dir() else files)[str(path.resolve())] = str(path)
        listed = self._listed
        out: dict[str, Stat] = {}
        for raw in changed:
            name = files.get(raw)
            if name is None:
                folder, base = os.path.split(raw)
                given = folders.get(folder)
                name = os.path.join(given, base) if given is not None else None
            if name is None or name not in listed:
                return None
            stat = _stat_of(name)
            if stat[0] < 0:
                return None  # gone: the grace period's business, in a full listing
            out[name] = stat
        return out

    def _patched(self, known: dict[str, Stat]) -> Any:
        """What `load_listed` of the known listing gives, built from the last load by replacing the
        changed files only (no call per unchanged file), or None when that cannot be the same: two
        files held one origin, or a changed file's zone moved to another origin (or has none)."""
        from zonetool.loader import Loaded, across

        if self._duplicates:
            return None
        built = self._built
        findings_moved = False
        for name in known:
            before = built.get(name)
            old = before[1] if before is not None else None
            zone, findings = self._load_file(name)  # type: ignore[arg-type]
            if old is None or zone is None or zone.origin != old.origin:
                self._base = None
                return None
            findings_moved = findings_moved or bool(findings) or bool(before[2])  # type: ignore[index]
        names = self._names
        base = self._base
        if base is None or base.names is not names:  # the first patch since a full load: built once
            if any(name not in built for name in names):
                return None
            zones = [zone for name in names if (zone := built[name][1]) is not None]
            at = {zone.file or "": i for i, zone in enumerate(zones)}
            base = self._base = _Base(names, zones, at, [*self._notes, *(f for n in names for f in built[n][2])])
        else:
            for name in known:
                base.zones[base.at[name]] = built[name][1]  # type: ignore[assignment]
            if findings_moved:
                base.own = [*self._notes, *(f for n in names for f in built[n][2])]
        loaded = Loaded(files=list(names), notes=self._notes)
        loaded.zones, loaded.findings = list(base.zones), list(base.own)
        return across(loaded, self._refiner)

    def load(self, full: bool = False, changed: Iterable[str] | None = None) -> Outcome:
        """Load and judge every path; what can be served is in `zones` (see the class docstring).

        Files whose stat did not change are not read again, unless `full` (SIGHUP: a BIND file's
        $INCLUDE may have changed behind it). `changed`: the paths inotify saw written; when they
        are all files listed last time, the folders are not listed or looked at again (one stat per
        changed file, not one per file: a reload with 10,000 zones costs what changed).
        """
        from zonetool.loader import has_errors, load_listed, load_paths, serving_blockers

        if full:
            self._built.clear()
        known = None if full else self._known_changes(changed)
        # Taken before reading: a write during the load shows up as a change and is read again.
        # Recorded even if the load fails (a file vanished), so the watcher waits for the next change.
        if known is None:
            before = self.loaded_signature = self.signature()
        else:
            before = self.loaded_signature = {**self.loaded_signature, **known}  # type: ignore[dict-item]
        self._stats = before
        self._read = []
        try:
            if known is None:
                self._base = None
                # once serving, a folder emptied for a moment is vanished files (grace), not a failed reload
                loaded: Any = load_paths(self.paths, self._load_file, empty_ok=bool(self.served),
                                         refiner=self._refiner)
                self._notes = loaded.notes
            else:
                loaded = self._patched(known)
                if loaded is None:
                    self._base = None
                    loaded = load_listed(self._names, self._notes, self._load_file, refiner=self._refiner)
        finally:
            self._stats = {}
        self._duplicates = any(f.code == "duplicate-origin" for f in loaded.findings)
        names = list(getattr(loaded, "files", []) or [])
        if names != self._names:  # first load, or a file appeared or went: the signature covers the new list
            self._names = names
            self._listed = set(names)
            missing = (-1, -1, -1, -1)
            extra = {f: missing for f in names if f not in before}  # listed but not seen: counted as missing
            if extra:
                before = self.loaded_signature = {**before, **extra}
        findings = list(loaded.findings)
        # A file read while a writer was still at work: nothing swapped, read once more when it settles.
        # Only the files read are looked at again (one stat each, not every file of the folder); one
        # that changed unread keeps its whole old version here and differs from loaded_signature.
        if any(_stat_of(file) != sig for file, sig in self._read):
            self.loaded_signature = None  # whatever the signature said, the watchers see a change
            return Outcome(None, findings, files=self._names, unstable=True)
        if self.strict and (has_errors(findings) or serving_blockers(findings)):
            return Outcome(None, findings, files=self._names)
        refused: dict[str, list[Finding]] = {}
        for f in serving_blockers(findings):
            refused.setdefault(f.where.file or "", []).append(f)
        zones = [z for z in loaded.zones if (z.file or "") not in refused]
        kept = [file for file in refused if file in self.served]
        present = self._listed
        if known is None or self.vanished:  # told of listed files only, none vanished: nothing to look for
            kept += self._vanished_but_kept(present)
        if kept:
            origins = {z.origin for z in zones}
            for file in kept:
                old = self.served[file]
                if old.origin not in origins:
                    zones.append(old)
                    origins.add(old.origin)
        self.served = {z.file or "": z for z in zones}
        if known is None:
            for file in [f for f in self._built if f not in present]:
                del self._built[file]  # a vanished file is read afresh if it comes back
        changed = self.serials.stamp(zones)
        return Outcome(zones, findings, changed, self._names, refused, kept)

    @property
    def files(self) -> list[Path]:
        """The files the last load listed."""
        return [Path(f) for f in self._names]

    def listed(self) -> list[str]:
        """The same, as the strings findings name them by."""
        return list(self._names)

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

    # -- serve --cache (zonetool.server.snapshot) ----------------------------------------------
    def built(self) -> list[tuple[str, Stat, Zone | None, list[Finding]]]:
        """What the last load built, file by file, with the stat each file had when it was read: the
        snapshot a later start continues from (only files whose stat is still the same are reused)."""
        return [(file, stat, zone, findings) for file, (stat, zone, findings) in list(self._built.items())]

    def restore(self, built: Iterable[tuple[str, Stat, Zone | None, list[Finding]]], zones: list[Zone],
                judged: list[tuple[Zone, frozenset[Name] | None, list[Finding] | None]]) -> None:
        """Start from a snapshot of an earlier run: its files count as read (each is read again if its
        stat differs at the next load) and its cross-zone verdicts stand for the zones no change reaches,
        so the first load costs what changed since, and finds what a load of every file would."""
        self._base = None
        for file, stat, zone, findings in built:
            self._built[file] = (stat, zone, findings)
        self._refiner.restore(zones, judged)

    def refiner_state(self) -> tuple[list[Zone], list[tuple[Zone, frozenset[Name] | None, list[Finding] | None]]]:
        return self._refiner.state()

    def read_count(self) -> int:
        """How many files the last load read (the others were reused as they were)."""
        return len(self._read)

    def grace_due(self) -> bool:
        """True once a vanished file's grace period is over: the watcher reloads to drop its zone."""
        now = time.monotonic()
        return any(now - since >= self.grace for since in self.vanished.values())

    def signature(self) -> Signature:
        """What the files look like now: a change in any of them (or a file appearing) shows here.

        os.scandir and plain strings: this runs every poll, over every file of a 10,000-zone folder.
        """
        seen: dict[str, Stat] = {}
        missing = (-1, -1, -1, -1)
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
        for file in self._names:  # a file that vanished from its folder still counts, as missing
            seen.setdefault(file, missing)
        return seen


def _stat_of(path: str) -> Stat:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1, -1, -1)
    # ctime too: `cp -p` or `rsync -t` can bring back a new version with the old size and mtime
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)
